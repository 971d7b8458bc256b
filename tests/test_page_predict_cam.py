"""Grad-CAM beside each prediction on the Predict page, and the shared model left untouched."""
from __future__ import annotations

from tests.helpers import assert_ok as _ok
from tests.helpers import page_test


def _hooks(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               + len(getattr(m, "_full_backward_hooks", None) or {}) for m in model.modules())


def test_cam_toggle_shows_a_heatmap_per_model_and_keeps_the_link(offline):
    at = page_test("photo/predict.py", timeout=300)  # three models, each with a CAM: slow on a loaded machine
    _ok(at)
    assert not [img for el in at.get("image") for img in el.proto.imgs if img.caption.startswith("Grad-CAM")]
    at.toggle(key="pred_cam").set_value(True).run()
    _ok(at)
    assert not at.error
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    cams = [c for c in captions if c.startswith("Grad-CAM: where EfficientNet-Lite0 finds")]
    # Lite0's top-1 on the default cat photo is a cat class, and its default target is the head's BN.
    assert len(cams) == 1, captions
    assert any(cat in cams[0] for cat in ("tabby", "tiger cat", "Egyptian cat")) and "`_bn1`" in cams[0]
    assert at.query_params["pred_cam"] == "1"

    from pages.ui.models import get_model

    shared = get_model("efficientnet_lite0", "cpu")
    assert _hooks(shared) == 0
    assert all(p.requires_grad for p in shared.parameters())


def test_cam_deep_link(offline):
    at = page_test("photo/predict.py", timeout=300, pred_cam="1")
    _ok(at)
    assert at.toggle(key="pred_cam").value is True
