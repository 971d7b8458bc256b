"""What the labs share: counting a block, the measured-vs-formula row, the receptive-field recurrence."""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn

from zoo import blocks
from zoo.analysis import ModelSummary, summarize_module


def measure(make: Callable[[], nn.Module], in_channels: int, size: int, name: str = "block") -> ModelSummary:
    """Build ``make()`` on the meta device and count it on a 1 x in_channels x size x size input."""
    with torch.device("meta"):
        block = make()
    return summarize_module(blocks.FromImage(block, in_channels), size, name)


def formula_row(variant: str, s: ModelSummary, params_formula: int, macs_formula: int, **extra) -> dict:
    """One row of a lab's table: the measured params/MACs of ``s`` next to the formula's."""
    return {"variant": variant, **extra, "params": s.params, "params_formula": int(params_formula),
            "macs": s.macs, "macs_formula": int(macs_formula)}


def receptive_field(kernels_strides: Iterable[tuple[int, int]]) -> int:
    """Receptive field (px) of a chain of layers from the standard recurrence.

    rf_0 = 1, jump_0 = 1;  rf_l = rf_{l-1} + (k_l - 1) * jump_{l-1};  jump_l = jump_{l-1} * s_l
    """
    rf, jump = 1, 1
    for k, s in kernels_strides:
        rf += (k - 1) * jump
        jump *= s
    return rf


def out_side(size: int, stride: int) -> int:
    """Output side of a 'same'-padded conv (pad k//2, odd k): ceil(size / stride)."""
    return -(-size // stride)
