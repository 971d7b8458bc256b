"""Lab page: Compound scaling (EfficientNet)."""
from __future__ import annotations

import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import charts, labkit
from pages.ui.image import image_input
from pages.ui.models import get_predictor, prepare_predictor
from zoo import registry
from zoo.errors import ZooError
from zoo.i18n import N_, _
from zoo.inference.images import image_digest

TITLE = N_("Compound scaling (EfficientNet)")
ORDER = 70
URL_PREFIXES = ("lab_scale_",)
lab = labkit.zoo_lab(__name__)
SCALINGS = {"depth only": N_("depth only"), "width only": N_("width only"), "resolution only": N_("resolution only"),
            "all three": N_("all three")}


def _sides(values) -> str:
    return ", ".join(str(v) for v in dict.fromkeys(values))  # each map side once, in network order


def _resolution_caption(px: int, rule: float, measured: float) -> str:
    """Why 'resolution only' is off r²: the map sides at 224 px and at ``px``, from the stage tables."""
    d = lab.resolution_drift(px)
    if px == lab.B0_INPUT_PX:
        return _("Resolution only: at 224 px nothing changes.")
    if (d["side_px"] * lab.B0_INPUT_PX == d["side_224"] * px).all():
        return _("Resolution only: {px} px halves exactly at every stride-2 layer (maps {sides} px), so the measured "
                 "MACs follow (px/224)² ({m:.3f}×).").format(px=px, sides=_sides(d["side_px"]), m=measured)
    prev, first = px, None
    for side in dict.fromkeys(d["side_px"]):
        if first is None and side * 2 != prev:
            first = (prev, side)
        prev = side
    last = d.iloc[-1]
    return _("Resolution only: at {px} px the maps after the stride-2 layers are {sides} px instead of {sides224} "
             "(read from the stage tables). Where a side is odd, 'same' padding rounds the halving up (⌈{odd}/2⌉ = "
             "{up}), so the last stages' maps have ({a}/{b})² = {area:.2f}× the area, not r² = {rule:.2f}×, and the "
             "MACs grow {m:.2f}× in all.").format(
        px=px, sides=_sides(d["side_px"]), sides224=_sides(d["side_224"]), odd=first[0], up=first[1],
        a=last.side_px, b=last.side_224, area=last.area_ratio, rule=rule, m=measured)


def _published(phi: float) -> str:
    p = lab.published_model(phi)
    if p is None:
        return _("φ = {phi:g} has no published model (B0–B7 are φ = 0, 1, …, 7).").format(phi=phi)
    crop = (_("and torchvision evaluates its {model} weights at {crop} px") if p["torchvision_crop_px"] != p["paper_px"]
            else _("as does torchvision's evaluation crop")).format(model=p["model"], crop=p["torchvision_crop_px"])
    return _("φ = {phi:g} is **{model}**: the rule gives 224·r ≈ {rule} px; the paper's {model} runs at **{paper} px** "
             "(the official implementation's setting), {crop}.").format(
        phi=phi, model=p["model"], rule=p["rule_px"], paper=p["paper_px"], crop=crop)


def _lite_sentence(rows: list[dict]) -> str:
    a, b = rows[0], rows[-1]
    if len({r["top1"] for r in rows}) == 1:
        out = _("All three say **{label}**, with confidence {conf}.").format(
            label=a["top1"], conf=" → ".join(f"{r['confidence']:.0%}" for r in rows))
    else:
        out = _("They do not agree: {answers}.").format(
            answers="; ".join(f"{r['model']}: {r['top1']} ({r['confidence']:.0%})" for r in rows))
    t = b["ms"] / a["ms"]
    took = (_("took about as long as {a}") if f"{t:.2f}" == "1.00" else
            _("took {t:.2f}× as long as {a}") if t > 1 else _("took less time than {a} here ({t:.2f}×)")).format(
        a=a["model"], t=t)
    return out + " " + _("{b} reads {rb} px instead of {ra} with {w:g}× the width and {d:g}× the depth: {m:.2f}× the "
                         "MACs, and it {took}.").format(b=b["model"], rb=b["resolution_px"], ra=a["resolution_px"],
                                                        w=b["width"] / a["width"], d=b["depth"] / a["depth"],
                                                        m=b["macs"] / a["macs"], took=took) + (
        " " + _("They ran on different backends (see “ran on”), so the times compare the backends as well as the "
                "models.") if len({r["backend"] for r in rows}) > 1 else "")


