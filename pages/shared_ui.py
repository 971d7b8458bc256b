"""Small helpers the pages share: URL state (deep links) and number formatting. Not a page."""
from __future__ import annotations

from typing import Iterable, Sequence

import streamlit as st


def query_choice(key: str, options: Sequence[str], default: str) -> str:
    """A value from the URL if it is one of ``options``, else ``default``."""
    v = st.query_params.get(key)
    return v if v in options else default


def query_list(key: str, options: Iterable[str], default: list[str]) -> list[str]:
    """A comma-separated list from the URL, keeping only known options (order kept)."""
    raw = st.query_params.get(key)
    if not raw:
        return list(default)
    allowed = set(options)
    picked = [v for v in raw.split(",") if v in allowed]
    return picked or list(default)


def query_int(key: str, default: int, lo: int, hi: int) -> int:
    try:
        v = int(st.query_params.get(key, default))
    except (TypeError, ValueError):
        return default
    return v if lo <= v <= hi else default


def set_query(**values) -> None:
    """Write values into the URL so the current view can be shared as a link."""
    for k, v in values.items():
        if v is None:
            st.query_params.pop(k, None)
        elif isinstance(v, (list, tuple)):
            st.query_params[k] = ",".join(map(str, v))
        else:
            st.query_params[k] = str(v)


def fmt_count(n: float | int | None, unit: str = "") -> str:
    """1234567 -> '1.23 M'; None -> '—'."""
    if n is None:
        return "—"
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(n) >= div:
            return f"{n / div:.2f}{suffix}{unit}"
    return f"{n:,.0f}{(' ' + unit) if unit else ''}"


MACS_NOTE = (
    "MACs = multiply-accumulates; FLOPs = 2 x MACs. torchvision's docs label their column "
    "\"GFLOPS\", but those numbers count multiply-adds, i.e. GMACs."
)


def require_navigation_shell() -> None:
    """Make a deep link on a fresh server run through app.py's st.navigation.

    Streamlit treats a folder named ``pages/`` beside the entry script as an old-style
    (v1) multipage app until some session has called ``st.navigation``. Until then, a first
    visit to ``/model?model=resnet50`` runs ``pages/model.py`` on its own: no wide layout,
    a navigation list of raw file names. When that happens, switch the process to
    st.navigation mode and rerun, so app.py builds the real navigation and opens this page
    with its query parameters intact. Every page calls this first; it is a no-op otherwise.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
