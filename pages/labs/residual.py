"""Lab page: Basic vs bottleneck residual blocks (ResNet)."""
from __future__ import annotations

import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import charts, labkit
from zoo import registry
from zoo.i18n import _

TITLE = "Basic vs bottleneck residual blocks (ResNet)"
ORDER = 30
URL_PREFIXES = ("lab_res_",)
lab = labkit.zoo_lab(__name__)


def render() -> None:
    st.markdown(
        "A residual block computes F(x) and outputs relu(F(x) + x): it only has to learn the *residual* "
        "F(x) = H(x) − x, and F = 0 is the identity. ResNet-18/34 use the **basic block** (two 3×3 convs); "
        "ResNet-50/101/152 the **bottleneck** (1×1 reduce to a width w, 3×3 at w, 1×1 expand to 4w), which is "
        "about as cheap on 4× wider features. Where a stage halves the resolution and widens the channels the "
        "shortcut cannot be the identity: a **projection** (1×1 conv, stride 2, + BN) matches the shapes."
    )
    c = st.columns(3)
    with c[0]:
        w = labkit.slider("Width w (basic: out channels; bottleneck: 3×3 width)", "lab_res_w", 16, 512, 64, step=16)
    with c[1]:
        size = labkit.slider("Input side (px)", "lab_res_size", 7, 112, 56)
    with c[2]:
        down = labkit.check("First block of a stage (stride 2, projection)", "lab_res_down", False)
    st.latex(r"\begin{gathered}\text{basic: } 9C_{in}C + 9C^2 \\ \text{bottleneck: } C_{in}w + 9w^2 + 4w^2"
             r"\\ \text{projection: } +\,C_{in}C_{out}\end{gathered}")
    st.caption("Weights only; every BN adds 2 parameters per channel. MACs: each conv's weights times its output "
               "map, which is ⌈H/2⌉² after the stride (torchvision strides the bottleneck's 3×3).")
    df = lab.residual_lab(w, size, down)
    labkit.measured_vs_formula(df, ["in_channels", "out_channels", "stride", "shortcut", "shortcut_params"])
    charts.show(labkit.params_macs_bars(df, [labkit.BASELINE, labkit.CHOICE, charts.LIGHT]),
                _("Basic block, bottleneck, and a basic block as wide"), key="chart_lab_res_bars")
    basic, bott, wide = df.iloc[0], df.iloc[1], df.iloc[2]
    st.markdown(
        f"A bottleneck on {bott.out_channels}-d features has {bott.params:,} parameters, close to the basic block's "
        f"{basic.params:,} on {basic.out_channels}-d (the paper's Fig. 5). A basic block on the same "
        f"{wide.out_channels}-d features would need {wide.params:,}: the bottleneck has "
        f"**{labkit.ratio(wide.params, bott.params)} fewer**."
    )
    labkit.measured_caption()

    st.subheader("In the zoo")
    for name in ("resnet34", "resnet50"):
        b = lab.resnet_blocks(name)
        kind = "BasicBlock" if name == "resnet34" else "Bottleneck"
        match = b[(b["type"] == kind) & (b["width"] == w) & ((b["stride"] == 2) == down)]
        r = match.iloc[0] if len(match) else b[b["stride"] == 2].iloc[0]
        st.markdown(
            f"- **{registry.get(name).display} `{r.block}`** is a {r.type} {r.in_channels} → {r.out_channels} "
            f"(width {r.width}, stride {r.stride}, {r.shortcut} shortcut, {r.params:,} params)"
            + ("" if len(match) else " — no block has your settings; this is the first strided one") + "."
        )
    st.markdown("ResNet-34 and ResNet-50 stage by stage: the bottleneck stages are 4× wider for similar cost.")
    stages = lab.resnet_stages()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Parameters", "MACs"))
    for model, color in zip(stages["model"].unique(), (labkit.BASELINE, labkit.CHOICE)):  # basic, bottleneck
        s = stages[stages["model"] == model]
        for col, field in ((1, "params"), (2, "macs")):
            fig.add_bar(x=s["stage"], y=s[field], name=model, marker_color=color, showlegend=col == 1,
                        legendgroup=model, row=1, col=col)
    fig.update_layout(barmode="group", height=340, margin=dict(t=40, b=10))
    charts.show(fig, _("ResNet-34 against ResNet-50, stage by stage"), key="chart_lab_res_stages")
