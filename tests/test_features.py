"""Feature maps, first-layer filters and CAM render for every family (random weights where none are cached).

Models come from ``load_model(..., allow_random=True)``, as the page gets them, and run at a small
input (128 px) so that the whole sweep stays fast on a CPU.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from zoo import registry
from zoo.inference import cam as C
from zoo.inference import features as F
from zoo.inference.models import load_model
from zoo.inference.view import unit_field, view

# One (small) model per family, plus the two zoo-defined ones: Lite0 (real weights) and MobileNet V1
# (no published weights at all, so no preprocessing of its own either).
FAMILY_MODELS = ["alexnet", "vgg11", "googlenet", "inception_v3", "resnet18", "densenet121", "mobilenet_v1",
                 "mobilenet_v3_small", "efficientnet_b0", "efficientnet_lite0"]
SMALL_PX = 128
FIRST_CONV = {  # (filters, kernel, stride) of torchvision's / zoo's first convolution
    "alexnet": (64, 11, 4), "vgg11": (64, 3, 1), "googlenet": (64, 7, 2), "inception_v3": (32, 3, 2),
    "resnet18": (64, 7, 2), "densenet121": (64, 7, 2), "mobilenet_v1": (32, 3, 2), "mobilenet_v3_small": (16, 3, 2),
    "efficientnet_b0": (32, 3, 2), "efficientnet_lite0": (32, 3, 2),
}


def test_family_models_cover_every_family():
    assert {registry.get(n).family for n in FAMILY_MODELS} == set(registry.FAMILIES)


@functools.lru_cache(maxsize=None)
def model(name: str) -> nn.Module:
    return C.cam_instance(load_model(name, allow_random=True), copy_model=False)


def small_input(name: str) -> torch.Tensor:
    # Lite0's TF-style padding is fixed for the size it was built at (224).
    side = 224 if name == "efficientnet_lite0" else SMALL_PX
    return torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", FAMILY_MODELS)
def test_feature_maps_filters_and_cam_render(name):
    m, x = model(name), small_input(name)
    table = F.feature_layers(name)
    assert len(table) > 5 and table["output_shape"].map(len).eq(3).all()
    # Deeper sees more: the first layer has the smallest field, the last stage the largest (its last
    # layer need not: Inception's parallel branches run in turn, short ones after long ones).
    known = table.dropna(subset=["rf_px"])
    rf = known["rf_px"].astype(int)
    last_stage = rf[known["stage"] == known["stage"].iloc[-1]]
    assert rf.iloc[0] == rf.min() and last_stage.max() == rf.max() and rf.max() > 10 * rf.iloc[0]

    for layer in (table["name"].iloc[len(table) // 3], table["name"].iloc[-1]):
        fm = F.feature_maps_tensor(m, x, layer, top_k=8)
        channels = table.set_index("name").at[layer, "output_shape"][0]
        assert fm.shape[0] == channels and fm.maps.shape == (min(8, channels), *fm.shape[1:])
        assert np.all(np.diff(fm.score[fm.order]) <= 0)  # most active first
        tiles = fm.images(32)
        assert len(tiles) == len(fm.maps) and tiles[0].size == (32, 32) and tiles[0].mode == "RGB"

    bank = F.first_conv_filters(m)
    n, k, stride = FIRST_CONV[name]
    assert (bank.count, bank.kernel, bank.stride) == (n, (k, k), stride)
    tiles = bank.tiles()
    assert tiles.shape == (n, k, k, 3) and tiles.min() >= 0 and tiles.max() <= 1
    sheet = bank.mosaic(tile_px=20, cols=16, gap_px=2)
    assert sheet.size == (min(n, 16) * 22 + 2, -(-n // 16) * 22 + 2)

    heat, shape = C.cam_tensor(m, x, C.default_target_layer(name), 0, "gradcam",
                               activation=C.post_activation(name, C.default_target_layer(name)))
    assert heat.shape == x.shape[-2:] and np.isfinite(heat).all() and heat.min() >= 0 and heat.max() <= 1
    assert len(shape) == 3


def test_random_weights_are_marked_and_real_ones_are_not():
    assert model("mobilenet_v1").zoo_random_weights is True  # architecture only: never has weights
    assert model("efficientnet_lite0").zoo_random_weights is False  # bundled with the app


def test_models_without_published_preprocessing_get_torchvisions_preset():
    entry = registry.get("mobilenet_v1")
    assert entry.preprocess is None
    img = Image.new("RGB", (320, 240), (200, 100, 50))
    assert view(entry).tensor(img).shape == (1, 3, 224, 224)
    assert "ImageNet preset" in view(entry).note()
    top = C.predict_top(model("mobilenet_v1"), entry, img, 3)
    assert len(top) == 3 and all(0 <= p <= 1 for *_, p in top) and top[0][2] >= top[1][2]


def test_channels_are_ranked_by_mean_positive_activation():
    """A 1 x 1 identity conv on a constant input: channel c's map is the input's channel c."""
    conv = nn.Conv2d(3, 3, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(3)[:, :, None, None])
    x = torch.tensor([-1.0, 0.5, 2.0])[None, :, None, None].expand(1, 3, 4, 4).contiguous()
    fm = F.feature_maps_tensor(nn.Sequential(conv).eval(), x, "0", top_k=2)
    assert list(fm.order) == [2, 1, 0] and fm.score.tolist() == [0.0, 0.5, 2.0]
    assert fm.maps.shape == (2, 4, 4) and np.all(fm.maps[0] == 2.0)


def test_filter_tiles_put_zero_at_mid_grey():
    conv = nn.Conv2d(3, 2, 2, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0, 0] = 4.0
        conv.weight[0, 1, 1, 1] = -2.0
    tiles = F.first_conv_filters(nn.Sequential(conv)).tiles()
    assert tiles[0, 0, 0, 0] == 1.0 and tiles[0, 1, 1, 1] == 0.25 and tiles[0, 0, 1, 2] == 0.5
    assert np.all(tiles[1] == 0.5)  # an all-zero filter is flat grey, not a division by zero


def test_feature_layers_rows_give_the_unit_field():
    """The page draws a unit's field from a row of ``feature_layers``: rf, stride and padding in px."""
    table = F.feature_layers("vgg16").set_index("name")
    field = unit_field(table.loc["features.16"])  # pool3: rf 44, stride 8, padding 18
    assert (field.rf, field.stride, field.padding) == ((44, 44), (8, 8), (18, 18))
