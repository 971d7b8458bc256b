"""Preprocessing from the weights' metadata, predictions from the bundled Lite0, and `python -m zoo predict`."""
from __future__ import annotations

import hashlib
import json
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from zoo import registry
from zoo.__main__ import main as cli_main
from zoo.inference import predict as P
from zoo.inference import weights as W
from zoo.inference.images import SAMPLES_DIR, ImageDecodeError, decode_image, load_sample
from zoo.inference.models import load_model
from zoo.inference.view import PreprocessError, build_transform, view

PREDICTION_JSON_KEYS = {"model", "device", "input_size", "top", "ms", "runs", "first_ms", "backend", "precision",
                        "fp32_top5"}
CATS = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def lite0():
    return load_model("efficientnet_lite0")


@pytest.fixture(scope="module")
def chelsea():
    return load_sample("chelsea.png")


# -- preprocessing -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, text", [
    ("resnet50", "resize 232 (bilinear) -> centre crop 224 -> normalise mean/std"),
    ("inception_v3", "resize 342 (bilinear) -> centre crop 299 -> normalise mean/std"),
    ("efficientnet_b0", "resize 256 (bicubic) -> centre crop 224 -> normalise mean/std"),
    ("efficientnet_lite0", "resize 256 (bicubic) -> centre crop 224 -> normalise mean/std"),
])
def test_describe_reads_the_weights_transform(name, text):
    assert view(registry.get(name)).describe() == text


@pytest.mark.parametrize("name", ["resnet50", "inception_v3", "efficientnet_b0", "alexnet"])
def test_transform_matches_torchvisions_own(name, chelsea):
    # Differential: our v2 pipeline built from the metadata vs the weights' ImageClassification transform.
    entry = registry.get(name)
    ours = build_transform(entry)(chelsea)
    theirs = entry.weights.transforms()(chelsea)
    assert ours.shape == theirs.shape == (3, entry.input_size, entry.input_size)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_lite0_transform_is_tf_lite_scaling(chelsea):
    # Independent computation with PIL and numpy: bicubic 256 on the short side, centre 224, (x - 127) / 128.
    w, h = chelsea.size
    resized = chelsea.resize((int(w * 256 / h), 256), Image.BICUBIC)  # torchvision truncates the long side
    left, top = round((resized.width - 224) / 2), round((resized.height - 224) / 2)
    crop = np.asarray(resized.crop((left, top, left + 224, top + 224)), dtype=np.float32)
    expected = torch.from_numpy((crop - 127) / 128).permute(2, 0, 1)
    got = build_transform(registry.get("efficientnet_lite0"))(chelsea)
    assert torch.allclose(got, expected, atol=1e-6)


def test_wrong_modes(chelsea):
    r50, inc = registry.get("resnet50"), registry.get("inception_v3")
    raw = build_transform(r50, "no_normalise")(chelsea)
    assert raw.min() >= 0 and raw.max() <= 1 and raw.shape == (3, 224, 224)
    assert view(r50, "no_normalise").describe().endswith("-> scale to 0-1, no normalisation")
    assert build_transform(r50, "wrong_size")(chelsea).shape == (3, 32, 32)
    assert build_transform(inc, "wrong_size")(chelsea).shape == (3, 75, 75)  # its weights' min_size
    assert view(inc, "wrong_size").side == 75 and view(inc).side == 299
    assert "[model expects 299]" in view(inc, "wrong_size").describe()
    assert view(r50).stats() == "mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)"
    with pytest.raises(PreprocessError, match="no published weights"):
        build_transform(registry.get("mobilenet_v1"))
    with pytest.raises(PreprocessError, match="Unknown preprocessing mode"):
        build_transform(r50, "sideways")


# -- predictions ---------------------------------------------------------------------------------

def test_lite0_sees_a_cat_in_chelsea(lite0, chelsea):
    pred = P.predict(lite0, registry.get("efficientnet_lite0"), chelsea)
    assert pred.top1[1] in CATS
    assert len(pred.top) == 5 and [p for *_, p in pred.top] == sorted((p for *_, p in pred.top), reverse=True)
    assert 0.5 < sum(p for *_, p in pred.top) <= 1.0 + 1e-6
    assert pred.device == "cpu" and pred.input_size == 224 and pred.ms > 0
    assert not pred.fell_back_to_cpu and pred.notice is None and not pred.random_weights
    assert pred.preprocess == "resize 256 (bicubic) -> centre crop 224 -> normalise mean/std"
    assert set(pred.to_json()) == PREDICTION_JSON_KEYS
    assert (pred.backend, pred.precision, pred.fp32_top5, pred.backend_label) == ("torch", "fp32", None, "PyTorch")


def test_latency_is_the_median_of_the_warm_runs(lite0, chelsea, monkeypatch):
    # Scripted pass times: a cold first pass, then warm ones; the reported latency is their median.
    times = iter([250.0, 10.0, 12.0, 11.0, 30.0])
    real = P.predict_tensor

    def scripted(*args, **kwargs):
        return real(*args, **kwargs)[0], next(times)

    monkeypatch.setattr(P, "predict_tensor", scripted)
    pred = P.predict(lite0, "efficientnet_lite0", chelsea, runs=5, time_budget_ms=1e9)
    assert pred.runs == 5 and pred.warm_runs == 4 and pred.first_ms == 250.0
    assert pred.ms == 11.5 and pred.cold
    assert pred.to_json()["ms"] == 11.5 and pred.to_json()["first_ms"] == 250.0


