"""Presenter view: ``?present=1`` makes any page readable on a projector, from the back of a room.

In presenter view the sidebar is hidden (the pages move to a bar at the top), body text is at
least 20 px, headings and metrics are larger, charts are taller and follow a light, high-contrast
template (pages/ui/charts.py), and a page's controls can fold into an expander
(:func:`controls`). The switch is a query parameter, so it keeps the current page and every other
URL parameter: the same deep link works in both views.

app.py calls :func:`setup` once per run, after ``st.navigation`` (it draws the sidebar switch and,
in presenter view, a visible "leave" control in the main area), and takes the navigation's
position from :func:`nav_position`.
"""
from __future__ import annotations

from contextlib import nullcontext

import streamlit as st

from zoo.i18n import _

PARAM = "present"
SWITCH_KEY = "zoo_present_switch"

# Layout fixes for narrow (1024 px) windows, always on: nothing may be cut with an ellipsis.
FIT_CSS = """
.stMarkdownEllipsis, [data-testid="stWidgetLabel"] [data-testid="stMarkdownContainer"],
[data-testid="stWidgetLabel"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: break-word;
}
[data-testid="stMetricValue"] { font-size: clamp(1.4rem, 2.4vw, 2.25rem); }
[data-testid="stBaseButton-secondary"] p, [data-testid="stBaseButton-primary"] p {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
[data-testid="stMultiSelectTagsContainer"], [data-testid="stMultiSelectTagsContainer"] > [role="group"] {
  flex-wrap: wrap !important; overflow-x: visible !important;
}
[data-testid="stMain"] .katex-display { overflow-x: auto; overflow-y: hidden; max-width: 100%; }
"""

PRESENTER_CSS = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"] {
  display: none !important;
}
html { font-size: 20px; }
[data-testid="stMain"] p, [data-testid="stMain"] li, [data-testid="stMain"] label,
[data-testid="stMain"] [data-testid="stMarkdownContainer"], [data-testid="stMain"] [data-testid="stCaptionContainer"] {
  font-size: max(20px, 1rem) !important;
}
[data-testid="stMain"] h1 { font-size: 2.6rem !important; }
[data-testid="stMain"] h2 { font-size: 2.0rem !important; }
[data-testid="stMain"] h3 { font-size: 1.6rem !important; }
[data-testid="stMetricValue"] { font-size: clamp(2rem, 3.2vw, 3rem) !important; }
[data-testid="stMetricLabel"] p { font-size: 1.1rem !important; }
[data-testid="stApp"], [data-testid="stMain"] { background: #ffffff; color: #000000; }
[data-testid="stMainBlockContainer"] { padding-top: 4rem; }
"""


def presenting() -> bool:
    """True when the URL asks for presenter view."""
    return st.query_params.get(PARAM) == "1"


def nav_position() -> str:
    """Where ``st.navigation`` goes: the sidebar, or (presenter view, sidebar hidden) a bar at the top."""
    return "top" if presenting() else "sidebar"


def _set(on: bool) -> None:
    # Only this parameter changes: the page and its other URL state stay as they are.
    if on:
        st.query_params[PARAM] = "1"
    else:
        st.query_params.pop(PARAM, None)


def _switched() -> None:
    _set(bool(st.session_state.get(SWITCH_KEY)))


def _leave() -> None:
    _set(False)


def setup() -> bool:
    """Style this run for its view; the sidebar switch; in presenter view a "leave" button. Returns presenting()."""
    on = presenting()
    st.html(f"<style>{FIT_CSS}{PRESENTER_CSS if on else ''}</style>")
    st.session_state[SWITCH_KEY] = on  # follow a view that came from the URL
    st.sidebar.toggle(_("Presenter view"), key=SWITCH_KEY, on_change=_switched,
                      help=_("For a projector: no sidebar, larger text, taller charts. The link keeps the view."))
    if on:
        st.button(_("Leave presenter view"), key="zoo_present_leave", icon=":material/close_fullscreen:",
                  on_click=_leave)
    return on


def controls(label: str | None = None):
    """Where a page's controls go: an expander in presenter view (one idea per screen), else the page itself."""
    if presenting():
        return st.expander(label or _("Controls"), expanded=False, icon=":material/tune:")
    return nullcontext()
