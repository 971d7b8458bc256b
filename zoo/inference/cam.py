"""Class activation maps: where in the image a model's evidence for one class lies.

Three methods:

* Grad-CAM (Selvaraju et al., 2017, arXiv:1610.02391) weights each channel of a conv layer
  by the mean gradient of the class score over that channel: one forward and one backward pass.
* Score-CAM (Wang et al., 2020, arXiv:1910.01279) needs no gradient: it weights each channel
  by the class score of the image masked with that channel's map, one forward pass per channel.
* Eigen-CAM (Muhammad & Yeasin, 2020, arXiv:2008.00299) needs neither gradients nor a class:
  the first principal component of the layer's activations.

Grad-CAM and Eigen-CAM are the maintained ``grad-cam`` library's (``pytorch_grad_cam``), used
through its public classes as documented; Score-CAM is :func:`score_cam` below, which scores
masked images in batches with progress and, on a CPU, only the channels that vary most.

The library registers hooks, and Grad-CAM runs a backward pass. So every function here works
on a *private* instance (:func:`cam_instance`: a deep copy with frozen parameters, in-place
activations switched off, and a lock), never on a model that other code shares, and removes
its hooks in ``finally``. Passing a shared model is still safe: it gets copied for the call.

Maps are computed over the centre crop the model actually sees (:mod:`zoo.inference.view`), so
``view(entry).to_input`` / ``to_photo`` map boxes between the original photo and the map.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image
from torch import nn

from zoo import budget, concurrency, registry
from zoo.errors import UnknownLayerError, ZooError
from zoo.i18n import N_, _
from zoo.inference.view import view
from zoo.progress import Progress


class CamError(ZooError, ValueError):
    """A CAM request a user can get wrong (unknown method or layer); ``str(e)`` is one sentence."""



@dataclass(frozen=True)
class CamMethod:
    key: str
    label: str
    uses_gradients: bool
    class_specific: bool
    how: str  # one line for the UI: how it differs from the others (English; shown through _())
    paper: str


METHODS: dict[str, CamMethod] = {
    m.key: m
    for m in [
        CamMethod("gradcam", "Grad-CAM", True, True,
                  N_("weights each channel by the average gradient of the class score: "
                     "one forward and one backward pass."),
                  "Selvaraju et al., 2017, arXiv:1610.02391"),
        CamMethod("eigencam", "Eigen-CAM", False, False,
                  N_("gradient-free and class-agnostic: the first principal component of the layer's "
                     "activations, one forward pass; the same map whichever class you pick."),
                  "Muhammad & Yeasin, 2020, arXiv:2008.00299"),
        CamMethod("scorecam", "Score-CAM", False, True,
                  N_("gradient-free: weights each channel by the class score of the image masked with that "
                     "channel's map, one forward pass per channel, so it is slow."),
                  "Wang et al., 2020, arXiv:1910.01279"),
    ]
}

# Score-CAM forward passes per batch: large enough to keep a GPU busy, small enough for CPU memory.
SCORECAM_BATCH = 32
# Score-CAM runs one forward pass per channel. On a CPU only the channels whose maps vary most are
# scored, so it takes seconds rather than minutes (Lite0's head has 1280 channels); 16 already give
# the same picture on the sample photos (tests/test_cam.py), 64 leave a margin.
SCORECAM_CPU_CHANNELS = 64


def default_target_layer(name: str) -> str:
    """The module path Grad-CAM targets by default for catalogue model ``name`` (its last conv stage)."""
    return registry.get(name).cam_layer


def post_activation(name: str, layer: str) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The activation ``name`` applies right after ``layer`` where no module of its own runs it.

    DenseNet applies ``F.relu`` after ``features.norm5``; Lite0 runs its head through the ReLU6
    module that every block shares (a hook there fires many times). CAM weights what the next
    layer receives, as the methods' papers do with post-ReLU maps; the catalogue entry says which.
    """
    entry = registry.get(name)
    return entry.cam_activation if layer == entry.cam_layer else None


