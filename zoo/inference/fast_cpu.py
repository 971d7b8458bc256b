"""A faster CPU forward pass: each model exported once to ONNX, cached on disk, run by ONNX Runtime.

On a small CPU, ONNX Runtime runs the same graph 1.3-3x faster than eager PyTorch (it fuses
batch-norm into convolutions and picks better conv kernels; measured in bench/bench_predict.py),
and faster than ``torch.jit.freeze`` + ``optimize_for_inference``. Only plain forward passes use
it: gradients and CAM need the torch model, and CUDA stays with torch.

Every session is checked against eager PyTorch on a fixed input before it is used; any failure
(ONNX Runtime missing, export error, unreadable or stale cached file, mismatch) ends in the torch
model with a one-sentence reason, never in an exception on the request path.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from zoo import registry
from zoo.progress import Progress

log = logging.getLogger(__name__)

OPSET = 17  # supported by every ONNX Runtime release since 1.14; covers all ops the catalogue uses
CACHE_ENV = "ZOO_ONNX_CACHE"  # folder for exported graphs; default: next to the weights, under $TORCH_HOME
DISABLE_ENV = "ZOO_FAST_CPU"  # "0" keeps CPU inference in PyTorch (for comparisons and debugging)
# The spec's bar for "same predictions": top-5 probabilities within 1e-4 of eager PyTorch. The check
# compares every class, which is stricter.
PROB_TOL = 1e-4
# Logits must agree too, relative to their scale: random-init stand-ins give near-uniform
# probabilities, which would pass the probability check even with the wrong weights.
LOGIT_RTOL = 1e-3
CHECK_SEED = 0  # the fixed input every session is checked on
# An ONNX Runtime session holds its own copy of the weights, next to the torch model that CAM and
# odd input sizes still need. On a small machine that second copy is not worth it for the largest
# models: AlexNet (233 MB) and the VGGs (507-548 MB) gain only 1.3-1.7x, and the default set with
# every model accelerated holds ~2.6 GB of anonymous memory (bench/bench_memory.py), ~1.8 GB without
# those two. So at or below SMALL_MACHINE_GB of memory, models over LARGE_WEIGHTS_MB stay in torch.
SMALL_MACHINE_GB = 6.0
LARGE_WEIGHTS_MB = 200.0
MEMORY_ENV = "ZOO_MEMORY_GB"  # plan for a machine of this size instead of reading this one's
_SAMPLES_PER_TENSOR = 4096



class FastPathError(RuntimeError):
    """The ONNX Runtime path cannot serve this model; ``str()`` is one sentence for the user."""


@dataclass
class FastPath:
    """What :func:`accelerate` chose for one model."""

    module: nn.Module  # an OrtModule, or the torch model itself when the fast path is not used
    backend: str  # "onnxruntime" or "torch"
    reason: str | None = None  # why torch, one sentence; None when the fast path is used
    build_s: float = 0.0  # one-off cost paid in accelerate(): export (if any) + session + check
    exported: bool = False  # True when this call wrote the ONNX file; False when it reused the cache
    max_prob_diff: float | None = None  # largest |p_onnx - p_torch| on the check input


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "1").strip() not in ("0", "false", "no", "off")


def cache_dir() -> Path:
    """``$ZOO_ONNX_CACHE``, else ``torch.hub.get_dir()/zoo-onnx`` (follows ``$TORCH_HOME`` at call time)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import torch.hub

    return Path(torch.hub.get_dir()) / "zoo-onnx"


