"""The measured backend choice: which variants are offered, how one is picked, forced, refused, cached.

Timings are scripted (``choice.time_runners`` replaced) so that the choice is deterministic; the
runners, checks and cache files are real. No timing asserts.
"""
from __future__ import annotations

import json
import sys
import threading

import numpy as np
import pytest
import torch

from zoo.__main__ import main as cli_main
from zoo.inference import backends
from zoo.inference import fast_cpu as F
from zoo.inference.backends import cache, capabilities, check, choice, openvino_cpu
from zoo.inference.backends.base import TORCH_FP32, Variant
from zoo.inference.models import load_model

pytest.importorskip("onnxruntime")

SMALL = "mobilenet_v3_small"  # the quickest torchvision model to export (~2.5M params)
WITH_BF16 = frozenset({"FP32", "BF16", "INT8"})
WITHOUT_BF16 = frozenset({"FP32", "INT8"})


def needs_openvino():
    return pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def small_model():
    return load_model(SMALL, allow_random=True)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(F.CACHE_ENV, str(folder))
    for env in (F.BACKEND_ENV, F.DISABLE_ENV, F.READONLY_ENV, capabilities.ISA_ENV):
        monkeypatch.delenv(env, raising=False)
    F._EXPORT_BACKOFF.clear()
    yield folder
    F._EXPORT_BACKOFF.clear()


@pytest.fixture
def timings(monkeypatch):
    """Scripted median ms per variant key (ONNX Runtime fastest unless a test says otherwise); records what was timed."""
    script = {"torch:fp32": 100.0, "onnxruntime:fp32": 20.0, "openvino:fp32": 30.0, "openvino:bf16": 25.0}
    timed: list[list[str]] = []

    alone = []

    def fake(runners, x, **kwargs):
        keys = sorted(v.key for v in runners)
        if keys == ["torch:fp32"]:  # PyTorch is timed apart, just before the race: one measurement, one entry
            timed.append(keys)
            alone.append(True)
        elif alone and alone.pop():
            timed[-1] = sorted(timed[-1] + keys)
        else:
            timed.append(keys)
        for run in runners.values():
            run(x)  # each runner still runs, as in a real measurement
        ms = {v: script.get(v.key, 100.0) for v in runners}
        return choice.Timings(ms, ms, {v: 3 for v in runners})

    monkeypatch.setattr(choice, "time_runners", fake)
    return script, timed


def caps(monkeypatch, value: frozenset[str]) -> None:
    monkeypatch.setattr(capabilities, "runtime_capabilities", lambda: value)


def snapshot(folder):
    if not folder.exists():
        return None
    return sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*"))


# -- what is offered ---------------------------------------------------------------------------------

def test_variant_names_parse_and_bad_ones_are_one_sentence():
    assert Variant.parse("openvino:bf16") == Variant.parse("OV-bf16") == Variant("openvino", "bf16")
    assert Variant.parse("onnxruntime") == Variant("onnxruntime", "fp32")
    assert Variant.parse("torch") == TORCH_FP32 and TORCH_FP32.label == "PyTorch fp32"
    with pytest.raises(ValueError) as e:
        Variant.parse("tensorrt")
    assert str(e.value).count(".") == 1 and "openvino:bf16" in str(e.value)


def test_bf16_is_offered_only_where_the_runtime_reports_it(monkeypatch):
    monkeypatch.setattr(openvino_cpu, "missing", lambda: None)  # the offer, whether or not OpenVINO is here
    monkeypatch.delenv(capabilities.ISA_ENV, raising=False)
    caps(monkeypatch, WITH_BF16)
    assert Variant("openvino", "bf16") in backends.candidates() and capabilities.has_bf16()
    caps(monkeypatch, WITHOUT_BF16)
    offered = backends.candidates()
    assert Variant("openvino", "bf16") not in offered and Variant("openvino", "fp32") in offered
    assert offered[0] == TORCH_FP32  # PyTorch is always a candidate, and the reference
    assert F.variant_label(Variant("openvino", "bf16")) == "OpenVINO bf16"  # no hardware named without BF16


