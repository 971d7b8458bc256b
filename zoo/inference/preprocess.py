"""Kept for ``zoo.labs`` and the benchmarks, which import :func:`build_transform` from here; the
transform, the crop and the rest of what a model sees live in :mod:`zoo.inference.view`."""
from zoo.inference.view import build_transform

__all__ = ["build_transform"]
