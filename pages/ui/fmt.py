"""Numbers and units as the pages print them."""
from __future__ import annotations

from zoo.i18n import N_, _


def fmt_count(n: float | int | None, unit: str = "") -> str:
    """1234567 -> '1.23 M'; None -> '—'."""
    if n is None:
        return "—"
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(n) >= div:
            return f"{n / div:.2f}{suffix}{unit}"
    return f"{n:,.0f}{(' ' + unit) if unit else ''}"


# Marked for the catalogue; pages show it as ``_(MACS_NOTE)``.
MACS_NOTE = N_(
    "MACs = multiply-accumulates; FLOPs = 2 x MACs. torchvision's docs label their column "
    "\"GFLOPS\", but those numbers count multiply-adds, i.e. GMACs."
)


def fmt_axes(v) -> str:
    """A per-axis tuple as a table cell: ``(3, 3)`` -> ``'3×3'``, ``(2, 2)`` stride -> ``'2×2'``; None -> ''."""
    if v is None or (isinstance(v, float) and v != v):  # NaN: a layer without this attribute
        return ""
    if isinstance(v, str):
        return v
    return "×".join(str(int(x)) for x in v)


def fmt_shape(shape) -> str:
    """An output shape as ``1×64×112×112``; empty for a module that never ran."""
    return "×".join(map(str, shape)) if shape else ""


def fmt_calls_shape(shape, calls) -> str:
    """An output shape, and for a module called more than once (ResNet's shared ReLU) which call it is from."""
    text = fmt_shape(shape)
    try:
        n = int(calls)
    except (TypeError, ValueError):
        return text
    return _("{shape} (last of {n} calls)").format(shape=text, n=n) if text and n > 1 else text
