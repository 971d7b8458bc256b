"""Compare models: the table, accuracy against cost with the Pareto front, and where the cost lives."""
from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from pages.ui import charts, present
from pages.ui.cells import as_text
from pages.ui.fmt import MACS_NOTE
from pages.ui.query import query_choice, query_list, set_query
from zoo import recipes, registry
from zoo.compare import cost_by_stage, model_table, pareto_front
from zoo.i18n import _

SOURCE_LABELS = {"torchvision": "measured by torchvision", "published": "published by the authors", "none": "none"}


@st.cache_data(show_spinner="Counting parameters and MACs…")
def table(names: tuple[str, ...], choice: str):
    return model_table(list(names), choice)


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


with present.controls():  # in presenter view the chart gets the screen; the choices fold away
    picked = st.multiselect("Models", all_names, format_func=lambda n: registry.get(n).display, key="cmp_models")
    b1, b2, _rest = st.columns([1, 1, 4])
    b1.button("All models", key="cmp_all", on_click=_choose, args=(all_names,))
    b2.button("One per family", key="cmp_default", on_click=_choose, args=(default,))
    r1, r2 = st.columns(2)
    axis = r1.radio("Cost axis", ["MACs", "Parameters"], horizontal=True,
                    index=["MACs", "Parameters"].index(query_choice("cmp_axis", ["MACs", "Parameters"], "MACs")),
                    key="cmp_axis_radio")
    choices = list(recipes.CHOICES)
    choice = r2.radio("Accuracy from", choices, format_func=recipes.CHOICES.get, horizontal=True,
                      index=choices.index(query_choice("cmp_acc", choices, recipes.DEFAULT_CHOICE)), key="cmp_acc_radio",
                      help="torchvision's DEFAULT weights mix paper-era training with its 2021 new recipe; the papers "
                           "compared models trained with their own recipes.")
set_query(cmp=picked or None, cmp_axis=axis, cmp_acc=None if choice == recipes.DEFAULT_CHOICE else choice)
if not picked:
    st.info("Pick at least one model to compare.")
    st.stop()

df = table(tuple(picked), choice)
shown = df.assign(acc_source=df["acc_source"].map(SOURCE_LABELS))
st.dataframe(
    as_text(shown.drop(columns=["name", "params", "flops"]),
            {"acc1": "{:.2f}", "acc5": "{:.2f}", "weights_mib": "{:.1f}", "weights": "{}", "recipe": "{}"}),
    hide_index=True,
    column_config={
        "display": "model", "input_size": st.column_config.NumberColumn("input (px)"),
        "params_no_aux": st.column_config.NumberColumn(
            "params without aux heads", format="localized",
            help="Parameters of the modules that run at inference; training-only auxiliary classifiers left out."),
        "params_with_aux": st.column_config.NumberColumn(
            "params with aux heads", format="localized",
            help="The model as trained; differs only for GoogLeNet and Inception v3."),
        "macs": st.column_config.NumberColumn("MACs", format="localized"),
        "acc1": st.column_config.TextColumn("acc@1 %"),
        "acc5": st.column_config.TextColumn("acc@5 %"),
        "acc_source": st.column_config.TextColumn("accuracy", help="Who measured it: torchvision, or the authors"),
        "weights": st.column_config.TextColumn("weights / source"),
        "recipe": st.column_config.TextColumn("training recipe"),
        "weights_mib": st.column_config.TextColumn("weights MiB"),
        "has_weights": st.column_config.CheckboxColumn("pretrained", help="ImageNet weights exist for it"),
    },
)
st.caption(f"Accuracy shown: {recipes.CHOICES[choice]}. params/MACs are counted from the modules at each model's own "
           "input size; accuracy, recipe and weights size (MiB) come from torchvision's weights metadata, except "
           "where it has none and the authors published a top-1 ('published by the authors'). " + MACS_NOTE)

cost = "macs" if axis == "MACs" else "params_no_aux"
plot = df.dropna(subset=["acc1"]).assign(gmacs=lambda d: d["macs"] / 1e9, mparams=lambda d: d["params_no_aux"] / 1e6,
                                         accuracy=lambda d: d["acc_source"].map(SOURCE_LABELS))
