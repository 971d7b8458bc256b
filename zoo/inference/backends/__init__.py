"""CPU inference backends behind one small interface: PyTorch eager, ONNX Runtime, OpenVINO.

Each backend module offers ``missing()`` (why it cannot run here, or None), ``version()``,
``variants(capabilities)`` (the precisions it offers on this CPU) and ``open(variant, source)``,
which returns a runner (:class:`base.Runner`) or raises :class:`base.BackendError` with one sentence.
:mod:`zoo.inference.fast_cpu` measures them and picks one; :mod:`.check` decides which may be used.
"""
from __future__ import annotations

from types import ModuleType

from zoo.inference.backends import capabilities, onnx_runtime, openvino_cpu, torch_eager
from zoo.inference.backends.base import TORCH_FP32, BackendError, Runner, Source, Variant

BACKENDS: dict[str, ModuleType] = {"torch": torch_eager, "onnxruntime": onnx_runtime, "openvino": openvino_cpu}


def candidates(caps: frozenset[str] | None = None) -> list[Variant]:
    """Every variant the installed backends offer on this CPU, PyTorch first."""
    caps = capabilities.capabilities() if caps is None else caps
    return [v for module in BACKENDS.values() for v in module.variants(caps)]


def open_runner(variant: Variant, src: Source) -> Runner:
    module = BACKENDS[variant.backend]
    reason = module.missing()
    if reason is not None:
        raise BackendError(reason)
    return module.open(variant, src)


def versions() -> dict[str, str | None]:
    return {name: module.version() for name, module in BACKENDS.items()}


__all__ = ["BACKENDS", "TORCH_FP32", "BackendError", "Runner", "Source", "Variant", "candidates", "open_runner",
           "versions"]
