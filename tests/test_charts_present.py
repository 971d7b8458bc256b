"""pages/ui/charts.py (palettes, log ticks, the stage stack) and pages/ui/present.py (presenter view), by AppTest."""
from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from pages.ui import charts
from zoo.compare import cost_by_stage

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _rgb(c: str) -> tuple[int, ...]:
    return tuple(int(v) for v in c[c.index("(") + 1:-1].split(","))


def test_network_position_runs_one_way_from_stem_to_head():
    # A sequential scale: lightness falls monotonically from the stem to the head.
    lum = [sum(_rgb(charts.position_colour(i, 6))) for i in range(6)]
    assert lum == sorted(lum, reverse=True) and len(set(lum)) == 6
    # The same relative depth has the same colour whatever the model's stage count.
    assert charts.position_colour(2, 5) == charts.position_colour(4, 9)


def test_palettes_keep_concepts_apart():
    assert charts.PLAIN != charts.RESIDUAL
    assert len(set(charts.ACTIVATION.values())) == len(charts.ACTIVATION)
    assert len(set(charts.distinct_colours(8))) == 8  # VGG-16 and EfficientNet-B0 both green, no more
    assert len(set(charts.FAMILY_COLOURS.values())) == len(charts.FAMILY_COLOURS)


@pytest.mark.parametrize("lo, hi, want", [
    (0.3, 20, ["0.1", "0.3", "1", "3", "10", "30"]),
    (0.05, 0.7, ["0.03", "0.1", "0.3", "1"]),
    (1.2, 140, ["1", "3", "10", "30", "100", "300"]),
])
def test_log_ticks_read_as_numbers(lo, hi, want):
    vals, text = charts.log_ticks(lo, hi)
    assert text == want
    assert [float(t) for t in text] == pytest.approx(vals)  # the label is the value, 0.3 never "3"
    assert charts.log_axis(lo, hi, "GMACs")["title"] == "GMACs (log)"


def test_log_axis_title_says_log_once_in_the_sessions_language():
    from zoo import i18n

    with i18n.using("ko"):
        assert charts.log_axis(1, 10, "GMACs")["title"] == "GMACs (로그)"
        assert charts.log_axis(1, 10, "GMACs (로그)")["title"] == "GMACs (로그)"
    assert charts.log_axis(1, 10, "GMACs (log)")["title"] == "GMACs (log)"


def test_log_ticks_over_many_decades_are_powers_of_ten():
    vals, text = charts.log_ticks(3e-13, 2.0)
    assert text[0] == "10⁻¹³" and text[-2:] == ["1", "10"] and len(vals) == 15


def test_every_log_axis_gets_number_ticks():
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.25 ** 20, 0.5, 1.0]))
    fig.update_layout(yaxis_type="log")
    charts.style(fig, "t", presenter=False)
    assert fig.layout.yaxis.ticktext[0] == "10⁻¹³" and fig.layout.xaxis.tickvals is None


def test_stage_stack_follows_network_order_in_the_picked_model_order():
    long = cost_by_stage(["resnet50", "mobilenet_v2"])
    # Shuffle the rows: the figure must not depend on the table's row order.
    fig = charts.stage_stack(long.sample(frac=1, random_state=0), "params_pct", "params_start", "params", "params",
                             "share of params (%)")
    bar = fig.data[0]
    for model in ("ResNet-50", "MobileNet V2"):
        mine = [i for i, m in enumerate(bar.y) if m == model]
        stages = [bar.customdata[i][0] for i in mine]
        want = list(long[long["model"] == model].sort_values("order")["stage"])
        assert stages == want, model
        bases = [bar.base[i] for i in mine]
        assert bases == sorted(bases) and bases[0] == 0  # stem on the left, each segment after the last
        colours = [bar.marker.color[i] for i in mine]
        assert colours[0] == 0 and colours[-1] == 1  # stem -> head on the position scale
    assert stages[0] != "classifier" and list(fig.layout.yaxis.categoryarray) == ["ResNet-50", "MobileNet V2"]
    # The largest segments are named; hover has the absolute number with separators.
    assert "layer3" in bar.text and any("," in c[2] for c in bar.customdata)


def test_label_positions_separate_close_points():
    pos = charts.label_positions([1.0, 1.02, 5.0], [76.0, 76.1, 70.0], ["ResNet-50", "ResNet-101", "VGG-16"],
                                 log_x=True)
    assert pos[0] != pos[1] and all(pos)


def _chart_specs(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")], [json.loads(c.proto.config)
                                                                         for c in at.get("plotly_chart")]


def test_compare_charts_export_png_and_follow_presenter_view():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/explore/compare.py").run()
    assert not at.exception
    specs, configs = _chart_specs(at)
    assert len(specs) == 2
    for spec, config in zip(specs, configs):
        assert config["toImageButtonOptions"]["format"] == "png" and config["toImageButtonOptions"]["scale"] >= 2
        assert spec["layout"]["title"]["text"]
    normal_height = specs[1]["layout"]["height"]
    scatter_x = specs[0]["layout"]["xaxis"]
    assert scatter_x["type"] == "log" and "(log)" in scatter_x["title"]["text"] and "0.3" in scatter_x["ticktext"]
    assert not at.expander  # controls stay on the page

    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    specs, _ = _chart_specs(at)
    assert specs[1]["layout"]["height"] > normal_height
    assert specs[1]["layout"]["template"]["layout"]["font"]["size"] >= 20
    assert len(at.expander) == 1  # the page's controls fold into one expander
    assert at.multiselect(key="cmp_models").value  # ... and still work from there


def test_presenter_switch_keeps_the_page_and_its_url_state():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/explore/model.py")
    at.query_params["model"] = "densenet121"
    at.query_params["size"] = "160"
    at.run()
    assert not at.exception and at.toggle(key="zoo_present_switch").value is False
    at.toggle(key="zoo_present_switch").set_value(True).run()
    assert not at.exception
    assert at.query_params["present"] == "1"
    assert (at.query_params["model"], at.query_params["size"]) == ("densenet121", "160")
    assert at.selectbox(key="model_variant").value == "densenet121"  # still the model page, same model
    leave = at.button(key="zoo_present_leave")
    assert leave.label == "Leave presenter view"
    leave.click().run()
    assert not at.exception and "present" not in at.query_params
    assert (at.query_params["model"], at.query_params["size"]) == ("densenet121", "160")
    assert at.toggle(key="zoo_present_switch").value is False
    assert not [b for b in at.button if b.key == "zoo_present_leave"]


@pytest.mark.parametrize("page, key, expanders", [("explore/model.py", "model_variant", 1),
                                                  ("understand/receptive_fields.py", "rf_model_pick", 3)])
def test_presenter_view_folds_the_model_and_rf_controls(page, key, expanders):
    from tests.helpers import page_test

    at = page_test(page)
    assert not at.exception
    plain = len(at.expander)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert len(at.expander) == plain + expanders  # each group of controls in its own expander
    assert at.selectbox(key=key).value  # ... and still working from there
