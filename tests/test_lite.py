"""EfficientNet-Lite0/1/2: one builder, three real ImageNet checkpoints that ship with the app."""
from __future__ import annotations

import pytest
import torch

from zoo import registry
from zoo.analysis import summarize
from zoo.inference.images import SAMPLES_DIR, load_sample
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


@pytest.mark.parametrize("name", ["efficientnet_lite1", "efficientnet_lite2"])
def test_cam_and_features_work_for_the_newer_lite_models(name):
    """Grad-CAM at the catalogue's CAM layer, on the cat photo: a map over the model's own crop that
    is not flat, for the top class (a cat); feature maps of the CAM layer with its real shape."""
    import numpy as np

    from zoo.inference.cam import compute_cam
    from zoo.inference.features import feature_maps

    entry = registry.get(name)
    model = load_model(name)
    image = load_sample("chelsea.png")
    r = compute_cam(model, entry, image)
    assert r.class_index in CATS and not r.random_weights
    assert r.heatmap.shape[0] == r.heatmap.shape[1] and float(np.ptp(r.heatmap)) > 0.5
    assert r.crop.size == (entry.input_size, entry.input_size)
    fm = feature_maps(model, entry, image, r.layer)
    assert fm.shape[1:] == tuple(r.activation_shape[-2:]) and fm.maps.shape[0] > 0


def test_cli_predict_cam_and_fetch_know_the_bundled_lite_models(tmp_path, monkeypatch, capsys):
    from zoo.__main__ import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("ZOO_WEIGHTS_BASE_URL", "http://127.0.0.1:9/")  # nothing to download from
    sample = str(SAMPLES_DIR / "coffee.jpg")
    assert main(["predict", "--model", "efficientnet_lite2", sample, "--json"]) == 0
    import json

    top = json.loads(capsys.readouterr().out)["top"]
    assert top[0]["index"] in COFFEE
    out_png = tmp_path / "cam.png"
    assert main(["cam", "--model", "efficientnet_lite1", sample, "--out", str(out_png)]) == 0
    assert out_png.stat().st_size > 1000
    capsys.readouterr()
    main(["fetch", "--all"])
    said = "".join(capsys.readouterr())
    # Offline, the fetch names what still predicts: the three bundled models.
    assert "Without network these models can still predict: EfficientNet-Lite0, EfficientNet-Lite1 and " \
           "EfficientNet-Lite2." in said


@pytest.mark.parametrize("name", ["efficientnet_lite1", "efficientnet_lite2"])
def test_fast_cpu_path_exports_each_lite_model_at_its_own_size(name, tmp_path, monkeypatch):
    from zoo.inference import fast_cpu as F

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv(F.CACHE_ENV, raising=False)
    monkeypatch.delenv(F.READONLY_ENV, raising=False)
    entry = registry.get(name)
    model = load_model(name)
    assert F.needs_export(name, model, entry.input_size)
    assert F.ensure_export(name, model, input_size=entry.input_size)
    assert not F.needs_export(name, model, entry.input_size)
    exports = list(tmp_path.rglob("*.onnx"))
    assert exports and any(str(entry.input_size) in p.name for p in exports), exports
