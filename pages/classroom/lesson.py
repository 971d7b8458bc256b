"""Lesson: a guided walk through the seven architectures, one step per screen (steps in zoo/lesson.py).

Each step: the problem, the key idea, the lab that shows it (the labs page's own module, embedded),
one number counted from the real model, and that family's prediction and Grad-CAM on the class
photo chosen on the opening step. The step lives in the URL (``?step=3``); other query parameters
(a presenter view's, the labs' settings) are left as they are.
"""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from pages.labs import index
from pages.ui import labkit
from pages.ui.fmt import fmt_count
from pages.ui.image import image_input, show_image_summary
from pages.ui.models import get_cam_model, get_model
from pages.ui.query import query_int
from zoo import lesson, registry
from zoo.errors import ZooError
from zoo.i18n import _
from zoo.inference import cam
from zoo.inference import weights as W
from zoo.inference.device import DeviceUnavailableError, pick_device
from zoo.inference.images import image_digest, load_sample
from zoo.inference.predict import Prediction, predict

LABS = index()
PHOTO = "lesson_photo"  # session: (image, digest) of the class photo, kept for the whole lesson
DEFAULT_PHOTO = "chelsea.png"  # for a link straight to a later step, before anyone chose a photo


@st.cache_data(max_entries=256, show_spinner=False)
def run_prediction(name: str, device_str: str, digest: str, _image) -> Prediction:
    """The family model's top-3 on the class photo, cached by the photo's digest: a class on one photo costs one pass.

    The shared PyTorch model, not the fast CPU backend: one pass per photo does not repay that backend's
    one-off export and timing (seconds, on the step a teacher has just opened)."""
    return predict(get_model(name, device_str), registry.get(name), _image, topk=3, device=device_str,
                   cpu_model=lambda: get_model(name, "cpu"))


@st.cache_data(max_entries=64, show_spinner=False)
def cam_for(name: str, device_str: str, digest: str, class_index: int, _image):
    result = cam.compute_cam(get_cam_model(name, device_str), registry.get(name), _image, class_index, "gradcam")
    return result.overlay, result.layer


@st.cache_data(show_spinner=False)
def live_number(model: str, field: str) -> int:
    return lesson.LiveNumber("", model, field).value()


def go_to(i: int) -> None:
    st.query_params["step"] = str(i)


def photo_model(family: str) -> str:
    """The family's representative if its weights are here, else a family model whose weights are, else the former."""
    rep = registry.FAMILY_DEFAULTS[family]
    if W.is_available_offline(rep):
        return rep
    here = [e.name for e in registry.by_family(family) if e.has_weights and W.is_available_offline(e.name)]
    return here[0] if here else rep


def download(name: str, where) -> None:
    """Fetch ``name``'s weights (zoo.inference.weights.ensure_weights) with a progress bar; keep a failure's sentence."""
    bar = where.progress(0.0, text=_("Connecting…"))

    def progress(done: float, total: float | None, text: str = "") -> None:
        bar.progress(min(done / total, 1.0) if total else 0.0, text=f"{done / 2**20:.1f} MB")

    errors = st.session_state.setdefault("lesson_errors", {})
    try:
        W.ensure_weights(name, progress, allow_download=True)
    except W.WeightsError as e:
        errors[name] = str(e)
    else:
        errors.pop(name, None)
    st.rerun()


def class_photo(i: int):
    """The photo every step predicts on: chosen on the opening step, else the session's, else the default sample."""
    if i == 0:
        st.subheader(_("The class photo"))
        st.caption(_("Choose it once: every step shows its network's prediction and Grad-CAM on this photo."))
        img = image_input("lesson")
        if img is not None:
            st.session_state[PHOTO] = (img, image_digest(img))
    if PHOTO not in st.session_state:
        img = load_sample(DEFAULT_PHOTO)
        st.session_state[PHOTO] = (img, image_digest(img))
    return st.session_state[PHOTO]


