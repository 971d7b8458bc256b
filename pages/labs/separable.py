"""Lab page: Depthwise-separable convolution (MobileNet)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from pages.ui import charts, labkit
from pages.ui.fmt import fmt_count
from zoo.i18n import _

TITLE = "Depthwise-separable convolution (MobileNet)"
ORDER = 60
URL_PREFIXES = ("lab_sep_",)
lab = labkit.zoo_lab(__name__)


def render() -> None:
    st.markdown(
        "A standard k×k convolution filters and mixes channels in one step. MobileNet splits it: a **depthwise** "
        "k×k conv filters each input channel on its own (`groups = M`), then a **pointwise** 1×1 conv mixes them."
    )
    c = st.columns(4)
    with c[0]:
        M = labkit.slider("Input channels M", "lab_sep_m", 8, 1024, 32, step=8)
    with c[1]:
        N = labkit.slider("Output channels N", "lab_sep_n", 8, 1024, 64, step=8)
    with c[2]:
        k = labkit.slider("Kernel k", "lab_sep_k", 3, 7, 3, step=2)
    with c[3]:
        size = labkit.slider("Map side (px)", "lab_sep_size", 7, 112, 112)
    st.latex(r"\frac{D_F^2\,(k^2 M + M N)}{D_F^2\,k^2 M N} = \frac{1}{N} + \frac{1}{k^2}")
    df = lab.separable_lab(M, N, k, size)
    labkit.measured_vs_formula(df)
    std, sep = df.iloc[0], df.iloc[1]
    st.markdown(f"Measured cost ratio **{sep.macs / std.macs:.4f}**, formula 1/{N} + 1/{k * k} = "
                f"**{lab.separable_ratio(N, k):.4f}**: {labkit.ratio(std.macs, sep.macs)} fewer MACs.")
    charts.show(labkit.params_macs_bars(df, [labkit.BASELINE, labkit.CHOICE]),
                _("Standard against depthwise separable convolution"), key="chart_lab_sep_bars")
    labkit.measured_caption()

    st.subheader("Width multiplier α and resolution multiplier ρ (MobileNet V1)")
    c = st.columns(2)
    with c[0]:
        alpha = labkit.slider("Width multiplier α", "lab_sep_alpha", 0.25, 1.0, 1.0, step=0.05, cast=float)
    with c[1]:
        rho = labkit.steps("Resolution multiplier ρ (input 224ρ)", "lab_sep_rho", list(lab.MOBILENET_RHOS), 1.0,
                           fmt=lambda r: f"{r:.3f} ({round(224 * r)} px)")
    st.latex(r"\begin{gathered}\text{MACs} \approx \alpha^2 \rho^2 \cdot \text{MACs}_{1,1} \\ "
             r"\text{params of the conv layers} \approx \alpha^2 \cdot \text{params}_1\end{gathered}")
    grid = lab.mobilenet_v1_lab(tuple(sorted({0.25, 0.5, 0.75, 1.0, alpha})), (rho,))
    row = grid[grid["alpha"] == alpha].iloc[0]
    m = st.columns(4)
    m[0].metric("Input (px)", int(row.input_px))
    m[1].metric("Params", fmt_count(row.params), help=f"exact formula from Table 1: {int(row.params_formula):,}")
    m[2].metric("MACs", fmt_count(row.macs), help=f"exact formula from Table 1: {int(row.macs_formula):,}")
    m[3].metric("MACs vs α=ρ=1", f"{row.macs_ratio:.3f}", f"α²ρ² = {row.macs_ratio_rule:.3f}", delta_color="off")
    fig = go.Figure()
    fig.add_scatter(x=grid["alpha"], y=grid["macs_ratio"], mode="lines+markers", name="measured MACs ratio")
    fig.add_scatter(x=grid["alpha"], y=grid["macs_ratio_rule"], mode="lines", name="α²ρ²", line=dict(dash="dot"))
    fig.add_scatter(x=grid["alpha"], y=grid["params"] / grid["params"].max(), mode="lines+markers",
                    name="measured params ratio (α=1 → 1)")
    fig.update_layout(height=340, xaxis_title="α", yaxis_title="relative to α = 1, ρ = 1", margin=dict(t=20, b=10))
    charts.show(fig, _("MobileNet V1: cost against the width multiplier α"), key="chart_lab_sep_alpha")
    st.markdown(
        f"ρ changes no weight, only the map sizes. The parameters follow α² only in the convolutions: the final "
        f"classifier scales with α alone ({int(row.fc_params):,} of the {int(row.params):,} params here), which is "
        "why MobileNet-0.25 keeps about a ninth, not a sixteenth, of the parameters."
    )
    split = lab.mobilenet_v1_cost_split()
    pw = split[split["kind"] == "pointwise 1×1"].iloc[0]
    st.markdown(f"**In the zoo:** in MobileNet V1 (α = 1, 224 px) the 1×1 pointwise convs do "
                f"**{pw.macs_pct:.1f}%** of the MACs and hold {pw.params_pct:.1f}% of the parameters; the depthwise "
                "3×3 convs are almost free.")
    st.dataframe(split, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.2f") for c in ("params_pct", "macs_pct")})
    zm = lab.zoo_mobilenets()
    st.markdown("What they buy: the zoo's MobileNets (params and MACs measured; acc@1 on ImageNet-1K from "
                "torchvision's weights metadata — training recipes differ between them).")
    st.dataframe(zm, hide_index=True, width="stretch",
                 column_config={"params": st.column_config.NumberColumn(format="localized"),
                                "macs": st.column_config.NumberColumn("MACs", format="localized"),
                                "acc1": st.column_config.NumberColumn("acc@1 (%)", format="%.2f")})
    if zm["acc1"].isna().any():
        st.caption("MobileNet V1 is defined in this app from the paper; torchvision has no V1 weights, so it has "
                   "no accuracy here.")
