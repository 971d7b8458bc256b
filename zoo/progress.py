"""The one progress-callback type for everything slow: downloads, exports, Score-CAM, occlusion.

A callback receives ``done`` out of ``total`` (bytes, images, or a fraction with ``total=1``;
``total`` is None while unknown) and an optional line of text saying what is happening. The
pages turn it into ``st.progress``; the CLI into a bar on stderr.
"""
from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: float, total: float | None, text: str = "") -> None: ...


def fraction(done: float, total: float | None) -> float:
    """``done / total`` clipped to [0, 1]; 0 while the total is unknown."""
    return min(max(done / total, 0.0), 1.0) if total else 0.0
