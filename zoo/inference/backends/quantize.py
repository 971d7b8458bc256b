"""int8 by post-training static quantization of the cached fp32 export (ONNX Runtime's ``quantize_static``).

The recipe (:data:`RECIPE`), chosen by measuring on this machine (2 threads, ONNX Runtime 1.32,
OpenVINO 2026.4, a CPU with AVX512-VNNI; EfficientNet-Lite0 with its real weights, ResNet-50 with
random ones):

- QDQ format, weights int8 per output channel and symmetric, activations uint8 per tensor.
  uint8 activations: ONNX Runtime ran Lite0 int8 in 11.6 ms with them against 25.8 ms with int8
  ones (its x86 kernels are u8 x s8); OpenVINO was the same either way.
- The graph goes through ``quant_pre_process`` first (ONNX Runtime's shape inference and graph
  clean-up): without it ONNX Runtime ran ResNet-50 int8 slower than fp32 (436 against 335 ms
  under load), with it 117 ms. It needs sympy, which torch already requires.
- MinMax ranges: Entropy gave the same agreement on the sample photos but took 9.9 s and 3.0 GB of
  peak memory against 3.3 s and 1.1 GB (it keeps every intermediate tensor of every input for its
  histograms; MinMax keeps two numbers per tensor).
- Calibration inputs: the sample photos through the model's own preprocessing, each as is and
  flipped, whole and two 80% corner crops: :data:`CALIBRATION_INPUTS` inputs.

int8 is calibrated on the same photos the reduced-precision check uses, so that check says little
about it: it is never part of the automatic choice (each backend's ``variants()`` leaves it out),
only reached when asked for (``ZOO_BACKEND=openvino:int8``, the precision lab, the benches).
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from zoo import registry
from zoo.i18n import N_, _
from zoo.inference.backends import cache, check
from zoo.inference.backends.base import BackendError, Source
from zoo.progress import Progress

log = logging.getLogger(__name__)

CROP = 0.8  # the corner crops keep this share of each side, resized back to the input size
FLIPS = 2  # as is, mirrored left-right
CROPS = 3  # whole, top-left corner, bottom-right corner
CALIBRATION_INPUTS = len(check.SAMPLE_PHOTOS) * FLIPS * CROPS
RECIPE = {"schema": 1, "format": "QDQ", "weights": "int8 per-channel symmetric", "activations": "uint8 per-tensor",
          "method": "MinMax", "pre_process": True, "photos": list(check.SAMPLE_PHOTOS), "flips": FLIPS,
          "crops": CROPS, "crop": CROP}
# Calibration holds the graph several times at once (the parsed export, its pre-processed copy, the
# graph with a min/max output on every tensor and ONNX Runtime's session of it, the quantized
# result) plus one forward pass's activations. ResNet-50 (98 MB of weights) peaked at 1.65 GB for
# the whole process, torch model included; VGG-16 (528 MB) would need well over 2 GB on top of
# what the app holds, so models whose estimate passes the bound are refused, in one sentence.
GRAPH_COPIES = 4
MAX_CALIBRATION_BYTES = 1.5e9

READONLY_REASON = N_("The int8 version of this model is not in the read-only cache (ZOO_CACHE_READONLY=1), and "
                     "int8 is only calibrated where the cache can be written.")
# No consequence in the sentence: callers add theirs ("…, so it runs in PyTorch").
TOO_LARGE_REASON = N_("Calibrating {model} for int8 would need about {need:.1f} GB of memory, more than the "
                      "{bound:.1f} GB allowed.")
FAILED_REASON = N_("ONNX Runtime could not quantize {model} to int8 ({error}).")

_REPORT: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("zoo_quantize_report", default=None)
_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class QuantizeError(BackendError):
    """int8 cannot be built here; ``str()`` is the English sentence, :meth:`translated` the session's."""

    def __init__(self, msgid: str, **kwargs):
        super().__init__(msgid.format(**kwargs))
        self.msgid, self.kwargs = msgid, kwargs

    def translated(self) -> str:
        return _(self.msgid).format(**self.kwargs)


@contextlib.contextmanager
def reporting(progress: Progress | None) -> Iterator[None]:
    """Send the progress of any calibration started in this block (by a backend's ``open()``) to ``progress``."""
    token = _REPORT.set(progress)
    try:
        yield
    finally:
        _REPORT.reset(token)


def version() -> str | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime.__version__


def int8_path(src: Source) -> Path:
    """``<export stem>.int8-<ONNX Runtime version + recipe>.onnx``: a new version or recipe calibrates again."""
    return src.artifact(f"int8-{cache.short_hash({'onnxruntime': version(), 'recipe': RECIPE})}.onnx")


def calibration_inputs(name: str, input_size: int) -> list[np.ndarray]:
    """The sample photos through ``name``'s preprocessing, each as is and flipped, whole and two corner crops."""
    batch = check.sample_batch(name, input_size)
    side = batch.shape[-1]
    c = int(round(side * CROP))
    out = []
    for photo in batch:
        for image in (photo, photo.flip(-1)):
            out.append(image[None])
            for top, left in ((0, 0), (side - c, side - c)):
                crop = image[None, :, top:top + c, left:left + c]
                out.append(F.interpolate(crop, size=(side, side), mode="bilinear", align_corners=False))
    assert len(out) == CALIBRATION_INPUTS
    return [x.contiguous().numpy() for x in out]


