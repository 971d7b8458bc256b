"""The shared model cache: bounded by the bytes its entries hold, least recently used evicted first."""
from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest
import torch
from torch import nn

from zoo.inference import fast_cpu as F
from zoo.inference import model_cache as MC
from zoo.inference.backends import cache as disk_cache
from zoo.inference.models import LOAD_COUNTS


class Blob(nn.Module):
    """A stand-in entry of a known size."""

    def __init__(self, nbytes: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(nbytes // 4))


def loader(nbytes: int, calls: list):
    def load():
        calls.append(nbytes)
        blob = Blob(nbytes)
        return blob, MC.module_nbytes(blob)
    return load


def test_module_nbytes_counts_parameters_and_buffers_once():
    model = nn.Sequential(nn.Linear(10, 20), nn.BatchNorm1d(20))
    expected = sum(t.numel() * 4 for t in model.parameters()) + sum(b.numel() * b.element_size() for b in model.buffers())
    assert MC.module_nbytes(model) == expected
    tied = nn.Sequential(nn.Linear(8, 8, bias=False), nn.Linear(8, 8, bias=False))
    tied[1].weight = tied[0].weight  # one storage, two names
    assert MC.module_nbytes(tied) == 8 * 8 * 4


def test_eviction_by_bytes_least_recently_used_first():
    cache, calls = MC.ModelCache(budget_bytes=1000), []
    a = cache.get("a", loader(400, calls))
    cache.get("b", loader(400, calls))
    assert cache.get("a", loader(400, calls)) is a and calls == [400, 400]  # a hit refreshes a
    cache.get("c", loader(400, calls))  # 1200 > 1000: b, the least recently used, goes
    assert [k for k, _ in cache.entries()] == ["a", "c"] and cache.total_bytes == 800 and cache.evictions == 1
    cache.get("d", loader(100, calls))
    assert [k for k, _ in cache.entries()] == ["a", "c", "d"] and cache.total_bytes == 900


def test_an_entry_over_the_whole_budget_is_kept_alone():
    cache, calls = MC.ModelCache(budget_bytes=1000), []
    cache.get("small", loader(200, calls))
    big = cache.get("big", loader(4000, calls))
    assert [k for k, _ in cache.entries()] == ["big"] and cache.get("big", loader(4000, calls)) is big
    assert len(calls) == 2


def test_room_is_made_before_a_load_of_known_size():
    cache, calls = MC.ModelCache(budget_bytes=1000), []
    cache.get("a", loader(600, calls))
    seen = []

    def load():
        seen.append([k for k, _ in cache.entries()])  # what is resident while the new model loads
        return loader(600, calls)()

    cache.get("b", load, expected_bytes=600)
    assert seen == [[]] and [k for k, _ in cache.entries()] == ["b"]


def test_an_evicted_entry_still_in_use_is_not_broken_nor_loaded_twice():
    cache, calls = MC.ModelCache(budget_bytes=1000), []
    in_use = cache.get("a", loader(600, calls))  # a running request holds it
    cache.get("b", loader(600, calls))  # evicts a from the cache, not from the request
    assert "a" not in cache and in_use.weight.numel() == 150
    assert cache.get("a", loader(600, calls)) is in_use and calls == [600, 600]  # taken back, not reloaded
    assert [k for k, _ in cache.entries()] == ["a"]  # and counted again, within the budget
    ref = weakref.ref(in_use)
    del in_use
    cache.get("c", loader(600, calls))  # evicts a again; nobody holds it now, so it is freed
    gc.collect()
    assert ref() is None
    cache.get("a", loader(600, calls))
    assert calls == [600, 600, 600, 600]


def test_one_load_per_key_however_many_ask_at_once():
    cache, calls = MC.ModelCache(budget_bytes=10**6), []

    def slow():
        time.sleep(0.05)
        return loader(400, calls)()

    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("a", slow))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(calls) == 1 and len(got) == 8 and all(g is got[0] for g in got)


def test_a_stale_value_is_loaded_again():
    cache = MC.ModelCache(budget_bytes=10**6)
    cache.put("decision", "old", 10)
    assert cache.get("decision", lambda: ("new", 10), fresh=lambda v: v != "old") == "new"


def test_default_budget_from_the_machine_or_the_env(monkeypatch):
    monkeypatch.delenv(MC.BUDGET_ENV, raising=False)
    monkeypatch.setenv(F.MEMORY_ENV, "4")
    assert MC.default_budget_bytes() == int(4e9 * MC.DEFAULT_FRACTION)
    monkeypatch.setenv(MC.BUDGET_ENV, "1500")
    assert MC.ModelCache().budget_bytes == 1500 * 2**20
    monkeypatch.setenv(MC.BUDGET_ENV, "lots")  # not a number: logged, the machine's default
    assert MC.default_budget_bytes() == int(4e9 * MC.DEFAULT_FRACTION)


# -- SharedModels: what the pages use ---------------------------------------------------------------------

@pytest.fixture
def shared(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv(F.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(F.BACKEND_ENV, "onnxruntime")  # no timing: these tests are about what is cached
    monkeypatch.delenv(F.READONLY_ENV, raising=False)
    F._EXPORT_BACKOFF.clear()
    lines = []
    yield MC.SharedModels(MC.ModelCache(budget_bytes=2**34), log_line=lines.append)
    F._EXPORT_BACKOFF.clear()


def test_predictor_counts_its_own_bytes_and_does_not_pin_the_torch_model(shared):
    name, key = "efficientnet_lite0", ("efficientnet_lite0", "cpu")
    predictor = shared.predictor(name)
    assert isinstance(predictor, F.FastModule) and predictor.variant.backend == "onnxruntime"
    sizes = dict(shared.cache.entries())
    model = shared.model(name)
    assert sizes[("model", name, "cpu", "published")] == MC.module_nbytes(model)
    weights = sum(p.numel() * 4 for p in model.parameters())
    assert weights < sizes[("fast", name, "cpu", "published", "onnxruntime:fp32")] < 2 * weights
    assert shared.has_predictor(name) and not shared.has_predictor(name, precision="fp32")

    ref, loads = weakref.ref(model), LOAD_COUNTS[key]
    del model
    shared.cache.discard(lambda k: k[0] == "model")  # the torch model evicted: only the predictor is left
    gc.collect()
    assert ref() is None  # the predictor did not keep it alive
    with torch.inference_mode():
        predictor(torch.zeros(1, 3, 32, 32))  # an input the backend does not take: the torch model is loaded again
    assert LOAD_COUNTS[key] == loads + 1


def test_cam_copies_are_keyed_by_the_weights_they_hold(shared, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    real = shared.cam_model("efficientnet_lite0")
    stand_in = shared.cam_model("mobilenet_v3_small")  # no weights here: a seeded random-init copy
    keys = [k for k, _ in shared.cache.entries() if k[0] == "cam"]
    assert ("cam", "efficientnet_lite0", "cpu", "published") in keys and ("cam", "mobilenet_v3_small", "cpu",
                                                                          "random") in keys
    assert not real.zoo_random_weights and stand_in.zoo_random_weights
    assert real is not shared.model("efficientnet_lite0")  # a private copy, never the shared instance


def test_a_failed_fast_path_is_decided_again_after_its_back_off(shared, monkeypatch):
    now = [500.0]
    monkeypatch.setattr(disk_cache, "clock", lambda: now[0])
    real, calls = torch.onnx.export, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", flaky)
    first = shared.predictor("efficientnet_lite0")
    assert first is shared.model("efficientnet_lite0")  # PyTorch for now
    assert shared.predictor("efficientnet_lite0") is first and len(calls) == 1  # remembered, not retried at once
    now[0] += disk_cache.BACKOFF_S + 1
    assert not shared.has_predictor("efficientnet_lite0")
    later = shared.predictor("efficientnet_lite0")
    assert isinstance(later, F.FastModule) and len(calls) == 2
