"""What a model sees: the transform a photo goes through, the crop it becomes, and where one unit
of a feature map looks on that crop.

Every page and the CLI take this geometry from here, so a model sees the same pixels wherever
it is shown:

* :func:`preprocess` -- a model's evaluation transform as data, read from its weights
  (``entry.preprocess``); a model without published weights (MobileNet V1) gets torchvision's
  ImageNet evaluation preset instead, and says so.
* :func:`view` -- one model in one preprocessing mode (its own, or one of two deliberately wrong
  ones for the classroom): the input tensor, the PIL crop, where that crop lies in the photo, and
  boxes mapped between photo pixels and model-input pixels, both ways.
* :func:`unit_field` / :func:`unit_box` -- the input pixels one unit of a feature map sees, from
  a row of a receptive-field table (Araujo et al., Distill 2019).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from PIL import Image, ImageDraw
from torchvision.transforms import InterpolationMode, v2

from zoo import registry
from zoo.errors import ZooError
from zoo.i18n import N_, _

if TYPE_CHECKING:
    import pandas as pd

    from zoo.analysis.receptive_field import Field

MODES = ("correct", "no_normalise", "wrong_size")
MODE_LABELS = {  # English; pages show them through _()
    "correct": N_("the weights' own preprocessing"),
    "no_normalise": N_("no normalisation (raw 0-1 pixels)"),
    "wrong_size": N_("wrong size (a 32 px thumbnail, as in CIFAR-10)"),
}
# CIFAR-10's image size, a common carry-over from first tutorials: objects end up far smaller
# than anything in ImageNet training. Models with a larger minimum input (AlexNet 63, Inception
# v3 75, from their weights' ``min_size``) get that minimum instead, so they still run.
WRONG_SIZE_PX = 32
# Weights trained with torchvision's original ImageNet recipe evaluate with its preset unchanged
# (resize 256, bilinear, centre crop 224, ImageNet mean and std). Reading it from one of them keeps
# torchvision's own numbers for models that have no weights of their own.
PRESET_WEIGHTS = "ResNet50_Weights.IMAGENET1K_V1"
# torchvision's InterpolationMode names, in words for captions (English: as torchvision writes them).
INTERPOLATION_WORDS = {"bilinear": N_("bilinear"), "bicubic": N_("bicubic"), "nearest": N_("nearest")}
PRESET_NOTE = N_("torchvision's ImageNet preset: this model has no published weights")

Box = tuple[float, float, float, float]  # (left, top, right, bottom) in pixels


class PreprocessError(ZooError, ValueError):
    """A model without a published evaluation transform where one is required, or an unknown mode."""


# ---------------------------------------------------------------------------------------------
# The transform
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preprocess:
    """An evaluation transform as data: resize the short side, cut a centre square, normalise."""

    resize: int  # the short side is resized to this many pixels
    crop: int  # then a crop x crop square is cut from the centre
    interpolation: str  # "bilinear" or "bicubic", as torchvision's InterpolationMode names it
    mean: tuple[float, ...]
    std: tuple[float, ...]
    published: bool = True  # False: torchvision's ImageNet preset stands in (see PRESET_WEIGHTS)

    @classmethod
    def from_dict(cls, d: dict, published: bool = True) -> Preprocess:
        return cls(int(d["resize"]), int(d["crop"]), str(d["interpolation"]), tuple(float(v) for v in d["mean"]),
                   tuple(float(v) for v in d["std"]), published)


@functools.lru_cache(maxsize=1)
def imagenet_preset() -> Preprocess:
    """torchvision's ImageNet evaluation preset, read from the transform of :data:`PRESET_WEIGHTS`."""
    from torchvision.models import get_weight

    t = get_weight(PRESET_WEIGHTS).transforms()
    return Preprocess(int(t.resize_size[0]), int(t.crop_size[0]), t.interpolation.value,
                      tuple(float(v) for v in t.mean), tuple(float(v) for v in t.std), published=False)


def preprocess(entry) -> Preprocess:
    """``entry``'s own evaluation transform, or torchvision's ImageNet preset where it has none."""
    pre = entry.preprocess
    return Preprocess.from_dict(pre) if pre is not None else imagenet_preset()


def wrong_size_px(entry) -> int:
    return max(WRONG_SIZE_PX, entry.min_input_size)


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


def _to_rgb(img: Image.Image) -> Image.Image:
    return img if img.mode == "RGB" else img.convert("RGB")


