"""What the layers compute: feature maps of one photo, and the first convolution's filters.

Feature maps are read with a forward hook on a private instance (:func:`zoo.inference.cam.cam_instance`),
removed in ``finally``; filters are copied out of the weights. A shared model is never hooked.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import nn

from zoo import registry
from zoo.errors import UnknownLayerError
from zoo.i18n import _
from zoo.inference.cam import cam_instance, exclusive, model_device
from zoo.inference.view import view

# Layer kinds whose output the feature-map view offers. Only modules called once qualify: a ReLU
# that a ResNet block calls three times (or Lite0's one ReLU6 for every block) has no single map.
FEATURE_TYPES = ("Conv2d", "BatchNorm2d", "ReLU", "ReLU6", "SiLU", "Hardswish", "MaxPool2d", "AvgPool2d")
TOP_K = 16  # channels shown by default: a 4 x 4 grid


@dataclass
class FeatureMaps:
    layer: str
    shape: tuple[int, int, int]  # (C, H, W) of the layer's output
    order: np.ndarray  # channel indices, most active first
    score: np.ndarray  # [C] mean of each channel's positive part: what a ReLU after it would pass
    maps: np.ndarray  # [k, H, W] the top-k channels' raw activations, in ``order``

    def images(self, size_px: int = 96, cmap: str = "viridis") -> list[Image.Image]:
        """Each of the top-k maps as a ``size_px`` square image, scaled to its own min..max."""
        from matplotlib import colormaps

        colour = colormaps[cmap]
        out = []
        for m in self.maps:
            lo, hi = float(m.min()), float(m.max())
            unit = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
            rgb = (colour(unit)[..., :3] * 255).astype(np.uint8)
            # Nearest-neighbour so that one unit stays one visible square, as it is in the network.
            out.append(Image.fromarray(rgb).resize((size_px, size_px), Image.Resampling.NEAREST))
        return out


def feature_layers(name: str) -> pd.DataFrame:
    """Layers of ``name`` whose output the feature-map view can show, in execution order.

    Columns: name, type, stage, output_shape (C, H, W), rf_px, stride_px, padding_px
    (receptive field in input pixels from :mod:`zoo.analysis.receptive_field`; <NA> where global):
    ``zoo.inference.view.unit_field(row)`` turns a row into the field one unit sees.
    """
    from zoo.analysis import summarize
    from zoo.analysis.receptive_field import rf_table

    df = summarize(name).layers
    df = df[df["type"].isin(FEATURE_TYPES) & (df["calls"] == 1)]
    df = df[df["output_shape"].map(lambda s: len(s) == 4)]
    out = df[["name", "type", "stage"]].copy()
    out["output_shape"] = df["output_shape"].map(lambda s: tuple(int(v) for v in s[1:]))
    rf = rf_table(name).set_index("name")
    out["rf_px"] = out["name"].map(rf["rf"]).astype("Int64")
    out["stride_px"] = out["name"].map(rf["stride"]).astype("Int64")
    out["padding_px"] = out["name"].map(rf["padding"]).astype("Int64")
    return out.reset_index(drop=True)


def feature_maps(model: nn.Module, entry, image: Image.Image, layer: str, top_k: int = TOP_K) -> FeatureMaps:
    """The output of ``layer`` for ``image``, channels ranked by mean positive activation."""
    entry = registry.get(entry) if isinstance(entry, str) else entry
    return feature_maps_tensor(model, view(entry).tensor(image), layer, top_k)


def feature_maps_tensor(model: nn.Module, x: torch.Tensor, layer: str, top_k: int = TOP_K) -> FeatureMaps:
    """:func:`feature_maps` for a preprocessed batch ``x`` [1, 3, S, S]."""
    own = cam_instance(model)
    modules = dict(own.named_modules())
    if layer not in modules:
        raise UnknownLayerError(_("The model has no layer called '{layer}'.").format(layer=layer))
    seen: list[torch.Tensor] = []

    def keep(module, args, output):
        seen.append(output.detach().to("cpu", copy=True))

    with exclusive(own):
        handle = modules[layer].register_forward_hook(keep)
        try:
            with torch.inference_mode():
                own(x.to(model_device(own)))
        finally:
            handle.remove()
    out = seen[-1][0].float()
    if out.dim() != 3:
        raise UnknownLayerError(_("Layer '{layer}' does not output a spatial feature map.").format(layer=layer))
    score = out.clamp(min=0).mean(dim=(1, 2))
    order = torch.argsort(score, descending=True)
    k = max(1, min(top_k, out.shape[0]))
    return FeatureMaps(layer=layer, shape=tuple(out.shape), order=order.numpy(), score=score.numpy(),
                       maps=out[order[:k]].numpy())


# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------


@dataclass
class FilterBank:
    layer: str
    weight: np.ndarray  # [N, 3, k, k] as learned (or as initialised, for random weights)
    stride: int
    padding: int

    @property
    def count(self) -> int:
        return int(self.weight.shape[0])

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    def tiles(self) -> np.ndarray:
        """[N, k, k, 3] in [0, 1]: each filter scaled on its own so that 0.5 grey is a zero weight."""
        w = self.weight.transpose(0, 2, 3, 1).astype(np.float64)
        peak = np.abs(w).reshape(len(w), -1).max(axis=1)
        peak[peak == 0] = 1.0
        return 0.5 + w / (2 * peak[:, None, None, None])

    def mosaic(self, tile_px: int = 44, cols: int = 16, gap_px: int = 4) -> Image.Image:
        """All filters as one image: ``cols`` RGB tiles per row, each upscaled nearest-neighbour."""
        tiles = (self.tiles() * 255).round().astype(np.uint8)
        rows = -(-len(tiles) // cols)
        cols = min(cols, len(tiles))
        sheet = Image.new("RGB", (cols * (tile_px + gap_px) + gap_px, rows * (tile_px + gap_px) + gap_px),
                          (255, 255, 255))
        for i, t in enumerate(tiles):
            r, c = divmod(i, cols)
            tile = Image.fromarray(t).resize((tile_px, tile_px), Image.Resampling.NEAREST)
            sheet.paste(tile, (gap_px + c * (tile_px + gap_px), gap_px + r * (tile_px + gap_px)))
        return sheet


def first_conv(model: nn.Module) -> tuple[str, nn.Conv2d]:
    """(module path, module) of the first convolution that reads the RGB image."""
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d) and m.in_channels == 3 and m.groups == 1:
            return name, m
    raise ValueError("This model has no convolution over the three colour channels.")


def first_conv_filters(model: nn.Module) -> FilterBank:
    """The first convolution's filters, copied to the CPU (the model is only read)."""
    name, conv = first_conv(model)
    with torch.no_grad():
        weight = conv.weight.detach().to("cpu", dtype=torch.float32, copy=True).numpy()
    pad = conv.padding if isinstance(conv.padding, tuple) else (0, 0)
    return FilterBank(layer=name, weight=weight, stride=int(conv.stride[0]), padding=int(pad[0]))


__all__ = [
    "FEATURE_TYPES", "FeatureMaps", "FilterBank", "feature_layers", "feature_maps", "feature_maps_tensor",
    "first_conv", "first_conv_filters",
]
