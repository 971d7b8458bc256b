"""Receptive fields: how far each layer sees, across models, on a photo, and in practice (the ERF)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from pages.ui import charts, present
from pages.ui.image import image_input
from pages.ui.memo import memo, progress_bar
from pages.ui.query import query_choice, query_int, query_list, set_query
from zoo import registry
from zoo.analysis import InputSizeError
from zoo.analysis.gradient_rf import EffectiveRF, GradientRF, effective_rf, erf_bytes, gradient_rf
from zoo.analysis.receptive_field import GEOMETRY_KINDS, Field, receptive_fields
from zoo.budget import BudgetError, gb, memory_budget
from zoo.i18n import N_, _
from zoo.inference.view import unit_box, unit_centres, unit_field, view
from zoo.inference.weights import WeightsError, is_available_offline

NAMES = registry.names()
DEFAULT_MODELS = ["alexnet", "vgg16", "resnet50"]
MAX_MARKERS_PER_AXIS = 56  # beyond this the unit-centre grid is thinned so the photo stays visible
ERF_SAMPLES = [1, 2, 4, 8]  # noise images the effective receptive field averages over
INIT_LABELS = {"random": N_("Random init (seeded)"), "trained": N_("Trained weights")}
BOX_COLOUR, GRID_COLOUR, UNIT_COLOUR = "#ffeb3b", "#00e5ff", "#ff1744"


@st.cache_data(show_spinner=False, max_entries=128)
def rf_detail(name: str) -> pd.DataFrame:
    """Per-layer receptive fields at the model's own input size (meta device, milliseconds)."""
    return receptive_fields(name).detail()


@st.cache_data(show_spinner=False, max_entries=64)
def final_layer(name: str) -> str:
    return receptive_fields(name).final.name


def erf_of(name: str, layer: str, init: str, samples: int, progress=None) -> EffectiveRF:
    """Kept per session (pages.ui.memo): a progress bar follows the computation, which st.cache_data cannot replay."""
    return memo("rf", ("erf", name, layer, init, samples),
                lambda: effective_rf(name, layer, init, samples=samples, progress=progress))


def gradient_check(name: str, layer: str) -> GradientRF:
    return memo("rf", ("grad", name, layer), lambda: gradient_rf(name, layer))


def trained_available(name: str) -> bool:
    return registry.get(name).has_weights and is_available_offline(name)


# -- figures ---------------------------------------------------------------------------------------


