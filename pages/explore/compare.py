"""Compare models: the table, accuracy against cost with the Pareto front, and where the cost lives."""
from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from pages.ui.fmt import MACS_NOTE
from pages.ui.query import query_choice, query_list, set_query
from zoo import registry
from zoo.compare import cost_by_stage, model_table, pareto_front


@st.cache_data(show_spinner="Counting parameters and MACs…")
def table(names: tuple[str, ...]):
    return model_table(list(names))


@st.cache_data(show_spinner=False)
def stages(names: tuple[str, ...]):
    return cost_by_stage(list(names))


all_names = registry.names()
st.title("Compare models")
default = list(registry.FAMILY_DEFAULTS.values())
if "cmp_models" not in st.session_state:
    st.session_state["cmp_models"] = query_list("cmp", all_names, default)


def _choose(names: list[str]) -> None:
    st.session_state["cmp_models"] = list(names)


picked = st.multiselect("Models", all_names, format_func=lambda n: registry.get(n).display, key="cmp_models")
b1, b2, _ = st.columns([1, 1, 4])
b1.button("All models", key="cmp_all", on_click=_choose, args=(all_names,))
b2.button("One per family", key="cmp_default", on_click=_choose, args=(default,))
axis = st.radio("Cost axis", ["MACs", "Parameters"], horizontal=True,
                index=["MACs", "Parameters"].index(query_choice("cmp_axis", ["MACs", "Parameters"], "MACs")),
                key="cmp_axis_radio")
set_query(cmp=picked or None, cmp_axis=axis)
if not picked:
    st.info("Pick at least one model to compare.")
    st.stop()

df = table(tuple(picked))
st.dataframe(
    df.drop(columns=["name"]), hide_index=True,
    column_config={
        "display": "model", "input_size": st.column_config.NumberColumn("input (px)"),
        "params": st.column_config.NumberColumn("params", format="localized"),
        "macs": st.column_config.NumberColumn("MACs", format="localized"),
        "flops": st.column_config.NumberColumn("FLOPs", format="localized"),
        "acc1": st.column_config.NumberColumn("acc@1 %", help="torchvision weights metadata", format="%.2f"),
        "acc5": st.column_config.NumberColumn("acc@5 %", help="torchvision weights metadata", format="%.2f"),
        "weights_mb": st.column_config.NumberColumn("weights MB", format="%.1f"),
        "has_weights": st.column_config.CheckboxColumn("pretrained", help="ImageNet weights exist for it"),
    },
)
st.caption("params/MACs/FLOPs are counted from the modules at each model's own input size; accuracy and "
           "weights size come from torchvision's weights metadata (blank where it has none). " + MACS_NOTE)

cost = "macs" if axis == "MACs" else "params"
plot = df.dropna(subset=["acc1"]).assign(gmacs=lambda d: d["macs"] / 1e9, mparams=lambda d: d["params"] / 1e6)
xcol, xlabel = ("gmacs", "GMACs (log)") if cost == "macs" else ("mparams", "parameters, millions (log)")
if plot.empty:
    st.info("None of the chosen models has published ImageNet accuracy, so there is nothing to plot.")
else:
    fig = px.scatter(plot, x=xcol, y="acc1", size="mparams", color="family", log_x=True, hover_name="display",
                     hover_data={"gmacs": ":.3f", "mparams": ":.2f", "acc1": ":.2f", "year": True, "family": False},
                     labels={xcol: xlabel, "acc1": "ImageNet acc@1 (%)", "mparams": "params (M)", "gmacs": "GMACs"},
                     size_max=40)
    front = pareto_front(plot, cost=cost)
    fig.add_trace(go.Scatter(x=front[xcol], y=front["acc1"], mode="lines", name="Pareto front",
                             line=dict(dash="dash", color="gray"), hoverinfo="skip"))
    fig.update_layout(height=480, legend_title_text="")
    st.plotly_chart(fig, key="cmp_scatter")
    st.caption("Bubble size = parameters. On the dashed Pareto front, no cheaper model is more accurate. "
               + ", ".join(front["display"]) + ".")
missing = df[df["acc1"].isna()]["display"].tolist()
if missing:
    st.caption("Not plotted (no accuracy in torchvision's metadata): " + ", ".join(missing) + ".")

st.subheader("Where the cost lives")
long = stages(tuple(picked))
metric = st.radio("Show", ["params", "MACs"], horizontal=True, key="cmp_stage_metric")
col = "params_pct" if metric == "params" else "macs_pct"
fig2 = px.bar(long, x=col, y="model", color="stage", orientation="h", hover_data=["params", "macs"],
              labels={col: f"share of {metric} (%)", "model": ""})
fig2.update_layout(height=max(260, 60 * len(picked)), showlegend=False, barmode="stack")
st.plotly_chart(fig2, key="cmp_stage_chart")
# One sentence per model naming its heaviest stage, computed from the table above.
for n in picked:
    sub = long[long["name"] == n]
    top_p = sub.loc[sub["params_pct"].idxmax()]
    top_m = sub.loc[sub["macs_pct"].idxmax()]
    st.caption(f"{registry.get(n).display}: `{top_p['stage']}` holds {top_p['params_pct']:.0f}% of the parameters; "
               f"`{top_m['stage']}` does {top_m['macs_pct']:.0f}% of the MACs.")