def photo_panel(family: str, photo, device_str: str) -> None:
    img, digest = photo
    name = photo_model(family)
    entry = registry.get(name)
    st.markdown("**" + _("{model} on the class photo").format(model=entry.display) + "**")
    if not W.is_available_offline(name):
        show_image_summary(img, width=120)
        st.info(W.missing_message(name))
        error = st.session_state.get("lesson_errors", {}).get(name)
        if error:
            st.error(error)
        where = st.container()
        spec = W.spec(name)
        size = spec.size_bytes / 1e6 if spec is not None and spec.size_bytes else 0.0  # decimal MB, as the note says
        if st.button(_("Download {mb:.1f} MB").format(mb=size), key=f"lesson_dl_{name}",
                     icon=":material/download:"):
            download(name, where)
        return
    try:
        with st.spinner(_("Running {model}…").format(model=entry.display)):
            pred = run_prediction(name, device_str, digest, img)
            index_, label, prob = pred.top1
            overlay, layer = cam_for(name, device_str, digest, index_, img)
    except ZooError as e:
        st.error(str(e))
        return
    st.markdown(_("Top-1: **{label}** ({p:.0%})").format(label=label, p=prob))
    st.caption(" · ".join(f"{lbl} {p:.0%}" for _i, lbl, p in pred.top[1:]))
    st.image(overlay, width=260, caption=_("Grad-CAM: where {model} finds '{label}' (layer `{layer}`)").format(
        model=entry.display, label=label, layer=layer))


def number_panel(number: lesson.LiveNumber) -> None:
    value = live_number(number.model, number.field)
    st.metric(_(number.label), fmt_count(value))
    how = (_("{n:,} parameters, counted from the module built on PyTorch's meta device.") if number.field == "params"
           else _("{n:,} multiply-accumulates for one image, counted from the module built on PyTorch's meta device."))
    st.caption(how.format(n=value))
    if number.versus:
        other = live_number(number.versus, number.field)
        template = (_("{ratio:.1f}× more than {other} ({value}).") if value > other
                    else _("{ratio:.1f}× fewer than {other} ({value})."))
        st.caption(template.format(ratio=max(value, other) / min(value, other),
                                   other=registry.get(number.versus).display, value=fmt_count(other)))


def grid_figure(table) -> go.Figure:
    """A small integer grid as a heatmap with its numbers written in, row 0 at the top."""
    z = table.values
    fig = go.Figure(go.Heatmap(z=z, text=z, texttemplate="%{text}", colorscale="Greys", reversescale=True,
                               showscale=False, hoverinfo="skip", xgap=1, ygap=1))
    fig.update_layout(height=28 * len(z) + 20, margin=dict(l=0, r=0, t=0, b=0),
                      xaxis=dict(visible=False), yaxis=dict(visible=False, autorange="reversed", scaleanchor="x"))
    return fig


def conv_example() -> None:
    """The opening step's live example: one real convolution on a tiny image, and its counted size."""
    c = st.columns(3)
    with c[0]:
        side = labkit.slider(_("Input side W (px)"), "lesson_conv_side", 4, 12, 8)
        cin = labkit.slider(_("Input channels C_in"), "lesson_conv_cin", 1, 512, 3)
    with c[1]:
        k = labkit.slider(_("Kernel K"), "lesson_conv_k", 1, 7, 3, step=2)
        cout = labkit.slider(_("Output channels C_out"), "lesson_conv_cout", 1, 512, 16)
    with c[2]:
        s = labkit.slider(_("Stride S"), "lesson_conv_stride", 1, 3, 1)
        p = labkit.slider(_("Padding P"), "lesson_conv_pad", 0, 3, 1)
    try:
        ex = lesson.conv_example(side, cin, cout, k, s, p)
        image, kernel, out = lesson.edge_demo(k, s, p, side)
    except ZooError as e:
        st.error(str(e))
        return
    g = st.columns([side, max(k, 3), max(ex.out_side, 3)])
    for col, table, title, key in ((g[0], image, _("Input (one channel): dark left, bright right"), "in"),
                                   (g[1], kernel, _("Kernel: a vertical-edge detector"), "kernel"),
                                   (g[2], out, _("Output, computed by F.conv2d"), "out")):
        col.caption(title)
        col.plotly_chart(grid_figure(table), key=f"lesson_grid_{key}", config={"displayModeBar": False})
    st.latex(rf"\text{{out}} = \left\lfloor \frac{{{side} + 2\cdot{p} - {k}}}{{{s}}} \right\rfloor + 1 = {ex.out_side_formula}"
             rf"\qquad \text{{params}} = {k}\cdot{k}\cdot{cin}\cdot{cout} + {cout} = {ex.params_formula:,}")
    m = st.columns(3)
    m[0].metric(_("Output side (measured)"), f"{ex.out_side} px")
    m[1].metric(_("Parameters (counted)"), f"{ex.params:,}")
    m[2].metric(_("MACs (counted)"), f"{ex.macs:,}")
    st.caption(_("Counted from a real nn.Conv2d with these settings ({c_in} → {c_out} channels); the formula gives "
                 "the same {params:,} parameters and {macs:,} MACs.").format(c_in=cin, c_out=cout, params=ex.params_formula,
                                                                         macs=ex.macs_formula))


