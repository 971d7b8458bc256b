"""Loaded models and fast-path runners shared by every session of a process, bounded by bytes.

:class:`ModelCache` is a least-recently-used cache that counts what each entry really holds
(a torch model's parameters and buffers; a backend's own copy of the weights) against one
budget: ``$ZOO_MODEL_MEMORY_MB``, else half of the machine's memory. Evicting only drops the
cache's reference: a request still running on an evicted model keeps it alive until it
finishes, and a lookup meanwhile gets that same object back instead of loading a second copy.

:class:`SharedModels` is what pages use: the torch model, the fast CPU predictor and the private
Grad-CAM copy of each model, every key saying which weights it holds.
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Hashable

import torch
from torch import nn

from zoo.inference import fast_cpu
from zoo.inference.backends import cache as disk_cache
from zoo.inference.backends.base import Variant
from zoo.progress import Progress

log = logging.getLogger(__name__)

BUDGET_ENV = "ZOO_MODEL_MEMORY_MB"
# Half the machine for loaded models: the server itself (~0.5 GB of anonymous memory with torch
# imported), requests' activations and a model being exported need the rest. On a 4 GB machine
# that is 2 GB, which holds the default one-per-family set (1.75 GB measured, bench/bench_memory.py).
DEFAULT_FRACTION = 0.5
FALLBACK_BUDGET_BYTES = 2 * 2**30  # when the machine's memory cannot be read
SMALL_ENTRY_BYTES = 1024  # a remembered decision (which backend), counted so that nothing is free


def default_budget_bytes() -> int:
    override = os.environ.get(BUDGET_ENV)
    if override:
        try:
            return max(1, int(float(override) * 2**20))
        except ValueError:
            log.warning("ignoring %s=%r: not a number of MiB", BUDGET_ENV, override)
    gb = fast_cpu.machine_memory_gb()
    return int(gb * 1e9 * DEFAULT_FRACTION) if gb else FALLBACK_BUDGET_BYTES


def module_nbytes(model: nn.Module) -> int:
    """Bytes of ``model``'s parameters and buffers (each storage once)."""
    seen, total = set(), 0
    for t in [*model.parameters(), *model.buffers()]:
        if t.device.type == "meta":
            continue
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
    return total


@dataclass
class _Entry:
    value: object
    nbytes: int


