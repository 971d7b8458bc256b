"""Lab: LRN (Krizhevsky et al. 2012, section 3.3) vs BatchNorm (Ioffe & Szegedy 2015) on a real activation."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from zoo import registry

# AlexNet: b = a / (k + α Σ a²)^β over n = 5 neighbouring channels, k = 2, α = 1e-4, β = 0.75.
# PyTorch's LocalResponseNorm divides its alpha by n, so the paper's α is alpha = n · α there.
LRN_N, LRN_K, LRN_ALPHA, LRN_BETA = 5, 2.0, 1e-4, 0.75

# Factors to multiply the activation by: AlexNet fed raw 0-255 pixels (minus the mean), so its
# activations were about two orders of magnitude larger than those of a [-1, 1] input.
LRN_SCALES = (1, 3, 10, 30, 100, 300, 1000)

SAMPLE_FOR_NORM = "chelsea.png"  # a real photo, so the stem's trained filters see real edges


def alexnet_lrn() -> nn.LocalResponseNorm:
    return nn.LocalResponseNorm(size=LRN_N, alpha=LRN_N * LRN_ALPHA, beta=LRN_BETA, k=LRN_K)


def lrn_by_hand(a: torch.Tensor, n: int = LRN_N, k: float = LRN_K, alpha: float = LRN_ALPHA,
                beta: float = LRN_BETA) -> torch.Tensor:
    """The paper's formula, written out: sum of squares over channels max(0, i-n/2) .. min(C-1, i+n/2)."""
    C = a.shape[1]
    out = torch.empty_like(a)
    for i in range(C):
        lo, hi = max(0, i - n // 2), min(C - 1, i + n // 2)
        out[:, i] = a[:, i] / (k + alpha * (a[:, lo:hi + 1] ** 2).sum(1)) ** beta
    return out


def batchnorm_by_hand(a: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """BN in training mode without affine: each channel standardised over batch and space."""
    mean = a.mean((0, 2, 3), keepdim=True)
    var = a.var((0, 2, 3), unbiased=False, keepdim=True)
    return (a - mean) / torch.sqrt(var + eps)


def neighbour_sq(a: torch.Tensor, n: int = LRN_N) -> torch.Tensor:
    """Σ a² over the n channels centred on each channel (zero-padded at the ends), as LRN sums."""
    sq = F.pad((a**2).unsqueeze(1), (0, 0, 0, 0, n // 2, (n - 1) // 2))
    return F.avg_pool3d(sq, (n, 1, 1), stride=1).squeeze(1) * n


@lru_cache(maxsize=2)
def stem_activation(sample: str = SAMPLE_FOR_NORM) -> torch.Tensor:
    """EfficientNet-Lite0's trained stem conv (3 -> 32, 3x3, stride 2) applied to a sample photo.

    The raw conv output, before the stem's own BN: 1 x 32 x 112 x 112. The Lite0 weights ship
    with the app, so this works offline.
    """
    from zoo.inference.images import load_sample
    from zoo.inference.models import load_model
    from zoo.inference.view import build_transform

    entry = registry.get("efficientnet_lite0")
    x = build_transform(entry)(load_sample(sample))[None]
    model = load_model(entry.name)
    with torch.no_grad():
        return model._conv_stem(x)


@dataclass(frozen=True)
class NormDemo:
    channels: pd.DataFrame  # per channel: mean and std before, after LRN, after BN
    before: np.ndarray  # C x H x W, the activation (times the scale)
    after_lrn: np.ndarray
    after_bn: np.ndarray
    lrn_divisor: np.ndarray  # C x H x W: (k + α Σ a²)^β, what LRN divides each activation by
    scale: float


def lrn_vs_batchnorm(scale: float = 1.0) -> NormDemo:
    """What LRN and BN each do to the same activation tensor, optionally multiplied by ``scale``.

    BN is scale-invariant (it standardises each channel); LRN is not: with k = 2 it divides small
    activations by about k^β ≈ 1.68 everywhere, and only bites where Σ a² over neighbouring
    channels is large compared with k / α.
    """
    a = stem_activation() * scale
    with torch.no_grad():
        lrn = alexnet_lrn()(a)
        bn = nn.BatchNorm2d(a.shape[1], affine=False).train()(a)
    divisor = (LRN_K + LRN_ALPHA * neighbour_sq(a)) ** LRN_BETA
    rows = []
    for c in range(a.shape[1]):
        rows.append({"channel": c,
                     "mean_before": float(a[0, c].mean()), "std_before": float(a[0, c].std(unbiased=False)),
                     "mean_lrn": float(lrn[0, c].mean()), "std_lrn": float(lrn[0, c].std(unbiased=False)),
                     "mean_bn": float(bn[0, c].mean()), "std_bn": float(bn[0, c].std(unbiased=False))})
    return NormDemo(pd.DataFrame(rows), a[0].numpy(), lrn[0].numpy(), bn[0].numpy(), divisor[0].numpy(), scale)
