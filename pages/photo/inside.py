"""Inside the network: Grad-CAM and friends, occlusion, feature maps and first-layer filters for one photo."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from pages.ui import charts
from pages.ui.image import image_input
from pages.ui.memo import memo as ui_memo
from pages.ui.memo import progress_bar
from pages.ui.models import get_cam_model, get_model
from pages.ui.query import query_choice, set_query
from zoo import budget, registry
from zoo.errors import ZooError
from zoo.inference import cam as C
from zoo.inference import features as F
from zoo.inference import occlusion as O
from zoo.inference import weights as W
from zoo.inference.device import DeviceUnavailableError, device_label, pick_device
from zoo.inference.images import image_digest
from zoo.inference.view import field_on_crop, unit_field, view

VIEWS = ["Grad-CAM", "Occlusion", "Feature maps", "Filters"]
DEFAULT_MODEL = "efficientnet_lite0"  # its weights ship with the app, so the page works offline
TILE_PX = 96


def reader_model(name: str, device_str: str) -> torch.nn.Module:
    """What plain forward passes use: the shared model (only read), or ours when there are no weights."""
    try:
        return get_model(name, device_str)
    except W.WeightsUnavailableError:
        return get_cam_model(name, device_str)


def memo(key: tuple, compute):
    return ui_memo("inside", key, compute)


def shape_text(shape) -> str:
    return " × ".join(str(v) for v in shape)


def layer_label(name: str, shapes: dict, default: str) -> str:
    shape = f" · {shape_text(shapes[name])}" if name in shapes else ""
    return f"{name}{shape}{'  (automatic: last conv stage)' if name == default else ''}"


@st.cache_data(show_spinner=False)
def feature_table(name: str):
    return F.feature_layers(name)


# ---------------------------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------------------------

st.title("Inside the network")
st.caption("Where a model looks (Grad-CAM, occlusion), what its layers compute (feature maps) and what its "
           "first layer learned (filters), for one photo. Everything runs on this server's "
           "accelerator when it has one.")

try:
    device = pick_device()
except DeviceUnavailableError as e:  # a bad $ZOO_DEVICE: say so and carry on on the CPU, as Predict does
    st.error(str(e))
    device = pick_device("cpu")
device_str = str(device)

names = registry.names()
offline = set(W.available_models())
left, right = st.columns([1, 2], gap="large")
with left:
    image = image_input("inside")
# Deep links: the model and method live in the URL (the view tab binds itself, by label). The URL
# also gives the widgets their defaults, so a run interrupted by a click cannot reset them.
with right:
    name = st.selectbox(
        "Model", names, index=names.index(query_choice("in_model", names, DEFAULT_MODEL)), key="in_model",
        format_func=lambda n: registry.get(n).display + ("" if n in offline else " (random weights)"),
        help="Models whose weights are not on this computer run with seeded random weights, clearly marked. "
             "Fetch weights on the Predict page or with `python -m zoo fetch NAME`.",
    )
    entry = registry.get(name)
    seen = view(entry)  # what the model receives: the same crop for every view below
    try:
        with st.spinner(f"Loading {entry.display}…"):
            own = get_cam_model(name, device_str)
            reader = reader_model(name, device_str)
    except W.WeightsError as e:  # a damaged checkpoint, say: one sentence, not a traceback
        st.error(str(e))
        st.stop()
    random_weights = bool(getattr(own, "zoo_random_weights", False))
    st.caption(f"Runs on {device_label(device)} · input {seen.note()}")
    if random_weights:
        st.warning(f"**Random weights.** {entry.display}'s pretrained weights are not on this computer, so this is "
                   "an untrained network with seeded random weights: its heatmaps, feature maps and filters show "
                   "what an untrained network computes, not anything it learned.")

    labels = entry.categories or registry.imagenet_categories()
    class_index = None
    digest = image_digest(image) if image is not None else None
    if image is not None:
        with st.spinner("Classifying…"):
            top = memo(("top5", name, device_str, digest), lambda: C.predict_top(reader, entry, image, 5))
        top_ids = [i for i, _, _ in top]
        probs = {i: p for i, _, p in top}
        options = top_ids + [i for i in range(len(labels)) if i not in probs]
        class_index = st.selectbox(
            "Class to explain (its top-5 first; type to search all ImageNet classes)", options, index=0,
            key=f"in_class_{name}_{digest}",
            format_func=lambda i: f"{labels[i]} · {probs[i]:.1%}" if i in probs else f"{labels[i]} ({i})",
        )
        st.caption("Top-5: " + " · ".join(f"{label} {p:.1%}" for _, label, p in top))

set_query(in_model=None if name == DEFAULT_MODEL else name)
view_tabs = st.tabs(VIEWS, key="in_view", bind="query-params")
needs_image = "Choose a sample photo, upload one or take a picture above."

# -- Grad-CAM ---------------------------------------------------------------------------------
with view_tabs[0]:
    if view_tabs[0].open is not False:
        if image is None:
            st.info(needs_image)
        else:
            keys = list(C.METHODS)
            method = st.segmented_control("Method", keys, default=query_choice("in_method", keys, "gradcam"),
                                          key="in_method", required=True,
                                          format_func=lambda k: C.METHODS[k].label) or "gradcam"
            set_query(in_method=None if method == "gradcam" else method)
            st.markdown("\n".join(f"- **{m.label}** {m.how} ({m.paper})" for m in C.METHODS.values()))
            default_layer = C.default_target_layer(name)
            with st.spinner("Listing the convolutional layers…"):
                choices = C.target_layers(name)
                shapes = C.target_layer_shapes(name)
            layer = st.selectbox("Target layer", choices, index=0, key=f"in_layer_{name}",
                                 format_func=lambda n: layer_label(n, shapes, default_layer),
                                 help="Grad-CAM's resolution is this layer's grid, upsampled to the input: "
                                      "deep layers are coarse but class-specific, early ones sharp but generic.")
            max_channels = C.SCORECAM_CPU_CHANNELS if device.type == "cpu" else None
            key = ("cam", name, device_str, digest, layer, method, class_index if C.METHODS[method].class_specific
                   else None, max_channels if method == "scorecam" else None)
            try:
                if method == "scorecam":
                    bar, update = progress_bar("Score-CAM: scoring masked images…")
                    result = memo(key, lambda: C.compute_cam(own, entry, image, class_index, method, layer,
                                                             max_channels=max_channels, progress=update))
                    bar.empty()
                else:
                    with st.spinner(f"Computing {C.METHODS[method].label}…"):
                        result = memo(key, lambda: C.compute_cam(own, entry, image, class_index, method, layer))
            except ZooError as e:  # an unusable layer, or a method over this server's budget
                st.error(str(e))
            else:
                a, b = st.columns(2)
                a.image(result.crop, caption=f"What the model sees: {result.crop.width} × {result.crop.height} px "
                                             "(resized and centre-cropped)", width="stretch")
                what = f"'{result.label}'" if result.label else "the dominant component (no class)"
                untrained = " · random weights, so it means nothing" if result.random_weights else ""
                b.image(result.overlay, caption=f"{C.METHODS[method].label} for {what} at {layer}{untrained}",
                        width="stretch")
                c, h, w = result.activation_shape
                st.caption(f"The map is {h} × {w} (the grid of {layer}, {c} channels), upsampled to the input. "
                           f"{result.ms:.0f} ms on {device_label(device)}.")
                if method == "scorecam" and max_channels and c > max_channels:
                    st.caption(f"On the CPU Score-CAM scores the {max_channels} of {c} channels whose maps vary most "
                               "(the others get weight 0); on a GPU it scores them all.")
                if method == "eigencam":
                    st.caption("Eigen-CAM ignores the class you picked: compare it with Grad-CAM for a second class.")

# -- Occlusion --------------------------------------------------------------------------------
with view_tabs[1]:
    if view_tabs[1].open:
        if image is None:
            st.info(needs_image)
        else:
            side = seen.side
            patch0, stride0 = O.default_patch(side)
            a, b = st.columns(2)
            patch = a.slider("Patch (px)", 8, side // 2, patch0, step=4, key="in_patch",
                             help="The grey square's side, in model-input pixels.")
            stride = b.slider("Stride (px)", 4, patch, min(stride0, patch), step=4, key="in_stride",
                              help="How far the square moves between tries.")
            n = len(O.patch_starts(side, patch, stride))
            per_pass = budget.forward_batch(name, O.BATCH)
            st.caption(f"{n} × {n} = {n * n:,} occluded copies of the image, {per_pass} per forward pass. The patch "
                       "is the training set's mean colour (0 after normalisation).")
            try:
                O.check_occlusion(entry, patch, stride, step=4)
            except budget.BudgetError as e:
                st.error(str(e))
                st.stop()
            key = ("occ", name, device_str, digest, class_index, patch, stride)
            bar, update = progress_bar("Occluding…")
            occ = memo(key, lambda: O.occlusion_map(reader, entry, image, class_index, patch_px=patch,
                                                    stride_px=stride, progress=update))
            bar.empty()
            try:
                with st.spinner("Grad-CAM for comparison…"):
                    grad = memo(("cam", name, device_str, digest, C.default_target_layer(name), "gradcam",
                                 class_index, None), lambda: C.compute_cam(own, entry, image, class_index, "gradcam"))
            except ZooError as e:
                st.info(f"No Grad-CAM to compare with: {e}")
                grad = None
            pixel = occ.pixel_map()
            peak = float(pixel.max())
            shown = np.clip(pixel, 0, None) / peak if peak > 0 else np.zeros_like(pixel)
            x, y = st.columns(2)
            x.image(C.overlay(occ.crop, shown), width="stretch",
                    caption=f"Occlusion: where hiding a {patch} px square lowers P('{occ.label}') most")
            if grad is not None:
                y.image(grad.overlay, width="stretch", caption=f"Grad-CAM for '{grad.label}' at {grad.layer}")
            drop_pp = occ.drop.astype(float) * 100
            fig = go.Figure(go.Heatmap(
                z=drop_pp, x=[s + patch // 2 for s in occ.starts], y=[s + patch // 2 for s in occ.starts],
                colorscale="RdBu_r", zmid=0, colorbar=dict(title="drop (pp)"), texttemplate="%{z:.1f}",
                hovertemplate="patch centre x %{x}, y %{y} px: drop %{z:.1f} pp<extra></extra>"))
            fig.update_layout(height=420, margin=dict(l=0, r=0, t=30, b=0),
                              title=f"Drop in P('{occ.label}') from {occ.baseline_prob:.1%}, percentage points",
                              yaxis=dict(autorange="reversed", title="y (px)"), xaxis=dict(title="x (px)"))
            charts.show(fig, key="inside_occlusion_chart")
            r, cidx = occ.argmax_cell()
            compared = ("" if grad is None else
                        f"Correlation with Grad-CAM (averaged per patch): r = {O.cam_correlation(grad.heatmap, occ):.2f}. ")
            st.caption(f"Largest drop {occ.drop[r, cidx] * 100:.1f} pp with the patch at x {occ.starts[cidx]}–"
                       f"{occ.starts[cidx] + patch}, y {occ.starts[r]}–{occ.starts[r] + patch} px. {compared}"
                       f"Negative cells: hiding that square raised the probability. {occ.passes:,} images in "
                       f"{occ.ms / 1000:.1f} s.")

# -- Feature maps -----------------------------------------------------------------------------
with view_tabs[2]:
    if view_tabs[2].open:
        if image is None:
            st.info(needs_image)
        else:
            with st.spinner("Tracing layers and receptive fields…"):
                table = feature_table(name)
            stages = list(dict.fromkeys(table["stage"]))
            a, b, c = st.columns([1, 2, 1])
            # An early-middle stage by default: maps there still look like the photo, but no longer like pixels.
            stage = a.selectbox("Stage", stages, index=len(stages) // 4, key=f"in_stage_{name}")
            in_stage = table[table["stage"] == stage]
            layer = b.selectbox("Layer", in_stage["name"].tolist(), index=len(in_stage) - 1,
                                key=f"in_fmap_{name}_{stage}",
                                format_func=lambda n: f"{n} ({in_stage.set_index('name').at[n, 'type']})")
            top_k = c.slider("Channels shown", 4, 64, F.TOP_K, step=4, key="in_topk")
            row = table.set_index("name").loc[layer]
            with st.spinner("Running the layer…"):
                fm = memo(("fmap", name, device_str, digest, layer, top_k),
                          lambda: F.feature_maps(own, entry, image, layer, top_k))
            ch, h, w = fm.shape
            rf = None if pd.isna(row["rf_px"]) else int(row["rf_px"])
            m1, m2, m3 = st.columns(3)
            m1.metric("Output shape (C × H × W)", shape_text(fm.shape))
            m2.metric("Receptive field", f"{rf} px" if rf is not None else "whole image",
                      help="Input pixels one unit of this map can see (analytic, zoo.analysis.receptive_field).")
            m3.metric("Stride (jump)", f"{int(row['stride_px'])} px" if rf is not None else "—",
                      help="Input pixels between neighbouring units of this map.")
            x, y = st.columns([1, 2])
            x.image(field_on_crop(seen.crop(image), unit_field(row), (h, w)), width="stretch",
                    caption="Orange: what the centre unit of this map sees. Deeper layers see more of the image "
                            "and respond to larger, more abstract patterns.")
            depth = table.reset_index(drop=True)
            fig = go.Figure(go.Scatter(x=list(range(len(depth))), y=depth["rf_px"].astype("float"),
                                       mode="lines", line=dict(color="#9e9e9e"), name="receptive field",
                                       hovertext=depth["name"], hovertemplate="%{hovertext}: %{y} px<extra></extra>"))
            here = int(depth.index[depth["name"] == layer][0])
            if rf is not None:
                fig.add_trace(go.Scatter(x=[here], y=[rf], mode="markers", marker=dict(size=12, color="#ef6c00"),
                                         name=layer, hovertemplate=f"{layer}: {rf} px<extra></extra>"))
            fig.update_layout(height=300, margin=dict(l=0, r=0, t=30, b=0), showlegend=False,
                              title="Receptive field by layer (px)", xaxis_title="layer (execution order)",
                              yaxis_title="rf (px)")
            charts.show(fig, key="inside_rf_chart", where=y)
            st.markdown(f"**The {len(fm.maps)} most active of {ch} channels** (ranked by the mean of their positive "
                        "part; each map scaled to its own range, yellow = high)")
            st.image(fm.images(TILE_PX), width=TILE_PX,
                     caption=[f"ch {int(i)} · {fm.score[i]:.2f}" for i in fm.order[:len(fm.maps)]])

# -- Filters ----------------------------------------------------------------------------------
with view_tabs[3]:
    if view_tabs[3].open:
        bank = F.first_conv_filters(own)
        kh, kw = bank.kernel
        st.markdown(f"**{bank.count} filters of {kh} × {kw} × 3** in `{bank.layer}` (stride {bank.stride}), "
                    f"{'as initialised (random weights)' if random_weights else 'as learned on ImageNet'}. Each tile "
                    "is one filter's RGB weights, scaled on its own so that mid-grey is zero.")
        st.image(bank.mosaic(tile_px=max(24, 4 * kh)), width="content")
        if random_weights and name != DEFAULT_MODEL:
            # Learned filters for comparison: Lite0's weights ship with the app.
            reference = F.first_conv_filters(reader_model(DEFAULT_MODEL, device_str))
            rk = reference.kernel[0]
            st.markdown(f"For comparison, **learned** filters: EfficientNet-Lite0's {reference.count} of "
                        f"{rk} × {rk} × 3 in `{reference.layer}` (stride {reference.stride}), trained on ImageNet.")
            st.image(reference.mosaic(tile_px=max(24, 4 * rk)), width="content")
        if entry.family == "alexnet":
            st.info(f"torchvision's AlexNet has {bank.count} first-layer filters, not the paper's 96: it follows the "
                    "single-GPU variant of Krizhevsky's 2014 “One weird trick” paper; the 2012 network split 96 "
                    "filters over two GPUs (48 each).")
        notes = registry.FAMILIES
        st.markdown("**Large early kernels vs stacks of 3 × 3** (from the catalogue's notes)\n"
                    f"- AlexNet: {notes['alexnet'].key_ideas[0]}\n"
                    f"- VGG: {notes['vgg'].key_ideas[0]}\n"
                    f"- VGG: {notes['vgg'].key_ideas[1]}")
        st.caption("Trained first-layer filters look like oriented edges, colour blobs and stripes; an 11 × 11 "
                   "kernel has room to show them, a 3 × 3 one only hints at a gradient direction. Random weights "
                   "show noise.")
