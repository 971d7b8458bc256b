"""The lesson: every step through app.py's navigation, its embedded lab's controls, the URL step, the live numbers."""
from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from pages.labs import index
from pages.ui.fmt import fmt_count
from tests.helpers import assert_ok, page_test
from zoo import lesson, registry
from zoo.analysis import summarize
from zoo.errors import ZooError
from zoo.i18n import using
from zoo.labs import vgg as vgg_lab

LESSON = "pages/classroom/lesson.py"
LABS = index()


def open_lesson(**query) -> AppTest:
    at = page_test(LESSON.removeprefix("pages/"), timeout=300, through_app=True, **query)
    assert_ok(at)
    return at


def controls(at: AppTest, step: lesson.Step) -> list:
    """The embedded lab's widgets (or the opening step's own), each as (element, a value away from the current one)."""
    prefixes = tuple(LABS[step.lab].URL_PREFIXES) if step.lab else ("lesson_conv_",)
    out = []
    for s in at.slider:
        if s.key.startswith(prefixes):
            out.append((s.key, "slider", s.max if s.value != s.max else s.min))
    for s in at.select_slider:
        if s.key.startswith(prefixes):
            out.append((s.key, "select_slider", s.options[-1] if s.value != s.options[-1] else s.options[0]))
    for c in at.checkbox:
        if c.key.startswith(prefixes):
            out.append((c.key, "checkbox", not c.value))
    for c in at.selectbox:
        if c.key and c.key.startswith(prefixes):
            out.append((c.key, "selectbox", len(c.options) - 1 if c.index != len(c.options) - 1 else 0))
    return out


@pytest.mark.parametrize("i", range(len(lesson.STEPS)))
def test_every_step_renders_at_defaults_and_after_each_control(i, offline):
    step = lesson.STEPS[i]
    at = open_lesson(step=str(i))
    assert at.title[0].value == step.title
    assert at.query_params["step"] == str(i)
    assert at.button(key="lesson_prev").disabled == (i == 0)
    assert at.button(key="lesson_next").disabled == (i == lesson.LAST)
    if step.lab:
        assert any(s.value == f"Lab: {LABS[step.lab].TITLE}" for s in at.subheader)
        assert at.get("plotly_chart"), "the embedded lab draws its chart"
    moved = controls(at, step)
    if step.key != "pareto":
        assert moved, "a step with a lab (or the live convolution) has controls"
    for key, kind, value in moved:
        widget = getattr(at, kind)(key=key)
        if kind == "selectbox":
            widget.select_index(value).run()
        else:
            widget.set_value(value).run()
        assert not at.exception, (i, key, value, [e.value for e in at.exception])
        assert at.query_params["step"] == str(i), "moving a lab control keeps the step"
    assert at.expander, "speaker notes"


@pytest.mark.parametrize("i", [i for i, s in enumerate(lesson.STEPS) if s.number])
def test_each_live_number_is_what_zoo_counts(i, offline):
    step = lesson.STEPS[i]
    at = open_lesson(step=str(i))
    s = summarize(step.number.model)
    expected = s.params if step.number.field == "params" else s.macs
    metric = next(m for m in at.metric if m.label == step.number.label)
    assert metric.value == fmt_count(expected)
    assert any(f"{expected:,}" in c.value for c in at.caption)
    if step.number.field == "params":  # an independent count: the parameters of the real module
        model = registry.get(step.number.model).build("meta")
        assert expected == sum(p.numel() for p in model.parameters())


def test_url_step_survives_reruns_and_keeps_other_parameters(offline):
    at = open_lesson(step="3", present="1", foo="bar")
    assert at.title[0].value == lesson.STEPS[3].title
    at.run()
    assert not at.exception and at.query_params["step"] == "3" and at.title[0].value == lesson.STEPS[3].title
    at.button(key="lesson_next").click().run()
    assert at.query_params["step"] == "4" and at.title[0].value == lesson.STEPS[4].title
    at.button(key="lesson_prev").click().run()
    at.button(key="lesson_prev").click().run()
    assert at.query_params["step"] == "2" and at.title[0].value == lesson.STEPS[2].title
    assert at.query_params["present"] == "1" and at.query_params["foo"] == "bar"


@pytest.mark.parametrize("bad", ["99", "-1", "three"])
def test_a_bad_step_opens_the_first(bad, offline):
    at = open_lesson(step=bad)
    assert at.title[0].value == lesson.STEPS[0].title and at.query_params["step"] == "0"