def _lite_row() -> None:
    st.subheader(_("Your photo through EfficientNet-Lite0 → Lite1 → Lite2"))
    st.markdown(_("The three bundled Lite models are compound-scaled like B0 → B2 (resolution and width growing). "
                  "According to the TensorFlow EfficientNet-Lite README, 'Lite' removes squeeze-and-excitation, "
                  "replaces swish with ReLU6 and keeps the stem and head fixed while scaling, so that the models "
                  "quantise well for mobile accelerators."))
    image = image_input("lab_scale_img")
    if image is None:
        return
    digest, rows = image_digest(image), []
    for name in registry.LITE_MODELS:
        try:
            prepare_predictor(name, "cpu")
            rows.append(lab.lite_live(name, digest, get_predictor(name, "cpu"), image))
        except ZooError as e:
            st.error(str(e))
            return
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={"model": _("model"), "resolution_px": _("native input (px)"),
                                "width": st.column_config.NumberColumn(_("width coefficient"), format="%.1f"),
                                "depth": st.column_config.NumberColumn(_("depth coefficient"), format="%.1f"),
                                "macs": st.column_config.NumberColumn(_("MACs (counted)"), format="localized"),
                                "top1": _("top-1"),
                                "confidence": st.column_config.NumberColumn(_("confidence"), format="percent"),
                                "ms": st.column_config.NumberColumn(_("ms (median of warm runs)"), format="%.1f"),
                                "backend": _("ran on")})
    st.markdown(_lite_sentence(rows))


