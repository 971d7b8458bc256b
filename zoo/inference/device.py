"""Which device runs inference: CUDA if there is one, else Apple MPS, else the CPU.

``ZOO_DEVICE`` (cuda, mps or cpu) overrides the automatic choice, e.g. to compare a GPU
machine's CPU latency without editing code.
"""
from __future__ import annotations

import os

import torch

from zoo.errors import ZooError
from zoo.i18n import N_, _, ngettext

DEVICE_ENV = "ZOO_DEVICE"
_KNOWN = ("cuda", "mps", "cpu")


class DeviceUnavailableError(ZooError, ValueError):
    """A device that was asked for by name but that this machine does not have."""


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Device types this process can run on, fastest first."""
    out = []
    if torch.cuda.is_available():
        out.append("cuda")
    if _mps_available():
        out.append("mps")
    out.append("cpu")
    return out


_FORMS = N_("auto, cpu, cuda, cuda:N or mps")


def pick_device(prefer: str | None = None) -> torch.device:
    """``prefer`` (None or "auto" = the fastest available, or ``$ZOO_DEVICE``); one rule for every caller.

    Accepted: ``auto``, ``cpu``, ``mps``, ``cuda`` and ``cuda:N`` (N an existing GPU index), any case.
    Raises DeviceUnavailableError, one sentence, for anything else or a device this machine lacks.
    """
    raw = prefer if prefer is not None else os.environ.get(DEVICE_ENV)
    choice = (raw or "").strip().lower() or "auto"
    source = f"${DEVICE_ENV}=" if prefer is None and raw else ""
    have = available_devices()
    if choice == "auto":
        return torch.device(have[0])
    kind, _sep, index = choice.partition(":")
    if kind not in _KNOWN or (index and (kind != "cuda" or not index.isdecimal() or not index.isascii())):
        raise DeviceUnavailableError(_("Unknown device {device}: use {forms}.").format(
            device=f"{source}'{choice[:40]}'", forms=_(_FORMS)))
    if kind not in have:
        raise DeviceUnavailableError(_("This machine has no {kind} device; available: {available}.").format(
            kind=kind.upper(), available=", ".join(have)))
    if index and int(index) >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise DeviceUnavailableError(
            _("This machine has no GPU {index}; it has {count} (cuda:0 .. cuda:{last}).").format(
                index=int(index), count=count, last=count - 1))
    return torch.device(choice)


def device_label(device: str | torch.device) -> str:
    """A short badge text such as ``CUDA · NVIDIA H200``, ``Apple MPS`` or ``CPU · 2 threads``."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"CUDA · {torch.cuda.get_device_name(index)}"
    if device.type == "mps":
        return "Apple MPS"
    if device.type == "cpu":
        threads = torch.get_num_threads()
        return ngettext("CPU · {n} thread", "CPU · {n} threads", threads).format(n=threads)
    return device.type.upper()


def supports_half(device: str | torch.device) -> bool:
    """Half precision is offered on CUDA only: CPU float16 kernels are slow or missing."""
    return torch.device(device).type == "cuda"
