"""Lab page: Weight decay."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import charts, labkit
from zoo.i18n import N_, _

TITLE = N_("Weight decay")
ORDER = 100
URL_PREFIXES = ("lab_decay_",)
lab = labkit.zoo_lab(__name__)


def render() -> None:
    st.markdown(_(
        "**Weight decay** adds the L2 penalty (λ/2)‖w‖² to the loss. Its gradient is λw, so every step also "
        "pulls each weight toward 0 by lr·λ·w: weights stay small unless the data keeps pushing them up. "
        "Smaller weights mean a smoother function and less overfitting. With plain SGD this is the same as "
        "adding the penalty; with adaptive optimisers it is not, which is why **AdamW** *decouples* the decay "
        "(w ← w − lr·λ·w, outside Adam's rescaling) instead of adding λw to the gradient."
    ))
    st.latex(r"\begin{gathered}L'(w) = L(w) + \frac{\lambda}{2}\lVert w\rVert^2 \;\Rightarrow\; \\ "
             r"w \leftarrow w - \eta\,(\nabla L + \lambda w) = (1 - \eta\lambda)\,w - \eta \nabla L\end{gathered}")
    st.dataframe(lab.PAPER_OPTIMIZERS, hide_index=True, width="stretch",
                 column_config={"weight_decay": st.column_config.NumberColumn(format="%g")})
    c = st.columns(4)
    with c[0]:
        wd = labkit.steps(_("Weight decay λ"), "lab_decay_wd", list(lab.DECAY_LAMBDAS), 1e-2,
                          fmt=lambda v: f"{v:g}")
    with c[1]:
        lr = labkit.steps(_("Learning rate η"), "lab_decay_lr", list(lab.DECAY_LRS), 0.05,
                          fmt=lambda v: f"{v:g}")
    with c[2]:
        momentum = labkit.steps(_("Momentum"), "lab_decay_mom", list(lab.DECAY_MOMENTA), 0.9, fmt=lambda v: f"{v:g}")
    with c[3]:
        steps = labkit.slider(_("Steps"), "lab_decay_steps", 10, 1000, 300, step=10)
    demo = lab.weight_decay_demo(steps, lr, wd, momentum)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("‖w‖", _("training loss (log)")))  # i18n: name
    for run, d in demo.groupby("run", sort=False):
        fig.add_scatter(x=d["step"], y=d["w_norm"], name=run, legendgroup=run, row=1, col=1)
        fig.add_scatter(x=d["step"], y=d["loss"], name=run, legendgroup=run, showlegend=False, row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(height=340, margin=dict(t=40, b=10))
    charts.show(fig, _("Weight norm and training loss, with and without decay"), key="chart_lab_decay_runs")
    ends = demo.groupby("run", sort=False).tail(1)
    runs = "; ".join(_("{run}: ‖w‖ = {w:.3g}, loss {loss:.3g}").format(run=r.run, w=r.w_norm, loss=r.loss)
                     for r in ends.itertuples())
    text = (_("A toy problem: linear regression with 50 weights and only 20 examples, so infinitely many weight "
              "vectors fit the data. SGD with momentum {m:g} from the same start: {runs}.") if momentum else
            _("A toy problem: linear regression with 50 weights and only 20 examples, so infinitely many weight "
              "vectors fit the data. SGD without momentum from the same start: {runs}."))
    plain, decayed = ends.iloc[0], ends.iloc[-1]
    if not wd:
        tail = _("With λ = 0 there is no decay to compare: move λ up.")
    elif decayed.w_norm < plain.w_norm:
        tail = _("Without decay, the part of the start that the data never touches stays; decay shrinks it "
                 "(‖w‖ {a:.3g} instead of {b:.3g}), at a training loss of {c:.3g} instead of {d:.3g}.")
    else:
        tail = _("Here decay did not make ‖w‖ smaller ({a:.3g} against {b:.3g}).")
    st.markdown(text.format(m=momentum, runs=runs) + " " + tail.format(a=decayed.w_norm, b=plain.w_norm,
                                                                      c=decayed.loss, d=plain.loss))
    only = lab.sgd_decay_only(min(steps, 100), lr, wd if wd else 1e-2)
    st.markdown((_("Decay alone (zero data gradient, no momentum, λ = {lam:g}): measured ‖w‖ vs (1 − ηλ)^t‖w₀‖ — "
                   "they coincide.") if wd else
                 _("Decay alone (zero data gradient, no momentum; λ = 0 would leave w as it is, so λ = {lam:g} here): "
                   "measured ‖w‖ vs (1 − ηλ)^t‖w₀‖ — they coincide.")).format(lam=wd if wd else 1e-2))
    fig = go.Figure()
    fig.add_scatter(x=only["step"], y=only["w_norm"], mode="markers", name=_("measured (torch.optim.SGD)"))
    fig.add_scatter(x=only["step"], y=only["w_norm_formula"], mode="lines", name="(1 − ηλ)^t ‖w₀‖")
    fig.update_layout(height=300, xaxis_title=_("step"), yaxis_title="‖w‖", margin=dict(t=20, b=10))  # i18n: name
    charts.show(fig, _("Decay alone: measured against the formula"), key="chart_lab_decay_formula")
    st.markdown(_("One step of PyTorch's optimisers against what each kind of weight decay claims to be:"))
    st.dataframe(lab.decay_equivalences(), hide_index=True, width="stretch",
                 column_config={"max_abs_difference": st.column_config.NumberColumn(format="%.2e")})
