"""Predict: several models' top-5 side by side, each with its own preprocessing, latency and MACs."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from pages.ui import charts
from pages.ui.image import image_input
from pages.ui.models import get_cam_model, get_model, get_predictor, prepare_predictor
from pages.ui.query import query_choice, query_list, set_query
from zoo import registry
from zoo.analysis import summarize
from zoo.i18n import _, language, ngettext
from zoo.inference import cam
from zoo.inference import weights as W
from zoo.inference.device import DeviceUnavailableError, device_label, pick_device, supports_half
from zoo.inference.images import image_digest
from zoo.inference.predict import Prediction, agreement, default_selection, predict
from zoo.inference.view import MODE_LABELS, view

AGREE_COLOUR, OTHER_COLOUR, DISAGREE_COLOUR = "#2e7d32", "#9e9e9e", "#ef6c00"
COLUMNS_PER_ROW = 3
WRONG_MODES = ["no_normalise", "wrong_size"]


@st.cache_data(max_entries=512, show_spinner=False)
def run_prediction(name: str, device_str: str, half: bool, mode: str, precision: str, digest: str, lang: str,
                   _image) -> Prediction:
    """One model on one image, cached by the image's pixel digest: twenty students on the same photo cost one pass.

    ``lang`` is in the key because a Prediction carries sentences (its notice, its preprocessing) in it.
    """
    return predict(get_predictor(name, device_str, precision), registry.get(name), _image, topk=5, device=device_str,
                   half=half, mode=mode, cpu_model=lambda: get_model(name, "cpu"))


@st.cache_data(max_entries=64, show_spinner=False)
def cam_for(name: str, device_str: str, digest: str, class_index: int, _image) -> tuple[Image.Image, str]:
    """Grad-CAM overlay of ``class_index`` on the model's own crop, and the layer it used."""
    result = cam.compute_cam(get_cam_model(name, device_str), registry.get(name), _image, class_index, "gradcam")
    return result.overlay, result.layer


@st.cache_data(show_spinner=False)
def macs_at(name: str, side: int) -> int:
    return summarize(name, side).macs


def top5_chart(pred: Prediction, highlight: int | None) -> go.Figure:
    labels = [f"{label} ({index})" for index, label, _ in pred.top][::-1]
    probs = [p for *_, p in pred.top][::-1]
    colours = [AGREE_COLOUR if index == highlight else OTHER_COLOUR for index, *_ in pred.top][::-1]
    fig = go.Figure(go.Bar(x=probs, y=labels, orientation="h", marker_color=colours,
                           text=[f"{p:.1%}" for p in probs], textposition="auto",
                           hovertemplate="%{y}: %{x:.2%}<extra></extra>"))
    fig.update_layout(height=230, margin=dict(l=0, r=10, t=10, b=30), xaxis=dict(range=[0, 1], tickformat=".0%",
                      title=_("probability")), showlegend=False)
    return fig


def download_weights(name: str, where) -> None:
    """Fetch ``name``'s weights with a progress bar; remember the outcome across the rerun."""
    bar = where.progress(0.0, text=_("Connecting…"))

    def progress(done: float, total: float | None, text: str = "") -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=f"{done / 1e6:.1f} / {total / 1e6:.1f} MB")
        else:
            bar.progress(0.0, text=f"{done / 1e6:.1f} MB")

    errors = st.session_state.setdefault("pred_errors", {})
    try:
        W.ensure_weights(name, progress, allow_download=True)
    except W.WeightsUnavailableError as e:
        st.session_state["pred_offline"] = True
        errors[name] = str(e)
    except W.WeightsDownloadError as e:
        errors[name] = str(e)
    else:
        errors.pop(name, None)
        st.session_state["pred_offline"] = False
    st.rerun()


st.title(_("Predict"))
st.caption(_("Each model sees the photo through its own weights' preprocessing, runs in eval mode under "
             "`torch.inference_mode()`, and shows its top-5 ImageNet classes, forward-pass latency and MACs."))

# -- device ---------------------------------------------------------------------------------------
try:
    device = pick_device()
except DeviceUnavailableError as e:  # a bad $ZOO_DEVICE: say so and carry on on the CPU
    st.error(str(e))
    device = pick_device("cpu")