def estimate_bytes(src: Source) -> int:
    """Memory calibration needs: the graph :data:`GRAPH_COPIES` times plus one pass's activations (float32)."""
    from zoo.analysis import summarize

    try:
        layers = summarize(src.name, src.input_size).layers
        activations = sum(math.prod(shape) * int(calls) for shape, calls in zip(layers["output_shape"], layers["calls"]))
    except Exception:  # noqa: BLE001 - a model the layer table cannot trace: count its weights only
        activations = 0
    graph = src.onnx_path.stat().st_size if src.onnx_path and src.onnx_path.exists() else src.weights_bytes
    return int(GRAPH_COPIES * graph + 4 * activations)


def _lock(path: Path) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.Lock())


_display = registry.display_name


def ensure(src: Source, progress: Progress | None = None) -> Path:
    """The int8 file for ``src``'s export, calibrated and written now unless it is already there.

    Raises :class:`QuantizeError` (one sentence) in read-only cache mode without the file, for a
    model over the memory bound, or when ONNX Runtime fails.
    """
    path = int8_path(src)
    with _lock(path):
        if path.exists():
            return path
        if not src.writable or cache.readonly():
            raise QuantizeError(READONLY_REASON)
        need = estimate_bytes(src)
        if need > MAX_CALIBRATION_BYTES:
            raise QuantizeError(TOO_LARGE_REASON, model=_display(src.name), need=need / 1e9,
                                bound=MAX_CALIBRATION_BYTES / 1e9)
        report = progress or _REPORT.get() or (lambda done, total, text="": None)
        try:
            cache.atomic_write(path, lambda tmp: _quantize(src, tmp, report))
        except QuantizeError:
            raise
        except Exception as e:  # noqa: BLE001 - the quantizer's errors have no common base class
            log.warning("int8 quantization of %s failed", src.name, exc_info=True)
            raise QuantizeError(FAILED_REASON, model=_display(src.name), error=type(e).__name__) from e
    return path


def _quantize(src: Source, out: Path, report: Progress) -> None:
    """Pre-process the export, calibrate it on :func:`calibration_inputs` and write the QDQ model to ``out``."""
    import tempfile

    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    display = _display(src.name)
    inputs = calibration_inputs(src.name, src.input_size)
    n = len(inputs)
    report(0, n, _("Calibrating {model} for int8 on {n} sample-photo crops (once; cached on disk)").format(
        model=display, n=n))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= n:
                return None
            self.i += 1
            report(self.i, n, _("Calibrating {model} for int8: crop {i} of {n}").format(model=display, i=self.i, n=n))
            return {"input": inputs[self.i - 1]}

    previous = ort.get_default_logger_severity() if hasattr(ort, "get_default_logger_severity") else 2
    ort.set_default_logger_severity(3)  # its warnings about unused initialisers are not for users
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # quantize_static logs a pre-processing hint at WARNING
    try:
        with tempfile.TemporaryDirectory(prefix="zoo-int8-", dir=out.parent) as tmp, torch.no_grad():
            pre = Path(tmp) / "pre.onnx"
            quant_pre_process(str(src.onnx_path), str(pre), skip_symbolic_shape=True)
            quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax, extra_options={"WeightSymmetric": True})
    finally:
        root.setLevel(level)
        ort.set_default_logger_severity(previous)
    report(n, n, _("Calibrated {model} for int8").format(model=display))


@dataclass(frozen=True)
class Calibration:
    """What a quantized file holds, read from it (for the precision lab's explanation)."""

    inputs: int  # calibration inputs the ranges were taken from
    int8_tensors: int  # weight tensors stored as int8
    per_channel: int  # of those, with one scale per output channel
    activation_ranges: int  # activation tensors given a calibrated uint8 range
    int8_bytes: int  # bytes of int8 weights
    float_bytes: int  # bytes that stay float32 (biases, scales) or int32 (quantized biases)

    @property
    def weight_bytes(self) -> int:
        return self.int8_bytes + self.float_bytes


def describe(path: Path) -> Calibration:
    """Count the quantized file's initialisers by type, and its scales (per channel or per tensor)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path), load_external_data=False)
    arrays = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    int8 = {k for k, a in arrays.items() if a.dtype == np.int8 and a.ndim > 1}
    per_channel = activations = 0
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in int8:
            per_channel += int(arrays[node.input[1]].size > 1)
        elif node.op_type == "QuantizeLinear" and node.input[0] not in arrays:
            activations += 1
    int8_bytes = sum(arrays[k].nbytes for k in int8)
    return Calibration(CALIBRATION_INPUTS, len(int8), per_channel, activations, int8_bytes,
                       sum(a.nbytes for a in arrays.values()) - int8_bytes)
