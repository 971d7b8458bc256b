"""The quiz: seeded rounds, scoring, no answer before the guess, and every revealed number checked against zoo."""
from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import assert_ok, page_test
from zoo import quiz, registry
from zoo.analysis import summarize
from zoo.analysis.receptive_field import receptive_fields
from zoo.i18n import using
from zoo.labs import vgg as vgg_lab

QUIZ = "pages/classroom/quiz.py"


def open_quiz(**query) -> AppTest:
    at = page_test(QUIZ.removeprefix("pages/"), timeout=300, through_app=True, **query)
    assert_ok(at)
    return at


def prompts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**") and ".** " in m.value[:8]]


def strings(message) -> list[str]:
    """Every string field of a protobuf message, nested messages and repeated fields included."""
    out = []
    for desc, value in message.ListFields():
        values = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
        for v in values:
            if isinstance(v, str):
                out.append(v)
            elif hasattr(v, "ListFields"):
                out.extend(strings(v))
    return out


def page_text(at: AppTest) -> str:
    """Every string the page sent to the browser: markdown, labels, options, help texts, links."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            out.extend(strings(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    return "\n".join(out)


def test_a_fixed_seed_gives_the_same_questions_twice():
    first = open_quiz(seed="42")
    second = open_quiz(seed="42")
    assert prompts(first) == prompts(second) and len(prompts(first)) == quiz.ROUND_SIZE
    assert [str(q.prompt) for q in quiz.make_round.__wrapped__(42, "easy")] == [p.split(".** ", 1)[1]
                                                                                for p in prompts(first)]
    others = {tuple(str(q.prompt) for q in quiz.make_round(s, "medium")) for s in range(1, 6)}
    assert len(others) > 1, "different seeds give different rounds"
    assert first.query_params["seed"] == "42" and first.query_params["level"] == "easy"


def test_without_a_seed_the_page_picks_one_and_puts_it_in_the_url():
    at = open_quiz()
    seed = int(at.query_params["seed"])
    assert 1 <= seed <= 999_999
    assert prompts(at) == prompts(open_quiz(seed=str(seed)))


def test_right_and_wrong_answers_are_scored_and_revealed():
    at = open_quiz(seed="42")
    qs = quiz.make_round(42, "easy")
    choice = [i for i, q in enumerate(qs) if not q.is_slider]
    right, wrong = choice[0], choice[1]
    at.radio(key=f"quiz_guess_{right}").set_value(qs[right].answer).run()
    at.button(key=f"quiz_check_{right}").click().run()
    assert [m.value for m in at.metric if m.label == "Score"] == ["1.0 / 1"]
    assert any(s.value.startswith("Right!") for s in at.success)
    bad = next(j for j in range(len(qs[wrong].options)) if j != qs[wrong].answer)
    at.radio(key=f"quiz_guess_{wrong}").set_value(bad).run()
    at.button(key=f"quiz_check_{wrong}").click().run()
    assert [m.value for m in at.metric if m.label == "Score"] == ["1.0 / 2"]
    assert any(e.value.startswith("Not quite.") for e in at.error)
    # a slider guess on the nearest offered value to the truth: right, close to a full point
    s = next(i for i, q in enumerate(qs) if q.is_slider)
    values = quiz.slider_values(qs[s].unit)
    nearest = min(values, key=lambda v: abs(math.log(v / qs[s].value)))
    at.select_slider(key=f"quiz_guess_{s}").set_value(nearest).run()
    at.button(key=f"quiz_check_{s}").click().run()
    assert not at.exception
    expected = 1 + quiz.log_ratio_score(nearest, qs[s].value, quiz.TOLERANCE["easy"]).points
    assert [m.value for m in at.metric if m.label == "Score"] == [f"{expected:.1f} / 3"]
    assert len(at.success) == 2


def test_no_answer_is_in_the_page_before_the_guess():
    at = open_quiz(seed="7", level="medium")
    qs = quiz.make_round(7, "medium")
    before = page_text(at)
    for q in qs:
        assert str(q.why) not in before
        if q.unit in ("params", "macs"):
            assert f"{int(q.value):,}" not in before
    assert "Right!" not in before and "Not quite." not in before
    # after a guess the why, the number and the link are there
    i = next(i for i, q in enumerate(qs) if not q.is_slider)
    at.radio(key=f"quiz_guess_{i}").set_value(0).run()
    at.button(key=f"quiz_check_{i}").click().run()
    after = page_text(at)
    assert str(qs[i].why) in after
    assert any(link.proto.page for link in at.get("page_link"))


@pytest.mark.parametrize("level", list(quiz.LEVELS))
def test_every_revealed_number_is_what_zoo_computes(level):
    for seed in (1, 42):
        for q in quiz.make_round(seed, level):
            args = dict(q.number_args)
            if q.kind == "more_params":
                a, b = args["models"]
                counted = {n: sum(p.numel() for p in registry.get(n).build("meta").parameters()) for n in (a, b)}
                assert q.value == max(counted.values())
                assert (a, b)[q.answer] == max(counted, key=counted.get)
            elif q.kind == "macs":
                assert q.value == summarize(args["model"]).macs
            elif q.kind == "rf":
                rf = receptive_fields(args["model"]).layer(args["layer"]).rf
                assert q.value == rf and str(q.options[q.answer]) == f"{rf}×{rf} px"
            elif q.kind == "dense":
                assert q.value == args["k0"] + (args["layer"] - 1) * args["k"]  # the paper's k0 + (l-1)k
                assert str(q.options[q.answer]) == str(int(q.value))
            elif q.kind == "stack":
                n, c, size, cin = args["n"], args["C"], args["size"], args["in_channels"]
                stack = vgg_lab.stack_macs(cin, c, 3, n, size)
                big = vgg_lab.stack_macs(cin, c, 2 * n + 1, 1, size)
                assert q.value == min(stack, big)
                assert q.answer == (0 if stack < big else 1 if big < stack else 2)
            else:
                pytest.fail(f"unchecked question kind {q.kind}")


def test_revealed_number_on_the_page_equals_zoo():
    at = open_quiz(seed="42")
    qs = quiz.make_round(42, "easy")
    for i, q in enumerate(qs):
        if q.is_slider:
            at.select_slider(key=f"quiz_guess_{i}").set_value(quiz.slider_values(q.unit)[0]).run()
        else:
            at.radio(key=f"quiz_guess_{i}").set_value(0).run()
        at.button(key=f"quiz_check_{i}").click().run()
    text = page_text(at)
    for q in qs:
        if q.kind == "macs":
            assert f"{summarize(dict(q.number_args)['model']).macs:,}" in text
        if q.kind == "more_params":
            assert f"{max(summarize(n).params for n in dict(q.number_args)['models']):,}" in text


def test_log_ratio_scoring_is_symmetric_and_bounded():
    truth = 4.1e9
    assert quiz.log_ratio_score(truth, truth, 10).points == 1.0
    up, down = quiz.log_ratio_score(2 * truth, truth, 10), quiz.log_ratio_score(truth / 2, truth, 10)
    assert up.points == pytest.approx(down.points) and 0 < up.points < 1
    assert quiz.log_ratio_score(10 * truth, truth, 10).points == 0 == quiz.log_ratio_score(truth / 100, truth, 10).points
    assert quiz.log_ratio_score(3 * truth, truth, 10).correct and not quiz.log_ratio_score(4 * truth, truth, 10).correct
    assert not quiz.log_ratio_score(0, truth, 10).correct


def test_levels_change_the_questions_and_bad_levels_are_refused():
    assert [str(q.prompt) for q in quiz.make_round(3, "easy")] != [str(q.prompt) for q in quiz.make_round(3, "hard")]
    with pytest.raises(ValueError):
        quiz.make_round(3, "impossible")
    at = open_quiz(seed="3", level="nonsense")
    assert at.query_params["level"] == quiz.DEFAULT_LEVEL


def test_the_quiz_in_korean():
    at = open_quiz(seed="42", lang="ko")
    q = quiz.make_round(42, "easy")[0]
    with using("ko"):
        korean = str(q.prompt)
    assert korean != str(q.prompt) and any(korean in p for p in prompts(at))
