"""Occlusion sensitivity (Zeiler & Fergus, 2014, arXiv:1311.2901): a gradient-free sanity check.

Slide a patch over the model's input, and for every position record how much the probability
of one class drops. Where the drop is large, the model relied on what the patch hid. Nothing
here needs hooks or gradients, so the model is only read (forward passes under
``inference_mode`` through :func:`zoo.inference.predict.predict_tensor`), and a shared model
may be passed as it is.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from zoo import budget, registry
from zoo.errors import ZooError
from zoo.i18n import _
from zoo.inference.cam import exclusive
from zoo.inference.predict import predict_tensor
from zoo.inference.view import view
from zoo.progress import Progress

# A quarter of a 224 px input, moved by half its size: 7 x 7 positions (49 forward passes, the
# same grid as the last conv stage of most models at 224 px), a few seconds for Lite0 on a CPU.
PATCH_FRACTION = 0.25
STRIDE_FRACTION = 0.5  # of the patch
BATCH = 16  # occluded images per forward pass


class OcclusionError(ZooError, ValueError):
    """Patch or stride a user chose that do not fit the model's input; one sentence."""


@dataclass
class OcclusionResult:
    model: str
    class_index: int
    label: str
    baseline_prob: float  # probability of the class for the unoccluded image
    drop: np.ndarray  # [rows, cols]: baseline_prob minus the probability with the patch at that cell
    starts: list[int]  # top/left pixel of each patch position, the same for rows and columns
    patch_px: int
    stride_px: int
    input_size: int
    ms: float
    crop: Image.Image | None = None  # the S x S picture the model saw

    @property
    def passes(self) -> int:
        return int(self.drop.size)

    def argmax_cell(self) -> tuple[int, int]:
        """(row, col) where hiding the patch costs the class the most probability."""
        r, c = np.unravel_index(int(np.argmax(self.drop)), self.drop.shape)
        return int(r), int(c)

    def cell_box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in input pixels of the patch at ``(row, col)``."""
        x, y = self.starts[col], self.starts[row]
        return x, y, x + self.patch_px, y + self.patch_px

    def pixel_map(self) -> np.ndarray:
        """[S, S]: each pixel's mean drop over the patches that covered it (0 where none did)."""
        total = np.zeros((self.input_size, self.input_size), dtype=np.float64)
        count = np.zeros_like(total)
        for r, y in enumerate(self.starts):
            for c, x in enumerate(self.starts):
                total[y:y + self.patch_px, x:x + self.patch_px] += self.drop[r, c]
                count[y:y + self.patch_px, x:x + self.patch_px] += 1
        return (total / np.maximum(count, 1)).astype(np.float32)


def patch_starts(size: int, patch_px: int, stride_px: int) -> list[int]:
    """Top/left offsets of the patch along one axis; the last one is moved so the edge is covered."""
    if not 1 <= patch_px <= size:
        raise OcclusionError(_("The patch must be between 1 and {size} pixels, not {patch}.").format(
            size=size, patch=patch_px))
    if not 1 <= stride_px <= patch_px:
        raise OcclusionError(_("The stride must be between 1 and the patch size ({patch} px), not {stride}.").format(
            patch=patch_px, stride=stride_px))
    starts = list(range(0, size - patch_px + 1, stride_px))
    if starts[-1] != size - patch_px:
        starts.append(size - patch_px)
    return starts


def default_patch(input_size: int) -> tuple[int, int]:
    """(patch_px, stride_px) for a square input of ``input_size`` pixels."""
    patch = max(1, round(input_size * PATCH_FRACTION))
    return patch, max(1, round(patch * STRIDE_FRACTION))


def occlusion_tensor(model: nn.Module, x: torch.Tensor, class_index: int, patch_px: int, stride_px: int, *,
                     batch: int = BATCH, progress: Progress | None = None) -> tuple[np.ndarray, float, list[int]]:
    """(drop [rows, cols], baseline probability, starts) for a preprocessed ``x`` [1, 3, S, S].

    The patch is filled with 0 in normalised units, i.e. the training set's mean colour: a
    neutral grey to the model, neither dark nor bright.
    """
    size = x.shape[-1]
    starts = patch_starts(size, patch_px, stride_px)
    positions = [(y, xx) for y in starts for xx in starts]
    with exclusive(model):
        probs, _ms = predict_tensor(model, x)
    baseline = float(probs[0, class_index])
    occluded = []
    for i in range(0, len(positions), batch):
        chunk = positions[i:i + batch]
        images = x.repeat(len(chunk), 1, 1, 1)
        for k, (y, xx) in enumerate(chunk):
            images[k, :, y:y + patch_px, xx:xx + patch_px] = 0.0
        with exclusive(model):  # per batch, so a CAM request on the same instance can slip in between
            p, _ms = predict_tensor(model, images)
        occluded.extend(p[:, class_index].tolist())
        if progress is not None:
            progress(len(occluded), len(positions))
    drop = baseline - np.asarray(occluded, dtype=np.float32).reshape(len(starts), len(starts))
    return drop, baseline, starts


