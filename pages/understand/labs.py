"""Building-block labs: each design choice of the landmark CNNs, measured on real modules.

Every lab shows the closed-form formula, the numbers measured by building the real
``nn.Module``s and counting them with the model pages' analysis, a chart, and where the
choice sits in the zoo. The chosen lab and its slider values live in the URL (``lab_*``).
"""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages.ui.fmt import MACS_NOTE, fmt_count
from pages.ui.query import set_query
from zoo import labs

LABS = {
    "vgg": "3×3 stacks vs large kernels (VGG)",
    "inception": "1×1 convolutions and the Inception module (GoogLeNet)",
    "residual": "Basic vs bottleneck residual blocks (ResNet)",
    "gradients": "Plain vs residual: gradient flow (ResNet)",
    "dense": "Dense connectivity (DenseNet)",
    "separable": "Depthwise-separable convolution (MobileNet)",
    "scaling": "Compound scaling (EfficientNet)",
    "norm": "LRN vs BatchNorm (AlexNet's open question)",
    "activations": "ReLU vs sigmoid / tanh",
    "decay": "Weight decay",
}
# The URL keys each lab's widgets use (str.startswith accepts a tuple).
URL_PREFIXES = {"vgg": "lab_vgg_", "inception": ("lab_inc_", "lab_red_"), "residual": "lab_res_",
                "gradients": "lab_grad_", "dense": "lab_dense_", "separable": "lab_sep_", "scaling": "lab_scale_",
                "norm": "lab_norm_", "activations": "lab_act_", "decay": "lab_decay_"}
PLAIN, RESIDUAL = "#d62728", "#1f77b4"  # the same two colours wherever plain and residual meet


# --- widgets whose values live in the URL -------------------------------------------------------

def _from_url(key: str, default, lo, hi, step, cast):
    """The URL's value for ``key`` if it is one the slider offers (in range, on a step), else ``default``."""
    try:
        v = cast(st.query_params.get(key, default))
    except (TypeError, ValueError):
        return default
    steps = (v - lo) / step
    return v if lo <= v <= hi and abs(steps - round(steps)) < 1e-9 else default


def slider(label: str, key: str, lo, hi, default, step=1, cast=int, **kw):
    """A slider that starts from the URL's ``key`` (if valid) and writes its value back there."""
    if key not in st.session_state:
        st.session_state[key] = _from_url(key, default, lo, hi, step, cast)
    value = st.slider(label, cast(lo), cast(hi), step=cast(step), key=key, **kw)
    set_query(**{key: value})
    return value


def choice(label: str, key: str, options: list, default, fmt=str, widget=st.select_slider, **kw):
    """A select-slider / radio / selectbox whose value lives in the URL (as its str)."""
    if key not in st.session_state:
        by_text = {str(o): o for o in options}
        st.session_state[key] = by_text.get(st.query_params.get(key), default)
    value = widget(label, options, key=key, format_func=fmt, **kw)
    set_query(**{key: value})
    return value


def check(label: str, key: str, default: bool, **kw) -> bool:
    if key not in st.session_state:
        st.session_state[key] = {"1": True, "0": False}.get(st.query_params.get(key), default)
    value = st.checkbox(label, key=key, **kw)
    set_query(**{key: int(value)})
    return value


# --- cached calls into zoo.labs ---------------------------------------------------------------------

cached = st.cache_data(show_spinner=False, max_entries=256)
kernel_stack_lab = cached(labs.kernel_stack_lab)
vgg_worked_example = cached(labs.vgg_worked_example)
conv_runs = cached(labs.conv_runs)
large_kernels = cached(labs.large_kernels)
googlenet_inception_configs = cached(labs.googlenet_inception_configs)
inception_lab = cached(labs.inception_lab)
reduction_lab = cached(labs.reduction_lab)
googlenet_aux_heads = cached(labs.googlenet_aux_heads)
residual_lab = cached(labs.residual_lab)
resnet_blocks = cached(labs.resnet_blocks)
resnet_stages = cached(labs.resnet_stages)
gradient_flow = cached(labs.gradient_flow)
block_input_gradients = cached(labs.block_input_gradients)
dense_lab = cached(labs.dense_lab)
densenet_blocks = cached(labs.densenet_blocks)
separable_lab = cached(labs.separable_lab)
mobilenet_v1_lab = cached(labs.mobilenet_v1_lab)
mobilenet_v1_cost_split = cached(labs.mobilenet_v1_cost_split)
zoo_mobilenets = cached(labs.zoo_mobilenets)
single_dimension_scaling = cached(labs.single_dimension_scaling)
efficientnet_family = cached(labs.efficientnet_family)
lrn_vs_batchnorm = cached(labs.lrn_vs_batchnorm)
activation_curves = cached(labs.activation_curves)
derivative_chain = cached(labs.derivative_chain)
mlp_gradient_flow = cached(labs.mlp_gradient_flow)
weight_decay_demo = cached(labs.weight_decay_demo)
sgd_decay_only = cached(labs.sgd_decay_only)
decay_equivalences = cached(labs.decay_equivalences)


# --- presentation helpers -------------------------------------------------------------------------

def measured_vs_formula(df: pd.DataFrame, extra: list[str] | None = None) -> None:
    """The lab's table: measured params/MACs next to the formula's, with a check column."""
    cols = ["variant", *(extra or []), "params", "params_formula", "macs", "macs_formula"]
    t = df[cols].copy()
    t["matches"] = (t["params"] == t["params_formula"]) & (t["macs"] == t["macs_formula"])
    st.dataframe(
        t, hide_index=True, width="stretch",
        column_config={
            "params": st.column_config.NumberColumn("params (measured)", format="localized"),
            "params_formula": st.column_config.NumberColumn("params (formula)", format="localized"),
            "macs": st.column_config.NumberColumn("MACs (measured)", format="localized"),
            "macs_formula": st.column_config.NumberColumn("MACs (formula)", format="localized"),
            "matches": st.column_config.CheckboxColumn("formula = measured"),
        },
    )


