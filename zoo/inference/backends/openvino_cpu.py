"""OpenVINO on the CPU, from the same ONNX export: fp32, and bf16 where the CPU has it; int8 when asked for.

int8 reads the calibrated QDQ file of :mod:`.quantize` directly (no conversion) and is never
offered to the automatic choice.

The export is converted once to OpenVINO's own form (``.xml`` + ``.bin``, next to the export):
reading it and compiling takes ~0.2 s for ResNet-50 against ~0.7 s from the ONNX file, and the
compiled model then keeps about half the anonymous memory, since the ``.bin`` is mapped from disk
(measured here with OpenVINO 2026.4; its compiled-blob export held a full second copy instead).

On a cold start the runners are compiled from the ONNX graph in memory, and the converted files
are written only for a runner that is kept (:func:`settle`), after it starts serving, in a
background thread that then swaps in a model compiled from the mapped files. Writing them costs
0.2 s for ResNet-50 and 2.4 s for VGG-16 (measured here), which the first prediction no longer
waits for; :func:`wait` joins the writes (tests, and ``python -m zoo export`` before it exits).
"""
from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from zoo.inference.backends import capabilities
from zoo.inference.backends.base import BackendError, Source, Variant

log = logging.getLogger(__name__)

NAME = "openvino"
# INFERENCE_PRECISION_HINT for each precision. On a QDQ graph the hint does not decide int8: OpenVINO runs every
# quantized Convolution and FullyConnected in u8 under any hint (measured from the compiled model's runtime
# precisions: Lite0 49/49 convolutions, ResNet-50 53/53, with f32, bf16 or no hint); it sets only what stays in
# float (the residual adds, the scaled activations). f32 keeps that part exact and the same on every CPU (with
# no hint it would be bf16 on a BF16 CPU, f32 elsewhere): "int8" then means int8 arithmetic and nothing else.
HINTS = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}
# Anonymous memory of a compiled model, measured after malloc_trim (ResNet-50 / MobileNet V2, 98 / 13 MiB of
# weights): f32 115 / 34 MiB, bf16 63 / 23 MiB from the converted files; compiled straight from the ONNX
# graph (read-only cache without them) 211 / 46 MiB and 159 / 35 MiB.
WEIGHTS_FACTOR = {("fp32", True): 1.0, ("bf16", True): 0.5, ("fp32", False): 2.2, ("bf16", False): 1.65}
FIXED_BYTES = 21 * 2**20

_CORE = None
_CORE_LOCK = threading.Lock()


def missing() -> str | None:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return "OpenVINO is not installed."
    return None


def version() -> str | None:
    try:
        import openvino
    except ImportError:
        return None
    return openvino.__version__.split("-")[0]


def variants(caps: frozenset[str]) -> list[Variant]:
    if missing() is not None:
        return []
    return [Variant(NAME, "fp32")] + ([Variant(NAME, "bf16")] if "BF16" in caps else [])


def core():
    global _CORE
    with _CORE_LOCK:
        if _CORE is None:
            import openvino as ov

            _CORE = ov.Core()
        return _CORE


def config(precision: str, threads: int) -> dict:
    """Batch-1 latency settings; the precision is always stated, never left to the CPU's default."""
    return {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": HINTS[precision]}


class OvRunner:
    """A compiled model and a pool of infer requests (one request serves one caller at a time)."""

    def __init__(self, compiled, variant: Variant, nbytes: int, mapped: bool = True):
        self.variant, self.nbytes, self.mapped = variant, nbytes, mapped
        self._state = (compiled, queue.SimpleQueue())  # replaced as one, so a caller sees one or the other

    @property
    def compiled(self):
        return self._state[0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        compiled, idle = self._state
        try:
            request = idle.get_nowait()
        except queue.Empty:
            request = compiled.create_infer_request()
        try:
            request.infer({0: x}, share_inputs=True)
            return request.get_output_tensor(0).data.copy()  # the request's buffer is reused by its next call
        finally:
            idle.put(request)  # to the pool it came from: after a swap the old model goes with its requests

    def replace(self, compiled, nbytes: int) -> None:
        """Serve from ``compiled`` (the same graph, compiled from the mapped files) from the next call on."""
        self._state = (compiled, queue.SimpleQueue())
        self.nbytes, self.mapped = nbytes, True


def ir_path(src: Source) -> Path:
    return src.artifact(f"openvino-{version()}.xml")


def _save_ir(model, xml: Path) -> None:
    """Write the .bin and .xml pair atomically (the .xml, which marks the pair complete, renamed last)."""
    import openvino as ov

    xml.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=xml.name + ".", suffix=".part", dir=xml.parent))
    try:
        ov.save_model(model, str(tmp / "model.xml"), compress_to_fp16=False)
        for f in ("model.bin", "model.xml"):
            os.chmod(tmp / f, 0o644)
        os.replace(tmp / "model.bin", xml.with_suffix(".bin"))
        os.replace(tmp / "model.xml", xml)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_MODEL_LOCK = threading.Lock()  # runners of one source may be built from several threads at once


