"""Model page: this model's card and its family's, its weights, stage table and full layer table (shareable by URL)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages.ui import charts, present
from pages.ui.cells import as_text, integer_columns
from pages.ui.fmt import MACS_NOTE, fmt_axes, fmt_calls_shape, fmt_count, fmt_shape
from pages.ui.query import query_choice, query_int, set_query
from zoo import recipes, registry
from zoo.analysis import MAX_INPUT_SIZE, InputSizeError, summarize
from zoo.analysis.receptive_field import rf_table
from zoo.cards import counted_checks
from zoo.compare import aux_params
from zoo.i18n import N_, _, language

# Column headers of the stage and layer tables (the data keeps its English column names).
COLUMN_LABELS = {
    "name": N_("layer"), "type": N_("type"), "stage": N_("stage"), "depth": N_("depth"), "kernel": N_("kernel"),
    "stride": N_("stride"), "padding": N_("padding"), "dilation": N_("dilation"), "groups": N_("groups"),
    "in_channels": N_("in channels"), "out_channels": N_("out channels"), "output_shape": N_("output shape"),
    "params": N_("params"), "calls": N_("calls"), "layers": N_("layers"), "rf_stride": N_("RF stride (px)"),
    "sees_whole_image": N_("sees whole image"),
}


def column_labels() -> dict[str, str]:
    return {k: _(v) for k, v in COLUMN_LABELS.items()}


@st.cache_data(show_spinner=_("Analysing the layers (meta device, no weights)…"), max_entries=64)
def layer_data(name: str, size: int):
    s = summarize(name, size)
    layers = s.layers.copy()
    rf = rf_table(name, size)[["name", "rf", "stride", "global_dependence"]].rename(
        columns={"rf": "rf_px", "stride": "rf_stride", "global_dependence": "sees_whole_image"})
    layers = layers.merge(rf, on="name", how="left")
    return s.params, s.macs, layers, s.stages


@st.cache_data(show_spinner=False)
def family_checks(family: str, lang: str) -> list[tuple[str, str]]:
    """The family's checked claims in ``lang`` (part of the key: the sentences are translated)."""
    return counted_checks(family)


families = list(registry.FAMILIES)
default_model = query_choice("model", registry.names(), "resnet50")
fam_default = registry.get(default_model).family

st.title(_("Model explorer"))
with present.controls():  # in presenter view the model's numbers get the screen; the choices fold away
    c1, c2, c3 = st.columns([2, 2, 1])
    family = c1.selectbox(_("Family"), families, index=families.index(fam_default),
                          format_func=lambda k: registry.FAMILIES[k].display, key="model_family")
    variants = [e.name for e in registry.by_family(family)]
    variant = c2.selectbox(_("Variant"), variants,
                           index=variants.index(default_model) if default_model in variants else 0,
                           format_func=lambda n: registry.get(n).display, key="model_variant")
    entry = registry.get(variant)
    size = c3.number_input(_("Input size (px)"), min_value=1, max_value=MAX_INPUT_SIZE,
                           value=query_int("size", entry.input_size, 1, MAX_INPUT_SIZE)
                           if variant == default_model else entry.input_size,
                           step=1, key=f"model_size_{variant}",
                           help=_("Default {size}: the crop size of the weights' evaluation transform.").format(
                               size=entry.input_size))
    choice = st.radio(_("Accuracy shown"), list(recipes.CHOICES), format_func=lambda c: _(recipes.CHOICES[c]), horizontal=True,
                      index=list(recipes.CHOICES).index(query_choice("acc", list(recipes.CHOICES), recipes.DEFAULT_CHOICE)),
                      key="model_acc", help=_("torchvision retrained some models in 2021 with a new recipe; the papers "
                                              "compared models trained with their own recipes."))
set_query(model=variant, size=None if size == entry.input_size else size,
          acc=None if choice == recipes.DEFAULT_CHOICE else choice)

fam, card = entry.fam, entry.card
st.header(entry.display)
left, right = st.columns([3, 2])
with left:
    st.subheader(_("This model"))
    st.markdown(f"**{entry.display}**, {card.year}" + (f" — {card.ilsvrc}" if card.ilsvrc else ""))
    if card.paper is not None:
        st.markdown(_("Paper: [{title}]({url}), {authors}, {venue}").format(
            title=card.paper.title, url=card.paper.url, authors=card.paper.authors, venue=card.paper.venue))
    else:
        st.markdown(_("No paper of its own. What exists: {sources}.").format(
            sources="; ".join(f"[{s.title}]({s.url})" for s in card.sources)))
    st.markdown(card.added)
    if card.built_here:
        st.caption(_("In this catalogue: {text}").format(text=card.built_here))
    if card.paper is not None and card.sources:
        st.caption(_("See also: {sources}").format(sources="; ".join(f"[{s.title}]({s.url})" for s in card.sources)))
    if entry.note:
        st.info(entry.note_text)

    st.subheader(_("Its family: {family}").format(family=fam.display))
    founded = dict(year=fam.year, title=fam.paper.title, url=fam.paper.url, venue=fam.paper.venue)
    st.markdown(_("Founded {year} by [{title}]({url}) ({venue}) — the family's founding entry: {ilsvrc}.").format(
        ilsvrc=_(fam.ilsvrc), **founded) if fam.ilsvrc else
        _("Founded {year} by [{title}]({url}) ({venue}).").format(**founded))
    st.markdown("\n".join(f"- {_(idea)}" for idea in fam.key_ideas))
    for claim, counted in family_checks(fam.key, language()):
        st.caption(f"{claim} {counted}")

