"""The interface every CPU backend implements: a :class:`Variant` names what runs, a runner runs it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from torch import nn

PRECISIONS = ("fp32", "bf16", "int8")
LABELS = {"torch": "PyTorch", "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}


class BackendError(RuntimeError):
    """A backend cannot serve a model; ``str()`` is one sentence for the user."""


@dataclass(frozen=True)
class Variant:
    """One way to run a model's forward pass: a backend at a precision."""

    backend: str  # "torch", "onnxruntime" or "openvino"
    precision: str = "fp32"  # "fp32" (exact to 1e-4 of eager torch), "bf16" or "int8" (reduced)

    @property
    def key(self) -> str:
        return f"{self.backend}:{self.precision}"

    @property
    def label(self) -> str:
        return f"{LABELS.get(self.backend, self.backend)} {self.precision}"

    @property
    def reduced(self) -> bool:
        return self.precision != "fp32"

    @classmethod
    def parse(cls, text: str) -> Variant:
        """``"openvino:bf16"``, ``"openvino-int8"`` or ``"onnxruntime"`` (fp32); ValueError with one sentence."""
        backend, _, precision = text.strip().lower().replace("-", ":").partition(":")
        backend = {"ort": "onnxruntime", "ov": "openvino", "eager": "torch", "pytorch": "torch"}.get(backend, backend)
        precision = {"f32": "fp32", "float32": "fp32", "bfloat16": "bf16", "i8": "int8", "u8": "int8"}.get(
            precision, precision or "fp32")
        if backend not in LABELS or precision not in PRECISIONS:
            raise ValueError(f"'{text}' is not a backend: use torch, onnxruntime, onnxruntime:int8, openvino, "
                             f"openvino:bf16 or openvino:int8.")
        return cls(backend, precision)


TORCH_FP32 = Variant("torch", "fp32")


class Runner(Protocol):
    """A ready forward pass: float32 NCHW array in, logits out. Safe to call from several threads."""

    variant: Variant
    nbytes: int  # memory it holds of its own (its copy of the weights), beyond the torch model

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


@dataclass
class Source:
    """What a backend builds a runner from: the torch model, its ONNX export, and where its own files go."""

    name: str
    model: nn.Module  # eval mode, on the CPU
    input_size: int
    onnx_path: Path | None  # None for the torch backend
    threads: int
    writable: bool  # False in read-only cache mode: a backend may read its files but never write one
    memo: dict = field(default_factory=dict)  # shared by the runners built from one source (e.g. one parsed graph)

    @property
    def weights_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.model.parameters())

    def artifact(self, suffix: str) -> Path:
        """A file of this export's own (``<export stem>.<suffix>``), next to the export."""
        assert self.onnx_path is not None
        return self.onnx_path.with_name(f"{self.onnx_path.stem}.{suffix}")
