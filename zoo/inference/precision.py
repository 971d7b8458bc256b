"""The precision lab's engine: one model and one photo in fp32, bf16 and int8, measured live on this machine.

Each precision runs on the same backend where it can (OpenVINO: its fp32 and bf16 differ only in
the precision hint), so the comparison isolates the number format: latency (warm median,
interleaved), the size of the weights in that format, the top-k, and how far every class
probability moved from eager PyTorch fp32. Nothing is typed in: a precision this machine cannot
run comes back unavailable, with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from PIL import Image
from torch import nn

from zoo import concurrency, registry
from zoo.i18n import N_
from zoo.inference import backends, fast_cpu
from zoo.inference.backends import cache, capabilities, choice, openvino_cpu, quantize
from zoo.inference.backends.base import BackendError, Source, Variant

BYTES_PER_VALUE = {"fp32": 4, "bf16": 2}  # int8's size is read from its quantized file (scales and biases stay float)
# Reasons are English msgids (N_): the precision lab shows them through _() in the session's language.
INT8_REASON = N_("int8 needs ONNX Runtime (its quantizer calibrates the model), which is not installed here.")
TIMING_BUDGET_S = 1.0


@dataclass
class PrecisionRun:
    precision: str
    backend: str
    label: str
    available: bool
    reason: str | None = None  # why it cannot run here (one sentence)
    ms: float | None = None  # median of the warm forward passes, interleaved with the other precisions
    runs: int = 0
    weights_bytes: int | None = None  # the model's parameters stored in this format (int8: the quantized file's)
    top: list[tuple[int, str, float]] = field(default_factory=list)
    max_prob_shift: float | None = None  # largest |p - p_fp32| over all classes, against eager PyTorch
    top1_same: bool | None = None
    top5_same: bool | None = None  # the same five classes (in any order)


@dataclass
class PrecisionComparison:
    model: str
    input_size: int
    runs: list[PrecisionRun]
    bf16_hardware: str | None  # "AMX", "AVX512-BF16" or None (from the CPU; masked by ZOO_ISA)
    int8_hardware: str | None  # "AMX", "AVX512-VNNI", "AVX-VNNI" or None
    capabilities: list[str]  # OpenVINO's OPTIMIZATION_CAPABILITIES after the mask
    int8_calibration: quantize.Calibration | None = None  # what calibration built, read from the int8 file

    def run(self, precision: str) -> PrecisionRun:
        return next(r for r in self.runs if r.precision == precision)


def _variant_for(precision: str) -> tuple[Variant | None, str | None]:
    """The backend each precision runs on here, or None with the reason."""
    ov_missing = backends.BACKENDS["openvino"].missing()
    if precision == "int8":  # the quantizer is ONNX Runtime's; OpenVINO runs its file where installed
        if backends.BACKENDS["onnxruntime"].missing():
            return None, INT8_REASON
        return Variant("onnxruntime" if ov_missing else "openvino", "int8"), None
    if precision == "bf16":
        if ov_missing:
            return None, f"{ov_missing.rstrip('.')}: bf16 needs it here."
        if not capabilities.has_bf16():
            return None, N_("This CPU does not compute in bfloat16 (OpenVINO reports no BF16 capability).")
        return Variant("openvino", "bf16"), None
    if not ov_missing:
        return Variant("openvino", "fp32"), None
    if not backends.BACKENDS["onnxruntime"].missing():
        return Variant("onnxruntime", "fp32"), None
    return Variant("torch", "fp32"), None


def compare_precisions(name: str, model: nn.Module, image: Image.Image, *, topk: int = 5,
                       precisions: tuple[str, ...] = ("fp32", "bf16", "int8"),
                       budget_s: float = TIMING_BUDGET_S, progress=None) -> PrecisionComparison:
    """``image`` through ``model`` (eval mode, CPU) in each of ``precisions``; see the module docstring.

    Builds its own runners (about a second per precision the first time, from the cached export;
    int8's first time calibrates it, seconds, reported to ``progress``), so call it from a cached
    function, not on every rerun.
    """
    from zoo.inference.view import build_transform

    entry = registry.get(name)
    x = build_transform(entry)(image).unsqueeze(0).contiguous()
    side = int(x.shape[-1])
    with concurrency.inference_slot(), torch.inference_mode():
        reference = model(x).float().softmax(-1)[0]
    params = sum(p.numel() for p in model.parameters())
    labels = entry.categories or []
    runs: dict[str, PrecisionRun] = {}
    runners = {}
    src = None
    calibration = None
    for precision in precisions:
        variant, reason = _variant_for(precision)
        base = dict(precision=precision, weights_bytes=params * BYTES_PER_VALUE[precision]
                    if precision in BYTES_PER_VALUE else None)
        if variant is None:
            runs[precision] = PrecisionRun(backend="", label=precision, available=False, reason=reason, **base)
            continue
        label = fast_cpu.variant_label(variant)
        try:
            if variant.backend == "torch":
                runner = backends.torch_eager.TorchRunner(model)
            else:
                if src is None:
                    path = fast_cpu.ensure_export(name, model, input_size=side)
                    src = Source(name, model, side, path, torch.get_num_threads(), not cache.readonly())
                with quantize.reporting(progress):
                    runner = backends.open_runner(variant, src)
                if precision == "int8":
                    calibration = quantize.describe(quantize.int8_path(src))
                    base["weights_bytes"] = calibration.weight_bytes
        except (BackendError, fast_cpu.FastPathError) as e:
            reason = e.translated() if isinstance(e, quantize.QuantizeError) else str(e)
            runs[precision] = PrecisionRun(backend=variant.backend, label=label, available=False, reason=reason,
                                           **base)
            continue
        runners[precision] = runner
        runs[precision] = PrecisionRun(backend=variant.backend, label=label, available=True, **base)

    def in_slot(run):
        def call(a):
            with concurrency.inference_slot():
                return run(a)
        return call

    if src is not None:
        openvino_cpu.forget(src)  # the parsed graph; each compiled model keeps what it needs
    if runners:
        timed = {Variant("lab", p): in_slot(r) for p, r in runners.items()}
        timings = choice.time_runners(timed, x.numpy(), budget_s=budget_s)
        for v in timed:
            runs[v.precision].ms, runs[v.precision].runs = timings.median[v], timings.runs[v]
    want5 = set(reference.topk(5).indices.tolist())
    for precision, runner in runners.items():
        with concurrency.inference_slot():
            probs = torch.from_numpy(runner(x.numpy())).float().softmax(-1)[0]
        values, indices = probs.topk(min(topk, probs.numel()))
        r = runs[precision]
        r.top = [(int(i), labels[int(i)] if int(i) < len(labels) else str(int(i)), float(v))
                 for v, i in zip(values, indices)]
        r.max_prob_shift = float((probs - reference).abs().max())
        r.top1_same = int(probs.argmax()) == int(reference.argmax())
        r.top5_same = set(probs.topk(5).indices.tolist()) == want5
    fast_cpu.release_freed_memory()
    return PrecisionComparison(name, side, [runs[p] for p in precisions], capabilities.bf16_hardware(),
                               capabilities.int8_hardware(), sorted(capabilities.capabilities()), calibration)
