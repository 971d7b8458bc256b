"""The fastest CPU forward pass on the machine it runs on, chosen by measurement.

Each model is exported once to ONNX (cached on disk). On first use on a machine, every backend
that can run it here (PyTorch eager, ONNX Runtime fp32, OpenVINO fp32, and OpenVINO bf16 where the
CPU computes in bfloat16) is built, checked against eager PyTorch (:mod:`.backends.check`), and
timed for a second or two; the fastest that passed is used, and the choice is cached next to the
export, keyed by CPU capabilities and library versions, so later starts only read it. Only plain
forward passes use it: gradients and CAM need the torch model, and CUDA stays with torch.

Any failure (no backend installed, export error, unreadable or stale cached file, mismatch) ends
in the torch model with a one-sentence reason, never in an exception on the request path.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from zoo import registry
from zoo.i18n import _
from zoo.inference import backends
from zoo.inference.backends import cache, capabilities, check, choice, openvino_cpu, quantize
from zoo.inference.backends.base import TORCH_FP32, BackendError, Runner, Source, Variant
from zoo.inference.backends.cache import CACHE_ENV, READONLY_ENV, cache_dir  # noqa: F401 - part of this API
from zoo.inference.backends.check import CHECK_SEED, LOGIT_RTOL, PROB_TOL  # noqa: F401 - part of this API
from zoo.inference.backends.export import OPSET, export, export_path, fingerprint  # noqa: F401 - part of this API
from zoo.inference.backends.torch_eager import TorchRunner
from zoo.progress import Progress

log = logging.getLogger(__name__)

DISABLE_ENV = "ZOO_FAST_CPU"  # "0" keeps CPU inference in PyTorch (for comparisons and debugging)
BACKEND_ENV = "ZOO_BACKEND"  # force one variant, e.g. "onnxruntime", "openvino", "openvino:bf16", "torch"
# A backend session holds its own copy of the weights, next to the torch model that CAM and odd
# input sizes still need. On a small machine that second copy is not worth it for the largest
# models: AlexNet (233 MB) and the VGGs (507-548 MB) gain only 1.3-1.7x, and the default set with
# every model accelerated holds ~2.6 GB of anonymous memory (bench/bench_memory.py), ~1.8 GB without
# those two. So at or below SMALL_MACHINE_GB of memory, models over LARGE_WEIGHTS_MB stay in torch.
SMALL_MACHINE_GB = 6.0
LARGE_WEIGHTS_MB = 200.0
MEMORY_ENV = "ZOO_MEMORY_GB"  # plan for a machine of this size instead of reading this one's


class FastPathError(RuntimeError):
    """The fast path cannot serve this model; ``str()`` is one sentence for the user."""

    def __init__(self, message: str, retry_at: float | None = None):
        super().__init__(message)
        self.retry_at = retry_at  # cache.clock() time after which trying again may succeed (a failed write)


class _Refused(Exception):
    """One variant may not be used; ``maybe_stale``: the cached export itself may be the cause."""

    def __init__(self, reason: str, maybe_stale: bool):
        super().__init__(reason)
        self.reason, self.maybe_stale = reason, maybe_stale


class _StaleExport(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class FastPath:
    """What :func:`accelerate` chose for one model."""

    module: nn.Module  # a FastModule, or the torch model itself when the fast path is not used
    backend: str  # "onnxruntime", "openvino" or "torch"
    reason: str | None = None  # why torch, one sentence; None when a fast backend is used
    build_s: float = 0.0  # one-off cost paid in accelerate(): export (if any) + build + check (+ timing)
    exported: bool = False  # True when this call wrote the ONNX file; False when it reused the cache
    max_prob_diff: float | None = None  # largest probability difference from eager torch in its check
    precision: str = "fp32"
    agreement: check.Agreement | None = None
    choice: choice.Choice | None = None  # the measurement (read from disk when choice.cached)
    nbytes: int = 0  # memory the backend holds of its own, beyond the torch model
    retry_at: float | None = None  # when a transient failure (a failed export) may be retried
    choosing: bool = False  # serving on a checked exact runner while the measured choice is made in the background

    @property
    def variant(self) -> Variant:
        return Variant(self.backend, self.precision)

    @property
    def label(self) -> str:
        return variant_label(self.variant)


def variant_label(variant: Variant) -> str:
    """For captions: "ONNX Runtime fp32", "OpenVINO bf16 (AMX)", "OpenVINO int8 (calibrated, AVX512-VNNI)", "PyTorch"."""
    if variant.backend == "torch":
        return "PyTorch"
    hardware = {"bf16": capabilities.bf16_hardware, "int8": capabilities.int8_hardware}.get(variant.precision)
    extra = hardware() if hardware else None
    if variant.precision == "int8":  # post-training quantized on the sample photos (backends.quantize)
        extra = ", ".join(filter(None, [_("calibrated"), extra]))
    return f"{variant.label} ({extra})" if extra else variant.label


class FastModule(nn.Module):
    """An eval-mode stand-in for a CPU model: ``forward`` runs a backend's runner.

    Inputs it was not built for (another input size, a tensor that needs gradients, another
    device) go to the torch model instead, so it can replace the torch model wherever a forward
    pass is all that is needed. It owns no parameters and never changes the torch model; it
    reaches the torch model through ``fallback``, which a shared cache can make a cache lookup so
    that this wrapper does not keep an evicted model alive.
    """

    def __init__(self, runner: Runner, name: str, input_size: int, fallback: Callable[[], nn.Module], path: Path,
                 random_weights: bool = False, agreement: check.Agreement | None = None):
        super().__init__()
        self.runner = runner
        self.variant = runner.variant
        self.name = name
        self.input_size = input_size
        self.path = path
        self.agreement = agreement
        # Kept outside nn.Module's registry: .to()/.eval() on this wrapper must not reach the shared model.
        self.__dict__["_fallback"] = fallback
        self.zoo_random_weights = random_weights
        self.eval()

    @property
    def torch_model(self) -> nn.Module:
        return self.__dict__["_fallback"]()

    @property
    def nbytes(self) -> int:
        return self.runner.nbytes

    def serve(self, runner: Runner, agreement: check.Agreement | None) -> None:
        """Run forward passes on ``runner`` from the next call on (the measured choice, once it is made).

        A caption read just before the swap may name the previous runner for that one prediction.
        """
        self.runner, self.variant, self.agreement = runner, runner.variant, agreement

    def handles(self, x: torch.Tensor) -> bool:
        return (x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() == 4
                and tuple(x.shape[1:]) == (3, self.input_size, self.input_size)
                and not (x.requires_grad and torch.is_grad_enabled()))

    def variant_for(self, x: torch.Tensor) -> Variant:
        """What a forward pass on ``x`` runs on: this module's variant, or PyTorch for inputs it hands on."""
        return self.variant if self.handles(x) else TORCH_FP32

    def backend_for(self, x: torch.Tensor) -> str:
        return self.variant_for(x).backend

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.handles(x):
            return self.torch_model(x)
        return torch.from_numpy(self.runner(x.detach().contiguous().numpy()))

    def extra_repr(self) -> str:
        return f"name={self.name!r}, {self.variant.key}, input_size={self.input_size}, path={self.path.name!r}"