with right:
    acc = recipes.accuracy(entry, choice)
    st.caption(_("ImageNet accuracy: {choice}").format(choice=_(recipes.CHOICES[choice])))
    m1, m2 = st.columns(2)
    if acc.source == "torchvision":
        m1.metric(_("ImageNet acc@1"), f"{acc.acc1:.2f}%")
        m2.metric("acc@5", f"{acc.acc5:.2f}%")  # i18n: name
        st.caption(_("Shown: `{weights}` — {recipe}, measured by torchvision ([recipe]({url})).").format(
            weights=acc.weights, recipe=_(acc.recipe), url=acc.url))
    elif acc.source == "published":
        m1.metric(_("ImageNet acc@1 (published by the authors)"), f"{acc.acc1:.1f}%")
        st.caption(_("Published by the authors, not measured by torchvision: [{source}]({url}).").format(
            source=acc.weights, url=acc.url))
    elif recipes.weights_list(entry):
        st.write(_("torchvision has no weights for this model trained with the original paper's recipe; "
                   "choose \"best available\" to see its new-recipe weights."))
    else:
        st.write(_("No published ImageNet accuracy."))

    wl = recipes.weights_list(entry)
    if wl:
        st.caption(_("Every torchvision weights of this model (from its weights metadata)"))
        st.dataframe(as_text(
            pd.DataFrame([{
                "weights": w.version + (" (DEFAULT)" if w.is_default else ""), "acc@1 %": w.acc1, "acc@5 %": w.acc5,
                "size (MiB)": w.size_mib, "recipe": _(w.recipe_label)} for w in wl]),
            {"acc@1 %": "{:.2f}", "acc@5 %": "{:.2f}", "size (MiB)": "{:.1f}"}), hide_index=True,
            column_config={"weights": _("weights"), "size (MiB)": _("size (MiB)"), "recipe": _("recipe")})
        m1, m2 = st.columns(2)
        m1.metric(_("Published params"), f"{entry.published_params:,}")
        m2.metric(_("Published GMACs"), f"{entry.published_gmacs:.3f}")
    elif entry.has_weights:
        st.metric(_("Checkpoint size"), f"{entry.file_size_mib:.1f} MiB")
    else:
        st.write(_("No pretrained weights: architecture only."))
    st.caption(_("Predict and Inside load: {weights}.").format(weights=recipes.loaded_weights_label(entry)))
    pre = entry.preprocess
    if pre:
        st.caption(_("Preprocessing: resize {resize} ({interpolation}) → centre crop {crop} → normalise mean {mean}, "
                     "std {std}").format(resize=pre["resize"], interpolation=pre["interpolation"], crop=pre["crop"],
                                         mean=tuple(round(v, 3) for v in pre["mean"]),
                                         std=tuple(round(v, 3) for v in pre["std"])))

try:
    params, macs, layers, stages = layer_data(variant, int(size))
except InputSizeError as e:
    st.error(str(e))
    st.stop()

st.subheader(_("Computed at {size}x{size}").format(size=int(size)))
k1, k2, k3, k4 = st.columns(4)
k1.metric(_("Parameters"), f"{params:,}")
k2.metric("MACs", fmt_count(macs))  # i18n: name
k3.metric("FLOPs (2 x MACs)",  # i18n: name
           fmt_count(2 * macs))
k4.metric(_("Layers (leaf modules)"), f"{len(layers):,}")
with_aux, no_aux = aux_params(variant)
if with_aux != no_aux:
    a1, a2, _rest = st.columns([1, 1, 2])
    a1.metric(_("Params with aux heads"), f"{with_aux:,}")
    a2.metric(_("Params without aux heads"), f"{no_aux:,}")
    st.caption(_("Auxiliary classifiers help only in training: {n:,} parameters.").format(n=with_aux - no_aux) + " "
               + (_("This module keeps them (as torchvision's published weights do), so 'Parameters' counts them; "
                    "they do not run in eval mode.") if params == with_aux else
                  _("torchvision's published weights drop them, so this module and 'Parameters' leave them out; "
                    "'with' counts the model as trained.")))