def params_macs_bars(df: pd.DataFrame, colors: list[str] | None = None) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Parameters", "MACs"))
    for col, (field, unit) in enumerate((("params", ""), ("macs", "")), 1):
        fig.add_bar(x=df["variant"], y=df[field], text=[fmt_count(v, unit) for v in df[field]],
                    marker_color=colors, showlegend=False, row=1, col=col)
    fig.update_layout(height=340, margin=dict(t=40, b=10))
    return fig


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "—"


def measured_caption() -> None:
    st.caption("Measured: the modules are built on PyTorch's `meta` device and counted with "
               "`zoo.analysis.summarize_module`, the analysis behind the model pages. " + MACS_NOTE)


# --- the labs ----------------------------------------------------------------------------------------

def lab_vgg() -> None:
    st.markdown(
        "VGG uses only 3×3 convolutions. Two stacked 3×3 layers see a 5×5 patch of their input, three see 7×7 — "
        "the same receptive field as one large kernel, with fewer weights and one ReLU per layer instead of one in all."
    )
    c = st.columns(3)
    with c[0]:
        n = slider("Stacked 3×3 layers n", "lab_vgg_n", 1, 5, 3)
    with c[1]:
        C = slider("Channels C (in and out)", "lab_vgg_c", 8, 512, 64, step=8)
    with c[2]:
        size = slider("Feature map side (px)", "lab_vgg_size", 7, 224, 56)
    k = 2 * n + 1
    st.latex(rf"\underbrace{{n \cdot 3^2 C^2}}_{{n\ \text{{stacked}}\ 3\times3}} = {9 * n}C^2"
             rf"\quad\text{{vs}}\quad \underbrace{{(2n+1)^2 C^2}}_{{\text{{one}}\ {k}\times{k}}} = {k * k}C^2"
             r"\qquad (+\,C \text{ biases per layer})")
    st.latex(r"\text{MACs} = H W \cdot \text{weights}, \qquad \text{RF}_{\text{stack}} = 1 + n\,(3-1) = 2n+1")
    df = kernel_stack_lab(n, C, size)
    measured_vs_formula(df, ["kernel", "layers", "nonlinearities", "rf_px", "rf_px_formula"])
    st.plotly_chart(params_macs_bars(df, [RESIDUAL, PLAIN]), width="stretch")
    stack, big = df.iloc[0], df.iloc[1]
    st.markdown(
        f"At C = {C}: the stack has **{ratio(big.params, stack.params)} fewer parameters** and "
        f"**{ratio(big.macs, stack.macs)} fewer MACs** than one {k}×{k} conv, sees the same "
        f"**{stack.rf_px}×{stack.rf_px}** patch (measured on the traced graph by "
        f"`zoo.analysis.receptive_field`), and applies **{stack.nonlinearities} ReLUs instead of "
        f"{big.nonlinearities}**, so it can represent more non-linear functions."
    )
    measured_caption()

    st.subheader("The notes' worked example: 3 → 64 channels, with bias")
    ex = vgg_worked_example()
    measured_vs_formula(ex, ["rf_px"])
    one3, one5, two3 = ex.iloc[0], ex.iloc[1], ex.iloc[2]
    st.markdown(
        f"One 3×3 conv has {one3.params:,} parameters (3·3·3·64 + 64) and one 5×5 conv {one5.params:,} "
        f"(5·5·3·64 + 64). But the *stack* of two 3×3 layers 3 → 64 → 64 has {two3.params:,}, more than the 5×5: "
        "its second layer is 64 → 64. The 18C² vs 25C² saving holds when input and output both have C channels — "
        "which is every VGG layer after the first."
    )

    st.subheader("In the zoo")
    runs = conv_runs("vgg16")
    big_run = runs.loc[runs["convs"].idxmax()]
    st.markdown(
        f"VGG-16 is built from such stacks between its max-poolings: e.g. **{big_run.layers}** are "
        f"{big_run.convs} 3×3 convs at {big_run.out_channels} channels on a {big_run.size_px}×{big_run.size_px} map — "
        f"together a {big_run.rf_px}×{big_run.rf_px} receptive field with {big_run.nonlinearities} ReLUs."
    )
    st.dataframe(runs, hide_index=True, width="stretch")
    ak = large_kernels("alexnet")
    st.markdown("AlexNet, two years earlier, used large kernels instead: " + "; ".join(
        f"`{r.name}` {r.kernel[0]}×{r.kernel[1]} stride {r.stride[0]} ({int(r.in_channels)} → {int(r.out_channels)})"
        for r in ak.itertuples()) + ".")


def _apply_inception_preset() -> None:
    cfg = googlenet_inception_configs().set_index("module").loc[st.session_state["lab_inc_preset"]]
    for f in labs.INCEPTION_FIELDS:
        st.session_state[f"lab_inc_{f}"] = int(cfg[f])
    st.session_state["lab_inc_size"] = int(cfg["size_px"])