def fingerprint(model: nn.Module, input_size: int) -> str:
    """A key that changes whenever the exported graph would: weights, class, input size, toolchain.

    Hashes every tensor's name, shape, dtype and the bytes of ~4096 evenly strided elements:
    milliseconds even for VGG, and it tells the published weights from a random-init stand-in.
    (The check against eager torch in :func:`build_session` backs it up.)
    """
    h = hashlib.sha256()
    h.update(f"{type(model).__module__}.{type(model).__qualname__}|{input_size}|{OPSET}|{torch.__version__}".encode())
    # A Python attribute that changes the graph without touching the state dict (GoogLeNet, Inception v3).
    h.update(f"|transform_input={getattr(model, 'transform_input', None)}".encode())
    with torch.no_grad():
        for key, t in model.state_dict().items():
            h.update(f"|{key}:{tuple(t.shape)}:{t.dtype}:".encode())
            flat = t.detach().reshape(-1)
            if flat.numel():
                h.update(flat[:: max(1, flat.numel() // _SAMPLES_PER_TENSOR)].contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def export_path(name: str, model: nn.Module, input_size: int) -> Path:
    return cache_dir() / f"{name}-{input_size}px-{fingerprint(model, input_size)}.onnx"


# Exports that failed in this process: not retried on every page run (the exporter takes seconds).
_FAILED: set[Path] = set()
_PATH_LOCKS: dict[Path, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


def _path_lock(path: Path) -> threading.Lock:
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(path, threading.Lock())


def export(model: nn.Module, path: Path, input_size: int) -> None:
    """Write ``model`` as ONNX (batch axis dynamic, ``input_size`` square) to ``path`` atomically.

    The graph goes to a temporary file in the same folder and is renamed into place only when
    complete, so a crash never leaves a half file under the final name.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    x = torch.zeros(1, 3, input_size, input_size)
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        # The TorchScript-based exporter: the torch.export one needs onnxscript, one more dependency,
        # and produces the same graph for these feed-forward CNNs. Its deprecation notice is not for users.
        with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), tmp, dynamo=False, opset_version=OPSET, input_names=["input"],
                              output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared classroom cache from other accounts
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _prune_siblings(path: Path) -> None:
    """Remove older exports of the same model and size (other weights, older torch) to bound the disk used."""
    prefix = path.name.rsplit("-", 1)[0] + "-"
    for other in path.parent.glob(prefix + "*.onnx"):
        if other != path and other.name.rsplit("-", 1)[0] + "-" == prefix:
            with contextlib.suppress(OSError):
                other.unlink()


def session_options(threads: int | None = None):
    """ONNX Runtime options for the app: all graph optimisations, intra-op threads = torch's.

    Torch's thread count is what ``configure_concurrency`` sized against the cores and the
    inference slots, so both backends share the same plan.
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads or torch.get_num_threads()
    so.inter_op_num_threads = 1  # one sequential graph; parallelism is inside each op
    so.log_severity_level = 3  # errors only: warnings about unused initialisers are not for users
    return so


class OrtModule(nn.Module):
    """An eval-mode stand-in for a CPU model: ``forward`` runs an ONNX Runtime session.

    Inputs it was not exported for (another input size, a tensor that needs gradients, another
    device) go to the torch model instead, so it can replace the torch model wherever a forward
    pass is all that is needed. It owns no parameters and never changes the torch model.
    """

    def __init__(self, session, name: str, input_size: int, torch_model: nn.Module, path: Path):
        super().__init__()
        self.session = session
        self.name = name
        self.input_size = input_size
        self.path = path
        self._input = session.get_inputs()[0].name
        self._output = session.get_outputs()[0].name
        # Kept outside nn.Module's registry: .to()/.eval() on this wrapper must not reach the shared model.
        self.__dict__["torch_model"] = torch_model
        self.zoo_random_weights = bool(getattr(torch_model, "zoo_random_weights", False))
        self.eval()

    def handles(self, x: torch.Tensor) -> bool:
        return (x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4
                and tuple(x.shape[1:]) == (3, self.input_size, self.input_size)
                and not (x.requires_grad and torch.is_grad_enabled()))

    def backend_for(self, x: torch.Tensor) -> str:
        """Which backend a forward pass on ``x`` uses: "onnxruntime", or "torch" for inputs it hands on."""
        return "onnxruntime" if self.handles(x) else "torch"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.handles(x):
            return self.torch_model(x)
        (logits,) = self.session.run([self._output], {self._input: x.detach().contiguous().numpy()})
        return torch.from_numpy(logits)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, input_size={self.input_size}, path={self.path.name!r}"


def _check(session, model: nn.Module, input_size: int) -> float:
    """Largest difference in class probability between the session and eager torch on a fixed input.

    Raises FastPathError when probabilities or logits disagree beyond PROB_TOL / LOGIT_RTOL.
    """
    gen = torch.Generator().manual_seed(CHECK_SEED)
    x = torch.randn(1, 3, input_size, input_size, generator=gen)
    with torch.inference_mode():
        expected = model(x).float()
    (out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    got = torch.from_numpy(out)
    prob_diff = float((got.softmax(-1) - expected.softmax(-1)).abs().max())
    logit_diff = float((got - expected).abs().max())
    logit_tol = LOGIT_RTOL * max(1.0, float(expected.abs().max()))
    if not (prob_diff <= PROB_TOL and logit_diff <= logit_tol):  # written so that NaN fails too
        raise FastPathError(f"ONNX Runtime's output differs from PyTorch's (probabilities by {prob_diff:.1e}, "
                            f"logits by {logit_diff:.1e}).")
    return prob_diff


def _open_checked(path: Path, model: nn.Module, input_size: int, threads: int | None):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
    checked = session, _check(session, model, input_size)
    release_freed_memory()
    return checked


def release_freed_memory() -> None:
    """Hand freed heap back to the OS (glibc ``malloc_trim``); a no-op elsewhere.

    Building a session parses the whole graph, fuses and pre-packs the weights, and frees the
    intermediate copies, but glibc keeps the freed pages: ResNet-50's session held ~2.5x its
    weights in resident memory until trimmed, ~1x after (bench/bench_memory.py).
    """
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim  # noqa: B018 - musl and macOS have no malloc_trim
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC = None  # ctypes handle to glibc, False where there is none


def _display(name: str) -> str:
    return registry.REGISTRY[name].display if name in registry.REGISTRY else name


def _default_size(name: str) -> int:
    entry = registry.get(name)
    return entry.preprocess["crop"] if entry.preprocess else entry.input_size


def _usable(model: nn.Module) -> str | None:
    """Why the fast path cannot serve ``model`` (one sentence), or None when it can be tried."""
    if not enabled():
        return f"{DISABLE_ENV}=0 keeps CPU inference in PyTorch."
    if model.training:
        return "The model is in training mode; only eval-mode models are exported."
    if any(t.device.type != "cpu" for t in [*model.parameters(), *model.buffers()]):
        return "The model is not on the CPU; ONNX Runtime is used for CPU inference only."
    if not onnxruntime_available():
        return "ONNX Runtime is not installed, so CPU predictions run in PyTorch."
    memory_gb = machine_memory_gb()
    weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    if memory_gb is not None and memory_gb <= SMALL_MACHINE_GB and weights_mb > LARGE_WEIGHTS_MB:
        return (f"On a machine with {memory_gb:.0f} GB of memory the {weights_mb:.0f} MB of weights are not copied "
                f"into ONNX Runtime, so this model runs in PyTorch.")
    return None


def machine_memory_gb() -> float | None:
    """Memory this process may use, in GB: ``$ZOO_MEMORY_GB``, else the smaller of RAM and a cgroup limit."""
    override = os.environ.get(MEMORY_ENV)
    if override:
        try:
            return float(override)
        except ValueError:
            log.warning("ignoring %s=%r: not a number", MEMORY_ENV, override)
    sizes = []
    try:
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX
        pass
    try:  # a container's limit (cgroup v2); "max" when unlimited
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            sizes.append(int(limit))
    except OSError:
        pass
    return min(sizes) / 1e9 if sizes else None


def needs_export(name: str, model: nn.Module, input_size: int | None = None) -> bool:
    """True when :func:`accelerate` would first have to export ``model`` (seconds): worth a progress bar."""
    if _usable(model) is not None:
        return False
    path = export_path(name, model, input_size or _default_size(name))
    return path not in _FAILED and not path.exists()


def ensure_export(name: str, model: nn.Module, *, input_size: int | None = None,
                  progress: Progress | None = None) -> Path:
    """Export ``model`` to the cache unless a file for these weights is already there; returns its path.

    Separate from :func:`accelerate` so that a page can show this slow step's progress outside
    any cached function. Raises FastPathError when the exporter fails.
    """
    input_size = input_size or _default_size(name)
    path = export_path(name, model, input_size)
    with _path_lock(path):
        if not path.exists():
            _export_reporting(name, model, path, input_size, progress)
    return path


def _export_reporting(name: str, model: nn.Module, path: Path, input_size: int, progress: Progress | None) -> None:
    if path in _FAILED:
        raise FastPathError(f"{name} could not be exported to ONNX earlier in this process.")
    if progress is not None:
        progress(0.1, 1.0, f"Exporting {_display(name)} to ONNX for fast CPU inference (once; cached on disk)")
    try:
        export(model, path, input_size)
    except Exception as e:  # noqa: BLE001 - any exporter failure means "use torch"
        _FAILED.add(path)
        raise FastPathError(f"{name} could not be exported to ONNX ({type(e).__name__}).") from e
    finally:
        release_freed_memory()  # the exporter's trace and serialised graph: hundreds of MB for VGG
    _prune_siblings(path)
    if progress is not None:
        progress(0.6, 1.0, f"Exported {_display(name)}; ONNX Runtime optimises it when it is first loaded")


def build_session(name: str, model: nn.Module, input_size: int, *, progress: Progress | None = None,
                  threads: int | None = None) -> tuple[OrtModule, bool, float]:
    """An OrtModule for ``model`` (CPU, eval mode), reusing a cached export when one is good.

    A cached file that will not load or no longer matches eager torch is exported again, once.
    Returns (module, exported_now, max_prob_diff). Raises FastPathError.
    """
    report = progress or (lambda done, total, text='': None)
    path = export_path(name, model, input_size)
    with _path_lock(path):
        if path.exists():
            report(0.1, 1.0, f"Loading the cached ONNX graph of {_display(name)}")
            try:
                session, diff = _open_checked(path, model, input_size, threads)
                return OrtModule(session, name, input_size, model, path), False, diff
            except Exception as e:  # any unreadable or stale file: rebuild it below  # noqa: BLE001
                log.warning("cached ONNX export %s unusable (%s: %s); exporting again", path.name, type(e).__name__, e)
                with contextlib.suppress(OSError):
                    path.unlink()
        _export_reporting(name, model, path, input_size, progress)
        report(0.6, 1.0, f"Optimising {_display(name)} for ONNX Runtime and checking it against PyTorch")
        try:
            session, diff = _open_checked(path, model, input_size, threads)
        except FastPathError:
            raise
        except Exception as e:  # noqa: BLE001 - ONNX Runtime's own errors have no common base class
            raise FastPathError(f"ONNX Runtime could not load the export of {name} ({type(e).__name__}).") from e
        return OrtModule(session, name, input_size, model, path), True, diff


def accelerate(name: str, model: nn.Module, *, input_size: int | None = None, progress: Progress | None = None,
               threads: int | None = None) -> FastPath:
    """The fastest CPU forward pass for ``model`` (an eval-mode instance of registry model ``name``).

    ONNX Runtime when it is installed, enabled and matches eager torch; otherwise the torch model
    itself, with the reason. Never raises for a fast-path failure. The export (seconds, once per
    model and weights) and the session build happen here, so call it when the model is loaded,
    not per request.
    """
    start = time.perf_counter()

    def torch_path(reason: str) -> FastPath:
        return FastPath(model, "torch", reason, time.perf_counter() - start)

    reason = _usable(model)
    if reason is not None:
        return torch_path(reason)
    input_size = input_size or _default_size(name)
    try:
        module, exported, diff = build_session(name, model, input_size, progress=progress, threads=threads)
    except FastPathError as e:
        log.warning("fast CPU path unavailable for %s: %s", name, e)
        return torch_path(str(e))
    except Exception as e:  # noqa: BLE001 - a fast path must never take the slow one down with it
        log.warning("fast CPU path unavailable for %s", name, exc_info=True)
        return torch_path(f"ONNX Runtime could not run {name} ({type(e).__name__}), so it runs in PyTorch.")
    if progress is not None:
        progress(1.0, 1.0, f"{_display(name)} is ready (ONNX Runtime)")
    return FastPath(module, "onnxruntime", None, time.perf_counter() - start, exported, diff)


def torch_model(module: nn.Module) -> nn.Module:
    """The torch model behind ``module`` (itself when it is already one): for CAM and gradients."""
    return module.__dict__.get("torch_model", module) if isinstance(module, OrtModule) else module
