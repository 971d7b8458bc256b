"""The measured choice: time every runner that passed its check, keep the fastest, remember it on disk.

"Fastest" compares each runner's fastest run over interleaved rounds: on a machine shared with
other work (a classroom server, these CI machines) the medians mix quiet and contended runs.

Timed once per model, input size, CPU and set of library versions (a second or two), then read
from ``<export stem>.choice-<runtime key>.json`` on every later start.
"""
from __future__ import annotations

import json
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from zoo.inference import backends
from zoo.inference.backends import cache, capabilities
from zoo.inference.backends.base import Runner, Variant

SCHEMA = 1
MEASURE_BUDGET_S = 1.0  # timing of all candidates together, once per model on a machine
MIN_ROUNDS, MAX_ROUNDS = 3, 15  # interleaved rounds (each runs every candidate once, in a fresh order)
# A runner this much slower than the best so far stops being timed (it cannot win): twice this after one
# round, this after two, and from the third round on ELIMINATE_LATE, when each has a few runs to its name.
ELIMINATE = 1.5
ELIMINATE_LATE = 1.2
# A reduced-precision runner is picked only when it beats the fastest exact one by this much:
# for a speed-up within timing noise, exact fp32 is worth more.
PREFER_EXACT_MARGIN = 0.05
# A close race (runners within ELIMINATE_LATE of each other) ends once the pick has stayed the same for
# STABLE_ROUNDS rounds in a row, from SETTLED_ROUNDS on: more rounds would only refine a choice already made.
SETTLED_ROUNDS, STABLE_ROUNDS = 6, 3
# Between two timed calls. ONNX Runtime's and OpenMP's threads keep spinning for a while after a run:
# timed back to back on two cores, ONNX Runtime ran Lite0 in 16-18 ms after a PyTorch pass against 7 ms
# on its own (measured here), enough to pick the wrong backend. PyTorch is timed apart for the same reason.
PAUSE_S = 0.01
_now = time.perf_counter  # the timing clock (a test replaces it with a scripted one)


def runtime_info(threads: int) -> dict:
    """Everything besides the model that decides which backend is fastest (the choice's cache key)."""
    return {"cpu": capabilities.describe(), "versions": backends.versions(), "threads": threads}


def choice_path(export_path: Path, runtime: dict) -> Path:
    return export_path.with_name(f"{export_path.stem}.choice-{cache.short_hash(runtime)}.json")


@dataclass
class Choice:
    picks: dict[str, str]  # "auto" / "fp32" -> variant key
    ms: dict[str, float]  # variant key -> its fastest forward pass, ms (what the pick compares)
    runs: dict[str, int]
    agreements: dict[str, str] = field(default_factory=dict)  # variant key -> how it compared with eager
    refused: dict[str, str] = field(default_factory=dict)  # variant key -> why it may not be used (one sentence)
    measure_s: float = 0.0
    median_ms: dict[str, float] = field(default_factory=dict)
    cached: bool = False  # read from disk rather than measured in this process

    def pick(self, precision: str = "auto") -> Variant | None:
        key = self.picks.get(precision)
        try:
            return Variant.parse(key) if key else None
        except ValueError:
            return None


def read(path: Path) -> Choice | None:
    data = cache.read_json(path)
    if data is None or data.get("schema") != SCHEMA:
        return None
    try:
        return Choice(picks=dict(data["picks"]), ms={k: float(v) for k, v in data["ms"].items()},
                      runs={k: int(v) for k, v in data["runs"].items()}, agreements=dict(data.get("agreements", {})),
                      refused=dict(data.get("refused", {})), measure_s=float(data.get("measure_s", 0.0)),
                      median_ms={k: float(v) for k, v in data.get("median_ms", {}).items()}, cached=True)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def write(path: Path, choice: Choice, **meta) -> None:
    body = {"schema": SCHEMA, **meta, **{k: v for k, v in asdict(choice).items() if k != "cached"}}
    cache.atomic_write(path, json.dumps(body, indent=1, sort_keys=True))