def lab_inception() -> None:
    st.markdown(
        "An Inception module runs 1×1, 3×3 and 5×5 convolutions and a 3×3 max-pool side by side and concatenates "
        "them, so the next layer sees features at several scales. Done naively this is expensive: the 3×3 and 5×5 "
        "see every input channel, and the pool passes all of them on, so the width grows module after module. "
        "GoogLeNet puts 1×1 convolutions in front of the 3×3 and 5×5 (and after the pool) to reduce the channels first."
    )
    configs = googlenet_inception_configs()
    modules = list(configs["module"])
    choice("Start from torchvision's GoogLeNet module", "lab_inc_preset", modules, "inception3a",
           widget=st.selectbox, on_change=_apply_inception_preset)
    preset = configs.set_index("module").loc[st.session_state["lab_inc_preset"]]
    c = st.columns(4)
    labels = {"in_channels": "Input channels", "c1": "#1×1", "r3": "#3×3 reduce", "c3": "#3×3",
              "r5": "#5×5 reduce", "c5": "#5×5", "pool_proj": "pool proj"}
    v = {}
    for i, f in enumerate(labs.INCEPTION_FIELDS):
        with c[i % 4]:
            v[f] = slider(labels[f], f"lab_inc_{f}", 1, 1024 if f == "in_channels" else 512, int(preset[f]))
    with c[3]:
        size = slider("Feature map side (px)", "lab_inc_size", 7, 56, int(preset["size_px"]))
    st.latex(r"\text{naive: } C_{in}\,(n_1 + 9\,n_3 + 25\,n_5)"
             r"\qquad \text{reduced: } C_{in}\,(n_1 + r_3 + r_5 + p) + 9\,r_3 n_3 + 25\,r_5 n_5")
    st.latex(r"\text{MACs} = H W \cdot \text{weights}")
    df = inception_lab(*(v[f] for f in labs.INCEPTION_FIELDS), size)
    measured_vs_formula(df, ["out_channels", "out_channels_measured"])
    fig = go.Figure()
    for b, name in labs.INCEPTION_BRANCHES.items():
        fig.add_bar(x=df["variant"], y=df[f"macs_{b}"], name=f"{name} branch")
    fig.update_layout(barmode="stack", height=340, yaxis_title="MACs", margin=dict(t=20, b=10))
    st.plotly_chart(fig, width="stretch")
    naive, red = df.iloc[0], df.iloc[1]
    st.markdown(
        f"The reductions cut the module's weights **{ratio(naive.params, red.params)}** "
        f"({naive.params:,} → {red.params:,}) and its output from {naive.out_channels} to {red.out_channels} channels. "
        "Biases are left out, as in the paper's Table 1 (torchvision's convs have BatchNorm instead)."
    )
    if (configs["branch3_kernel"] != 5).any():
        st.caption(f"torchvision's GoogLeNet uses a {int(configs['branch3_kernel'].iloc[0])}×"
                   f"{int(configs['branch3_kernel'].iloc[0])} conv in its \"5×5\" branch (read from "
                   "`inception3a.branch3[1]`, a known deviation kept for its published weights); "
                   "the modules here use the paper's 5×5.")
    measured_caption()

    st.subheader("The 1×1 reduction on its own")
    st.markdown("The notes' example: a layer that outputs 512 channels, reduced to 256 by 256 1×1 filters "
                "before an expensive convolution.")
    c = st.columns(5)
    with c[0]:
        cin = slider("Input channels", "lab_red_in", 16, 1024, 512, step=16)
    with c[1]:
        mid = slider("After 1×1", "lab_red_mid", 8, 1024, 256, step=8)
    with c[2]:
        cout = slider("Output channels", "lab_red_out", 8, 1024, 256, step=8)
    with c[3]:
        k = slider("Kernel", "lab_red_k", 3, 7, 3, step=2)
    with c[4]:
        rsize = slider("Map side (px)", "lab_red_size", 7, 56, 14)
    st.latex(r"k^2 C_{in} C_{out} \;\to\; C_{in} C_{mid} + k^2 C_{mid} C_{out}")
    red = reduction_lab(cin, mid, cout, k, rsize)
    measured_vs_formula(red)
    d, r = red.iloc[0], red.iloc[1]
    saved = 1 - r.macs / d.macs
    st.markdown(f"The 1×1 reduction {'saves' if saved > 0 else 'costs'} **{abs(saved):.0%}** of the MACs here "
                f"({fmt_count(d.macs)} → {fmt_count(r.macs)}); it pays whenever C_mid is well below C_in, and "
                "adds a ReLU (one more non-linearity) for free.")

    st.subheader("Auxiliary classifiers")
    aux = googlenet_aux_heads()
    st.latex(rf"L = L_\text{{main}} + {labs.AUX_LOSS_WEIGHT}\,\big(L_\text{{aux1}} + L_\text{{aux2}}\big)")
    st.markdown(
        "During training GoogLeNet has two extra small classifiers on intermediate features; their losses, "
        f"weighted by {labs.AUX_LOSS_WEIGHT}, add gradient signal to the middle of the 22-layer network and act as "
        "a regulariser. At inference they are thrown away. Found by running torchvision's GoogLeNet in training mode:"
    )
    heads = aux.heads.assign(input_shape=aux.heads["input_shape"].map(lambda s: " × ".join(map(str, s[1:]))))
    st.dataframe(heads, hide_index=True, width="stretch",
                 column_config={"params": st.column_config.NumberColumn(format="localized"),
                                "params_pct": st.column_config.NumberColumn("% of trained model", format="%.1f")})
    st.markdown(
        f"As trained, GoogLeNet has {aux.params_with_aux:,} parameters; without the heads {aux.params_inference:,}"
        + (f" — exactly the {aux.published_params:,} in torchvision's weights metadata, which ships without them."
           if aux.published_params == aux.params_inference else ".")
    )


