"""Every runner is checked against eager PyTorch before it serves a prediction.

fp32: a fixed random input; every class probability within PROB_TOL and the logits within
LOGIT_RTOL of their scale (random-init stand-ins give near-uniform probabilities, which would
pass the probability check even with the wrong weights).
Reduced precision (bf16, int8): the bundled sample photos through the model's own
preprocessing; on every photo the same top-1 class, the same set of top-5 classes, and no class
probability moved by more than REDUCED_PROB_TOL. The fp32 reference on those photos comes from
eager PyTorch or from an exact runner that has passed the fp32 check (within PROB_TOL of PyTorch,
a hundred times inside REDUCED_PROB_TOL), and is kept next to the export, keyed by the photos'
preprocessed bytes, so a later start checks a reduced-precision runner without running fp32 at all.
"""
from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from zoo import concurrency, registry
from zoo.inference.backends import cache
from zoo.inference.backends.base import Runner, Source

log = logging.getLogger(__name__)

PROB_TOL = 1e-4  # the spec's bar for "same predictions", applied to every class
LOGIT_RTOL = 1e-3
CHECK_SEED = 0  # the fixed input fp32 runners are checked on
# Reduced precision moves probabilities a little (bf16 keeps 8 bits of mantissa: ~0.4% per value);
# 3 percentage points is about the width of a bar label's last digit on the Predict page's chart.
REDUCED_PROB_TOL = 0.03
SAMPLE_PHOTOS = ("chelsea.png", "coffee.jpg", "astronaut.jpg", "rocket.jpg")


@dataclass
class Agreement:
    """How a runner's output compared with eager torch's."""

    ok: bool
    max_prob_diff: float
    reason: str | None = None  # one sentence when not ok
    photos: int = 0  # sample photos compared (0: the fixed random input)
    top1_same: int = 0
    top5_same: int = 0

    def summary(self) -> str:
        if self.photos == 0:
            return f"probabilities within {self.max_prob_diff:.0e} of PyTorch fp32"
        return (f"top-1 same on {self.top1_same}/{self.photos} and top-5 on {self.top5_same}/{self.photos} sample "
                f"photos, probabilities within {self.max_prob_diff * 100:.1f} points of fp32")


def check_input(input_size: int) -> torch.Tensor:
    return concurrency.random_input((1, 3, input_size, input_size), CHECK_SEED)


def check_fp32(run: Runner, model: nn.Module, input_size: int, label: str,
               expected: torch.Tensor | None = None) -> Agreement:
    """``expected``: eager torch's logits on :func:`check_input`, when already computed for this model."""
    x = check_input(input_size)
    if expected is None:
        expected = eager_logits(model, input_size)
    got = torch.from_numpy(np.asarray(run(x.numpy()), dtype=np.float32))
    prob_diff = float((got.softmax(-1) - expected.softmax(-1)).abs().max())
    logit_diff = float((got - expected).abs().max())
    logit_tol = LOGIT_RTOL * max(1.0, float(expected.abs().max()))
    if not (prob_diff <= PROB_TOL and logit_diff <= logit_tol):  # written so that NaN fails too
        return Agreement(False, prob_diff, f"{label}'s output differs from PyTorch's (probabilities by "
                                           f"{prob_diff:.1e}, logits by {logit_diff:.1e}).")
    return Agreement(True, prob_diff)


def eager_logits(model: nn.Module, input_size: int) -> torch.Tensor:
    with torch.inference_mode():
        return model(check_input(input_size)).float()


def sample_batch(name: str, input_size: int) -> torch.Tensor:
    """The sample photos through ``name``'s own preprocessing, resized to ``input_size`` if that differs."""
    from zoo.inference.images import load_sample
    from zoo.inference.view import build_transform

    transform = build_transform(registry.get(name))
    batch = torch.stack([transform(load_sample(p)) for p in SAMPLE_PHOTOS])
    if batch.shape[-1] != input_size or batch.shape[-2] != input_size:
        batch = F.interpolate(batch, size=(input_size, input_size), mode="bilinear", align_corners=False)
    return batch.contiguous()


def reference_probs(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(batch).float().softmax(-1)


def compare(expected: torch.Tensor, got: torch.Tensor, label: str) -> Agreement:
    """The reduced-precision rule on probabilities [N, classes] of the same N photos."""
    n = expected.shape[0]
    top1 = int((expected.argmax(-1) == got.argmax(-1)).sum())
    top5 = sum(set(e.topk(5).indices.tolist()) == set(g.topk(5).indices.tolist()) for e, g in zip(expected, got))
    diff = float((got - expected).abs().max())
    if top1 < n:
        reason = f"{label} changes the top-1 class on {n - top1} of {n} sample photos."
    elif top5 < n:
        reason = f"{label} changes the top-5 classes on {n - top5} of {n} sample photos."
    elif not diff <= REDUCED_PROB_TOL:
        reason = f"{label} moves a probability by {diff * 100:.1f} points (more than {REDUCED_PROB_TOL * 100:.0f})."
    else:
        reason = None
    return Agreement(reason is None, diff, reason, n, top1, top5)


def run_batch(run: Runner, batch: torch.Tensor, done: dict[int, np.ndarray] | None = None) -> torch.Tensor:
    """Probabilities of ``run`` on each photo of ``batch``, one at a time (batch 1, as the app runs it).

    ``done``: logits already computed for some photos, by index (the timing's own outputs): those are not run again.
    """
    done = {} if done is None else done
    rows = [torch.from_numpy(np.asarray(done[i] if i in done else run(batch[i:i + 1].numpy()), dtype=np.float32))
            for i in range(len(batch))]
    return torch.cat(rows).softmax(-1)


def reference_path(src: Source, batch: torch.Tensor) -> Path:
    """``<export stem>.reference-<hash of the photos' preprocessed bytes>.npz``: fp32 probabilities on them."""
    digest = hashlib.sha256(batch.numpy().tobytes()).hexdigest()[:12]
    return src.artifact(f"reference-{digest}.npz")


def reference(src: Source, batch: torch.Tensor, compute: Callable[[], torch.Tensor] | None = None) -> torch.Tensor:
    """fp32 probabilities on ``batch`` for ``src``'s export: in memory, on disk, else computed and kept.

    ``compute``: where they come from when not kept yet (default: eager PyTorch on the batch).
    """
    if "reference" in src.memo:
        return src.memo["reference"]
    path = reference_path(src, batch)
    probs = None
    try:
        with np.load(path, allow_pickle=False) as npz:
            kept = npz["probs"]
        if kept.shape[0] == len(batch) and np.isfinite(kept).all():
            probs = torch.from_numpy(kept.astype(np.float32))
    except (OSError, ValueError, KeyError, AttributeError):
        pass  # missing or damaged: computed again below
    if probs is None:
        probs = compute() if compute is not None else reference_probs(src.model, batch)
        if src.writable:
            buf = io.BytesIO()
            np.savez(buf, probs=probs.numpy())
            try:
                cache.atomic_write(path, buf.getvalue())
            except OSError as e:  # computed again next start; nothing else is lost
                log.warning("could not write %s (%s)", path.name, e)
    src.memo["reference"] = probs
    return probs


def check_reduced(run: Runner, model: nn.Module, name: str, input_size: int, label: str,
                  reference: tuple[torch.Tensor, torch.Tensor] | None = None) -> Agreement:
    """``reference``: (batch, eager probabilities) when already computed for this model."""
    if reference is None:
        batch = sample_batch(name, input_size)
        reference = batch, reference_probs(model, batch)
    batch, expected = reference
    return compare(expected, run_batch(run, batch), label)
