"""pages/ui/query: lists from the URL are de-duplicated and capped; the server hides tracebacks."""
import tomllib
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def _script():
    import streamlit as st

    from pages.ui.query import query_list

    st.session_state["picked"] = query_list("m", [f"m{i}" for i in range(200)], ["m0"])


def _picked(value: str) -> list[str]:
    at = AppTest.from_function(_script, default_timeout=30)
    at.query_params["m"] = value
    at.run()
    assert not at.exception
    return at.session_state["picked"]


def test_lists_from_the_url_are_deduplicated_in_order():
    assert _picked("m3,m1,m3,m1,nope,m2") == ["m3", "m1", "m2"]
    assert _picked(",".join(["m5"] * 1000)) == ["m5"]


def test_lists_from_the_url_are_capped():
    from pages.ui.query import MAX_LIST

    assert len(_picked(",".join(f"m{i}" for i in range(200)))) == MAX_LIST
    assert _picked("nope,also-nope") == ["m0"]


def test_users_never_see_a_traceback():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
