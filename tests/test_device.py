"""Device choice and the out-of-memory fallback, with CUDA and MPS mocked so they run on any machine."""
from __future__ import annotations

import pytest
import torch
from PIL import Image
from torch import nn

from zoo import registry
from zoo.concurrency import init_weights
from zoo.inference import device as D
from zoo.inference import predict as P
from zoo.inference.images import load_sample
from zoo.inference.models import LOAD_COUNTS
from zoo.inference.view import build_transform


@pytest.fixture
def machine(monkeypatch):
    """Pretend this machine has the given accelerators."""
    monkeypatch.delenv(D.DEVICE_ENV, raising=False)

    def have(cuda: bool = False, mps: bool = False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: 2 if cuda else 0)
        monkeypatch.setattr(D, "_mps_available", lambda: mps)

    return have


@pytest.mark.parametrize("cuda, mps, expected", [
    (True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu"),
])
def test_auto_prefers_cuda_then_mps_then_cpu(machine, cuda, mps, expected):
    machine(cuda=cuda, mps=mps)
    assert D.pick_device() == torch.device(expected)
    assert D.pick_device("auto") == torch.device(expected)
    assert D.available_devices()[-1] == "cpu"


def test_named_device_is_honoured_or_refused_in_one_sentence(machine, monkeypatch):
    machine(cuda=True)
    assert D.pick_device("cpu") == torch.device("cpu")
    assert D.pick_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(D.DeviceUnavailableError) as e:
        D.pick_device("mps")
    assert str(e.value) == "This machine has no MPS device; available: cuda, cpu."
    with pytest.raises(D.DeviceUnavailableError, match="Unknown device 'tpu'"):
        D.pick_device("tpu")
    monkeypatch.setenv(D.DEVICE_ENV, "cpu")
    assert D.pick_device() == torch.device("cpu")


@pytest.mark.parametrize("bad", ["cpu:x", "gpu", "cuda:x", "cuda:²", "mps:0", "cpu:0", "", " "])
def test_odd_device_strings_are_one_sentence_everywhere(machine, monkeypatch, bad):
    machine(cuda=True)
    if not bad.strip():
        assert D.pick_device(bad) == torch.device("cuda")  # blank means auto
        return
    with pytest.raises(D.DeviceUnavailableError) as e:
        D.pick_device(bad)
    assert str(e.value) == f"Unknown device '{bad}': use auto, cpu, cuda, cuda:N or mps."
    monkeypatch.setenv(D.DEVICE_ENV, bad)
    with pytest.raises(D.DeviceUnavailableError, match=rf"^Unknown device \$ZOO_DEVICE='{bad}'"):
        D.pick_device()


def test_missing_gpu_index_is_one_sentence(machine):
    machine(cuda=True)
    with pytest.raises(D.DeviceUnavailableError, match=r"no GPU 7; it has 2 \(cuda:0 .. cuda:1\)"):
        D.pick_device("cuda:7")


def test_labels_and_half_support(machine, monkeypatch):
    machine(cuda=True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"Fake GPU {i}")
    assert D.device_label("cuda") == "CUDA · Fake GPU 0"
    assert D.device_label("mps") == "Apple MPS"
    assert D.device_label("cpu") == f"CPU · {torch.get_num_threads()} thread" + ("s" if torch.get_num_threads() != 1 else "")
    assert D.supports_half("cuda:0") and not D.supports_half("cpu") and not D.supports_half("mps")


# -- out-of-memory fallback ----------------------------------------------------------------------

class _TinyNet(nn.Module):
    """1000 logits from the mean colour: cheap, deterministic, real tensors."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 1000)
        init_weights(self, seed=0)

    def forward(self, x):
        return self.fc(x.mean(dim=(2, 3)))


@pytest.fixture
def cuda_that_runs_out(monkeypatch):
    """predict_tensor raises CUDA OOM for any CUDA device and runs for real on the CPU."""
    real = P.predict_tensor
    calls = {"cuda": 0, "cpu": 0, "empty_cache": 0}

    def fake(model, x, *, device=None, half=False):
        dev = torch.device(device) if device is not None else P.model_device(model)
        calls[dev.type] += 1
        if dev.type == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(model, x, device=dev, half=half)

    monkeypatch.setattr(P, "predict_tensor", fake)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: calls.__setitem__("empty_cache", calls["empty_cache"] + 1))
    return calls


def test_cuda_oom_falls_back_to_cpu_for_that_request(cuda_that_runs_out):
    shared, cpu = _TinyNet().eval(), _TinyNet().eval()
    before = {k: v.clone() for k, v in shared.state_dict().items()}
    img = Image.new("RGB", (64, 48), (200, 120, 40))
    pred = P.predict(shared, "resnet18", img, device="cuda", cpu_model=lambda: cpu)
    assert pred.fell_back_to_cpu and pred.device == "cpu" and pred.notice == P.OOM_NOTICE
    assert cuda_that_runs_out == {"cuda": 1, "cpu": 1, "empty_cache": 1}
    # The answer is the CPU model's own, and the shared model was left exactly as it was.
    x = build_transform(registry.get("resnet18"))(img).unsqueeze(0)
    assert pred.top1[0] == int(cpu(x).argmax())
    assert all(torch.equal(v, before[k]) for k, v in shared.state_dict().items())
    assert P.model_device(shared).type == "cpu" and not shared.training


def test_oom_fallback_loads_a_cpu_instance_when_none_is_given(cuda_that_runs_out):
    before = LOAD_COUNTS[("efficientnet_lite0", "cpu")]
    pred = P.predict(_TinyNet().eval(), "efficientnet_lite0", load_sample("chelsea.png"), device="cuda", half=True)
    assert pred.fell_back_to_cpu and not pred.half
    assert pred.top1[1] in {"tabby", "tiger cat", "Egyptian cat"}  # the real Lite0, on the CPU
    assert LOAD_COUNTS[("efficientnet_lite0", "cpu")] == before + 1


def test_cpu_oom_is_not_hidden(monkeypatch):
    def oom(*a, **k):
        raise torch.OutOfMemoryError("out of memory")

    monkeypatch.setattr(P, "predict_tensor", oom)
    with pytest.raises(torch.OutOfMemoryError):
        P.predict(_TinyNet().eval(), "resnet18", Image.new("RGB", (32, 32)), device="cpu")


def test_half_is_cuda_only_with_a_notice():
    pred = P.predict(_TinyNet().eval(), "resnet18", Image.new("RGB", (40, 40)), half=True)
    assert not pred.half and pred.notice == P.HALF_CPU_NOTICE and pred.device == "cpu"


# -- bench/gpu_smoke.py --------------------------------------------------------------------------

def _gpu_smoke():
    import bench.gpu_smoke

    return bench.gpu_smoke


def test_gpu_smoke_without_cuda_says_so_and_exits_0(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _gpu_smoke().main([]) == 0
    assert "No CUDA device on this machine" in capsys.readouterr().out


def test_gpu_smoke_dry_run_on_cpu(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # resnet18 is not cached: seeded random weights
    assert _gpu_smoke().main(["--device", "cpu", "--models", "efficientnet_lite0", "resnet18"]) == 0
    out = capsys.readouterr().out
    assert "efficientnet_lite0     pretrained tiger cat" in out
    assert "resnet18               random" in out and "all 2 models agree" in out
