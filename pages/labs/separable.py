"""Lab page: Depthwise-separable convolution (MobileNet)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from pages.ui import charts, labkit
from pages.ui.fmt import fmt_count
from zoo.i18n import N_, _

TITLE = N_("Depthwise-separable convolution (MobileNet)")
ORDER = 60
URL_PREFIXES = ("lab_sep_",)
lab = labkit.zoo_lab(__name__)


def render() -> None:
    st.markdown(_(
        "A standard k×k convolution filters and mixes channels in one step. MobileNet splits it: a **depthwise** "
        "k×k conv filters each input channel on its own (`groups = M`), then a **pointwise** 1×1 conv mixes them."
    ))
    c = st.columns(4)
    with c[0]:
        M = labkit.slider(_("Input channels M"), "lab_sep_m", 8, 1024, 32, step=8)
    with c[1]:
        N = labkit.slider(_("Output channels N"), "lab_sep_n", 8, 1024, 64, step=8)
    with c[2]:
        k = labkit.slider(_("Kernel k"), "lab_sep_k", 3, 7, 3, step=2)
    with c[3]:
        size = labkit.slider(_("Map side (px)"), "lab_sep_size", 7, 112, 112)
    st.latex(r"\frac{D_F^2\,(k^2 M + M N)}{D_F^2\,k^2 M N} = \frac{1}{N} + \frac{1}{k^2}")
    df = lab.separable_lab(M, N, k, size)
    labkit.measured_vs_formula(df)
    std, sep = df.iloc[0], df.iloc[1]
    st.markdown(_("Measured cost ratio **{m:.4f}**, formula 1/{N} + 1/{k2} = **{f:.4f}**: {cmp}.").format(
        m=sep.macs / std.macs, N=N, k2=k * k, f=lab.separable_ratio(N, k),
        cmp=labkit.compare(sep.macs, std.macs, _("MACs"), _("the standard conv"))))
    charts.show(labkit.params_macs_bars(df, [labkit.BASELINE, labkit.CHOICE]),
                _("Standard against depthwise separable convolution"), key="chart_lab_sep_bars")
    labkit.measured_caption()

    st.subheader(_("Width multiplier α and resolution multiplier ρ (MobileNet V1)"))
    c = st.columns(2)
    with c[0]:
        alpha = labkit.slider(_("Width multiplier α"), "lab_sep_alpha", 0.25, 1.0, 1.0, step=0.05, cast=float)
    with c[1]:
        rho = labkit.steps(_("Resolution multiplier ρ (input 224ρ)"), "lab_sep_rho", list(lab.MOBILENET_RHOS), 1.0,
                           fmt=lambda r: f"{r:.3f} ({round(224 * r)} px)")
    st.latex(r"\begin{gathered}\text{MACs} \approx \alpha^2 \rho^2 \cdot \text{MACs}_{1,1} \\ "
             r"\text{params of the conv layers} \approx \alpha^2 \cdot \text{params}_1\end{gathered}")
    grid = lab.mobilenet_v1_lab(tuple(sorted({0.25, 0.5, 0.75, 1.0, alpha})), (rho,))
    row = grid[grid["alpha"] == alpha].iloc[0]
    m = st.columns(4)
    m[0].metric(_("Input (px)"), int(row.input_px))
    m[1].metric(_("Params"), fmt_count(row.params), help=_("exact formula from Table 1: {n:,}").format(n=int(row.params_formula)))
    m[2].metric(_("MACs"), fmt_count(row.macs), help=_("exact formula from Table 1: {n:,}").format(n=int(row.macs_formula)))
    m[3].metric(_("MACs vs α=ρ=1"), f"{row.macs_ratio:.3f}", f"α²ρ² = {row.macs_ratio_rule:.3f}", delta_color="off")
    fig = go.Figure()
    fig.add_scatter(x=grid["alpha"], y=grid["macs_ratio"], mode="lines+markers", name=_("measured MACs ratio"))
    fig.add_scatter(x=grid["alpha"], y=grid["macs_ratio_rule"], mode="lines", name="α²ρ²", line=dict(dash="dot"))
    fig.add_scatter(x=grid["alpha"], y=grid["params"] / grid["params"].max(), mode="lines+markers",
                    name=_("measured params ratio (α=1 → 1)"))
    fig.update_layout(height=340, xaxis_title="α", yaxis_title=_("relative to α = 1, ρ = 1"),  # i18n: name
                      margin=dict(t=20, b=10))
    charts.show(fig, _("MobileNet V1: cost against the width multiplier α"), key="chart_lab_sep_alpha")
    st.markdown(_(
        "ρ changes no weight, only the map sizes. The parameters follow α² only in the convolutions: the final "
        "classifier scales with α alone ({fc:,} of the {p:,} params here), which is "
        "why MobileNet-0.25 keeps about a ninth, not a sixteenth, of the parameters."
    ).format(fc=int(row.fc_params), p=int(row.params)))
    split = lab.mobilenet_v1_cost_split()
    pw = split[split["kind"] == "pointwise 1×1"].iloc[0]
    dw = split[split["kind"] == "depthwise 3×3"].iloc[0]
    st.markdown(_("**In the zoo:** in MobileNet V1 (α = 1, 224 px) the 1×1 pointwise convs do **{macs:.1f}%** of the "
                  "MACs and hold **{w:.1f}%** of the conv and FC weights — the paper's Table 2 share, which counts "
                  "neither BatchNorm nor biases. Of all {n} parameters, BatchNorm's included, they hold {p:.1f}%. The "
                  "depthwise 3×3 convs do only {dw:.1f}% of the MACs.").format(
        macs=pw.macs_pct, w=pw.weights_pct, n=fmt_count(split["params"].sum()), p=pw.params_pct, dw=dw.macs_pct))
    st.dataframe(split.assign(kind=[_(k) for k in split["kind"]]), hide_index=True, width="stretch",
                 column_config={"kind": _("layer kind"),
                                "params": st.column_config.NumberColumn(_("params (all)"), format="localized"),
                                "weights": st.column_config.NumberColumn(_("weights (no BN, no bias)"),
                                                                         format="localized"),
                                "macs": st.column_config.NumberColumn(_("MACs"), format="localized"),
                                "params_pct": st.column_config.NumberColumn(_("% of params"), format="%.2f"),
                                "weights_pct": st.column_config.NumberColumn(_("% of weights (Table 2)"),
                                                                             format="%.2f"),
                                "macs_pct": st.column_config.NumberColumn(_("% of MACs"), format="%.2f")})
    zm = lab.zoo_mobilenets()
    st.markdown(_("What they buy: the zoo's MobileNets (params and MACs measured; acc@1 on ImageNet-1K from "
                  "torchvision's weights metadata — training recipes differ between them)."))
    st.dataframe(zm, hide_index=True, width="stretch",
                 column_config={"params": st.column_config.NumberColumn(format="localized"),
                                "macs": st.column_config.NumberColumn(_("MACs"), format="localized"),
                                "acc1": st.column_config.NumberColumn("acc@1 (%)", format="%.2f")})  # i18n: name
    if zm["acc1"].isna().any():
        st.caption(_("MobileNet V1 is defined in this app from the paper; torchvision has no V1 weights, so it has "
                     "no accuracy here."))
