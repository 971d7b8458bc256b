"""The Predict page through Streamlit's AppTest, on a fresh install with no network.

TORCH_HOME is an empty temporary folder and the weights base URL a local address, so only the
bundled EfficientNet-Lite0 is available, exactly as on a classroom laptop without Wi-Fi.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import assert_ok, page_test
from tests.helpers import checkpoint_bytes as _checkpoint_bytes
from zoo import registry
from zoo.inference import weights as W
from zoo.inference.images import SAMPLES_DIR, load_sample
from zoo.inference.models import LOAD_COUNTS
from zoo.inference.predict import predict

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "photo" / "predict.py")
CATS = {"tabby", "tiger cat", "Egyptian cat"}


def _app(**query) -> AppTest:
    return page_test("photo/predict.py", timeout=120, **query)


_ok = assert_ok


def _top1(at: AppTest, name: str) -> str:
    return at.session_state["pred_results"][name]["top"][0]["label"]


def test_defaults_render_and_lite0_sees_the_cat(offline):
    at = _app()
    _ok(at)
    assert not at.error
    # Offline, with nothing of torchvision's cached: the three bundled Lite models side by side.
    assert at.multiselect(key="pred_models").value == list(registry.LITE_MODELS)
    assert all(_top1(at, name) in CATS for name in registry.LITE_MODELS)
    assert any(m.value.startswith(":blue-badge[:material/memory: CPU") for m in at.markdown)
    assert any(m.value.startswith("Top-1: :green[**") for m in at.markdown)
    captions = [c.value for c in at.caption]
    assert any("GMACs at 224 px" in c and " ms on CPU" in c for c in captions)
    assert any(c.startswith("Preprocessing: resize 256 (bicubic) -> centre crop 224 -> normalise mean/std") for c in captions)
    assert any(c.startswith("Preprocessing: resize 292 (bicubic) -> centre crop 260 -> normalise mean/std") for c in captions)
    assert len(at.get("plotly_chart")) == 3


def test_uploaded_chelsea_is_a_cat(offline):
    at = _app()
    at.session_state["pred_source"] = "Upload"
    at.run()
    _ok(at)
    assert at.session_state["pred_results"] == {}  # nothing uploaded yet: no image, no prediction
    at.file_uploader[0].upload("chelsea.png", (SAMPLES_DIR / "chelsea.png").read_bytes(), "image/png").run()
    _ok(at)
    assert not at.error
    assert _top1(at, "efficientnet_lite0") in CATS


def test_wrong_preprocessing_toggle_changes_the_result(offline):
    at = _app()
    right = at.session_state["pred_results"]["efficientnet_lite0"]["top"]
    at.toggle(key="pred_wrong").set_value(True).run()
    _ok(at)
    raw = at.session_state["pred_results"]["efficientnet_lite0"]["top"]
    assert raw != right
    assert any("no normalisation" in c.value for c in at.caption)
    at.radio(key="pred_wrong_kind").set_value("wrong_size").run()
    _ok(at)
    assert _top1(at, "efficientnet_lite0") not in CATS
    assert at.session_state["pred_results"]["efficientnet_lite0"]["input_size"] == 32
    assert any("What EfficientNet-Lite0 receives: 32 x 32 px" in c for img in at.image for c in img.captions)
    assert at.query_params["pred_pre"] in ("wrong_size", ["wrong_size"])


def test_deep_link_restores_models_and_mode(offline):
    at = _app(pred_models="efficientnet_lite0,not_a_model", pred_pre="no_normalise")
    _ok(at)
    assert at.multiselect(key="pred_models").value == ["efficientnet_lite0"]
    assert at.toggle(key="pred_wrong").value is True
    assert at.radio(key="pred_wrong_kind").value == "no_normalise"


def test_unavailable_model_is_a_sentence_and_offline_download_a_banner(offline):
    at = _app()
    at.multiselect(key="pred_models").set_value(["efficientnet_lite0", "resnet50"]).run()
    _ok(at)
    assert [i.value for i in at.info] == [W.missing_message("resnet50")]
    assert _top1(at, "efficientnet_lite0") in CATS  # the usable model still predicts
    at.button(key="pred_dl_resnet50").click().run()
    _ok(at)
    assert [w.value for w in at.warning] == [
        "Without network these models can still predict: EfficientNet-Lite0, EfficientNet-Lite1 and EfficientNet-Lite2."]
    assert len(at.error) == 1 and at.error[0].value.startswith("No network: could not reach 127.0.0.1:")
    assert W.weights_path("resnet50") is None


@pytest.fixture
def forget_shared_models():
    """Drop process-wide caches afterwards: this test's stand-in checkpoint must not serve later tests."""
    import streamlit as st

    from pages.ui.models import get_model

    yield
    get_model.clear()
    st.cache_data.clear()


def test_download_button_fetches_and_the_model_then_predicts(mirror, torch_home, forget_shared_models):  # noqa: F811
    # A real MobileNet V3 Small checkpoint (seeded random weights) served from 127.0.0.1.
    state = registry.get("mobilenet_v3_small").build("cpu", seed=7).state_dict()
    mirror("mobilenet_v3_small", _checkpoint_bytes(state))
    at = _app(pred_models="efficientnet_lite0,mobilenet_v3_small")
    _ok(at)
    assert "mobilenet_v3_small" not in at.session_state["pred_results"]
    at.button(key="pred_dl_mobilenet_v3_small").click().run()
    _ok(at)
    assert not at.error and W.is_available_offline("mobilenet_v3_small")
    results = at.session_state["pred_results"]
    assert set(results) == {"efficientnet_lite0", "mobilenet_v3_small"}
    assert len(at.get("plotly_chart")) == 2
    assert len(at.success) + len(at.info) == 1  # the agreement line across the two models


def test_twenty_sessions_share_one_model_load(offline):
    from pages.ui.models import get_model

    get_model.clear()
    key = ("efficientnet_lite0", "cpu")
    before = LOAD_COUNTS[key]
    image, entry = load_sample("chelsea.png"), registry.get("efficientnet_lite0")
    tops, errors = [], []
    start = threading.Barrier(20)

    def session():
        try:
            start.wait()
            model = get_model("efficientnet_lite0", "cpu")
            tops.append(predict(model, entry, image).top1[1])
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=session) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert LOAD_COUNTS[key] == before + 1
    assert len(tops) == 20 and len(set(tops)) == 1 and tops[0] in CATS


def test_damaged_cached_weights_are_a_sentence_and_can_be_fetched_again(offline, torch_home):  # noqa: F811
    cached = torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a checkpoint")
    at = _app()  # resnet18 looks cached, so it joins the default selection
    _ok(at)
    assert at.multiselect(key="pred_models").value == ["resnet18", "efficientnet_lite0"]
    assert [e.value for e in at.error] == [
        "ResNet-18's cached weights failed their SHA-256 check and were removed; download them again while online "
        "(Download button, or `python -m zoo fetch resnet18`)."]
    assert not cached.exists() and at.button(key="pred_dl_resnet18")
    assert _top1(at, "efficientnet_lite0") in CATS
