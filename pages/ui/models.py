"""Models shared by every session of this Streamlit process (a module imported by pages, not a page).

One instance per (model, device, weights), loaded once however many sessions ask at the same
moment, and then only read: callers must not call ``.to()``, ``.train()``, ``.half()`` or register
hooks on what they get. Code that needs a changed model (Grad-CAM hooks, gradients) uses
:func:`get_cam_model`, a private copy.

The memory bound lives in zoo (:class:`zoo.inference.model_cache.ModelCache`: least recently used
evicted once the entries' bytes pass ``$ZOO_MODEL_MEMORY_MB``, default half the machine's memory);
``st.cache_resource`` only holds that one cache per process.
"""
from __future__ import annotations

import streamlit as st
import torch
from torch import nn

from zoo.i18n import _
from zoo.inference.model_cache import SharedModels
from zoo.progress import fraction


@st.cache_resource(show_spinner=False)
def shared_models() -> SharedModels:
    """The process's one model cache."""
    return SharedModels()


def get_model(name: str, device_str: str) -> nn.Module:
    """The shared eval-mode ``name`` on ``device_str`` with its cached pretrained weights.

    Raises zoo.inference.weights.WeightsUnavailableError (not cached: nothing is stored, so a
    later call after a download succeeds) rather than downloading behind the user's back.
    """
    return shared_models().model(name, device_str)


def get_predictor(name: str, device_str: str, precision: str = "auto") -> nn.Module:
    """What plain forward passes of ``name`` run on: the fastest checked CPU backend, else get_model's.

    ``precision="fp32"``: exact backends only (the page's "exact fp32" switch). The backend was
    measured on this machine (zoo.inference.fast_cpu); gradients/CAM and CUDA keep using torch.
    """
    return shared_models().predictor(name, device_str, precision)


def prepare_predictor(name: str, device_str: str, precision: str = "auto") -> None:
    """Pay the one-off preparation of ``name``'s fast path here, with a progress bar.

    Export, build, check and timing: seconds once per model and machine (the results are cached
    on disk), a fraction of a second on later starts, nothing once it is in memory. A failure is
    not shown: get_predictor then keeps the model in torch.
    """
    if torch.device(device_str).type != "cpu" or shared_models().has_predictor(name, device_str, precision):
        return
    bar = st.progress(0.0, text=_("Preparing for fast CPU inference…"))
    try:
        shared_models().predictor(name, device_str, precision, progress=lambda done, total, text='': bar.progress(
            fraction(done, total), text=text))
    finally:
        bar.empty()


def get_cam_model(name: str, device_str: str) -> nn.Module:
    """A private instance of ``name`` for hooks and gradients (see zoo.inference.cam.cam_instance).

    A copy of the shared model when its weights are here, else a seeded random-init network
    (``zoo_random_weights``), each under its own key. Never the shared instance itself.
    """
    return shared_models().cam_model(name, device_str)


def _clear() -> None:
    shared_models().clear()


# Tests (and a page that must forget stale models) call get_model.clear(), as with st.cache_resource.
get_model.clear = _clear  # type: ignore[attr-defined]
get_predictor.clear = _clear  # type: ignore[attr-defined]
get_cam_model.clear = _clear  # type: ignore[attr-defined]