st.caption(_(MACS_NOTE) + " " + _("Counted with torch's FlopCounterMode on the meta device: no weights are created."))
if entry.published_params is not None and size == entry.input_size:
    same = params == entry.published_params
    st.caption((":green[:material/check_circle:] " if same else ":orange[:material/warning:] ") + (
        _("Counted parameters equal torchvision's published {published:,}; counted {gmacs:.3f} GMACs vs published "
          "{published_gmacs:.3f}.") if same else
        _("Counted parameters differ from torchvision's published {published:,}; counted {gmacs:.3f} GMACs vs "
          "published {published_gmacs:.3f}.")).format(
        published=entry.published_params, gmacs=macs / 1e9, published_gmacs=entry.published_gmacs))

st.subheader(_("Stages"))
st.caption(_("One row per stage in network order; 'output shape' is the tensor the stage's module returns."))
ran = stages[stages["runs"]]
fig = make_subplots(rows=1, cols=2, subplot_titles=(_("Parameters per stage"), _("MACs per stage")))
fig.add_trace(go.Bar(x=stages["stage"], y=stages["params"], name=_("params"),
                     customdata=stages["params_pct"],
                     hovertemplate=_("%{x}<br>%{y:,} params (%{customdata:.1f}%)<extra></extra>")), 1, 1)
fig.add_trace(go.Bar(x=ran["stage"], y=ran["macs"], name=_("MACs"),
                     customdata=ran["macs_pct"], hovertemplate="%{x}<br>%{y:,} MACs (%{customdata:.1f}%)<extra></extra>"), 1, 2)  # i18n: name
fig.update_layout(showlegend=False, height=360, margin=dict(t=40, b=10))
charts.show(fig, _("{model}: parameters and MACs per stage").format(model=entry.display), key="model_stage_chart")
stage_view = stages.assign(output_shape=[fmt_shape(s) if r else _("not run in eval mode (training-only head)")
                                         for s, r in zip(stages["output_shape"], stages["runs"])]).drop(columns="runs")
st.dataframe(stage_view, hide_index=True, column_config=column_labels() | {
    "params": st.column_config.NumberColumn(_("params"), format="localized"),
    "macs": st.column_config.NumberColumn("MACs", format="localized"),  # i18n: name
    "params_pct": st.column_config.NumberColumn(_("params %"), format="%.2f"),
    "macs_pct": st.column_config.NumberColumn("MACs %", format="%.2f"),  # i18n: name
})

st.subheader(_("Layer table"))
types = sorted(layers["type"].dropna().unique())
f1, f2 = st.columns([3, 1])
chosen_types = f1.multiselect(_("Show layer types"), types, default=types, key="model_types")
only_weighted = f2.toggle(_("Only layers with params"), value=False, key="model_weighted")
view = layers[layers["type"].isin(chosen_types)]
if only_weighted:
    view = view[view["params"] > 0]
view = view.assign(output_shape=[fmt_calls_shape(s, c) for s, c in zip(view["output_shape"], view["calls"])],
                   sees_whole_image=view["sees_whole_image"].map({True: _("yes"), False: _("no")}),
                   **{c: view[c].map(fmt_axes) for c in ("kernel", "stride", "padding", "dilation")})
INT_COLUMNS = ["depth", "groups", "in_channels", "out_channels", "params", "macs", "calls", "rf_px", "rf_stride"]
st.dataframe(as_text(view, {c: "{}" for c in ("groups", "in_channels", "out_channels", "rf_px", "rf_stride")}
                     | {"sees_whole_image": "{}", "stage": "{}"}, blank=""),
             hide_index=True, height=480, column_config=column_labels() | {
                 "params": st.column_config.NumberColumn(_("params"), format="localized"),
                 "macs": st.column_config.NumberColumn("MACs", format="localized"),  # i18n: name
                 "output_shape": st.column_config.TextColumn(
                     _("output shape"), help=_("A module called more than once (ResNet's one ReLU per block runs 3 "
                                               "times) shows the shape of its last call.")),
                 "params_pct": st.column_config.NumberColumn(_("params %"), format="%.3f"),
                 "macs_pct": st.column_config.NumberColumn("MACs %", format="%.3f"),  # i18n: name
                 "rf_px": st.column_config.TextColumn(_("RF (px)"), help=_("Receptive field size in input pixels")),
             })
st.download_button(_("Download layer table (CSV)"), integer_columns(view, INT_COLUMNS).to_csv(index=False).encode(),
                   file_name=f"{variant}_{int(size)}px_layers.csv", mime="text/csv", key="model_csv")
st.caption(_("An empty cell: the layer has no such attribute (a ReLU has no kernel), or, in 'RF (px)', the layer "
             "sees the whole image (at or after a global pool)."))
