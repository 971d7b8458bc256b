"""Lab page: 3×3 stacks vs large kernels (VGG)."""
from __future__ import annotations

import streamlit as st

from pages.ui import charts, labkit
from pages.ui.fmt import fmt_axes
from zoo.i18n import _

TITLE = "3×3 stacks vs large kernels (VGG)"
ORDER = 10
URL_PREFIXES = ("lab_vgg_",)
lab = labkit.zoo_lab(__name__)


def render() -> None:
    st.markdown(
        "VGG uses only 3×3 convolutions. Two stacked 3×3 layers see a 5×5 patch of their input, three see 7×7 — "
        "the same receptive field as one large kernel, with fewer weights and one ReLU per layer instead of one in all."
    )
    c = st.columns(3)
    with c[0]:
        n = labkit.slider("Stacked 3×3 layers n", "lab_vgg_n", 1, 5, 3)
    with c[1]:
        C = labkit.slider("Channels C (in and out)", "lab_vgg_c", 8, 512, 64, step=8)
    with c[2]:
        size = labkit.slider("Feature map side (px)", "lab_vgg_size", 7, 224, 56)
    k = 2 * n + 1
    st.latex(rf"\begin{{gathered}}\underbrace{{n \cdot 3^2 C^2}}_{{n\ \text{{stacked}}\ 3\times3}} = {9 * n}C^2"
             rf"\quad\text{{vs}}\quad \underbrace{{(2n+1)^2 C^2}}_{{\text{{one}}\ {k}\times{k}}} = {k * k}C^2"
             r"\\ (+\,C \text{ biases per layer})\end{gathered}")
    st.latex(r"\text{MACs} = H W \cdot \text{weights} \\ \text{RF}_{\text{stack}} = 1 + n\,(3-1) = 2n+1")
    df = lab.kernel_stack_lab(n, C, size)
    labkit.measured_vs_formula(df, ["kernel", "layers", "nonlinearities", "rf_px", "rf_px_formula"])
    charts.show(labkit.params_macs_bars(df, [labkit.CHOICE, labkit.BASELINE]),
                _("Stacked 3×3 convolutions against one large kernel"), key="chart_lab_vgg_bars")
    stack, big = df.iloc[0], df.iloc[1]
    st.markdown(
        f"At C = {C}: the stack has **{labkit.ratio(big.params, stack.params)} fewer parameters** and "
        f"**{labkit.ratio(big.macs, stack.macs)} fewer MACs** than one {k}×{k} conv, sees the same "
        f"**{stack.rf_px}×{stack.rf_px}** patch (measured on the traced graph by "
        f"`zoo.analysis.receptive_field`), and applies **{stack.nonlinearities} ReLUs instead of "
        f"{big.nonlinearities}**, so it can represent more non-linear functions."
    )
    labkit.measured_caption()

    st.subheader("The notes' worked example: 3 → 64 channels, with bias")
    ex = lab.vgg_worked_example()
    labkit.measured_vs_formula(ex, ["rf_px"])
    one3, one5, two3 = ex.iloc[0], ex.iloc[1], ex.iloc[2]
    st.markdown(
        f"One 3×3 conv has {one3.params:,} parameters (3·3·3·64 + 64) and one 5×5 conv {one5.params:,} "
        f"(5·5·3·64 + 64). But the *stack* of two 3×3 layers 3 → 64 → 64 has {two3.params:,}, more than the 5×5: "
        "its second layer is 64 → 64. The 18C² vs 25C² saving holds when input and output both have C channels — "
        "which is every VGG layer after the first."
    )

    st.subheader("In the zoo")
    runs = lab.conv_runs("vgg16")
    runs = runs.assign(layers=runs["layers"].map(", ".join),
                       kernels=runs["kernels"].map(lambda ks: " + ".join(map(fmt_axes, ks))))
    big_run = runs.loc[runs["convs"].idxmax()]
    st.markdown(
        f"VGG-16 is built from such stacks between its max-poolings: e.g. **{big_run.layers}** are "
        f"{big_run.convs} 3×3 convs at {big_run.out_channels} channels on a {big_run.size_px}×{big_run.size_px} map — "
        f"together a {big_run.rf_px}×{big_run.rf_px} receptive field with {big_run.nonlinearities} ReLUs."
    )
    st.dataframe(runs, hide_index=True, width="stretch")
    ak = lab.large_kernels("alexnet")
    st.markdown("AlexNet, two years earlier, used large kernels instead: " + "; ".join(
        f"`{r.name}` {fmt_axes(r.kernel)} stride {r.stride[0]} ({int(r.in_channels)} → {int(r.out_channels)})"
        for r in ak.itertuples()) + ".")
