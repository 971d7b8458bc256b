"""AppTest of the receptive-field page: defaults, model and layer changes, deep links, the gradient buttons."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import assert_ok, page_test

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "understand" / "receptive_fields.py")


def figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def start(**params) -> AppTest:
    at = page_test("understand/receptive_fields.py", **params)
    assert_ok(at, errors=True)
    return at


def test_defaults_plot_three_models_and_the_overlay():
    at = start()
    assert at.title[0].value == "Receptive fields"
    depth, overlay = figures(at)
    names = {t.get("name") for t in depth["data"] if t.get("name")}
    assert names == {"AlexNet", "VGG-16", "ResNet-50"}
    assert depth["layout"]["yaxis"]["type"] == "log"
    stars = [t for t in depth["data"] if t.get("marker", {}).get("symbol") == "star"]
    assert stars, "global pools are drawn as stars"
    # ResNet-50's last spatial map is the default layer; its centre unit's box is on the photo.
    assert at.query_params["rf_model"] == "resnet50" and at.query_params["rf_layer"] == "layer4.2.relu"
    assert (at.query_params["rf_row"], at.query_params["rf_col"]) == ("3", "3")
    boxes = [s for s in overlay["layout"]["shapes"] if s["type"] == "rect"]
    # unit 3: 3 * 32 - 213 = -117 .. -117 + 427 - 1 = 309 (dashed, past the image), then clipped to 0..223
    assert {(b["x0"], b["x1"]) for b in boxes} == {(-117.5, 309.5), (-0.5, 223.5)}
    assert {m.label: m.value for m in at.metric}["rf_px"] == "427"
    table = at.dataframe[0].value
    assert "conv1" in set(table["name"]) and table.loc[table["name"] == "avgpool", "rf_px"].isna().all()


def test_changing_model_layer_and_unit():
    at = start()
    at.multiselect(key="rf_models_pick").select("mobilenet_v3_small").run()
    depth = figures(at)[0]
    assert any(t.get("marker", {}).get("symbol") == "diamond-open" for t in depth["data"])  # SE-gated layers
    assert at.query_params["rf_models"] == "alexnet,vgg16,resnet50,mobilenet_v3_small"

    at.selectbox(key="rf_model_pick").set_value("vgg16").run()
    assert not at.exception
    layer = at.selectbox(key="rf_layer_pick_vgg16")
    assert layer.value == "avgpool" and any(o.startswith("features.16 ") for o in layer.options)
    layer.set_value("features.16").run()  # pool3: rf 44, stride 8, padding 18, a 28x28 map
    assert not at.exception
    at.slider(key="rf_row_vgg16_features.16").set_value(10).run()
    at.slider(key="rf_col_vgg16_features.16").set_value(2).run()
    assert not at.exception
    assert (at.query_params["rf_layer"], at.query_params["rf_row"], at.query_params["rf_col"]) == (
        "features.16", "10", "2")
    overlay = figures(at)[1]
    rect = next(s for s in overlay["layout"]["shapes"] if s["line"]["dash"] == "dash")
    assert (rect["y0"], rect["y1"]) == (10 * 8 - 18 - 0.5, 10 * 8 - 18 + 43 + 0.5)
    assert (rect["x0"], rect["x1"]) == (2 * 8 - 18 - 0.5, 2 * 8 - 18 + 43 + 0.5)


def test_deep_link_and_trained_lite0_offered():
    at = start(rf_model="efficientnet_lite0", rf_init="trained", rf_models="alexnet,efficientnet_lite0")
    assert at.selectbox(key="rf_model_pick").value == "efficientnet_lite0"
    radio = at.radio(key="rf_init_pick_efficientnet_lite0")
    assert radio.value == "trained" and radio.options == ["Random init (seeded)", "Trained weights"]


def test_erf_button_draws_a_heatmap_with_the_box():
    at = start(rf_model="alexnet")
    assert len(at.get("plotly_chart")) == 2
    at.button(key="rf_erf_go").click().run()
    assert not at.exception and not at.error
    charts = figures(at)
    assert len(charts) == 3
    erf = charts[2]
    assert erf["data"][0]["type"] == "heatmap"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Theoretical rf_px"] == "195"
    assert int(metrics["Square holding 90% of |gradient| (px)"]) < 195
    # The chart stays when something else on the page changes (it comes from the cache).
    at.slider(key="rf_row_alexnet_avgpool").set_value(1).run()
    assert len(at.get("plotly_chart")) == 3


@pytest.mark.parametrize("model", ["alexnet"])
def test_measure_button_confirms_the_analytic_field(model):
    at = start(rf_model=model)
    at.button(key="rf_measure").click().run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert ":material/check_circle: matches" in text and "differs" not in text  # no emoji font needed


def test_erf_over_the_budget_is_a_sentence_with_a_setting_that_fits():
    at = start(rf_model="efficientnet_b7")
    assert any("of memory; one action may use 1.50 GB" in c.value for c in at.caption)
    at.button(key="rf_erf_go").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "over the 1.50 GB one action may use on this server" in at.error[0].value
    assert "rf_erf" not in at.session_state


def test_noise_images_live_in_the_url():
    at = start(rf_model="alexnet", rf_erf_n="2")
    assert at.select_slider(key="rf_erf_n_pick").value == 2
    at = start(rf_model="alexnet", rf_erf_n="3")  # not offered: the default
    assert at.select_slider(key="rf_erf_n_pick").value == 4