def pareto_panel() -> None:
    t = lesson.pareto_table()
    front = t[t["on_front"]].sort_values("macs")
    fig = go.Figure()
    fig.add_scatter(x=t["macs"], y=t["acc1"], mode="markers+text", text=t["display"], textposition="top center",
                    marker=dict(size=12, color=["#1f77b4" if f else "#9e9e9e" for f in t["on_front"]]),
                    name=_("model"), hovertemplate="%{text}: %{x:.3s} MACs, %{y:.1f}%<extra></extra>")
    fig.add_scatter(x=front["macs"], y=front["acc1"], mode="lines", line=dict(dash="dot"), name=_("Pareto front"))
    fig.update_layout(height=420, xaxis=dict(type="log", title=_("MACs per image (log scale)")),
                      yaxis=dict(title=_("ImageNet top-1 accuracy (%)")), margin=dict(t=20, b=10))
    st.plotly_chart(fig, key="lesson_pareto")
    st.metric(_("Models on the Pareto front"), f"{len(front)} / {len(t)}")
    st.caption(_("On the front: {models}. Accuracy from each model's weights metadata, MACs counted from the "
                 "modules.").format(models=", ".join(front["display"])))
    st.page_link("pages/explore/compare.py", label=_("Compare any models"), icon=":material/balance:",
                 query_params={"cmp": ",".join(t["name"])})


def notes(step: lesson.Step) -> None:
    with st.expander(_("Speaker notes"), expanded=False, icon=":material/record_voice_over:"):
        if step.ask:
            st.markdown("**" + _("Ask the class first") + "**")
            st.markdown("\n".join(f"- {_(q)}" for q in step.ask))
        if step.misconceptions:
            st.markdown("**" + _("Common misconceptions") + "**")
            st.markdown("\n".join(f"- *{_(m.claim)}* {_(m.truth)}" for m in step.misconceptions))


# -- the page -------------------------------------------------------------------------------------
i = query_int("step", 0, 0, lesson.LAST)
st.query_params["step"] = str(i)
step = lesson.step(i)

nav = st.columns([2, 7, 2], vertical_alignment="center")
nav[0].button(_("Previous"), key="lesson_prev", icon=":material/arrow_back:", disabled=i == 0, on_click=go_to,
              args=(i - 1,), shortcut="Left", width="stretch")
nav[1].progress((i + 1) / len(lesson.STEPS), text=_("Step {n} of {total}").format(n=i, total=lesson.LAST))
nav[2].button(_("Next"), key="lesson_next", icon=":material/arrow_forward:", icon_position="right",
              disabled=i == lesson.LAST, on_click=go_to, args=(i + 1,), shortcut="Right", width="stretch")

st.title(_(step.title))
try:
    device = pick_device()
except DeviceUnavailableError as e:
    st.error(str(e))
    device = pick_device("cpu")

if step.family is None:
    st.markdown(f"**{_('The problem')}** {_(step.problem)}")
    st.markdown(f"**{_('The idea')}** {_(step.idea)}")
    if step.key == "convolution":
        conv_example()
    else:
        pareto_panel()
    photo = class_photo(i)
else:
    photo = class_photo(i)
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"**{_('The problem')}** {_(step.problem)}")
        st.markdown(f"**{_('The idea')}** {_(step.idea)}")
        number_panel(step.number)
    with right:
        photo_panel(step.family, photo, str(device))
    lab = LABS.get(step.lab)
    if lab is not None:
        with st.container(border=True):
            st.subheader(_("Lab: {title}").format(title=_(lab.TITLE)))
            lab.render()
notes(step)
