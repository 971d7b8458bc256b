"""Lab page: Dense connectivity (DenseNet)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from pages.ui import charts, labkit
from zoo.i18n import N_, _, ngettext

TITLE = N_("Dense connectivity (DenseNet)")
ORDER = 50
URL_PREFIXES = ("lab_dense_",)
lab = labkit.zoo_lab(__name__)


def _why(res, blk, mid: int) -> str:
    if res.params > blk.params:
        return _("because every one of its convs outputs all m channels, where a dense layer's 3×3 adds only k")
    return _("since each dense layer's 3×3 reads a b·k = {mid}-channel bottleneck: with few layers that outweighs the "
             "stage's width, and the balance turns as L grows (the stage's cost per conv grows with m² = (k₀ + Lk)², "
             "the dense block's far more slowly)").format(mid=mid)


def _stage(L: int) -> str:
    n = L // 2
    if n == 0:
        return _("a single 3×3 conv + BN + ReLU (one layer leaves no room for a BasicBlock's two convs)")
    blocks = ngettext("{n} BasicBlock of two 3×3 convs", "{n} BasicBlocks of two 3×3 convs", n).format(n=n)
    if L % 2 == 0:
        return blocks
    return _("{blocks} plus, since L is odd, one more 3×3 conv + BN + ReLU without a shortcut (half a block, which "
             "no ResNet has)").format(blocks=blocks)


def render() -> None:
    st.markdown(_(
        "In a dense block every layer receives the concatenation of the block's input and *all* earlier layers' "
        "outputs, and adds k new channels (the growth rate). Layers stay narrow because they can reuse everything "
        "before them. A 1×1 bottleneck to b·k channels (b = 4 in the paper) keeps the 3×3 cheap, and a transition "
        "(BN, 1×1 conv to ⌊θm⌋ channels, 2×2 average pool) between blocks compresses and halves the map."
    ))
    c = st.columns(3)
    with c[0]:
        k = labkit.slider(_("Growth rate k"), "lab_dense_k", 4, 64, 32, step=4)
        bn_size = labkit.slider(_("Bottleneck multiplier (4 in the paper)"), "lab_dense_bn", 1, 8, 4)
    with c[1]:
        k0 = labkit.slider(_("Block input channels k₀"), "lab_dense_k0", 16, 512, 64, step=16)
        L = labkit.slider(_("Layers in the block"), "lab_dense_layers", 1, 32, 6)
    with c[2]:
        theta = labkit.slider(_("Compression θ"), "lab_dense_theta", 0.1, 1.0, 0.5, step=0.1, cast=float)
        size = labkit.slider(_("Map side (px)"), "lab_dense_size", 7, 56, 56)
    st.latex(rf"\begin{{gathered}}c_\ell = k_0 + k(\ell - 1)\\ \text{{params}}_\ell = \underbrace{{2c_\ell}}_{{BN}} + "
             rf"c_\ell\cdot {bn_size}k + \underbrace{{2\cdot {bn_size}k}}_{{BN}} + 9\cdot {bn_size}k\cdot k\end{{gathered}}")
    d = lab.dense_lab(k0, k, L, size, bn_size, theta)
    last, mid = d.layers.iloc[-1], bn_size * k
    c_last, p_last = int(last.in_channels_formula), f"{int(last.params_formula):,}".replace(",", "{,}")
    st.latex(rf"\begin{{gathered}}\ell = L = {L}:\quad c_{{{L}}} = {k0} + {k}\cdot{L - 1} = {c_last}\\ "
             rf"\text{{params}}_{{{L}}} = 2\cdot{c_last} + {c_last}\cdot{mid} + 2\cdot{mid} + 9\cdot{mid}\cdot{k}"
             rf" = {p_last}\end{{gathered}}")
    st.latex(r"\text{transition: } m \to \lfloor \theta m \rfloor \text{ channels},\quad m = k_0 + Lk")
    fig = go.Figure()
    fig.add_bar(x=d.layers["layer"], y=d.layers["in_channels"], name=_("input channels (norm1.num_features)"),
                marker_color=charts.ACCENT)
    fig.add_scatter(x=d.layers["layer"], y=d.layers["in_channels_formula"], mode="markers", name="k₀ + k(ℓ−1)",
                    marker=dict(color="black", symbol="x", size=10))
    fig.add_scatter(x=d.layers["layer"], y=d.layers["bottleneck_channels"], mode="lines", name=_("bottleneck (conv1 out)"),
                    line=dict(color="#ff7f0e", dash="dot"))
    fig.update_layout(height=340, xaxis_title=_("layer ℓ in the block"), yaxis_title=_("channels"), margin=dict(t=20, b=10))
    charts.show(fig, _("Input channels of each layer in a dense block"), key="chart_lab_dense_channels")
    st.dataframe(d.layers, hide_index=True, width="stretch")
    labkit.measured_vs_formula(d.totals, ["in_channels", "out_channels", "out_px"])
    blk, res = d.totals.iloc[0], d.totals.iloc[2]
    st.caption(_("Layer ℓ = {L} measured: {p:,} parameters, the formula's {f:,}.").format(
        L=L, p=int(last.params), f=int(last.params_formula)))
    st.markdown(_("The dense block takes {k0} channels to {m} with {p:,} parameters; a ResNet stage with as many 3×3 "
                  "convs ({n}) and the same output width has {rp:,}: **{cmp}**, {why}. The stage is {stage}. Measured "
                  "with torchvision's own dense block and `BasicBlock`, and a transition laid out as torchvision's.")
                .format(k0=k0, m=blk.out_channels, p=blk.params, n=blk.convs_3x3, rp=res.params, why=_why(res, blk, mid),
                        stage=_stage(L), cmp=labkit.compare(res.params, blk.params, _("parameters"),
                                                            _("the dense block"))))
    labkit.measured_caption()
    st.subheader(_("In the zoo"))
    z = lab.densenet_blocks("densenet121")
    first = z.iloc[0]
    st.markdown(_("DenseNet-121's `{block}` has {n} layers with k = {k}: {k0} → {m} channels, a {b}-channel bottleneck "
                  "(= {bk}k), and its transition compresses that to {t} (θ = {theta:g}).").format(
        block=first.block, n=first.layers, k=first.growth_rate, k0=first.k0, m=first.out_channels, b=first.bottleneck,
        bk=first.bottleneck // first.growth_rate, t=int(first.transition_out), theta=first.theta))
    st.dataframe(z, hide_index=True, width="stretch")
