"""Model page: one model's card, stage roll-up and full layer table (shareable by URL)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from pages.ui.fmt import MACS_NOTE, fmt_axes, fmt_count, fmt_shape
from pages.ui.query import query_choice, query_int, set_query
from zoo import registry
from zoo.analysis import MAX_INPUT_SIZE, InputSizeError, summarize
from zoo.analysis.receptive_field import rf_table


@st.cache_data(show_spinner="Analysing the layers (meta device, no weights)…", max_entries=64)
def layer_data(name: str, size: int):
    s = summarize(name, size)
    layers = s.layers.copy()
    rf = rf_table(name, size)[["name", "rf", "stride", "global_dependence"]].rename(
        columns={"rf": "rf_px", "stride": "rf_stride", "global_dependence": "sees_whole_image"})
    layers = layers.merge(rf, on="name", how="left")
    return s.params, s.macs, layers, s.stages


families = list(registry.FAMILIES)
default_model = query_choice("model", registry.names(), "resnet50")
fam_default = registry.get(default_model).family

st.title("Model explorer")
c1, c2, c3 = st.columns([2, 2, 1])
family = c1.selectbox("Family", families, index=families.index(fam_default),
                      format_func=lambda k: registry.FAMILIES[k].display, key="model_family")
variants = [e.name for e in registry.by_family(family)]
variant = c2.selectbox("Variant", variants,
                       index=variants.index(default_model) if default_model in variants else 0,
                       format_func=lambda n: registry.get(n).display, key="model_variant")
entry = registry.get(variant)
size = c3.number_input("Input size (px)", min_value=1, max_value=MAX_INPUT_SIZE,
                       value=query_int("size", entry.input_size, 1, MAX_INPUT_SIZE)
                       if variant == default_model else entry.input_size,
                       step=1, key=f"model_size_{variant}",
                       help=f"Default {entry.input_size}: the crop size of the weights' evaluation transform.")
set_query(model=variant, size=None if size == entry.input_size else size)

fam = entry.fam
st.header(entry.display)
left, right = st.columns([3, 2])
with left:
    st.markdown(f"**{fam.display}**, {fam.year}" + (f" — {fam.ilsvrc}" if fam.ilsvrc else ""))
    st.markdown(f"Paper: [{fam.paper}]({fam.arxiv})")
    st.markdown("\n".join(f"- {idea}" for idea in fam.key_ideas))
    if entry.note:
        st.info(entry.note)
with right:
    st.caption("From torchvision's weights metadata" if entry.weights is not None else "Weights")
    if entry.weights is not None:
        m1, m2 = st.columns(2)
        m1.metric("ImageNet acc@1", f"{entry.acc1:.2f}%")
        m2.metric("acc@5", f"{entry.acc5:.2f}%")
        m1.metric("Published params", f"{entry.published_params:,}")
        m2.metric("Published GMACs", f"{entry.published_gmacs:.3f}")
        st.caption(f"Weights `{entry.weights}` · {entry.file_size_mb:.1f} MB")
    elif entry.has_weights:
        st.metric("Checkpoint size", f"{entry.file_size_mb:.1f} MB")
    else:
        st.write("No pretrained weights: architecture only.")
    pre = entry.preprocess
    if pre:
        st.caption(f"Preprocessing: resize {pre['resize']} ({pre['interpolation']}) → centre crop {pre['crop']} "
                   f"→ normalise mean {tuple(round(v, 3) for v in pre['mean'])}, std {tuple(round(v, 3) for v in pre['std'])}")

try:
    params, macs, layers, stages = layer_data(variant, int(size))
except InputSizeError as e:
    st.error(str(e))
    st.stop()

st.subheader(f"Computed at {int(size)}x{int(size)}")
k1, k2, k3, k4 = st.columns(4)
k1.metric("Parameters", f"{params:,}")
k2.metric("MACs", fmt_count(macs))
k3.metric("FLOPs (2 x MACs)", fmt_count(2 * macs))
k4.metric("Layers (leaf modules)", f"{len(layers):,}")
st.caption(MACS_NOTE + " Counted with torch's FlopCounterMode on the meta device: no weights are created.")
if entry.published_params is not None and size == entry.input_size:
    same = params == entry.published_params
    st.caption(("✅" if same else "⚠️") + f" Counted parameters {'equal' if same else 'differ from'} "
               f"torchvision's published {entry.published_params:,}; counted {macs / 1e9:.3f} GMACs vs "
               f"published {entry.published_gmacs:.3f}.")

st.subheader("Stages")
fig = make_subplots(rows=1, cols=2, subplot_titles=("Parameters per stage", "MACs per stage"))
fig.add_trace(go.Bar(x=stages["stage"], y=stages["params"], name="params",
                     customdata=stages["params_pct"], hovertemplate="%{x}<br>%{y:,} params (%{customdata:.1f}%)<extra></extra>"), 1, 1)
fig.add_trace(go.Bar(x=stages["stage"], y=stages["macs"], name="MACs",
                     customdata=stages["macs_pct"], hovertemplate="%{x}<br>%{y:,} MACs (%{customdata:.1f}%)<extra></extra>"), 1, 2)
fig.update_layout(showlegend=False, height=360, margin=dict(t=40, b=10))
st.plotly_chart(fig, key="model_stage_chart")
st.dataframe(stages, hide_index=True, column_config={
    "params_pct": st.column_config.NumberColumn("params %", format="%.2f"),
    "macs_pct": st.column_config.NumberColumn("MACs %", format="%.2f"),
    "output_shape": st.column_config.TextColumn("output shape"),
})

st.subheader("Layer table")
types = sorted(layers["type"].dropna().unique())
f1, f2 = st.columns([3, 1])
chosen_types = f1.multiselect("Show layer types", types, default=types, key="model_types")
only_weighted = f2.toggle("Only layers with params", value=False, key="model_weighted")
view = layers[layers["type"].isin(chosen_types)]
if only_weighted:
    view = view[view["params"] > 0]
view = view.assign(output_shape=view["output_shape"].map(fmt_shape),
                   **{c: view[c].map(fmt_axes) for c in ("kernel", "stride", "padding", "dilation")})
st.dataframe(view, hide_index=True, height=480, column_config={
    "params_pct": st.column_config.NumberColumn("params %", format="%.3f"),
    "macs_pct": st.column_config.NumberColumn("MACs %", format="%.3f"),
    "rf_px": st.column_config.NumberColumn("RF (px)", help="Receptive field size in input pixels"),
})
st.download_button("Download layer table (CSV)", view.to_csv(index=False).encode(),
                   file_name=f"{variant}_{int(size)}px_layers.csv", mime="text/csv", key="model_csv")
