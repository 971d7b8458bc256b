"""What a model sees: one transform, one crop and one photo <-> input mapping for every page, and the
unit-box geometry of a receptive-field row.

MobileNet V1 has no published weights, so it has no transform of its own: every page must still
give it the same pixels (torchvision's ImageNet preset), which is checked here function by function
and on the Receptive fields page itself.
"""
from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from torchvision.models import get_weight

from tests.helpers import page_test
from zoo import registry
from zoo.analysis.receptive_field import Field, receptive_fields
from zoo.inference import cam as C
from zoo.inference import features as F
from zoo.inference import occlusion as O
from zoo.inference.images import load_sample
from zoo.inference.models import load_model
from zoo.inference.view import (
    PRESET_WEIGHTS,
    PreprocessError,
    build_transform,
    field_on_crop,
    unit_box,
    unit_centres,
    unit_field,
    view,
)

LITE0 = registry.get("efficientnet_lite0")
V1 = registry.get("mobilenet_v1")


# -- the transform --------------------------------------------------------------------------------


def test_models_without_weights_get_torchvisions_preset_read_from_public_weights():
    seen = view(V1)
    assert V1.preprocess is None and not seen.pre.published
    t = get_weight(PRESET_WEIGHTS).transforms()
    assert (seen.pre.resize, seen.pre.crop, seen.pre.interpolation) == (256, 224, "bilinear")
    assert seen.pre.mean == pytest.approx(t.mean) and seen.pre.std == pytest.approx(t.std)
    # It is a preset, not one model's quirk: other original-recipe weights evaluate the same way.
    for other in ("AlexNet_Weights.IMAGENET1K_V1", "VGG16_Weights.IMAGENET1K_V1", "MobileNet_V2_Weights.IMAGENET1K_V1"):
        o = get_weight(other).transforms()
        assert (o.resize_size, o.crop_size, o.interpolation, o.mean, o.std) == (
            t.resize_size, t.crop_size, t.interpolation, t.mean, t.std)
    assert seen.side == V1.input_size
    assert seen.note() == ("resize 256 (bilinear) -> centre crop 224 -> normalise mean/std "
                           "(torchvision's ImageNet preset: this model has no published weights)")
    assert view(LITE0).note() == view(LITE0).describe()  # the weights' own: nothing to add
    # Predictions quote the weights' own transform, so they refuse a stand-in.
    with pytest.raises(PreprocessError, match="no published weights"):
        view(V1, published_only=True)


@pytest.mark.parametrize("mode, side", [("correct", 224), ("no_normalise", 224), ("wrong_size", 32)])
def test_every_mode_works_for_a_model_without_weights(mode, side):
    img = load_sample("chelsea.png")
    x = view(V1, mode).tensor(img)
    assert x.shape == (1, 3, side, side) and x.is_contiguous()
    assert view(V1, mode).crop(img).size == (side, side)
    assert (x.min() >= 0 and x.max() <= 1) == (mode == "no_normalise")


def test_mobilenet_v1_tensor_is_torchvisions_preset_applied():
    """Differential: our pipeline from the preset's numbers vs torchvision's own preset transform."""
    img = load_sample("coffee.jpg")
    theirs = get_weight(PRESET_WEIGHTS).transforms()(img)
    assert torch.allclose(view(V1).tensor(img)[0], theirs, atol=1e-5)