OrtModule = FastModule  # the name it had when ONNX Runtime was the only fast backend


def enabled() -> bool:
    return os.environ.get(DISABLE_ENV, "1").strip() not in ("0", "false", "no", "off")


def forced_variant() -> Variant | None:
    """``$ZOO_BACKEND`` as a variant; None when unset (or not understood: logged, then measured as usual)."""
    value = os.environ.get(BACKEND_ENV, "").strip()
    if not value or value.lower() == "auto":
        return None
    try:
        return Variant.parse(value)
    except ValueError as e:
        log.warning("ignoring %s: %s", BACKEND_ENV, e)
        return None


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


_display = registry.display_name


def _default_size(name: str) -> int:
    entry = registry.get(name)
    return entry.preprocess["crop"] if entry.preprocess else entry.input_size


def _usable(model: nn.Module) -> str | None:
    """Why no fast backend can serve ``model`` (one sentence), or None when one can be tried."""
    if not enabled():
        return f"{DISABLE_ENV}=0 keeps CPU inference in PyTorch."
    if model.training:
        return "The model is in training mode; only eval-mode models are exported."
    if any(t.device.type != "cpu" for t in [*model.parameters(), *model.buffers()]):
        return "The model is not on the CPU; the fast path is for CPU inference only."
    if all(module.missing() for name, module in backends.BACKENDS.items() if name != "torch"):
        return "ONNX Runtime and OpenVINO are not installed, so CPU predictions run in PyTorch."
    memory_gb = machine_memory_gb()
    weights_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    if memory_gb is not None and memory_gb <= SMALL_MACHINE_GB and weights_mb > LARGE_WEIGHTS_MB:
        return (f"On a machine with {memory_gb:.0f} GB of memory the {weights_mb:.0f} MB of weights are not copied "
                f"into a second runtime, so this model runs in PyTorch.")
    return None


