"""Top-k ImageNet predictions with each model's own preprocessing, timed, safe to call from many threads.

Shared models are only read here: inputs move to the model's device, never the model to the input's.
Half precision is autocast on CUDA, so the same float32 model serves both settings.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import torch
from PIL import Image
from torch import nn

from zoo import concurrency, registry
from zoo.i18n import N_, _
from zoo.inference.backends.base import TORCH_FP32
from zoo.inference.view import view

# English; Prediction.notice holds the translation (pages cache predictions per language).
OOM_NOTICE = N_("The GPU ran out of memory, so this prediction ran on the CPU instead.")
HALF_CPU_NOTICE = N_("Half precision is only used on CUDA; this prediction ran in float32.")
# Latency is the median of up to RUNS forward passes after the first, within TIME_BUDGET_MS in all: enough
# for a steady number on small models, and at most two passes of a VGG (~150 ms each on 2 cores).
RUNS = 5
TIME_BUDGET_MS = 300.0
COLD_FACTOR = 1.5  # a first run this much slower than the warm median is shown as "cold"

@dataclass
class Prediction:
    model: str
    device: str
    input_size: int
    top: list[tuple[int, str, float]]  # (class index, label, probability), most likely first
    ms: float  # forward pass + softmax, device-synchronised, preprocessing excluded: median of the warm runs
    mode: str = "correct"
    preprocess: str = ""
    half: bool = False
    fell_back_to_cpu: bool = False
    notice: str | None = None
    random_weights: bool = False
    backend: str = "torch"  # what ran the forward pass: "torch", "onnxruntime" or "openvino" (zoo.inference.fast_cpu)
    precision: str = "fp32"  # "fp32", "bf16" (reduced, checked against fp32) or "fp16" (CUDA autocast)
    runs: int = 1  # timed forward passes; ms is the median of all but the first when there are several
    first_ms: float | None = None  # the first of them, which may pay one-off costs (cold)
    # Reduced precision only: this photo's top-5 against exact fp32 PyTorch: "same", "reordered", "differs".
    fp32_top5: str | None = None
    backend_label: str = "PyTorch"  # e.g. "OpenVINO bf16 (AMX)"

    @property
    def top1(self) -> tuple[int, str, float]:
        return self.top[0]

    @property
    def warm_runs(self) -> int:
        return self.runs - 1 if self.runs > 1 else self.runs

    @property
    def cold(self) -> bool:
        """The first run was markedly slower than the warm median (one-off setup: shown apart, labelled cold)."""
        return self.first_ms is not None and self.runs > 1 and self.first_ms > COLD_FACTOR * self.ms

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "device": self.device,
            "input_size": self.input_size,
            "top": [{"index": i, "label": label, "prob": round(p, 6)} for i, label, p in self.top],
            "ms": round(self.ms, 3),
            "runs": self.runs,
            "first_ms": None if self.first_ms is None else round(self.first_ms, 3),
            "backend": self.backend,
            "precision": self.precision,
            "fp32_top5": self.fp32_top5,
        }


def model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def predict_tensor(model: nn.Module, x: torch.Tensor, *, device: str | torch.device | None = None,
                   half: bool = False) -> tuple[torch.Tensor, float]:
    """Class probabilities of a preprocessed batch ``x`` [N,3,H,W] (returned on the CPU) and the ms it took."""
    if model.training:
        raise ValueError("predict needs a model in eval mode; load it with zoo.inference.models.load_model.")
    dev = torch.device(device) if device is not None else model_device(model)
    autocast = (torch.autocast("cuda", dtype=torch.float16) if half and dev.type == "cuda"
                else contextlib.nullcontext())
    with concurrency.inference_slot(), torch.inference_mode():
        x = x.to(dev, non_blocking=True)
        _sync(dev)
        start = time.perf_counter()
        with autocast:
            logits = model(x)
        probs = logits.float().softmax(dim=-1)
        _sync(dev)
        ms = (time.perf_counter() - start) * 1000
        return probs.cpu(), ms


def warm_up(model: nn.Module, entry, *, device: str | torch.device | None = None, half: bool = False) -> None:
    """One untimed pass on a grey image at the model's input size.

    The first call pays one-off costs (kernel selection, allocator growth, CUDA context) that
    would otherwise show up as the first user's latency.
    """
    entry = registry.get(entry) if isinstance(entry, str) else entry
    side = view(entry, published_only=True).side
    predict_tensor(model, torch.zeros(1, 3, side, side), device=device, half=half)


def _release_accelerator(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def _timed_passes(model: nn.Module, x: torch.Tensor, dev: torch.device, half: bool, runs: int,
                  budget_ms: float) -> tuple[torch.Tensor, list[float]]:
    """Probabilities from the first pass and the ms of each pass: up to ``runs``, within ``budget_ms`` in all.

    At least two passes whenever ``runs`` >= 2, so a warm number exists even for the slowest model.
    """
    probs, ms = predict_tensor(model, x, device=dev, half=half)
    times = [ms]
    while len(times) < runs and (len(times) < 2 or sum(times) + statistics.median(times) <= budget_ms):
        times.append(predict_tensor(model, x, device=dev, half=half)[1])
    return probs, times


def _fp32_top5(model: nn.Module, x: torch.Tensor, probs: torch.Tensor) -> str:
    """This input's top-5 from a reduced-precision run against exact fp32 PyTorch: "same", "reordered", "differs"."""
    from zoo.inference.fast_cpu import torch_model

    exact, _ = predict_tensor(torch_model(model), x, device="cpu")
    got, want = probs[0].topk(5).indices.tolist(), exact[0].topk(5).indices.tolist()
    return "same" if got == want else "reordered" if set(got) == set(want) else "differs"