def lab_residual() -> None:
    st.markdown(
        "A residual block computes F(x) and outputs relu(F(x) + x): it only has to learn the *residual* "
        "F(x) = H(x) − x, and F = 0 is the identity. ResNet-18/34 use the **basic block** (two 3×3 convs); "
        "ResNet-50/101/152 the **bottleneck** (1×1 reduce to a width w, 3×3 at w, 1×1 expand to 4w), which is "
        "about as cheap on 4× wider features. Where a stage halves the resolution and widens the channels the "
        "shortcut cannot be the identity: a **projection** (1×1 conv, stride 2, + BN) matches the shapes."
    )
    c = st.columns(3)
    with c[0]:
        w = slider("Width w (basic: out channels; bottleneck: 3×3 width)", "lab_res_w", 16, 512, 64, step=16)
    with c[1]:
        size = slider("Input side (px)", "lab_res_size", 7, 112, 56)
    with c[2]:
        down = check("First block of a stage (stride 2, projection)", "lab_res_down", False)
    st.latex(r"\text{basic: } 9C_{in}C + 9C^2 \qquad \text{bottleneck: } C_{in}w + 9w^2 + 4w^2"
             r"\qquad \text{projection: } +\,C_{in}C_{out}")
    st.caption("Weights only; every BN adds 2 parameters per channel. MACs: each conv's weights times its output "
               "map, which is ⌈H/2⌉² after the stride (torchvision strides the bottleneck's 3×3).")
    df = residual_lab(w, size, down)
    measured_vs_formula(df, ["in_channels", "out_channels", "stride", "shortcut", "shortcut_params"])
    st.plotly_chart(params_macs_bars(df, ["#2ca02c", RESIDUAL, "#7f7f7f"]), width="stretch")
    basic, bott, wide = df.iloc[0], df.iloc[1], df.iloc[2]
    st.markdown(
        f"A bottleneck on {bott.out_channels}-d features has {bott.params:,} parameters, close to the basic block's "
        f"{basic.params:,} on {basic.out_channels}-d (the paper's Fig. 5). A basic block on the same "
        f"{wide.out_channels}-d features would need {wide.params:,}: the bottleneck has "
        f"**{ratio(wide.params, bott.params)} fewer**."
    )
    measured_caption()

    st.subheader("In the zoo")
    for name in ("resnet34", "resnet50"):
        b = resnet_blocks(name)
        kind = "BasicBlock" if name == "resnet34" else "Bottleneck"
        match = b[(b["type"] == kind) & (b["width"] == w) & ((b["stride"] == 2) == down)]
        r = match.iloc[0] if len(match) else b[b["stride"] == 2].iloc[0]
        st.markdown(
            f"- **{labs.registry.get(name).display} `{r.block}`** is a {r.type} {r.in_channels} → {r.out_channels} "
            f"(width {r.width}, stride {r.stride}, {r.shortcut} shortcut, {r.params:,} params)"
            + ("" if len(match) else " — no block has your settings; this is the first strided one") + "."
        )
    st.markdown("ResNet-34 and ResNet-50 stage by stage: the bottleneck stages are 4× wider for similar cost.")
    stages = resnet_stages()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Parameters", "MACs"))
    for model, color in zip(stages["model"].unique(), ("#2ca02c", RESIDUAL)):
        s = stages[stages["model"] == model]
        for col, field in ((1, "params"), (2, "macs")):
            fig.add_bar(x=s["stage"], y=s[field], name=model, marker_color=color, showlegend=col == 1,
                        legendgroup=model, row=1, col=col)
    fig.update_layout(barmode="group", height=340, margin=dict(t=40, b=10))
    st.plotly_chart(fig, width="stretch")


def lab_gradients() -> None:
    st.markdown(
        "He et al. found that a 56-layer *plain* network trains worse than a 20-layer one — the degradation "
        "problem — while residual networks keep improving with depth. Here both kinds are built as in their "
        "CIFAR-10 experiments (a 3×3 conv, three stages of 3×3 convs at 16/32/64 channels, a 10-way FC), one "
        "batch of 8 random 32×32 images goes forward at initialisation, and the loss goes back. The chart is the "
        "gradient norm each weight layer receives."
    )
    c = st.columns(4)
    with c[0]:
        depth = slider("Depth (6n + 2 layers)", "lab_grad_depth", 8, 110, 56, step=6)
    with c[1]:
        bn = check("BatchNorm", "lab_grad_bn", True, help="After every conv, as in the paper.")
    with c[2]:
        he = check("He init", "lab_grad_he", True,
                   help="He initialisation, as in the paper. Off: PyTorch's default init, whose conv weights have "
                        "a sixth of He's variance.")
    with c[3]:
        seed = slider("Seed", "lab_grad_seed", 0, 9, 0)
    st.latex(r"\text{plain: } \frac{\partial L}{\partial x_l} = \frac{\partial L}{\partial x_L}"
             r"\prod_{i=l}^{L-1} \frac{\partial x_{i+1}}{\partial x_i}")
    st.latex(r"\text{residual: } x_{i+1} = x_i + F(x_i) \;\Rightarrow\; "
             r"\frac{\partial L}{\partial x_l} = \frac{\partial L}{\partial x_L}"
             r"\Big(1 + \frac{\partial}{\partial x_l}\sum_{i=l}^{L-1} F(x_i)\Big)")
    g = gradient_flow(depth, bn, he, seed)
    fig = go.Figure()
    summary = []
    for net, color in (("plain", PLAIN), ("residual", RESIDUAL)):
        d = g[g["net"] == net]
        positive = d[d["grad_norm"] > 0]
        fig.add_scatter(x=positive["layer"], y=positive["grad_norm"], mode="lines+markers", name=f"{net}-{depth}",
                        line_color=color)
        first, last = d["grad_norm"].iloc[0], d["grad_norm"].iloc[-2]  # first conv, last conv
        summary.append({"net": f"{net}-{depth}", "first conv": first, "last conv": last,
                        "first / last": first / last if last else math.nan,
                        "layers with exactly 0 gradient": int((d["grad_norm"] == 0).sum())})
    fig.update_layout(height=380, xaxis_title="layer (1 = first conv, last = FC)",
                      yaxis_title="‖∂L/∂W‖ (log scale)", yaxis_type="log", margin=dict(t=20, b=10))
    st.plotly_chart(fig, width="stretch")
    st.dataframe(pd.DataFrame(summary), hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="%.3g")
                                for k in ("first conv", "last conv", "first / last")})
    st.markdown(
        "- **Without BatchNorm, default init**: the plain net's gradient shrinks layer after layer on its way back — "
        "the *vanishing gradient* (at 56 layers the first convs get exactly 0 in float32). The residual net's "
        "shortcuts carry it back: the 1 in the formula above.\n"
        "- **With BatchNorm and He init (the paper's setting)** the plain net's gradient does not vanish — it "
        "*grows* toward the input, by orders of magnitude at 56+ layers — while the residual net's stays within a "
        "narrow band. He et al. note their BN plain nets had healthy gradient norms and call the degradation an "
        "optimisation difficulty rather than vanishing gradients; what the measurement shows is that without "
        "shortcuts the gradient's scale is badly conditioned across depth, one way or the other."
    )
    with st.expander("Check the formula: residual branches that start at zero"):
        z = block_input_gradients(depth)
        st.markdown(
            "With the last BN of every residual branch set to 0 (torchvision's `zero_init_residual=True`), "
            "F(x) = 0 at the start and each block is the identity, so the formula says every block input "
            "receives the same gradient within a stage (the zero-padded channels of a widening shortcut get none):")
        st.dataframe(z, hide_index=True, width="stretch",
                     column_config={"stage": st.column_config.NumberColumn("channels"),
                                    "grad_norm": st.column_config.NumberColumn("‖∂L/∂x‖", format="%.6g")})
    sc = labs.resnet_shortcuts("resnet50")
    st.markdown(f"**In the zoo:** ResNet-50 has {sc['blocks']} residual blocks — {sc['identity']} with identity "
                f"shortcuts and {sc['projection']} with projections, one at the start of each stage.")


