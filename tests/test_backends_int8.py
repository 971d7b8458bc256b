"""int8: post-training quantization of the cached export, calibrated on the sample photos, run when asked for."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from zoo.__main__ import main as cli_main
from zoo.inference import backends
from zoo.inference import fast_cpu as F
from zoo.inference.backends import capabilities, check, quantize
from zoo.inference.backends.base import BackendError, Source, Variant
from zoo.inference.images import SAMPLES_DIR
from zoo.inference.models import load_model

pytest.importorskip("onnxruntime")
LITE0 = "efficientnet_lite0"
CATS = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.fixture(scope="module")
def lite0_int8(tmp_path_factory):
    """Lite0 (real weights) exported and quantized once for the module: (source, int8 path, calibration calls)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(F.CACHE_ENV, str(tmp_path_factory.mktemp("int8-cache")))
        for env in (F.BACKEND_ENV, F.READONLY_ENV, capabilities.ISA_ENV):
            mp.delenv(env, raising=False)
        model = load_model(LITE0)
        path = F.ensure_export(LITE0, model, input_size=224)
        src = Source(LITE0, model, 224, path, torch.get_num_threads(), True)
        calls = []
        original = quantize._quantize
        mp.setattr(quantize, "_quantize", lambda *a: (calls.append(a[0].name), original(*a))[1])
        reports = []
        int8 = quantize.ensure(src, lambda done, total, text="": reports.append((done, total, text)))
        yield src, int8, calls, reports


def test_quantized_file_holds_int8_weights_calibrated_with_progress(lite0_int8):
    src, int8, calls, reports = lite0_int8
    assert int8.name.startswith(src.onnx_path.stem + ".int8-") and int8.suffix == ".onnx" and calls == [LITE0]
    model = onnx.load(str(int8))
    arrays = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    conv_weights = [n.input[1] for n in onnx.load(str(src.onnx_path)).graph.node if n.op_type == "Conv"]
    int8_weights = [a for a in arrays.values() if a.dtype == np.int8 and a.ndim == 4]
    assert len(int8_weights) == len(conv_weights) > 40  # every convolution's weights stored as int8
    k = quantize.describe(int8)
    assert k.inputs == quantize.CALIBRATION_INPUTS == 24 and k.per_channel == k.int8_tensors == len(conv_weights) + 1
    fp32_bytes = sum(p.numel() * 4 for p in src.model.parameters())
    assert fp32_bytes / 4 < k.int8_bytes + k.float_bytes < fp32_bytes / 3  # real size, not params x 1
    steps = [r for r in reports if ": crop " in r[2]]
    assert len(steps) == 24 and steps[-1][:2] == (24, 24)


def test_second_call_reads_the_cache_without_calibrating(lite0_int8):
    src, int8, calls, _ = lite0_int8
    mtime = int8.stat().st_mtime_ns
    assert quantize.ensure(src) == int8 and calls == [LITE0] and int8.stat().st_mtime_ns == mtime


