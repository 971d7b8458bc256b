"""URL state: every page keeps its view in the query string, so a link reproduces it."""
from __future__ import annotations

from typing import Iterable, Sequence

import streamlit as st


def query_choice(key: str, options: Sequence[str], default: str) -> str:
    """A value from the URL if it is one of ``options``, else ``default``."""
    v = st.query_params.get(key)
    return v if v in options else default


# A list from the URL names catalogue models or layers: more than this is not a view anyone
# shares (the whole catalogue is ~45 models), and each entry costs work on every rerun.
MAX_LIST = 64


def query_list(key: str, options: Iterable[str], default: list[str], limit: int = MAX_LIST) -> list[str]:
    """A comma-separated list from the URL: known options only, each once, in order, at most ``limit``."""
    raw = st.query_params.get(key)
    if not raw:
        return list(default)
    allowed = set(options)
    picked = list(dict.fromkeys(v for v in raw.split(",") if v in allowed))[:limit]
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