# -- the export, with a back-off after failures -----------------------------------------------------

_EXPORT_BACKOFF = cache.Backoff()  # a failed export (disk full) is retried after a while, not on every page run
_PATH_LOCKS: dict[Path, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


def _path_lock(path: Path) -> threading.Lock:
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(path, threading.Lock())


def _quiet(done: float, total: float, text: str = "") -> None:
    pass


def needs_export(name: str, model: nn.Module, input_size: int | None = None) -> bool:
    """True when :func:`accelerate` would first have to export ``model`` (seconds): worth a progress bar."""
    if _usable(model) is not None or forced_variant() == TORCH_FP32 or cache.readonly():
        return False
    path = export_path(name, model, input_size or _default_size(name))
    return not path.exists() and _EXPORT_BACKOFF.retry_at(path) is None


def ensure_export(name: str, model: nn.Module, *, input_size: int | None = None,
                  progress: Progress | None = None) -> Path:
    """Export ``model`` to the cache unless a file for these weights is already there; returns its path.

    Raises FastPathError when the exporter fails, or the file is missing in read-only mode.
    """
    input_size = input_size or _default_size(name)
    path = export_path(name, model, input_size)
    with _path_lock(path):
        _ensure_export(name, model, path, input_size, progress or _quiet)
    return path


def _ensure_export(name: str, model: nn.Module, path: Path, input_size: int, report: Progress) -> bool:
    """Export unless the file is there; True when this call wrote it."""
    if path.exists():
        return False
    if cache.readonly():
        raise FastPathError(f"The fast CPU path of {_display(name)} was not prepared ({READONLY_ENV}=1; "
                            f"`python -m zoo export {name}` fills the cache), so it runs in PyTorch.")
    retry_at = _EXPORT_BACKOFF.retry_at(path)
    if retry_at is not None:
        raise FastPathError(f"{name} could not be exported to ONNX a moment ago, so it runs in PyTorch; the export "
                            f"is tried again in {max(1.0, retry_at - cache.clock()):.0f} s.", retry_at)
    report(0.05, 1.0, f"Exporting {_display(name)} to ONNX for fast CPU inference (once; cached on disk)")
    try:
        export(model, path, input_size)
    except Exception as e:  # noqa: BLE001 - any exporter failure (disk full, an unsupported op) means "use torch"
        wait = _EXPORT_BACKOFF.failed(path)
        raise FastPathError(f"{name} could not be exported to ONNX ({type(e).__name__}), so it runs in PyTorch; "
                            f"the export is tried again in {wait:.0f} s.", cache.clock() + wait) from e
    finally:
        release_freed_memory()  # the exporter's trace and serialised graph: hundreds of MB for VGG
    _EXPORT_BACKOFF.succeeded(path)
    cache.prune_siblings(path)
    report(0.3, 1.0, f"Exported {_display(name)}; each CPU backend now prepares and checks it")
    return True


def _remove_export(path: Path) -> None:
    """The export and every file derived from it (a stale or damaged export is replaced as a whole)."""
    for f in path.parent.glob(path.stem + ".*"):
        if not f.name.endswith(".part"):
            f.unlink(missing_ok=True)


# -- building and choosing ---------------------------------------------------------------------------

def _build(variant: Variant, src: Source) -> Runner:
    """A runner for ``variant``, not yet checked; raises _Refused with the reason."""
    try:
        return backends.open_runner(variant, src)
    except BackendError as e:
        installed = backends.BACKENDS[variant.backend].missing() is None
        raise _Refused(str(e), maybe_stale=installed and not variant.reduced) from e


def _check(variant: Variant, runner: Runner, src: Source) -> check.Agreement:
    """How ``runner`` agrees with eager torch; raises _Refused with the reason when it does not."""
    label = variant_label(variant)
    if variant.reduced:
        batch = check.sample_batch(src.name, src.input_size)
        agreement = check.compare(check.reference(src, batch), check.run_batch(runner, batch), label)
    else:
        if "eager_logits" not in src.memo:  # one eager pass however many exact runners are checked
            src.memo["eager_logits"] = check.eager_logits(src.model, src.input_size)
        agreement = check.check_fp32(runner, src.model, src.input_size, label, src.memo["eager_logits"])
    if not agreement.ok:
        raise _Refused(agreement.reason or f"{label} does not agree with PyTorch.", maybe_stale=not variant.reduced)
    return agreement


def _open_checked(variant: Variant, src: Source) -> tuple[Runner, check.Agreement]:
    """A runner for ``variant`` that agrees with eager torch; raises _Refused with the reason."""
    runner = _build(variant, src)
    return runner, _check(variant, runner, src)


def _measure(src: Source, precision: str, report: Progress, path: Path,
             prebuilt: dict[Variant, tuple[Runner, check.Agreement]] | None = None
             ) -> tuple[Runner, check.Agreement | None, choice.Choice]:
    """Build every candidate, time them, and keep the fastest that agrees with eager torch.

    Exact runners are checked as they are built (cheap, and a mismatch may mean a stale export);
    a reduced-precision runner only once it would win (its check runs the sample photos).
    """
    display = _display(src.name)
    started = time.perf_counter()
    runners: dict[Variant, Runner] = {}
    agreements: dict[Variant, check.Agreement] = {}
    refused: dict[str, str] = {}
    stale: list[str] = []
    prebuilt = prebuilt or {}
    builds = [v for v in backends.candidates() if v != TORCH_FP32 and v not in prebuilt]
    runners[TORCH_FP32] = TorchRunner(src.model)
    for v, (built, agreement) in prebuilt.items():  # already built and checked (the runner serving meanwhile)
        runners[v], agreements[v] = built, agreement
    report(0.35, 1.0, f"Preparing {', '.join(variant_label(v) for v in builds)} for {display}")
    # Built side by side: each runtime's compile is mostly one thread, so on two or more cores this saves
    # 0.2-0.4 s of ResNet-50's 0.7 s (measured here). Not for large models: three compiles of VGG at once hold
    # three transient copies of its weights, and gain nothing (each is already memory-bound).
    workers = len(builds) if src.weights_bytes <= LARGE_WEIGHTS_MB * 2**20 else 1
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="zoo-build") as pool:
        futures = {v: pool.submit(_build, v, src) for v in builds}
        for i, (v, future) in enumerate(futures.items()):
            try:
                built = future.result()
                if not v.reduced:  # a reduced-precision runner is checked below, if it is fast enough to matter
                    agreements[v] = _check(v, built, src)
                runners[v] = built
            except _Refused as e:
                log.info("%s: %s not used: %s", src.name, v.key, e.reason)
                refused[v.key] = e.reason
                if e.maybe_stale:
                    stale.append(e.reason)
            report(0.35 + 0.3 * (i + 1) / len(builds), 1.0, f"Prepared {variant_label(v)} for {display}")
    openvino_cpu.forget(src)
    if stale and all(v == TORCH_FP32 or v.reduced for v in runners):
        raise _StaleExport(stale[0])

    def timing(rounds: int) -> None:
        report(0.65 + 0.25 * rounds / choice.MAX_ROUNDS, 1.0,
               f"Timing {len(runners)} ways to run {display} (once on this computer)")

    # Timed on the sample photos, so that the timing also gives each runner's output on them: the check of a
    # reduced-precision runner then costs only the photos it has not seen. Every runner already checked ran at
    # this size in its check (PyTorch included, as the reference): only the unchecked ones need a warm-up pass.
    batch = check.sample_batch(src.name, src.input_size)
    outputs: dict[Variant, dict[int, np.ndarray]] = {}
    warm = frozenset({TORCH_FP32, *agreements})
    # PyTorch apart, two runs: its OpenMP threads, still spinning after a pass, slowed the next runner 2x.
    alone = choice.time_runners({TORCH_FP32: runners[TORCH_FP32]}, batch.numpy(), budget_s=0.0, min_rounds=2,
                                max_rounds=2, warm=warm, outputs=outputs, pause_s=choice.PAUSE_S)
    others = {v: r for v, r in runners.items() if v != TORCH_FP32}
    timings = alone
    if others:
        raced = choice.time_runners(others, batch.numpy(), eliminate=choice.ELIMINATE, report=timing, warm=warm,
                                    outputs=outputs, pause_s=choice.PAUSE_S)
        timings = choice.Timings({**alone.fastest, **raced.fastest}, {**alone.median, **raced.median},
                                 {**alone.runs, **raced.runs})
    usable = dict(timings.fastest)
    while (best := choice.pick(usable, "auto")) is not None and best.reduced and best not in agreements:
        report(0.92, 1.0, f"Checking {variant_label(best)} against fp32 on the sample photos")
        expected = check.reference(src, batch, lambda: _exact_probs(runners, usable, outputs, batch))
        found = check.compare(expected, check.run_batch(runners[best], batch, outputs.get(best)),
                              variant_label(best))
        if found.ok:
            agreements[best] = found
        else:
            log.info("%s: %s not used: %s", src.name, best.key, found.reason)
            refused[best.key] = found.reason
            del usable[best]
    picks = {p: choice.pick(usable, p).key for p in ("auto", "fp32")}
    measured = choice.Choice(picks, {v.key: round(t, 3) for v, t in usable.items()},
                             {v.key: n for v, n in timings.runs.items() if v in usable},
                             {v.key: a.summary() for v, a in agreements.items()}, refused,
                             round(time.perf_counter() - started, 3),
                             {v.key: round(t, 3) for v, t in timings.median.items() if v in usable})
    if src.writable:
        try:
            choice.write(path, measured, model=src.name, input_size=src.input_size, export=src.onnx_path.name,
                         runtime=choice.runtime_info(src.threads))
        except OSError as e:  # the choice is measured again next start; nothing else is lost
            log.warning("could not write %s (%s)", path.name, e)
    chosen = Variant.parse(picks[precision])
    return runners[chosen], agreements.get(chosen), measured