def lab_dense() -> None:
    st.markdown(
        "In a dense block every layer receives the concatenation of the block's input and *all* earlier layers' "
        "outputs, and adds k new channels (the growth rate). Layers stay narrow because they can reuse everything "
        "before them. A 1×1 bottleneck to 4k channels keeps the 3×3 cheap, and a transition (BN, 1×1 conv to "
        "⌊θm⌋ channels, 2×2 average pool) between blocks compresses and halves the map."
    )
    c = st.columns(3)
    with c[0]:
        k = slider("Growth rate k", "lab_dense_k", 4, 64, 32, step=4)
        bn_size = slider("Bottleneck multiplier (4 in the paper)", "lab_dense_bn", 1, 8, 4)
    with c[1]:
        k0 = slider("Block input channels k₀", "lab_dense_k0", 16, 512, 64, step=16)
        L = slider("Layers in the block", "lab_dense_layers", 1, 32, 6)
    with c[2]:
        theta = slider("Compression θ", "lab_dense_theta", 0.1, 1.0, 0.5, step=0.1, cast=float)
        size = slider("Map side (px)", "lab_dense_size", 7, 56, 56)
    st.latex(r"c_\ell = k_0 + k(\ell - 1), \qquad \text{params}_\ell = \underbrace{2c_\ell}_{BN} + c_\ell\cdot 4k"
             r" + \underbrace{2\cdot 4k}_{BN} + 9\cdot 4k\cdot k")
    st.latex(r"\text{transition: } m \to \lfloor \theta m \rfloor \text{ channels},\quad m = k_0 + Lk")
    d = dense_lab(k0, k, L, size, bn_size, theta)
    fig = go.Figure()
    fig.add_bar(x=d.layers["layer"], y=d.layers["in_channels"], name="input channels (norm1.num_features)",
                marker_color=RESIDUAL)
    fig.add_scatter(x=d.layers["layer"], y=d.layers["in_channels_formula"], mode="markers", name="k₀ + k(ℓ−1)",
                    marker=dict(color="black", symbol="x", size=10))
    fig.add_scatter(x=d.layers["layer"], y=d.layers["bottleneck_channels"], mode="lines", name="bottleneck (conv1 out)",
                    line=dict(color="#ff7f0e", dash="dot"))
    fig.update_layout(height=340, xaxis_title="layer ℓ in the block", yaxis_title="channels", margin=dict(t=20, b=10))
    st.plotly_chart(fig, width="stretch")
    st.dataframe(d.layers, hide_index=True, width="stretch")
    measured_vs_formula(d.totals, ["in_channels", "out_channels", "out_px"])
    blk, res = d.totals.iloc[0], d.totals.iloc[2]
    st.markdown(
        f"The dense block takes {k0} channels to {blk.out_channels} with {blk.params:,} parameters; a ResNet stage "
        f"with as many 3×3 convs and the same output width has {res.params:,} — **{ratio(res.params, blk.params)}** "
        "as many, because every one of its layers is that wide. (Measured with torchvision's own `_DenseBlock`, "
        "`_Transition` and `BasicBlock`.)"
    )
    measured_caption()
    st.subheader("In the zoo")
    z = densenet_blocks("densenet121")
    first = z.iloc[0]
    st.markdown(
        f"DenseNet-121's `{first.block}` has {first.layers} layers with k = {first.growth_rate}: "
        f"{first.k0} → {first.out_channels} channels, a {first.bottleneck}-channel bottleneck (= 4k), and its "
        f"transition halves that to {int(first.transition_out)} (θ = {first.theta:g})."
    )
    st.dataframe(z, hide_index=True, width="stretch")