class ModelCache:
    """A least-recently-used cache bounded by the bytes its entries hold; thread-safe, one load per key."""

    def __init__(self, budget_bytes: int | None = None):
        self.budget_bytes = budget_bytes if budget_bytes is not None else default_budget_bytes()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._evicted: dict[Hashable, tuple[weakref.ref, int]] = {}  # still alive in a running request?
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self.loads = 0
        self.evictions = 0

    # -- reading -------------------------------------------------------------------------------------
    def _hit(self, key: Hashable, fresh: Callable[[object], bool] | None):
        """The cached value (marked most recently used), or None. Caller holds self._lock."""
        entry = self._entries.get(key)
        if entry is not None and (fresh is None or fresh(entry.value)):
            self._entries.move_to_end(key)
            return entry
        ghost = self._evicted.pop(key, None)
        if ghost is not None:
            value = ghost[0]()
            if value is not None and (fresh is None or fresh(value)):  # evicted, but a request still holds it
                self._insert(key, value, ghost[1])
                self._evict_for(0, keep=key)
                return self._entries[key]
        return None

    def get(self, key: Hashable, load: Callable[[], tuple[object, int]], *, fresh: Callable[[object], bool] | None = None,
            expected_bytes: int = 0):
        """The value for ``key``, loading it with ``load() -> (value, nbytes)`` when missing.

        Concurrent callers of a missing key wait for one load. ``fresh(value)`` False forces a reload
        (a remembered failure whose back-off has passed). ``expected_bytes``: room made before loading.
        """
        with self._lock:
            entry = self._hit(key, fresh)
            if entry is not None:
                return entry.value
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                entry = self._hit(key, fresh)
                if entry is not None:
                    return entry.value
                evicted = self._evict_for(expected_bytes, keep=key) if expected_bytes else 0
            if evicted:
                self._release()
            value, nbytes = load()
            self.put(key, value, nbytes)
            return value

    def peek(self, key: Hashable):
        with self._lock:
            entry = self._entries.get(key)
            return None if entry is None else entry.value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    # -- writing -------------------------------------------------------------------------------------
    def put(self, key: Hashable, value: object, nbytes: int) -> None:
        with self._lock:
            self.loads += 1
            self._entries.pop(key, None)
            self._evicted.pop(key, None)
            self._insert(key, value, nbytes)
            evicted = self._evict_for(0, keep=key)
        if evicted:
            self._release()

    def _insert(self, key: Hashable, value: object, nbytes: int) -> None:
        self._entries[key] = _Entry(value, max(int(nbytes), 0))

    def _evict_for(self, extra: int, keep: Hashable) -> int:
        """Evict least recently used entries until ``extra`` more bytes fit. Caller holds self._lock."""
        count = 0
        while self._entries and self.total_bytes_locked() + extra > self.budget_bytes:
            key = next((k for k in self._entries if k != keep), None)
            if key is None:  # only the entry being kept is left: it stays, alone, even over the budget
                log.warning("%s alone needs %.0f MiB, over the %.0f MiB model budget (%s)", keep,
                            self._entries[keep].nbytes / 2**20, self.budget_bytes / 2**20, BUDGET_ENV)
                break
            entry = self._entries.pop(key)
            try:
                self._evicted[key] = (weakref.ref(entry.value), entry.nbytes)
            except TypeError:  # not weak-referenceable (a plain value): nothing to recover later
                pass
            self.evictions += 1
            count += 1
        return count

    def _release(self) -> None:
        gc.collect()  # a model in a reference cycle would otherwise wait for the next collection
        fast_cpu.release_freed_memory()
        with self._lock:
            self._evicted = {k: g for k, g in self._evicted.items() if g[0]() is not None}

    def discard(self, predicate: Callable[[Hashable], bool]) -> int:
        with self._lock:
            keys = [k for k in self._entries if predicate(k)]
            for k in keys:
                del self._entries[k]
            self._evicted = {k: g for k, g in self._evicted.items() if not predicate(k)}
        if keys:
            self._release()
        return len(keys)

    def clear(self) -> None:
        self.discard(lambda key: True)

    # -- reporting -----------------------------------------------------------------------------------
    def total_bytes_locked(self) -> int:
        return sum(e.nbytes for e in self._entries.values())

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return self.total_bytes_locked()

    def entries(self) -> list[tuple[Hashable, int]]:
        """(key, bytes), least recently used first."""
        with self._lock:
            return [(k, e.nbytes) for k, e in self._entries.items()]


@dataclass(frozen=True)
class Decision:
    """What the fast path decided for one model and precision (kept small: the runner is a separate entry)."""

    variant: Variant | None  # None: PyTorch serves it
    label: str
    reason: str | None = None
    retry_at: float | None = None  # a transient failure: decide again after this disk_cache.clock() time

    def fresh(self) -> bool:
        return self.retry_at is None or disk_cache.clock() < self.retry_at


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _expected_model_bytes(name: str) -> int:
    from zoo import registry

    meta = registry.get(name).build("meta")
    return sum(t.numel() * t.element_size() for t in [*meta.parameters(), *meta.buffers()])


