"""One AppTest per core page, through app.py's navigation as a user reaches them."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def app():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def test_home_has_timeline_and_links(app):
    assert app.title[0].value == "CNN Zoo Explorer"
    links = [p.proto.page for p in app.get("page_link")] if app.get("page_link") else []
    assert len(app.get("plotly_chart")) == 1
    assert len(links) == 7


def test_model_page_defaults_to_resnet50(app):
    app.switch_page("pages/explore/model.py").run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Parameters"] == "25,557,032"
    assert metrics["Published params"] == "25,557,032"
    assert app.query_params["model"] == "resnet50"
    assert len(app.dataframe) == 2  # stages and layers
    layers = app.dataframe[1].value.set_index("name")
    # The receptive-field column joins the layer table: conv1 (7x7, stride 2) sees 7 px, layer4 427 px.
    assert layers.loc["conv1", "rf_px"] == 7
    assert layers.loc["layer4.2.conv3", "rf_px"] == 427
    assert app.get("download_button")


def test_model_page_deep_link_and_bad_size(app):
    app.query_params["model"] = "densenet121"
    app.query_params["size"] = "160"
    app.switch_page("pages/explore/model.py").run()
    assert not app.exception
    assert app.selectbox(key="model_variant").value == "densenet121"
    assert app.number_input[0].value == 160
    app.number_input[0].set_value(8).run()  # AlexNet-style too-small input on a DenseNet
    assert not app.exception
    assert app.error and "too small" in app.error[0].value


@pytest.mark.parametrize("name", ["mobilenet_v1", "efficientnet_lite0", "googlenet"])
def test_model_page_renders_models_without_or_with_custom_weights(app, name):
    app.query_params["model"] = name
    app.switch_page("pages/explore/model.py").run()
    assert not app.exception
    assert app.selectbox(key="model_variant").value == name


def test_compare_page_defaults_and_all_models(app):
    app.switch_page("pages/explore/compare.py").run()
    assert not app.exception
    assert len(app.multiselect(key="cmp_models").value) == 7
    assert len(app.get("plotly_chart")) == 2
    app.button(key="cmp_all").click().run()
    assert not app.exception
    assert len(app.multiselect(key="cmp_models").value) == 40
    assert app.query_params["cmp"].count(",") == 39
    app.radio(key="cmp_axis_radio").set_value("Parameters").run()
    assert not app.exception
    app.multiselect(key="cmp_models").set_value([]).run()
    assert not app.exception and app.info
