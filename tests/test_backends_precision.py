"""The precision lab's engine: the same model and photo in fp32, bf16 and int8, measured, never typed in."""
from __future__ import annotations

import pytest

from zoo.inference import fast_cpu as F
from zoo.inference import precision as P
from zoo.inference.backends import capabilities
from zoo.inference.images import load_sample
from zoo.inference.models import load_model

pytest.importorskip("onnxruntime")
CATS = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.fixture
def lite0(tmp_path, monkeypatch):
    monkeypatch.setenv(F.CACHE_ENV, str(tmp_path))
    for env in (F.BACKEND_ENV, F.READONLY_ENV, capabilities.ISA_ENV):
        monkeypatch.delenv(env, raising=False)
    return load_model("efficientnet_lite0")


def test_fp32_bf16_int8_side_by_side(lite0):
    report = P.compare_precisions("efficientnet_lite0", lite0, load_sample("chelsea.png"), budget_s=0.2)
    assert [r.precision for r in report.runs] == ["fp32", "bf16", "int8"] and report.input_size == 224
    fp32 = report.run("fp32")
    assert fp32.available and fp32.ms > 0 and fp32.runs >= 3 and fp32.top[0][1] in CATS
    assert fp32.max_prob_shift <= F.PROB_TOL and fp32.top1_same and fp32.top5_same
    assert report.run("bf16").weights_bytes * 2 == fp32.weights_bytes == 4 * sum(p.numel() for p in lite0.parameters())
    bf16 = report.run("bf16")
    if capabilities.has_bf16() and F.backends.BACKENDS["openvino"].missing() is None:
        # Measured, not asserted equal: bf16 moves probabilities a little (the lab shows how far).
        assert bf16.available and bf16.label.startswith("OpenVINO bf16") and 0 < bf16.max_prob_shift < 0.1
        assert bf16.top[0][1] in CATS and report.bf16_hardware in {"AMX", "AVX512-BF16", None}
    else:
        assert not bf16.available and bf16.reason.endswith(".")
    int8 = report.run("int8")  # measured live: calibrated on the sample photos, its size read from its file
    assert int8.available and int8.label.split(" int8 (calibrated")[0] in {"OpenVINO", "ONNX Runtime"}
    assert int8.top[0][1] in CATS and 0 < int8.max_prob_shift < 0.15 and int8.ms > 0
    k = report.int8_calibration
    assert k.inputs == 24 and k.per_channel == k.int8_tensors > 40 and int8.weights_bytes == k.weight_bytes
    assert fp32.weights_bytes / 4 < int8.weights_bytes < fp32.weights_bytes / 3


def test_bf16_is_unavailable_on_a_simulated_avx2_laptop(lite0, monkeypatch):
    monkeypatch.setenv(capabilities.ISA_ENV, "avx2")
    report = P.compare_precisions("efficientnet_lite0", lite0, load_sample("coffee.jpg"), precisions=("fp32", "bf16"),
                                  budget_s=0.1)
    assert report.bf16_hardware is None and "BF16" not in report.capabilities
    bf16 = report.run("bf16")
    assert not bf16.available and ("bfloat16" in bf16.reason or "not installed" in bf16.reason)
    assert report.run("fp32").top[0][1] == "espresso"