def test_the_class_photo_is_predicted_where_weights_are_here_and_offered_where_not(offline):
    at = open_lesson(step="7")  # EfficientNet: the bundled Lite0 stands in for B0, whose weights are not here
    top1 = [m.value for m in at.markdown if m.value.startswith("Top-1:")]
    assert top1 and any(cat in top1[0] for cat in ("tabby", "tiger cat", "Egyptian cat")), top1
    assert any("EfficientNet-Lite0" in m.value for m in at.markdown)
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert any(c.startswith("Grad-CAM: where EfficientNet-Lite0 finds") for c in captions), captions
    at = open_lesson(step="3")  # GoogLeNet: no weights on a fresh install
    assert any("not on this computer" in i.value for i in at.info)
    assert at.button(key="lesson_dl_googlenet")
    at.button(key="lesson_dl_googlenet").click().run()  # no network here: one sentence, no traceback
    assert not at.exception and at.error


def test_the_photo_chosen_on_step_0_is_kept_for_the_lesson(offline):
    at = open_lesson(step="0")
    at.button(key="lesson_pick_coffee.jpg").click().run()
    chosen = at.session_state["lesson_photo"]
    for _ in range(7):
        at.button(key="lesson_next").click().run()
    assert not at.exception and at.query_params["step"] == "7"
    assert at.session_state["lesson_photo"][1] == chosen[1]  # the same photo's digest
    top1 = next(m.value for m in at.markdown if m.value.startswith("Top-1:"))
    assert any(w in top1 for w in ("espresso", "cup", "coffee mug")), top1


def test_the_live_convolution_matches_its_formula_and_refuses_what_does_not_fit(offline):
    at = open_lesson(step="0", lesson_conv_side="12", lesson_conv_k="5", lesson_conv_stride="2", lesson_conv_pad="0",
                     lesson_conv_cin="8", lesson_conv_cout="4")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Output side (measured)"] == f"{(12 - 5) // 2 + 1} px"
    assert metrics["Parameters (counted)"] == f"{5 * 5 * 8 * 4 + 4:,}"
    at = open_lesson(step="0", lesson_conv_side="4", lesson_conv_k="7", lesson_conv_pad="0")
    assert at.error and "does not fit" in at.error[0].value
    with pytest.raises(ZooError):
        lesson.conv_example(4, 3, 3, 7, 1, 0)
    ex = lesson.conv_example(9, 3, 16, 3, 2, 1)
    assert (ex.out_side, ex.params, ex.macs) == (ex.out_side_formula, ex.params_formula, ex.macs_formula) == \
        (5, 448, 5 * 5 * 432)
    image, kernel, out = lesson.edge_demo(3, 1, 0, 8)
    expected = torch.nn.functional.conv2d(torch.tensor(image.values, dtype=torch.float)[None, None],
                                          torch.tensor(kernel.values, dtype=torch.float)[None, None])[0, 0]
    assert (out.values == expected.int().numpy()).all() and out.values.max() == 3  # the edge, 3 rows of +1


def test_the_claims_in_the_notes_hold_on_the_real_models():
    macs = {n: summarize(n).macs for n in ("resnet152", "vgg16")}
    assert macs["resnet152"] < macs["vgg16"]  # "ResNet-152 ... fewer MACs than VGG-16"
    params = {n: summarize(n).params for n in ("densenet121", "resnet50", "efficientnet_b0", "alexnet", "googlenet")}
    assert params["densenet121"] < params["resnet50"] and params["efficientnet_b0"] < params["alexnet"]
    assert params["googlenet"] < params["alexnet"]
    alex = summarize("alexnet").stages.set_index("stage")
    assert alex.loc["classifier", "params_pct"] > 50  # "the fully connected layers hold most of them"
    two3, one5 = vgg_lab.stack_params(3, 64, 3, 2), vgg_lab.stack_params(3, 64, 5, 1)
    assert two3 > one5  # "3 -> 64 -> 64 has more parameters than one 5x5 conv 3 -> 64"
    t = lesson.pareto_table()
    assert t["on_front"].any() and len(t) == 7


def test_steps_follow_the_notes_order_and_name_existing_labs():
    assert [s.family for s in lesson.STEPS[1:-1]] == list(lesson.FAMILY_ORDER)
    assert lesson.STEPS[0].family is None and lesson.STEPS[-1].family is None
    for s in lesson.STEPS:
        assert s.lab is None or s.lab in LABS, s.key
        assert s.ask and s.misconceptions, s.key


def test_the_lesson_in_korean(offline):
    at = open_lesson(step="2", lang="ko")
    with using("ko"):
        from zoo.i18n import _
        assert at.title[0].value == _(lesson.STEPS[2].title) != lesson.STEPS[2].title
