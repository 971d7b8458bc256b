"""Lab: ReLU vs sigmoid / tanh, their derivatives and the product over depth (Krizhevsky et al. 2012, 3.1).

The MLP's weights come from ``zoo.concurrency.generator``: deterministic per seed, global RNG untouched;
its passes hold an ``inference_slot``, as the gradient lab's do.
"""
from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from zoo.concurrency import generator, inference_slot

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}

# Where each derivative is largest: σ'(0) = 1/4, tanh'(0) = 1, ReLU'(z) = 1 for any z > 0.
BEST_POINT = {"sigmoid": 0.0, "tanh": 0.0, "relu": 1.0}


def derivative_formula(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "sigmoid":
        s = torch.sigmoid(z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - torch.tanh(z) ** 2
    return (z > 0).to(z.dtype)


def activation_curves(lo: float = -6.0, hi: float = 6.0, points: int = 241) -> pd.DataFrame:
    """Each activation and its derivative on a grid, the derivative measured with autograd."""
    rows = []
    for name, f in ACTIVATIONS.items():
        z = torch.linspace(lo, hi, points, dtype=torch.float64, requires_grad=True)
        y = f(z)
        (grad,) = torch.autograd.grad(y.sum(), z)
        rows.append(pd.DataFrame({"activation": name, "z": z.detach().numpy(), "value": y.detach().numpy(),
                                  "derivative": grad.numpy(),
                                  "derivative_formula": derivative_formula(name, z.detach()).numpy()}))
    return pd.concat(rows, ignore_index=True)


def derivative_chain(depth: int) -> pd.DataFrame:
    """d x_n / d x_0 through n layers x_{i+1} = f(x_i + b), each held at its best point.

    b is chosen so every layer's pre-activation is the point where f' is largest, so the
    product is f'_max^n: 0.25^n for sigmoid — the most a sigmoid chain can pass back.
    """
    rows = []
    for name, f in ACTIVATIONS.items():
        z_best = torch.tensor(BEST_POINT[name], dtype=torch.float64)
        b = z_best - f(z_best)  # x_i = f(z_best) for every i, so x_i + b = z_best
        x0 = f(z_best).clone().requires_grad_(True)
        x = x0
        for n in range(1, depth + 1):
            x = f(x + b)
            (g,) = torch.autograd.grad(x, x0, retain_graph=True)
            rows.append({"activation": name, "layers": n, "gradient": float(g),
                         "gradient_formula": float(derivative_formula(name, z_best)) ** n})
    return pd.DataFrame(rows)


def _mlp(name: str, depth: int, width: int, seed: int) -> list[nn.Linear]:
    """``depth`` linear layers with the init meant for ``name``: Xavier (Glorot) for sigmoid/tanh, He for ReLU."""
    gen = generator(seed)
    with torch.device("meta"):  # no weights drawn from the global RNG
        layers = [nn.Linear(width, width) for _ in range(depth)]
    layers = [lin.to_empty(device="cpu") for lin in layers]
    for lin in layers:
        if name == "relu":
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu", generator=gen)
        else:
            nn.init.xavier_normal_(lin.weight, gain=nn.init.calculate_gain(name), generator=gen)
        nn.init.zeros_(lin.bias)
    return layers


def mlp_gradient_flow(depth: int, width: int = 64, batch: int = 64, seed: int = 0) -> pd.DataFrame:
    """Weight-gradient norm per layer of a deep MLP with each activation, at initialisation."""
    rows = []
    for name, f in ACTIVATIONS.items():
        layers = _mlp(name, depth, width, seed)
        x = torch.randn(batch, width, generator=generator(seed + 1))
        with inference_slot():
            for lin in layers:
                x = f(lin(x))
            x.pow(2).mean().backward()
        for i, lin in enumerate(layers, 1):
            rows.append({"activation": name, "layer": i, "grad_norm": float(lin.weight.grad.norm())})
    return pd.DataFrame(rows)