class SharedModels:
    """The process's shared models, keyed by (kind, name, device, weights[, precision or variant]).

    Callers must not mutate what they get (no ``.to()``, ``.train()``, hooks): Grad-CAM and
    gradients use :meth:`cam_model`, a private copy.
    """

    def __init__(self, cache: ModelCache | None = None, log_line: Callable[[str], None] = _stderr):
        self.cache = cache if cache is not None else ModelCache()
        self.log_line = log_line

    def model(self, name: str, device: str = "cpu") -> nn.Module:
        """The eval-mode ``name`` with its published weights (WeightsUnavailableError when not here: nothing is cached)."""
        from zoo.inference.models import LOAD_COUNTS, load_model
        from zoo.inference.predict import warm_up

        dev = str(torch.device(device))

        def load():
            start = time.perf_counter()
            model = load_model(name, dev)
            warm_up(model, name, device=dev)  # so no session sees the one-off first-pass cost as latency
            # One line per load on the server's stderr: operators see what memory goes to, and
            # bench/bench_load.py counts these lines to check each model is loaded once per process.
            self.log_line(f"zoo: loaded {name} on {dev} (load {LOAD_COUNTS[(name, dev)]} in this process, "
                          f"{time.perf_counter() - start:.1f} s)")
            return model, module_nbytes(model)

        return self.cache.get(("model", name, dev, "published"), load, expected_bytes=_expected_model_bytes(name))

    def has_predictor(self, name: str, device: str = "cpu", precision: str = "auto") -> bool:
        """True when :meth:`predictor` would answer from memory (no export, build or timing)."""
        dev = str(torch.device(device))
        if torch.device(device).type != "cpu":
            return ("model", name, dev, "published") in self.cache
        decision = self.cache.peek(("choice", name, dev, "published", precision))
        if decision is None or not decision.fresh():
            return False
        return decision.variant is None or ("fast", name, dev, "published", decision.variant.key) in self.cache

    def predictor(self, name: str, device: str = "cpu", precision: str = "auto",
                  progress: Progress | None = None) -> nn.Module:
        """What plain forward passes of ``name`` run on: the measured fastest CPU backend, else the torch model.

        ``precision="fp32"`` keeps to exact backends. Gradients/CAM and CUDA keep using torch.
        """
        dev = str(torch.device(device))
        if torch.device(device).type != "cpu":
            return self.model(name, dev)
        model = self.model(name, dev)

        def fallback() -> nn.Module:  # through the cache: this predictor never pins an evicted torch model
            return self.model(name, dev)

        def decide():
            # background: a first start serves as soon as one exact backend is checked, and the measured
            # choice swaps the fastest into the same module a second or two later.
            fast = fast_cpu.accelerate(name, model, precision=precision, progress=progress, fallback=fallback,
                                       background=True)
            later = "; the fastest backend is measured in the background" if fast.choosing else ""
            self.log_line(f"zoo: {name} forward passes on {fast.label} "
                          f"({fast.reason or f'ready in {fast.build_s:.1f} s'}{later})")
            if fast.backend == "torch":
                return Decision(None, fast.label, fast.reason, fast.retry_at), SMALL_ENTRY_BYTES
            self.cache.put(("fast", name, dev, "published", fast.variant.key), fast.module, fast.nbytes)
            return Decision(fast.variant, fast.label), SMALL_ENTRY_BYTES

        decision = self.cache.get(("choice", name, dev, "published", precision), decide, fresh=Decision.fresh)
        if decision.variant is None:
            return model

        def rebuild():  # the runner was evicted while its decision was kept: build that variant again
            fast = fast_cpu.accelerate(name, model, variant=decision.variant, progress=progress, fallback=fallback)
            return (fast.module, fast.nbytes) if fast.backend != "torch" else (None, 0)

        module = self.cache.get(("fast", name, dev, "published", decision.variant.key), rebuild,
                                fresh=lambda m: m is not None)
        return module if module is not None else model

    def cam_model(self, name: str, device: str = "cpu") -> nn.Module:
        """A private instance of ``name`` for hooks and gradients (see zoo.inference.cam.cam_instance).

        A copy of the shared model when its weights are here, else a seeded random-init network
        (``zoo_random_weights``); the key says which, so a later download is not hidden by the stand-in.
        """
        from zoo.inference import cam
        from zoo.inference import weights as W
        from zoo.inference.models import load_model

        dev = str(torch.device(device))
        if W.is_available_offline(name):
            try:
                return self.cache.get(("cam", name, dev, "published"),
                                      lambda: self._sized(cam.cam_instance(self.model(name, dev))))
            except W.WeightsUnavailableError:
                pass
        return self.cache.get(("cam", name, dev, "random"), lambda: self._sized(
            cam.cam_instance(load_model(name, dev, allow_random=True), copy_model=False)))

    @staticmethod
    def _sized(model: nn.Module) -> tuple[nn.Module, int]:
        return model, module_nbytes(model)

    def clear(self) -> None:
        self.cache.clear()
