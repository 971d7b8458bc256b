"""Lab page: ReLU vs sigmoid / tanh."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import charts, labkit
from zoo.i18n import N_, _, ngettext

TITLE = N_("ReLU vs sigmoid / tanh")
ORDER = 90
URL_PREFIXES = ("lab_act_",)
lab = labkit.zoo_lab(__name__)


def render() -> None:
    st.markdown(_(
        "Backpropagation multiplies one activation derivative per layer. The sigmoid's derivative is at most "
        "0.25 (and near 0 once it saturates), tanh's at most 1, and ReLU's is exactly 1 wherever the unit is "
        "active. AlexNet's paper reports a 4-layer CNN with ReLUs reaching 25% training error on CIFAR-10 six "
        "times faster than with tanh."
    ))
    curves = lab.activation_curves()
    fig = make_subplots(rows=1, cols=2, subplot_titles=("f(z)", "f′(z) (autograd)"))  # i18n: name
    for name, d in curves.groupby("activation", sort=False):
        c = charts.ACTIVATION.get(name)
        fig.add_scatter(x=d["z"], y=d["value"], name=name, legendgroup=name, line_color=c, row=1, col=1)
        fig.add_scatter(x=d["z"], y=d["derivative"], name=name, legendgroup=name, showlegend=False, line_color=c,
                        row=1, col=2)
    fig.update_layout(height=320, margin=dict(t=40, b=10))
    charts.show(fig, _("Each activation and its derivative"), key="chart_lab_act_curves")
    # One relation a line: on one line the formula ran past the column at 1400 px.
    st.latex(r"\begin{aligned} \sigma'(z) &= \sigma(z)(1-\sigma(z)) \le \tfrac14 \\ \tanh'(z) &= 1 - \tanh^2 z \le 1"
             r"\\ \text{ReLU}'(z) &= [z > 0] \\ \Rightarrow\quad \textstyle\prod_{i=1}^{n} \sigma'(z_i) &\le 0.25^n"
             r"\end{aligned}")
    n = labkit.slider(_("Layers n"), "lab_act_depth", 1, 50, 20)
    chain = lab.derivative_chain(n)
    fig = go.Figure()
    for name, d in chain.groupby("activation", sort=False):
        c = charts.ACTIVATION.get(name)
        fig.add_scatter(x=d["layers"], y=d["gradient"], mode="lines+markers", name=_("{name}, measured").format(name=name),
                        line_color=c)
        fig.add_scatter(x=d["layers"], y=d["gradient_formula"], mode="lines", name=f"{name}: f′max^n",
                        line=dict(dash="dot", color=c))
    fig.update_layout(height=340, xaxis_title=_("layers"), yaxis_title=_("∂x_n/∂x_0 (log)"), yaxis_type="log",
                      margin=dict(t=20, b=10))
    charts.show(fig, _("Gradient through a chain of n layers, best case"), key="chart_lab_act_chain")
    last = chain[chain["layers"] == n].set_index("activation")["gradient"]
    st.markdown(ngettext(
        "A chain of n = {n} layer, held at the point where its derivative is largest, measured with autograd: "
        "sigmoid passes back **{s:.3g}** (= 0.25^{n}), tanh {t:.3g}, ReLU {r:.3g}. That is the best case: saturated "
        "sigmoids do far worse.",
        "A chain of n = {n} layers, each held at the point where its derivative is largest, measured with autograd: "
        "sigmoid passes back **{s:.3g}** (= 0.25^{n}), tanh {t:.3g}, ReLU {r:.3g}. That is the best case: saturated "
        "sigmoids do far worse.", n).format(n=n, s=last["sigmoid"], t=last["tanh"], r=last["relu"]))
    mlp = lab.mlp_gradient_flow(n)
    fig = go.Figure()
    for name, d in mlp.groupby("activation", sort=False):
        pos = d[d["grad_norm"] > 0]
        fig.add_scatter(x=pos["layer"], y=pos["grad_norm"], mode="lines+markers", name=name,
                        line_color=charts.ACTIVATION.get(name))
    fig.update_layout(height=340, xaxis_title=_("layer (1 = nearest the input)"), yaxis_title=_("‖∂L/∂W‖ (log)"),
                      yaxis_type="log", margin=dict(t=20, b=10))
    charts.show(fig, _("Weight gradient per layer of a real MLP"), key="chart_lab_act_mlp")
    st.caption(_("A real {n}-layer MLP (64 units wide) at initialisation: Xavier init for sigmoid and tanh, He init "
                 "for ReLU; one batch of 64 random inputs. Layers missing from the plot got exactly 0 gradient.")
               .format(n=n))
