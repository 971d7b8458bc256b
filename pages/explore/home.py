"""Home: the seven families on a timeline, with links into each model page."""
from __future__ import annotations

import os

import plotly.graph_objects as go
import streamlit as st

from pages.ui import charts
from zoo import registry
from zoo.i18n import N_, _

st.title("CNN Zoo Explorer")  # i18n: name
st.write(_(
    "The landmark convolutional networks as they exist in the PyTorch model zoo: their layers, "
    "their costs, what their units see, and what they predict on your own photo. Every number "
    "here is counted from the real modules or read from torchvision's weights metadata."
))

fams = list(registry.FAMILIES.values())
# Stagger labels vertically so families of the same year don't overlap.
lanes: dict[int, int] = {}
ys = []
for f in fams:
    lanes[f.year] = lanes.get(f.year, 0) + 1
    ys.append(lanes[f.year])
fig = go.Figure(go.Scatter(
    x=[f.year for f in fams], y=ys, mode="markers+text", text=[f.display for f in fams], name=_("family founded"),
    textposition="top center", marker=dict(size=18),
    customdata=[[_(f.introduced), _(f.ilsvrc) if f.ilsvrc else "—"] for f in fams],
    hovertemplate="<b>%{text}</b> (%{x})<br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
))
# Later models with a year (and paper) of their own, one marker per paper or release, from their cards.
later: dict[tuple[int, str], list[str]] = {}
for e in registry.REGISTRY.values():
    if e.year != e.fam.year:
        key = (e.year, e.card.paper.title if e.card.paper else e.card.sources[0].title)
        later.setdefault(key, []).append(e.display)
later_lanes = dict(lanes)
lx, ly, labels, hover = [], [], [], []
for (year, source), models in sorted(later.items()):
    later_lanes[year] = later_lanes.get(year, 0) + 1
    lx.append(year)
    ly.append(later_lanes[year])
    labels.append(os.path.commonprefix(models).rstrip(" -") or models[0])
    hover.append(f"{', '.join(models)}<br>{source}")
fig.add_trace(go.Scatter(
    x=lx, y=ly, mode="markers+text", text=labels, textposition="top center", name=_("later model"),
    marker=dict(size=10, symbol="circle-open"), customdata=hover,
    hovertemplate="<b>%{text}</b> (%{x})<br>%{customdata}<extra></extra>",
))
top = max(ys + ly)
fig.update_layout(height=320, xaxis=dict(title=_("year"), dtick=1, range=[2011.3, max(lx + [2019]) + 0.9]),
                  yaxis=dict(visible=False, range=[0.3, top + 0.9]), margin=dict(t=20, b=10),
                  legend=dict(orientation="h", y=-0.25))
charts.show(fig, _("The seven families, year by year"), key="home_timeline")
st.caption(_("Filled: the year each family's founding paper first appeared. Open: later models with a paper or "
             "release of their own. Years are first public versions (arXiv, or the NIPS paper for AlexNet)."))

cols = st.columns(2)
for i, f in enumerate(fams):
    with cols[i % 2].container(border=True):
        st.markdown(f"**{f.display}** · {f.year}" + (f" · {_(f.ilsvrc)}" if f.ilsvrc else ""))
        st.caption(_(f.introduced))
        models = registry.by_family(f.key)
        rep = registry.FAMILY_DEFAULTS[f.key]
        st.page_link("pages/explore/model.py", label=_("{model}: layer table").format(model=registry.get(rep).display),
                     query_params={"model": rep})
        others = ", ".join(m.display for m in models if m.name != rep)
        st.caption(_("Also: {models}").format(models=others) if others else "")

with st.container(border=True):
    st.markdown("#### " + _("How to use this in class"))
    # One under the other: side by side, the lesson's label is cut at 1024 px.
    st.page_link("pages/classroom/lesson.py", label=_("Lesson: the seven networks, step by step"),
                 icon=":material/school:")
    st.page_link("pages/classroom/quiz.py", label=_("Quiz: guess, then see the real number"), icon=":material/quiz:")
    st.markdown("\n".join("- " + _(line) for line in (
        N_("**Model**: pick a network and walk through its layer table; the URL is a link you can share."),
        N_("**Compare**: accuracy against cost for any set of models, and where each one spends its parameters."),
        N_("**Labs**: one design choice at a time (3x3 stacks, 1x1 reductions, bottlenecks, dense growth, "
           "depthwise-separable convs, compound scaling) with the formula beside the measured numbers."),
        N_("**Receptive fields**: how far each layer sees, on a real photo."),
        N_("**Predict** and **Inside the network**: upload a photo, watch the models disagree, and see where they look."),
        N_("Works offline: EfficientNet-Lite0, Lite1 and Lite2's ImageNet weights ship with the app; run "
           "`python -m zoo fetch --all` beforehand to bring the others."),
    )))