def test_every_page_facing_function_gives_mobilenet_v1_the_same_pixels():
    """Predict-top, Grad-CAM, Score-CAM, occlusion and feature maps all feed the network one tensor,
    and the crops the pages show are that tensor's pixels."""
    img = load_sample("chelsea.png")
    seen = view(V1)
    reference, crop = seen.tensor(img), seen.crop(img)
    own = C.cam_instance(load_model("mobilenet_v1", allow_random=True), copy_model=False)
    inputs: list[torch.Tensor] = []
    handle = own.register_forward_pre_hook(lambda m, args: inputs.append(args[0].detach().clone()))
    try:
        def first_input(call) -> torch.Tensor:
            inputs.clear()
            result = call()
            return inputs[0], result

        x, _ = first_input(lambda: C.predict_top(own, V1, img))
        assert torch.equal(x, reference)
        for method in C.METHODS:
            x, result = first_input(lambda: C.compute_cam(own, V1, img, 1, method, max_channels=2))
            assert torch.equal(x, reference) and np.array_equal(np.asarray(result.crop), np.asarray(crop))
        x, occ = first_input(lambda: O.occlusion_map(own, V1, img, 1, patch_px=112, stride_px=112))
        assert torch.equal(x, reference) and np.array_equal(np.asarray(occ.crop), np.asarray(crop))
        x, _ = first_input(lambda: F.feature_maps(own, V1, img, "features.0.0", 4))
        assert torch.equal(x, reference)
    finally:
        handle.remove()
    # The crop is the tensor before normalisation.
    mean, std = torch.tensor(seen.pre.mean)[:, None, None], torch.tensor(seen.pre.std)[:, None, None]
    pixels = torch.from_numpy(np.array(crop)).permute(2, 0, 1).float() / 255
    assert torch.allclose(reference[0] * std + mean, pixels, atol=1e-5)


def test_receptive_field_page_shows_mobilenet_v1_the_same_pixels():
    at = page_test("understand/receptive_fields.py", rf_model="mobilenet_v1")
    assert not at.exception and not at.error
    overlay = json.loads(at.get("plotly_chart")[1].proto.spec)
    z = overlay["data"][0]["z"]
    shown = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.uint8).reshape(
        [int(v) for v in z["shape"].split(",")])
    assert np.array_equal(shown, np.asarray(view(V1).crop(load_sample("chelsea.png"))))
    assert any("torchvision's ImageNet preset (this model has no published weights)" in c.value for c in at.caption)


def test_strict_transform_and_modes():
    with pytest.raises(PreprocessError, match="no published weights"):
        build_transform(V1)
    with pytest.raises(PreprocessError, match="Unknown preprocessing mode 'sideways'"):
        view(LITE0, "sideways")
    assert view("inception_v3", "wrong_size").side == 75 and view("inception_v3").resize == 342
    assert view("efficientnet_lite0", "wrong_size").describe() == (
        "resize 32 (bicubic) -> centre crop 32 [model expects 224] -> normalise mean/std")


# -- photo pixels <-> model-input pixels ----------------------------------------------------------


