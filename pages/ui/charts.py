"""One look for every chart: a palette per concept, a plotly template (normal and presenter) and PNG export.

Every page draws its figures through :func:`show`, which applies the template of the current view
(presenter view: light, high contrast, larger fonts, taller) and the export config, so that the
camera button in each chart's toolbar saves a PNG at slide resolution.

Palettes, one per concept, used the same way on every page:

- :func:`position_colour`: where a module sits in its network, stem (0) -> stages -> head (1), one
  sequential scale, so the same depth has the same colour across models;
- ``PLAIN`` / ``RESIDUAL``: a plain stack vs one with a shortcut; ``ACTIVATION``: ReLU vs tanh vs sigmoid;
- :func:`family_colour`: one colour per model family (AlexNet, VGG, ...);
- :func:`distinct_colours`: n colours that stay apart for n models on one chart.
"""
from __future__ import annotations

import math

import plotly.colors as pc
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from pages.ui.present import presenting
from zoo.i18n import _

# Network position: a sequential scale from light (stem) to dark (head), readable on white and in grey.
POSITION_SCALE = "Viridis_r"
PLAIN, RESIDUAL = "#d62728", "#1f77b4"  # plain stack vs residual, wherever the two meet
# The other variant(s) shown beside plain / residual (a basic block, a wide baseline, ...).
NEUTRAL, ACCENT, LIGHT = "#7f7f7f", "#2ca02c", "#c7c7c7"
ACTIVATION = {"relu": "#1f77b4", "tanh": "#ff7f0e", "sigmoid": "#9467bd"}
# Okabe-Ito (colour-blind safe) then Tableau: one colour per family, in the catalogue's family order.
FAMILY_COLOURS = {
    "alexnet": "#E69F00", "vgg": "#56B4E9", "inception": "#009E73", "resnet": "#0072B2",
    "densenet": "#D55E00", "mobilenet": "#CC79A7", "efficientnet": "#000000",
}
# Okabe-Ito + Tableau 10 without near-duplicates: colours that stay distinct for up to 14 models.
DISTINCT = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442",
            "#8c564b", "#7f7f7f", "#bcbd22", "#17becf", "#e377c2", "#9467bd"]

# A plotly toolbar camera click: PNG at 3x the on-screen size (a 700 px chart becomes 2100 px).
EXPORT_SCALE = 3


def position_colour(i: int, n: int) -> str:
    """The colour of the ``i``-th of ``n`` stages (0 = stem, n-1 = head) on the network-position scale."""
    t = 0.0 if n <= 1 else i / (n - 1)
    return pc.sample_colorscale(POSITION_SCALE, [t])[0]


def family_colour(family: str) -> str:
    return FAMILY_COLOURS.get(family, NEUTRAL)


def distinct_colours(n: int) -> list[str]:
    """``n`` colours, all different while n <= 14 (then they repeat)."""
    return [DISTINCT[i % len(DISTINCT)] for i in range(n)]


