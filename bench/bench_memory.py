"""Memory: the server process with no model, with each model loaded, the default set, and the cache's bound.

    python -m bench.bench_memory                    # default set + the largest model (VGG-19 BN)
    python -m bench.bench_memory --models resnet50,vgg16 --json
    python -m bench.bench_memory --all              # every model (long)
    python -m bench.bench_memory --budget-mb 1024   # the bounded loop's budget (ZOO_MODEL_MEMORY_MB)

Every measurement runs in a fresh child process that imports what the server imports
(Streamlit, torch, torchvision, ONNX Runtime, OpenVINO, plotly, pandas, zoo) and then loads models
the way pages/ui/models.py does: ``load_model`` + ``warm_up`` (the torch model), then
``fast_cpu.accelerate`` (the backend measured fastest, from an export and choice cached beforehand so
the export's own transient memory is not counted), then one prediction through each. Each row also
shows the bytes the model cache counts for it (zoo.inference.model_cache), to compare with what was
measured. The default set is also measured as on a 4 GB machine (``ZOO_MEMORY_GB=4``), where
fast_cpu keeps the largest models in torch. Torchvision models without cached weights use seeded
random weights of the right shape: the same bytes.

The bounded loop: one child with the server's own SharedModels and a byte budget loads more
models than fit (the fast predictor where weights are here, else the random-weights Grad-CAM copy
that the Inside page uses), reading RSS after each; and, unless --no-server, the real app with
``ZOO_MODEL_MEMORY_MB`` set, visited on /inside?in_model=... for the same models in turn.

Two numbers per step, from /proc/self/status:
  RSS   resident memory, including file-backed pages of shared libraries (the CUDA build of torch
        maps ~0.5 GB of CUDA libraries on import even on a CPU-only machine)
  anon  anonymous memory only (heap, weights, activations): what cannot be dropped and re-read
        under memory pressure, so what decides whether the app fits a 4 GB machine
Then it starts the real app (`streamlit run app.py`) and reads the server's RSS when idle, after
the home page, and after the predictions page with its default selection.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MACHINE_GB = 4.0  # issue 7: the default set must stay usable on a 4 GB machine
LARGEST = "vgg19_bn"  # the catalogue's largest checkpoint (548 MiB)
# More than fits a 1 GiB budget, largest first, with the bundled models (fast predictors) in between.
LOOP_MODELS = ["vgg16", "efficientnet_lite0", "alexnet", "resnet50", "vgg19", "efficientnet_lite1", "densenet121",
               "vgg16_bn", "efficientnet_lite2", "resnet101"]
LOOP_BUDGET_MB = 1024


CHILD = r"""
import json, sys, time
def mem():
    d = {}
    for line in open('/proc/self/status'):
        k = line.split(':')[0]
        if k in ('VmRSS', 'RssAnon', 'RssFile', 'VmHWM'):
            d[k] = int(line.split()[1]) / 1024
    return {'rss_mb': d['VmRSS'], 'anon_mb': d['RssAnon'], 'file_mb': d['RssFile'], 'peak_mb': d['VmHWM']}
def emit(step, name=None, **extra):
    print(json.dumps({'step': step, 'model': name, **mem(), **extra}), flush=True)
mode, names = sys.argv[1], [n for n in sys.argv[2].split(',') if n]
emit('python')
import streamlit, torch, torchvision, onnxruntime, plotly.graph_objects, pandas  # what the server imports
try:
    import openvino
except ImportError:
    pass
