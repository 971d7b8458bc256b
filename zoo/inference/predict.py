"""Top-k ImageNet predictions with each model's own preprocessing, timed, safe to call from many threads.

Shared models are only read here: inputs move to the model's device, never the model to the input's.
Half precision is autocast on CUDA, so the same float32 model serves both settings.
"""
from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import torch
from PIL import Image
from torch import nn

from zoo import concurrency, registry
from zoo.inference.view import view

OOM_NOTICE = "The GPU ran out of memory, so this prediction ran on the CPU instead."
HALF_CPU_NOTICE = "Half precision is only used on CUDA; this prediction ran in float32."

@dataclass
class Prediction:
    model: str
    device: str
    input_size: int
    top: list[tuple[int, str, float]]  # (class index, label, probability), most likely first
    ms: float  # forward pass + softmax, device-synchronised; preprocessing excluded
    mode: str = "correct"
    preprocess: str = ""
    half: bool = False
    fell_back_to_cpu: bool = False
    notice: str | None = None
    random_weights: bool = False
    backend: str = "torch"  # "onnxruntime" when the fast CPU path (zoo.inference.fast_cpu) ran the forward pass

    @property
    def top1(self) -> tuple[int, str, float]:
        return self.top[0]

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "device": self.device,
            "input_size": self.input_size,
            "top": [{"index": i, "label": label, "prob": round(p, 6)} for i, label, p in self.top],
            "ms": round(self.ms, 3),
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


def predict(model: nn.Module, entry, image: Image.Image, *, topk: int = 5, device: str | torch.device | None = None,
            half: bool = False, mode: str = "correct",
            cpu_model: Callable[[], nn.Module] | None = None) -> Prediction:
    """Top-``topk`` classes of ``image`` from ``model`` (an eval-mode instance of ``entry``).

    Args:
        device: where ``model`` lives (read from its parameters when None).
        half: autocast to float16 on CUDA; ignored elsewhere, with a notice.
        mode: "correct", or the deliberately wrong "no_normalise" / "wrong_size".
        cpu_model: returns a CPU instance for an out-of-memory fallback; loads one when None.
    """
    entry = registry.get(entry) if isinstance(entry, str) else entry
    seen = view(entry, mode, published_only=True)  # a prediction quotes the weights' own transform
    x = seen.tensor(image)
    dev = torch.device(device) if device is not None else model_device(model)
    use_half = half and dev.type == "cuda"
    notice = HALF_CPU_NOTICE if half and not use_half else None
    fell_back = False
    # An OrtModule (fast_cpu) says which backend serves this input; anything else is torch.
    backend = model.backend_for(x) if hasattr(model, "backend_for") else "torch"
    try:
        probs, ms = predict_tensor(model, x, device=dev, half=use_half)
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
        probs, ms = predict_tensor(fallback, x, device="cpu")
        dev, use_half, fell_back, notice, backend = torch.device("cpu"), False, True, OOM_NOTICE, "torch"
    labels = entry.categories or []
    k = max(1, min(topk, probs.shape[-1]))
    values, indices = probs[0].topk(k)
    top = [(int(i), labels[int(i)] if int(i) < len(labels) else str(int(i)), float(v))
           for v, i in zip(values, indices)]
    return Prediction(
        model=entry.name, device=str(dev), input_size=seen.side, top=top, ms=ms, mode=mode,
        preprocess=seen.describe(), half=use_half, fell_back_to_cpu=fell_back, notice=notice,
        random_weights=bool(getattr(model, "zoo_random_weights", False)), backend=backend,
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