def _model(src: Source):
    """The graph in OpenVINO's form, read once per source; (model, read_from_converted_files)."""
    with _MODEL_LOCK:
        return _read_model(src)


def _read_model(src: Source):
    if "openvino" in src.memo:
        return src.memo["openvino"]
    ov_core = core()
    xml = ir_path(src)
    entry = None
    if xml.exists():
        try:
            entry = (ov_core.read_model(str(xml)), True)
        except Exception as e:  # noqa: BLE001 - a damaged pair: read the export, and settle() writes it again
            log.warning("OpenVINO files %s unusable (%s); reading the export", xml.name, e)
            if src.writable:
                for f in (xml, xml.with_suffix(".bin")):
                    f.unlink(missing_ok=True)
    if entry is None:
        entry = (ov_core.read_model(str(src.onnx_path)), False)
    src.memo["openvino"] = entry
    return entry


def nbytes(src: Source, precision: str, mapped: bool) -> int:
    return int(src.weights_bytes * WEIGHTS_FACTOR[(precision, mapped)]) + FIXED_BYTES


def open(variant: Variant, src: Source) -> OvRunner:  # noqa: A001 - the interface's verb
    if variant.precision not in HINTS:
        raise BackendError(f"OpenVINO has no {variant.precision} path for {src.name} here.")
    if variant.precision == "bf16" and not capabilities.has_bf16():
        raise BackendError("This CPU does not compute in bfloat16 (OpenVINO reports no BF16 capability).")
    if variant.precision == "int8":
        return _open_int8(variant, src)
    try:
        model, mapped = _model(src)
        compiled = core().compile_model(model, "CPU", config(variant.precision, src.threads))
    except Exception as e:  # noqa: BLE001 - OpenVINO's errors have no common base class
        raise BackendError(f"OpenVINO could not compile {src.name} ({type(e).__name__}).") from e
    return OvRunner(compiled, variant, nbytes(src, variant.precision, mapped), mapped)


def _open_int8(variant: Variant, src: Source) -> OvRunner:
    from zoo.inference.backends import quantize

    path = quantize.ensure(src)  # calibrated once (seconds, with progress), then read from the cache
    try:
        compiled = core().compile_model(str(path), "CPU", config(variant.precision, src.threads))
    except Exception as e:  # noqa: BLE001 - OpenVINO's errors have no common base class
        raise BackendError(f"OpenVINO could not compile the int8 version of {src.name} ({type(e).__name__}).") from e
    # Compiled from an ONNX file, as fp32 is without its converted files (2.2x); an estimate for int8.
    return OvRunner(compiled, variant, int(path.stat().st_size * WEIGHTS_FACTOR[("fp32", False)]) + FIXED_BYTES)


def forget(src: Source) -> None:
    """Drop the parsed graph once every runner of ``src`` is built (compiled models keep what they need)."""
    with contextlib.suppress(KeyError):
        del src.memo["openvino"]


_WRITES: dict[Path, threading.Thread] = {}  # converted files being written, by .xml path
_WRITES_LOCK = threading.Lock()


def settle(runner, src: Source) -> None:
    """``runner`` is kept: when it was compiled from the ONNX graph, write the converted files and swap them in.

    In the background (see the module docstring); a failure only logs, and the runner keeps serving
    from the graph it has. Nothing is written in read-only mode.
    """
    if not isinstance(runner, OvRunner) or runner.mapped or not src.writable:
        return
    onnx_path, xml, threads = src.onnx_path, ir_path(src), src.threads
    weights = nbytes(src, runner.variant.precision, True)

    def write_and_swap(before: threading.Thread | None) -> None:
        try:
            if before is not None:
                before.join()  # another runner of the same export is writing the same files
            if not xml.exists():
                _save_ir(core().read_model(str(onnx_path)), xml)
            compiled = core().compile_model(core().read_model(str(xml)), "CPU", config(runner.variant.precision,
                                                                                       threads))
            runner.replace(compiled, weights)
        except Exception as e:  # noqa: BLE001 - disk full, permissions, a runtime error: keep serving as is
            log.warning("could not write or use %s (%s); %s keeps its in-memory graph", xml.name, e, src.name)
        finally:
            with _WRITES_LOCK:
                if _WRITES.get(xml) is threading.current_thread():
                    del _WRITES[xml]

    with _WRITES_LOCK:
        before = _WRITES.get(xml)
        # Not a daemon: a process that ends (``zoo export``, a CLI prediction) finishes the files first.
        thread = threading.Thread(target=write_and_swap, args=(before,), name=f"openvino-files-{src.name}",
                                  daemon=False)  # said, not inherited: Streamlit's script threads are daemons
        _WRITES[xml] = thread
        thread.start()


def wait(timeout: float | None = None) -> None:
    """Join every background write of converted files (see :func:`settle`)."""
    with _WRITES_LOCK:
        threads = list(_WRITES.values())
    for t in threads:
        t.join(timeout)
