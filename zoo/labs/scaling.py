"""Lab: compound scaling of depth, width and resolution (Tan & Le 2019, EfficientNet)."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn
from torchvision.models.efficientnet import EfficientNet, MBConv, MBConvConfig

from zoo import recipes, registry
from zoo.analysis import ModelSummary, summarize, summarize_module

# Eq. 3: depth d = α^φ, width w = β^φ, resolution r = γ^φ, found by grid search on B0 under
# α·β²·γ² ≈ 2, so that FLOPs grow by about 2^φ.
COMPOUND_ALPHA, COMPOUND_BETA, COMPOUND_GAMMA = 1.2, 1.1, 1.15
B0_INPUT_PX = 224
# The input side of B0..B7 that the paper's models were trained and evaluated at: the official
# implementation's ``efficientnet_params`` (tensorflow/tpu, models/official/efficientnet/
# efficientnet_builder.py; the zoo's cards quote the same). It is not 224·γ^φ: B1 is 240, not 258.
PAPER_INPUT_PX = (224, 240, 260, 300, 380, 456, 528, 600)

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


def lite_live(name: str, digest: str, _predictor: nn.Module, _image: Image.Image) -> dict:
    """``_image`` (pixels hashed to ``digest``) through EfficientNet-Lite ``name`` on the app's shared predictor.

    Its coefficients (zoo.models.efficientnet_lite.LITE), MACs counted at its native side, top-1,
    confidence and the warm-median latency of zoo.inference.predict, with the backend that ran it.
    """
    from zoo.inference.predict import predict
    from zoo.models.efficientnet_lite import LITE

    cfg, entry = LITE[name], registry.get(name)
    p = predict(_predictor, entry, _image, topk=1, device="cpu")
    return {"model": entry.display, "resolution_px": cfg.resolution, "width": cfg.width, "depth": cfg.depth,
            "macs": summarize(name, cfg.resolution).macs, "top1": p.top1[1], "confidence": p.top1[2], "ms": p.ms,
            "backend": p.backend_label}


def published_model(phi: float) -> dict | None:
    """The published EfficientNet at φ (B0..B7 for φ = 0..7): the rule's side, the paper's and torchvision's crop."""
    if phi != int(phi) or not 0 <= phi < len(PAPER_INPUT_PX):
        return None
    i = int(phi)
    e = registry.get(f"efficientnet_b{i}")
    return {"model": e.display, "name": e.name, "rule_px": int(round(B0_INPUT_PX * COMPOUND_GAMMA**i)),
            "paper_px": PAPER_INPUT_PX[i], "torchvision_crop_px": _crop(e)}


def _crop(entry) -> int:
    """The evaluation crop of the weights whose accuracy the lab shows (original recipe, as ``recipes`` picks)."""
    w = recipes.choose(entry, "original")
    return int(entry.weights_enum[w.version].transforms().crop_size[0]) if w else entry.input_size


def resolution_drift(input_px: int) -> pd.DataFrame:
    """B0's stage by stage at 224 px and at ``input_px``: each stage's output side, read from the stage tables.

    A 3x3 or 5x5 stride-2 layer with 'same' padding gives ceil(side / 2), so off multiples of 32
    the maps grow by more than input_px / 224 at every halving: (side ratio)² is each stage's MACs
    ratio, while the rule assumes (input_px / 224)² for all of them.
    """
    base, scaled = scaled_b0(1.0, 1.0, B0_INPUT_PX), scaled_b0(1.0, 1.0, input_px)
    a, b = base.stages.set_index("stage"), scaled.stages.set_index("stage")
    rows = []
    for stage in a.index:
        shape_a, shape_b = a.loc[stage, "output_shape"], b.loc[stage, "output_shape"]
        if len(shape_a) != 4 or shape_a[-1] == 1:  # pool and classifier: no map
            continue
        rows.append({"stage": stage, "side_224": int(shape_a[-1]), "side_px": int(shape_b[-1]),
                     "area_ratio": (shape_b[-1] / shape_a[-1]) ** 2, "macs_ratio": b.loc[stage, "macs"] / a.loc[stage, "macs"]})
    return pd.DataFrame(rows)


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
    ``paper_px`` the paper's input side (:data:`PAPER_INPUT_PX`), ``torchvision_crop_px`` the
    evaluation crop of the weights whose accuracy is shown: one recipe for all eight, the original
    paper recipe (``zoo.recipes.accuracy(entry, "original")``). MACs are counted at that crop, where
    the accuracy was measured. ``phi_*`` is the φ each ratio to B0 implies (resolution: the paper's).
    """
    rows = []
    for i in range(8):
        e = registry.get(f"efficientnet_b{i}")
        model = e.build("meta")
        crop = _crop(e)
        s = summarize(e.name, crop)
        acc, best = recipes.accuracy(e, "original"), recipes.accuracy(e, "best")
        rows.append({"model": e.display, "name": e.name, "blocks": _mbconv_count(model),
                     "last_stage_channels": model.features[-2][-1].block[-1][0].out_channels,
                     "head_channels": model.features[-1][0].out_channels, "paper_px": PAPER_INPUT_PX[i],
                     "torchvision_crop_px": crop, "params": s.params, "macs": s.macs, "acc1": acc.acc1,
                     "weights": acc.weights, "recipe": acc.recipe,
                     "acc1_best": best.acc1, "weights_best": best.weights})
    df = pd.DataFrame(rows)
    b0 = df.iloc[0]
    df["depth_ratio"] = df["blocks"] / b0["blocks"]
    df["width_ratio"] = df["head_channels"] / b0["head_channels"]
    df["resolution_ratio"] = df["paper_px"] / b0["paper_px"]
    df["macs_ratio"] = df["macs"] / b0["macs"]
    df["phi_depth"] = np.log(df["depth_ratio"]) / math.log(COMPOUND_ALPHA)
    df["phi_width"] = np.log(df["width_ratio"]) / math.log(COMPOUND_BETA)
    df["phi_resolution"] = np.log(df["resolution_ratio"]) / math.log(COMPOUND_GAMMA)
    return df
