"""Lab: depthwise-separable convolution, width and resolution multipliers (Howard et al. 2017, MobileNets)."""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import pandas as pd
import torch

from zoo import blocks, registry
from zoo.analysis import ModelSummary, summarize, summarize_module
from zoo.i18n import N_, _
from zoo.labs.common import formula_row, measure, out_side

# Inputs of 224ρ px in steps of 32, as in the paper's Table 7: each stride-2 layer then halves
# exactly, which is where the α²ρ² rule holds best.
MOBILENET_RHOS = tuple(px / 224 for px in range(96, 225, 32))


def separable_lab(in_channels: int, out_channels: int, kernel: int, size: int) -> pd.DataFrame:
    """Standard kxk conv (M -> N) vs depthwise kxk + pointwise 1x1 (section 3.1)."""
    M, N, k = in_channels, out_channels, kernel
    std = measure(lambda: blocks.standard_conv(M, N, k), M, size, "standard")
    sep = measure(lambda: blocks.SeparableConv(M, N, k), M, size, "separable")
    return pd.DataFrame([
        formula_row(_("standard {k}×{k}").format(k=k), std, k * k * M * N, k * k * M * N * size**2),
        formula_row(_("depthwise {k}×{k} + pointwise 1×1").format(k=k), sep, k * k * M + M * N, (k * k * M + M * N) * size**2),
    ])


def separable_ratio(out_channels: int, kernel: int) -> float:
    """Cost of depthwise-separable over standard convolution: 1/N + 1/k² (paper's eq. 5)."""
    return 1 / out_channels + 1 / kernel**2


def mobilenet_v1_formula(alpha: float, input_px: int, num_classes: int = 1000) -> tuple[int, int]:
    """Exact params and MACs of MobileNet V1 from its Table 1, layer by layer.

    Stem: 3x3 conv stride 2 (3 -> 32α) + BN. Each block: 3x3 depthwise (9·c_in) + BN, then
    1x1 pointwise (c_in·c_out) + BN, at the block's output side. Then the FC layer.
    """
    from zoo.models.mobilenet_v1 import V1_BLOCKS, _width

    c = _width(32, alpha)
    side = out_side(input_px, 2)
    params = 27 * c + 2 * c
    macs = side**2 * 27 * c
    for cout, stride in V1_BLOCKS:
        cout = _width(cout, alpha)
        side = out_side(side, stride)
        params += 9 * c + 2 * c + c * cout + 2 * cout
        macs += side**2 * (9 * c + c * cout)
        c = cout
    params += c * num_classes + num_classes
    macs += c * num_classes
    return params, macs


@lru_cache(maxsize=64)
def mobilenet_v1_summary(alpha: float, input_px: int) -> ModelSummary:
    from zoo.models.mobilenet_v1 import MobileNetV1

    with torch.device("meta"):
        model = MobileNetV1(alpha=alpha)
    return summarize_module(model, input_px, f"MobileNet V1 α={alpha:g}")


def mobilenet_v1_lab(alphas: Iterable[float], rhos: Iterable[float]) -> pd.DataFrame:
    """MobileNet V1 over width multipliers α and resolution multipliers ρ (input 224·ρ).

    ``macs_ratio``/``params_ratio`` are relative to α = 1, ρ = 1; the paper's rule of thumb
    predicts α²ρ² for MACs and α² for the parameters of the convolutional body.
    """
    base = mobilenet_v1_summary(1.0, 224)
    base_fc = int(base.layers.loc[base.layers["type"] == "Linear", "params"].sum())
    rows = []
    for a in alphas:
        for r in rhos:
            px = int(round(224 * r))
            s = mobilenet_v1_summary(float(a), px)
            p_f, m_f = mobilenet_v1_formula(a, px)
            fc = int(s.layers.loc[s.layers["type"] == "Linear", "params"].sum())
            rows.append({"alpha": a, "rho": r, "input_px": px, "params": s.params, "params_formula": p_f,
                         "macs": s.macs, "macs_formula": m_f, "macs_ratio": s.macs / base.macs,
                         "macs_ratio_rule": a**2 * r**2, "body_params_ratio": (s.params - fc) / (base.params - base_fc),
                         "body_params_ratio_rule": a**2, "fc_params": fc})
    return pd.DataFrame(rows)


def mobilenet_v1_cost_split() -> pd.DataFrame:
    """Share of MobileNet V1's params and MACs by layer kind (the paper's Table 2), from its layer table.

    ``params_pct`` is the share of all parameters, BatchNorm's included. ``weights`` counts only the
    conv kernels and the FC matrix (no BN, no bias) and ``weights_pct`` is its share: the paper's
    Table 2 counts that way (its 1x1 convs hold 74.59%).
    """
    layers = summarize("mobilenet_v1").layers
    modules = dict(registry.get("mobilenet_v1").build("meta").named_modules())
    layers = layers.assign(weights=[modules[r.name].weight.numel() if r.type in ("Conv2d", "Linear") else 0
                                    for r in layers.itertuples()])

    def kind(r) -> str:
        if r.type == "Linear":
            return N_("fully connected")
        if r.type != "Conv2d":
            return N_("other (BN)")
        if r.groups and r.groups > 1:
            return N_("depthwise 3×3")
        return N_("pointwise 1×1") if r.kernel == (1, 1) else N_("standard 3×3 (stem)")

    g = layers.assign(kind=[kind(r) for r in layers.itertuples()]).groupby("kind")[["params", "weights", "macs"]].sum()
    g["params_pct"] = 100 * g["params"] / g["params"].sum()
    g["weights_pct"] = 100 * g["weights"] / g["weights"].sum()
    g["macs_pct"] = 100 * g["macs"] / g["macs"].sum()
    return g.reset_index().sort_values("macs", ascending=False, ignore_index=True)


def zoo_mobilenets() -> pd.DataFrame:
    """Every MobileNet in the catalogue: params and MACs (measured) and acc@1 (weights metadata)."""
    rows = []
    for e in registry.by_family("mobilenet"):
        s = summarize(e.name)
        rows.append({"model": e.display, "name": e.name, "params": s.params, "macs": s.macs, "acc1": e.acc1,
                     "acc1_source": _("torchvision weights metadata") if e.acc1 is not None
                     else _("no pretrained weights in this app")})
    return pd.DataFrame(rows)
