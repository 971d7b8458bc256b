"""Precision lab: fp32, bf16 and int8 as number formats, and one model on one photo in each, measured here.

The formats' bits and ranges come from ``torch.finfo`` / ``torch.iinfo``; a number is stored in
each by torch's own conversion (bf16, fp16) or by the affine int8 rule q = round(x / s) clipped to
[-128, 127], s = calibrated range / 127. The live part is :func:`zoo.inference.precision.compare_precisions`
(the engine the fast CPU path uses): nothing here is typed in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch
from PIL import Image
from torch import nn

from zoo.i18n import N_, _
from zoo.inference.precision import PrecisionComparison, compare_precisions

FLOAT_FORMATS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
MANTISSA = 3.14159  # the lab's number is MANTISSA x 10^p: a few significant digits to lose
INT8_LEVELS = 127  # symmetric int8: -127..127 used, so 0 maps to 0 exactly
CALIBRATIONS = (0.5, 1.0, 2.0, 10.0, 100.0)  # calibrated range / |x|: too narrow, exact, then ever wider
NOTES = {"ok": N_("stored"), "inf": N_("overflow: becomes inf"), "zero": N_("underflow: becomes 0"),
         "sub": N_("subnormal: digits lost"), "clip": N_("clipped to the calibrated range")}


@dataclass
class PrecisionLab:
    comparison: PrecisionComparison
    table: pd.DataFrame  # one row per precision that ran
    top5: pd.DataFrame  # long form: precision, class, prob (None outside that precision's top-5)


def number_formats() -> pd.DataFrame:
    """Bits (sign, exponent, fraction), largest value, smallest normal value and step at 1 of each format."""
    rows = []
    for name, dtype in FLOAT_FORMATS.items():
        f = torch.finfo(dtype)
        fraction = round(-math.log2(f.eps))
        rows.append({"format": name, "bits": f.bits, "sign": 1, "exponent": f.bits - 1 - fraction,
                     "fraction": fraction, "max": float(f.max), "smallest_normal": float(f.tiny), "step_at_1": f.eps})
    i = torch.iinfo(torch.int8)
    rows.append({"format": "int8", "bits": i.bits, "sign": 1, "exponent": 0, "fraction": i.bits - 1,
                 "max": float(i.max), "smallest_normal": 1.0, "step_at_1": 1.0})
    return pd.DataFrame(rows)


def stored(power: int, calibration: float) -> pd.DataFrame:
    """x = MANTISSA·10^power stored in each format: the value read back and its relative error.

    int8 stores x with the scale s = calibration·|x| / 127: a range calibrated on x itself
    (calibration 1) keeps it to 1/127 or better; a narrower one clips, a wider one wastes levels.
    """
    x = MANTISSA * 10.0**power
    x64 = torch.tensor(x, dtype=torch.float64)
    rows = []
    for name, dtype in FLOAT_FORMATS.items():
        back = float(x64.to(dtype).double())
        note = ("inf" if math.isinf(back) else "zero" if back == 0 else
                "sub" if abs(back) < torch.finfo(dtype).tiny else "ok")
        rows.append((name, back, note))
    scale = calibration * abs(x) / INT8_LEVELS
    q = round(x / scale)
    rows.append(("int8", max(-INT8_LEVELS, min(INT8_LEVELS, q)) * scale, "clip" if abs(q) > INT8_LEVELS else "ok"))
    df = pd.DataFrame(rows, columns=["format", "stored", "note"])
    df["relative_error"] = [abs(v - x) / x if math.isfinite(v) else math.inf for v in df["stored"]]
    df["note"] = [_(NOTES[n]) for n in df["note"]]
    return df


def measure(name: str, digest: str, _model: nn.Module, _image: Image.Image) -> PrecisionLab:
    """``_image`` (whose pixels hash to ``digest``) through ``_model`` in fp32, bf16 and int8 on this machine.

    A few warm passes per precision, interleaved, about a second in all after the one-off export;
    cached by (name, digest) in the page, so a rerun costs nothing.
    """
    c = compare_precisions(name, _model, _image)
    return PrecisionLab(c, _table(c), _top5(c))


def _table(c: PrecisionComparison) -> pd.DataFrame:
    """One row per precision that ran: latency, weights size, top-1 and agreement with fp32 PyTorch."""
    rows = []
    for r in c.runs:
        if not r.available:
            continue
        rows.append({"precision": r.precision, "backend": r.label, "ms": r.ms, "runs": r.runs,
                     "weights_mb": r.weights_bytes / 1e6, "top1": r.top[0][1], "top1_prob": r.top[0][2],
                     "top5_same": r.top5_same, "max_prob_shift": r.max_prob_shift})
    return pd.DataFrame(rows)


def _top5(c: PrecisionComparison) -> pd.DataFrame:
    """The classes in any precision's top-5, with each precision's probability (long form, for a chart)."""
    ran = [r for r in c.runs if r.available]
    labels = {i: label for r in ran for i, label, _p in r.top}
    rows = []
    for r in ran:
        probs = {i: p for i, _label, p in r.top}
        rows += [{"precision": r.precision, "class": labels[i], "prob": probs.get(i)} for i in labels]
    return pd.DataFrame(rows)