def lab_separable() -> None:
    st.markdown(
        "A standard k×k convolution filters and mixes channels in one step. MobileNet splits it: a **depthwise** "
        "k×k conv filters each input channel on its own (`groups = M`), then a **pointwise** 1×1 conv mixes them."
    )
    c = st.columns(4)
    with c[0]:
        M = slider("Input channels M", "lab_sep_m", 8, 1024, 32, step=8)
    with c[1]:
        N = slider("Output channels N", "lab_sep_n", 8, 1024, 64, step=8)
    with c[2]:
        k = slider("Kernel k", "lab_sep_k", 3, 7, 3, step=2)
    with c[3]:
        size = slider("Map side (px)", "lab_sep_size", 7, 112, 112)
    st.latex(r"\frac{D_F^2\,(k^2 M + M N)}{D_F^2\,k^2 M N} = \frac{1}{N} + \frac{1}{k^2}")
    df = separable_lab(M, N, k, size)
    measured_vs_formula(df)
    std, sep = df.iloc[0], df.iloc[1]
    st.markdown(f"Measured cost ratio **{sep.macs / std.macs:.4f}**, formula 1/{N} + 1/{k * k} = "
                f"**{labs.separable_ratio(N, k):.4f}**: {ratio(std.macs, sep.macs)} fewer MACs.")
    st.plotly_chart(params_macs_bars(df, [PLAIN, RESIDUAL]), width="stretch")
    measured_caption()

    st.subheader("Width multiplier α and resolution multiplier ρ (MobileNet V1)")
    c = st.columns(2)
    with c[0]:
        alpha = slider("Width multiplier α", "lab_sep_alpha", 0.25, 1.0, 1.0, step=0.05, cast=float)
    with c[1]:
        rho = choice("Resolution multiplier ρ (input 224ρ)", "lab_sep_rho", list(labs.MOBILENET_RHOS), 1.0,
                     fmt=lambda r: f"{r:.3f} ({round(224 * r)} px)")
    st.latex(r"\text{MACs} \approx \alpha^2 \rho^2 \cdot \text{MACs}_{1,1}, \qquad "
             r"\text{params of the conv layers} \approx \alpha^2 \cdot \text{params}_1")
    grid = mobilenet_v1_lab(tuple(sorted({0.25, 0.5, 0.75, 1.0, alpha})), (rho,))
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
    st.plotly_chart(fig, width="stretch")
    st.markdown(
        f"ρ changes no weight, only the map sizes. The parameters follow α² only in the convolutions: the final "
        f"classifier scales with α alone ({int(row.fc_params):,} of the {int(row.params):,} params here), which is "
        "why MobileNet-0.25 keeps about a ninth, not a sixteenth, of the parameters."
    )
    split = mobilenet_v1_cost_split()
    pw = split[split["kind"] == "pointwise 1×1"].iloc[0]
    st.markdown(f"**In the zoo:** in MobileNet V1 (α = 1, 224 px) the 1×1 pointwise convs do "
                f"**{pw.macs_pct:.1f}%** of the MACs and hold {pw.params_pct:.1f}% of the parameters; the depthwise "
                "3×3 convs are almost free.")
    st.dataframe(split, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.2f") for c in ("params_pct", "macs_pct")})
    zm = zoo_mobilenets()
    st.markdown("What they buy: the zoo's MobileNets (params and MACs measured; acc@1 on ImageNet-1K from "
                "torchvision's weights metadata — training recipes differ between them).")
    st.dataframe(zm, hide_index=True, width="stretch",
                 column_config={"params": st.column_config.NumberColumn(format="localized"),
                                "macs": st.column_config.NumberColumn("MACs", format="localized"),
                                "acc1": st.column_config.NumberColumn("acc@1 (%)", format="%.2f")})
    if zm["acc1"].isna().any():
        st.caption("MobileNet V1 is defined in this app from the paper; torchvision has no V1 weights, so it has "
                   "no accuracy here.")


def lab_scaling() -> None:
    st.markdown(
        "EfficientNet scales a small base network (B0) in depth, width and resolution *together*: "
        "d = α^φ, w = β^φ, r = γ^φ with α = 1.2, β = 1.1, γ = 1.15 found by a small grid search. "
        "A conv layer's FLOPs grow with d, w² and r², and α·β²·γ² ≈ 2, so each step of φ about doubles the cost."
    )
    phi = slider("Compound coefficient φ", "lab_scale_phi", 0.0, 7.0, 1.0, step=0.5, cast=float)
    mult = labs.compound_multipliers(phi)
    st.latex(rf"d = {labs.COMPOUND_ALPHA}^{{\phi}} = {mult['depth']:.3f},\quad "
             rf"w = {labs.COMPOUND_BETA}^{{\phi}} = {mult['width']:.3f},\quad "
             rf"r = {labs.COMPOUND_GAMMA}^{{\phi}} = {mult['resolution']:.3f},\qquad "
             rf"\text{{FLOPs}} \propto d\,w^2 r^2 = ({mult['flops_base']:.3f})^{{\phi}} = {mult['flops']:.2f}")
    df = single_dimension_scaling(mult["depth"], mult["width"], mult["resolution"])
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
    fam = efficientnet_family()
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
    st.plotly_chart(fig, width="stretch")
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
        f"settings, which torchvision copies) lie near the rule rather than exactly on it: B7 is {b7.depth_ratio:.2f}× deeper, {b7.width_ratio:.2f}× "
        f"wider and {b7.resolution_ratio:.2f}× the resolution of B0 — φ ≈ {b7.phi_depth:.1f}, {b7.phi_width:.1f} and "
        f"{b7.phi_resolution:.1f} — for {b7.macs_ratio:.0f}× the MACs."
    )


