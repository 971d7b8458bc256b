"""Lab: compound scaling of depth, width and resolution (Tan & Le 2019, EfficientNet)."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
import torch
from torch import nn
from torchvision.models.efficientnet import EfficientNet, MBConv, MBConvConfig

from zoo import registry
from zoo.analysis import ModelSummary, summarize, summarize_module

# Eq. 3: depth d = α^φ, width w = β^φ, resolution r = γ^φ, found by grid search on B0 under
# α·β²·γ² ≈ 2, so that FLOPs grow by about 2^φ.
COMPOUND_ALPHA, COMPOUND_BETA, COMPOUND_GAMMA = 1.2, 1.1, 1.15
B0_INPUT_PX = 224

# EfficientNet-B0's MBConv stages, the paper's Table 1 (stages 2-8; stage 1 is the 3x3 stem conv
# to 32 channels, stage 9 the 1x1 conv to 1280, pooling and FC). The stride of each stage's first
# block is where Table 1's resolution halves.
#   (expand ratio "MBConvN", kernel, stride, input channels, output channels, layers)
B0_STAGES = (
    (1, 3, 1, 32, 16, 1),  # 112² -> 112²
    (6, 3, 2, 16, 24, 2),  # 112² -> 56²
    (6, 5, 2, 24, 40, 2),  # 56² -> 28²
    (6, 3, 2, 40, 80, 3),  # 28² -> 14²
    (6, 5, 1, 80, 112, 3),  # 14²
    (6, 5, 2, 112, 192, 4),  # 14² -> 7²
    (6, 3, 1, 192, 320, 1),  # 7²
)
B0_DROPOUT = 0.2  # before the classifier: 0.2 for B0, up to 0.5 for B7 (section 5.2); it holds no parameters


def compound_multipliers(phi: float) -> dict[str, float]:
    """Depth, width and resolution multipliers for φ, and the FLOP multiplier d·w²·r² they predict."""
    d, w, r = COMPOUND_ALPHA**phi, COMPOUND_BETA**phi, COMPOUND_GAMMA**phi
    return {"phi": phi, "depth": d, "width": w, "resolution": r, "flops": d * w * w * r * r,
            "flops_base": COMPOUND_ALPHA * COMPOUND_BETA**2 * COMPOUND_GAMMA**2}


def b0_scaled(depth_mult: float = 1.0, width_mult: float = 1.0) -> EfficientNet:
    """B0's table scaled by torchvision's own rounding (channels to multiples of 8, ceil(layers·d)), on meta."""
    setting = [MBConvConfig(*stage, width_mult=width_mult, depth_mult=depth_mult) for stage in B0_STAGES]
    with torch.device("meta"):
        return EfficientNet(setting, dropout=B0_DROPOUT)


@lru_cache(maxsize=64)
def scaled_b0(depth_mult: float, width_mult: float, input_px: int) -> ModelSummary:
    """B0 with its own width/depth multipliers, counted at ``input_px``."""
    model = b0_scaled(depth_mult, width_mult)
    return summarize_module(model, input_px, f"B0 d={depth_mult:.3g} w={width_mult:.3g} r={input_px}")


def _mbconv_count(model: nn.Module) -> int:
    return sum(isinstance(m, MBConv) for m in model.modules())


def single_dimension_scaling(depth: float, width: float, resolution: float) -> pd.DataFrame:
    """B0 scaled in one dimension at a time, and in all three: predicted vs measured MAC multipliers."""
    base = scaled_b0(1.0, 1.0, B0_INPUT_PX)
    px = int(round(B0_INPUT_PX * resolution))
    cases = [("depth only", depth, 1.0, B0_INPUT_PX, depth, "d"),
             ("width only", 1.0, width, B0_INPUT_PX, width**2, "w²"),
             ("resolution only", 1.0, 1.0, px, resolution**2, "r²"),
             ("all three", depth, width, px, depth * width**2 * resolution**2, "d·w²·r²")]
    rows = []
    for label, d, w, p, predicted, rule in cases:
        s = scaled_b0(float(d), float(w), p)
        rows.append({"scaling": label, "depth_mult": d, "width_mult": w, "input_px": p, "rule": rule,
                     "macs_ratio_predicted": predicted, "macs_ratio": s.macs / base.macs,
                     "params_ratio": s.params / base.params, "macs": s.macs, "params": s.params})
    return pd.DataFrame(rows)


def efficientnet_family() -> pd.DataFrame:
    """B0..B7 as torchvision builds them: depth, width and resolution read off the models, vs φ.

    ``depth`` counts MBConv blocks, ``width`` the channels of the last stage and of the head,
    ``input_px`` the weights' evaluation crop. ``phi_*`` is the φ each ratio to B0 implies.
    """
    rows = []
    for i in range(8):
        e = registry.get(f"efficientnet_b{i}")
        model = e.build("meta")
        s = summarize(e.name)
        rows.append({"model": e.display, "name": e.name, "blocks": _mbconv_count(model),
                     "last_stage_channels": model.features[-2][-1].block[-1][0].out_channels,
                     "head_channels": model.features[-1][0].out_channels, "input_px": e.input_size,
                     "params": s.params, "macs": s.macs, "acc1": e.acc1})
    df = pd.DataFrame(rows)
    b0 = df.iloc[0]
    df["depth_ratio"] = df["blocks"] / b0["blocks"]
    df["width_ratio"] = df["head_channels"] / b0["head_channels"]
    df["resolution_ratio"] = df["input_px"] / b0["input_px"]
    df["macs_ratio"] = df["macs"] / b0["macs"]
    df["phi_depth"] = np.log(df["depth_ratio"]) / math.log(COMPOUND_ALPHA)
    df["phi_width"] = np.log(df["width_ratio"]) / math.log(COMPOUND_BETA)
    df["phi_resolution"] = np.log(df["resolution_ratio"]) / math.log(COMPOUND_GAMMA)
    return df
