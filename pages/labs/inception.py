"""Lab page: 1×1 convolutions and the Inception module (GoogLeNet)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from pages.ui import charts, labkit
from pages.ui.fmt import fmt_count
from zoo.i18n import N_, _

TITLE = N_("1×1 convolutions and the Inception module (GoogLeNet)")
ORDER = 20
URL_PREFIXES = ("lab_inc_", "lab_red_")
lab = labkit.zoo_lab(__name__)


def _apply_inception_preset() -> None:
    cfg = lab.googlenet_inception_configs().set_index("module").loc[st.session_state["lab_inc_preset"]]
    for f in lab.INCEPTION_FIELDS:
        st.session_state[f"lab_inc_{f}"] = int(cfg[f])
    st.session_state["lab_inc_size"] = int(cfg["size_px"])


def render() -> None:
    st.markdown(_(
        "An Inception module runs 1×1, 3×3 and 5×5 convolutions and a 3×3 max-pool side by side and concatenates "
        "them, so the next layer sees features at several scales. Done naively this is expensive: the 3×3 and 5×5 "
        "see every input channel, and the pool passes all of them on, so the width grows module after module. "
        "GoogLeNet puts 1×1 convolutions in front of the 3×3 and 5×5 (and after the pool) to reduce the channels first."
    ))
    configs = lab.googlenet_inception_configs()
    modules = list(configs["module"])
    labkit.choice(_("Start from torchvision's GoogLeNet module"), "lab_inc_preset", modules, "inception3a",
                  on_change=_apply_inception_preset)
    preset = configs.set_index("module").loc[st.session_state["lab_inc_preset"]]
    c = st.columns(4)
    labels = {"in_channels": _("Input channels"), "c1": "#1×1", "r3": _("#3×3 reduce"), "c3": "#3×3",
              "r5": _("#5×5 reduce"), "c5": "#5×5", "pool_proj": _("pool proj")}
    v = {}
    for i, f in enumerate(lab.INCEPTION_FIELDS):
        with c[i % 4]:
            v[f] = labkit.slider(labels[f], f"lab_inc_{f}", 1, 1024 if f == "in_channels" else 512, int(preset[f]))
    with c[3]:
        size = labkit.slider(_("Feature map side (px)"), "lab_inc_size", 7, 56, int(preset["size_px"]))
    st.latex(r"\begin{gathered}\text{naive: } C_{in}\,(n_1 + 9\,n_3 + 25\,n_5)"
             r"\\ \text{reduced: } C_{in}\,(n_1 + r_3 + r_5 + p) + 9\,r_3 n_3 + 25\,r_5 n_5\end{gathered}")
    st.latex(r"\text{MACs} = H W \cdot \text{weights}")
    df = lab.inception_lab(*(v[f] for f in lab.INCEPTION_FIELDS), size)
    labkit.measured_vs_formula(df, ["out_channels", "out_channels_measured"])
    fig = go.Figure()
    for b, name in lab.INCEPTION_BRANCHES.items():
        fig.add_bar(x=df["variant"], y=df[f"macs_{b}"], name=_("{name} branch").format(name=_(name)))
    fig.update_layout(barmode="stack", height=340, yaxis_title=_("MACs"), margin=dict(t=20, b=10))
    charts.show(fig, _("MACs of each branch, naive against reduced"), key="chart_lab_inc_branches")
    naive, red = df.iloc[0], df.iloc[1]
    st.markdown(_(
        "With the reductions the module has **{cmp}** ({a:,} → {b:,}), and its output goes from {ca} to {cb} "
        "channels. Biases are left out, as in the paper's Table 1 (torchvision's convs have BatchNorm instead)."
    ).format(cmp=labkit.compare(red.params, naive.params, _("weights"), _("the naive module")), a=naive.params,
             b=red.params, ca=naive.out_channels, cb=red.out_channels))
    if (configs["branch3_kernel"] != 5).any():
        st.caption(_("torchvision's GoogLeNet uses a {k}×{k} conv in its \"5×5\" branch (read from "
                     "`inception3a.branch3[1]`, a known deviation kept for its published weights); "
                     "the modules here use the paper's 5×5.").format(k=int(configs["branch3_kernel"].iloc[0])))
    labkit.measured_caption()

    st.subheader(_("The 1×1 reduction on its own"))
    st.markdown(_("The notes' example: a layer that outputs 512 channels, reduced to 256 by 256 1×1 filters "
                  "before an expensive convolution."))
    c = st.columns(5)
    with c[0]:
        cin = labkit.slider(_("Input channels"), "lab_red_in", 16, 1024, 512, step=16)
    with c[1]:
        mid = labkit.slider(_("After 1×1"), "lab_red_mid", 8, 1024, 256, step=8)
    with c[2]:
        cout = labkit.slider(_("Output channels"), "lab_red_out", 8, 1024, 256, step=8)
    with c[3]:
        k = labkit.slider(_("Kernel"), "lab_red_k", 3, 7, 3, step=2)
    with c[4]:
        rsize = labkit.slider(_("Map side (px)"), "lab_red_size", 7, 56, 14)
    st.latex(r"k^2 C_{in} C_{out} \;\to\; C_{in} C_{mid} + k^2 C_{mid} C_{out}")
    red = lab.reduction_lab(cin, mid, cout, k, rsize)
    labkit.measured_vs_formula(red)
    d, r = red.iloc[0], red.iloc[1]
    saved = 1 - r.macs / d.macs
    if f"{abs(saved):.0%}" == "0%":
        text = _("The 1×1 reduction leaves the MACs about the same here ({a} → {b}).")
    elif saved > 0:
        text = _("The 1×1 reduction saves **{pct:.0%}** of the MACs here ({a} → {b}).")
    else:
        text = _("The 1×1 reduction costs **{pct:.0%}** more MACs here ({a} → {b}).")
    st.markdown(text.format(pct=abs(saved), a=fmt_count(d.macs), b=fmt_count(r.macs)) + " " + _(
        "It pays whenever C_mid is well below C_in, and adds a ReLU (one more non-linearity) for free."))

    st.subheader(_("Auxiliary classifiers"))
    aux = lab.googlenet_aux_heads()
    st.latex(rf"L = L_\text{{main}} + {lab.AUX_LOSS_WEIGHT}\,\big(L_\text{{aux1}} + L_\text{{aux2}}\big)")
    st.markdown(_(
        "During training GoogLeNet has two extra small classifiers on intermediate features; their losses, "
        "weighted by {w}, add gradient signal to the middle of the 22-layer network and act as "
        "a regulariser. At inference they are thrown away. Found by running torchvision's GoogLeNet in training mode:"
    ).format(w=lab.AUX_LOSS_WEIGHT))
    heads = aux.heads.assign(input_shape=aux.heads["input_shape"].map(lambda s: " × ".join(map(str, s[1:]))))
    st.dataframe(heads, hide_index=True, width="stretch",
                 column_config={"params": st.column_config.NumberColumn(format="localized"),
                                "params_pct": st.column_config.NumberColumn(_("% of trained model"), format="%.1f")})
    text = (_("As trained, GoogLeNet has {a:,} parameters; without the heads {b:,} — exactly the {p:,} in "
              "torchvision's weights metadata, which ships without them.") if aux.published_params == aux.params_inference
            else _("As trained, GoogLeNet has {a:,} parameters; without the heads {b:,}."))
    st.markdown(text.format(a=aux.params_with_aux, b=aux.params_inference, p=aux.published_params or 0) + " " + _(
        "Inception v3, counted the same way as on its model page: {a:,} parameters with its one auxiliary head "
        "(`AuxLogits`, which its published weights keep), {b:,} without.").format(a=aux.v3_with_aux, b=aux.v3_inference))