def test_latency_runs_stop_at_the_time_budget_but_keep_one_warm_run(lite0, chelsea, monkeypatch):
    real = P.predict_tensor
    calls = []

    def slow(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)[0], 200.0

    monkeypatch.setattr(P, "predict_tensor", slow)
    pred = P.predict(lite0, "efficientnet_lite0", chelsea, runs=5, time_budget_ms=300.0)
    assert len(calls) == pred.runs == 2 and pred.ms == 200.0 and not pred.cold
    calls.clear()
    single = P.predict(lite0, "efficientnet_lite0", chelsea, runs=1)
    assert len(calls) == single.runs == 1 and single.first_ms is None


def test_other_samples_are_not_cats(lite0):
    pred = P.predict(lite0, "efficientnet_lite0", load_sample("coffee.jpg"), topk=3)
    assert pred.top1[1] == "espresso" and len(pred.top) == 3


def test_wrong_preprocessing_changes_the_answer(lite0, chelsea):
    right = P.predict(lite0, "efficientnet_lite0", chelsea)
    small = P.predict(lite0, "efficientnet_lite0", chelsea, mode="wrong_size")
    raw = P.predict(lite0, "efficientnet_lite0", chelsea, mode="no_normalise")
    assert small.top1[1] not in CATS and small.input_size == 32
    assert raw.top != right.top  # Lite0's mean/std are ~0.5, so it still sees a cat, less surely


def test_shared_model_is_never_mutated_by_concurrent_requests(lite0, chelsea):
    before = {k: v.clone() for k, v in lite0.state_dict().items()}
    results, errors = [], []

    def request():
        try:
            results.append(P.predict(lite0, "efficientnet_lite0", chelsea).top)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 6
    assert all([i for i, *_ in top] == [i for i, *_ in results[0]] for top in results)
    assert not lite0.training and not lite0._forward_hooks and not lite0._forward_pre_hooks
    assert all(torch.equal(v, before[k]) for k, v in lite0.state_dict().items())


def test_training_mode_model_is_refused(chelsea):
    model = registry.get("mobilenet_v3_small").build("cpu").train()
    with pytest.raises(ValueError, match="eval mode"):
        P.predict(model, "mobilenet_v3_small", chelsea)


def test_googlenet_weights_switch_on_tf_input_transform(tmp_path, monkeypatch):
    # torchvision sets transform_input=True whenever it loads these TF-trained weights; so must we.
    # The published file keeps the two auxiliary heads, which the builder drops after loading.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    source = registry.get("googlenet").builder(aux_logits=True, init_weights=False)
    path = W.cache_path("googlenet")
    path.parent.mkdir(parents=True)
    torch.save(source.state_dict(), path)
    prefix = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    monkeypatch.setitem(W.SPEC_OVERRIDES, "googlenet",
                        W.WeightsSpec("googlenet", path.name, prefix, None, path.stat().st_size))
    assert load_model("googlenet").transform_input is True
    assert load_model("googlenet", allow_random=True).transform_input is True
    monkeypatch.delitem(W.SPEC_OVERRIDES, "googlenet")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    assert load_model("googlenet", allow_random=True).transform_input is False  # random: nothing to match


def test_agreement_and_default_selection():
    def pred(model, index, label):
        return P.Prediction(model, "cpu", 224, [(index, label, 0.9)], 1.0)

    agree = P.agreement([pred("a", 281, "tabby"), pred("b", 282, "tiger cat"), pred("c", 281, "tabby")])
    assert (agree.label, agree.index, agree.agreeing, agree.total, agree.unanimous) == ("tabby", 281, ["a", "c"], 3, False)
    assert P.agreement([pred("a", 1, "x"), pred("b", 1, "x")]).unanimous
    assert P.agreement([]).label is None
    assert P.default_selection(["efficientnet_lite0"]) == ["efficientnet_lite0"]
    assert P.default_selection(["resnet18", "resnet50", "efficientnet_lite0", "efficientnet_b0"]) == [
        "resnet50", "efficientnet_b0"]


# -- python -m zoo predict -----------------------------------------------------------------------

def test_cli_predict_json(capsys, tmp_path, monkeypatch):
    from zoo.inference import fast_cpu

    monkeypatch.setenv(fast_cpu.CACHE_ENV, str(tmp_path))  # the fast path's files go to a fresh folder
    monkeypatch.delenv(fast_cpu.BACKEND_ENV, raising=False)
    assert cli_main(["predict", str(SAMPLES_DIR / "chelsea.png"), "--model", "efficientnet_lite0", "--topk", "3",
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == PREDICTION_JSON_KEYS
    # The app's CPU path: whichever backend this machine measured fastest, always named with its precision.
    assert out["backend"] in {"torch", "onnxruntime", "openvino"} and out["precision"] in {"fp32", "bf16"}
    assert out["runs"] == 5 and out["first_ms"] > 0
    assert out["model"] == "efficientnet_lite0" and out["input_size"] == 224 and out["device"] == "cpu"
    assert len(out["top"]) == 3 and set(out["top"][0]) == {"index", "label", "prob"}
    assert out["top"][0]["label"] in CATS and out["ms"] > 0


def test_cli_predict_bad_image_is_the_uis_sentence(tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"%PDF-1.7 this is a document, not a photo")
    with pytest.raises(ImageDecodeError) as e:
        decode_image(bad.read_bytes())
    assert cli_main(["predict", str(bad), "--model", "efficientnet_lite0", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {e.value}\n" and captured.out == ""


def test_cli_predict_missing_weights_is_one_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert cli_main(["predict", str(SAMPLES_DIR / "chelsea.png"), "--model", "resnet50"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ResNet-50's weights (102.5 MB) are not on this computer") and err.count("\n") == 1