def test_an_avx2_laptop_is_simulated_by_masking_bf16(monkeypatch):
    monkeypatch.setattr(openvino_cpu, "missing", lambda: None)
    caps(monkeypatch, WITH_BF16)
    monkeypatch.setenv(capabilities.ISA_ENV, "avx2")
    assert "BF16" not in capabilities.capabilities() and Variant("openvino", "bf16") not in backends.candidates()
    assert capabilities.describe()["isa"] == "avx2"  # part of the choice's cache key
    assert openvino_cpu.config("fp32", 2)["INFERENCE_PRECISION_HINT"] == "f32"  # stated, never the CPU default
    monkeypatch.setenv(capabilities.ISA_ENV, "pentium")  # not understood: ignored
    assert capabilities.isa() == "native" and "BF16" in capabilities.capabilities()


def test_the_pick_prefers_exact_fp32_unless_reduced_precision_is_clearly_faster():
    ort, ov32, bf16 = Variant("onnxruntime"), Variant("openvino"), Variant("openvino", "bf16")
    assert choice.pick({TORCH_FP32: 50.0, ort: 20.0, ov32: 25.0, bf16: 10.0}) == bf16
    assert choice.pick({TORCH_FP32: 50.0, ort: 20.0, ov32: 25.0, bf16: 10.0}, "fp32") == ort
    assert choice.pick({TORCH_FP32: 50.0, ort: 20.0, bf16: 19.5}) == ort  # within the margin: exact wins
    assert choice.pick({TORCH_FP32: 5.0, ort: 20.0}) == TORCH_FP32


