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
from pages.ui.tabs import open_tab, translated_tabs
from zoo import budget, registry
from zoo.errors import ZooError
from zoo.i18n import N_, _, ngettext
from zoo.inference import cam as C
from zoo.inference import features as F
from zoo.inference import occlusion as O
from zoo.inference import weights as W
from zoo.inference.device import DeviceUnavailableError, device_label, pick_device
from zoo.inference.images import image_digest
from zoo.inference.view import field_on_crop, unit_field, view

# English labels: the URL keeps these (a link opens the same view in either language); shown through _().
VIEWS = ["Grad-CAM", N_("Occlusion"), N_("Feature maps"), N_("Filters")]
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
    automatic = _("  (automatic: last conv stage)") if name == default else ""
    return f"{name}{shape}{automatic}"


@st.cache_data(show_spinner=False)
def feature_table(name: str):
    return F.feature_layers(name)


# ---------------------------------------------------------------------------------------------
# Page
# ---------------------------------------------------------------------------------------------

st.title(_("Inside the network"))
st.caption(_("Where a model looks (Grad-CAM, occlusion), what its layers compute (feature maps) and what its "
             "first layer learned (filters), for one photo. Everything runs on this server's "
             "accelerator when it has one."))

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
        _("Model"), names, index=names.index(query_choice("in_model", names, DEFAULT_MODEL)), key="in_model",
        format_func=lambda n: registry.get(n).display + ("" if n in offline else _(" (random weights)")),
        help=_("Models whose weights are not on this computer run with seeded random weights, clearly marked. "
               "Fetch weights on the Predict page or with `python -m zoo fetch NAME`."),
    )
    entry = registry.get(name)
    seen = view(entry)  # what the model receives: the same crop for every view below
    try:
        with st.spinner(_("Loading {model}…").format(model=entry.display)):
            own = get_cam_model(name, device_str)
            reader = reader_model(name, device_str)
    except W.WeightsError as e:  # a damaged checkpoint, say: one sentence, not a traceback
        st.error(str(e))
        st.stop()
    random_weights = bool(getattr(own, "zoo_random_weights", False))
    st.caption(_("Runs on {device} · input {steps}").format(device=device_label(device), steps=seen.note()))
    if random_weights:
        st.warning(_("**Random weights.** {model}'s pretrained weights are not on this computer, so this is an "
                     "untrained network with seeded random weights: its heatmaps, feature maps and filters show what "
                     "an untrained network computes, not anything it learned.").format(model=entry.display))

    labels = entry.categories or registry.imagenet_categories()
    class_index = None
    digest = image_digest(image) if image is not None else None
    if image is not None:
        with st.spinner(_("Classifying…")):
            top = memo(("top5", name, device_str, digest), lambda: C.predict_top(reader, entry, image, 5))
        top_ids = [i for i, _label, _p in top]
        probs = {i: p for i, _label, p in top}
        options = top_ids + [i for i in range(len(labels)) if i not in probs]
        class_index = st.selectbox(
            _("Class to explain (its top-5 first; type to search all ImageNet classes)"), options, index=0,
            key=f"in_class_{name}_{digest}",
            format_func=lambda i: f"{labels[i]} · {probs[i]:.1%}" if i in probs else f"{labels[i]} ({i})",
        )
        st.caption(_("Top-5: {classes}").format(classes=" · ".join(f"{label} {p:.1%}" for _i, label, p in top)))

set_query(in_model=None if name == DEFAULT_MODEL else name)
view_tabs = translated_tabs(VIEWS, key="in_view", default=query_choice("in_view", VIEWS, VIEWS[0]), on_change="rerun")
shown_view = open_tab(VIEWS, "in_view")
set_query(in_view=None if shown_view in (None, VIEWS[0]) else shown_view)
needs_image = _("Choose a sample photo, upload one or take a picture above.")