def test_read_only_cache_and_the_memory_bound_refuse_in_one_sentence(lite0_int8, tmp_path, monkeypatch):
    src, _, calls, _ = lite0_int8
    other = tmp_path / src.onnx_path.name
    other.write_bytes(src.onnx_path.read_bytes())
    readonly = Source(LITE0, src.model, 224, other, 1, False)
    with pytest.raises(BackendError) as e:
        quantize.ensure(readonly)
    assert str(e.value).count(".") == 1 and str(e.value).endswith(".") and "ZOO_CACHE_READONLY=1" in str(e.value)
    monkeypatch.setattr(quantize, "MAX_CALIBRATION_BYTES", 50e6)  # Lite0 needs ~4 copies of 18 MB + activations
    with pytest.raises(BackendError, match=r"^Calibrating EfficientNet-Lite0 for int8 would need about 0\.\d GB"):
        quantize.ensure(Source(LITE0, src.model, 224, other, 1, True))
    assert calls == [LITE0] and not list(tmp_path.glob("*int8*"))
    # Forced, the refusal and its consequence make one sentence ("…allowed, so it runs in PyTorch").
    monkeypatch.setenv(F.CACHE_ENV, str(tmp_path / "forced"))
    forced = F.accelerate(LITE0, src.model, variant="openvino:int8")
    assert forced.backend == "torch" and forced.reason.startswith("Calibrating EfficientNet-Lite0 for int8")
    assert forced.reason.count(" so ") == 1 and forced.reason.endswith("(openvino:int8 was asked for).")


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_int8_on_lite0_keeps_the_cat(lite0_int8, backend):
    if backends.BACKENDS[backend].missing():
        pytest.skip(f"{backend} is not installed")
    src, _, calls, _ = lite0_int8
    runner = backends.open_runner(Variant(backend, "int8"), src)
    assert runner.variant.precision == "int8" and calls == [LITE0]
    batch = check.sample_batch(LITE0, 224)
    probs = check.run_batch(runner, batch)
    want = check.reference_probs(src.model, batch)
    from zoo import registry

    assert registry.get(LITE0).categories[int(probs[0].argmax())] in CATS  # chelsea.png
    assert 0 < float((probs - want).abs().max()) < 0.15  # moved (it is int8), but not far


def test_int8_is_parsed_but_never_offered_to_the_automatic_choice():
    assert Variant.parse("openvino:int8") == Variant("openvino", "int8") == Variant.parse("ov-int8")
    assert Variant.parse("onnxruntime:int8").reduced
    assert all(v.precision != "int8" for v in backends.candidates(frozenset({"BF16", "INT8", "FP32"})))
    assert "openvino:int8" in str(pytest.raises(ValueError, Variant.parse, "openvino:int4").value)


def test_forced_int8_in_the_cli_says_what_ran(lite0_int8, monkeypatch, capsys):
    """ZOO_BACKEND=openvino:int8: int8 runs when it passes the reduced-precision rule, else PyTorch with the reason."""
    if backends.BACKENDS["openvino"].missing():
        pytest.skip("OpenVINO is not installed")
    monkeypatch.setenv(F.CACHE_ENV, str(lite0_int8[0].onnx_path.parent))
    monkeypatch.setenv(F.BACKEND_ENV, "openvino:int8")
    assert cli_main(["predict", str(SAMPLES_DIR / "chelsea.png"), "--model", LITE0, "--json", "--runs", "2"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["top"][0]["label"] in CATS
    runner = backends.open_runner(Variant("openvino", "int8"), lite0_int8[0])
    agreement = check.check_reduced(runner, lite0_int8[0].model, LITE0, 224, "int8")
    if agreement.ok:
        assert (result["backend"], result["precision"]) == ("openvino", "int8")
    else:  # measured here: the rocket photo's top-1 moves, so the rule keeps Predict in PyTorch, and says so
        assert (result["backend"], result["precision"]) == ("torch", "fp32")
        monkeypatch.delenv(F.BACKEND_ENV)
        assert cli_main(["predict", str(SAMPLES_DIR / "chelsea.png"), "--model", LITE0, "--backend", "ov:int8"]) == 0
        err = capsys.readouterr().err
        assert "OpenVINO int8 (calibrated" in err and "so it runs in PyTorch" in err and agreement.reason.split(" ", 1)[1].rstrip(".") in err


def test_zoo_bench_runs_a_forced_int8_backend(lite0_int8, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv(F.CACHE_ENV, str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # seeded random weights: the check passes on them
    assert cli_main(["bench", "resnet18", "--runs", "2", "--backend", "onnxruntime:int8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["backend"], result["precision"]) == ("onnxruntime", "int8"), result["reason"]
    assert result["label"].startswith("ONNX Runtime int8 (calibrated") and result["weights"] == "seeded random"
    assert list(tmp_path.glob("resnet18-224px-*.int8-*.onnx"))