def _exact_probs(runners: dict[Variant, Runner], timed: dict[Variant, float],
                 outputs: dict[Variant, dict[int, np.ndarray]], batch: torch.Tensor) -> torch.Tensor:
    """fp32 probabilities on ``batch`` from the fastest exact runner (checked within PROB_TOL of PyTorch)."""
    exact = [v for v in timed if not v.reduced]
    v = min(exact, key=timed.get) if exact else TORCH_FP32
    return check.run_batch(runners[v], batch, outputs.get(v))


def _serve(src: Source, forced: Variant | None, precision: str, report: Progress, asked_by: str = "",
           background: bool = False):
    """(runner, agreement, choice, deferred) for ``src``: the forced variant, the cached choice, or a measurement.

    With ``background``, a model with no choice yet is served at once on the first exact backend that
    passes its check (what the design before measured choices did), and ``deferred`` is the choice's
    path: the caller measures in the background and swaps the runner (:func:`_choose_later`).
    """
    if forced is not None:
        try:
            runner, agreement = _open_checked(forced, src)
        except _Refused as e:
            if e.maybe_stale:
                raise _StaleExport(e.reason) from e
            raise FastPathError(f"{e.reason.rstrip('.')}, so it runs in PyTorch ({asked_by}).") from e
        return runner, agreement, None, None
    path = choice.choice_path(src.onnx_path, choice.runtime_info(src.threads))
    known = choice.read(path)
    want = known.pick(precision) if known is not None else None
    if want == TORCH_FP32:
        return TorchRunner(src.model), None, known, None
    if want is not None:
        report(0.35, 1.0, f"Loading {variant_label(want)} for {_display(src.name)} (chosen earlier on this computer)")
        try:
            runner, agreement = _open_checked(want, src)
            return runner, agreement, known, None
        except _Refused as e:
            log.warning("%s: the cached choice %s failed (%s); measuring again", src.name, want.key, e.reason)
    if background:
        stale = []
        for v in backends.candidates():
            if v == TORCH_FP32 or v.reduced:
                continue
            report(0.4, 1.0, f"Preparing {variant_label(v)} for {_display(src.name)}")
            try:
                runner, agreement = _open_checked(v, src)
            except _Refused as e:
                log.info("%s: %s not used: %s", src.name, v.key, e.reason)
                if e.maybe_stale:
                    stale.append(e.reason)
                continue
            return runner, agreement, None, path
        if stale:  # no exact backend agrees with PyTorch: the export itself may be stale
            raise _StaleExport(stale[0])
    return (*_measure(src, precision, report, path), None)


