"""The ONNX Runtime CPU path: same predictions as eager torch, cached export, clean fallbacks.

ONNX Runtime is forced here (``ZOO_BACKEND=onnxruntime``), so these tests do not depend on which
backend this machine measures fastest; the measured choice and OpenVINO are tested in
tests/test_backends.py. Correctness only; speed is measured side by side in bench/bench_predict.py.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import torch

from zoo import registry
from zoo.inference import fast_cpu as F
from zoo.inference.images import load_sample
from zoo.inference.models import load_model
from zoo.inference.predict import predict, predict_tensor
from zoo.inference.view import build_transform

pytest.importorskip("onnxruntime")

SMALL = "mobilenet_v3_small"  # the quickest torchvision model to export (~2.5M params)
CAT_CLASSES = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def small_model():
    return load_model(SMALL, allow_random=True)


@pytest.fixture(scope="module")
def small_export(tmp_path_factory, small_model):
    """A good export of the random-init stand-in, made once for the tests that copy or spoil it."""
    folder = tmp_path_factory.mktemp("onnx")
    mp = pytest.MonkeyPatch()
    mp.setenv(F.CACHE_ENV, str(folder))
    mp.setenv(F.BACKEND_ENV, "onnxruntime")
    try:
        fast = F.accelerate(SMALL, small_model)
    finally:
        mp.undo()
    assert fast.backend == "onnxruntime", fast.reason
    return fast.module.path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(F.CACHE_ENV, str(tmp_path))
    monkeypatch.setenv(F.BACKEND_ENV, "onnxruntime")
    monkeypatch.delenv(F.DISABLE_ENV, raising=False)
    monkeypatch.delenv(F.READONLY_ENV, raising=False)
    return tmp_path


def _top5_match(eager_probs: torch.Tensor, fast_probs: torch.Tensor) -> None:
    # Compare at eager's top-5 classes, so near-ties in a random-init model cannot reorder the lists.
    values, idx = eager_probs[0].topk(5)
    assert torch.allclose(fast_probs[0, idx], values, atol=1e-4, rtol=0)


def test_lite0_fast_path_matches_eager_and_sees_the_cat(cache):
    entry = registry.get("efficientnet_lite0")
    model = load_model("efficientnet_lite0")
    fast = F.accelerate("efficientnet_lite0", model)
    assert fast.backend == "onnxruntime", fast.reason
    assert fast.exported and fast.max_prob_diff <= F.PROB_TOL
    x = build_transform(entry)(load_sample("chelsea.png")).unsqueeze(0)
    eager_probs, _ = predict_tensor(model, x)
    fast_probs, _ = predict_tensor(fast.module, x)
    _top5_match(eager_probs, fast_probs)
    got = predict(fast.module, entry, load_sample("chelsea.png"))
    assert got.top1[1] in CAT_CLASSES
    assert [i for i, _, _ in got.top] == eager_probs[0].topk(5).indices.tolist()


def test_random_init_torchvision_model_matches_eager(cache, small_model):
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "onnxruntime", fast.reason
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))  # batch 2: the batch axis is dynamic
    with torch.inference_mode():
        eager, got = small_model(x), fast.module(x)
    assert torch.allclose(got, eager, rtol=1e-3, atol=1e-4)
    _top5_match(eager.softmax(-1)[:1], got.softmax(-1)[:1])
    assert fast.module.zoo_random_weights is True


def test_export_is_cached_and_reused(cache, small_model, small_export):
    shutil.copy(small_export, cache / small_export.name)
    before = (cache / small_export.name).stat().st_mtime_ns
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "onnxruntime" and not fast.exported
    assert fast.module.path == cache / small_export.name
    assert fast.module.path.stat().st_mtime_ns == before
    again = F.accelerate(SMALL, small_model)
    assert not again.exported and sorted(p.name for p in cache.iterdir()) == [small_export.name]


def test_corrupt_cached_export_is_rebuilt(cache, small_model, small_export):
    path = cache / small_export.name
    path.write_bytes(b"not an onnx graph" * 100)
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "onnxruntime", fast.reason
    assert fast.exported
    assert path.read_bytes()[:17] != b"not an onnx graph"


def test_stale_cached_export_of_other_weights_is_rebuilt(cache, small_model, small_export):
    # A valid graph under the right name but with other weights: only the check against eager can tell.
    other = registry.get(SMALL).build("cpu").eval()
    with torch.no_grad():
        for p in other.parameters():
            p.normal_(0, 0.05, generator=torch.Generator().manual_seed(7))
    F.export(other, cache / small_export.name, 224)
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "onnxruntime" and fast.exported


def test_other_input_sizes_and_gradients_go_to_torch(cache, small_model, small_export):
    shutil.copy(small_export, cache / small_export.name)
    fast = F.accelerate(SMALL, small_model).module
    assert list(fast.parameters()) == []  # .to()/.train() on the wrapper cannot reach the shared model
    assert F.torch_model(fast) is small_model
    thumb = torch.randn(1, 3, 32, 32)  # the page's deliberately "wrong size" input
    assert not fast.handles(thumb)
    with torch.inference_mode():
        assert torch.equal(fast(thumb), small_model(thumb))
    x = torch.randn(1, 3, 224, 224, requires_grad=True)
    out = fast(x)
    assert out.requires_grad  # ran in torch, so CAM-style gradients still work


def test_falls_back_to_torch_when_onnxruntime_is_missing(cache, small_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` raise ImportError
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "torch" and fast.module is small_model
    assert "not installed" in fast.reason
    assert list(cache.iterdir()) == []
    monkeypatch.setitem(sys.modules, "openvino", None)  # and with no fast backend at all, unforced
    monkeypatch.delenv(F.BACKEND_ENV)
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "torch" and fast.module is small_model
    assert "not installed" in fast.reason
    assert list(cache.iterdir()) == []


def test_falls_back_to_torch_when_onnxruntime_fails(cache, small_model, small_export, monkeypatch):
    import onnxruntime

    def broken(*args, **kwargs):
        raise RuntimeError("simulated ONNX Runtime failure")

    monkeypatch.setattr(onnxruntime, "InferenceSession", broken)
    shutil.copy(small_export, cache / small_export.name)
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "torch" and fast.module is small_model
    assert fast.reason and "\n" not in fast.reason
    entry = registry.get(SMALL)
    assert predict(fast.module, entry, load_sample("chelsea.png")).top  # the app still predicts


def test_falls_back_to_torch_when_export_fails(cache, small_model, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated exporter failure")

    monkeypatch.setattr(torch.onnx, "export", broken)
    F._EXPORT_BACKOFF.clear()
    fast = F.accelerate(SMALL, small_model)
    F._EXPORT_BACKOFF.clear()
    assert fast.backend == "torch" and "could not be exported" in fast.reason
    assert not [p for p in cache.iterdir() if p.suffix in (".onnx", ".part")]  # no half file left behind


def test_disabled_by_env_and_not_for_other_devices(cache, small_model, monkeypatch):
    meta = registry.get(SMALL).build("meta")
    assert F.accelerate(SMALL, meta).backend == "torch"
    monkeypatch.setenv(F.DISABLE_ENV, "0")
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "torch" and F.DISABLE_ENV in fast.reason


def test_progress_reports_stages_up_to_done(cache, small_model):
    seen = []
    F.accelerate(SMALL, small_model, progress=lambda frac, total, text="": seen.append((frac, text)))
    fracs = [f for f, _ in seen]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0 and all(t for _, t in seen)


def test_export_step_alone_for_a_page_progress_bar(cache, small_model):
    assert F.needs_export(SMALL, small_model)
    seen = []
    path = F.ensure_export(SMALL, small_model, progress=lambda frac, total, text="": seen.append(frac))
    assert path.exists() and seen and not F.needs_export(SMALL, small_model)
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "onnxruntime" and not fast.exported and fast.module.path == path
    assert fast.module.backend_for(torch.zeros(1, 3, 224, 224)) == "onnxruntime"
    assert fast.module.backend_for(torch.zeros(1, 3, 32, 32)) == "torch"


def test_predict_page_runs_lite0_on_onnxruntime(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from pages.ui.models import get_model

    get_model.clear()  # a predictor that earlier tests built on the measured backend must not answer here
    monkeypatch.setenv(F.BACKEND_ENV, "onnxruntime")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv(F.CACHE_ENV, raising=False)
    monkeypatch.delenv(F.DISABLE_ENV, raising=False)
    monkeypatch.delenv("ZOO_DEVICE", raising=False)
    monkeypatch.setenv("ZOO_WEIGHTS_BASE_URL", "http://127.0.0.1:9/")  # nothing to download from
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "photo" / "predict.py"), default_timeout=120)
    at.query_params["pred_models"] = "efficientnet_lite0"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state["pred_results"]["efficientnet_lite0"]
    get_model.clear()
    assert result["top"][0]["label"] in CAT_CLASSES
    assert (result["backend"], result["precision"]) == ("onnxruntime", "fp32")
    assert any(" ms on CPU" in c.value and "ONNX Runtime fp32" in c.value for c in at.caption)


def test_large_models_stay_in_torch_on_a_small_machine(cache, small_model, monkeypatch):
    monkeypatch.setattr(F, "LARGE_WEIGHTS_MB", 1.0)  # make the 10 MB stand-in count as large
    monkeypatch.setenv(F.MEMORY_ENV, "4")
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "torch" and "4 GB" in fast.reason
    assert not F.needs_export(SMALL, small_model)  # so the page shows no export progress bar either
    monkeypatch.setenv(F.MEMORY_ENV, "16")
    assert F.accelerate(SMALL, small_model).backend == "onnxruntime"


def test_exact_fp32_switch_keeps_to_exact_backends_and_lives_in_the_url(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from pages.ui.models import get_model

    get_model.clear()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for env in (F.CACHE_ENV, F.DISABLE_ENV, F.BACKEND_ENV, F.READONLY_ENV, "ZOO_DEVICE"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("ZOO_WEIGHTS_BASE_URL", "http://127.0.0.1:9/")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "photo" / "predict.py"), default_timeout=180)
    at.query_params["pred_models"] = "efficientnet_lite0"
    at.query_params["pred_fp32"] = "1"  # a shared link with the switch on
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.toggle(key="pred_fp32").value is True
    exact = at.session_state["pred_results"]["efficientnet_lite0"]
    assert exact["precision"] == "fp32" and exact["backend"] in {"onnxruntime", "openvino", "torch"}
    label = {"onnxruntime": "ONNX Runtime fp32", "openvino": "OpenVINO fp32", "torch": "PyTorch"}[exact["backend"]]
    assert any(" ms on CPU" in c.value and label in c.value and "warm run" in c.value for c in at.caption)
    at.toggle(key="pred_fp32").set_value(False).run()
    assert not at.exception and "pred_fp32" not in at.query_params
    auto = at.session_state["pred_results"]["efficientnet_lite0"]
    get_model.clear()
    # Whatever this machine measured fastest, named with its precision; bf16 only with its per-photo comparison.
    assert auto["top"][0]["label"] in CAT_CLASSES and (auto["precision"] == "fp32") == (auto["fp32_top5"] is None)