def conv_layers(name: str) -> list[str]:
    """Every Conv2d of ``name`` that runs in an eval-mode forward pass and outputs a spatial map.

    Inception v3's auxiliary classifier is built but never runs in eval mode, so it is left out:
    a hook on it would never fire. So are the 1 x 1 convolutions of squeeze-and-excitation gates,
    which act on a pooled vector: a map of one cell says nothing about where.
    """
    from zoo.analysis import summarize

    df = summarize(name).layers
    spatial = df["output_shape"].map(lambda s: len(s) == 4 and s[2] * s[3] > 1)
    return df.loc[(df["type"] == "Conv2d") & (df["calls"] == 1) & spatial, "name"].tolist()


def target_layers(name: str) -> list[str]:
    """Layers CAM may target for ``name``: the automatic choice first, then every conv layer."""
    default = default_target_layer(name)
    return [default] + [n for n in conv_layers(name) if n != default]


@functools.lru_cache(maxsize=64)
def target_layer_shapes(name: str) -> dict[str, tuple[int, ...]]:
    """Output shape (C, H, W) of each of :func:`target_layers` at the model's own input size.

    Measured by one forward pass of a fresh instance on the meta device (no weights, no memory),
    since containers such as ``layer4`` have no row of their own in the layer table.
    """
    entry = registry.get(name)
    model = entry.build("meta")
    modules = dict(model.named_modules())
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for layer in target_layers(name):
        def record(module, args, output, layer=layer):
            shapes.setdefault(layer, tuple(output.shape[1:]))
        handles.append(modules[layer].register_forward_hook(record))
    try:
        with torch.no_grad():
            model(torch.empty(1, 3, entry.input_size, entry.input_size, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return shapes


def check_method(method: str) -> CamMethod:
    try:
        return METHODS[method]
    except KeyError:
        raise CamError(_("Unknown CAM method '{method}': use one of {methods}.").format(
            method=method, methods=", ".join(METHODS))) from None


def check_layer(name: str, layer: str | None) -> str:
    """``layer``, or the automatic one when None; raises UnknownLayerError for anything else."""
    if layer is None:
        return default_target_layer(name)
    if layer not in target_layers(name):
        raise UnknownLayerError(
            _("'{layer}' is not a convolutional layer of {name}; run `python -m zoo cam --model {name} --list-layers` "
              "to see the valid ones.").format(layer=layer, name=name)
        )
    return layer


# ---------------------------------------------------------------------------------------------
# Private instances
# ---------------------------------------------------------------------------------------------


def cam_instance(model: nn.Module, *, copy_model: bool = True) -> nn.Module:
    """A private copy of ``model`` for work that registers hooks or runs backward passes.

    Parameters are frozen (Grad-CAM needs gradients with respect to activations only, so no
    ``.grad`` is ever written), in-place activations are switched off (an in-place ReLU after
    the target layer would overwrite the activations a hook just saw), and a lock serialises
    callers, since hooks of two concurrent requests on one instance would mix their tensors.
    ``copy_model=False`` prepares ``model`` itself: only for an instance the caller owns outright
    (e.g. just returned by ``load_model``), never a shared one.
    """
    if getattr(model, "zoo_cam_instance", False):
        return model
    twin = copy.deepcopy(model) if copy_model else model
    for p in twin.parameters():
        p.requires_grad_(False)
    for m in twin.modules():
        if isinstance(getattr(m, "inplace", None), bool):
            m.inplace = False
    twin.eval()
    twin.zoo_cam_instance = True
    twin.zoo_cam_lock = threading.Lock()
    return twin


def exclusive(model: nn.Module):
    """The lock of a :func:`cam_instance` (no forward pass may run while another request's hooks
    are on it), or a no-op for any other model, which is never hooked."""
    lock = getattr(model, "zoo_cam_lock", None)
    return lock if lock is not None else contextlib.nullcontext()


def model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def predict_top(model: nn.Module, entry, image: Image.Image, k: int = 5) -> list[tuple[int, str, float]]:
    """Top-``k`` (class index, label, probability) of ``image`` as :func:`zoo.inference.view.view` prepares it.

    Unlike :func:`zoo.inference.predict.predict` it also serves models without published
    weights (torchvision's ImageNet preset), and it waits for a private instance's lock.
    """
    from zoo.inference.predict import predict_tensor

    entry = registry.get(entry) if isinstance(entry, str) else entry
    with exclusive(model):
        probs, _ms = predict_tensor(model, view(entry).tensor(image))
    labels = entry.categories or registry.imagenet_categories()
    values, indices = probs[0].topk(max(1, min(k, probs.shape[-1])))
    return [(int(i), labels[int(i)] if int(i) < len(labels) else str(int(i)), float(v))
            for v, i in zip(values, indices)]


# ---------------------------------------------------------------------------------------------
# CAM
# ---------------------------------------------------------------------------------------------


@dataclass
class CamResult:
    model: str
    method: str
    layer: str
    class_index: int | None  # None for Eigen-CAM, which ignores the class
    label: str | None
    heatmap: np.ndarray  # [S, S] float32 in [0, 1], over the model's input crop
    overlay: Image.Image  # the heatmap blended over ``crop``
    crop: Image.Image  # the S x S picture the model saw
    activation_shape: tuple[int, int, int]  # (C, H, W) of the target layer
    ms: float
    random_weights: bool = False


class PostActivation(nn.Module):
    """A functional activation as a module, so that it can follow the target layer in a Sequential."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class Copy(nn.Module):
    """Passes on a copy of its input, so that nothing later in the network can change the original."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


@dataclass
class _Seen:
    layer: str
    shape: tuple[int, int, int] | None = None


@contextlib.contextmanager
def hooked_target(model: nn.Module, layer: str,
                  activation: Callable[[torch.Tensor], torch.Tensor] | None = None) -> Iterator[tuple[nn.Module, _Seen]]:
    """(the module CAM should hook, a record of its output shape) for ``layer`` of a private ``model``.

    For the duration, ``layer`` is replaced by ``Sequential(watched, Copy())``, where ``watched``
    is the layer itself or, with ``activation``, ``Sequential(layer, PostActivation(activation))``:
    its output is then already what the next layer receives (the network applying the same
    activation again afterwards changes nothing, as ReLU and ReLU6 are idempotent). The network
    continues on the copy, so an in-place op after the layer (DenseNet's ``F.relu(inplace=True)``)
    cannot change what a hook on ``watched`` saved, nor a tensor autograd kept: hooks may keep the
    output itself rather than a copy, which is what the grad-cam library does on a CPU. The record's
    hook rejects a layer whose output is not a spatial map, in one sentence.
    """
    modules = dict(model.named_modules())
    if layer not in modules:
        raise UnknownLayerError(_("The model has no layer called '{layer}'.").format(layer=layer))
    module = modules[layer]
    parent_name, _sep, child = layer.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    watched = module if activation is None else nn.Sequential(module, PostActivation(activation))
    seen = _Seen(layer)

    def record(m, args, output):
        if not isinstance(output, torch.Tensor) or output.dim() != 4:
            raise CamError(_("Layer '{layer}' does not output a spatial feature map, so it cannot be mapped onto the "
                             "image.").format(layer=layer))
        seen.shape = tuple(output.shape[1:])

    setattr(parent, child, nn.Sequential(watched, Copy()))
    handle = watched.register_forward_hook(record)  # before any CAM hook, so it runs first
    try:
        yield watched, seen
    finally:
        handle.remove()
        setattr(parent, child, module)


def _upsample(cam: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """A [h, w] map, negative parts cut, scaled to [0, 1] and resized to ``size`` (H, W) bilinearly,
    then scaled to [0, 1] again: the same post-processing the library gives Grad-CAM and Eigen-CAM."""
    def unit(t: torch.Tensor) -> torch.Tensor:
        t = t - t.min()
        return t / (t.max() + 1e-7)

    small = unit(cam.clamp(min=0).float())
    big = nn.functional.interpolate(small[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    return unit(big.clamp(min=0)).numpy()


def score_cam(model: nn.Module, target: nn.Module, x: torch.Tensor, class_index: int, *,
              max_channels: int | None = None, batch_size: int = SCORECAM_BATCH,
              progress: Progress | None = None) -> np.ndarray:
    """Score-CAM (Wang et al., 2020, arXiv:1910.01279) of ``class_index`` for one image ``x`` [1, 3, S, S].

    Each channel of ``target``'s output, upsampled to the input and scaled to [0, 1], masks the
    image; the class score of each masked image, softmaxed over the channels, weights that channel.
    With ``max_channels`` only the channels whose maps vary most are scored; the rest get weight 0.
    Returns the heatmap [S, S] in [0, 1].
    """
    maps: list[torch.Tensor] = []
    handle = target.register_forward_hook(lambda m, args, output: maps.append(output.detach().float()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()  # off before the masked passes: they need no copy of their activations
    with torch.no_grad():
        acts = maps[-1][0]  # [C, h, w]
        keep = torch.arange(acts.shape[0], device=acts.device)
        if max_channels and acts.shape[0] > max_channels:
            keep = acts.flatten(1).var(dim=1).topk(max_channels).indices
        masks = nn.functional.interpolate(acts[keep][None], size=x.shape[-2:], mode="bilinear",
                                          align_corners=True)[0]  # [K, S, S]
        lo = masks.amin(dim=(1, 2), keepdim=True)
        hi = masks.amax(dim=(1, 2), keepdim=True)
        masks = (masks - lo) / (hi - lo + 1e-8)
        scores = []
        for i in range(0, len(masks), batch_size):
            batch = x * masks[i:i + batch_size, None].to(x.dtype)
            scores.append(model(batch)[:, class_index].float().cpu())
            if progress is not None:
                progress(min(i + batch_size, len(masks)), len(masks))
        weights = torch.zeros(acts.shape[0])
        weights[keep.cpu()] = torch.softmax(torch.cat(scores), dim=0)
        cam = (weights[:, None, None] * acts.cpu()).sum(dim=0)
    return _upsample(cam, tuple(x.shape[-2:]))


def _library_cam(method: str, model: nn.Module, target: nn.Module, x: torch.Tensor,
                 class_index: int | None) -> np.ndarray:
    """Grad-CAM or Eigen-CAM from the grad-cam library, used as its README shows."""
    from pytorch_grad_cam import EigenCAM, GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cls = {"gradcam": GradCAM, "eigencam": EigenCAM}[method]
    targets = None if class_index is None else [ClassifierOutputTarget(int(class_index))]
    with cls(model=model, target_layers=[target]) as cam:  # its __exit__ removes the hooks
        try:
            if METHODS[method].uses_gradients:
                # Parameters are frozen, so the graph needs a leaf that asks for gradients.
                heat = cam(input_tensor=x.detach().clone().requires_grad_(True), targets=targets)
            else:
                with torch.no_grad():
                    heat = cam(input_tensor=x, targets=targets)
        except IndexError as e:  # the library's __exit__ would print an IndexError and swallow it
            raise CamError(_("Class {index} is not one of the model's output classes.").format(index=class_index)) from e
    return np.asarray(heat[0], dtype=np.float32)


def cam_tensor(model: nn.Module, x: torch.Tensor, layer: str, class_index: int | None = None,
               method: str = "gradcam", *, activation: Callable[[torch.Tensor], torch.Tensor] | None = None,
               max_channels: int | None = None, progress: Progress | None = None,
               batch_size: int = SCORECAM_BATCH) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The ``method`` map of class ``class_index`` (None: the top class) for input batch ``x`` [1,3,S,S].

    Args:
        layer: a module path of ``model``, used as given (see :func:`check_layer`).
        activation: applied to the layer's output before it is weighted (see :func:`post_activation`).
        max_channels: Score-CAM only: score just this many channels, those whose maps vary most.
    Returns (heatmap [S, S] float32 in [0, 1], target activation shape (C, H, W)).
    """
    spec = check_method(method)
    own = cam_instance(model)
    x = x.to(model_device(own))
    with exclusive(own), hooked_target(own, layer, activation) as (target, seen):
        if not spec.class_specific:
            class_index = None
        elif class_index is None:
            with torch.inference_mode():
                class_index = int(own(x).argmax(-1)[0])
        if method == "scorecam":
            heat = score_cam(own, target, x, class_index, max_channels=max_channels, progress=progress,
                             batch_size=batch_size)
        else:
            heat = _library_cam(method, own, target, x, class_index)
    return heat, seen.shape


def overlay(crop: Image.Image, heatmap: np.ndarray, image_weight: float = 0.5) -> Image.Image:
    """``heatmap`` (values in [0, 1], same size as ``crop``) in the jet colour map over ``crop``."""
    from pytorch_grad_cam.utils.image import show_cam_on_image

    rgb = np.asarray(crop.convert("RGB"), dtype=np.float32) / 255.0
    return Image.fromarray(show_cam_on_image(rgb, np.clip(heatmap, 0, 1), use_rgb=True, image_weight=image_weight))


def cam_bytes(entry, method: str, max_channels: int | None = None) -> int:
    """Estimated peak memory of one CAM at the model's own input size, next to the model itself: its
    private copy, plus what backward keeps (Grad-CAM) or the forward passes' live maps (the others)."""
    entry = registry.get(entry) if isinstance(entry, str) else entry
    weights = budget.params_bytes(entry.name)
    if check_method(method).uses_gradients:
        return weights + int(budget.BACKWARD_FACTOR * budget.activation_bytes(entry.name))
    batch = scorecam_batch(entry) if method == "scorecam" else 1
    return weights + 3 * budget.largest_output_bytes(entry.name) * batch


def scorecam_batch(entry) -> int:
    """Masked images per Score-CAM forward pass: SCORECAM_BATCH, or fewer where that would not fit the budget."""
    return budget.forward_batch(entry.name, SCORECAM_BATCH)


def check_cam(entry, method: str) -> None:
    """BudgetError, offering a gradient-free method that fits, when a CAM would cost too much memory."""
    entry = registry.get(entry) if isinstance(entry, str) else entry
    others = [(_("with {method}").format(method=METHODS[m].label), cam_bytes(entry, m))
              for m in ("eigencam", "scorecam") if m != method]
    budget.refuse_or_allow(_("{method} of {model} at {side} px").format(method=METHODS[method].label,
                                                                       model=entry.display, side=view(entry).side),
                           cam_bytes(entry, method), budget.memory_budget(), others)


def compute_cam(model: nn.Module, entry, image: Image.Image, class_index: int | None = None,
                method: str = "gradcam", layer: str | None = None, *, max_channels: int | None = None,
                progress: Progress | None = None) -> CamResult:
    """The ``method`` map of ``class_index`` (None: the model's top class) for ``image``.

    ``model`` may be shared: hooks and gradients only ever touch a private copy
    (pass a :func:`cam_instance` to skip the copy on each call).
    """
    entry = registry.get(entry) if isinstance(entry, str) else entry
    spec = check_method(method)
    layer = check_layer(entry.name, layer)
    check_cam(entry, method)
    start = time.perf_counter()
    seen = view(entry)
    x = seen.tensor(image)
    own = cam_instance(model)
    if class_index is None and spec.class_specific:
        with exclusive(own), torch.inference_mode():
            class_index = int(own(x.to(model_device(own))).argmax(-1)[0])
    with concurrency.inference_slot():
        heat, shape = cam_tensor(own, x, layer, class_index, method, activation=post_activation(entry.name, layer),
                                 max_channels=max_channels, progress=progress, batch_size=scorecam_batch(entry))
    crop = seen.crop(image)
    ms = (time.perf_counter() - start) * 1000
    labels = entry.categories or registry.imagenet_categories()
    if not spec.class_specific:
        class_index = None
    label = (labels[class_index] if class_index is not None and class_index < len(labels)
             else (str(class_index) if class_index is not None else None))
    return CamResult(model=entry.name, method=method, layer=layer, class_index=class_index, label=label,
                     heatmap=heat, overlay=overlay(crop, heat), crop=crop, activation_shape=shape, ms=ms,
                     random_weights=bool(getattr(model, "zoo_random_weights", False)))


def cam_overlay(model: nn.Module, entry, image: Image.Image, class_index: int | None,
                method: str = "gradcam", layer: str | None = None) -> tuple[np.ndarray, Image.Image]:
    """(heatmap [S, S] in [0, 1], overlay on the model's centre crop): for a predictions page."""
    r = compute_cam(model, entry, image, class_index, method, layer)
    return r.heatmap, r.overlay


def energy_in_box(heatmap: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Fraction of the heatmap's total mass inside ``box`` = (left, top, right, bottom) in its pixels."""
    total = float(heatmap.sum())
    if total <= 0:
        return 0.0
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return float(heatmap[y0:y1, x0:x1].sum()) / total


__all__ = [
    "METHODS", "CamError", "CamMethod", "CamResult", "Copy", "PostActivation", "UnknownLayerError", "cam_instance",
    "cam_overlay", "cam_tensor", "check_layer", "check_method", "compute_cam", "conv_layers", "default_target_layer",
    "energy_in_box", "exclusive", "hooked_target", "overlay", "post_activation", "predict_top", "score_cam",
    "target_layer_shapes", "target_layers",
]