def occlusion_cost(entry, patch_px: int, stride_px: int) -> tuple[int, int]:
    """(forward passes, MACs) of an occlusion run at the model's own input size: one pass per patch position + 1."""
    from zoo.analysis import summarize

    entry = registry.get(entry) if isinstance(entry, str) else entry
    n = len(patch_starts(view(entry).side, patch_px, stride_px))
    passes = n * n + 1
    return passes, passes * summarize(entry.name).macs


def check_occlusion(entry, patch_px: int, stride_px: int, step: int = 1) -> None:
    """BudgetError, offering the nearest setting that fits (a larger stride, else a larger patch, both on
    multiples of ``step`` px as a page's sliders offer them), when the run would take more compute than
    one action may."""
    entry = registry.get(entry) if isinstance(entry, str) else entry
    passes, macs = occlusion_cost(entry, patch_px, stride_px)
    side = view(entry).side
    settings = [(patch_px, s) for s in range(stride_px + step, patch_px + 1, step)]
    settings += [(p, max(step, p // 2 // step * step)) for p in range(patch_px + step, side // 2 + 1, step)]
    smaller = []
    for p, s in settings:
        n, m = occlusion_cost(entry, p, s)
        if p == patch_px:
            setting = _("with a stride of {stride} px ({n:,} forward passes)").format(stride=s, n=n)
        else:
            setting = _("with a stride of {stride} px and a {patch} px patch ({n:,} forward passes)").format(
                stride=s, patch=p, n=n)
        smaller.append((setting, m))
    if str(patch_px)[0] == "8" or patch_px in (11, 18):  # "an 8 px patch", "an 11 px patch"
        what = _("Occluding {model}'s input with an {patch} px patch every {stride} px ({n:,} forward passes)")
    else:
        what = _("Occluding {model}'s input with a {patch} px patch every {stride} px ({n:,} forward passes)")
    budget.refuse_or_allow(what.format(model=entry.display, patch=patch_px, stride=stride_px, n=passes), macs,
                           budget.compute_budget(), smaller, unit="compute")


def occlusion_map(model: nn.Module, entry, image: Image.Image, class_index: int | None = None, *,
                  patch_px: int | None = None, stride_px: int | None = None, batch: int = BATCH,
                  progress: Progress | None = None) -> OcclusionResult:
    """Probability drop of ``class_index`` (None: the top class) as a patch slides over ``image``."""
    entry = registry.get(entry) if isinstance(entry, str) else entry
    start = time.perf_counter()
    seen = view(entry)
    x = seen.tensor(image)
    size = x.shape[-1]
    default_p, default_s = default_patch(size)
    patch_px = patch_px or default_p
    stride_px = stride_px or (default_s if patch_px == default_p else max(1, patch_px // 2))
    patch_starts(size, patch_px, stride_px)  # a patch or stride that does not fit: OcclusionError first
    check_occlusion(entry, patch_px, stride_px)
    batch = min(batch, budget.forward_batch(entry.name, batch))
    if class_index is None:
        with exclusive(model):
            class_index = int(predict_tensor(model, x)[0].argmax(-1)[0])
    drop, baseline, starts = occlusion_tensor(model, x, class_index, patch_px, stride_px, batch=batch,
                                              progress=progress)
    labels = entry.categories or registry.imagenet_categories()
    label = labels[class_index] if class_index < len(labels) else str(class_index)
    return OcclusionResult(model=entry.name, class_index=class_index, label=label, baseline_prob=baseline,
                           drop=drop, starts=starts, patch_px=patch_px, stride_px=stride_px, input_size=size,
                           ms=(time.perf_counter() - start) * 1000, crop=seen.crop(image))


def cell_means(heatmap: np.ndarray, result: OcclusionResult) -> np.ndarray:
    """``heatmap`` [S, S] averaged over each occlusion patch: [rows, cols], comparable with ``result.drop``."""
    n = len(result.starts)
    out = np.zeros((n, n), dtype=np.float64)
    for r, y in enumerate(result.starts):
        for c, x in enumerate(result.starts):
            out[r, c] = heatmap[y:y + result.patch_px, x:x + result.patch_px].mean()
    return out


def cam_correlation(heatmap: np.ndarray, result: OcclusionResult) -> float:
    """Pearson correlation between a CAM heatmap (averaged per patch) and the occlusion drops; nan if either is flat."""
    a, b = cell_means(heatmap, result).ravel(), result.drop.astype(np.float64).ravel()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


__all__ = [
    "BATCH", "OcclusionError", "OcclusionResult", "cam_correlation", "cell_means", "default_patch", "occlusion_map",
    "occlusion_tensor", "patch_starts",
]