device_str = str(device)
badge_col, half_col = st.columns([2, 3])
badge_col.badge(device_label(device), icon=":material/memory:", color="blue")
half = half_col.toggle(_("Half precision (float16 autocast)"), key="pred_half", disabled=not supports_half(device),
                       help=_("CUDA only: the same float32 model, run under float16 autocast."))
exact = half_col.toggle(_("Exact fp32"), key="pred_fp32", value=st.query_params.get("pred_fp32") == "1",
                        disabled=device.type != "cpu",
                        help=_("CPU: only backends that compute in float32, exactly as PyTorch does (to 1e-4). Off: "
                               "the fastest backend measured on this computer, bfloat16 included where its top-5 "
                               "matched float32 on the sample photos."))
set_query(pred_fp32="1" if exact else None)
precision = "fp32" if exact else "auto"

# -- choices --------------------------------------------------------------------------------------
with_weights = [e.name for e in registry.REGISTRY.values() if e.has_weights]
offline = W.available_models()
# Initial values come from the URL through the widgets' own defaults; writing them into
# st.session_state before the widgets exist left the model list empty under concurrent sessions
# (bench/bench_load.py: 10 of 10 sessions failed).
url_pre = query_choice("pred_pre", ["correct", *WRONG_MODES], "correct")


def _model_label(name: str) -> str:
    entry = registry.get(name)
    if name in offline:
        return entry.display
    mb = entry.file_size_mib * 2**20 / 1e6  # torchvision gives MiB; the app says decimal MB everywhere
    return _("{model} · {mb:.0f} MB to download").format(model=entry.display, mb=mb)


if st.session_state.get("pred_offline"):
    st.warning(W.offline_message(), icon=":material/wifi_off:")

image_col, choice_col = st.columns([2, 3])
with image_col:
    image = image_input("pred")
with choice_col:
    chosen = st.multiselect(_("Models"), with_weights, key="pred_models", format_func=_model_label,
                            default=query_list("pred_models", with_weights, default_selection(offline)),
                            help=_("Default: one model per family whose weights are on this computer."))
    wrong = st.toggle(_("Wrong preprocessing"), key="pred_wrong", value=url_pre != "correct",
                      help=_("See why preprocessing matters: the same photo, prepared the way the weights did not "
                             "expect."))
    show_cam = st.toggle(_("Show where each model looks (Grad-CAM)"), key="pred_cam",
                         value=st.query_params.get("pred_cam") == "1",
                         help=_("A heatmap of the evidence for each model's top-1 class, from its last convolutional "
                                "stage. More methods and layers on the Inside the network page."))
    mode = "correct"
    if wrong:
        mode = st.radio(_("What goes wrong"), WRONG_MODES, key="pred_wrong_kind", horizontal=True,
                        index=WRONG_MODES.index(url_pre) if url_pre in WRONG_MODES else 0,
                        format_func=lambda m: _(MODE_LABELS[m]))
set_query(pred_models=chosen or None, pred_pre=None if mode == "correct" else mode, pred_cam="1" if show_cam else None)
st.session_state["pred_results"] = {}  # this run's top-k as JSON, for tests and the browser checks

if image is None:
    st.stop()
if not chosen:
    st.info(_("Pick at least one model."))
    st.stop()
if mode == "wrong_size":
    first = registry.get(chosen[0])
    thumb = view(first, mode).crop(image)
    # Nearest-neighbour enlargement shows the real pixels rather than a smoothed guess.
    choice_col.image(thumb.resize((thumb.width * 4, thumb.height * 4), Image.Resampling.NEAREST), width=thumb.width * 4,
                     caption=_("What {model} receives: {w} x {h} px (shown 4x), where its weights expect {side} x "
                               "{side}.").format(model=first.display, w=thumb.width, h=thumb.height,
                                                 side=first.input_size))

# -- predictions ----------------------------------------------------------------------------------
digest = image_digest(image)
preds: dict[str, Prediction] = {}
problems: dict[str, str] = {}
with st.spinner(_("Running the models…")):
    for name in chosen:
        if not W.is_available_offline(name):
            continue
        try:
            prepare_predictor(name, device_str, precision)  # the one-off export and timing, with a progress bar
            preds[name] = run_prediction(name, device_str, half, mode, precision, digest, language(), image)
        except W.WeightsError as e:
            problems[name] = str(e)