# ---------------------------------------------------------------------------------------------
# One model in one mode
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """How one model receives a photo in one preprocessing ``mode``."""

    entry: object  # a registry.ModelEntry
    mode: str
    pre: Preprocess

    @property
    def side(self) -> int:
        """Square side of the model's input in this mode, in pixels."""
        return wrong_size_px(self.entry) if self.mode == "wrong_size" else self.pre.crop

    @property
    def resize(self) -> int:
        """What the photo's short side is resized to before the centre crop."""
        return self.side if self.mode == "wrong_size" else self.pre.resize

    @property
    def normalised(self) -> bool:
        return self.mode != "no_normalise"

    # -- pixels ----------------------------------------------------------------------------------

    @functools.cached_property
    def _geometry(self) -> v2.Compose:
        # Resize and crop on the PIL image, as torchvision's own evaluation transforms do.
        return v2.Compose([
            v2.Lambda(_to_rgb),
            v2.Resize(self.resize, interpolation=InterpolationMode(self.pre.interpolation), antialias=True),
            v2.CenterCrop(self.side),
        ])

    @functools.cached_property
    def transform(self) -> Callable[[Image.Image], torch.Tensor]:
        """PIL image -> float tensor [3, S, S], as the model receives it in this mode."""
        steps = [self._geometry, v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
        if self.normalised:
            steps.append(v2.Normalize(mean=list(self.pre.mean), std=list(self.pre.std)))
        return v2.Compose(steps)

    def tensor(self, image: Image.Image) -> torch.Tensor:
        """``image`` as a [1, 3, S, S] batch, contiguous NCHW (PIL-derived tensors are channels-last
        views, which some CPU kernels handle slowly)."""
        return self.transform(image).unsqueeze(0).contiguous()

    def crop(self, image: Image.Image) -> Image.Image:
        """The S x S RGB picture the model receives (resized and centre-cropped, not normalised)."""
        return self._geometry(image)

    # -- photo pixels <-> model-input pixels -----------------------------------------------------

    def crop_box(self, size: tuple[int, int]) -> Box:
        """The part of a ``size`` = (width, height) photo the model sees, as (left, top, right, bottom).

        Follows torchvision: the short side is resized to ``resize`` (the long side truncated to an
        int), then an S x S square is cut from the centre, offsets rounded.
        """
        w, h = size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = self.resize, int(self.resize * long / short)
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        side = self.side
        left, top = int(round((new_w - side) / 2.0)), int(round((new_h - side) / 2.0))
        sx, sy = new_w / w, new_h / h
        return left / sx, top / sy, (left + side) / sx, (top + side) / sy

    def to_input(self, size: tuple[int, int], box: Box, *, clip: bool = True) -> Box:
        """``box`` in the pixels of a ``size`` photo, mapped into model-input pixels (clipped to the input)."""
        left, top, right, bottom = self.crop_box(size)
        side = float(self.side)
        sx, sy = side / (right - left), side / (bottom - top)
        x0, y0, x1, y1 = box
        out = ((x0 - left) * sx, (y0 - top) * sy, (x1 - left) * sx, (y1 - top) * sy)
        return tuple(min(max(v, 0.0), side) for v in out) if clip else out

    def to_photo(self, size: tuple[int, int], box: Box) -> Box:
        """``box`` in model-input pixels, mapped back into the pixels of a ``size`` photo."""
        left, top, right, bottom = self.crop_box(size)
        sx, sy = (right - left) / self.side, (bottom - top) / self.side
        x0, y0, x1, y1 = box
        return left + x0 * sx, top + y0 * sy, left + x1 * sx, top + y1 * sy

    # -- words -----------------------------------------------------------------------------------

    def describe(self) -> str:
        """One line, e.g. ``resize 232 (bilinear) -> centre crop 224 -> normalise mean/std``."""
        # Steps of a pipeline joined by arrows, each translated on its own.
        how = self.pre.interpolation
        how = _(INTERPOLATION_WORDS[how]) if how in INTERPOLATION_WORDS else how
        steps = [_("resize {resize} ({interpolation})").format(resize=self.resize, interpolation=how)]
        if self.mode == "wrong_size":
            steps.append(_("centre crop {side} [model expects {crop}]").format(side=self.side, crop=self.pre.crop))
        else:
            steps.append(_("centre crop {side}").format(side=self.side))
        steps.append(_("normalise mean/std") if self.normalised else _("scale to 0-1, no normalisation"))
        return " -> ".join(steps)

    def stats(self) -> str:
        """The normalisation constants themselves, for a caption under :meth:`describe`."""
        return _("mean {mean}, std {std}").format(mean=_fmt(self.pre.mean), std=_fmt(self.pre.std))

    def note(self) -> str:
        """:meth:`describe`, and where the numbers come from when they are not the weights' own."""
        return self.describe() + ("" if self.pre.published else f" ({_(PRESET_NOTE)})")


def view(entry, mode: str = "correct", *, published_only: bool = False) -> View:
    """How ``entry`` (a catalogue entry or name) receives a photo in ``mode``.

    Args:
        published_only: raise PreprocessError for a model without published weights instead of
            standing in torchvision's ImageNet preset (predictions quote the weights' own transform).
    """
    entry = registry.get(entry) if isinstance(entry, str) else entry
    if mode not in MODES:
        raise PreprocessError(_("Unknown preprocessing mode '{mode}': use one of {modes}.").format(
            mode=mode, modes=", ".join(MODES)))
    if published_only and entry.preprocess is None:
        raise PreprocessError(_("{model} has no published weights, so it has no evaluation transform.").format(
            model=entry.display))
    return View(entry, mode, preprocess(entry))


def build_transform(entry, mode: str = "correct") -> Callable[[Image.Image], torch.Tensor]:
    """The weights' own transform in ``mode`` (PreprocessError for a model without published weights)."""
    return view(entry, mode, published_only=True).transform


# ---------------------------------------------------------------------------------------------
# Where one unit looks
# ---------------------------------------------------------------------------------------------


def unit_field(row: pd.Series | dict) -> Field | None:
    """The receptive field of one layer, from a row of a receptive-field table; None where global.

    Reads the per-axis columns of ``RFAnalysis.detail()`` (``rf_h``, ``stride_w``, ...) when the row
    has them, else the square ``rf_px``, ``stride_px``, ``padding_px`` of ``features.feature_layers``.
    """
    import pandas as pd

    from zoo.analysis.receptive_field import Field

    if "rf_h" in row:
        values = [row[f"{k}_{ax}"] for k in ("rf", "stride", "padding") for ax in ("h", "w")]
        if any(pd.isna(v) for v in values):
            return None
        rh, rw, sh, sw, ph, pw = (int(v) for v in values)
        return Field((rh, rw), (sh, sw), (ph, pw))
    values = [row["rf_px"], row["stride_px"], row["padding_px"]]
    if any(pd.isna(v) for v in values):
        return None
    rf, stride, padding = (int(v) for v in values)
    return Field((rf, rf), (stride, stride), (padding, padding))


def unit_box(field: Field, unit: tuple[int, int], side: int | None = None) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom), inclusive, of the input pixels unit (row, col) sees.

    Unit ``i`` sees ``[i * stride - padding, i * stride - padding + rf - 1]`` on each axis, which
    may run past the image into zero padding; with ``side`` the box is clipped to a side x side
    input, and None when nothing of it is left there.
    """
    (top, bottom), (left, right) = field.interval(unit)
    if side is None:
        return left, top, right, bottom
    left, top, right, bottom = max(left, 0), max(top, 0), min(right, side - 1), min(bottom, side - 1)
    return (left, top, right, bottom) if left <= right and top <= bottom else None


def unit_centres(field: Field, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) in input pixels of the centres of the units at ``rows`` x ``cols`` (arrays of one shape)."""
    (top, bottom), (left, right) = field.interval((np.asarray(rows), np.asarray(cols)))
    return (top + bottom) / 2, (left + right) / 2


def field_on_crop(crop: Image.Image, field: Field | None, out_hw: tuple[int, int]) -> Image.Image:
    """``crop`` with the field of the centre unit of an ``out_hw`` map drawn on it, clipped to the crop;
    a global layer (``field`` None) outlines the whole crop."""
    img = _to_rgb(crop).copy()
    w, h = img.size
    box = None if field is None else unit_box(field, (out_hw[0] // 2, out_hw[1] // 2), min(w, h))
    ImageDraw.Draw(img).rectangle(box or (0, 0, w - 1, h - 1), outline=(255, 64, 0), width=max(2, w // 112))
    return img


__all__ = [
    "MODES", "MODE_LABELS", "PRESET_WEIGHTS", "WRONG_SIZE_PX", "Box", "Preprocess", "PreprocessError", "View",
    "build_transform", "field_on_crop", "imagenet_preset", "preprocess", "unit_box", "unit_centres", "unit_field",
    "view", "wrong_size_px",
]