from zoo import registry
from zoo.inference import fast_cpu
from zoo.inference.model_cache import module_nbytes
from zoo.inference.images import SAMPLES_DIR, decode_image
from zoo.inference.models import load_model
from zoo.concurrency import configure
from zoo.inference.predict import predict, warm_up
configure()
image = decode_image((SAMPLES_DIR / 'chelsea.png').read_bytes())
emit('imports')
keep = []
for name in names:
    model = load_model(name, 'cpu', allow_random=True)
    warm_up(model, name)
    if mode == 'export':
        fast_cpu.accelerate(name, model)  # the export, converted files and measured choice, cached
        fast_cpu.finish_background()
        continue
    emit('torch', name, params=sum(p.numel() for p in model.parameters()),
         random=bool(model.zoo_random_weights), counted_torch=module_nbytes(model))
    fast = fast_cpu.accelerate(name, model)
    emit('onnxruntime', name, backend=fast.label, counted_fast=fast.nbytes)
    predict(fast.module, registry.get(name), image)
    emit('predicted', name)
    keep.append(fast.module)
emit('done')
"""


def run_child(mode: str, names: list[str], env: dict) -> list[dict]:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, ",".join(names)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"memory child failed ({mode} {names}):\n{out.stderr[-3000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def per_model(name: str, env: dict) -> dict:
    steps = {s["step"]: s for s in run_child("measure", [name], env)}
    base, torch_, ort, pred = steps["imports"], steps["torch"], steps["onnxruntime"], steps["predicted"]
    return {
        "model": name, "params": torch_["params"], "random_weights": torch_["random"], "backend": ort["backend"],
        "weights_mb": torch_["params"] * 4 / 2**20,
        "base_rss_mb": base["rss_mb"], "base_anon_mb": base["anon_mb"],
        "torch_anon_mb": torch_["anon_mb"] - base["anon_mb"],
        "onnxruntime_anon_mb": ort["anon_mb"] - torch_["anon_mb"],
        "predict_anon_mb": pred["anon_mb"] - ort["anon_mb"],
        "total_anon_mb": pred["anon_mb"] - base["anon_mb"],
        "total_rss_mb": pred["rss_mb"] - base["rss_mb"],
        "rss_mb": pred["rss_mb"], "anon_mb": pred["anon_mb"], "peak_rss_mb": pred["peak_mb"],
        "counted_torch_mb": torch_["counted_torch"] / 2**20, "counted_fast_mb": ort["counted_fast"] / 2**20,
    }


def server_rss(work: Path, env_extra: dict) -> dict:
    """The real app's RSS idle, after the home page, and after the predictions page (default selection)."""
    from playwright.sync_api import sync_playwright

    from bench.bench_startup import wait_rendered
    from tests.live import chromium, start_server, stop_server

    exe, flags = chromium()
    out = {}
    server = start_server(work, env_extra=env_extra)
    try:
        time.sleep(1.0)
        out["idle_mb"] = server.rss_mb()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=flags)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(300_000)
                page.goto(server.url)
                wait_rendered(page)
                out["home_mb"] = server.rss_mb()
                page.goto(server.url + "/predict")
                wait_rendered(page)
                if "Predict" in page.inner_text("h1"):
                    page.get_by_text("Top-1:").first.wait_for(timeout=300_000)
                    wait_rendered(page)
                    out["predict_mb"] = server.rss_mb()
                    out["predict_models"] = sorted({name for name, _ in server.loads()})
                else:
                    out["predict_note"] = "app.py has no /predict page yet"
            finally:
                browser.close()
    finally:
        stop_server(server)
    return out


