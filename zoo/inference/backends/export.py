"""Each model exported once to ONNX: the graph ONNX Runtime runs and OpenVINO converts."""
from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from pathlib import Path

import torch
from torch import nn

from zoo.inference.backends import cache

OPSET = 17  # supported by every ONNX Runtime release since 1.14; covers all ops the catalogue uses
_SAMPLES_PER_TENSOR = 4096


def fingerprint(model: nn.Module, input_size: int) -> str:
    """A key that changes whenever the exported graph would: weights, class, input size, toolchain.

    Hashes every tensor's name, shape, dtype and the bytes of ~4096 evenly strided elements:
    milliseconds even for VGG, and it tells the published weights from a random-init stand-in.
    (Every backend is also checked against eager torch before it is used.)
    """
    h = hashlib.sha256()
    h.update(f"{type(model).__module__}.{type(model).__qualname__}|{input_size}|{OPSET}|{torch.__version__}".encode())
    # A Python attribute that changes the graph without touching the state dict (GoogLeNet, Inception v3).
    h.update(f"|transform_input={getattr(model, 'transform_input', None)}".encode())
    with torch.no_grad():
        for key, t in model.state_dict().items():
            h.update(f"|{key}:{tuple(t.shape)}:{t.dtype}:".encode())
            flat = t.detach().reshape(-1)
            if flat.numel():
                h.update(flat[:: max(1, flat.numel() // _SAMPLES_PER_TENSOR)].contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def export_path(name: str, model: nn.Module, input_size: int) -> Path:
    return cache.cache_dir() / f"{name}-{input_size}px-{fingerprint(model, input_size)}.onnx"


def export(model: nn.Module, path: Path, input_size: int) -> None:
    """Write ``model`` as ONNX (batch axis dynamic, ``input_size`` square) to ``path`` atomically."""
    x = torch.zeros(1, 3, input_size, input_size)

    def write(tmp: Path) -> None:
        # The TorchScript-based exporter: the torch.export one needs onnxscript, one more dependency,
        # and produces the same graph for these feed-forward CNNs. Its deprecation notice is not for users.
        with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), str(tmp), dynamo=False, opset_version=OPSET, input_names=["input"],
                              output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})

    cache.atomic_write(path, write)