# -- Grad-CAM ---------------------------------------------------------------------------------
with view_tabs[0]:
    if view_tabs[0].open is not False:
        if image is None:
            st.info(needs_image)
        else:
            keys = list(C.METHODS)
            method = st.segmented_control(_("Method"), keys, default=query_choice("in_method", keys, "gradcam"),
                                          key="in_method", required=True,
                                          format_func=lambda k: C.METHODS[k].label) or "gradcam"
            set_query(in_method=None if method == "gradcam" else method)
            st.markdown("\n".join(f"- **{m.label}** {_(m.how)} ({m.paper})" for m in C.METHODS.values()))
            default_layer = C.default_target_layer(name)
            with st.spinner(_("Listing the convolutional layers…")):
                choices = C.target_layers(name)
                shapes = C.target_layer_shapes(name)
            layer = st.selectbox(_("Target layer"), choices, index=0, key=f"in_layer_{name}",
                                 format_func=lambda n: layer_label(n, shapes, default_layer),
                                 help=_("Grad-CAM's resolution is this layer's grid, upsampled to the input: "
                                        "deep layers are coarse but class-specific, early ones sharp but generic."))
            max_channels = C.SCORECAM_CPU_CHANNELS if device.type == "cpu" else None
            key = ("cam", name, device_str, digest, layer, method, class_index if C.METHODS[method].class_specific
                   else None, max_channels if method == "scorecam" else None)
            try:
                if method == "scorecam":
                    bar, update = progress_bar(_("Score-CAM: scoring masked images…"))
                    result = memo(key, lambda: C.compute_cam(own, entry, image, class_index, method, layer,
                                                             max_channels=max_channels, progress=update))
                    bar.empty()
                else:
                    with st.spinner(_("Computing {method}…").format(method=C.METHODS[method].label)):
                        result = memo(key, lambda: C.compute_cam(own, entry, image, class_index, method, layer))
            except ZooError as e:  # an unusable layer, or a method over this server's budget
                st.error(str(e))
            else:
                a, b = st.columns(2)
                a.image(result.crop, caption=_("What the model sees: {w} × {h} px (resized and centre-cropped)").format(
                    w=result.crop.width, h=result.crop.height), width="stretch")
                what = f"'{result.label}'" if result.label else _("the dominant component (no class)")
                untrained = _(" · random weights, so it means nothing") if result.random_weights else ""
                b.image(result.overlay, caption=_("{method} for {what} at {layer}{untrained}").format(
                    method=C.METHODS[method].label, what=what, layer=layer, untrained=untrained), width="stretch")
                c, h, w = result.activation_shape
                st.caption(_("The map is {h} × {w} (the grid of {layer}, {c} channels), upsampled to the input. "
                             "{ms:.0f} ms on {device}.").format(h=h, w=w, layer=layer, c=c, ms=result.ms,
                                                                device=device_label(device)))
                if method == "scorecam" and max_channels and c > max_channels:
                    st.caption(_("On the CPU Score-CAM scores the {n} of {c} channels whose maps vary most (the "
                                 "others get weight 0); on a GPU it scores them all.").format(n=max_channels, c=c))
                if method == "eigencam":
                    st.caption(_("Eigen-CAM ignores the class you picked: compare it with Grad-CAM for a second "
                                 "class."))

