"""EfficientNet-Lite0/1/2: one builder, three real ImageNet checkpoints that ship with the app."""
from __future__ import annotations

import pytest
import torch

from zoo import registry
from zoo.analysis import summarize
from zoo.inference.images import load_sample
from zoo.inference.models import load_model
from zoo.inference.predict import predict
from zoo.models import efficientnet_lite as L

CATS = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 504}  # espresso, cup, coffee mug


@pytest.fixture(scope="module", params=registry.LITE_MODELS)
def lite(request):
    return request.param, load_model(request.param)


def test_checkpoint_fits_the_builder_and_counts_match(lite):
    name, _ = lite
    state = torch.load(L.checkpoint_path(name), weights_only=True, map_location="cpu")
    result = L.build(name).load_state_dict(L.remap_checkpoint(state), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    learned = sum(v.numel() for k, v in state.items() if not k.endswith(("running_mean", "running_var",
                                                                          "num_batches_tracked")))
    assert summarize(name).params == learned


@pytest.mark.parametrize("sample, classes", [("chelsea.png", CATS), ("coffee.jpg", COFFEE)])
def test_real_predictions(lite, sample, classes):
    name, model = lite
    pred = predict(model, registry.get(name), load_sample(sample))
    assert pred.top1[0] in classes, (name, sample, pred.top[:3])


def test_lite_scaling_follows_the_tf_builder():
    # Checked against the checkpoints above: Lite1/2 have 21 blocks (first and last stage not
    # repeated), Lite2's last stage is round_filters(320 * 1.1) = 352 channels.
    assert [sum(r for r, *_ in L.stage_settings(c.width, c.depth)) for c in L.LITE.values()] == [16, 21, 21]
    assert [L.stage_settings(c.width, c.depth)[-1][-1] for c in L.LITE.values()] == [320, 320, 352]
    assert L.round_filters(112, 1.1) == 120 and L.round_filters(16, 1.1) == 16


@pytest.mark.parametrize("name, side, resize", [("efficientnet_lite0", 224, 256), ("efficientnet_lite1", 240, 272),
                                                ("efficientnet_lite2", 260, 292)])
def test_preprocessing_is_tfs_evaluation_crop(name, side, resize):
    pre = registry.get(name).preprocess
    assert (pre["crop"], pre["resize"], pre["interpolation"]) == (side, resize, "bicubic")
    assert pre["mean"] == (127 / 255,) * 3 and pre["std"] == (128 / 255,) * 3
    assert registry.get(name).input_size == side


def test_fresh_install_predicts_with_all_three_side_by_side(tmp_path, monkeypatch):
    from zoo.inference import weights as W
    from zoo.inference.predict import default_selection

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # nothing of torchvision's cached
    assert W.available_models() == list(registry.LITE_MODELS)
    assert default_selection(W.available_models()) == list(registry.LITE_MODELS)
