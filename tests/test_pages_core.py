"""One AppTest per core page, through app.py's navigation as a user reaches them."""
from pathlib import Path

import pytest

from tests.helpers import page_test

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def app():
    at = page_test("app.py", timeout=120)
    assert not at.exception
    return at


def test_home_has_timeline_and_links(app):
    assert app.title[0].value == "CNN Zoo Explorer"
    links = [p.proto.page for p in app.get("page_link")] if app.get("page_link") else []
    assert len(app.get("plotly_chart")) == 1
    assert links.count("model") == 7  # one layer table per family
    assert {"lesson", "quiz"} <= set(links)  # the classroom pages


def test_model_page_defaults_to_resnet50(app):
    app.switch_page("pages/explore/model.py").run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Parameters"] == "25,557,032"
    assert metrics["Published params"] == "25,557,032"
    assert app.query_params["model"] == "resnet50"
    assert len(app.dataframe) == 3  # its torchvision weights, stages and layers
    weights, stages, layers = (d.value for d in app.dataframe)
    assert list(weights["weights"]) == ["IMAGENET1K_V1", "IMAGENET1K_V2 (DEFAULT)"]
    assert list(stages["stage"])[:2] == ["conv1 + bn1 + relu", "maxpool"]
    layers = layers.set_index("name")
    # The receptive-field column joins the layer table: conv1 (7x7, stride 2) sees 7 px, layer4 427 px.
    assert layers.loc["conv1", "rf_px"] == "7"
    assert layers.loc["layer4.2.conv3", "rf_px"] == "427"
    assert app.get("download_button")
    # The original paper recipe by default, and the page says which weights it shows.
    assert metrics["ImageNet acc@1"] == "76.13%"
    assert any("ResNet50_Weights.IMAGENET1K_V1" in c.value for c in app.caption)
    app.radio(key="model_acc").set_value("best").run()
    assert {m.label: m.value for m in app.metric}["ImageNet acc@1"] == "80.86%"
    assert app.query_params["acc"] == "best"


def _no_none_cells(app):
    for d in app.dataframe:
        v = d.value
        assert not v.isna().any().any(), v.columns[v.isna().any()].tolist()
        assert not (v.astype(str) == "None").any().any()


def test_layer_csv_writes_integers_as_integers():
    """The model page writes its CSV through integer_columns: 64, not 64.0, and nothing where a layer has no value."""
    import csv
    import io

    from pages.ui.cells import integer_columns
    from zoo.analysis import summarize

    layers = summarize("resnet50").layers
    text = integer_columns(layers, ["groups", "in_channels", "out_channels", "params", "macs"]).to_csv(index=False)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(text))}
    assert (rows["conv1"]["out_channels"], rows["conv1"]["groups"], rows["conv1"]["params"]) == ("64", "1", "9408")
    assert rows["relu"]["groups"] == "" and rows["relu"]["in_channels"] == ""


@pytest.mark.parametrize("name, year, title, not_shown", [
    ("inception_v3", 2015, "Rethinking the Inception Architecture", "ILSVRC 2014 winner"),
    ("resnext50_32x4d", 2016, "Aggregated Residual Transformations", "ILSVRC 2015"),
    ("mobilenet_v3_large", 2019, "Searching for MobileNetV3", None),
    ("efficientnet_v2_s", 2021, "EfficientNetV2: Smaller Models and Faster Training", None),
    ("efficientnet_lite0", 2020, None, None),
])
def test_model_page_shows_the_models_own_card(app, name, year, title, not_shown):
    app.query_params["model"] = name
    app.switch_page("pages/explore/model.py").run()
    assert not app.exception
    texts = [m.value for m in app.markdown]
    this = texts[:texts.index(next(t for t in texts if t.startswith("Founded")))]  # before "Its family"
    from zoo import registry

    assert this[0].startswith(f"**{registry.get(name).display}**, {year}")
    if title:
        assert any(title in t for t in this)
    else:
        assert any("No paper of its own" in t and "blog.tensorflow.org" in t for t in this)
        assert {m.label: m.value for m in app.metric}["ImageNet acc@1 (published by the authors)"] == "75.1%"
    if not_shown:
        assert not any(not_shown in t for t in this)
    assert [s.value for s in app.subheader][:2] == ["This model", f"Its family: {registry_family(name)}"]
    _no_none_cells(app)


def registry_family(name):
    from zoo import registry

    return registry.get(name).fam.display


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
    assert len(app.multiselect(key="cmp_models").value) == 43
    assert app.query_params["cmp"].count(",") == 42
    _no_none_cells(app)
    table = app.dataframe[0].value.set_index("display")
    # The original recipe by default, named; the authors' published numbers are marked as theirs.
    assert any(c.value.startswith("Accuracy shown: original paper recipe (V1).") for c in app.caption)
    assert table.loc["ResNet-50", "acc1"] == "76.13" and table.loc["ResNet-50", "weights"].endswith("IMAGENET1K_V1")
    assert table.loc["EfficientNet-Lite0", "acc_source"] == "published by the authors"
    assert table.loc["ResNet-50", "acc_source"] == "measured by torchvision"
    assert table.loc["ResNeXt-101 64x4d", "acc1"] == "—"  # only new-recipe weights exist
    assert (table.loc["GoogLeNet (Inception v1)", ["params_no_aux", "params_with_aux"]].tolist()
            == [6_624_904, 13_004_888])
    assert (table.loc["Inception v3", ["params_no_aux", "params_with_aux"]].tolist() == [23_834_568, 27_161_264])
    assert table.loc["Inception v3", "year"] == 2015 and table.loc["EfficientNet-Lite0", "year"] == 2020
    app.radio(key="cmp_acc_radio").set_value("best").run()
    assert not app.exception
    assert app.dataframe[0].value.set_index("display").loc["ResNet-50", "acc1"] == "80.86"
    assert any(c.value.startswith("Accuracy shown: best available.") for c in app.caption)
    app.radio(key="cmp_axis_radio").set_value("Parameters").run()
    assert not app.exception
    app.multiselect(key="cmp_models").set_value([]).run()
    assert not app.exception and app.info
