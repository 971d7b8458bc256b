"""The Inside-the-network page through Streamlit's AppTest: every view, a method switch, random
weights clearly marked, and the shared model left exactly as it was."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import assert_ok, page_test

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "photo" / "inside.py")


def run(**query) -> AppTest:
    at = page_test("photo/inside.py", **query)
    assert_ok(at, errors=True)
    return at


def captions(at: AppTest) -> list[str]:
    return [i.caption for img in at.get("image") for i in img.proto.imgs]


@pytest.fixture(autouse=True)
def _cpu(monkeypatch):
    monkeypatch.delenv("ZOO_DEVICE", raising=False)


def test_inside_page_views_and_no_side_effects():
    from tests.helpers import fingerprint

    # Grad-CAM (the default view) on the default sample with the bundled Lite0.
    at = run()
    assert at.selectbox(key="in_model").value == "efficientnet_lite0"
    assert "Grad-CAM for 'tiger cat' at _bn1" in captions(at)
    assert any("The map is 7 × 7 (the grid of _bn1, 1280 channels)" in c.value for c in at.caption)
    assert not any("Random weights" in w.value for w in at.warning)

    # Eigen-CAM needs no class: the caption says so, and the method goes into the URL.
    at.button_group(key="in_method").set_value("eigencam").run()
    assert not at.exception
    assert "Eigen-CAM for the dominant component (no class) at _bn1" in captions(at)
    assert at.query_params["in_method"] == "eigencam"

    # Another class from the searchable list: the map follows it.
    select = next(s for s in at.selectbox if s.key.startswith("in_class_"))
    at.button_group(key="in_method").set_value("gradcam")
    select.set_value(967).run()  # espresso
    assert "Grad-CAM for 'espresso' at _bn1" in captions(at)

    # The other views, each from a deep link.
    at = run(in_view="Occlusion")
    assert any("Correlation with Grad-CAM" in c.value for c in at.caption)
    assert at.get("plotly_chart")
    at = run(in_view="Feature maps")
    assert [m.label for m in at.metric] == ["Output shape (C × H × W)", "Receptive field", "Stride (jump)"]
    assert any("most active of" in m.value for m in at.markdown)
    at = run(in_view="Filters")
    assert any("32 filters of 3 × 3 × 3" in m.value and "as learned on ImageNet" in m.value for m in at.markdown)

    # A model with no published weights at all: random weights, said loudly, and every view still works.
    at = run(in_model="mobilenet_v1", in_view="Filters")
    assert any("Random weights" in w.value for w in at.warning)
    assert any("as initialised (random weights)" in m.value for m in at.markdown)
    assert any("EfficientNet-Lite0's 32 of 3 × 3 × 3" in m.value for m in at.markdown)  # learned ones beside
    at = run(in_model="mobilenet_v1")
    assert any(c.startswith("Grad-CAM for") and c.endswith("at features · random weights, so it means nothing")
               for c in captions(at))

    # The shared instance the page read (top-5, occlusion, the copy for hooks) is untouched.
    from pages.ui.models import get_model
    from zoo.inference.models import load_model

    shared = get_model("efficientnet_lite0", "cpu")
    fresh = load_model("efficientnet_lite0")
    assert fingerprint(shared) == fingerprint(fresh)


def test_occlusion_over_the_budget_is_refused_with_a_setting_the_sliders_offer():
    at = page_test("photo/inside.py", in_view="Occlusion", in_model="vgg16")
    at.slider(key="in_patch").set_value(8).run()
    at.slider(key="in_stride").set_value(4).run()
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert message.startswith("Occluding VGG-16's input with an 8 px patch every 4 px (3,026 forward passes)")
    assert "which fits" in message and not at.get("plotly_chart")


def test_gradcam_over_the_budget_offers_eigencam():
    at = page_test("photo/inside.py", timeout=300, in_model="efficientnet_b7")
    assert not at.exception
    assert len(at.error) == 1 and "with Eigen-CAM it would need" in at.error[0].value
