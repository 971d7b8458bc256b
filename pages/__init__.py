"""The app's pages, registered by ``app.py`` through ``st.navigation``; widget helpers in ``ui/``.

Page scripts live in sub-folders (``explore/``, ``understand/``, ``photo/``). The files at this
level are *doors*, one per URL path of app.py's navigation, each two lines that run app.py:
Streamlit treats a folder named ``pages/`` beside the entry script as an old-style multipage app
until the first ``st.navigation`` call of the process, and in that mode a first visit to
``/model`` (a shared deep link on a fresh server) can only open a script called
``pages/model.py``. The door hands that visit to app.py, whose navigation opens the real page
with its query string intact (without a door Streamlit shows "Page not found" over the page).
``tests/test_navigation.py`` checks that every URL path has its door and nothing more.
"""
from __future__ import annotations

import runpy
from pathlib import Path

from pages.ui import i18n as _i18n  # noqa: F401 - installs the session-language resolver for zoo.i18n

APP = Path(__file__).resolve().parents[1] / "app.py"


def enter() -> None:
    """Run app.py for this script run: its st.navigation resolves the page the URL asked for."""
    runpy.run_path(str(APP), run_name="__main__")