def predict(model: nn.Module, entry, image: Image.Image, *, topk: int = 5, device: str | torch.device | None = None,
            half: bool = False, mode: str = "correct", cpu_model: Callable[[], nn.Module] | None = None,
            runs: int = RUNS, time_budget_ms: float = TIME_BUDGET_MS, compare_fp32: bool = True) -> Prediction:
    """Top-``topk`` classes of ``image`` from ``model`` (an eval-mode instance of ``entry``).

    Args:
        device: where ``model`` lives (read from its parameters when None).
        half: autocast to float16 on CUDA; ignored elsewhere, with a notice.
        mode: "correct", or the deliberately wrong "no_normalise" / "wrong_size".
        cpu_model: returns a CPU instance for an out-of-memory fallback; loads one when None.
        runs, time_budget_ms: latency is the median of the passes after the first (see _timed_passes).
        compare_fp32: after a reduced-precision pass (bf16), run exact fp32 PyTorch once, untimed, to
            say whether this photo's top-5 is the same (``Prediction.fp32_top5``).
    """
    from zoo.inference.fast_cpu import variant_label

    entry = registry.get(entry) if isinstance(entry, str) else entry
    seen = view(entry, mode, published_only=True)  # a prediction quotes the weights' own transform
    with concurrency.inference_slot():  # preprocessing takes its turn with the forward passes
        x = seen.tensor(image)
    dev = torch.device(device) if device is not None else model_device(model)
    use_half = half and dev.type == "cuda"
    notice = HALF_CPU_NOTICE if half and not use_half else None
    fell_back = False
    # A fast-path module (fast_cpu.FastModule) says which backend serves this input; anything else is torch.
    variant = model.variant_for(x) if hasattr(model, "variant_for") else TORCH_FP32
    try:
        probs, times = _timed_passes(model, x, dev, use_half, runs, time_budget_ms)
    except torch.OutOfMemoryError:
        if dev.type == "cpu":
            raise
        # The shared model stays where it is; this one request runs on a CPU instance.
        _release_accelerator(dev)
        if cpu_model is not None:
            fallback = cpu_model()
        else:
            from zoo.inference.models import load_model

            fallback = load_model(entry.name, "cpu", allow_random=getattr(model, "zoo_random_weights", False))
        dev, use_half, fell_back, notice, variant = torch.device("cpu"), False, True, OOM_NOTICE, TORCH_FP32
        probs, times = _timed_passes(fallback, x, dev, False, 1, time_budget_ms)  # a stand-in: one pass, no more
    fp32_top5 = _fp32_top5(model, x, probs) if variant.reduced and compare_fp32 else None
    labels = entry.categories or []
    k = max(1, min(topk, probs.shape[-1]))
    values, indices = probs[0].topk(k)
    top = [(int(i), labels[int(i)] if int(i) < len(labels) else str(int(i)), float(v))
           for v, i in zip(values, indices)]
    warm = times[1:] if len(times) > 1 else times
    return Prediction(
        model=entry.name, device=str(dev), input_size=seen.side, top=top, ms=statistics.median(warm),
        mode=mode, preprocess=seen.describe(), half=use_half, fell_back_to_cpu=fell_back,
        notice=_(notice) if notice else None,
        random_weights=bool(getattr(model, "zoo_random_weights", False)), backend=variant.backend,
        precision="fp16" if use_half else variant.precision, runs=len(times),
        first_ms=times[0] if len(times) > 1 else None, fp32_top5=fp32_top5,
        backend_label="PyTorch float16 autocast" if use_half else variant_label(variant),
    )


@dataclass
class Agreement:
    """How far several models agree on the top-1 class."""

    label: str | None  # the most common top-1 label (ties: the first model's), None for no predictions
    index: int | None
    agreeing: list[str] = field(default_factory=list)  # model names whose top-1 is ``label``
    total: int = 0

    @property
    def unanimous(self) -> bool:
        return self.total > 0 and len(self.agreeing) == self.total


def agreement(predictions: list[Prediction]) -> Agreement:
    if not predictions:
        return Agreement(None, None)
    counts = Counter(p.top1[0] for p in predictions)
    best = max(counts.values())
    index = next(p.top1[0] for p in predictions if counts[p.top1[0]] == best)
    label = next(p.top1[1] for p in predictions if p.top1[0] == index)
    return Agreement(label, index, [p.model for p in predictions if p.top1[0] == index], len(predictions))


def default_selection(available: list[str]) -> list[str]:
    """The models a Predict page starts with, from those whose weights are in ``available``.

    One per family (the family default if possible, else the first). Where none of torchvision's
    weights are here (a fresh install, a classroom without network), every bundled model instead,
    so there is still a side-by-side to look at: EfficientNet-Lite0, Lite1 and Lite2.
    """
    if not any(registry.get(n).from_torchvision for n in available):
        return [n for n in registry.names() if n in available]
    chosen = []
    for family in registry.FAMILIES:
        candidates = [e.name for e in registry.by_family(family) if e.name in available]
        if not candidates:
            continue
        preferred = registry.FAMILY_DEFAULTS.get(family)
        chosen.append(preferred if preferred in candidates else candidates[0])
    return chosen
