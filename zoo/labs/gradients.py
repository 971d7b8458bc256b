"""Lab: plain vs residual nets, gradient flow at initialisation (He et al. 2015, section 4.2, CIFAR-10).

The toy nets draw their weights and inputs from ``zoo.concurrency.generator``: the same seed gives
the same numbers in any session, and torch's global RNG and thread settings are left alone. Their
forward and backward passes hold an ``inference_slot`` like any other: sessions of one server then
never run more intra-op threads than the cores between them (oversubscribed, a 56-layer demo's
thousand small ops each wait for a descheduled thread: seconds instead of a fraction of one).
"""
from __future__ import annotations

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from zoo import blocks
from zoo.concurrency import generator, inference_slot
from zoo.labs.residual import resnet_blocks

GRAD_BATCH = 8  # enough samples for BN statistics, small enough for a 110-layer net in well under 1 s


def _batch(seed: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    # Random 32x32 images and labels from their own generator (seed + 1: not the weights' stream).
    gen = generator(seed + 1)
    return torch.randn(batch, 3, 32, 32, generator=gen), torch.randint(0, 10, (batch,), generator=gen)


def gradient_flow(depth: int, batch_norm: bool = True, he_init: bool = True, seed: int = 0,
                  batch: int = GRAD_BATCH) -> pd.DataFrame:
    """Gradient norm of every weight layer of a plain and a residual CIFAR net of ``depth`` layers.

    Both nets get the same seed, so their initial weights are identical; one batch of random
    32x32 images with random labels goes forward, the cross-entropy loss goes back.
    Returns one row per (net, layer): layer 1 is the first conv, layer ``depth`` the FC.
    """
    rows = []
    x, y = _batch(seed, batch)
    for residual in (False, True):
        net = blocks.cifar_net(depth, residual, batch_norm, he_init, seed).train()
        with inference_slot():
            F.cross_entropy(net(x), y).backward()
        weighted = [(n, m) for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        for i, (n, m) in enumerate(weighted, 1):
            rows.append({"net": "residual" if residual else "plain", "layer": i, "name": n,
                         "grad_norm": float(m.weight.grad.norm())})
    return pd.DataFrame(rows)


def block_input_gradients(depth: int, zero_residual: bool = True, seed: int = 0) -> pd.DataFrame:
    """Norm of dL/dx at every block's input in the residual CIFAR net.

    With ``zero_residual`` every residual branch starts at F(x) = 0 (its last BN's scale set to
    0, as torchvision's ``zero_init_residual`` does), so each block is x -> relu(x) = x and the
    formula dL/dx_l = dL/dx_L · (1 + dF/dx) says the gradient reaches every block unchanged.
    """
    net = blocks.cifar_net(depth, residual=True, batch_norm=True, seed=seed).train()
    if zero_residual:
        for b in net.blocks:
            nn.init.zeros_(b.bn2.weight)
    seen: list[tuple[str, torch.Tensor]] = []

    def keep(name: str):
        def hook(_m, inp):
            inp[0].retain_grad()
            seen.append((name, inp[0]))
        return hook

    hooks = [b.register_forward_pre_hook(keep(f"blocks.{i}")) for i, b in enumerate(net.blocks)]
    try:
        x, y = _batch(seed, GRAD_BATCH)
        with inference_slot():
            F.cross_entropy(net(x), y).backward()
    finally:
        for h in hooks:
            h.remove()
    return pd.DataFrame([{"block": n, "stage": int(t.shape[1]), "grad_norm": float(t.grad.norm())} for n, t in seen])


def resnet_shortcuts(name: str) -> dict:
    """How many blocks, identity and projection shortcuts a catalogue ResNet has."""
    b = resnet_blocks(name)
    return {"blocks": len(b), "identity": int((b["shortcut"] == "identity").sum()),
            "projection": int((b["shortcut"] == "projection").sum())}
