"""Results of slow actions kept per session, and a progress bar that a zoo callback can move."""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, TypeVar

import streamlit as st

from zoo.progress import Progress, fraction

T = TypeVar("T")
ENTRIES = 24  # per page and session: a few models x views x classes for one or two photos


def memo(page: str, key: tuple, compute: Callable[[], T]) -> T:
    """``compute()`` once per key in this session (a bounded store per page; the oldest go first).

    For results a progress bar follows as they are computed: st.cache_data cannot replay a bar
    created outside the cached function.
    """
    store: OrderedDict = st.session_state.setdefault(f"_{page}_memo", OrderedDict())
    if key in store:
        store.move_to_end(key)
        return store[key]
    value = compute()
    store[key] = value
    while len(store) > ENTRIES:
        store.popitem(last=False)
    return value


def known(page: str, key: tuple) -> bool:
    return key in st.session_state.get(f"_{page}_memo", {})


def progress_bar(text: str):
    """An st.progress bar and a Progress callback that moves it (its own text, or ``text`` and done/total)."""
    bar = st.progress(0.0, text=text)

    def update(done: float, total: float | None, note: str = "") -> None:
        label = note or (f"{text} {done:,.0f} / {total:,.0f}" if total else text)
        bar.progress(fraction(done, total), text=label)

    update_typed: Progress = update
    return bar, update_typed