def depth_figure(names: list[str]) -> go.Figure:
    fig = go.Figure()
    sizes = set()
    for name, colour in zip(names, charts.distinct_colours(len(names))):
        df = rf_detail(name)
        geo = df[df["kind"].isin(GEOMETRY_KINDS) & (df["kind"] != "pad")]
        side = registry.get(name).input_size
        sizes.add(side)
        finite = geo[~geo["is_global"]]
        envelope = finite.groupby("depth", as_index=False)["rf"].max()
        display = registry.get(name).display
        fig.add_trace(go.Scatter(x=envelope["depth"], y=envelope["rf"].astype(float), mode="lines",
                                 line=dict(color=colour, width=1.5), name=display, legendgroup=name,
                                 hoverinfo="skip"))
        for gated, symbol, label in ((False, "circle", ""), (True, "diamond-open", " · " + _("SE-gated"))):
            part = finite[finite["global_dependence"] == gated]
            if part.empty:
                continue
            fig.add_trace(go.Scatter(
                x=part["depth"], y=part["rf"].astype(float), mode="markers", legendgroup=name, showlegend=False,
                marker=dict(color=colour, symbol=symbol, size=8 if gated else 6),
                customdata=np.stack([part["name"], part["type"], part["stride"].astype(float)], axis=-1),
                hovertemplate=f"{display}{label}<br>%{{customdata[0]}} (%{{customdata[1]}})<br>"
                              + _("rf %{y} px, stride %{customdata[2]} px") + "<extra></extra>"))
        # One star where the head's global pool starts; the squeeze-and-excitation branches' own global
        # pools (dozens in EfficientNet) would smear stars into a band along the input side.
        glob = geo[geo["is_global"]]
        if not finite.empty:
            glob = glob[glob["depth"] > finite["depth"].max()]
        glob = glob.head(1)
        if not glob.empty:
            fig.add_trace(go.Scatter(
                x=glob["depth"], y=[side] * len(glob), mode="markers", legendgroup=name, showlegend=False,
                marker=dict(color=colour, symbol="star", size=14, line=dict(width=1, color="black")),
                customdata=glob[["name"]].to_numpy(),
                hovertemplate=f"{display}<br>%{{customdata[0]}}: "
                              + _("global pool, sees the whole image (drawn at the {side} px input side)").format(
                                  side=side) + "<extra></extra>"))
    # The input side as a line trace: layout shapes (add_hline) take log10 units on a log axis,
    # which drew 224 px at 10^224.
    depths = [t for tr in fig.data for t in (tr.x if tr.x is not None else [])]
    ys = [v for tr in fig.data for v in (tr.y if tr.y is not None else []) if v and v > 0] + sorted(sizes) or [1, 10]
    x_lo, x_hi = (min(depths), max(depths)) if depths else (0, 1)
    for side in sorted(sizes):
        fig.add_trace(go.Scatter(x=[x_lo, x_hi], y=[side, side], mode="lines+text", showlegend=False,
                                 line=dict(dash="dot", color="grey", width=1), hoverinfo="skip",
                                 text=["", _("input side {side} px").format(side=side)], textposition="bottom left"))
    # The title as translated: log_axis would append an English "(log)" to "수용 영역 rf_px (로그)".
    ytitle = _("receptive field rf_px (log)")
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=30, b=40), hovermode="closest",
                      xaxis_title=_("depth (conv/pool layers on the longest path from the input)"),
                      yaxis={**charts.log_axis(min(ys), max(ys), ytitle), "title": ytitle}, legend_title_text="")
    return fig


def _box(fig: go.Figure, rows: tuple[int, int], cols: tuple[int, int], colour: str, dash: str, name: str) -> None:
    # Pixel k covers [k - 0.5, k + 0.5] on the image axes.
    fig.add_shape(type="rect", x0=cols[0] - 0.5, x1=cols[1] + 0.5, y0=rows[0] - 0.5, y1=rows[1] + 0.5,
                  line=dict(color=colour, width=2.5, dash=dash), name=name)