def lab_norm() -> None:
    st.markdown(
        "**Local Response Normalization** (AlexNet, 2012) divides each activation by a function of the squared "
        "activations of its *neighbouring channels at the same position*: a strong response damps its neighbours "
        "(\"lateral inhibition\"). **Batch Normalization** (2015) standardises each *channel* over the batch and "
        "all positions to mean 0 and variance 1, then applies a learned scale and shift. VGG found LRN did not help, "
        "and BN replaced it everywhere."
    )
    st.latex(rf"\text{{LRN: }} b^i_{{x,y}} = a^i_{{x,y}} \Big/ \Big(k + \alpha \!\!\sum_{{j=i-n/2}}^{{i+n/2}}\!\! "
             rf"(a^j_{{x,y}})^2\Big)^{{\beta}},\quad k={labs.LRN_K:g},\ n={labs.LRN_N},\ \alpha=10^{{-4}},\ "
             rf"\beta={labs.LRN_BETA}")
    st.latex(r"\text{BN: } \hat a^i = \frac{a^i - \mu_i}{\sqrt{\sigma_i^2 + \epsilon}},\quad "
             r"\mu_i, \sigma_i^2 \text{ over batch} \times H \times W \text{ of channel } i")
    c = st.columns(2)
    with c[0]:
        scale = choice("Multiply the activations by", "lab_norm_scale", list(labs.LRN_SCALES), 1,
                       fmt=lambda v: f"×{v}")
    with c[1]:
        ch = slider("Channel to show", "lab_norm_channel", 0, 31, 1)
    demo = lrn_vs_batchnorm(float(scale))
    st.caption("The tensor: EfficientNet-Lite0's trained first conv (32 filters, 3×3, stride 2; weights bundled with "
               "the app) on the sample photo of Chelsea the cat, before any normalisation — 32 × 112 × 112. "
               "PyTorch's `nn.LocalResponseNorm` divides its `alpha` by n, so AlexNet's α = 10⁻⁴ is "
               f"`LocalResponseNorm(size={labs.LRN_N}, alpha={labs.LRN_N * labs.LRN_ALPHA:g}, beta={labs.LRN_BETA}, "
               f"k={labs.LRN_K:g})` here.")
    panels = (demo.before[ch], demo.after_lrn[ch], demo.lrn_divisor[ch], demo.after_bn[ch])
    # Each panel has its own colour scale, so the titles give the range that the colours span.
    fig = make_subplots(rows=1, cols=4, subplot_titles=(
        f"channel {ch}, before: max |a| {abs(panels[0]).max():.3g}", f"after LRN: max |b| {abs(panels[1]).max():.3g}",
        f"LRN divisor: {panels[2].min():.3g} – {panels[2].max():.3g}", f"after BN: max |â| {abs(panels[3]).max():.3g}"))
    for i, img in enumerate(panels, 1):
        fig.add_heatmap(z=img[::-1], colorscale="RdBu_r" if i != 3 else "Viridis", showscale=False, row=1, col=i)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, scaleanchor="x")
    fig.update_layout(height=300, margin=dict(t=40, b=10))
    st.plotly_chart(fig, width="stretch")
    stats = demo.channels
    fig = go.Figure()
    for col, name in (("std_before", "before"), ("std_lrn", "after LRN"), ("std_bn", "after BN")):
        fig.add_scatter(x=stats["channel"], y=stats[col], mode="markers+lines", name=name)
    fig.update_layout(height=320, xaxis_title="channel", yaxis_title="std over positions (log)", yaxis_type="log",
                      margin=dict(t=20, b=10))
    st.plotly_chart(fig, width="stretch")
    lo, hi = float(demo.lrn_divisor.min()), float(demo.lrn_divisor.max())
    st.markdown(
        f"At ×{scale} the LRN divisor ranges from **{lo:.3g} to {hi:.3g}** over all channels and positions. "
        f"With k = 2 and activations of order 1 it is almost the constant 2^0.75 ≈ {2 ** 0.75:.3f}: LRN just "
        "rescales. Multiply the activations and it starts to bite where neighbouring channels respond strongly "
        "(edges), so its effect depends on the activations' scale (AlexNet fed 0–255 pixel values). BN does not: "
        "every live channel leaves with mean 0 and std 1 at any scale. The few channels near 0 are filters the "
        "trained network left unused; BN's ε keeps it from blowing them up."
    )


def lab_activations() -> None:
    st.markdown(
        "Backpropagation multiplies one activation derivative per layer. The sigmoid's derivative is at most "
        "0.25 (and near 0 once it saturates), tanh's at most 1, and ReLU's is exactly 1 wherever the unit is "
        "active. AlexNet's paper reports a 4-layer CNN with ReLUs reaching 25% training error on CIFAR-10 six "
        "times faster than with tanh."
    )
    curves = activation_curves()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("f(z)", "f′(z) (autograd)"))
    for name, d in curves.groupby("activation", sort=False):
        fig.add_scatter(x=d["z"], y=d["value"], name=name, legendgroup=name, row=1, col=1)
        fig.add_scatter(x=d["z"], y=d["derivative"], name=name, legendgroup=name, showlegend=False, row=1, col=2)
    fig.update_layout(height=320, margin=dict(t=40, b=10))
    st.plotly_chart(fig, width="stretch")
    st.latex(r"\sigma'(z) = \sigma(z)(1-\sigma(z)) \le \tfrac14,\qquad \tanh'(z) = 1 - \tanh^2 z \le 1,"
             r"\qquad \text{ReLU}'(z) = [z > 0]"
             r"\qquad\Rightarrow\qquad \prod_{i=1}^{n} \sigma'(z_i) \le 0.25^n")
    n = slider("Layers n", "lab_act_depth", 1, 50, 20)
    chain = derivative_chain(n)
    fig = go.Figure()
    for name, d in chain.groupby("activation", sort=False):
        fig.add_scatter(x=d["layers"], y=d["gradient"], mode="lines+markers", name=f"{name}, measured")
        fig.add_scatter(x=d["layers"], y=d["gradient_formula"], mode="lines", name=f"{name}: f′max^n",
                        line=dict(dash="dot"))
    fig.update_layout(height=340, xaxis_title="layers", yaxis_title="∂x_n/∂x_0 (log)", yaxis_type="log",
                      margin=dict(t=20, b=10))
    st.plotly_chart(fig, width="stretch")
    last = chain[chain["layers"] == n].set_index("activation")["gradient"]
    st.markdown(
        f"A chain of n = {n} layers, each held at the point where its derivative is largest, measured with "
        f"autograd: sigmoid passes back **{last['sigmoid']:.3g}** (= 0.25^{n}), tanh {last['tanh']:.3g}, "
        f"ReLU {last['relu']:.3g}. That is the best case: saturated sigmoids do far worse."
    )
    mlp = mlp_gradient_flow(n)
    fig = go.Figure()
    for name, d in mlp.groupby("activation", sort=False):
        pos = d[d["grad_norm"] > 0]
        fig.add_scatter(x=pos["layer"], y=pos["grad_norm"], mode="lines+markers", name=name)
    fig.update_layout(height=340, xaxis_title="layer (1 = nearest the input)", yaxis_title="‖∂L/∂W‖ (log)",
                      yaxis_type="log", margin=dict(t=20, b=10))
    st.plotly_chart(fig, width="stretch")
    st.caption(f"A real {n}-layer MLP (64 units wide) at initialisation: Xavier init for sigmoid and tanh, He init "
               "for ReLU; one batch of 64 random inputs. Layers missing from the plot got exactly 0 gradient.")


