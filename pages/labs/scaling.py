"""Lab page: Compound scaling (EfficientNet)."""
from __future__ import annotations

import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import labkit

TITLE = "Compound scaling (EfficientNet)"
ORDER = 70
URL_PREFIXES = ("lab_scale_",)
lab = labkit.zoo_lab(__name__)


def _sides(values) -> str:
    return ", ".join(str(v) for v in dict.fromkeys(values))  # each map side once, in network order


def _resolution_caption(px: int, rule: float, measured: float) -> str:
    """Why 'resolution only' is off r²: the map sides at 224 px and at ``px``, from the stage tables."""
    d = lab.resolution_drift(px)
    if px == lab.B0_INPUT_PX:
        return "Resolution only: at 224 px nothing changes."
    if (d["side_px"] * lab.B0_INPUT_PX == d["side_224"] * px).all():
        return (f"Resolution only: {px} px halves exactly at every stride-2 layer (maps {_sides(d['side_px'])} px), so "
                f"the measured MACs follow (px/224)² ({measured:.3f}×).")
    prev, first = px, None
    for side in dict.fromkeys(d["side_px"]):
        if first is None and side * 2 != prev:
            first = (prev, side)
        prev = side
    last = d.iloc[-1]
    return (f"Resolution only: at {px} px the maps after the stride-2 layers are {_sides(d['side_px'])} px instead of "
            f"{_sides(d['side_224'])} (read from the stage tables). Where a side is odd, 'same' padding rounds the "
            f"halving up (⌈{first[0]}/2⌉ = {first[1]}), so the last stages' maps have ({last.side_px}/{last.side_224})² "
            f"= {last.area_ratio:.2f}× the area, not r² = {rule:.2f}×, and the MACs grow {measured:.2f}× in all.")


def _published(phi: float) -> str:
    p = lab.published_model(phi)
    if p is None:
        return f"φ = {phi:g} has no published model (B0–B7 are φ = 0, 1, …, 7)."
    crop = (f"and torchvision evaluates its {p['model']} weights at {p['torchvision_crop_px']} px"
            if p["torchvision_crop_px"] != p["paper_px"] else "as does torchvision's evaluation crop")
    return (f"φ = {phi:g} is **{p['model']}**: the rule gives 224·r ≈ {p['rule_px']} px; the paper's {p['model']} "
            f"runs at **{p['paper_px']} px** (the official implementation's setting), {crop}.")


def render() -> None:
    st.markdown(
        "EfficientNet scales a small base network (B0) in depth, width and resolution *together*: "
        "d = α^φ, w = β^φ, r = γ^φ with α = 1.2, β = 1.1, γ = 1.15 found by a small grid search. "
        "A conv layer's FLOPs grow with d, w² and r², and α·β²·γ² ≈ 2, so each step of φ about doubles the cost."
    )
    phi = labkit.slider("Compound coefficient φ", "lab_scale_phi", 0.0, 7.0, 1.0, step=0.5, cast=float)
    mult = lab.compound_multipliers(phi)
    st.latex(rf"d = {lab.COMPOUND_ALPHA}^{{\phi}} = {mult['depth']:.3f},\quad "
             rf"w = {lab.COMPOUND_BETA}^{{\phi}} = {mult['width']:.3f},\quad "
             rf"r = {lab.COMPOUND_GAMMA}^{{\phi}} = {mult['resolution']:.3f},\qquad "
             rf"\text{{FLOPs}} \propto d\,w^2 r^2 = ({mult['flops_base']:.3f})^{{\phi}} = {mult['flops']:.2f}")
    st.markdown(_published(phi))
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
    res = df.set_index("scaling").loc["resolution only"]
    st.caption("Depth and width drift from the rule where layers are rounded: depth is ceil(repeats·d) per stage, "
               "channels are rounded to multiples of 8, and the stem (3 input channels) and classifier do not scale "
               "with w². Resolution scales no parameter. "
               + _resolution_caption(int(res.input_px), res.macs_ratio_predicted, res.macs_ratio))

    st.subheader("The real B0–B7")
    fam = lab.efficientnet_family()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("acc@1 (original recipe) vs GMACs",
                                                        "φ implied by each dimension"))
    fig.add_scatter(x=fam["macs"] / 1e9, y=fam["acc1"], text=fam["model"].str.replace("EfficientNet-", ""),
                    mode="lines+markers+text",
                    textposition="bottom right", showlegend=False, row=1, col=1)
    for col, name in (("phi_depth", "depth (MBConv blocks)"), ("phi_width", "width (head channels)"),
                      ("phi_resolution", "resolution (paper's input px)")):
        fig.add_scatter(x=fam["model"].str.replace("EfficientNet-", ""), y=fam[col], mode="lines+markers",
                        name=name, row=1, col=2)
    fig.update_xaxes(title_text="GMACs at torchvision's crop (log)", type="log", row=1, col=1)
    fig.update_yaxes(title_text="acc@1 (%)", row=1, col=1)
    fig.update_layout(height=380, margin=dict(t=40, b=10))
    st.plotly_chart(fig, width="stretch")
    st.dataframe(fam.drop(columns=["name", "weights_best"]), hide_index=True, width="stretch",
                 column_config={"params": st.column_config.NumberColumn(format="localized"),
                                "macs": st.column_config.NumberColumn("MACs (at torchvision's crop)", format="localized"),
                                "paper_px": st.column_config.NumberColumn("paper's input (px)"),
                                "torchvision_crop_px": st.column_config.NumberColumn("torchvision's crop (px)"),
                                "acc1": st.column_config.NumberColumn("acc@1 (%), original recipe", format="%.2f"),
                                "acc1_best": st.column_config.NumberColumn("acc@1 (%), best available",
                                                                           format="%.2f"),
                                **{c: st.column_config.NumberColumn(format="%.2f") for c in fam.columns
                                   if c.endswith("_ratio") or c.startswith("phi_")}})
    recipes = " / ".join(fam["recipe"].unique())
    newer = fam[fam["weights_best"] != fam["weights"]]
    crops = fam[fam["paper_px"] != fam["torchvision_crop_px"]]
    b7 = fam.iloc[-1]
    st.markdown(
        f"Depth and width are read off the built models (MBConv blocks counted, head channels); resolution is the "
        f"paper's. acc@1 is torchvision's measurement of each model's **original-recipe** weights, one recipe for all "
        f"eight: {recipes}"
        + "".join(f"; {r.model}'s best available weights ({r.weights_best}) reach {r.acc1_best:.2f}% with a later "
                  "recipe, left off the curve" for r in newer.itertuples())
        + ". MACs are counted at torchvision's evaluation crop, where that accuracy was measured"
        + "".join(f"; for {r.model} that is {r.torchvision_crop_px} px, while the paper's {r.model} uses "
                  f"{r.paper_px} px" for r in crops.itertuples())
        + ". The published B1–B7 (the official settings, whose width and depth torchvision copies) lie near the rule "
        f"rather than exactly on it: B7 is {b7.depth_ratio:.2f}× deeper, {b7.width_ratio:.2f}× wider and "
        f"{b7.resolution_ratio:.2f}× the resolution of B0 — φ ≈ {b7.phi_depth:.1f}, {b7.phi_width:.1f} and "
        f"{b7.phi_resolution:.1f} — for {b7.macs_ratio:.0f}× the MACs."
    )
