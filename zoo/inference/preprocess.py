"""Each model's own evaluation transform, built from its weights' metadata (``entry.preprocess``).

Also two deliberately wrong variants for the classroom: no normalisation, and a thumbnail-sized
input. Showing how much the prediction moves makes the case for reading a model's transform.
"""
from __future__ import annotations

from typing import Callable

import torch
from PIL import Image
from torchvision.transforms import InterpolationMode, v2

from zoo.errors import ZooError

MODES = ("correct", "no_normalise", "wrong_size")
MODE_LABELS = {
    "correct": "the weights' own preprocessing",
    "no_normalise": "no normalisation (raw 0-1 pixels)",
    "wrong_size": "wrong size (a 32 px thumbnail, as in CIFAR-10)",
}
# CIFAR-10's image size, a common carry-over from first tutorials: objects end up far smaller
# than anything in ImageNet training. Models with a larger minimum input (AlexNet 63, Inception
# v3 75, from their weights' ``min_size``) get that minimum instead, so they still run.
WRONG_SIZE_PX = 32


class PreprocessError(ZooError, ValueError):
    """A model without a known evaluation transform (no published weights), or an unknown mode."""


def _spec(entry) -> dict:
    pre = entry.preprocess
    if pre is None:
        raise PreprocessError(f"{entry.display} has no published weights, so it has no evaluation transform.")
    return pre


def wrong_size_px(entry) -> int:
    return max(WRONG_SIZE_PX, entry.min_input_size)


def input_size(entry, mode: str = "correct") -> int:
    """Square side of the tensor the model receives in ``mode``."""
    return wrong_size_px(entry) if mode == "wrong_size" else _spec(entry)["crop"]


def _geometry(entry, mode: str) -> list:
    if mode not in MODES:
        raise PreprocessError(f"Unknown preprocessing mode '{mode}': use one of {', '.join(MODES)}.")
    pre = _spec(entry)
    interp = InterpolationMode(pre["interpolation"])
    if mode == "wrong_size":
        side = wrong_size_px(entry)
        return [v2.Resize(side, interpolation=interp, antialias=True), v2.CenterCrop(side)]
    return [v2.Resize(pre["resize"], interpolation=interp, antialias=True), v2.CenterCrop(pre["crop"])]


def build_transform(entry, mode: str = "correct") -> Callable[[Image.Image], torch.Tensor]:
    """PIL image -> float tensor [3, H, W], as the model's weights expect (or deliberately not)."""
    pre = _spec(entry)
    # Resize and crop on the PIL image (as torchvision's ImageClassification does), then to float 0-1.
    steps = [v2.Lambda(_to_rgb), *_geometry(entry, mode), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    if mode != "no_normalise":
        steps.append(v2.Normalize(mean=list(pre["mean"]), std=list(pre["std"])))
    return v2.Compose(steps)


def model_view(entry, image: Image.Image, mode: str = "correct") -> Image.Image:
    """The pixels the model receives in ``mode`` (resize and crop only), as an image to show."""
    return v2.Compose([v2.Lambda(_to_rgb), *_geometry(entry, mode)])(image)


def _to_rgb(img: Image.Image) -> Image.Image:
    return img if img.mode == "RGB" else img.convert("RGB")


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


def describe(entry, mode: str = "correct") -> str:
    """One line, e.g. ``resize 232 (bilinear) -> centre crop 224 -> normalise mean/std``."""
    pre = _spec(entry)
    if mode == "wrong_size":
        side = wrong_size_px(entry)
        geometry = f"resize {side} ({pre['interpolation']}) -> centre crop {side} [model expects {pre['crop']}]"
    else:
        geometry = f"resize {pre['resize']} ({pre['interpolation']}) -> centre crop {pre['crop']}"
    if mode == "no_normalise":
        return f"{geometry} -> scale to 0-1, no normalisation"
    return f"{geometry} -> normalise mean/std"


def describe_stats(entry) -> str:
    """The normalisation constants themselves, for a caption under ``describe``."""
    pre = _spec(entry)
    return f"mean {_fmt(pre['mean'])}, std {_fmt(pre['std'])}"
