"""Pretrained models, each a new eval-mode instance; callers that share one must never mutate it.

torchvision's models are built by torchvision itself, ``get_model(name, weights=...)``, once our
hash-checked download (:mod:`zoo.inference.weights`) has put the checkpoint where torch.hub keeps
it: its builders apply their own quirks when given weights (DenseNet's old key names, GoogLeNet
dropping its auxiliary heads, Inception's ``transform_input``). Models the zoo defines itself
load their checkpoint through the catalogue entry's ``fix_state_dict``.
"""
from __future__ import annotations

import collections
import os
import pickle
import threading

import torch
from torch import nn

from zoo import registry
from zoo.i18n import _
from zoo.inference import weights as W

# Every checkpoint this process reads is unpickled with weights_only=True, including inside
# torchvision's builders (torch.hub calls torch.load with weights_only=False): a file that carries
# pickled code is refused rather than run. torch reads this at each torch.load.
os.environ.setdefault("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")

# (name, device) -> how many times this process built and loaded that model. A shared cache
# should leave every count at 1 however many sessions ask; benchmarks and tests read it.
LOAD_COUNTS: collections.Counter[tuple[str, str]] = collections.Counter()
_COUNTS_LOCK = threading.Lock()

RANDOM_SEED = 0  # random-init stand-ins are reproducible, so CPU and GPU see the same network

# What a checkpoint that cannot be read or does not fit the architecture raises: unpickling
# refusals (weights_only), torch's own format and shape errors, truncated files.
_UNREADABLE = (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, KeyError)


def _read(entry: registry.ModelEntry, path) -> nn.Module:
    """``entry`` on the CPU with the checkpoint at ``path`` loaded (strictly)."""
    if entry.from_torchvision:
        from torchvision.models import get_model

        # ensure_weights put the file under torch.hub's own name, so no download happens here.
        return get_model(entry.name, weights=entry.weights, progress=False)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if entry.fix_state_dict is not None:
        state = entry.fix_state_dict(state)
    model = entry.build("cpu", seed=RANDOM_SEED)  # seeded: faster than default init, overwritten anyway
    model.load_state_dict(state, strict=True)
    return model


def read_pretrained(name: str, progress: W.Progress | None = None, *, allow_download: bool = False) -> nn.Module:
    """``name`` with its published weights, hash-checked and read with ``weights_only=True``.

    A cached file that passes its hash but will not load (pickled code, a damaged archive, or
    tensors that do not fit the architecture) is removed and fetched once more; if that copy
    fails too it is removed and the error says so.
    """
    entry = registry.get(name)
    path = W.ensure_weights(name, progress, allow_download=allow_download)
    try:
        return _read(entry, path)
    except _UNREADABLE as e:
        if not W.discard(name):  # bundled: nothing we may delete or re-fetch
            raise W.WeightsUnavailableError(
                _("The checkpoint {file} cannot be read as PyTorch weights.").format(file=path.name)) from e
    path = W.ensure_weights(name, progress, allow_download=allow_download)
    try:
        return _read(entry, path)
    except _UNREADABLE as e:
        W.discard(name)
        raise W.WeightsDownloadError(
            _("{file} was fetched again but still cannot be read as PyTorch weights, so it was removed.").format(
                file=path.name)
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
        model = read_pretrained(name, progress, allow_download=allow_download)
        random_weights = False
    except W.WeightsUnavailableError:
        if not allow_random:
            raise
        model = entry.build("cpu", seed=RANDOM_SEED)
        random_weights = True
    model.zoo_random_weights = random_weights
    model = model.to(device).eval()
    with _COUNTS_LOCK:
        LOAD_COUNTS[(name, str(device))] += 1
    return model