def lab_decay() -> None:
    st.markdown(
        "**Weight decay** adds the L2 penalty (λ/2)‖w‖² to the loss. Its gradient is λw, so every step also "
        "pulls each weight toward 0 by lr·λ·w: weights stay small unless the data keeps pushing them up. "
        "Smaller weights mean a smoother function and less overfitting. With plain SGD this is the same as "
        "adding the penalty; with adaptive optimisers it is not, which is why **AdamW** *decouples* the decay "
        "(w ← w − lr·λ·w, outside Adam's rescaling) instead of adding λw to the gradient."
    )
    st.latex(r"L'(w) = L(w) + \frac{\lambda}{2}\lVert w\rVert^2 \;\Rightarrow\; "
             r"w \leftarrow w - \eta\,(\nabla L + \lambda w) = (1 - \eta\lambda)\,w - \eta \nabla L")
    st.dataframe(labs.PAPER_OPTIMIZERS, hide_index=True, width="stretch",
                 column_config={"weight_decay": st.column_config.NumberColumn(format="%g")})
    c = st.columns(4)
    with c[0]:
        wd = choice("Weight decay λ", "lab_decay_wd", list(labs.DECAY_LAMBDAS), 1e-2,
                    fmt=lambda v: f"{v:g}")
    with c[1]:
        lr = choice("Learning rate η", "lab_decay_lr", list(labs.DECAY_LRS), 0.05,
                    fmt=lambda v: f"{v:g}")
    with c[2]:
        momentum = choice("Momentum", "lab_decay_mom", list(labs.DECAY_MOMENTA), 0.9, fmt=lambda v: f"{v:g}")
    with c[3]:
        steps = slider("Steps", "lab_decay_steps", 10, 1000, 300, step=10)
    demo = weight_decay_demo(steps, lr, wd, momentum)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("‖w‖", "training loss (log)"))
    for run, d in demo.groupby("run", sort=False):
        fig.add_scatter(x=d["step"], y=d["w_norm"], name=run, legendgroup=run, row=1, col=1)
        fig.add_scatter(x=d["step"], y=d["loss"], name=run, legendgroup=run, showlegend=False, row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(height=340, margin=dict(t=40, b=10))
    st.plotly_chart(fig, width="stretch")
    ends = demo.groupby("run", sort=False).tail(1)
    st.markdown(
        "A toy problem: linear regression with 50 weights and only 20 examples, so infinitely many weight vectors "
        "fit the data. SGD " + (f"with momentum {momentum:g} " if momentum else "") + "from the same start: "
        + "; ".join(f"{r.run}: ‖w‖ = {r.w_norm:.3g}, loss {r.loss:.3g}" for r in ends.itertuples())
        + ". Without decay, the part of the start that the data never touches stays; decay removes it and finds "
        "a smaller solution that fits almost as well."
    )
    only = sgd_decay_only(min(steps, 100), lr, wd if wd else 1e-2)
    st.markdown(f"Decay alone (zero data gradient, no momentum, λ = {wd if wd else 1e-2:g}): measured ‖w‖ vs "
                "(1 − ηλ)^t‖w₀‖ — they coincide.")
    fig = go.Figure()
    fig.add_scatter(x=only["step"], y=only["w_norm"], mode="markers", name="measured (torch.optim.SGD)")
    fig.add_scatter(x=only["step"], y=only["w_norm_formula"], mode="lines", name="(1 − ηλ)^t ‖w₀‖")
    fig.update_layout(height=300, xaxis_title="step", yaxis_title="‖w‖", margin=dict(t=20, b=10))
    st.plotly_chart(fig, width="stretch")
    st.markdown("One step of PyTorch's optimisers against what each kind of weight decay claims to be:")
    st.dataframe(decay_equivalences(), hide_index=True, width="stretch",
                 column_config={"max_abs_difference": st.column_config.NumberColumn(format="%.2e")})


RENDER = {"vgg": lab_vgg, "inception": lab_inception, "residual": lab_residual, "gradients": lab_gradients,
          "dense": lab_dense, "separable": lab_separable, "scaling": lab_scaling, "norm": lab_norm,
          "activations": lab_activations, "decay": lab_decay}

st.title("Building-block labs")
st.markdown("Each design choice of the landmark CNNs on its own: the formula, the numbers measured on the real "
            "modules, and where it appears in the zoo.")
lab = choice("Lab", "lab_id", list(LABS), "vgg", fmt=LABS.get, widget=st.selectbox)
# Keep only this lab's settings in the URL, so a shared link says exactly what is on screen.
for key in [k for k in st.query_params if k.startswith("lab_") and k != "lab_id"]:
    if not key.startswith(URL_PREFIXES[lab]):
        st.query_params.pop(key)
st.header(LABS[lab])
RENDER[lab]()
