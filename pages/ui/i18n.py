"""The session's language: ``?lang=ko`` in the URL, else the session's earlier choice, else the
browser's language (``st.context.locale``), else English; a sidebar switch that keeps the URL.

Call :func:`setup` once per run, before anything is drawn (app.py does). Strings themselves are
translated with ``zoo.i18n._`` (see that module).
"""
from __future__ import annotations

import streamlit as st

from zoo import i18n

KEY = "zoo_lang"


def _session_language() -> str | None:
    return st.session_state.get(KEY)


def browser_language() -> str | None:
    """The browser's preferred language if we have it (``st.context.locale``, e.g. "ko-KR")."""
    try:
        locale = st.context.locale
    except Exception:
        return None
    code = (locale or "").split("-")[0].lower()
    return code if code in i18n.LANGUAGES else None


def setup() -> str:
    """Decide this run's language, install it for ``zoo.i18n`` and return it."""
    i18n.set_resolver(_session_language)
    url = st.query_params.get("lang")
    if url in i18n.LANGUAGES:
        lang = url
    elif KEY in st.session_state and st.session_state[KEY] in i18n.LANGUAGES:
        lang = st.session_state[KEY]
    else:
        lang = browser_language() or i18n.DEFAULT
    st.session_state[KEY] = lang
    return lang


def _switched() -> None:
    choice = st.session_state.get("zoo_lang_switch")
    if choice in i18n.LANGUAGES:
        st.session_state[KEY] = choice
        st.query_params["lang"] = choice


def switch() -> None:
    """The sidebar language switch; the choice goes into the URL so a shared link keeps it."""
    current = i18n.language()
    st.session_state["zoo_lang_switch"] = current  # follow a language that came from the URL
    st.sidebar.segmented_control(
        i18n._("Language"), list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get, key="zoo_lang_switch",
        on_change=_switched,
    )
    if current != i18n.DEFAULT:
        st.query_params["lang"] = current
