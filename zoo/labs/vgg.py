"""Lab: a stack of 3x3 convolutions vs one large kernel (Simonyan & Zisserman 2014, section 2.3)."""
from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from zoo import blocks
from zoo.analysis import summarize
from zoo.i18n import _
from zoo.labs.common import formula_row, measure, receptive_field


def _measured_rf(module: nn.Module, size: int) -> int:
    """Receptive field of a sequential stack from the traced graph (``zoo.analysis.receptive_field``).

    Where that analysis is not installed, the recurrence over the module's own convs gives it.
    """
    try:
        from zoo.analysis.receptive_field import analyze_module
    except ImportError:
        return receptive_field((m.kernel_size[0], m.stride[0]) for m in module.modules() if isinstance(m, nn.Conv2d))
    return analyze_module(module, size).final.rf


def stack_params(cin: int, cout: int, kernel: int, n: int, bias: bool = True) -> int:
    """n stacked kxk convs cin -> cout -> ... -> cout:  k²·cin·C + (n-1)·k²·C² (+ n·C biases)."""
    return kernel**2 * cin * cout + (n - 1) * kernel**2 * cout**2 + (n * cout if bias else 0)


def stack_macs(cin: int, cout: int, kernel: int, n: int, size: int) -> int:
    """Same-padded, stride 1: every layer runs at size x size, so MACs = size² · weights."""
    return size**2 * stack_params(cin, cout, kernel, n, bias=False)


def kernel_stack_lab(n: int, channels: int, size: int, in_channels: int | None = None) -> pd.DataFrame:
    """n stacked 3x3 convs vs one (2n+1)x(2n+1) conv, both C -> C (or in_channels -> C), with bias."""
    cin = channels if in_channels is None else in_channels
    big = 2 * n + 1
    rows = []
    for kernel, layers, label in ((3, n, _("{n} × 3×3 (stack)").format(n=n)), (big, 1, f"1 × {big}×{big}")):
        s = measure(lambda: blocks.KernelStack(cin, channels, kernel, layers), cin, size, label)
        with torch.device("meta"):
            twin = blocks.KernelStack(3, 1, kernel, layers)  # a receptive field does not depend on channels
        rows.append(formula_row(label, s, stack_params(cin, channels, kernel, layers),
                                stack_macs(cin, channels, kernel, layers, size), kernel=kernel, layers=layers,
                                nonlinearities=sum(isinstance(m, nn.ReLU) for m in twin.modules()),
                                rf_px=_measured_rf(twin, size), rf_px_formula=2 * n + 1))
    return pd.DataFrame(rows)


def vgg_worked_example() -> pd.DataFrame:
    """The notes' example, 3 -> 64 channels with bias: one 3x3 conv, one 5x5 conv, and two stacked 3x3."""
    rows = []
    for kernel, n in ((3, 1), (5, 1), (3, 2)):
        label = f"{n} × {kernel}×{kernel}, 3 → 64" + (" → 64" if n == 2 else "")
        s = measure(lambda: blocks.KernelStack(3, 64, kernel, n), 3, 32, label)
        rows.append(formula_row(label, s, stack_params(3, 64, kernel, n), stack_macs(3, 64, kernel, n, 32),
                                kernel=kernel, layers=n, rf_px=2 * n + 1 if kernel == 3 else kernel))
    return pd.DataFrame(rows)


POOLING_TYPES = ("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d")


def conv_runs(name: str) -> pd.DataFrame:
    """Runs of consecutive stride-1 convs between poolings in a catalogue model, read from its layer table.

    One row per run: its layers (module names), kernels (per-axis tuples), channels, the input
    side and the run's receptive field.
    """
    s = summarize(name)
    runs: list[list] = []
    current: list = []
    for r in s.layers.itertuples():
        if r.type == "Conv2d" and r.stride == (1, 1):
            current.append(r)
        elif r.type in (*POOLING_TYPES, "Conv2d", "Linear") and current:
            runs.append(current)  # a pooling or strided layer ends the run
            current = []
    if current:
        runs.append(current)
    rows = []
    for run in runs:
        rows.append({
            "layers": tuple(r.name for r in run), "convs": len(run),
            "kernels": tuple(r.kernel for r in run),
            "in_channels": int(run[0].in_channels), "out_channels": int(run[-1].out_channels),
            "size_px": int(run[0].output_shape[-1]),
            "rf_px": receptive_field([(r.kernel[0], r.stride[0]) for r in run]),
            "nonlinearities": len(run),
        })
    return pd.DataFrame(rows)


def large_kernels(name: str) -> pd.DataFrame:
    """The convolutions with kernels larger than 3x3 in a catalogue model (AlexNet's 11x11 and 5x5)."""
    layers = summarize(name).layers
    convs = layers[layers["type"] == "Conv2d"]
    big = convs[convs["kernel"].map(lambda k: max(k) > 3)]
    return big[["name", "kernel", "stride", "in_channels", "out_channels", "params", "macs"]].reset_index(drop=True)
