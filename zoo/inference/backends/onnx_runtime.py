"""ONNX Runtime on the CPU: fp32, graph optimisations on, intra-op threads = torch's; int8 when asked for.

int8 runs the calibrated QDQ file :mod:`.quantize` builds; it is never offered to the automatic choice.
"""
from __future__ import annotations

import numpy as np

from zoo.inference.backends.base import BackendError, Source, Variant

NAME = "onnxruntime"
# Anonymous memory a session holds, measured (bench/bench_memory.py, after malloc_trim): ResNet-50
# 108 MiB for 98 MiB of weights, MobileNet V2 25 MiB for 13 MiB: about the weights once more plus a fixed arena.
WEIGHTS_FACTOR = 1.05
FIXED_BYTES = 11 * 2**20


def missing() -> str | None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "ONNX Runtime is not installed."
    return None


def version() -> str | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime.__version__


def variants(caps: frozenset[str]) -> list[Variant]:
    return [Variant(NAME, "fp32")] if missing() is None else []


def session_options(threads: int):
    """All graph optimisations; intra-op threads as torch's, which zoo.concurrency sized against the cores."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1  # one sequential graph; parallelism is inside each op
    so.log_severity_level = 3  # errors only: warnings about unused initialisers are not for users
    return so


class OrtRunner:
    def __init__(self, session, variant: Variant, nbytes: int):
        self.session, self.variant, self.nbytes = session, variant, nbytes
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        (logits,) = self.session.run([self._output], {self._input: x})  # thread-safe: one session, many callers
        return logits


def open(variant: Variant, src: Source) -> OrtRunner:  # noqa: A001 - the interface's verb
    if variant.precision not in ("fp32", "int8"):
        raise BackendError(f"ONNX Runtime runs {src.name} in fp32 or int8 only here.")
    import onnxruntime as ort

    path = src.onnx_path
    if variant.precision == "int8":
        from zoo.inference.backends import quantize

        path = quantize.ensure(src)  # calibrated once (seconds, with progress), then read from the cache
    try:
        session = ort.InferenceSession(str(path), session_options(src.threads), providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - ONNX Runtime's own errors have no common base class
        raise BackendError(f"ONNX Runtime could not load the export of {src.name} ({type(e).__name__}).") from e
    # int8: the same rule applied to the quantized file's size (an estimate; not measured separately).
    weights = path.stat().st_size if variant.precision == "int8" else src.weights_bytes
    return OrtRunner(session, variant, int(weights * WEIGHTS_FACTOR) + FIXED_BYTES)