_CHOOSING: dict[Path, threading.Thread] = {}  # measurements running in the background, by export
_CHOOSING_LOCK = threading.Lock()
# One background measurement at a time: a class that opens three models at once would otherwise time
# each model's backends while the other two compile and run, and keep choices made under that load.
_ONE_MEASUREMENT = threading.Lock()


def _choose_later(module: FastModule, src: Source, precision: str, path: Path, lock: threading.Lock) -> None:
    """Measure every backend while ``module`` serves on its first runner, then swap in the fastest that passed."""
    serving = {module.variant: (module.runner, module.agreement)}

    def run() -> None:
        try:
            # The queue first, then this export's lock: a page that starts this model meanwhile is not held up
            # by other models' measurements. If it measured this export first, its choice is read instead.
            with _ONE_MEASUREMENT, lock:
                known = choice.read(path)
                if known is not None and known.pick(precision) is not None:
                    runner, agreement, _measured, _deferred = _serve(src, None, precision, _quiet)
                else:
                    runner, agreement, _measured = _measure(src, precision, _quiet, path, prebuilt=serving)
            module.serve(runner, agreement)
            openvino_cpu.settle(runner, src)
            log.info("%s: forward passes now on %s (measured in the background)", src.name, variant_label(runner.variant))
        except Exception:  # noqa: BLE001 - the runner serving now keeps serving
            log.warning("%s: the background measurement failed; %s keeps serving", src.name, module.variant.key,
                        exc_info=True)
        finally:
            release_freed_memory()
            with _CHOOSING_LOCK:
                if _CHOOSING.get(src.onnx_path) is threading.current_thread():
                    del _CHOOSING[src.onnx_path]

    # Not a daemon: a process that ends waits for the choice and its files to be written.
    thread = threading.Thread(target=run, name=f"zoo-choose-{src.name}", daemon=False)  # not inherited
    with _CHOOSING_LOCK:
        _CHOOSING[src.onnx_path] = thread
    thread.start()