LOOP_CHILD = r"""
import json, sys, time
def mem():
    d = {}
    for line in open('/proc/self/status'):
        k = line.split(':')[0]
        if k in ('VmRSS', 'RssAnon', 'VmHWM'):
            d[k] = int(line.split()[1]) / 1024
    return d
import streamlit, torch, torchvision, onnxruntime, plotly.graph_objects, pandas
try:
    import openvino
except ImportError:
    pass
from zoo.concurrency import configure
configure()
from zoo import registry
from zoo.inference import weights as W
from zoo.inference.images import SAMPLES_DIR, decode_image
from zoo.inference.model_cache import ModelCache, SharedModels
from zoo.inference.predict import predict
image = decode_image((SAMPLES_DIR / 'chelsea.png').read_bytes())
shared = SharedModels(ModelCache(), log_line=lambda line: None)
m = mem()
print(json.dumps({'step': 'base', 'budget_mb': shared.cache.budget_bytes / 2**20, 'rss_mb': m['VmRSS'],
                  'anon_mb': m['RssAnon']}), flush=True)
for name in sys.argv[1].split(','):
    if W.is_available_offline(name):
        module, kind = shared.predictor(name), 'predictor'
    else:
        module, kind = shared.cam_model(name), 'cam (random weights)'
    predict(module, registry.get(name), image, runs=1, compare_fp32=False)
    del module
    m = mem()
    print(json.dumps({'step': 'load', 'model': name, 'kind': kind, 'rss_mb': m['VmRSS'], 'anon_mb': m['RssAnon'],
                      'peak_mb': m['VmHWM'], 'counted_mb': shared.cache.total_bytes / 2**20,
                      'resident': [list(k[:2]) for k, _ in shared.cache.entries() if k[0] != 'choice'],
                      'evictions': shared.cache.evictions}), flush=True)
"""


