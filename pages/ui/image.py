"""Shared Streamlit widgets for choosing an input image (a module imported by pages, not a page).

``image_input(key)`` offers three sources in tabs: a gallery of bundled sample photos, an upload
and the camera. Every image goes through :func:`zoo.inference.images.decode_image`, so what comes
back is always a fully loaded RGB ``PIL.Image.Image`` -- or ``None`` after one clear sentence in
``st.error``; never a traceback. The chosen sample is kept in ``st.query_params[f"{key}_sample"]``
so a deep link reproduces it.
"""

from __future__ import annotations

import functools
import logging

import streamlit as st
from PIL import Image

from pages.ui.tabs import translated_tabs
from zoo.i18n import N_, _, language
from zoo.inference.images import (
    DEFAULT_MAX_BYTES,
    UPLOAD_TYPES,
    ImageDecodeError,
    decode_image,
    list_samples,
    load_sample,
    sample_caption,
)

__all__ = ["SOURCE_TABS", "image_input", "show_image_summary"]

_log = logging.getLogger(__name__)

#: Tab labels, in order. Only the open tab runs, so the camera is not requested until chosen.
SOURCE_TABS: tuple[str, str, str] = (N_("Sample photo"), N_("Upload"), N_("Camera"))  # English; shown with _()
# The upload widget counts its limit in decimal megabytes, as decode_image does: one number.
_MAX_UPLOAD_MB = DEFAULT_MAX_BYTES // 1_000_000
_THUMB_PX = 120
_CARD_PX = 104  # a sample card's width: two fit beside each other in Predict's photo column at 1024 px
_PREVIEW_PX = 640  # the preview is a thumbnail: a 40-megapixel upload is never sent to the browser whole


@functools.lru_cache(maxsize=32)
def _thumbnail(name: str) -> Image.Image:
    img = load_sample(name)
    img.thumbnail((_THUMB_PX * 2, _THUMB_PX * 2))  # 2x for sharp thumbnails on HiDPI screens
    return img


def _chosen_sample(key: str, default_sample: str | None, samples: list[str]) -> str | None:
    """The sample named in the URL if valid, else the default (and a polite note)."""
    param = f"{key}_sample"
    wanted = st.query_params.get(param)
    if wanted is not None:
        if wanted in samples:
            return wanted
        # The name is not echoed: text from a URL is never rendered (it could carry markdown links or images).
        st.warning(_("There is no sample photo by the name in this link, so the default is shown."))
        del st.query_params[param]
    if default_sample is not None and default_sample in samples:
        return default_sample
    return None


def _choose_sample(param: str, name: str) -> None:
    st.query_params[param] = name


def _sample_gallery(key: str, default_sample: str | None) -> tuple[Image.Image | None, str | None]:
    samples = list_samples()
    if not samples:
        st.error(_("No sample photos are installed."))
        return None, None
    chosen = _chosen_sample(key, default_sample, samples)
    param = f"{key}_sample"
    # Fixed-width cards in a wrapping row: at 1024 px they flow onto two rows instead of squeezing
    # each button's label to a letter a line.
    gallery = st.container(horizontal=True, gap="small")
    for name in samples:
        with gallery.container(width=_CARD_PX):
            try:
                st.image(_thumbnail(name), width=_CARD_PX)
            except ImageDecodeError as e:  # pragma: no cover - bundled files are known good
                st.caption(str(e))
            is_chosen = name == chosen
            st.button(
                sample_caption(name),
                key=f"{key}_pick_{name}",
                type="primary" if is_chosen else "secondary",
                icon=":material/check:" if is_chosen else None,
                on_click=_choose_sample,
                args=(param, name),
                width="stretch",
                help=_("Use {name}").format(name=name),
            )
    if chosen is None:
        st.caption(_("Choose a photo above."))
        return None, None
    try:
        return load_sample(chosen), sample_caption(chosen)
    except ImageDecodeError as e:  # pragma: no cover - bundled files are known good
        st.error(str(e))
        return None, None


def _decode_widget_file(key: str, uploaded) -> Image.Image | None:
    """Decode an ``UploadedFile`` once per file (memoised in session state by its file id)."""
    if uploaded is None:
        return None
    memo_key = f"_{key}_decoded"
    # The language is part of the key: a refusal is a sentence in the language it was made in.
    file_id = (getattr(uploaded, "file_id", None) or f"{uploaded.name}:{uploaded.size}", language())
    memo = st.session_state.get(memo_key)
    if memo is not None and memo[0] == file_id:
        result = memo[1]
    else:
        try:
            result = decode_image(uploaded.getvalue())
        except ImageDecodeError as e:
            result = str(e)
        except Exception:  # noqa: BLE001 - never show a traceback for a user's file
            _log.exception("unexpected failure decoding an uploaded image")
            result = N_("Something went wrong while reading this image; please try another file.")
        st.session_state[memo_key] = (file_id, result)
    if isinstance(result, str):
        st.error(_(result))  # decode_image's sentences are already translated; _() only finds the one above
        return None
    return result.copy()


def preview(img: Image.Image, side: int = _PREVIEW_PX) -> Image.Image:
    """A copy of ``img`` no larger than ``side`` px on its long side, for showing in the page."""
    if max(img.size) <= side:
        return img
    small = img.copy()
    small.thumbnail((side, side))
    return small


def show_image_summary(img: Image.Image, *, label: str | None = None, width: int = 160) -> None:
    """Show ``img`` small (a bounded thumbnail) with its full size (and an optional label) as the caption."""
    w, h = img.size
    caption = f"{w} × {h} px" if not label else f"{label} · {w} × {h} px"  # i18n: name (numbers and a name)
    st.image(preview(img), width=width, caption=caption)


def image_input(
    key: str,
    *,
    default_sample: str | None = "chelsea.png",
) -> Image.Image | None:
    """Let the user pick an image; return it as RGB, or ``None`` (after an ``st.error`` if bad).

    ``key`` namespaces the widgets, the session-state entries and the query parameter
    ``f"{key}_sample"``, so several inputs can share a page.
    """
    sample_tab, upload_tab, camera_tab = translated_tabs(SOURCE_TABS, key=f"{key}_source", on_change="rerun")
    img: Image.Image | None = None
    label: str | None = None
    # ``.open`` is None only if state tracking is off; then the first tab is the one shown.
    if sample_tab.open or sample_tab.open is None:
        with sample_tab:
            img, label = _sample_gallery(key, default_sample)
            if img is not None:
                show_image_summary(img, label=label)
    elif upload_tab.open:
        with upload_tab:
            uploaded = st.file_uploader(
                _("Upload an image (JPEG, PNG, WebP, GIF or BMP, up to {mb} MB)").format(mb=_MAX_UPLOAD_MB),
                type=list(UPLOAD_TYPES),
                key=f"{key}_upload",
                max_upload_size=_MAX_UPLOAD_MB,
            )
            img = _decode_widget_file(key, uploaded)
            if img is not None:
                show_image_summary(img, label=uploaded.name)
    elif camera_tab.open:
        with camera_tab:
            shot = st.camera_input(_("Take a photo"), key=f"{key}_camera")
            img = _decode_widget_file(key, shot)
            if img is not None:
                show_image_summary(img, label=_("Camera"))
    return img
