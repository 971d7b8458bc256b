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
from zoo.i18n import N_, _

SOURCE_LABELS = {"torchvision": N_("measured by torchvision"), "published": N_("published by the authors"),
                 "none": N_("none")}
AXES = {"MACs": N_("MACs"), "Parameters": N_("Parameters")}  # URL value -> label
STAGE_METRICS = {"params": N_("params"), "MACs": N_("MACs")}


def source_label(source: str) -> str:
    return _(SOURCE_LABELS[source])


@st.cache_data(show_spinner=_("Counting parameters and MACs…"))
def table(names: tuple[str, ...], choice: str):
    return model_table(list(names), choice)


@st.cache_data(show_spinner=False)
def stages(names: tuple[str, ...]):
    return cost_by_stage(list(names))


all_names = registry.names()
st.title(_("Compare models"))
default = list(registry.FAMILY_DEFAULTS.values())
if "cmp_models" not in st.session_state:
    st.session_state["cmp_models"] = query_list("cmp", all_names, default)


def _choose(names: list[str]) -> None:
    st.session_state["cmp_models"] = list(names)


with present.controls():  # in presenter view the chart gets the screen; the choices fold away
    picked = st.multiselect(_("Models"), all_names, format_func=lambda n: registry.get(n).display,
                            key="cmp_models")
    b1, b2, _rest = st.columns([1, 1, 4])
    b1.button(_("All models"), key="cmp_all", on_click=_choose, args=(all_names,))
    b2.button(_("One per family"), key="cmp_default", on_click=_choose, args=(default,))
    r1, r2 = st.columns(2)
    axis = r1.radio(_("Cost axis"), list(AXES), format_func=lambda a: _(AXES[a]), horizontal=True,
                    index=["MACs", "Parameters"].index(query_choice("cmp_axis", ["MACs", "Parameters"], "MACs")),
                    key="cmp_axis_radio")
    choices = list(recipes.CHOICES)
    choice = r2.radio(_("Accuracy from"), choices, format_func=lambda c: _(recipes.CHOICES[c]), horizontal=True,
                      index=choices.index(query_choice("cmp_acc", choices, recipes.DEFAULT_CHOICE)),
                      key="cmp_acc_radio",
                      help=_("torchvision's DEFAULT weights mix paper-era training with its 2021 new recipe; the "
                             "papers compared models trained with their own recipes."))
set_query(cmp=picked or None, cmp_axis=axis, cmp_acc=None if choice == recipes.DEFAULT_CHOICE else choice)
if not picked:
    st.info(_("Pick at least one model to compare."))
    st.stop()

df = table(tuple(picked), choice)
shown = df.assign(acc_source=df["acc_source"].map(source_label), recipe=df["recipe"].map(lambda r: _(r) if r else r))
st.dataframe(
    as_text(shown.drop(columns=["name", "params", "flops"]),
            {"acc1": "{:.2f}", "acc5": "{:.2f}", "weights_mib": "{:.1f}", "weights": "{}", "recipe": "{}"}),
    hide_index=True,
    column_config={
        "display": _("model"), "family": _("family"), "year": _("year"),
        "input_size": st.column_config.NumberColumn(_("input (px)")),
        "params_no_aux": st.column_config.NumberColumn(
            _("params without aux heads"), format="localized",
            help=_("Parameters of the modules that run at inference; training-only auxiliary classifiers left out.")),
        "params_with_aux": st.column_config.NumberColumn(
            _("params with aux heads"), format="localized",
            help=_("The model as trained; differs only for GoogLeNet and Inception v3.")),
        "macs": st.column_config.NumberColumn("MACs", format="localized"),  # i18n: name
        "acc1": st.column_config.TextColumn("acc@1 %"),  # i18n: name
        "acc5": st.column_config.TextColumn("acc@5 %"),  # i18n: name
        "acc_source": st.column_config.TextColumn(_("accuracy"), help=_("Who measured it: torchvision, or the authors")),
        "weights": st.column_config.TextColumn(_("weights / source")),
        "recipe": st.column_config.TextColumn(_("training recipe")),
        "weights_mib": st.column_config.TextColumn(_("weights MiB")),
        "has_weights": st.column_config.CheckboxColumn(_("pretrained"), help=_("ImageNet weights exist for it")),
    },
)
st.caption(_("Accuracy shown: {choice}. params/MACs are counted from the modules at each model's own "
             "input size; accuracy, recipe and weights size (MiB) come from torchvision's weights metadata, except "
             "where it has none and the authors published a top-1 ('published by the authors').").format(
    choice=_(recipes.CHOICES[choice])) + " " + _(MACS_NOTE))

cost = "macs" if axis == "MACs" else "params_no_aux"
plot = df.dropna(subset=["acc1"]).assign(gmacs=lambda d: d["macs"] / 1e9, mparams=lambda d: d["params_no_aux"] / 1e6,
                                         accuracy=lambda d: d["acc_source"].map(source_label))
