"""Eager PyTorch: the reference every other backend is checked against, and the fallback for everything."""
from __future__ import annotations

import numpy as np
import torch

from zoo.inference.backends.base import TORCH_FP32, Source, Variant

NAME = "torch"


def missing() -> str | None:
    return None


def version() -> str:
    return torch.__version__


def variants(caps: frozenset[str]) -> list[Variant]:
    return [TORCH_FP32]


class TorchRunner:
    """The torch model itself behind the runner interface (for timing it beside the others)."""

    variant = TORCH_FP32
    nbytes = 0  # the torch model is counted where it is cached

    def __init__(self, model: torch.nn.Module):
        self.model = model

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return self.model(torch.from_numpy(x)).numpy()


def open(variant: Variant, src: Source) -> TorchRunner:  # noqa: A001 - the interface's verb
    return TorchRunner(src.model)
