"""Lab page: Compound scaling (EfficientNet)."""
from __future__ import annotations

import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import charts, labkit
from zoo.i18n import _

TITLE = "Compound scaling (EfficientNet)"
ORDER = 70
URL_PREFIXES = ("lab_scale_",)
lab = labkit.zoo_lab(__name__)


def render() -> None:
    st.markdown(
        "EfficientNet scales a small base network (B0) in depth, width and resolution *together*: "
        "d = α^φ, w = β^φ, r = γ^φ with α = 1.2, β = 1.1, γ = 1.15 found by a small grid search. "
        "A conv layer's FLOPs grow with d, w² and r², and α·β²·γ² ≈ 2, so each step of φ about doubles the cost."
    )
    phi = labkit.slider("Compound coefficient φ", "lab_scale_phi", 0.0, 7.0, 1.0, step=0.5, cast=float)
    mult = lab.compound_multipliers(phi)
    st.latex(rf"\begin{{gathered}}d = {lab.COMPOUND_ALPHA}^{{\phi}} = {mult['depth']:.3f},\quad "
             rf"w = {lab.COMPOUND_BETA}^{{\phi}} = {mult['width']:.3f},\quad "
             rf"r = {lab.COMPOUND_GAMMA}^{{\phi}} = {mult['resolution']:.3f} \\ "
             rf"\text{{FLOPs}} \propto d\,w^2 r^2 = ({mult['flops_base']:.3f})^{{\phi}} = {mult['flops']:.2f}\end{{gathered}}")
    df = lab.single_dimension_scaling(mult["depth"], mult["width"], mult["resolution"])
    st.markdown("B0 (torchvision's configuration) scaled by these multipliers one dimension at a time, then all "
                "three: predicted vs measured MAC multipliers.")
    st.dataframe(df, hide_index=True, width="stretch",
                 column_config={"depth_mult": st.column_config.NumberColumn(format="%.3f"),
                                "width_mult": st.column_config.NumberColumn(format="%.3f"),
                                "macs_ratio_predicted": st.column_config.NumberColumn("MACs × (rule)", format="%.3f"),
                                "macs_ratio": st.column_config.NumberColumn("MACs × (measured)", format="%.3f"),
                                "params_ratio": st.column_config.NumberColumn("params ×", format="%.3f"),
                                "macs": st.column_config.NumberColumn("MACs", format="localized"),
                                "params": st.column_config.NumberColumn(format="localized")})
    st.caption("Measured MACs drift from the rule where layers are rounded: depth is ceil(repeats·d) per stage, "
               "channels are rounded to multiples of 8, and the stem (3 input channels) and classifier do not scale "
               "with w². Resolution scales no parameter.")

    st.subheader("The real B0–B7")
    fam = lab.efficientnet_family()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("acc@1 vs GMACs", "φ implied by each dimension"))
    fig.add_scatter(x=fam["macs"] / 1e9, y=fam["acc1"], text=fam["model"].str.replace("EfficientNet-", ""),
                    mode="lines+markers+text",
                    textposition="bottom right", showlegend=False, row=1, col=1)
    for col, name in (("phi_depth", "depth (MBConv blocks)"), ("phi_width", "width (head channels)"),
                      ("phi_resolution", "resolution (input px)")):
        fig.add_scatter(x=fam["model"].str.replace("EfficientNet-", ""), y=fam[col], mode="lines+markers",
                        name=name, row=1, col=2)
    fig.update_xaxes(title_text="GMACs (log)", type="log", row=1, col=1)
    fig.update_yaxes(title_text="acc@1 (%)", row=1, col=1)
    fig.update_layout(height=380, margin=dict(t=40, b=10))
    charts.show(fig, _("EfficientNet B0 to B7: accuracy against cost, and the φ each dimension implies"),
                key="chart_lab_scale_family")
    st.dataframe(fam.drop(columns=["name"]), hide_index=True, width="stretch",
                 column_config={"params": st.column_config.NumberColumn(format="localized"),
                                "macs": st.column_config.NumberColumn("MACs", format="localized"),
                                "acc1": st.column_config.NumberColumn("acc@1 (%)", format="%.2f"),
                                **{c: st.column_config.NumberColumn(format="%.2f") for c in fam.columns
                                   if c.endswith("_ratio") or c.startswith("phi_")}})
    b7 = fam.iloc[-1]
    st.markdown(
        f"Depth, width and resolution are read off the built models (MBConv blocks counted, head channels, the "
        f"weights' evaluation crop); acc@1 is from torchvision's weights metadata. The published B1–B7 (the official "
        f"settings, which torchvision copies) lie near the rule rather than exactly on it: "
        f"B7 is {b7.depth_ratio:.2f}× deeper, {b7.width_ratio:.2f}× wider and {b7.resolution_ratio:.2f}× the "
        f"resolution of B0 — φ ≈ {b7.phi_depth:.1f}, {b7.phi_width:.1f} and {b7.phi_resolution:.1f} — "
        f"for {b7.macs_ratio:.0f}× the MACs."
    )
