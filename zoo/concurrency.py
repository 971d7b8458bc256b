"""Process-wide execution settings, in one place: threads, inference slots and random numbers.

:func:`configure` is called once when a process starts (``app.py``, the CLI, a benchmark) and
is the only code that changes torch's thread count. Everything on a request path only *reads*
these settings: a forward pass holds an :func:`inference_slot`, and code that needs random
numbers (random-weight stand-ins, the labs' toy networks, noise inputs) draws them from its own
:func:`generator`, never from torch's global RNG, so concurrent sessions cannot change each
other's results or the server's state.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
from typing import Iterator

import torch
from torch import nn

_LOCK = threading.Lock()
# How many forward passes may run at once. Each CPU pass already uses several threads, so more
# slots than cores only adds contention and memory; the rest wait their turn. One until configured.
_SLOTS = threading.BoundedSemaphore(1)
_SLOTS_N = 1
_CONFIGURED: tuple[int, int] | None = None


def configure(slots: int | None = None, threads: int | None = None) -> tuple[int, int]:
    """Size the inference semaphore and torch's intra-op threads so slots x threads ~ cores.

    Defaults: half the cores as slots (at least 1, at most 4) and the cores shared between them.
    Call once at start-up; later calls with the same values are no-ops. Returns (slots, threads).
    """
    global _SLOTS, _SLOTS_N, _CONFIGURED
    cores = os.cpu_count() or 1
    slots = slots or max(1, min(4, cores // 2))
    threads = threads or max(1, cores // slots)
    with _LOCK:
        if slots != _SLOTS_N:
            _SLOTS, _SLOTS_N = threading.BoundedSemaphore(slots), slots
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        _CONFIGURED = (slots, threads)
    return slots, threads


def slots() -> int:
    """How many forward passes may run at once in this process."""
    return _SLOTS_N


def threads() -> int:
    """Intra-op threads each forward pass uses (what ONNX Runtime sessions are sized to as well)."""
    return torch.get_num_threads()


_HELD = threading.local()  # how deep this thread is inside inference_slot()


@contextlib.contextmanager
def inference_slot() -> Iterator[None]:
    """Hold one of the process's inference slots for the duration of the block.

    Re-entrant within a thread: a heavy action that holds a slot (occlusion, a CAM) and calls
    code that takes one again (a forward pass) keeps the one it has instead of waiting for itself.
    """
    depth = getattr(_HELD, "depth", 0)
    if depth:
        _HELD.depth = depth + 1
        try:
            yield
        finally:
            _HELD.depth = depth
        return
    sem = _SLOTS
    with sem:
        _HELD.depth = 1
        try:
            yield
        finally:
            _HELD.depth = 0


# -- random numbers ------------------------------------------------------------------------------

def generator(seed: int) -> torch.Generator:
    """A private CPU random generator: reproducible, and invisible to every other caller."""
    return torch.Generator().manual_seed(int(seed))


@torch.no_grad()
def init_weights(model: nn.Module, seed: int) -> nn.Module:
    """Fill every parameter and buffer of ``model`` (materialised, on any device) from ``seed``.

    He (Kaiming) normal for convolution and linear weights, as torchvision's ResNets initialise
    themselves; biases 0; norm layers scale 1, shift 0, running mean 0, variance 1. It stands in
    for each module's own ``reset_parameters`` (which draws from the global RNG): the same seed
    gives the same network on the CPU and the GPU, whatever else runs at the same time.
    """
    gen = generator(seed)
    for module in model.modules():
        for pname, p in module.named_parameters(recurse=False):
            cpu = torch.empty(p.shape, dtype=torch.float32)
            if pname == "weight" and p.dim() >= 2:
                fan_in = p[0].numel()  # in_channels / groups x kernel area, or in_features
                cpu.normal_(0.0, math.sqrt(2.0 / max(fan_in, 1)), generator=gen)
            elif pname == "weight":  # a 1-D weight is a norm layer's scale
                cpu.fill_(1.0)
            elif pname == "bias":
                cpu.zero_()
            else:  # anything else learnable (a scale, an embedding): small noise
                cpu.normal_(0.0, 0.02, generator=gen)
            p.copy_(cpu.to(p.dtype))
        for bname, b in module.named_buffers(recurse=False):
            if bname == "running_var":
                b.fill_(1)
            elif b.is_floating_point() or bname == "num_batches_tracked":
                b.zero_()
    return model


def random_input(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Standard-normal noise of ``shape`` from a private generator (CPU, float32)."""
    return torch.randn(*shape, generator=generator(seed))


__all__ = ["configure", "generator", "inference_slot", "init_weights", "random_input", "slots", "threads"]