@pytest.mark.parametrize("size", [(451, 300), (300, 451), (640, 640), (250, 700)])
def test_crop_box_matches_what_the_transform_cuts(size):
    """Differential: a photo whose pixels encode their own x, y; the crop's corners must decode to crop_box."""
    w, h = size
    xs, ys = np.meshgrid(np.arange(w), np.arange(h))
    coded = np.stack([xs * 255.0 / (w - 1), ys * 255.0 / (h - 1), np.zeros_like(xs, dtype=float)], -1)
    seen = view(LITE0)
    crop = np.asarray(seen.crop(Image.fromarray(coded.round().astype(np.uint8))), dtype=float)
    left, top, right, bottom = seen.crop_box(size)
    side = crop.shape[0]
    # The centre of crop pixel i sits at left + (i + 0.5) * (right - left) / side in the photo.
    for i in (8, side // 2, side - 9):
        x_expected = left + (i + 0.5) * (right - left) / side - 0.5
        y_expected = top + (i + 0.5) * (bottom - top) / side - 0.5
        assert crop[side // 2, i, 0] * (w - 1) / 255 == pytest.approx(x_expected, abs=1.5 * w / 255 + 1)
        assert crop[i, side // 2, 1] * (h - 1) / 255 == pytest.approx(y_expected, abs=1.5 * h / 255 + 1)


def test_to_input_maps_the_crop_onto_the_whole_input():
    seen = view(LITE0)
    box = seen.crop_box((451, 300))
    assert seen.to_input((451, 300), box) == pytest.approx((0, 0, 224, 224))
    assert seen.to_input((451, 300), (0, 0, 451, 300)) == pytest.approx((0, 0, 224, 224))  # clipped
    assert seen.to_input((451, 300), (0, 0, 451, 300), clip=False)[0] < 0  # unclipped: past the crop
    assert seen.to_photo((451, 300), (0, 0, 224, 224)) == pytest.approx(box)


@pytest.mark.parametrize("name, mode", [("efficientnet_lite0", "correct"), ("inception_v3", "correct"),
                                        ("mobilenet_v1", "correct"), ("resnet50", "wrong_size")])
@pytest.mark.parametrize("size", [(451, 300), (300, 451), (333, 333), (1000, 240)])
def test_photo_to_input_to_photo_round_trips(name, mode, size):
    seen = view(name, mode)
    left, top, right, bottom = seen.crop_box(size)
    rng = np.random.default_rng(0)
    for _ in range(20):
        xs = np.sort(rng.uniform(left, right, 2))
        ys = np.sort(rng.uniform(top, bottom, 2))
        box = (xs[0], ys[0], xs[1], ys[1])  # inside the crop, so clipping changes nothing
        there = seen.to_input(size, box)
        assert all(0 <= v <= seen.side for v in there)
        assert seen.to_photo(size, there) == pytest.approx(box, abs=1e-9)
        back = (there[0] / 2, there[1] / 2, there[2], there[3])  # and the other way round
        assert seen.to_input(size, seen.to_photo(size, back)) == pytest.approx(back, abs=1e-9)


# -- where one unit looks -------------------------------------------------------------------------


def test_unit_box_from_a_per_axis_row_and_a_square_row():
    # VGG-16 pool3 (features.16): rf 44, stride 8, padding 18, a 28 x 28 map at 224 px.
    row = receptive_fields("vgg16").detail().set_index("name").loc["features.16"]
    field = unit_field(row)
    assert field == Field((44, 44), (8, 8), (18, 18))
    assert unit_box(field, (10, 2)) == (2 * 8 - 18, 10 * 8 - 18, 2 * 8 - 18 + 43, 10 * 8 - 18 + 43)
    assert unit_box(field, (10, 2), 224) == (0, 62, 41, 105)  # clipped to the image
    assert unit_box(Field((3, 3), (1, 1), (10, 10)), (0, 0), 224) is None  # entirely in the padding
    cy, cx = unit_centres(field, np.array([[0, 27]]), np.array([[0, 27]]))
    assert cy.tolist() == cx.tolist() == [[-18 + 21.5, 27 * 8 - 18 + 21.5]]
    # Inception v3's 7 x 1 convolutions: the per-axis row keeps both sides.
    inception = receptive_fields("inception_v3").detail().set_index("name")
    tall = unit_field(inception.loc["Mixed_6b.branch7x7_2.conv"])
    assert tall == Field((159, 255), (16, 16), (58, 106))
    square = unit_field({"rf_px": 51, "stride_px": 8, "padding_px": 20})
    assert square == Field((51, 51), (8, 8), (20, 20))
    assert unit_field({"rf_px": pd.NA, "stride_px": pd.NA, "padding_px": pd.NA}) is None  # global
    assert unit_field(receptive_fields("resnet50").detail().set_index("name").loc["avgpool"]) is None


def test_receptive_field_box_is_drawn_where_the_centre_unit_looks():
    crop = Image.new("RGB", (224, 224), (0, 0, 0))
    # A 28 x 28 map, rf 51, stride 8, padding 20: unit 14 sees pixels 92..142 on each axis.
    drawn = np.asarray(field_on_crop(crop, unit_field({"rf_px": 51, "stride_px": 8, "padding_px": 20}), (28, 28)))
    ys, xs = np.nonzero(drawn.sum(-1))
    assert (xs.min(), ys.min(), xs.max(), ys.max()) == (92, 92, 142, 142)
    whole = np.asarray(field_on_crop(crop, None, (1, 1)))
    assert whole[0].sum() > 0 and whole[112, 112].sum() == 0  # a global layer: the crop's outline
