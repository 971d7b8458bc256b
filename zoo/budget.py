"""What one heavy action may cost, estimated before it starts (effective receptive field, gradient
check, occlusion, Score-CAM), so a button press can never take a small server down.

Memory is estimated from the layer table (meta device, no allocation): the parameters the action
materialises plus the activations autograd keeps, per image, up to the layer it stops at. The
factors were measured on this project's machine (peak RSS of effective_rf, 4 noise images:
ResNet-50, DenseNet-121, VGG-16, EfficientNet-B0, MobileNet V3 Large came out at 0.9-1.3 x
params + acts x images, so 1.3 is used). Compute is counted in MACs, from the same table.

The defaults fit a 4 GB machine (the server itself takes ~1 GB); ``ZOO_ACTION_MB`` and
``ZOO_ACTION_GMACS`` set others.
"""
from __future__ import annotations

import os
from functools import lru_cache

import torch

from zoo.errors import ZooError
from zoo.i18n import _

MEMORY_ENV, COMPUTE_ENV = "ZOO_ACTION_MB", "ZOO_ACTION_GMACS"
DEFAULT_MEMORY_MB = 1500
DEFAULT_GMACS = 2000  # about half a minute of both cores of this machine (VGG-16: 56 GMAC/s measured)
BACKWARD_FACTOR = 1.3  # activations autograd keeps per image, relative to the forward outputs


class BudgetError(ZooError):
    """A heavy action whose estimated cost is over the budget; the sentence offers a smaller setting."""


def memory_budget() -> int:
    """Bytes one heavy action may use (``$ZOO_ACTION_MB``, else 1500 MB)."""
    return int(_env_float(MEMORY_ENV, DEFAULT_MEMORY_MB) * 1e6)


def compute_budget() -> int:
    """MACs one heavy action may do (``$ZOO_ACTION_GMACS``, else 2000 GMACs)."""
    return int(_env_float(COMPUTE_ENV, DEFAULT_GMACS) * 1e9)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return float(default)


@lru_cache(maxsize=256)
def activation_bytes(name: str, upto: str | None = None, input_size: int | None = None) -> int:
    """float32 bytes of every leaf module's output for one image, in call order, up to and including
    layer ``upto`` (a container such as ``layer4`` ends at its last leaf); the whole network when None."""
    from zoo.analysis import summarize

    running, at_upto = 0, None
    for row in summarize(name, input_size).layers.itertuples():
        if row.output_shape:
            running += int(torch.Size(row.output_shape).numel()) * 4
        if upto is not None and (row.name == upto or row.name.startswith(upto + ".")):
            at_upto = running
    return running if at_upto is None else at_upto


@lru_cache(maxsize=256)
def params_upto(name: str, upto: str | None = None) -> int:
    """float32 bytes of the parameters of the leaves called up to and including layer ``upto``."""
    from zoo.analysis import summarize

    running, at_upto = 0, None
    for row in summarize(name).layers.itertuples():
        running += int(row.params) * 4
        if upto is not None and (row.name == upto or row.name.startswith(upto + ".")):
            at_upto = running
    return running if at_upto is None else at_upto


def refuse_or_allow(what: str, cost: int, budget: int, smaller: list[tuple[str, int]], unit: str = "memory") -> None:
    """Raise BudgetError when ``cost`` is over ``budget``; the sentence names the first smaller setting that fits.

    ``what`` is a (translated) noun phrase, e.g. "Grad-CAM of VGG-16 at 224 px"; ``smaller``: (setting,
    cost) pairs, most useful first, a (translated) setting reading before "it would need ...", e.g.
    "with 1 noise image" or "at layer `layer3`". ``unit``: "memory" (bytes) or "compute" (MACs).
    """
    if cost <= budget:
        return
    fmt = gb if unit == "memory" else (lambda n: f"{n / 1e9:,.0f} GMACs")
    fits = next(((label, c) for label, c in smaller if c <= budget), None)
    # One whole sentence per case, so that a translation can order its parts as its grammar wants.
    if unit == "memory" and fits is not None:
        text = _("{what} would need about {need} of memory, over the {budget} one action may use on this server; "
                 "{setting} it would need {fits}, which fits.")
    elif unit == "memory":
        text = _("{what} would need about {need} of memory, over the {budget} one action may use on this server; "
                 "no smaller setting of it fits either.")
    elif fits is not None:
        text = _("{what} would need about {need}, over the {budget} one action may use on this server; {setting} it "
                 "would need {fits}, which fits.")
    else:
        text = _("{what} would need about {need}, over the {budget} one action may use on this server; no smaller "
                 "setting of it fits either.")
    raise BudgetError(text.format(what=what, need=fmt(cost), budget=fmt(budget),
                                  setting=fits[0] if fits else "", fits=fmt(fits[1]) if fits else ""))


def largest_output_bytes(name: str, input_size: int | None = None) -> int:
    """float32 bytes of the largest single layer output for one image: what a forward pass holds at its peak."""
    from zoo.analysis import summarize

    return max((int(torch.Size(s).numel()) * 4 for s in summarize(name, input_size).layers["output_shape"] if s),
                default=0)


def params_bytes(name: str) -> int:
    from zoo.analysis import summarize

    return summarize(name).params * 4


def gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 10e9 else f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def forward_batch(name: str, wanted: int, input_size: int | None = None) -> int:
    """The largest batch up to ``wanted`` whose forward pass (three live maps per image at the peak)
    fits the memory budget next to the weights; at least 1."""
    per_image = 3 * largest_output_bytes(name, input_size)
    room = memory_budget() - params_bytes(name)
    return max(1, min(wanted, room // max(per_image, 1)))


__all__ = ["BudgetError", "activation_bytes", "compute_budget", "forward_batch", "gb", "largest_output_bytes",
           "memory_budget", "params_bytes", "params_upto", "refuse_or_allow"]