st.session_state["pred_results"].update({n: p.to_json() for n, p in preds.items()})

agree = agreement(list(preds.values()))
if len(preds) > 1:
    if agree.unanimous:
        st.success(_("All {n} models agree: **{label}**.").format(n=agree.total, label=agree.label))
    else:
        st.info(_("{agreeing} of {n} models say **{label}**; their bars are green, other top-1 answers are "
                  "orange.").format(agreeing=len(agree.agreeing), n=agree.total, label=agree.label))

for row_start in range(0, len(chosen), COLUMNS_PER_ROW):
    row = chosen[row_start:row_start + COLUMNS_PER_ROW]
    for col, name in zip(st.columns(COLUMNS_PER_ROW), row):
        entry = registry.get(name)
        col.subheader(entry.display)
        error = st.session_state.get("pred_errors", {}).get(name)
        if name in problems:
            col.error(problems[name])
            if W.is_available_offline(name):
                continue
        if name not in preds:
            if name not in problems:
                col.info(W.missing_message(name))
            if error:
                col.error(error)
            if col.button(_("Download {mb:.1f} MB").format(mb=entry.file_size_mib * 2**20 / 1e6), key=f"pred_dl_{name}",
                          icon=":material/download:"):
                download_weights(name, col)
            continue
        pred = preds[name]
        index, label, prob = pred.top1
        agrees = len(preds) < 2 or index == agree.index
        colour = "green" if agrees else "orange"
        col.markdown(_("Top-1: {answer} ({prob:.1%})").format(answer=f":{colour}[**{label}**]", prob=prob))
        charts.show(top5_chart(pred, agree.index if len(preds) > 1 else index),
                    _("{model}: top-5 classes").format(model=entry.display), key=f"pred_chart_{name}", where=col)
        try:
            macs = macs_at(name, pred.input_size)
        except ValueError:
            macs = None
        macs_text = f"{macs / 1e9:.2f} GMACs" if macs is not None else _("MACs n/a")
        if pred.warm_runs > 1:
            warm = ngettext("median of {n} warm run", "median of {n} warm runs", pred.warm_runs).format(
                n=pred.warm_runs)
        else:
            warm = _("one warm run")
        cold = _("; first run {ms:.0f} ms, cold").format(ms=pred.first_ms) if pred.cold else ""
        versus = {"same": _(" · top-5 same as fp32"), "reordered": _(" · top-5 as fp32, in another order"),
                  "differs": _(" · top-5 differs from fp32")}.get(pred.fp32_top5, "")
        col.caption(_("{ms:.1f} ms on {device} ({warm}{cold}) · {backend}{versus} · {macs} at {side} px").format(
            ms=pred.ms, device=device_label(pred.device), warm=warm, cold=cold, backend=pred.backend_label,
            versus=versus, macs=macs_text, side=pred.input_size))
        col.caption(_("Preprocessing: {steps}; {stats}").format(steps=pred.preprocess, stats=view(entry).stats()))
        col.caption(_("Weights: {weights}").format(weights=entry.loaded_weights))
        if pred.notice:
            col.warning(pred.notice)
        if show_cam:
            try:
                with col, st.spinner(_("Grad-CAM for {label}…").format(label=label)):
                    overlay, layer = cam_for(name, device_str, digest, index, image)
                col.image(overlay, caption=_("Grad-CAM: where {model} finds '{label}' (layer `{layer}`)").format(
                    model=entry.display, label=label, layer=layer), width="stretch")
            except cam.CamError as e:
                col.error(str(e))

if mode != "correct":
    st.caption(_("Wrong preprocessing on: {mode}. Switch it off to compare with each model's own.").format(
        mode=_(MODE_LABELS[mode])))
st.caption(_("Latency is the forward pass and softmax only, synchronised on the device: the median of several warm "
             "runs the first time this photo met this model in this process. On a CPU each model runs on the backend "
             "this computer measured fastest among those that agree with PyTorch. MACs are counted from the modules "
             "at the input size used."))
