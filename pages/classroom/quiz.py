"""Quiz: guess first, then see the number counted from the real modules (questions made in zoo/quiz.py).

``?seed=42`` fixes the questions, so a class can share one round; ``?level=`` picks the difficulty.
Nothing about an answer is sent to the browser before the guess: the page holds only the prompt
and the options, the answer stays in the server's session until the guess is checked.
"""
from __future__ import annotations

import secrets

import streamlit as st

from pages.ui.query import query_choice, query_int
from zoo import quiz
from zoo.i18n import _

MAX_SEED = 999_999
ANSWERS = "quiz_answers"  # session: (seed, level, question) -> (guess, Score)


def answer_text(q: quiz.Question) -> str:
    v = q.value
    return {
        "params": _("{v} parameters ({exact:,})"),
        "macs": _("{v} MACs ({exact:,})"),
        "px": _("{v}×{v} px"),
        "channels": _("{v} channels"),
    }[q.unit].format(v=quiz.count(v) if q.unit in ("params", "macs") else int(v), exact=int(v))


def guess_text(q: quiz.Question, guess) -> str:
    return (_("{v} MACs").format(v=quiz.count(guess)) if q.unit == "macs" else quiz.count(guess)) if q.is_slider \
        else str(q.options[guess])


def check(key: tuple, i: int, q: quiz.Question, level: str) -> None:
    guess = st.session_state.get(f"quiz_guess_{i}")
    if guess is None:
        return
    st.session_state.setdefault(ANSWERS, {})[key] = (guess, quiz.score(q, guess, level))


def new_round() -> None:
    st.query_params["seed"] = str(secrets.randbelow(MAX_SEED) + 1)


st.title(_("Quiz"))
st.caption(_("Guess first, then see the answer counted from the real networks. Share the link: the same seed gives "
             "the whole class the same questions."))

seed = query_int("seed", 0, 1, MAX_SEED)
if not seed:
    seed = secrets.randbelow(MAX_SEED) + 1
st.query_params["seed"] = str(seed)
if "quiz_level" not in st.session_state:
    st.session_state["quiz_level"] = query_choice("level", list(quiz.LEVELS), quiz.DEFAULT_LEVEL)
top = st.columns([3, 2, 2], vertical_alignment="bottom")
level = top[0].segmented_control(_("Difficulty"), list(quiz.LEVELS), format_func=lambda k: _(quiz.LEVELS[k]),
                                 key="quiz_level") or quiz.DEFAULT_LEVEL
st.query_params["level"] = level
top[2].button(_("New questions"), key="quiz_new", icon=":material/refresh:", on_click=new_round)

with st.spinner(_("Counting the networks for this round…")):
    questions = quiz.make_round(seed, level)
answers = st.session_state.setdefault(ANSWERS, {})
mine = {k: v for k, v in answers.items() if k[0] == seed and k[1] == level}
points = sum(s.points for _g, s in mine.values())
top[1].metric(_("Score"), f"{points:.1f} / {len(mine)}", help=_("Points for the questions answered so far; a slider "
                                                               "guess earns up to 1 point by how close it is."))
st.caption(_("Seed {seed} · {n} questions").format(seed=seed, n=len(questions)))

for i, q in enumerate(questions):
    key = (seed, level, i)
    with st.container(border=True):
        st.markdown(f"**{i + 1}.** {q.prompt}")
        if key not in mine:
            if q.is_slider:
                values = quiz.slider_values(q.unit)
                st.select_slider(_("Your guess (log scale)"), values, value=values[len(values) // 2],
                                 format_func=lambda v, q=q: guess_text(q, v), key=f"quiz_guess_{i}")
            else:
                st.radio(_("Your answer"), list(range(len(q.options))), index=None, key=f"quiz_guess_{i}",
                         format_func=lambda j, q=q: str(q.options[j]))
            st.button(_("Check"), key=f"quiz_check_{i}", on_click=check, args=(key, i, q, level),
                      disabled=st.session_state.get(f"quiz_guess_{i}") is None)
            continue
        guess, s = mine[key]
        verdict = _("Right!") if s.correct else _("Not quite.")
        if q.is_slider:
            template = (_("{p:.0%} of a point: your guess {g} was {r:.1f}× the answer.") if guess >= q.value
                        else _("{p:.0%} of a point: your guess {g} was 1/{r:.1f} of the answer."))
            verdict += " " + template.format(p=s.points, g=guess_text(q, guess), r=max(guess, q.value) / min(guess, q.value))
        else:
            verdict += " " + _("You said {g}; the answer is {a}.").format(g=guess_text(q, guess), a=q.options[q.answer])
        (st.success if s.correct else st.error)(verdict)
        st.markdown(f"**{answer_text(q)}** · {q.why}")
        st.page_link(q.link.page, label=str(q.link.label), icon=":material/open_in_new:",
                     query_params=dict(q.link.query))