xcol, xlabel = (("gmacs", _("GMACs (log)")) if cost == "macs"
                else ("mparams", _("parameters without aux heads, millions (log)")))
if plot.empty:
    st.info(_("None of the chosen models has an ImageNet accuracy to plot for this choice, so there is nothing to plot."))
else:
    fig = px.scatter(plot, x=xcol, y="acc1", size="mparams", color="family", symbol="accuracy", log_x=True,
                     hover_name="display", color_discrete_map=charts.FAMILY_COLOURS,
                     text="display",  # i18n: name (the column of model names each point is labelled with)
                     hover_data={"gmacs": ":.3f", "mparams": ":.2f", "acc1": ":.2f", "year": True, "weights": True,
                                 "family": False, "accuracy": True},
                     symbol_map={source_label("torchvision"): "circle", source_label("published"): "diamond-open"},
                     labels={xcol: xlabel, "acc1": _("ImageNet acc@1 (%)"), "mparams": _("params (M)"), "gmacs": _("GMACs"),
                             "family": _("family"), "year": _("year"), "weights": _("weights"),
                             "accuracy": _("accuracy")},
                     size_max=40)
    front = pareto_front(plot, cost=cost)
    fig.add_trace(go.Scatter(x=front[xcol], y=front["acc1"], mode="lines", name=_("Pareto front"),
                             line=dict(dash="dash", color="gray"), hoverinfo="skip"))
    # Every point named, each label on the side where it collides least; ticks 0.3, 1, 3, 10 on the log axis.
    where = dict(zip(plot["display"], charts.label_positions(list(plot[xcol]), list(plot["acc1"]),
                                                             list(plot["display"]), log_x=True)))
    for trace in fig.data:
        if trace.text is not None:
            trace.textposition = [where[t] for t in trace.text]
            trace.textfont = dict(size=12)
    fig.update_layout(height=520, legend_title_text="",
                      # the title as translated: log_axis would append an English "(log)" to "GMACs (로그)"
                      xaxis={**charts.log_axis(plot[xcol].min(), plot[xcol].max(), xlabel), "title": xlabel})
    charts.show(fig, _("ImageNet accuracy against cost"), key="cmp_scatter")
    published = plot[plot["acc_source"] == "published"]["display"].tolist()
    st.caption(_("Bubble size = parameters. On the dashed Pareto front, no cheaper model is more accurate: "
                 "{models}.").format(models=", ".join(front["display"]))
               + (" " + _("Open diamonds: accuracy published by the authors, not measured by torchvision ({models}).")
                  .format(models=", ".join(published)) if published else ""))
missing = df[df["acc1"].isna()]
if not missing.empty:
    no_original = [r.display for r in missing.itertuples() if recipes.weights_list(registry.get(r.name))]
    none_at_all = [r.display for r in missing.itertuples() if r.display not in no_original]
    if no_original:
        st.caption(_("Not plotted, no weights trained with the original paper's recipe (only torchvision's new "
                     "recipe; choose \"best available\"): {models}.").format(models=", ".join(no_original)))
    if none_at_all:
        st.caption(_("Not plotted, no ImageNet accuracy at all: {models}.").format(models=", ".join(none_at_all)))

st.subheader(_("Where the cost lives"))
long = stages(tuple(picked))
metric = st.radio(_("Show"), list(STAGE_METRICS), format_func=lambda m: _(STAGE_METRICS[m]), horizontal=True,
                  key="cmp_stage_metric")
col, start = ("params_pct", "params_start") if metric == "params" else ("macs_pct", "macs_start")
amount, unit = ("params", _("params")) if metric == "params" else ("macs", "MACs")  # i18n: name
fig2 = charts.stage_stack(long, col, start, amount, unit,
                          _("share of {metric} (%)").format(metric=_(STAGE_METRICS[metric])))
charts.show(fig2, _("Where the cost lives: each model's stages, stem to head"), key="cmp_stage_chart")
st.caption(_("Each bar runs through the model's stages in network order, from the stem on the left to the "
             "classifier on the right; hover a segment for its stage."))
# One sentence per model naming its heaviest stage, computed from the table above.
for n in picked:
    sub = long[long["name"] == n]
    top_p = sub.loc[sub["params_pct"].idxmax()]
    top_m = sub.loc[sub["macs_pct"].idxmax()]
    st.caption(_("{model}: `{params_stage}` holds {params_pct:.0f}% of the parameters; `{macs_stage}` does "
                 "{macs_pct:.0f}% of the MACs.").format(model=registry.get(n).display, params_stage=top_p["stage"],
                                                       params_pct=top_p["params_pct"], macs_stage=top_m["stage"],
                                                       macs_pct=top_m["macs_pct"]))
