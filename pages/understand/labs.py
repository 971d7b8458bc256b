"""Building-block labs: each design choice of the landmark CNNs, measured on real modules.

Every lab shows the closed-form formula, the numbers measured by building the real
``nn.Module``s and counting them with the model pages' analysis, a chart, and where the
choice sits in the zoo. The labs themselves are the modules of ``pages/labs`` (menu built from
what is there); the chosen lab and its slider values live in the URL (``lab_*``).
"""
from __future__ import annotations

import streamlit as st

from pages.labs import index
from pages.ui import present
from pages.ui.labkit import choice
from zoo.i18n import _

LABS = index()

st.title(_("Building-block labs"))
st.markdown(_("Each design choice of the landmark CNNs on its own: the formula, the numbers measured on the real "
              "modules, and where it appears in the zoo."))
# A lab's TITLE is its English msgid (pages/labs); _() shows it in the session's language.
with present.controls(_("Choose a lab")):
    lab_id = choice(_("Lab"), "lab_id", list(LABS), next(iter(LABS)), fmt=lambda i: _(LABS[i].TITLE))
lab = LABS[lab_id]
# Keep only this lab's settings in the URL, so a shared link says exactly what is on screen.
for key in [k for k in st.query_params if k.startswith("lab_") and k != "lab_id"]:
    if not key.startswith(tuple(lab.URL_PREFIXES)):
        st.query_params.pop(key)
st.header(_(lab.TITLE))
# A fragment: moving one of the lab's sliders re-runs this lab only, not the page around it.
st.fragment(lab.render)()
