"""Lab page: Dense connectivity (DenseNet)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from pages.ui import charts, labkit
from zoo.i18n import _

TITLE = "Dense connectivity (DenseNet)"
ORDER = 50
URL_PREFIXES = ("lab_dense_",)
lab = labkit.zoo_lab(__name__)


def render() -> None:
    st.markdown(
        "In a dense block every layer receives the concatenation of the block's input and *all* earlier layers' "
        "outputs, and adds k new channels (the growth rate). Layers stay narrow because they can reuse everything "
        "before them. A 1×1 bottleneck to 4k channels keeps the 3×3 cheap, and a transition (BN, 1×1 conv to "
        "⌊θm⌋ channels, 2×2 average pool) between blocks compresses and halves the map."
    )
    c = st.columns(3)
    with c[0]:
        k = labkit.slider("Growth rate k", "lab_dense_k", 4, 64, 32, step=4)
        bn_size = labkit.slider("Bottleneck multiplier (4 in the paper)", "lab_dense_bn", 1, 8, 4)
    with c[1]:
        k0 = labkit.slider("Block input channels k₀", "lab_dense_k0", 16, 512, 64, step=16)
        L = labkit.slider("Layers in the block", "lab_dense_layers", 1, 32, 6)
    with c[2]:
        theta = labkit.slider("Compression θ", "lab_dense_theta", 0.1, 1.0, 0.5, step=0.1, cast=float)
        size = labkit.slider("Map side (px)", "lab_dense_size", 7, 56, 56)
    st.latex(r"c_\ell = k_0 + k(\ell - 1), \qquad \text{params}_\ell = \underbrace{2c_\ell}_{BN} + c_\ell\cdot 4k"
             r" + \underbrace{2\cdot 4k}_{BN} + 9\cdot 4k\cdot k")
    st.latex(r"\text{transition: } m \to \lfloor \theta m \rfloor \text{ channels},\quad m = k_0 + Lk")
    d = lab.dense_lab(k0, k, L, size, bn_size, theta)
    fig = go.Figure()
    fig.add_bar(x=d.layers["layer"], y=d.layers["in_channels"], name="input channels (norm1.num_features)",
                marker_color=charts.ACCENT)
    fig.add_scatter(x=d.layers["layer"], y=d.layers["in_channels_formula"], mode="markers", name="k₀ + k(ℓ−1)",
                    marker=dict(color="black", symbol="x", size=10))
    fig.add_scatter(x=d.layers["layer"], y=d.layers["bottleneck_channels"], mode="lines", name="bottleneck (conv1 out)",
                    line=dict(color="#ff7f0e", dash="dot"))
    fig.update_layout(height=340, xaxis_title="layer ℓ in the block", yaxis_title="channels", margin=dict(t=20, b=10))
    charts.show(fig, _("Input channels of each layer in a dense block"), key="chart_lab_dense_channels")
    st.dataframe(d.layers, hide_index=True, width="stretch")
    labkit.measured_vs_formula(d.totals, ["in_channels", "out_channels", "out_px"])
    blk, res = d.totals.iloc[0], d.totals.iloc[2]
    st.markdown(
        f"The dense block takes {k0} channels to {blk.out_channels} with {blk.params:,} parameters; a ResNet stage "
        f"with as many 3×3 convs and the same output width has {res.params:,} — "
        f"**{labkit.ratio(res.params, blk.params)}** "
        "as many, because every one of its layers is that wide. (Measured with torchvision's own dense block "
        "and `BasicBlock`, and a transition laid out as torchvision's.)"
    )
    labkit.measured_caption()
    st.subheader("In the zoo")
    z = lab.densenet_blocks("densenet121")
    first = z.iloc[0]
    st.markdown(
        f"DenseNet-121's `{first.block}` has {first.layers} layers with k = {first.growth_rate}: "
        f"{first.k0} → {first.out_channels} channels, a {first.bottleneck}-channel bottleneck (= 4k), and its "
        f"transition halves that to {int(first.transition_out)} (θ = {first.theta:g})."
    )
    st.dataframe(z, hide_index=True, width="stretch")
