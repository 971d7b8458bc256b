"""Lab page: 3×3 stacks vs large kernels (VGG)."""
from __future__ import annotations

import streamlit as st

from pages.ui import charts, labkit
from pages.ui.fmt import fmt_axes
from zoo.i18n import N_, _, ngettext

TITLE = N_("3×3 stacks vs large kernels (VGG)")
ORDER = 10
URL_PREFIXES = ("lab_vgg_",)
lab = labkit.zoo_lab(__name__)


def _stack_sentence(stack, big, C: int, k: int) -> str:
    if stack.layers == 1:
        return _("With n = 1 the stack is a single 3×3 conv, the same layer on both sides: nothing is saved, the "
                 "patch is {rf}×{rf} and there is one ReLU. Move n up to compare.").format(rf=stack.rf_px)
    one = _("one {k}×{k} conv").format(k=k)
    relus = ngettext("{n} ReLU", "{n} ReLUs", stack.nonlinearities).format(n=stack.nonlinearities)
    big_relus = ngettext("{n} ReLU", "{n} ReLUs", big.nonlinearities).format(n=big.nonlinearities)
    return _("At C = {C}: the stack has **{p}** and **{m}**, sees the same **{rf}×{rf}** patch (measured on the "
             "traced graph by `zoo.analysis.receptive_field`), and applies **{relus} instead of {big_relus}**, so it "
             "can represent more non-linear functions.").format(
        C=C, p=labkit.compare(stack.params, big.params, _("parameters"), one),
        m=labkit.compare(stack.macs, big.macs, _("MACs"), one), rf=stack.rf_px, relus=relus, big_relus=big_relus)


def render() -> None:
    st.markdown(_(
        "VGG builds its networks from 3×3 convolutions (configuration C also has a few 1×1 convs; VGG-16 as "
        "torchvision builds it, configuration D, is 3×3 only). Two stacked 3×3 layers see a 5×5 patch of their input, "
        "three see 7×7 — the same receptive field as one large kernel, with fewer weights and one ReLU per layer "
        "instead of one in all."
    ))
    c = st.columns(3)
    with c[0]:
        n = labkit.slider(_("Stacked 3×3 layers n"), "lab_vgg_n", 1, 5, 3)
    with c[1]:
        C = labkit.slider(_("Channels C (in and out)"), "lab_vgg_c", 8, 512, 64, step=8)
    with c[2]:
        size = labkit.slider(_("Feature map side (px)"), "lab_vgg_size", 7, 224, 56)
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
    st.markdown(_stack_sentence(stack, big, C, k))
    labkit.measured_caption()

    st.subheader(_("The notes' worked example: 3 → 64 channels, with bias"))
    ex = lab.vgg_worked_example()
    labkit.measured_vs_formula(ex, ["rf_px"])
    one3, one5, two3 = ex.iloc[0], ex.iloc[1], ex.iloc[2]
    st.markdown(_(
        "One 3×3 conv has {a:,} parameters (3·3·3·64 + 64) and one 5×5 conv {b:,} "
        "(5·5·3·64 + 64). But the *stack* of two 3×3 layers 3 → 64 → 64 has {c:,}, more than the 5×5: "
        "its second layer is 64 → 64. The 18C² vs 25C² saving holds when input and output both have C channels — "
        "which is every VGG layer after the first."
    ).format(a=one3.params, b=one5.params, c=two3.params))

    st.subheader(_("In the zoo"))
    runs = lab.conv_runs("vgg16")
    runs = runs.assign(layers=runs["layers"].map(", ".join),
                       kernels=runs["kernels"].map(lambda ks: " + ".join(map(fmt_axes, ks))))
    big_run = runs.loc[runs["convs"].idxmax()]
    st.markdown(_(
        "VGG-16 is built from such stacks between its max-poolings: e.g. **{layers}** are {n} 3×3 convs at {c} "
        "channels on a {s}×{s} map — together a {rf}×{rf} receptive field with {relus} ReLUs."
    ).format(layers=big_run.layers, n=big_run.convs, c=big_run.out_channels, s=big_run.size_px, rf=big_run.rf_px,
             relus=big_run.nonlinearities))
    st.dataframe(runs, hide_index=True, width="stretch")
    ak = lab.large_kernels("alexnet")
    st.markdown(_("AlexNet, two years earlier, used large kernels instead: {convs}.").format(convs="; ".join(
        _("`{name}` {k} stride {s} ({a} → {b})").format(name=r.name, k=fmt_axes(r.kernel), s=r.stride[0],
                                                        a=int(r.in_channels), b=int(r.out_channels))
        for r in ak.itertuples())))
