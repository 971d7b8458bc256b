"""Lab page: LRN vs BatchNorm (AlexNet's open question)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import charts, labkit
from zoo.i18n import N_, _

TITLE = N_("LRN vs BatchNorm (AlexNet's open question)")
ORDER = 80
URL_PREFIXES = ("lab_norm_",)
lab = labkit.zoo_lab(__name__)


def render() -> None:
    st.markdown(_(
        "**Local Response Normalization** (AlexNet, 2012) divides each activation by a function of the squared "
        "activations of its *neighbouring channels at the same position*: a strong response damps its neighbours "
        "(\"lateral inhibition\"). **Batch Normalization** (2015) standardises each *channel* over the batch and "
        "all positions to mean 0 and variance 1, then applies a learned scale and shift. VGG found LRN did not help, "
        "and BN replaced it everywhere."
    ))
    st.latex(rf"\begin{{gathered}}\text{{LRN: }} b^i_{{x,y}} = a^i_{{x,y}} \Big/ \Big(k + \alpha \!\!\sum_{{j=i-n/2}}^{{i+n/2}}\!\! "
             rf"(a^j_{{x,y}})^2\Big)^{{\beta}}\\ k={lab.LRN_K:g},\ n={lab.LRN_N},\ \alpha=10^{{-4}},\ "
             rf"\beta={lab.LRN_BETA}\end{{gathered}}")
    st.latex(r"\begin{gathered}\text{BN: } \hat a^i = \frac{a^i - \mu_i}{\sqrt{\sigma_i^2 + \epsilon}} \\ "
             r"\mu_i, \sigma_i^2 \text{ over batch} \times H \times W \text{ of channel } i\end{gathered}")
    c = st.columns(2)
    with c[0]:
        scale = labkit.steps(_("Multiply the activations by"), "lab_norm_scale", list(lab.LRN_SCALES), 1,
                             fmt=lambda v: f"×{v}")
    with c[1]:
        ch = labkit.slider(_("Channel to show"), "lab_norm_channel", 0, 31, 1)
    demo = lab.lrn_vs_batchnorm(float(scale))
    st.caption(_("The tensor: EfficientNet-Lite0's trained first conv (32 filters, 3×3, stride 2; weights bundled "
                 "with the app) on the sample photo of Chelsea the cat, before any normalisation — 32 × 112 × 112. "
                 "PyTorch's `nn.LocalResponseNorm` divides its `alpha` by n, so AlexNet's α = 10⁻⁴ is "
                 "`LocalResponseNorm(size={n}, alpha={a:g}, beta={b}, k={k:g})` here.").format(
        n=lab.LRN_N, a=lab.LRN_N * lab.LRN_ALPHA, b=lab.LRN_BETA, k=lab.LRN_K))
    panels = (demo.before[ch], demo.after_lrn[ch], demo.lrn_divisor[ch], demo.after_bn[ch])
    # Each panel has its own colour scale, so the titles give the range that the colours span.
    fig = make_subplots(rows=1, cols=4, subplot_titles=(
        _("channel {ch}, before: max |a| {v:.3g}").format(ch=ch, v=abs(panels[0]).max()),
        _("after LRN: max |b| {v:.3g}").format(v=abs(panels[1]).max()),
        _("LRN divisor: {lo:.3g} – {hi:.3g}").format(lo=panels[2].min(), hi=panels[2].max()),
        _("after BN: max |â| {v:.3g}").format(v=abs(panels[3]).max())))
    for i, img in enumerate(panels, 1):
        fig.add_heatmap(z=img[::-1], colorscale="RdBu_r" if i != 3 else "Viridis", showscale=False, row=1, col=i)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, scaleanchor="x")
    fig.update_layout(height=300, margin=dict(t=40, b=10))
    charts.show(fig, _("One feature map before and after each normalisation"), key="chart_lab_norm_maps")
    stats = demo.channels
    fig = go.Figure()
    for col, name in (("std_before", _("before")), ("std_lrn", _("after LRN")), ("std_bn", _("after BN"))):
        fig.add_scatter(x=stats["channel"], y=stats[col], mode="markers+lines", name=name)
    fig.update_layout(height=320, xaxis_title=_("channel"), yaxis_title=_("std over positions (log)"), yaxis_type="log",
                      margin=dict(t=20, b=10))
    charts.show(fig, _("Spread of each channel after each normalisation"), key="chart_lab_norm_std")
    lo, hi = float(demo.lrn_divisor.min()), float(demo.lrn_divisor.max())
    st.markdown(_(
        "At ×{scale} the LRN divisor ranges from **{lo:.3g} to {hi:.3g}** over all channels and positions. "
        "With k = 2 and activations of order 1 it is almost the constant 2^0.75 ≈ {c:.3f}: LRN just "
        "rescales. Multiply the activations and it starts to bite where neighbouring channels respond strongly "
        "(edges), so its effect depends on the activations' scale (AlexNet fed 0–255 pixel values). BN does not: "
        "every live channel leaves with mean 0 and std 1 at any scale. The few channels near 0 are filters the "
        "trained network left unused; BN's ε keeps it from blowing them up."
    ).format(scale=scale, lo=lo, hi=hi, c=2 ** 0.75))
