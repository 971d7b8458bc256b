"""Pretrained models shared by every session of this Streamlit process (a module imported by pages, not a page).

One instance per (model, device), loaded once however many sessions ask at the same moment
(``st.cache_resource`` computes a missing key under a per-key lock) and then only read:
callers must not call ``.to()``, ``.train()``, ``.half()`` or register hooks on what they get.
Code that needs a changed model (Grad-CAM hooks, gradients) loads its own with
``zoo.inference.models.load_model``.
"""
from __future__ import annotations

import streamlit as st
from torch import nn

from zoo.inference.models import load_model
from zoo.inference.predict import configure_concurrency, warm_up

# Once per process: inference slots x torch threads ~ CPU cores, so that twenty sessions pressing
# "predict" together queue for a slot instead of oversubscribing the cores.
SLOTS, THREADS = configure_concurrency()

# The largest catalogue models (VGG) take ~0.5 GB each; eight of them still fit a modest server.
MAX_MODELS = 8


@st.cache_resource(max_entries=MAX_MODELS, show_spinner=False)
def get_model(name: str, device_str: str) -> nn.Module:
    """The shared eval-mode ``name`` on ``device_str`` with its cached pretrained weights.

    Raises zoo.inference.weights.WeightsUnavailableError (not cached: nothing is stored, so a
    later call after a download succeeds) rather than downloading behind the user's back.
    """
    model = load_model(name, device_str)
    warm_up(model, name, device=device_str)  # so no session sees the one-off first-pass cost as latency
    return model