def render() -> None:
    st.markdown(_(
        "EfficientNet scales a small base network (B0) in depth, width and resolution *together*: "
        "d = α^φ, w = β^φ, r = γ^φ with α = 1.2, β = 1.1, γ = 1.15 found by a small grid search. "
        "A conv layer's FLOPs grow with d, w² and r², and α·β²·γ² ≈ 2, so each step of φ about doubles the cost."
    ))
    phi = labkit.slider(_("Compound coefficient φ"), "lab_scale_phi", 0.0, 7.0, 1.0, step=0.5, cast=float)
    mult = lab.compound_multipliers(phi)
    st.latex(rf"\begin{{gathered}}d = {lab.COMPOUND_ALPHA}^{{\phi}} = {mult['depth']:.3f},\quad "
             rf"w = {lab.COMPOUND_BETA}^{{\phi}} = {mult['width']:.3f},\quad "
             rf"r = {lab.COMPOUND_GAMMA}^{{\phi}} = {mult['resolution']:.3f} \\ "
             rf"\text{{FLOPs}} \propto d\,w^2 r^2 = ({mult['flops_base']:.3f})^{{\phi}} = {mult['flops']:.2f}\end{{gathered}}")
    st.markdown(_published(phi))
    df = lab.single_dimension_scaling(mult["depth"], mult["width"], mult["resolution"])
    st.markdown(_("B0 (torchvision's configuration) scaled by these multipliers one dimension at a time, then all "
                  "three: predicted vs measured MAC multipliers."))
    st.dataframe(df.assign(scaling=[_(SCALINGS[v]) for v in df["scaling"]]), hide_index=True, width="stretch",
                 column_config={"depth_mult": st.column_config.NumberColumn(format="%.3f"),
                                "width_mult": st.column_config.NumberColumn(format="%.3f"),
                                "macs_ratio_predicted": st.column_config.NumberColumn(_("MACs × (rule)"), format="%.3f"),
                                "macs_ratio": st.column_config.NumberColumn(_("MACs × (measured)"), format="%.3f"),
                                "params_ratio": st.column_config.NumberColumn(_("params ×"), format="%.3f"),
                                "macs": st.column_config.NumberColumn(_("MACs"), format="localized"),
                                "params": st.column_config.NumberColumn(format="localized")})
    res = df.set_index("scaling").loc["resolution only"]
    st.caption(_("Depth and width drift from the rule where layers are rounded: depth is ceil(repeats·d) per stage, "
                 "channels are rounded to multiples of 8, and the stem (3 input channels) and classifier do not scale "
                 "with w². Resolution scales no parameter.") + " "
               + _resolution_caption(int(res.input_px), res.macs_ratio_predicted, res.macs_ratio))

    st.subheader(_("The real B0–B7"))
    fam = lab.efficientnet_family()
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("acc@1 (original recipe) vs GMACs"),
                                                        _("φ implied by each dimension")))
    fig.add_scatter(x=fam["macs"] / 1e9, y=fam["acc1"], text=fam["model"].str.replace("EfficientNet-", ""),
                    mode="lines+markers+text",
                    textposition="bottom right", showlegend=False, row=1, col=1)
    for col, name in (("phi_depth", _("depth (MBConv blocks)")), ("phi_width", _("width (head channels)")),
                      ("phi_resolution", _("resolution (paper's input px)"))):
        fig.add_scatter(x=fam["model"].str.replace("EfficientNet-", ""), y=fam[col], mode="lines+markers",
                        name=name, row=1, col=2)
    fig.update_xaxes(title_text=_("GMACs at torchvision's crop (log)"), type="log", row=1, col=1)
    fig.update_yaxes(title_text="acc@1 (%)", row=1, col=1)  # i18n: name
    fig.update_layout(height=380, margin=dict(t=40, b=10))
    charts.show(fig, _("EfficientNet B0 to B7: accuracy against cost, and the φ each dimension implies"),
                key="chart_lab_scale_family")
    st.dataframe(fam.drop(columns=["name", "weights_best"]), hide_index=True, width="stretch",
                 column_config={"params": st.column_config.NumberColumn(format="localized"),
                                "macs": st.column_config.NumberColumn(_("MACs (at torchvision's crop)"), format="localized"),
                                "paper_px": st.column_config.NumberColumn(_("paper's input (px)")),
                                "torchvision_crop_px": st.column_config.NumberColumn(_("torchvision's crop (px)")),
                                "acc1": st.column_config.NumberColumn(_("acc@1 (%), original recipe"), format="%.2f"),
                                "acc1_best": st.column_config.NumberColumn(_("acc@1 (%), best available"),
                                                                           format="%.2f"),
                                **{c: st.column_config.NumberColumn(format="%.2f") for c in fam.columns
                                   if c.endswith("_ratio") or c.startswith("phi_")}})
    recipes = " / ".join(_(r) for r in fam["recipe"].unique())
    newer = fam[fam["weights_best"] != fam["weights"]]
    crops = fam[fam["paper_px"] != fam["torchvision_crop_px"]]
    b7 = fam.iloc[-1]
    parts = [_("Depth and width are read off the built models (MBConv blocks counted, head channels); resolution is "
               "the paper's. acc@1 is torchvision's measurement of each model's **original-recipe** weights, one "
               "recipe for all eight: {recipes}.").format(recipes=recipes)]
    parts += [_("{model}'s best available weights ({weights}) reach {acc:.2f}% with a later recipe, left off the "
                "curve.").format(model=r.model, weights=r.weights_best, acc=r.acc1_best) for r in newer.itertuples()]
    parts.append(_("MACs are counted at torchvision's evaluation crop, where that accuracy was measured."))
    parts += [_("For {model} that is {crop} px, while the paper's {model} uses {paper} px.").format(
        model=r.model, crop=r.torchvision_crop_px, paper=r.paper_px) for r in crops.itertuples()]
    parts.append(_("The published B1–B7 (the official settings, whose width and depth torchvision copies) lie near the "
                   "rule rather than exactly on it: B7 is {d:.2f}× deeper, {w:.2f}× wider and {r:.2f}× the resolution "
                   "of B0 — φ ≈ {pd:.1f}, {pw:.1f} and {pr:.1f} — for {m:.0f}× the MACs.").format(
        d=b7.depth_ratio, w=b7.width_ratio, r=b7.resolution_ratio, pd=b7.phi_depth, pw=b7.phi_width,
        pr=b7.phi_resolution, m=b7.macs_ratio))
    st.markdown(" ".join(parts))
    _lite_row()