def bounded_loop(names: list[str], budget_mb: float, env: dict) -> list[dict]:
    """The server's SharedModels under a byte budget, loading ``names`` in turn (more than fit)."""
    out = subprocess.run([sys.executable, "-c", LOOP_CHILD, ",".join(names)], cwd=ROOT, capture_output=True,
                         text=True, timeout=3600, env=dict(env, ZOO_MODEL_MEMORY_MB=str(budget_mb)))
    if out.returncode != 0:
        raise RuntimeError(f"bounded-loop child failed:\n{out.stderr[-3000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def server_loop(work: Path, names: list[str], budget_mb: float, env_extra: dict) -> list[dict]:
    """The real app with ZOO_MODEL_MEMORY_MB set: /inside?in_model=NAME for each model in turn, RSS after each."""
    from playwright.sync_api import sync_playwright

    from bench.bench_startup import wait_rendered
    from tests.live import chromium, start_server, stop_server

    exe, flags = chromium()
    rows = []
    server = start_server(work, env_extra=dict(env_extra, ZOO_MODEL_MEMORY_MB=str(budget_mb)))
    try:
        time.sleep(1.0)
        rows.append({"model": None, "rss_mb": server.rss_mb()})
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=exe, args=flags)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(600_000)
                for name in names:
                    page.goto(f"{server.url}/inside?in_model={name}")
                    wait_rendered(page)
                    rows.append({"model": name, "rss_mb": server.rss_mb()})
            finally:
                browser.close()
    finally:
        stop_server(server)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--models", help="comma-separated registry names to measure one by one")
    group.add_argument("--all", action="store_true", help="every model with published or bundled weights")
    ap.add_argument("--budget-mb", type=float, default=LOOP_BUDGET_MB, help="the bounded loop's ZOO_MODEL_MEMORY_MB")
    ap.add_argument("--no-server", action="store_true", help="skip the real-app measurements")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the tables")
    args = ap.parse_args()

    from zoo import registry
    from zoo.inference.model_cache import BUDGET_ENV, ModelCache
    from zoo.inference.predict import default_selection

    default_set = list(dict.fromkeys([*default_selection([e.name for e in registry.REGISTRY.values() if e.has_weights]),
                                      "efficientnet_lite0"]))
    if args.models:
        names = [n.strip() for n in args.models.split(",") if n.strip()]
        for n in names:
            registry.get(n)
    elif args.all:
        names = [e.name for e in registry.REGISTRY.values() if e.has_weights]
    else:
        names = [*default_set, LARGEST]

    tmp = tempfile.TemporaryDirectory(prefix="zoo-bench-memory-")
    env = dict(os.environ, ZOO_ONNX_CACHE=str(Path(tmp.name) / "onnx"), PYTHONUNBUFFERED="1")
    env.pop(BUDGET_ENV, None)
    log = (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        from zoo.inference import weights as W

        prepare = list(dict.fromkeys([*names, *default_set, *(n for n in LOOP_MODELS if W.is_available_offline(n))]))
        log(f"exporting and choosing backends for {len(prepare)} models once (not measured)…")
        run_child("export", prepare, env)
        rows = []
        for n in names:
            log(f"measuring {n}…")
            rows.append(per_model(n, env))
        log("measuring the default set together…")
        together = run_child("measure", default_set, env)
        log(f"measuring the default set together as on a {MACHINE_GB:.0f} GB machine…")
        small = run_child("measure", default_set, dict(env, ZOO_MEMORY_GB=str(MACHINE_GB)))
        log(f"bounded loop: {len(LOOP_MODELS)} models under a {args.budget_mb:.0f} MiB budget…")
        loop = bounded_loop(LOOP_MODELS, args.budget_mb, env)
        server, served_loop = {}, []
        if not args.no_server:
            log("measuring the real app…")
            server = server_rss(Path(tmp.name), {"ZOO_ONNX_CACHE": env["ZOO_ONNX_CACHE"]})
            log(f"the real app under a {args.budget_mb:.0f} MiB budget, /inside for each loop model…")
            served_loop = server_loop(Path(tmp.name), LOOP_MODELS, args.budget_mb,
                                      {"ZOO_ONNX_CACHE": env["ZOO_ONNX_CACHE"]})
    finally:
        tmp.cleanup()

    base = together[1]
    done = together[-1]
    small_done = small[-1]
    small_backends = {s_["model"]: s_["backend"] for s_ in small if s_["step"] == "onnxruntime"}
    loop_base = loop[0]
    loop_loads = loop[1:]
    result = {
        "default_set": default_set,
        "per_model": rows,
        "default_set_loaded": {"base_rss_mb": base["rss_mb"], "base_anon_mb": base["anon_mb"],
                               "rss_mb": done["rss_mb"], "anon_mb": done["anon_mb"], "peak_rss_mb": done["peak_mb"]},
        "default_set_loaded_small_machine": {"machine_gb": MACHINE_GB, "rss_mb": small_done["rss_mb"],
                                             "anon_mb": small_done["anon_mb"], "peak_rss_mb": small_done["peak_mb"],
                                             "backends": small_backends},
        "server": server,
        "cache_bound": {"default_budget_mb": ModelCache().budget_bytes / 2**20, "env": BUDGET_ENV,
                        "eviction": "least recently used, by the bytes each entry holds"},
        "bounded_loop": {"budget_mb": loop_base["budget_mb"], "base_rss_mb": loop_base["rss_mb"],
                         "base_anon_mb": loop_base["anon_mb"], "loads": loop_loads,
                         "max_rss_over_base_mb": max(r["rss_mb"] for r in loop_loads) - loop_base["rss_mb"],
                         "max_anon_over_base_mb": max(r["anon_mb"] for r in loop_loads) - loop_base["anon_mb"]},
        "server_loop": served_loop,
        "machine_gb": MACHINE_GB,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"Memory of the server process — fresh child per row; {os.cpu_count()} CPUs\n")
    print(f"baseline after the server's imports: RSS {base['rss_mb']:.0f} MiB, of which anonymous {base['anon_mb']:.0f} MiB\n")
    head = ["model", "weights", "params M", "fp32 MiB", "+torch anon", "+fast anon", "+predict anon",
            "= total anon", "counted", "total RSS", "backend"]
    lines = [[r["model"], "random" if r["random_weights"] else "published", f"{r['params'] / 1e6:.1f}",
              f"{r['weights_mb']:.0f}", f"{r['torch_anon_mb']:.0f}", f"{r['onnxruntime_anon_mb']:.0f}",
              f"{r['predict_anon_mb']:.0f}", f"{r['total_anon_mb']:.0f}",
              f"{r['counted_torch_mb'] + r['counted_fast_mb']:.0f}", f"{r['rss_mb']:.0f}", r["backend"]]
             for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    print("  ".join("-" * w for w in widths))
    for c in lines:
        print("  ".join(v.ljust(w) if i < 2 or i == len(c) - 1 else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths))))
    print("\n(MiB; +torch: model + warm-up; +fast: the chosen backend's own copy; +predict: one prediction through the "
          "app's path; counted: what the model cache counts for the torch model + the backend)")
    d = result["default_set_loaded"]
    gib = MACHINE_GB * 1024
    print(f"\ndefault set loaded together ({', '.join(default_set)}):")
    print(f"  RSS {d['rss_mb']:.0f} MiB, anonymous {d['anon_mb']:.0f} MiB, peak RSS {d['peak_rss_mb']:.0f} MiB "
          f"-> {d['anon_mb'] / gib:.0%} of a {MACHINE_GB:.0f} GB machine (anonymous), {d['rss_mb'] / gib:.0%} (RSS)")
    sd = result["default_set_loaded_small_machine"]
    in_torch = [n for n, b in small_backends.items() if b == "PyTorch"]
    print(f"the same on a {MACHINE_GB:.0f} GB machine (ZOO_MEMORY_GB={MACHINE_GB:g}: "
          f"{', '.join(in_torch) or 'no model'} stay{'s' if len(in_torch) == 1 else ''} in torch):")
    print(f"  RSS {sd['rss_mb']:.0f} MiB, anonymous {sd['anon_mb']:.0f} MiB, peak RSS {sd['peak_rss_mb']:.0f} MiB "
          f"-> {sd['anon_mb'] / gib:.0%} of {MACHINE_GB:.0f} GB (anonymous), {sd['rss_mb'] / gib:.0%} (RSS)")
    cb = result["cache_bound"]
    print(f"\nmodel cache: bounded by bytes; default budget here {cb['default_budget_mb']:.0f} MiB (half the machine's "
          f"memory; {cb['env']} sets it), least recently used evicted.")
    bl = result["bounded_loop"]
    print(f"\nbounded loop, {BUDGET_ENV}={bl['budget_mb']:.0f} (one process, the server's SharedModels; base RSS "
          f"{bl['base_rss_mb']:.0f} MiB, anonymous {bl['base_anon_mb']:.0f} MiB):")
    head = ["loaded", "kind", "counted MiB", "RSS MiB", "RSS - base", "anon - base", "resident afterwards"]
    lines = [[r["model"], r["kind"], f"{r['counted_mb']:.0f}", f"{r['rss_mb']:.0f}",
              f"{r['rss_mb'] - bl['base_rss_mb']:.0f}", f"{r['anon_mb'] - bl['base_anon_mb']:.0f}",
              ", ".join(sorted({m for _, m in r["resident"]}))] for r in bl["loads"]]
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) if i in (0, 1, 6) else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    print("  ".join("-" * w for w in widths))
    for c in lines:
        print("  ".join(v.ljust(w) if i in (0, 1, 6) else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths))))
    print(f"  -> at most {bl['max_anon_over_base_mb']:.0f} MiB anonymous / {bl['max_rss_over_base_mb']:.0f} MiB RSS "
          f"over the base, for a {bl['budget_mb']:.0f} MiB budget ({loop_loads[-1]['evictions']} evictions)")
    if server:
        print("\nreal app (`streamlit run app.py`), server RSS:")
        print(f"  idle {server['idle_mb']:.0f} MiB; after the home page {server['home_mb']:.0f} MiB", end="")
        if "predict_mb" in server:
            print(f"; after /predict with its default selection ({', '.join(server['predict_models'])}) "
                  f"{server['predict_mb']:.0f} MiB")
        else:
            print(f"; /predict not measured: {server.get('predict_note')}")
    if served_loop:
        base_rss = served_loop[0]["rss_mb"]
        print(f"\nreal app with {BUDGET_ENV}={args.budget_mb:.0f}, /inside for each loop model in turn (server RSS MiB):")
        print("  " + ", ".join(f"{r['model'] or 'idle'} {r['rss_mb']:.0f}" for r in served_loop))
        print(f"  -> at most {max(r['rss_mb'] for r in served_loop) - base_rss:.0f} MiB over idle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
