"""Pretrained models shared by every session of this Streamlit process (a module imported by pages, not a page).

One instance per (model, device), loaded once however many sessions ask at the same moment
(``st.cache_resource`` computes a missing key under a per-key lock) and then only read:
callers must not call ``.to()``, ``.train()``, ``.half()`` or register hooks on what they get.
Code that needs a changed model (Grad-CAM hooks, gradients) loads its own with
``zoo.inference.models.load_model``.
"""
from __future__ import annotations

import sys
import time

import streamlit as st
import torch
from torch import nn

from zoo.inference import fast_cpu
from zoo.inference.models import LOAD_COUNTS, load_model
from zoo.inference.predict import warm_up
from zoo.progress import fraction

# The largest catalogue models (VGG) take ~0.5 GB each; eight of them still fit a modest server.
MAX_MODELS = 8


@st.cache_resource(max_entries=MAX_MODELS, show_spinner=False)
def get_model(name: str, device_str: str) -> nn.Module:
    """The shared eval-mode ``name`` on ``device_str`` with its cached pretrained weights.

    Raises zoo.inference.weights.WeightsUnavailableError (not cached: nothing is stored, so a
    later call after a download succeeds) rather than downloading behind the user's back.
    """
    start = time.perf_counter()
    model = load_model(name, device_str)
    warm_up(model, name, device=device_str)  # so no session sees the one-off first-pass cost as latency
    # One line per load on the server's stderr: operators see what memory goes to, and
    # bench/bench_load.py counts these lines to check each model is loaded once per process.
    print(f"zoo: loaded {name} on {device_str} (load {LOAD_COUNTS[(name, str(torch.device(device_str)))]} "
          f"in this process, {time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
    return model


@st.cache_resource(max_entries=MAX_MODELS, show_spinner=False)
def get_predictor(name: str, device_str: str) -> nn.Module:
    """What plain forward passes of ``name`` run on: ONNX Runtime on the CPU where it works, else get_model's.

    ONNX Runtime runs these CNNs 1.3-3x faster than eager torch on a CPU (bench/bench_predict.py)
    with the same top-5 to 1e-4; it reuses the export cached on disk (see prepare_predictor), and
    any failure leaves the torch model in place. Gradients/CAM and CUDA keep using torch.
    """
    model = get_model(name, device_str)
    if torch.device(device_str).type != "cpu":
        return model
    fast = fast_cpu.accelerate(name, model)
    print(f"zoo: {name} forward passes on {fast.backend} ({fast.reason or f'ready in {fast.build_s:.1f} s'})",
          file=sys.stderr, flush=True)
    return fast.module


def prepare_predictor(name: str, device_str: str) -> None:
    """Pay the one-off ONNX export of ``name`` here, with a progress bar, before any prediction needs it.

    Seconds once per model and weights (the file is cached on disk); a no-op afterwards. Runs
    outside the cached functions so the bar can live in the page. An exporter failure is not
    shown: get_predictor then keeps the model in torch.
    """
    if torch.device(device_str).type != "cpu":
        return
    model = get_model(name, device_str)
    if not fast_cpu.needs_export(name, model):
        return
    bar = st.progress(0.0, text="Preparing for fast CPU inference…")
    try:
        fast_cpu.ensure_export(name, model, progress=lambda done, total, text='': bar.progress(
            fraction(done, total), text=text))
    except fast_cpu.FastPathError:
        pass
    finally:
        bar.empty()


@st.cache_resource(max_entries=2, show_spinner=False)
def get_cam_model(name: str, device_str: str) -> nn.Module:
    """A private instance of ``name`` for hooks and gradients (see zoo.inference.cam.cam_instance).

    A copy of the shared model when its weights are here, else a seeded random-init network
    (``zoo_random_weights``). Never the shared instance itself; few are kept, since each is a
    full copy of the weights.
    """
    from zoo.inference import cam
    from zoo.inference.weights import WeightsUnavailableError

    try:
        return cam.cam_instance(get_model(name, device_str))
    except WeightsUnavailableError:
        return cam.cam_instance(load_model(name, device_str, allow_random=True), copy_model=False)