xcol, xlabel = (("gmacs", "GMACs (log)") if cost == "macs"
                else ("mparams", "parameters without aux heads, millions (log)"))
if plot.empty:
    st.info("None of the chosen models has an ImageNet accuracy to plot for this choice, so there is nothing to plot.")
else:
    fig = px.scatter(plot, x=xcol, y="acc1", size="mparams", color="family", symbol="accuracy", log_x=True,
                     hover_name="display", text="display", color_discrete_map=charts.FAMILY_COLOURS,
                     hover_data={"gmacs": ":.3f", "mparams": ":.2f", "acc1": ":.2f", "year": True, "weights": True,
                                 "family": False, "accuracy": True},
                     symbol_map={SOURCE_LABELS["torchvision"]: "circle", SOURCE_LABELS["published"]: "diamond-open"},
                     labels={xcol: xlabel, "acc1": "ImageNet acc@1 (%)", "mparams": "params (M)", "gmacs": "GMACs"},
                     size_max=40)
    front = pareto_front(plot, cost=cost)
    fig.add_trace(go.Scatter(x=front[xcol], y=front["acc1"], mode="lines", name="Pareto front",
                             line=dict(dash="dash", color="gray"), hoverinfo="skip"))
    # Every point named, each label on the side where it collides least; ticks 0.3, 1, 3, 10 on the log axis.
    where = dict(zip(plot["display"], charts.label_positions(list(plot[xcol]), list(plot["acc1"]),
                                                             list(plot["display"]), log_x=True)))
    for trace in fig.data:
        if trace.text is not None:
            trace.textposition = [where[t] for t in trace.text]
            trace.textfont = dict(size=12)
    fig.update_layout(height=520, legend_title_text="",
                      xaxis=charts.log_axis(plot[xcol].min(), plot[xcol].max(), xlabel))
    charts.show(fig, _("ImageNet accuracy against cost"), key="cmp_scatter")
    published = plot[plot["acc_source"] == "published"]["display"].tolist()
    st.caption("Bubble size = parameters. On the dashed Pareto front, no cheaper model is more accurate: "
               + ", ".join(front["display"]) + "."
               + (" Open diamonds: accuracy published by the authors, not measured by torchvision ("
                  + ", ".join(published) + ")." if published else ""))
missing = df[df["acc1"].isna()]
if not missing.empty:
    no_original = [r.display for r in missing.itertuples() if recipes.weights_list(registry.get(r.name))]
    none_at_all = [r.display for r in missing.itertuples() if r.display not in no_original]
    if no_original:
        st.caption("Not plotted, no weights trained with the original paper's recipe (only torchvision's new "
                   "recipe; choose \"best available\"): " + ", ".join(no_original) + ".")
    if none_at_all:
        st.caption("Not plotted, no ImageNet accuracy at all: " + ", ".join(none_at_all) + ".")

st.subheader("Where the cost lives")
long = stages(tuple(picked))
metric = st.radio("Show", ["params", "MACs"], horizontal=True, key="cmp_stage_metric")
col, start = ("params_pct", "params_start") if metric == "params" else ("macs_pct", "macs_start")
amount, unit = ("params", _("params")) if metric == "params" else ("macs", "MACs")
fig2 = charts.stage_stack(long, col, start, amount, unit, f"share of {metric} (%)")
charts.show(fig2, _("Where the cost lives: each model's stages, stem to head"), key="cmp_stage_chart")
st.caption("Each bar runs through the model's stages in network order, from the stem on the left to the classifier "
           "on the right; hover a segment for its stage.")
# One sentence per model naming its heaviest stage, computed from the table above.
for n in picked:
    sub = long[long["name"] == n]
    top_p = sub.loc[sub["params_pct"].idxmax()]
    top_m = sub.loc[sub["macs_pct"].idxmax()]
    st.caption(f"{registry.get(n).display}: `{top_p['stage']}` holds {top_p['params_pct']:.0f}% of the parameters; "
               f"`{top_m['stage']}` does {top_m['macs_pct']:.0f}% of the MACs.")
