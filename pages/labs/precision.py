"""Lab page: fp32, bf16 and int8 (number formats, and one model on one photo in each, measured here)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import labkit
from pages.ui.image import image_input
from pages.ui.models import get_model
from zoo import registry
from zoo.i18n import N_, _
from zoo.inference.backends.quantize import CALIBRATION_INPUTS
from zoo.inference.images import image_digest
from zoo.inference.weights import available_models

TITLE = N_("Number precision: fp32, bf16 and int8")
ORDER = 110
URL_PREFIXES = ("lab_prec_",)
lab = labkit.zoo_lab(__name__)
LOG10_2 = 0.30103  # decimal digits per bit of significand
BIT_COLOURS = {N_("sign"): "#7f7f7f", N_("exponent"): "#1f77b4", N_("fraction"): "#ff7f0e"}


def _speed(ms: float, ref: float, precision: str) -> str:
    r = max(ms, ref) / min(ms, ref)
    if f"{r:.2f}" == "1.00":
        text = _("{p} ran about as fast as fp32 ({ms:.1f} ms against {ref:.1f} ms).")
    elif ms < ref:
        text = _("{p} ran {r:.2f}× faster than fp32 ({ms:.1f} ms against {ref:.1f} ms).")
    else:
        text = _("{p} ran {r:.2f}× slower than fp32 here ({ms:.1f} ms against {ref:.1f} ms).")
    return text.format(p=precision, r=r, ms=ms, ref=ref)


def _formats() -> None:
    f = lab.number_formats()
    fig = go.Figure()
    for part, colour in BIT_COLOURS.items():
        fig.add_bar(y=f["format"], x=f[part], name=_(part), orientation="h", marker_color=colour, text=f[part])
    fig.update_layout(barmode="stack", height=240, margin=dict(t=10, b=10), xaxis_title=_("bits"))
    st.plotly_chart(fig, width="stretch")
    # Two formulas, two lines: side by side they ran 139 px past a 1024 px projector window.
    st.latex(r"\text{float: } x = (-1)^{s}\cdot 2^{\,e - \text{bias}}\cdot(1.f)_2")
    st.latex(r"\text{int8: } x \approx s\cdot q,\ q = \operatorname{round}(x/s) \in [-127, 127],\ s = r/127")
    st.dataframe(f, hide_index=True, width="stretch",
                 column_config={"max": st.column_config.NumberColumn(_("largest value"), format="%.4g"),
                                "smallest_normal": st.column_config.NumberColumn(_("smallest normal"),
                                                                                 format="%.4g"),
                                "step_at_1": st.column_config.NumberColumn(_("step at 1"), format="%.4g")})
    bf, half = f.set_index("format").loc["bf16"], f.set_index("format").loc["fp16"]
    st.markdown(_("bf16 keeps fp32's {e} exponent bits and drops fraction bits ({fb} instead of 23): the same range "
                  "(up to {mx:.3g}) with about {d:.1f} significant decimal digits instead of {d32:.1f}. fp16 spends its 16 bits the other way and "
                  "overflows above {hmax:,.0f}. int8 has no exponent at all: a scale s, set from the range the values "
                  "are expected to take, maps them onto 255 levels. Finding that range on real inputs is calibration.")
                .format(e=int(bf.exponent), fb=int(bf.fraction), mx=bf["max"], d=(bf.fraction + 1) * LOG10_2,
                        d32=(f.set_index("format").loc["fp32", "fraction"] + 1) * LOG10_2,
                        hmax=half["max"]))
    c = st.columns(2)
    with c[0]:
        power = labkit.slider(_("x = 3.14159 × 10^p: p"), "lab_prec_pow", -45, 38, 0)
    with c[1]:
        cal = labkit.steps(_("int8 calibrated range (× |x|)"), "lab_prec_cal", list(lab.CALIBRATIONS), 2.0,
                           fmt=lambda v: f"{v:g}×")
    s = lab.stored(power, cal)
    st.dataframe(s, hide_index=True, width="stretch",
                 column_config={"stored": st.column_config.NumberColumn(_("stored value"), format="%.6g"),
                                "relative_error": st.column_config.NumberColumn(_("relative error"), format="%.2e"),
                                "note": _("what happened")})


def _live() -> None:
    st.subheader(_("One model, one photo, three precisions: measured on this machine"))
    names = available_models()
    if not names:
        st.info(_("No model has its weights on this computer, so nothing can be measured here."))
        return
    name = labkit.choice(_("Model"), "lab_prec_model", names, names[0], fmt=lambda n: registry.get(n).display)
    image = image_input("lab_prec_img")
    if image is None:
        return
    with st.spinner(_("Running {model} in each precision (the first time, int8 is calibrated on {n} sample-photo "
                      "crops: a few seconds)…").format(model=registry.get(name).display, n=CALIBRATION_INPUTS)):
        m = lab.measure(name, image_digest(image), get_model(name, "cpu"), image)
    c, t = m.comparison, m.table
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("latency (ms, warm median)"), _("top-5 probabilities")))
    fig.add_bar(x=t["precision"], y=t["ms"], text=[f"{v:.1f}" for v in t["ms"]], showlegend=False, row=1, col=1)
    for p, g in m.top5.groupby("precision", sort=False):
        fig.add_bar(x=g["class"], y=g["prob"], name=p, row=1, col=2)
    fig.update_layout(height=360, margin=dict(t=40, b=10))
    st.plotly_chart(fig, width="stretch")
    st.dataframe(t, hide_index=True, width="stretch",
                 column_config={"ms": st.column_config.NumberColumn(_("ms (median of warm runs)"), format="%.2f"),
                                "runs": _("timed runs"),
                                "weights_mb": st.column_config.NumberColumn(_("weights (MB)"), format="%.1f"),
                                "top1": _("top-1"), "top1_prob": st.column_config.NumberColumn(format="percent"),
                                "top5_same": st.column_config.CheckboxColumn(_("top-5 same as fp32")),
                                "max_prob_shift": st.column_config.NumberColumn(_("largest probability shift"),
                                                                                format="%.2e")})
    ref = t.set_index("precision")
    for r in c.runs:
        if not r.available:
            st.info(_("{p}: not measured here. {reason}").format(p=r.precision, reason=_(r.reason) if r.reason else ""))
        elif r.precision != "fp32" and "fp32" in ref.index:
            agree = (_("its top-5 holds the same five classes as fp32 PyTorch's") if r.top5_same else
                     _("its top-5 differs from fp32 PyTorch's in at least one class"))
            st.markdown(_speed(r.ms, ref.loc["fp32", "ms"], r.precision) + " " + _(
                "Its weights take {mb:.1f} MB instead of {ref:.1f}; {agree}, and no class "
                "probability moved by more than {shift:.2f} percentage points.").format(
                mb=r.weights_bytes / 1e6, ref=ref.loc["fp32", "weights_mb"], agree=agree, shift=100 * r.max_prob_shift))
    if c.int8_calibration is not None:
        _calibration(c.int8_calibration, registry.get(name).display)
    st.caption(_("Each precision ran on {backends}, timed in turns (warm median), against eager PyTorch fp32 as the "
                 "reference; input {side} px.").format(backends=", ".join(t["backend"]), side=c.input_size))
    st.markdown(_("**This CPU**: bf16 arithmetic {bf}; int8 dot products {i8}.").format(
        bf=_("in hardware ({isa})").format(isa=c.bf16_hardware) if c.bf16_hardware else _("not in hardware"),
        i8=_("in hardware ({isa})").format(isa=c.int8_hardware) if c.int8_hardware else _("not in hardware")))
    st.markdown(_("**AVX-512 VNNI** (Vector Neural Network Instructions) multiplies 8-bit integers and adds the "
                  "products into 32-bit sums in one instruction, and AVX512-BF16 does the same for pairs of bf16 "
                  "values. **AMX** (Advanced Matrix Extensions, Intel Xeon since 2023) adds tile registers and a "
                  "unit that multiplies whole small matrices of bf16 or int8 at once."))


def _calibration(k, model: str) -> None:
    """What post-training quantization did to this model, counted from its int8 file."""
    st.markdown(_("**How int8 was made here**: ONNX Runtime's quantizer ran {model} on {n} crops of the sample "
                  "photos (each photo as is and mirrored, whole and two corners) and kept the smallest and largest "
                  "value of each of {a} activation tensors: that range, split into 256 levels, is the calibration. "
                  "{w} weight tensors became int8 with a scale of their own for each output channel ({pc} of {w}): "
                  "{i8:.1f} MB of int8, plus {f:.1f} MB kept at higher precision (biases and scales). A photo unlike "
                  "those crops can fall outside a range and be clipped, so int8 is never chosen automatically.")
                .format(model=model, n=k.inputs, a=k.activation_ranges, w=k.int8_tensors, pc=k.per_channel,
                        i8=k.int8_bytes / 1e6, f=k.float_bytes / 1e6))


def render() -> None:
    st.markdown(_("A network's weights and activations are numbers stored in a format. Fewer bits mean less memory "
                  "to move and, on CPUs with the right instructions, faster arithmetic, at the price of rounding. "
                  "Below: what each format can hold, then a real model on your photo in each."))
    _formats()
    _live()
