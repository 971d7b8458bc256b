"""Lab page: Basic vs bottleneck residual blocks (ResNet)."""
from __future__ import annotations

import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import charts, labkit
from zoo import registry
from zoo.i18n import N_, _

TITLE = N_("Basic vs bottleneck residual blocks (ResNet)")
ORDER = 30
URL_PREFIXES = ("lab_res_",)
lab = labkit.zoo_lab(__name__)


def _bottleneck_sentence(basic, bott, wide) -> str:
    """Fig. 5's comparison, in the words the numbers allow: "close" only where the two are within 10%."""
    r = bott.params / basic.params
    close = 0.9 <= r <= 1.1
    if close:
        text = _("A bottleneck on {d}-d features has {p:,} parameters, close to the basic block's {bp:,} on {bd}-d "
                 "({r:.2f}×, as in the paper's Fig. 5, which compares blocks with identity shortcuts).")
    else:
        text = _("A bottleneck on {d}-d features has {p:,} parameters: {cmp} ({bp:,}).")
    out = [text.format(d=bott.out_channels, p=bott.params, bp=basic.params, bd=basic.out_channels, r=r, cmp=labkit.compare(
        bott.params, basic.params, _("parameters"), _("the basic block on {d}-d").format(d=basic.out_channels)))]
    if bott.shortcut_params or basic.shortcut_params:
        out.append(_("The first block of a stage carries its projection: {bp:,} parameters for the bottleneck's "
                     "({bi} → {bo}), {sp:,} for the basic block's ({si} → {so}).").format(
            bp=bott.shortcut_params, bi=bott.in_channels, bo=bott.out_channels, sp=basic.shortcut_params,
            si=basic.in_channels, so=basic.out_channels))
        if not close:
            out.append(_("The paper's 'about as cheap' holds for identity blocks."))
    out.append(_("A basic block on the same {d}-d features would need {wp:,}: the bottleneck has **{cmp}**.").format(
        d=wide.out_channels, wp=wide.params,
        cmp=labkit.compare(bott.params, wide.params, _("parameters"), _("the basic block at its width"))))
    return " ".join(out)


def _zoo_block(name: str, row, w: int, down: bool) -> str:
    r = lab.matching_block(name, w, down)
    if not r["exact"]:
        same = (_(" — no block has width {w} at the start of a stage; this is the nearest") if down else
                _(" — no block has width {w} with an identity shortcut; this is the nearest")).format(w=w)
    else:
        same = _(" — the lab's block, with the same parameter count") if r["params"] == row.params else ""
    shortcut = _("projection shortcut") if r["shortcut"] == "projection" else _("identity shortcut")
    return _("- **{model} `{block}`** is a {type} {cin} → {cout} (width {width}, stride {stride}, {shortcut}, "
             "{params:,} params){same}.").format(
        model=registry.get(name).display, block=r["block"], type=r["type"], cin=r["in_channels"],
        cout=r["out_channels"], width=r["width"], stride=r["stride"], shortcut=shortcut, params=r["params"], same=same)


def render() -> None:
    st.markdown(_(
        "A residual block computes F(x) and outputs relu(F(x) + x): it only has to learn the *residual* "
        "F(x) = H(x) − x, and F = 0 is the identity. ResNet-18/34 use the **basic block** (two 3×3 convs); "
        "ResNet-50/101/152 the **bottleneck** (1×1 reduce to a width w, 3×3 at w, 1×1 expand to 4w), which is "
        "about as cheap on 4× wider features. Where a stage halves the resolution and widens the channels the "
        "shortcut cannot be the identity: a **projection** (1×1 conv, stride 2, + BN) matches the shapes."
    ))
    c = st.columns(3)
    with c[0]:
        w = labkit.slider(_("Width w (basic: out channels; bottleneck: 3×3 width)"), "lab_res_w", 16, 512, 64, step=16)
    with c[1]:
        size = labkit.slider(_("Input side (px)"), "lab_res_size", 7, 112, 56)
    with c[2]:
        down = labkit.check(_("First block of a stage (stride 2, projection)"), "lab_res_down", False)
    st.latex(r"\begin{gathered}\text{basic: } 9C_{in}C + 9C^2 \\ \text{bottleneck: } C_{in}w + 9w^2 + 4w^2"
             r"\\ \text{projection: } +\,C_{in}C_{out}\end{gathered}")
    st.caption(_("Weights only; every BN adds 2 parameters per channel. MACs: each conv's weights times its output "
                 "map, which is ⌈H/2⌉² after the stride (torchvision strides the bottleneck's 3×3)."))
    df = lab.residual_lab(w, size, down)
    labkit.measured_vs_formula(df, ["in_channels", "out_channels", "stride", "shortcut", "shortcut_params"])
    charts.show(labkit.params_macs_bars(df, [labkit.BASELINE, labkit.CHOICE, charts.LIGHT]),
                _("Basic block, bottleneck, and a basic block as wide"), key="chart_lab_res_bars")
    basic, bott, wide = df.iloc[0], df.iloc[1], df.iloc[2]
    st.markdown(_bottleneck_sentence(basic, bott, wide))
    labkit.measured_caption()

    st.subheader(_("In the zoo"))
    for name, row in (("resnet34", basic), ("resnet50", bott)):
        st.markdown(_zoo_block(name, row, w, down))
    r50 = lab.resnet_blocks("resnet50")
    flat = r50[(r50["shortcut"] == "projection") & (r50["stride"] == 1)]
    if len(flat):
        f = flat.iloc[0]
        st.caption(_("A projection is not always strided: ResNet-50's `{block}` keeps the resolution (stride "
                     "{stride}) and only widens {cin} → {cout}, which the identity cannot do.").format(
            block=f.block, stride=f.stride, cin=f.in_channels, cout=f.out_channels))
    st.markdown(_("ResNet-34 and ResNet-50 stage by stage: the bottleneck stages are 4× wider for similar cost."))
    stages = lab.resnet_stages()
    fig = make_subplots(rows=1, cols=2, subplot_titles=(_("Parameters"), _("MACs")))
    for model, color in zip(stages["model"].unique(), (labkit.BASELINE, labkit.CHOICE)):  # basic, bottleneck
        s = stages[stages["model"] == model]
        for col, field in ((1, "params"), (2, "macs")):
            fig.add_bar(x=s["stage"], y=s[field], name=model, marker_color=color, showlegend=col == 1,
                        legendgroup=model, row=1, col=col)
    fig.update_layout(barmode="group", height=340, margin=dict(t=40, b=10))
    charts.show(fig, _("ResNet-34 against ResNet-50, stage by stage"), key="chart_lab_res_stages")