# -- Occlusion --------------------------------------------------------------------------------
with view_tabs[1]:
    if view_tabs[1].open:
        if image is None:
            st.info(needs_image)
        else:
            side = seen.side
            patch0, stride0 = O.default_patch(side)
            a, b = st.columns(2)
            patch = a.slider(_("Patch (px)"), 8, side // 2, patch0, step=4, key="in_patch",
                             help=_("The grey square's side, in model-input pixels."))
            stride = b.slider(_("Stride (px)"), 4, patch, min(stride0, patch), step=4, key="in_stride",
                              help=_("How far the square moves between tries."))
            n = len(O.patch_starts(side, patch, stride))
            per_pass = budget.forward_batch(name, O.BATCH)
            st.caption(_("{n} × {n} = {total:,} occluded copies of the image, {per_pass} per forward pass. The patch "
                         "is the training set's mean colour (0 after normalisation).").format(
                n=n, total=n * n, per_pass=per_pass))
            try:
                O.check_occlusion(entry, patch, stride, step=4)
            except budget.BudgetError as e:
                st.error(str(e))
                st.stop()
            key = ("occ", name, device_str, digest, class_index, patch, stride)
            bar, update = progress_bar(_("Occluding…"))
            occ = memo(key, lambda: O.occlusion_map(reader, entry, image, class_index, patch_px=patch,
                                                    stride_px=stride, progress=update))
            bar.empty()
            try:
                with st.spinner(_("Grad-CAM for comparison…")):
                    grad = memo(("cam", name, device_str, digest, C.default_target_layer(name), "gradcam",
                                 class_index, None), lambda: C.compute_cam(own, entry, image, class_index, "gradcam"))
            except ZooError as e:
                st.info(_("No Grad-CAM to compare with: {reason}").format(reason=e))
                grad = None
            pixel = occ.pixel_map()
            peak = float(pixel.max())
            shown = np.clip(pixel, 0, None) / peak if peak > 0 else np.zeros_like(pixel)
            x, y = st.columns(2)
            x.image(C.overlay(occ.crop, shown), width="stretch",
                    caption=_("Occlusion: where hiding a {patch} px square lowers P('{label}') most").format(
                        patch=patch, label=occ.label))
            if grad is not None:
                y.image(grad.overlay, width="stretch", caption=_("{method} for {what} at {layer}{untrained}").format(
                    method="Grad-CAM", what=f"'{grad.label}'", layer=grad.layer, untrained=""))
            drop_pp = occ.drop.astype(float) * 100
            fig = go.Figure(go.Heatmap(
                z=drop_pp, x=[s + patch // 2 for s in occ.starts], y=[s + patch // 2 for s in occ.starts],
                colorscale="RdBu_r", zmid=0, colorbar=dict(title=_("drop (pp)")), texttemplate="%{z:.1f}",
                hovertemplate=_("patch centre x %{x}, y %{y} px: drop %{z:.1f} pp") + "<extra></extra>"))
            fig.update_layout(height=420, margin=dict(l=0, r=0, t=30, b=0),
                              title=_("Drop in P('{label}') from {prob:.1%}, percentage points").format(
                                  label=occ.label, prob=occ.baseline_prob),
                              yaxis=dict(autorange="reversed", title="y (px)"), xaxis=dict(title="x (px)"))  # i18n: name (axis letters)
            charts.show(fig, key="inside_occlusion_chart")
            r, cidx = occ.argmax_cell()
            compared = ("" if grad is None else
                        _("Correlation with Grad-CAM (averaged per patch): r = {r:.2f}. ").format(
                            r=O.cam_correlation(grad.heatmap, occ)))
            st.caption(_("Largest drop {drop:.1f} pp with the patch at x {x0}–{x1}, y {y0}–{y1} px. {compared}"
                         "Negative cells: hiding that square raised the probability. {n:,} images in {s:.1f} s.").format(
                drop=occ.drop[r, cidx] * 100, x0=occ.starts[cidx], x1=occ.starts[cidx] + patch, y0=occ.starts[r],
                y1=occ.starts[r] + patch, compared=compared, n=occ.passes, s=occ.ms / 1000))

# -- Feature maps -----------------------------------------------------------------------------
with view_tabs[2]:
    if view_tabs[2].open:
        if image is None:
            st.info(needs_image)
        else:
            with st.spinner(_("Tracing layers and receptive fields…")):
                table = feature_table(name)
            stages = list(dict.fromkeys(table["stage"]))
            a, b, c = st.columns([1, 2, 1])
            # An early-middle stage by default: maps there still look like the photo, but no longer like pixels.
            stage = a.selectbox(_("Stage"), stages, index=len(stages) // 4, key=f"in_stage_{name}")
            in_stage = table[table["stage"] == stage]
            layer = b.selectbox(_("Layer"), in_stage["name"].tolist(), index=len(in_stage) - 1,
                                key=f"in_fmap_{name}_{stage}",
                                format_func=lambda n: f"{n} ({in_stage.set_index('name').at[n, 'type']})")
            top_k = c.slider(_("Channels shown"), 4, 64, F.TOP_K, step=4, key="in_topk")
            row = table.set_index("name").loc[layer]
            with st.spinner(_("Running the layer…")):
                fm = memo(("fmap", name, device_str, digest, layer, top_k),
                          lambda: F.feature_maps(own, entry, image, layer, top_k))
            ch, h, w = fm.shape
            rf = None if pd.isna(row["rf_px"]) else int(row["rf_px"])
            m1, m2, m3 = st.columns(3)
            m1.metric(_("Output shape (C × H × W)"), shape_text(fm.shape))
            m2.metric(_("Receptive field"), f"{rf} px" if rf is not None else _("whole image"),
                      help=_("Input pixels one unit of this map can see (analytic, zoo.analysis.receptive_field)."))
            m3.metric(_("Stride (jump)"), f"{int(row['stride_px'])} px" if rf is not None else "—",
                      help=_("Input pixels between neighbouring units of this map."))
            x, y = st.columns([1, 2])
            x.image(field_on_crop(seen.crop(image), unit_field(row), (h, w)), width="stretch",
                    caption=_("Orange: what the centre unit of this map sees. Deeper layers see more of the image "
                              "and respond to larger, more abstract patterns."))
            depth = table.reset_index(drop=True)
            fig = go.Figure(go.Scatter(x=list(range(len(depth))), y=depth["rf_px"].astype("float"),
                                       mode="lines", line=dict(color="#9e9e9e"), name=_("receptive field"),
                                       hovertext=depth["name"], hovertemplate="%{hovertext}: %{y} px<extra></extra>"))  # i18n: name (a unit)
            here = int(depth.index[depth["name"] == layer][0])
            if rf is not None:
                fig.add_trace(go.Scatter(x=[here], y=[rf], mode="markers", marker=dict(size=12, color="#ef6c00"),
                                         name=layer, hovertemplate=f"{layer}: {rf} px<extra></extra>"))  # i18n: name
            fig.update_layout(height=300, margin=dict(l=0, r=0, t=30, b=0), showlegend=False,
                              title=_("Receptive field by layer (px)"), xaxis_title=_("layer (execution order)"),
                              yaxis_title=_("rf (px)"))
            charts.show(fig, key="inside_rf_chart", where=y)
            st.markdown(_("**The {n} most active of {c} channels** (ranked by the mean of their positive part; each "
                          "map scaled to its own range, yellow = high)").format(n=len(fm.maps), c=ch))
            st.image(fm.images(TILE_PX), width=TILE_PX,
                     caption=[_("ch {index} · {score:.2f}").format(index=int(i), score=fm.score[i])
                              for i in fm.order[:len(fm.maps)]])

# -- Filters ----------------------------------------------------------------------------------
with view_tabs[3]:
    if view_tabs[3].open:
        bank = F.first_conv_filters(own)
        kh, kw = bank.kernel
        if random_weights:
            filters_text = ngettext(
                "**{n} filter of {kh} × {kw} × 3** in `{layer}` (stride {stride}), as initialised (random weights). "
                "Each tile is one filter's RGB weights, scaled on its own so that mid-grey is zero.",
                "**{n} filters of {kh} × {kw} × 3** in `{layer}` (stride {stride}), as initialised (random weights). "
                "Each tile is one filter's RGB weights, scaled on its own so that mid-grey is zero.", bank.count)
        else:
            filters_text = ngettext(
                "**{n} filter of {kh} × {kw} × 3** in `{layer}` (stride {stride}), as learned on ImageNet. Each tile "
                "is one filter's RGB weights, scaled on its own so that mid-grey is zero.",
                "**{n} filters of {kh} × {kw} × 3** in `{layer}` (stride {stride}), as learned on ImageNet. Each tile "
                "is one filter's RGB weights, scaled on its own so that mid-grey is zero.", bank.count)
        st.markdown(filters_text.format(n=bank.count, kh=kh, kw=kw, layer=bank.layer, stride=bank.stride))
        st.image(bank.mosaic(tile_px=max(24, 4 * kh)), width="content")
        if random_weights and name != DEFAULT_MODEL:
            # Learned filters for comparison: Lite0's weights ship with the app.
            reference = F.first_conv_filters(reader_model(DEFAULT_MODEL, device_str))
            rk = reference.kernel[0]
            st.markdown(_("For comparison, **learned** filters: EfficientNet-Lite0's {n} of {k} × {k} × 3 in `{layer}` "
                          "(stride {stride}), trained on ImageNet.").format(n=reference.count, k=rk,
                                                                          layer=reference.layer,
                                                                          stride=reference.stride))
            st.image(reference.mosaic(tile_px=max(24, 4 * rk)), width="content")
        if entry.family == "alexnet":
            st.info(_("torchvision's AlexNet has {n} first-layer filters, not the paper's 96: it follows the "
                      "single-GPU variant of Krizhevsky's 2014 “One weird trick” paper; the 2012 network split 96 "
                      "filters over two GPUs (48 each).").format(n=bank.count))
        notes = registry.FAMILIES
        ideas = [("AlexNet", notes["alexnet"].key_ideas[0]), ("VGG", notes["vgg"].key_ideas[0]),
                 ("VGG", notes["vgg"].key_ideas[1])]
        ideas_text = "\n".join(f"- {family}: {_(idea)}" for family, idea in ideas)  # the cards' text, translated
        st.markdown(_("**Large early kernels vs stacks of 3 × 3** (from the catalogue's notes)") + "\n" + ideas_text)
        st.caption(_("Trained first-layer filters look like oriented edges, colour blobs and stripes; an 11 × 11 "
                     "kernel has room to show them, a 3 × 3 one only hints at a gradient direction. Random weights "
                     "show noise."))