def accelerate(name: str, model: nn.Module, *, input_size: int | None = None, progress: Progress | None = None,
               threads: int | None = None, precision: str = "auto", variant: Variant | str | None = None,
               fallback: Callable[[], nn.Module] | None = None, background: bool = False) -> FastPath:
    """The fastest checked CPU forward pass for ``model`` (an eval-mode instance of registry model ``name``).

    Args:
        background: on a model's first start on this computer, serve at once on the first exact backend
            that passes its check, and measure every backend in a background thread that then swaps the
            fastest in (``FastPath.choosing``; :func:`finish_background` waits for it). The app's pages
            use this, so the first prediction waits only for the export and one runtime.
        precision: "auto" (the fastest that agrees with eager torch, bf16 included) or "fp32" (exact only).
        variant: force one backend and precision (as ``$ZOO_BACKEND`` does), e.g. "openvino:bf16".
        fallback: returns the torch model for inputs the backend does not take; default: ``model``
            itself, which the returned module then keeps alive.

    Never raises for a fast-path failure: the torch model comes back with the reason. The export
    (seconds, once per model and weights), the build and the timing happen here, so call it when
    the model is loaded, not per request.
    """
    if precision not in ("auto", "fp32"):
        raise ValueError(f"precision must be 'auto' or 'fp32', not {precision!r}")
    start = time.perf_counter()
    report = progress or _quiet

    def torch_path(reason: str, retry_at: float | None = None, measured: choice.Choice | None = None) -> FastPath:
        return FastPath(model, "torch", reason, time.perf_counter() - start, retry_at=retry_at, choice=measured)

    reason = _usable(model)
    if reason is not None:
        return torch_path(reason)
    forced = Variant.parse(variant) if isinstance(variant, str) else variant or forced_variant()
    asked_by = f"{forced.key} was asked for" if variant is not None else f"{BACKEND_ENV}={os.environ.get(BACKEND_ENV)}"
    if forced == TORCH_FP32:
        return torch_path(f"{BACKEND_ENV}=torch keeps CPU inference in PyTorch." if variant is None
                          else "PyTorch was asked for.")
    missing = backends.BACKENDS[forced.backend].missing() if forced is not None else None
    if missing is not None:  # before exporting anything: nothing could use the file
        return torch_path(f"{missing.rstrip('.')}, so it runs in PyTorch ({asked_by}).")
    input_size = input_size or _default_size(name)
    path = export_path(name, model, input_size)
    exported = False
    try:
        with _path_lock(path), quantize.reporting(report):  # a forced int8 variant calibrates with progress
            exported = _ensure_export(name, model, path, input_size, report)
            src = Source(name, model, input_size, path, threads or torch.get_num_threads(), not cache.readonly())
            try:
                runner, agreement, measured, deferred = _serve(src, forced, precision, report, asked_by, background)
            except _StaleExport as stale:
                if exported or not src.writable:
                    raise FastPathError(stale.reason) from None
                log.warning("cached export %s unusable (%s); exporting again", path.name, stale.reason)
                _remove_export(path)
                exported = _ensure_export(name, model, path, input_size, report)
                src = Source(name, model, input_size, path, src.threads, True)
                try:
                    runner, agreement, measured, deferred = _serve(src, forced, precision, report, asked_by,
                                                                   background)
                except _StaleExport as again:
                    raise FastPathError(again.reason) from None
    except FastPathError as e:  # already one sentence, which callers show or log
        log.info("fast CPU path unavailable for %s: %s", name, e)
        return torch_path(str(e), e.retry_at)
    except Exception as e:  # noqa: BLE001 - a fast path must never take the slow one down with it
        log.warning("fast CPU path unavailable for %s", name, exc_info=True)
        return torch_path(f"The fast CPU path could not run {name} ({type(e).__name__}), so it runs in PyTorch.")
    finally:
        release_freed_memory()
    if deferred is None:
        openvino_cpu.settle(runner, src)  # its converted files, written while it already serves
    if runner.variant == TORCH_FP32:
        fastest = f" ({measured.ms[TORCH_FP32.key]:.1f} ms)" if measured and TORCH_FP32.key in measured.ms else ""
        return torch_path(f"PyTorch was the fastest way to run {_display(name)} on this computer{fastest}.",
                          measured=measured)
    module = FastModule(runner, name, input_size, fallback or (lambda: model), path,
                        bool(getattr(model, "zoo_random_weights", False)), agreement)
    if deferred is not None:
        _choose_later(module, src, precision, deferred, _path_lock(path))
    report(1.0, 1.0, f"{_display(name)} is ready ({variant_label(runner.variant)})")
    return FastPath(module, runner.variant.backend, None, time.perf_counter() - start, exported,
                    agreement.max_prob_diff if agreement else None, runner.variant.precision, agreement, measured,
                    runner.nbytes, choosing=deferred is not None)


def finish_background(timeout: float | None = None) -> None:
    """Wait for what runs after a model starts serving: background measurements, then OpenVINO's converted files."""
    with _CHOOSING_LOCK:
        threads = list(_CHOOSING.values())
    for t in threads:
        t.join(timeout)
    openvino_cpu.wait(timeout)


def torch_model(module: nn.Module) -> nn.Module:
    """The torch model behind ``module`` (itself when it is already one): for CAM and gradients."""
    return module.torch_model if isinstance(module, FastModule) else module
