"""Hostile input, run as an attacker would: each case in a child process under a memory ceiling and a time limit.

The child is the real CLI (`python -m zoo predict FILE`); a watcher kills it once its resident
memory passes MEMORY_CEILING. Every case must end in exit status 2 with one sentence on stderr,
never a traceback, well under the ceiling. (Limits are bounds on a runaway, not timing targets.)
"""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEMORY_CEILING = 3 * 2**30  # bytes resident; torch and the model take ~0.6 GB
TIME_LIMIT_S = 120  # a runaway resize took 65 s and 7.6 GB before the decoder refused these shapes


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def crafted_png(w: int, h: int, rows: int | None = None, colour: int = 0) -> bytes:
    """A grey (or RGB) 8-bit PNG of ``w`` x ``h`` whose data holds ``rows`` rows (all when None)."""
    channels = 3 if colour == 2 else 1
    rows = h if rows is None else rows
    inflate = zlib.compressobj(9)
    row = b"\x00" + bytes(w * channels)
    body = b"".join(inflate.compress(row) for _ in range(rows)) + inflate.flush()
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
            + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))


def run_guarded(args: list[str]) -> tuple[int, str, int, float]:
    """(exit status, stderr, peak resident bytes, seconds) of `python -m zoo ARGS`, killed past the ceiling."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "zoo", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, ZOO_FAST_CPU="0"))
    peak = [0]

    def watch() -> None:
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            try:
                rss = next(int(line.split()[1]) * 1024 for line in status.read_text().splitlines()
                           if line.startswith("VmRSS:"))
            except (OSError, StopIteration):
                break
            peak[0] = max(peak[0], rss)
            if rss > MEMORY_CEILING or time.monotonic() - start > TIME_LIMIT_S:
                proc.kill()
                break
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = proc.communicate(timeout=TIME_LIMIT_S + 30)
    watcher.join(5)
    return proc.returncode, err, peak[0], time.monotonic() - start


CASES = {
    "2x50000": (lambda: crafted_png(2, 50_000), "20,000-pixel limit"),
    "50000x2": (lambda: crafted_png(50_000, 2), "20,000-pixel limit"),
    "2x20000": (lambda: crafted_png(2, 20_000), "more than 20 times the other"),
    "1x40000000": (lambda: crafted_png(1, 40_000_000, rows=1), "20,000-pixel limit"),
    "70000x2": (lambda: crafted_png(70_000, 2), "20,000-pixel limit"),
    "truncated 6000x6000": (lambda: crafted_png(6000, 6000, rows=10, colour=2), "damaged or incomplete"),
    "bomb 100000x100000": (lambda: crafted_png(100_000, 100_000, rows=1), "megapixel limit"),
    "over 10 MB": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(10_000_001), "over the 10 MB limit"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_crafted_image_is_refused_within_bounds(tmp_path, case):
    make, fragment = CASES[case]
    path = tmp_path / "photo.png"
    path.write_bytes(make())
    code, err, peak, seconds = run_guarded(["predict", str(path), "--model", "efficientnet_lite0"])
    assert peak < MEMORY_CEILING and seconds < TIME_LIMIT_S, (case, peak, seconds)
    assert code == 2, (case, code, err[-2000:])
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and fragment in lines[0], err


def test_an_endless_stream_is_read_only_up_to_the_limit():
    code, err, peak, seconds = run_guarded(["predict", "/dev/zero", "--model", "efficientnet_lite0"])
    assert peak < MEMORY_CEILING
    assert code == 2 and "Traceback" not in err
    assert "error: This file is over the 10 MB limit for images." in err


def test_cam_class_that_only_looks_like_a_number_is_one_sentence(tmp_path, capsys):
    from zoo.__main__ import main

    photo = ROOT / "assets" / "samples" / "chelsea.png"
    assert main(["cam", str(photo), "--model", "efficientnet_lite0", "--class", "²", "--out", str(tmp_path / "x.png")]) == 2
    assert capsys.readouterr().err == (
        "error: No ImageNet class is called '²'; give its index (0-999) or its exact label.\n")
