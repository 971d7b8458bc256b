"""What this CPU can do, as the runtime reports it, never guessed from the CPU's name.

OpenVINO's ``OPTIMIZATION_CAPABILITIES`` lists ``BF16`` where the CPU computes in bfloat16 (AMX or
AVX512-BF16). ``ZOO_ISA=avx2`` hides it, to see on this machine what a typical AVX2-only laptop
would choose; OpenVINO is then told to compute in f32 (``INFERENCE_PRECISION_HINT``).
"""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

ISA_ENV = "ZOO_ISA"
# What each simulated instruction set lacks, in OPTIMIZATION_CAPABILITIES' words.
MASKS = {"native": frozenset(), "avx512": frozenset({"BF16", "FP16"}), "avx2": frozenset({"BF16", "FP16"})}


@functools.lru_cache(maxsize=1)
def runtime_capabilities() -> frozenset[str]:
    """OpenVINO's OPTIMIZATION_CAPABILITIES for the CPU; empty when OpenVINO is not installed."""
    try:
        import openvino as ov

        return frozenset(str(c) for c in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    except Exception:  # noqa: BLE001 - not installed, or a runtime that cannot see the CPU: nothing to offer
        return frozenset()


def isa() -> str:
    """The ``ZOO_ISA`` setting ("native" when unset or not understood)."""
    value = os.environ.get(ISA_ENV, "").strip().lower() or "native"
    if value not in MASKS:
        log.warning("ignoring %s=%r: use one of %s", ISA_ENV, value, ", ".join(MASKS))
        return "native"
    return value


def capabilities() -> frozenset[str]:
    """The runtime's capabilities after ``ZOO_ISA``'s mask."""
    return runtime_capabilities() - MASKS[isa()]


def has_bf16() -> bool:
    return "BF16" in capabilities()


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (Linux; empty elsewhere): for labels and reports only."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def bf16_hardware() -> str | None:
    """Which instructions compute bfloat16 here ("AMX" or "AVX512-BF16"), for labels; None when unknown or masked."""
    if not has_bf16():
        return None
    flags = cpu_flags()
    if "amx_bf16" in flags:
        return "AMX"
    if "avx512_bf16" in flags:
        return "AVX512-BF16"
    return None


def int8_hardware() -> str | None:
    """Which instructions speed up int8 dot products here ("AMX", "AVX512-VNNI", "AVX-VNNI"), for labels."""
    flags = cpu_flags()
    for flag, label in (("amx_int8", "AMX"), ("avx512_vnni", "AVX512-VNNI"), ("avx_vnni", "AVX-VNNI")):
        if flag in flags and (isa() == "native" or label == "AVX-VNNI"):
            return label
    return None


def describe() -> dict:
    """Everything the backend choice depends on about this CPU (part of the choice's cache key)."""
    return {"capabilities": sorted(capabilities()), "isa": isa(), "cores": os.cpu_count()}
