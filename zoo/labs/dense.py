"""Lab: dense connectivity, the 4k bottleneck and transition compression (Huang et al. 2017, section 3)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn
from torchvision.models import DenseNet

from zoo import blocks, registry
from zoo.analysis import rollup, summarize_module
from zoo.i18n import _, ngettext
from zoo.labs.common import formula_row, measure
from zoo.labs.residual import basic_block_macs, basic_block_params


def dense_layer_params(c_in: int, k: int, bn_size: int) -> int:
    """BN(c) + 1x1 conv c -> bn_size·k + BN(bn_size·k) + 3x3 conv bn_size·k -> k, no biases."""
    mid = bn_size * k
    return 2 * c_in + c_in * mid + 2 * mid + 9 * mid * k


def dense_layer_macs(c_in: int, k: int, bn_size: int, size: int) -> int:
    mid = bn_size * k
    return size**2 * (c_in * mid + 9 * mid * k)


def torchvision_dense_block(k0: int, growth_rate: int, num_layers: int, bn_size: int = 4) -> torch.nn.Module:
    """torchvision's own dense block, taken from a one-block public ``DenseNet`` (on the meta device)."""
    with torch.device("meta"):
        net = DenseNet(growth_rate, (num_layers,), num_init_features=k0, bn_size=bn_size, drop_rate=0.0)
    return net.features.denseblock1


@dataclass(frozen=True)
class DenseLab:
    layers: pd.DataFrame  # one row per dense layer: measured and formula input channels, params, MACs
    totals: pd.DataFrame  # dense block, transition, and a ResNet stage of similar output width


def dense_lab(k0: int, growth_rate: int, num_layers: int, size: int, bn_size: int = 4,
              theta: float = 0.5) -> DenseLab:
    """torchvision's dense block with growth rate k, a transition compressing by θ, and a BasicBlock stage."""
    k, L = growth_rate, num_layers
    block = torchvision_dense_block(k0, k, L, bn_size)
    s = summarize_module(blocks.FromImage(block, k0), size, "dense block")
    per_layer = rollup(s.layers, 2).set_index("stage")  # block.denselayerN
    rows = []
    for i, (name, layer) in enumerate(block.items(), 1):
        c = k0 + k * (i - 1)
        rows.append({
            "layer": i, "in_channels": layer.norm1.num_features, "in_channels_formula": c,
            "conv1_in_channels": layer.conv1.in_channels,
            "bottleneck_channels": layer.conv1.out_channels, "bottleneck_formula": bn_size * k,
            "new_channels": layer.conv2.out_channels,
            "params": int(per_layer.loc[f"block.{name}", "params"]),
            "params_formula": dense_layer_params(c, k, bn_size),
            "macs": int(per_layer.loc[f"block.{name}", "macs"]),
            "macs_formula": dense_layer_macs(c, k, bn_size, size),
        })
    layers = pd.DataFrame(rows)

    m = k0 + L * k
    m_out = max(1, int(math.floor(theta * m)))
    trans = measure(lambda: blocks.transition(m, m_out), m, size, "transition")
    res, res_label, res_params, res_macs = _resnet_stage(k0, m, L, size)
    totals = pd.DataFrame([
        formula_row(ngettext("dense block ({n} layer, k={k})", "dense block ({n} layers, k={k})", L).format(n=L, k=k), s, int(layers["params_formula"].sum()),
                    int(layers["macs_formula"].sum()), in_channels=k0, out_channels=m, out_px=size,
                    convs_3x3=_convs_3x3(s)),
        formula_row(_("transition (θ={theta:g})").format(theta=theta), trans, 2 * m + m * m_out, size**2 * m * m_out,
                    in_channels=m, out_channels=m_out, out_px=int(trans.layers.iloc[-1]["output_shape"][-1]),
                    convs_3x3=_convs_3x3(trans)),
        formula_row(res_label, res, res_params, res_macs,
                    in_channels=k0, out_channels=m, out_px=size, convs_3x3=_convs_3x3(res)),
    ])
    return DenseLab(layers, totals)


def _convs_3x3(s) -> int:
    """3x3 convolutions in a measured module, from its layer table."""
    return int(((s.layers["type"] == "Conv2d") & s.layers["kernel"].map(lambda k: k == (3, 3))).sum())


def _resnet_stage(k0: int, m: int, convs: int, size: int):
    """A ResNet stage k0 -> m with ``convs`` 3x3 convs, as many as the dense block has.

    A BasicBlock holds two, so the stage is convs // 2 BasicBlocks (the first projects k0 -> m)
    and, for an odd count, one more 3x3 conv + BN + ReLU at the end, without a shortcut: half a
    block, which no ResNet has, but it keeps the count of 3x3 convs equal.
    """
    n = convs // 2
    c = m if n else k0  # what the lone conv receives

    def make() -> nn.Module:
        half = [nn.Conv2d(c, m, 3, padding=1, bias=False), nn.BatchNorm2d(m), nn.ReLU()] if convs % 2 else []
        return nn.Sequential(*blocks.basic_stage(k0, m, n), *half)

    s = measure(make, k0, size, "resnet stage")
    params = (basic_block_params(k0, m, 1) + (n - 1) * basic_block_params(m, m, 1)) if n else 0
    macs = (basic_block_macs(k0, m, 1, size) + (n - 1) * basic_block_macs(m, m, 1, size)) if n else 0
    if convs % 2:
        params, macs = params + 9 * c * m + 2 * m, macs + size**2 * 9 * c * m
    parts = [ngettext("{n} BasicBlock", "{n} BasicBlocks", n).format(n=n)] * bool(n) + [_("one 3×3 conv + BN")] * (convs % 2)
    return s, _("ResNet stage ({parts})").format(parts=" + ".join(parts)), params, macs


def densenet_blocks(name: str = "densenet121") -> pd.DataFrame:
    """Each dense block of a catalogue DenseNet, read from the built model.

    torchvision names them ``features.denseblockN`` and ``features.transitionN`` (its state-dict keys).
    """
    model = registry.get(name).build("meta")
    children = list(model.features.named_children())
    rows = []
    for i, (n, m) in enumerate(children):
        if not n.startswith("denseblock"):
            continue
        first = next(iter(m.values()))
        k = first.conv2.out_channels
        k0 = first.norm1.num_features
        out = k0 + len(m) * k
        nxt_name, nxt = children[i + 1] if i + 1 < len(children) else ("", None)
        trans_out = nxt.conv.out_channels if nxt_name.startswith("transition") else None
        rows.append({"block": f"features.{n}", "layers": len(m), "k0": k0, "growth_rate": k,
                     "bottleneck": first.conv1.out_channels, "out_channels": out,
                     "transition_out": trans_out, "theta": (trans_out / out) if trans_out else None})
    return pd.DataFrame(rows)
