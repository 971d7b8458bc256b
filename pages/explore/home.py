"""Home: the seven families on a timeline, with links into each model page."""
from __future__ import annotations

import os

import plotly.graph_objects as go
import streamlit as st

from pages.ui import charts
from zoo import registry
from zoo.i18n import _

st.title("CNN Zoo Explorer")
st.write(
    "The landmark convolutional networks as they exist in the PyTorch model zoo: their layers, "
    "their costs, what their units see, and what they predict on your own photo. Every number "
    "here is counted from the real modules or read from torchvision's weights metadata."
)

fams = list(registry.FAMILIES.values())
# Stagger labels vertically so families of the same year don't overlap.
lanes: dict[int, int] = {}
ys = []
for f in fams:
    lanes[f.year] = lanes.get(f.year, 0) + 1
    ys.append(lanes[f.year])
fig = go.Figure(go.Scatter(
    x=[f.year for f in fams], y=ys, mode="markers+text", text=[f.display for f in fams], name="family founded",
    textposition="top center", marker=dict(size=18),
    customdata=[[f.introduced, f.ilsvrc or "—"] for f in fams],
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
    x=lx, y=ly, mode="markers+text", text=labels, textposition="top center", name="later model",
    marker=dict(size=10, symbol="circle-open"), customdata=hover,
    hovertemplate="<b>%{text}</b> (%{x})<br>%{customdata}<extra></extra>",
))
top = max(ys + ly)
fig.update_layout(height=320, xaxis=dict(title="year", dtick=1, range=[2011.3, max(lx + [2019]) + 0.9]),
                  yaxis=dict(visible=False, range=[0.3, top + 0.9]), margin=dict(t=20, b=10),
                  legend=dict(orientation="h", y=-0.25))
charts.show(fig, _("The seven families, year by year"), key="home_timeline")
st.caption("Filled: the year each family's founding paper first appeared. Open: later models with a paper or "
           "release of their own. Years are first public versions (arXiv, or the NIPS paper for AlexNet).")

cols = st.columns(2)
for i, f in enumerate(fams):
    with cols[i % 2].container(border=True):
        st.markdown(f"**{f.display}** · {f.year}" + (f" · {f.ilsvrc}" if f.ilsvrc else ""))
        st.caption(f.introduced)
        models = registry.by_family(f.key)
        rep = registry.FAMILY_DEFAULTS[f.key]
        st.page_link("pages/explore/model.py", label=f"{registry.get(rep).display}: layer table",
                     query_params={"model": rep})
        st.caption("Also: " + ", ".join(m.display for m in models if m.name != rep) if len(models) > 1 else "")

with st.container(border=True):
    st.markdown("#### How to use this in class")
    st.markdown(
        "- **Model**: pick a network and walk through its layer table; the URL is a link you can share.\n"
        "- **Compare**: accuracy against cost for any set of models, and where each one spends its parameters.\n"
        "- **Labs**: one design choice at a time (3x3 stacks, 1x1 reductions, bottlenecks, dense growth, "
        "depthwise-separable convs, compound scaling) with the formula beside the measured numbers.\n"
        "- **Receptive fields**: how far each layer sees, on a real photo.\n"
        "- **Predict** and **Inside the network**: upload a photo, watch the models disagree, and see where they look.\n"
        "- Works offline: EfficientNet-Lite0, Lite1 and Lite2's ImageNet weights ship with the app; run "
        "`python -m zoo fetch --all` beforehand to bring the others."
    )
