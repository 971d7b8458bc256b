"""The fast path's files on disk: one folder, one naming scheme, atomic writes, a read-only mode.

Layout (every name starts with the export's stem, ``<model>-<size>px-<fingerprint>``)::

    <stem>.onnx                      the ONNX export (ONNX Runtime runs it; OpenVINO converts it)
    <stem>.openvino-<ver>.xml/.bin   OpenVINO's own form of the same graph (reads 3x faster than the ONNX)
    <stem>.choice-<runtime>.json     the measured backend choice for this CPU and these library versions
    <stem>.reference-<photos>.npz    fp32 probabilities on the sample photos (the reduced-precision check's reference)

In read-only mode (``ZOO_CACHE_READONLY=1``: replicas sharing one prefetched cache) nothing is
written at request time; ``python -m zoo export`` fills the cache beforehand (:func:`filling`).
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

CACHE_ENV = "ZOO_ONNX_CACHE"  # the folder; default: next to the weights, under $TORCH_HOME
READONLY_ENV = "ZOO_CACHE_READONLY"  # "1": read the cache, never write it (a shared, prefetched cache)
# A failed write (disk full, permissions) is retried after this many seconds, doubling up to BACKOFF_MAX_S:
# soon enough that freeing space brings the fast path back, rarely enough not to pay seconds on every page run.
BACKOFF_S = 30.0
BACKOFF_MAX_S = 3600.0

_FILLING: contextvars.ContextVar[bool] = contextvars.ContextVar("zoo_cache_filling", default=False)
clock = time.monotonic  # patched by tests to step through back-offs


def cache_dir() -> Path:
    """``$ZOO_ONNX_CACHE``, else ``torch.hub.get_dir()/zoo-onnx`` (follows ``$TORCH_HOME`` at call time)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    import torch.hub

    return Path(torch.hub.get_dir()) / "zoo-onnx"


def readonly() -> bool:
    """True when request-time code must not write into the cache (unless inside :func:`filling`)."""
    flag = os.environ.get(READONLY_ENV, "").strip().lower() in ("1", "true", "yes", "on")
    return flag and not _FILLING.get()


@contextlib.contextmanager
def filling() -> Iterator[None]:
    """Allow writes in this block even in read-only mode: the explicit ``zoo export`` step."""
    token = _FILLING.set(True)
    try:
        yield
    finally:
        _FILLING.reset(token)


def atomic_write(path: Path, write: Callable[[Path], None] | bytes | str) -> None:
    """Create ``path`` completely or not at all: written to a temporary file beside it, then renamed.

    ``write`` is the content, or a function that writes a file at the path it is given.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if callable(write):
            write(tmp)
        else:
            tmp.write_bytes(write.encode() if isinstance(write, str) else write)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared classroom cache from other accounts
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def read_json(path: Path) -> dict | None:
    """The JSON object at ``path``, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def short_hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:12]


def prune_siblings(path: Path) -> None:
    """Remove files of the same model and size from other exports (other weights, older torch): bounds the disk."""
    model_prefix = path.name.rsplit("-", 1)[0] + "-"  # "<model>-<size>px-"
    stem = path.name.split(".", 1)[0]
    for other in path.parent.glob(model_prefix + "*"):
        if other.name.endswith(".part"):  # another process's write in progress
            continue
        if other.name.split(".", 1)[0].rsplit("-", 1)[0] + "-" == model_prefix and other.name.split(".", 1)[0] != stem:
            with contextlib.suppress(OSError):
                other.unlink()


@dataclass
class _Failure:
    count: int
    retry_at: float


class Backoff:
    """Remembers failed attempts per key; a key may be tried again once its back-off has passed."""

    def __init__(self, first_s: float = BACKOFF_S, max_s: float = BACKOFF_MAX_S):
        self.first_s, self.max_s = first_s, max_s
        self._failures: dict[object, _Failure] = {}
        self._lock = threading.Lock()

    def retry_at(self, key) -> float | None:
        """When ``key`` may be tried again (``clock()`` time), or None when it may be tried now."""
        with self._lock:
            f = self._failures.get(key)
            return f.retry_at if f is not None and clock() < f.retry_at else None

    def failed(self, key) -> float:
        """Record a failure of ``key``; returns the back-off in seconds before the next try."""
        with self._lock:
            count = self._failures[key].count + 1 if key in self._failures else 1
            wait = min(self.max_s, self.first_s * 2 ** (count - 1))
            self._failures[key] = _Failure(count, clock() + wait)
            return wait

    def succeeded(self, key) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