def pick(ms: dict[Variant, float], precision: str = "auto") -> Variant | None:
    """The fastest variant (exact fp32 only when ``precision`` is "fp32"), preferring exact within the margin."""
    exact = {v: t for v, t in ms.items() if not v.reduced}
    best_exact = min(exact, key=exact.get) if exact else None
    if precision == "fp32":
        return best_exact
    reduced = {v: t for v, t in ms.items() if v.reduced}
    best_reduced = min(reduced, key=reduced.get) if reduced else None
    if best_reduced is not None and (best_exact is None or ms[best_reduced] < ms[best_exact] * (1 - PREFER_EXACT_MARGIN)):
        return best_reduced
    return best_exact


@dataclass
class Timings:
    """Per runner: its fastest run (what the choice compares: on a machine shared with other work the
    least disturbed estimate of what the runner itself costs), the median, and how many runs."""

    fastest: dict[Variant, float]
    median: dict[Variant, float]
    runs: dict[Variant, int]


def time_runners(runners: dict[Variant, Runner], x: np.ndarray, *, budget_s: float | None = None,
                 min_rounds: int = MIN_ROUNDS, max_rounds: int = MAX_ROUNDS, eliminate: float | None = None,
                 warm: frozenset[Variant] = frozenset(), report: Callable[[int], None] | None = None,
                 outputs: dict[Variant, dict[int, np.ndarray]] | None = None, pause_s: float = 0.0) -> Timings:
    """Each runner's ms at batch 1 on the inputs ``x`` [N, ...], interleaved round by round in a fresh random order.

    Round r runs every runner on ``x[r % N]``, so that with the sample photos as ``x`` the timing
    also yields each runner's output on them: ``outputs``, when given, collects the first output of
    each runner on each input index, and a check on those photos then need not run them again.
    A fresh order each round: a runner that always followed the same neighbour would inherit its
    after-effects (OpenMP and ONNX Runtime threads keep spinning briefly after a run). With
    ``eliminate``, a runner whose fastest run is that many times slower than the best median so far
    (twice that after the first round) is not timed further: it cannot win, and the measurement
    stays short. ``pause_s``: an untimed pause before each call, so that no runner is timed while the
    previous one's threads still spin (as a server's requests, which come apart, are not).
    """
    budget_s = MEASURE_BUDGET_S if budget_s is None else budget_s
    inputs = [np.ascontiguousarray(x[i:i + 1]) for i in range(len(x))]

    def call(v: Variant, i: int) -> None:
        out = runners[v](inputs[i])
        if outputs is not None:
            outputs.setdefault(v, {}).setdefault(i, out)

    for v in runners:
        if v not in warm:  # ``warm``: already run at this input size (the first call pays one-off allocations)
            call(v, len(inputs) - 1)  # the last input: the rounds start from the first
    samples: dict[Variant, list[float]] = {v: [] for v in runners}
    racing = list(runners)
    shuffler = random.Random(0)
    started = _now()
    rounds = 0
    picks: list[Variant | None] = []
    while rounds < max_rounds and (rounds < min_rounds or _now() - started < budget_s):
        shuffler.shuffle(racing)
        i = rounds % len(inputs)
        for v in racing:
            if pause_s:
                time.sleep(pause_s)
            t = _now()
            call(v, i)
            samples[v].append((_now() - t) * 1000)
        rounds += 1
        if eliminate is not None:
            # After one round only the hopeless go (2x the factor); then anything over the factor, which
            # tightens to ELIMINATE_LATE from the third round (never looser than the factor given).
            factor = 2 * eliminate if rounds == 1 else eliminate if rounds == 2 else min(eliminate, ELIMINATE_LATE)
            best = min(min(samples[v]) for v in racing)
            racing = [v for v in racing if min(samples[v]) <= factor * best]
            picks.append(pick({v: min(samples[v]) for v in racing}))
            settled = rounds >= SETTLED_ROUNDS and len(set(picks[-STABLE_ROUNDS:])) == 1
            if len(racing) == 1 or settled:
                break
        if report is not None:
            report(rounds)
    return Timings({v: min(s) for v, s in samples.items()}, {v: statistics.median(s) for v, s in samples.items()},
                   {v: len(s) for v, s in samples.items()})