def overlay_figure(img: Image.Image, field: Field, out_hw: tuple[int, int], unit: tuple[int, int],
                   side: int) -> go.Figure:
    oh, ow = out_hw
    fig = go.Figure(go.Image(z=np.asarray(img), hoverinfo="skip"))
    step_r, step_c = max(1, -(-oh // MAX_MARKERS_PER_AXIS)), max(1, -(-ow // MAX_MARKERS_PER_AXIS))
    ii, jj = np.meshgrid(np.arange(0, oh, step_r), np.arange(0, ow, step_c), indexing="ij")
    cy, cx = unit_centres(field, ii, jj)
    fig.add_trace(go.Scatter(
        x=cx.ravel(), y=cy.ravel(), mode="markers", name=_("unit centres"),
        marker=dict(size=5, color=GRID_COLOUR, line=dict(width=0.5, color="black"), opacity=0.8),
        customdata=np.stack([ii.ravel(), jj.ravel()], axis=-1),
        hovertemplate=_("unit (%{customdata[0]}, %{customdata[1]})<br>centre (%{y:.1f}, %{x:.1f}) px")
        + "<extra></extra>"))
    left, top, right, bottom = unit_box(field, unit)
    rows, cols = (top, bottom), (left, right)
    _box(fig, rows, cols, BOX_COLOUR, "dash", _("theoretical field (beyond the image: zero padding)"))
    clipped = unit_box(field, unit, side)
    if clipped is not None:
        _box(fig, (clipped[1], clipped[3]), (clipped[0], clipped[2]), BOX_COLOUR, "solid",
             _("theoretical field on the image"))
    fig.add_trace(go.Scatter(x=[(left + right) / 2], y=[(top + bottom) / 2], mode="markers", name=_("chosen unit"),
                             marker=dict(size=13, color=UNIT_COLOUR, symbol="x", line=dict(width=1, color="white")),
                             hoverinfo="skip"))
    lo_x, hi_x = min(-0.5, cols[0] - 0.5), max(side - 0.5, cols[1] + 0.5)
    lo_y, hi_y = min(-0.5, rows[0] - 0.5), max(side - 0.5, rows[1] + 0.5)
    fig.update_xaxes(range=[lo_x - 4, hi_x + 4], showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(range=[hi_y + 4, lo_y - 4], showgrid=False, zeroline=False, scaleanchor="x")
    fig.update_layout(height=560, margin=dict(l=10, r=10, t=10, b=10), showlegend=True,
                      legend=dict(orientation="h", y=-0.02, yanchor="top"), clickmode="event+select")
    return fig


def erf_figure(e: EffectiveRF) -> go.Figure:
    side = e.input_size
    fig = go.Figure(go.Heatmap(z=e.gradient, colorscale="Inferno", zmin=0, zmax=1,
                               colorbar=dict(title=_("|∂unit/∂pixel|<br>(max = 1)")),
                               hovertemplate=_("pixel (%{y}, %{x})") + "<br>%{z:.3f}<extra></extra>"))
    rows, cols = e.field
    _box(fig, rows, cols, "#4fc3f7", "dash", _("theoretical field"))
    k = e.side_px(0.9)
    half = (k - 1) / 2
    fig.add_shape(type="rect", x0=e.centre[1] - half - 0.5, x1=e.centre[1] + half + 0.5,
                  y0=e.centre[0] - half - 0.5, y1=e.centre[0] + half + 0.5,
                  line=dict(color="#76ff03", width=2, dash="dot"))
    lo_x, hi_x = min(-0.5, cols[0] - 0.5), max(side - 0.5, cols[1] + 0.5)
    lo_y, hi_y = min(-0.5, rows[0] - 0.5), max(side - 0.5, rows[1] + 0.5)
    fig.update_xaxes(range=[lo_x - 4, hi_x + 4], showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(range=[hi_y + 4, lo_y - 4], showgrid=False, zeroline=False, scaleanchor="x")
    fig.update_layout(height=520, margin=dict(l=10, r=10, t=30, b=10),
                      title=dict(text=_("blue dashed: theoretical field · green dotted: square holding 90% of the "
                                        "gradient"), font=dict(size=13)))
    return fig


# -- page ------------------------------------------------------------------------------------------

st.title(_("Receptive fields"))
st.markdown(_(
    "Unit *i* of a feature map sees input pixels **[i·stride − padding, i·stride − padding + rf − 1]** along "
    "each axis (the convention of [Araujo et al., Distill 2019](https://distill.pub/2019/computing-receptive-fields/)). "
    "rf, stride and padding are computed on each model's traced graph at its own input size; where branches merge "
    "(ResNet's add, Inception's and DenseNet's concatenation) a unit sees the union of its inputs' fields. "
    "A global pool sees the whole image; squeeze-and-excitation gates (MobileNet V3, EfficientNet) make every "
    "later layer depend on the whole image too, so those layers show their convolution path's field, flagged."
))

# 1. Growth with depth, several models overlaid.
st.header(_("Field size against depth"))
with present.controls():  # in presenter view each chart gets the screen; its choices fold away
    picked = st.multiselect(_("Models"), NAMES, default=query_list("rf_models", NAMES, DEFAULT_MODELS),
                            format_func=lambda n: registry.get(n).display, key="rf_models_pick")
set_query(rf_models=picked or None)
if picked:
    charts.show(depth_figure(picked), _("Receptive field against depth"), key="rf_depth_chart")
    st.caption(_("Circles: conv and pooling layers. Hollow diamonds: layers after a squeeze-and-excitation gate "
               "(their convolution path's field; they also depend on the whole image). Stars: global pools, "
               "which see the whole image, drawn at the input side. The line joins the widest field at each depth. "
               "AlexNet's 11x11 and 5x5 kernels grow the field fast early; VGG's 3x3 stacks grow it steadily; "
               "ResNet and DenseNet reach fields wider than the image by sheer depth."))
else:
    st.info(_("Pick one or more models to plot."))

# 2. One model in detail.
st.header(_("One model, layer by layer"))
with present.controls():
    model = st.selectbox(_("Model"), NAMES, index=NAMES.index(query_choice("rf_model", NAMES, "resnet50")),
                         format_func=lambda n: registry.get(n).display, key="rf_model_pick")
entry = registry.get(model)
side = entry.input_size
try:
    detail = rf_detail(model)
except InputSizeError as e:
    st.error(str(e))
    st.stop()
final = final_layer(model)
fin = detail[detail["name"] == final]
if not fin.empty:
    r = fin.iloc[0]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(_("Last spatial map"), final)
    c2.metric("rf_px", f"{int(r['rf'])}")  # i18n: name
    c3.metric(_("Stride (px)"), f"{int(r['stride'])}")
    c4.metric(_("Padding (px)"), f"{int(r['padding'])}")
    se = bool(detail.loc[~detail["is_global"], "global_dependence"].any())
    st.caption(_("At {side}x{side} px, {model}'s input.").format(side=side, model=entry.display) + (
        " " + _("Squeeze-and-excitation gates: layers marked 'sees whole image' also depend on every pixel through "
                "a global pool; rf is their convolution path's field.") if se else ""))

geo = detail[detail["kind"].isin(GEOMETRY_KINDS)]
shown = geo.assign(output=geo["out_h"].astype(str) + "x" + geo["out_w"].astype(str))[
    ["name", "type", "depth", "rf", "stride", "padding", "output", "global_dependence", "note"]].rename(
    columns={"rf": "rf_px", "stride": "stride_px", "padding": "padding_px", "global_dependence": "sees_whole_image"})
st.dataframe(shown, hide_index=True, height=320,
             column_config={"name": _("layer"), "type": _("type"), "depth": _("depth"),
                            "rf_px": st.column_config.NumberColumn(
                                "rf_px", help=_("empty: global, the whole image")),  # i18n: name
                            "stride_px": _("stride (px)"), "padding_px": _("padding (px)"), "output": _("output"),
                            "sees_whole_image": _("sees whole image"), "note": _("note")})

# 3. A unit's field on a photo.
st.header(_("A unit's field on a photo"))
spatial = detail[~detail["is_global"] & (detail["kind"].isin(GEOMETRY_KINDS) | (detail["name"] == final))
                 & detail["out_h"].notna()]
layer_names = list(dict.fromkeys(spatial["name"]))
with present.controls():
    layer = st.selectbox(_("Layer"), layer_names,
                         index=layer_names.index(query_choice("rf_layer", layer_names, final if final in layer_names
                                                              else layer_names[-1])),
                         key=f"rf_layer_pick_{model}",
                         format_func=lambda n: f"{n}  (rf {int(spatial.loc[spatial['name'] == n, 'rf'].iloc[0])} px)")  # i18n: name
row = spatial[spatial["name"] == layer].iloc[0]
oh, ow = int(row["out_h"]), int(row["out_w"])
row_key, col_key = f"rf_row_{model}_{layer}", f"rf_col_{model}_{layer}"
# A click on a unit centre (the previous run's chart selection) moves the sliders, once per click.
# The chart's key names the layer, so a selection never carries over to another layer's units.
chart_key = f"rf_overlay_{model}_{layer}"
chart_state = st.session_state.get(chart_key)
points = (chart_state or {}).get("selection", {}).get("points", [])
if points and points[0].get("customdata") is not None:
    stamp = tuple(points[0]["customdata"])
    if st.session_state.get(f"_{chart_key}_applied") != stamp:
        st.session_state[f"_{chart_key}_applied"] = stamp
        st.session_state[row_key] = min(int(stamp[0]), oh - 1)
        st.session_state[col_key] = min(int(stamp[1]), ow - 1)
# Widgets keyed per layer start at the URL's unit (else the centre); set here, not via value=, so a
# click can move them too.
st.session_state.setdefault(row_key, query_int("rf_row", oh // 2, 0, oh - 1))
st.session_state.setdefault(col_key, query_int("rf_col", ow // 2, 0, ow - 1))
s1, s2 = st.columns(2)
if oh > 1:
    unit_r = s1.slider(_("Unit row"), 0, oh - 1, key=row_key)
else:
    unit_r = 0
    s1.caption(_("One row of units."))
if ow > 1:
    unit_c = s2.slider(_("Unit column"), 0, ow - 1, key=col_key)
else:
    unit_c = 0
    s2.caption(_("One column of units."))
set_query(rf_model=model, rf_layer=layer, rf_row=unit_r, rf_col=unit_c)

img = image_input("rf_img")
if img is not None:
    seen = view(entry)  # the same pixels the model gets on the Predict and Inside pages
    how = (_("resized and centre-cropped as the model's weights expect") if seen.pre.published else
           _("resized and centre-cropped with torchvision's ImageNet preset (this model has no published weights)"))
    field = unit_field(row)
    charts.show(overlay_figure(seen.crop(img), field, (oh, ow), (unit_r, unit_c), seen.side),
                _("One unit's receptive field on the photo"), key=chart_key, on_select="rerun", selection_mode="points")
    left, top, right, bottom = unit_box(field, (unit_r, unit_c))
    thinned = max(oh, ow) > MAX_MARKERS_PER_AXIS
    st.caption(
        _("The photo {how} ({side}x{side} px). Unit ({row}, {col}) of `{layer}` ({oh}x{ow} units) sees rows "
          "{top}..{bottom} and columns {left}..{right}: yellow box, dashed where it runs past the image into zero "
          "padding.").format(how=how, side=seen.side, row=unit_r, col=unit_c, layer=layer, oh=oh, ow=ow, top=top,
                             bottom=bottom, left=left, right=right)
        + " " + (_("Cyan dots: every unit's centre, {stride} px apart (thinned for legibility).") if thinned else
                 _("Cyan dots: every unit's centre, {stride} px apart.")).format(stride=int(row["stride_h"]))
        + " " + _("Click a dot or use the sliders to move the unit.")
        + (" " + _("This layer also depends on the whole image through a squeeze-and-excitation gate.")
           if bool(row["global_dependence"]) else ""))

# 4. Measured: the gradient check and the effective receptive field.
st.header(_("Measured with gradients"))
st.markdown(_(
    "**Gradient check.** Backpropagate from the centre unit through a copy of the network made linear and "
    "positive (weights 1/fan-in, BatchNorm and activations as identities, max pooling as average pooling, "
    "global pools cut): a pixel gets a non-zero gradient exactly when it lies in the unit's field."))
if st.button(_("Measure the field of this layer"), key="rf_measure"):
    try:
        with st.spinner(_("Backpropagating through {model} up to {layer}…").format(model=entry.display, layer=layer)):
            gradient_check(model, layer)
        st.session_state["rf_measured"] = (model, layer)
    except BudgetError as e:
        st.error(str(e))
if st.session_state.get("rf_measured") == (model, layer):
    g = gradient_check(model, layer)

    def fmt(iv) -> str:
        return _("none") if iv is None else _("rows {r0}..{r1}, cols {c0}..{c1}").format(
            r0=iv[0][0], r1=iv[0][1], c0=iv[1][0], c1=iv[1][1])

    st.markdown("\n".join(
        "- " + _("unit {unit}: measured {measured}; analytic {analytic}").format(unit=u, measured=fmt(m), analytic=fmt(a))
        + " — " + (":green[:material/check_circle: " + _("matches") + "]" if m == a
                   else ":red[:material/cancel: " + _("differs") + "]")
        for u, m, a in zip(g.units, g.measured, g.analytic)))
    st.caption(_("Measured in {dtype} at {size}x{size} px; analytic intervals are clipped to the image like the "
                 "gradient is.").format(dtype=str(g.dtype).replace("torch.", ""), size=g.input_size))

st.markdown(_(
    "**Effective receptive field** ([Luo et al., NeurIPS 2016](https://arxiv.org/abs/1701.04128)): the mean "
    "|gradient| of the centre unit over random inputs, through the real network. It is Gaussian-like and much "
    "smaller than the theoretical field: pixels near the field's edge reach the unit along few paths."))
inits = ["random"] + (["trained"] if trained_available(model) else [])
init = st.radio(_("Weights"), inits, index=inits.index(query_choice("rf_init", inits, "random")),
                format_func=lambda i: _(INIT_LABELS[i]), horizontal=True, key=f"rf_init_pick_{model}")
if "trained" not in inits:
    st.caption((_("{model}'s trained weights are not on this computer, so only a seeded random init is offered.")
                if entry.has_weights else
                _("{model}'s trained weights are not on this computer (it has none published), so only a seeded random "
                  "init is offered.")).format(
        model=entry.display) + " " + _("EfficientNet-Lite0's trained weights ship with the app; fetch others with "
                                       "`python -m zoo fetch NAME`."))
url_samples = query_int("rf_erf_n", 4, 1, max(ERF_SAMPLES))
samples = st.select_slider(_("Noise images"), ERF_SAMPLES, value=url_samples if url_samples in ERF_SAMPLES else 4,
                           key="rf_erf_n_pick", help=_("More images give a smoother map and cost more memory."))
set_query(rf_init=init, rf_erf_n=None if samples == 4 else samples)
erf_key = (model, layer, init, samples)
st.caption(_("Needs about {needed} of memory; one action may use {budget} on this server.").format(
    needed=gb(erf_bytes(model, layer, samples)), budget=gb(memory_budget())))
if st.button(_("Compute the effective receptive field"), key="rf_erf_go", type="primary"):
    bar, update = progress_bar(_("Effective receptive field…"))
    try:
        erf_of(model, layer, init, samples, update)
        st.session_state["rf_erf"] = erf_key
    except (WeightsError, BudgetError) as e:  # weights gone since the check above; a setting over the budget
        st.error(str(e))
    finally:
        bar.empty()
if st.session_state.get("rf_erf") == erf_key:
    e = erf_of(model, layer, init, samples)
    charts.show(erf_figure(e), key="rf_erf_chart")
    m1, m2, m3 = st.columns(3)
    m1.metric(_("Theoretical rf_px"), f"{max(e.rf_px)}")
    m2.metric(_("Square holding 90% of |gradient| (px)"), f"{e.side_px(0.9)}")
    m3.metric(_("Gradient mass inside the theoretical field"), f"{e.mass_in_box:.1%}")
    st.caption(_("{init}, centre unit {unit} of `{layer}`, {n} Gaussian-noise inputs at {size}x{size} px.").format(
        init=_(INIT_LABELS[init]), unit=e.unit, layer=e.layer, n=e.samples, size=e.input_size) + (
        " " + _("The squeeze-and-excitation gates add a faint gradient over the whole image.") if e.global_dependence
        else ""))