def log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Tick values 1-3-10 across [lo, hi] with labels that read as numbers: 0.3, 1, 3, 10 (never "3" for 0.3)."""
    if not (lo > 0 and hi > 0):
        raise ValueError("a log axis needs positive bounds")
    lo, hi = min(lo, hi), max(lo, hi)
    if math.log10(hi / lo) > 4:  # many decades: powers of ten only, written as powers (1e-12 as 10⁻¹²)
        vals = [10.0 ** e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)]
        return vals, [_power(v) for v in vals]
    vals = []
    for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in (1, 3):
            v = m * 10.0 ** e
            if lo / 3.4 <= v <= hi * 3.4:  # one tick past each end (plotly draws only those in range)
                vals.append(v)
    if len(vals) < 2:  # a narrow range: the bounds themselves
        vals = [lo, hi]
    return vals, [_number(v) for v in vals]


def _power(v: float) -> str:
    e = round(math.log10(v))
    if 0 <= e <= 3:
        return f"{v:,.0f}"
    return "10" + str(e).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def _number(v: float) -> str:
    if v >= 1:
        return f"{v:,.0f}"
    return f"{v:.{-math.floor(math.log10(v) + 1e-9)}f}"


def log_axis(lo: float, hi: float, title: str) -> dict:
    """A layout axis dict for a log axis with 1-3-10 ticks and "(log)" (in the session's language) in its title."""
    vals, text = log_ticks(lo, hi)
    if "(log)" not in title and _("(log)") not in title:
        title = _("{title} (log)").format(title=title)
    return dict(type="log", tickvals=vals, ticktext=text, title=title)


# -- templates ---------------------------------------------------------------------------------------

def _template(presenter: bool) -> go.layout.Template:
    font = 20 if presenter else 14
    axis = dict(showline=True, linecolor="#222" if presenter else "#888", gridcolor="#d9d9d9" if presenter else "#ececec",
                ticks="outside", tickfont=dict(size=font - 2), title=dict(font=dict(size=font)), automargin=True,
                zerolinecolor="#bbb")
    return go.layout.Template(layout=dict(
        font=dict(size=font, color="#000" if presenter else "#262730",
                  family="Source Sans Pro, Source Sans 3, Arial, sans-serif"),
        title=dict(font=dict(size=font + 4), x=0, xanchor="left"),
        paper_bgcolor="white", plot_bgcolor="white", colorway=DISTINCT,
        xaxis=axis, yaxis=axis, legend=dict(font=dict(size=font - 2)),
        hoverlabel=dict(font=dict(size=font)),
    ))


pio.templates["zoo"] = _template(False)
pio.templates["zoo_presenter"] = _template(True)


def export_config(filename: str) -> dict:
    """The plotly config: the camera button saves ``filename``.png at slide resolution."""
    return {"toImageButtonOptions": {"format": "png", "filename": filename, "scale": EXPORT_SCALE},
            "displaylogo": False}


def number_log_ticks(fig: go.Figure) -> go.Figure:
    """Give every log axis that has no ticks of its own ticks that read as numbers (see :func:`log_ticks`)."""
    for prop in list(fig.layout):
        if not (prop.startswith("xaxis") or prop.startswith("yaxis")):
            continue
        axis = fig.layout[prop]
        if axis.type != "log" or axis.tickvals is not None:
            continue
        letter, ref = prop[0], prop[0] + prop[5:]  # "yaxis2" -> traces with yaxis="y2"
        values = []
        for tr in fig.data:
            if (getattr(tr, f"{letter}axis", None) or letter) != ref:
                continue
            for v in getattr(tr, letter, None) if getattr(tr, letter, None) is not None else []:
                try:
                    if float(v) > 0:
                        values.append(float(v))
                except (TypeError, ValueError):
                    pass
        if values:
            vals, text = log_ticks(min(values), max(values))
            axis.update(tickvals=vals, ticktext=text)
    return fig


def style(fig: go.Figure, title: str | None = None, *, presenter: bool | None = None) -> go.Figure:
    """Apply the view's template (and a title saying what the chart shows); taller in presenter view."""
    presenter = presenting() if presenter is None else presenter
    number_log_ticks(fig)
    fig.update_layout(template="zoo_presenter" if presenter else "zoo")
    if title is not None:
        fig.update_layout(title_text=title)
        top = fig.layout.margin.t
        want = 70 if presenter else 50
        if top is None or top < want:
            fig.update_layout(margin_t=want)
    if presenter:
        height = fig.layout.height or 450
        fig.update_layout(height=int(height * 1.3))
        # Subplot titles are annotations: the template's font does not reach them.
        fig.update_annotations(font_size=22)
    return fig


def show(fig: go.Figure, title: str | None = None, *, key: str | None = None, where=st, **kw):
    """``st.plotly_chart`` with the view's template, a title and PNG export; ``where``: a column or container."""
    style(fig, title)
    name = key or (title or "chart")
    filename = "".join(c if c.isalnum() else "_" for c in name).strip("_")[:60] or "chart"
    kw.setdefault("width", "stretch")
    return where.plotly_chart(fig, key=key, config=export_config(filename), theme=None, **kw)


# -- figures more than one page draws -------------------------------------------------------------

def stage_stack(long, share: str, start: str, amount: str, unit: str, share_title: str) -> go.Figure:
    """One horizontal bar per model, its stages stacked in network order and coloured by network position.

    ``long``: zoo.compare.cost_by_stage's table (one row per model and stage, ``order`` = stage index).
    ``share`` / ``start``: the columns with each segment's share (%) and where it starts; ``amount``: the
    absolute column (params or MACs) shown on hover with ``unit``.
    """
    models = list(dict.fromkeys(long["model"]))  # the order the models were picked in
    rank = {m: i for i, m in enumerate(models)}
    long = long.assign(_rank=long["model"].map(rank)).sort_values(["_rank", "order"], kind="stable")
    n_stages = long.groupby("model")["order"].transform("max").clip(lower=1)
    position = long["order"] / n_stages
    # Name the segments wide enough to hold their name; hover names every one.
    text = [s if pct >= 12 else "" for s, pct in zip(long["stage"], long[share])]
    fig = go.Figure(go.Bar(
        x=long[share], base=long[start], y=long["model"], orientation="h", text=text,
        textposition="inside", insidetextanchor="middle", textangle=0, constraintext="inside",
        marker=dict(color=position, colorscale=POSITION_SCALE, cmin=0, cmax=1, line=dict(color="white", width=1),
                    colorbar=dict(title=dict(text=_("position in the network"), side="right"), tickvals=[0, 0.5, 1],
                                  ticktext=[_("stem"), _("middle"), _("head")], thickness=14)),
        customdata=list(zip(long["stage"], long[share], [f"{v:,}" for v in long[amount]])),
        hovertemplate="<b>%{y}</b><br>%{customdata[0]}<br>%{customdata[1]:.1f}% · %{customdata[2]} " + unit
                      + "<extra></extra>"))
    fig.update_layout(height=max(260, 48 * len(models) + 90), showlegend=False, xaxis=dict(title=share_title,
                      range=[0, 100], ticksuffix="%"), yaxis=dict(autorange="reversed", categoryorder="array",
                      categoryarray=models), margin=dict(t=50, b=10, l=10, r=10))
    return fig


def label_positions(xs, ys, labels, *, log_x: bool = False, width_px: int = 900, height_px: int = 480,
                    char_px: float = 7.5) -> list[str]:
    """A ``textposition`` per point, chosen greedily so that point labels overlap each other as little as possible.

    Boxes are estimated in pixels (label length x ``char_px``); each point takes the first of
    top / bottom / right / left whose box misses every box placed so far, else the least-overlapping one.
    """
    if not len(xs):
        return []
    fx = [math.log10(x) if log_x else x for x in xs]
    x0, x1, y0, y1 = min(fx), max(fx), min(ys), max(ys)
    sx = width_px / ((x1 - x0) or 1)
    sy = height_px / ((y1 - y0) or 1)
    placed: list[tuple[float, float, float, float]] = []
    out = [""] * len(xs)
    line = 16.0
    for i in sorted(range(len(xs)), key=lambda i: -ys[i]):
        px, py = (fx[i] - x0) * sx, (ys[i] - y0) * sy
        w = len(str(labels[i])) * char_px
        boxes = {
            "top center": (px - w / 2, py + 6, px + w / 2, py + 6 + line),
            "bottom center": (px - w / 2, py - 6 - line, px + w / 2, py - 6),
            "middle right": (px + 8, py - line / 2, px + 8 + w, py + line / 2),
            "middle left": (px - 8 - w, py - line / 2, px - 8, py + line / 2),
        }

        def overlap(b):
            return sum(max(0, min(b[2], p[2]) - max(b[0], p[0])) * max(0, min(b[3], p[3]) - max(b[1], p[1]))
                       for p in placed)

        best = min(boxes, key=lambda k: (overlap(boxes[k]) > 0, overlap(boxes[k])))
        out[i] = best
        placed.append(boxes[best])
    return out
