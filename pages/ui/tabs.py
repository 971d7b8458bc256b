"""Tabs whose labels are translated while their state and links stay the same in every language."""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from zoo import i18n
from zoo.i18n import _


def translated_tabs(english: Sequence[str], *, key: str, default: str | None = None, **kwargs):
    """``st.tabs`` over ``english`` labels (``N_()``-marked) shown in the session's language.

    Streamlit keeps the open tab in ``st.session_state[key]`` by its shown label, so after a language
    switch the stored label is the other language's: it is mapped to this language's first, and the
    same tab stays open. ``default`` is an English label (e.g. from the URL).
    """
    shown = [_(t) for t in english]
    state = st.session_state.get(key)
    if state is not None and state not in shown:
        for lang in i18n.LANGUAGES:
            with i18n.using(lang):
                other = [_(t) for t in english]
            if state in other:
                st.session_state[key] = shown[other.index(state)]
                break
    return st.tabs(shown, key=key, default=_(default) if default else None, **kwargs)


def open_tab(english: Sequence[str], key: str) -> str | None:
    """The English label of the tab open in ``key`` (None before the tabs first ran)."""
    shown = [_(t) for t in english]
    state = st.session_state.get(key)
    return english[shown.index(state)] if state in shown else None
