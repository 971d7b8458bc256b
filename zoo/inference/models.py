"""Pretrained models, each a new eval-mode instance; callers that share one must never mutate it."""
from __future__ import annotations

import collections
import pickle
import re
import threading

import torch
from torch import nn

from zoo import registry
from zoo.inference import weights as W

# (name, device) -> how many times this process built and loaded that model. A shared cache
# should leave every count at 1 however many sessions ask; benchmarks and tests read it.
LOAD_COUNTS: collections.Counter[tuple[str, str]] = collections.Counter()
_COUNTS_LOCK = threading.Lock()

RANDOM_SEED = 0  # random-init stand-ins are reproducible, so CPU and GPU see the same network

# Old DenseNet checkpoints name layers 'norm.1'; torchvision's module is 'norm1' (see its densenet.py).
_DENSENET_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")

# GoogLeNet and Inception v3 were trained in TF on (x - 0.5) / 0.5 inputs: with the published
# weights torchvision sets transform_input=True, which maps ImageNet-normalised input to that.
_TRANSFORM_INPUT = ("googlenet", "inception_v3")


def _read_state_dict(name: str, path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if name == "efficientnet_lite0":
        from zoo.models.efficientnet_lite import remap_checkpoint

        return remap_checkpoint(state)
    if name.startswith("densenet"):
        state = {(_DENSENET_KEY.sub(r"\1\2", k)): v for k, v in state.items()}
    return state


_UNREADABLE = (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError)


def load_state_dict(name: str, progress: W.Progress | None = None, *, allow_download: bool = False) -> dict:
    """The published state dict of ``name``, hash-checked and read with ``weights_only=True``.

    A cached file that passes its hash but will not load (or carries pickled code, which
    ``weights_only`` refuses) is removed and fetched once more.
    """
    path = W.ensure_weights(name, progress, allow_download=allow_download)
    try:
        return _read_state_dict(name, path)
    except _UNREADABLE as e:
        if not W.discard(name):  # bundled: nothing we may delete or re-fetch
            raise W.WeightsUnavailableError(f"The checkpoint {path.name} cannot be read as PyTorch weights.") from e
    path = W.ensure_weights(name, progress, allow_download=allow_download)
    try:
        return _read_state_dict(name, path)
    except _UNREADABLE as e:
        W.discard(name)
        raise W.WeightsDownloadError(
            f"{path.name} was fetched again but still cannot be read as PyTorch weights, so it was removed."
        ) from e


def load_model(name: str, device: str | torch.device = "cpu", *, allow_random: bool = False,
               progress: W.Progress | None = None, allow_download: bool = False) -> nn.Module:
    """A new eval-mode ``name`` on ``device`` with its pretrained weights.

    Args:
        allow_random: when the weights cannot be had, return a seeded random-init instance
            marked ``model.zoo_random_weights = True`` instead of raising WeightsUnavailableError.
        allow_download: fetch missing torchvision weights (with ``progress``); off by default
            so that no page starts a large download the user did not ask for.
    """
    entry = registry.get(name)
    device = torch.device(device)
    try:
        state = load_state_dict(name, progress, allow_download=allow_download)
    except W.WeightsUnavailableError:
        if not allow_random:
            raise
        state = None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_SEED)
        model = entry.build("cpu")
    if state is not None:
        model.load_state_dict(state, strict=True)
        if name in _TRANSFORM_INPUT:
            model.transform_input = True
    model.zoo_random_weights = state is None
    model = model.to(device).eval()
    with _COUNTS_LOCK:
        LOAD_COUNTS[(name, str(device))] += 1
    return model