def test_timing_races_interleaved_and_drops_runners_that_cannot_win(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(choice, "_now", lambda: now[0])
    calls = {"slow": 0, "fast": 0, "close": 0}

    def runner(name, ms):
        def run(x):
            calls[name] += 1
            now[0] += ms / 1000
        return run

    slow, fast, close, behind = Variant("torch"), Variant("onnxruntime"), Variant("openvino"), Variant("openvino",
                                                                                                    "bf16")
    calls["behind"] = 0
    runners = {slow: runner("slow", 50.0), fast: runner("fast", 10.0), close: runner("close", 11.0),
               behind: runner("behind", 13.0)}
    t = choice.time_runners(runners, np.zeros(1), budget_s=1.0, eliminate=choice.ELIMINATE, warm=frozenset({slow}))
    assert calls["slow"] == 1 and t.runs[slow] == 1  # warm already, and 5x behind after one round: out
    assert t.runs[behind] == 3  # 1.3x behind: within ELIMINATE for two rounds, out under ELIMINATE_LATE after three
    # The close race ends once the pick has held for STABLE_ROUNDS rounds, from SETTLED_ROUNDS on.
    assert t.runs[fast] == t.runs[close] == choice.SETTLED_ROUNDS and calls["fast"] == choice.SETTLED_ROUNDS + 1
    assert t.fastest == pytest.approx({slow: 50.0, fast: 10.0, close: 11.0, behind: 13.0})
    assert t.median[fast] == pytest.approx(10.0)

    # A pick that changes late keeps the race going until it has held again.
    times = iter([11.0] * 6 + [9.5] * 20)  # "close" (warm-up + five rounds at 11 ms), then faster than "fast"

    def improving(x):
        now[0] += next(times) / 1000

    t = choice.time_runners({fast: runner("fast", 10.0), close: improving}, np.zeros(1), budget_s=1.0,
                            eliminate=choice.ELIMINATE)
    assert t.runs[close] == 5 + choice.STABLE_ROUNDS and t.fastest[close] == pytest.approx(9.5)
    assert choice.pick(t.fastest) == close


def test_timing_on_the_photos_keeps_each_runners_first_output_on_each(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(choice, "_now", lambda: now[0])
    seen: dict[str, list[int]] = {"a": [], "b": []}

    def runner(name, ms):
        def run(x):
            seen[name].append(int(x[0, 0]))
            now[0] += ms / 1000
            return x * 10 if name == "a" else x * 20
        return run

    a, b = Variant("onnxruntime"), Variant("openvino")
    photos = np.arange(4, dtype=np.float32).reshape(4, 1)
    outputs: dict = {}
    t = choice.time_runners({a: runner("a", 10.0), b: runner("b", 11.0)}, photos, budget_s=0.0, min_rounds=3,
                            warm=frozenset({a}), outputs=outputs)
    assert t.runs == {a: 3, b: 3}
    assert seen["a"] == [0, 1, 2] and seen["b"] == [3, 0, 1, 2]  # round r: photo r; b's warm-up: the last photo
    assert {i: float(o[0, 0]) for i, o in outputs[a].items()} == {0: 0.0, 1: 10.0, 2: 20.0}
    assert sorted(outputs[b]) == [0, 1, 2, 3] and float(outputs[b][3][0, 0]) == 60.0
    # A check on the photos then runs only what is missing.
    ran = []
    probs = check.run_batch(lambda x: ran.append(1) or np.zeros((1, 5), np.float32), torch.zeros(4, 3),
                              {i: np.zeros((1, 5), np.float32) for i in (0, 1, 2)})
    assert len(ran) == 1 and probs.shape == (4, 5)


# -- the measured choice -------------------------------------------------------------------------------

def test_measured_choice_picks_the_fastest_and_the_second_start_reads_it(cache_dir, small_model, timings,
                                                                        monkeypatch):
    needs_openvino()
    caps(monkeypatch, WITH_BF16)
    script, timed = timings
    script.update({"torch:fp32": 40.0, "onnxruntime:fp32": 12.0, "openvino:fp32": 15.0, "openvino:bf16": 6.0})
    fast = F.accelerate(SMALL, small_model)
    assert (fast.backend, fast.precision) == ("openvino", "bf16"), fast.reason
    assert timed == [["onnxruntime:fp32", "openvino:bf16", "openvino:fp32", "torch:fp32"]]
    assert fast.choice.picks == {"auto": "openvino:bf16", "fp32": "onnxruntime:fp32"} and not fast.choice.cached
    assert fast.agreement.photos == len(check.SAMPLE_PHOTOS) and fast.agreement.ok
    # The kept OpenVINO runner was compiled from the ONNX graph; its converted files follow in the background,
    # and then it serves from a model compiled from them, with the same answers.
    x = check.sample_batch(SMALL, 224)[:1]
    before = fast.module(x)
    openvino_cpu.wait()
    runner = fast.module.runner
    assert runner.mapped and runner.nbytes == openvino_cpu.nbytes(_src(fast), "bf16", True)
    assert torch.allclose(fast.module(x), before, atol=1e-6)
    files = sorted(p.name for p in cache_dir.iterdir())
    stem = fast.module.path.stem
    assert [f for f in files if ".choice-" in f] and f"{stem}.openvino-{openvino_cpu.version()}.xml" in files
    saved = json.loads(next(cache_dir.glob("*.choice-*.json")).read_text())
    assert saved["picks"]["auto"] == "openvino:bf16" and saved["runtime"]["cpu"]["capabilities"] == sorted(WITH_BF16)
    # The bf16 check's fp32 reference came from the timing's own outputs of an exact runner, within PROB_TOL of
    # eager PyTorch, and is kept: a second start checks bf16 without running fp32 on the photos at all.
    (kept,) = cache_dir.glob(f"{stem}.reference-*.npz")
    batch = check.sample_batch(SMALL, 224)
    eager = check.reference_probs(small_model, batch)
    assert float((torch.from_numpy(np.load(kept)["probs"]) - eager).abs().max()) <= F.PROB_TOL

    def no_fp32_pass(*a, **k):
        raise AssertionError("the kept reference should have been read")

    with monkeypatch.context() as m:
        m.setattr(check, "reference_probs", no_fp32_pass)
        again = F.accelerate(SMALL, small_model)
    assert again.variant == fast.variant and again.choice.cached and len(timed) == 1  # read, not measured
    assert again.module.runner.mapped and again.agreement.ok  # from the converted files; checked on the photos
    exact = F.accelerate(SMALL, small_model, precision="fp32")
    assert exact.variant == Variant("onnxruntime") and len(timed) == 1
    assert exact.max_prob_diff <= F.PROB_TOL
    # Another CPU (here: bf16 masked) is another key: measured anew, and bf16 is not among the candidates.
    monkeypatch.setenv(capabilities.ISA_ENV, "avx2")
    masked = F.accelerate(SMALL, small_model)
    assert masked.variant == Variant("onnxruntime") and len(timed) == 2 and "openvino:bf16" not in timed[1]
    assert len(list(cache_dir.glob("*.choice-*.json"))) == 2


def test_a_first_start_in_the_background_serves_at_once_then_swaps_in_the_measured_choice(cache_dir, small_model,
                                                                                          timings, monkeypatch):
    needs_openvino()
    caps(monkeypatch, WITH_BF16)
    script, timed = timings
    script.update({"torch:fp32": 40.0, "onnxruntime:fp32": 12.0, "openvino:fp32": 15.0, "openvino:bf16": 6.0})
    x = check.sample_batch(SMALL, 224)[:1]
    with torch.inference_mode():
        eager = small_model(x)
    fast = F.accelerate(SMALL, small_model, background=True)
    # Served at once on the first exact backend, checked as the design before measured choices did.
    assert fast.choosing and fast.variant == Variant("onnxruntime") and fast.choice is None
    assert fast.agreement.ok and fast.max_prob_diff <= F.PROB_TOL
    first = fast.module(x)  # may already run while the measurement goes on
    assert float((first.softmax(-1) - eager.softmax(-1)).abs().max()) <= F.PROB_TOL
    F.finish_background()
    module = fast.module
    assert module.variant == Variant("openvino", "bf16") and module.agreement.photos == len(check.SAMPLE_PHOTOS)
    assert module.runner.mapped  # its converted files were written and swapped in after it
    assert timed == [["onnxruntime:fp32", "openvino:bf16", "openvino:fp32", "torch:fp32"]]  # ORT reused, timed
    assert int(module(x).argmax()) == int(eager.argmax())
    saved = json.loads(next(cache_dir.glob("*.choice-*.json")).read_text())
    assert saved["picks"] == {"auto": "openvino:bf16", "fp32": "onnxruntime:fp32"}
    again = F.accelerate(SMALL, small_model, background=True)  # a later start reads the choice: nothing deferred
    assert not again.choosing and again.variant == Variant("openvino", "bf16") and len(timed) == 1


def test_pytorch_is_timed_apart_and_every_call_after_a_pause(cache_dir, small_model, monkeypatch):
    calls = []
    real = choice.time_runners

    def spy(runners, x, **kwargs):
        calls.append((sorted(v.key for v in runners), kwargs.get("pause_s"), kwargs.get("max_rounds")))
        return real(runners, x, **{**kwargs, "budget_s": 0.0, "min_rounds": 1, "max_rounds": 1})

    monkeypatch.setattr(choice, "time_runners", spy)
    caps(monkeypatch, WITHOUT_BF16)
    F.accelerate(SMALL, small_model)
    (torch_keys, torch_pause, torch_rounds), (race_keys, race_pause, _r) = calls
    assert torch_keys == ["torch:fp32"] and torch_rounds == 2 and "torch:fp32" not in race_keys and race_keys
    assert torch_pause == race_pause == choice.PAUSE_S > 0


def test_a_background_choice_of_pytorch_hands_forward_passes_to_pytorch(cache_dir, small_model, timings,
                                                                        monkeypatch):
    caps(monkeypatch, WITHOUT_BF16)
    script, _ = timings
    script.update({"torch:fp32": 5.0})
    fast = F.accelerate(SMALL, small_model, background=True)
    assert fast.choosing and fast.variant.backend != "torch"
    F.finish_background()
    x = check.sample_batch(SMALL, 224)[:1]
    with torch.inference_mode():
        assert fast.module.variant == TORCH_FP32 and torch.equal(fast.module(x), small_model(x))


def _src(fast):
    return backends.Source(SMALL, fast.module.torch_model, 224, fast.module.path, 1, True)


def test_reduced_precision_that_changes_answers_is_refused(cache_dir, small_model, timings, monkeypatch):
    needs_openvino()
    caps(monkeypatch, WITH_BF16)
    script, _ = timings
    script.update({"onnxruntime:fp32": 12.0, "openvino:fp32": 15.0, "openvino:bf16": 6.0})
    real = openvino_cpu.OvRunner.__call__

    def skewed(self, x):  # a bf16 path that reverses the class order: a different top-1 on every photo
        out = real(self, x)
        return np.ascontiguousarray(out[:, ::-1]) if self.variant.precision == "bf16" else out

    monkeypatch.setattr(openvino_cpu.OvRunner, "__call__", skewed)
    fast = F.accelerate(SMALL, small_model)
    assert fast.variant == Variant("onnxruntime")
    reason = fast.choice.refused["openvino:bf16"]
    assert reason == f"OpenVINO bf16{_hw()} changes the top-1 class on 4 of 4 sample photos."
    assert "openvino:bf16" not in fast.choice.ms  # not among the usable timings, never picked


def _hw() -> str:
    hw = capabilities.bf16_hardware()
    return f" ({hw})" if hw else ""


def test_reduced_rule_on_probabilities():
    p = torch.tensor([[0.5, 0.3, 0.1, 0.05, 0.03, 0.02], [0.6, 0.2, 0.1, 0.05, 0.03, 0.02]])
    assert check.compare(p, p.clone(), "X").ok
    swapped = p[:, [1, 0, 2, 3, 4, 5]]
    got = check.compare(p, swapped, "X")
    assert not got.ok and got.reason == "X changes the top-1 class on 2 of 2 sample photos." and got.top1_same == 0
    fifth = p.clone()
    fifth[0, 4], fifth[0, 5] = 0.02, 0.03  # the 5th and 6th classes trade places
    assert check.compare(p, fifth, "X").reason == "X changes the top-5 classes on 1 of 2 sample photos."
    moved = p.clone()
    moved[0, 0], moved[0, 1] = 0.46, 0.34
    assert check.compare(p, moved, "X").reason == "X moves a probability by 4.0 points (more than 3)."


def test_torch_wins_when_it_is_fastest(cache_dir, small_model, timings):
    script, _ = timings
    script.update({"torch:fp32": 1.0})
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "torch" and fast.module is small_model
    assert fast.reason == "PyTorch was the fastest way to run MobileNet V3 Small on this computer (1.0 ms)."


# -- forcing and failing ----------------------------------------------------------------------------------

def test_forced_backend_env(cache_dir, small_model, monkeypatch, timings):
    _, timed = timings
    monkeypatch.setenv(F.BACKEND_ENV, "torch")
    fast = F.accelerate(SMALL, small_model)
    assert fast.backend == "torch" and F.BACKEND_ENV in fast.reason and not cache_dir.exists()
    monkeypatch.setenv(F.BACKEND_ENV, "onnxruntime")
    fast = F.accelerate(SMALL, small_model)
    assert fast.variant == Variant("onnxruntime") and fast.choice is None and timed == []  # nothing measured
    monkeypatch.setenv(F.BACKEND_ENV, "no-such-backend")
    assert F.forced_variant() is None  # logged and ignored: the measured choice
    if openvino_cpu.missing() is None:
        monkeypatch.setenv(F.BACKEND_ENV, "openvino")
        fast = F.accelerate(SMALL, small_model)
        assert fast.variant == Variant("openvino") and fast.max_prob_diff <= F.PROB_TOL
        caps(monkeypatch, WITHOUT_BF16)
        monkeypatch.setenv(F.BACKEND_ENV, "openvino:bf16")
        fast = F.accelerate(SMALL, small_model)
        assert fast.backend == "torch" and fast.reason == (
            "This CPU does not compute in bfloat16 (OpenVINO reports no BF16 capability), so it runs in PyTorch "
            "(ZOO_BACKEND=openvino:bf16).")


def test_openvino_missing_leaves_the_other_backends(cache_dir, small_model, monkeypatch, timings):
    monkeypatch.setitem(sys.modules, "openvino", None)  # makes `import openvino` raise ImportError
    script, timed = timings
    script.update({"torch:fp32": 40.0, "onnxruntime:fp32": 12.0})
    fast = F.accelerate(SMALL, small_model)
    assert fast.variant == Variant("onnxruntime") and timed == [["onnxruntime:fp32", "torch:fp32"]]
    assert not list(cache_dir.glob("*.openvino-*"))
    monkeypatch.setenv(F.BACKEND_ENV, "openvino")
    forced = F.accelerate(SMALL, small_model)
    assert forced.backend == "torch" and forced.reason == (
        "OpenVINO is not installed, so it runs in PyTorch (ZOO_BACKEND=openvino).")


def test_failed_export_is_retried_after_a_back_off(cache_dir, small_model, monkeypatch):
    monkeypatch.setenv(F.BACKEND_ENV, "onnxruntime")
    now = [1000.0]
    monkeypatch.setattr(cache, "clock", lambda: now[0])
    real, calls = torch.onnx.export, []

    def disk_full(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", disk_full)
    first = F.accelerate(SMALL, small_model)
    assert first.backend == "torch" and first.retry_at == 1000.0 + cache.BACKOFF_S and len(calls) == 1
    assert first.reason == ("mobilenet_v3_small could not be exported to ONNX (OSError), so it runs in PyTorch; "
                            "the export is tried again in 30 s.")
    assert not F.needs_export(SMALL, small_model)  # no progress bar for an export that will not be tried
    now[0] += 10
    second = F.accelerate(SMALL, small_model)
    assert second.backend == "torch" and "tried again in 20 s" in second.reason and len(calls) == 1
    now[0] += 21  # the back-off has passed (say, space was freed): the next load tries again, and succeeds
    third = F.accelerate(SMALL, small_model)
    assert third.variant == Variant("onnxruntime") and third.exported and len(calls) == 2


def test_openvino_runner_is_safe_from_several_threads(cache_dir, small_model, monkeypatch):
    needs_openvino()
    monkeypatch.setenv(F.BACKEND_ENV, "openvino")
    fast = F.accelerate(SMALL, small_model)
    assert fast.variant == Variant("openvino"), fast.reason
    xs = [torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(i)) for i in range(4)]
    with torch.inference_mode():
        want = [fast.module(x) for x in xs]
    got, errors = {}, []

    def worker(i):
        try:
            for _ in range(5):
                with torch.inference_mode():
                    got.setdefault(i, []).append(fast.module(xs[i]))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and all(torch.equal(out, want[i]) for i, outs in got.items() for out in outs)


# -- read-only cache (replicas sharing one prefetched cache) ----------------------------------------------------

def test_read_only_cache_writes_nothing(cache_dir, small_model, monkeypatch, timings):
    monkeypatch.setenv(F.READONLY_ENV, "1")
    empty = F.accelerate(SMALL, small_model)
    assert empty.backend == "torch" and not cache_dir.exists()
    assert empty.reason == ("The fast CPU path of MobileNet V3 Small was not prepared (ZOO_CACHE_READONLY=1; "
                            "`python -m zoo export mobilenet_v3_small` fills the cache), so it runs in PyTorch.")
    assert not F.needs_export(SMALL, small_model)

    with cache.filling():  # what `zoo export` does: the one step allowed to write
        filled = F.accelerate(SMALL, small_model)
    assert filled.backend != "torch" and not filled.choice.cached
    before = snapshot(cache_dir)
    warm = F.accelerate(SMALL, small_model)
    assert warm.variant == filled.variant and warm.choice.cached and snapshot(cache_dir) == before

    # Only the export left (another CPU filled the cache): measured in memory, still nothing written.
    for f in cache_dir.iterdir():
        if f.suffix != ".onnx":
            f.unlink()
    before = snapshot(cache_dir)
    measured = F.accelerate(SMALL, small_model)
    assert measured.backend != "torch" and not measured.choice.cached and snapshot(cache_dir) == before

    # A damaged export is not replaced at request time: PyTorch, and the file left as it is.
    onnx = next(cache_dir.glob("*.onnx"))
    onnx.write_bytes(b"not an onnx graph")
    before = snapshot(cache_dir)
    damaged = F.accelerate(SMALL, small_model, variant="onnxruntime")
    assert damaged.backend == "torch" and damaged.reason and snapshot(cache_dir) == before


def test_zoo_export_fills_a_read_only_cache_that_bench_then_reads(cache_dir, monkeypatch, capsys):
    monkeypatch.setenv(F.READONLY_ENV, "1")
    assert cli_main(["export", "efficientnet_lite0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("efficientnet_lite0: ") and cache_dir.exists()
    assert list(cache_dir.glob("efficientnet_lite0-224px-*.choice-*.json"))
    before = snapshot(cache_dir)
    assert cli_main(["bench", "efficientnet_lite0", "--runs", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"model", "backend", "precision", "median_ms", "runs"} <= set(result)
    assert result["model"] == "efficientnet_lite0" and result["runs"] == 3 and result["median_ms"] > 0
    assert result["weights"] == "published" and result["choice_cached"] is True
    assert snapshot(cache_dir) == before
    assert cli_main(["export"]) == 2 and "--all" in capsys.readouterr().err


def test_zoo_bench_without_weights_uses_seeded_random_ones(cache_dir, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv(F.BACKEND_ENV, "onnxruntime")
    assert cli_main(["bench", SMALL, "--runs", "2", "--input-size", "192", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["backend"], result["precision"], result["input_size"]) == ("onnxruntime", "fp32", 192)
    assert result["weights"] == "seeded random" and result["runs"] == 2
    assert cli_main(["bench", SMALL, "--runs", "2"]) == 0
    assert "seeded random weights" in capsys.readouterr().out
    assert cli_main(["bench", SMALL, "--backend", "tensorrt"]) == 2
    assert "not a backend" in capsys.readouterr().err
