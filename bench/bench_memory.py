"""Memory: the server process with no model, with each model loaded, and with the default set loaded.

    python -m bench.bench_memory                    # default set + the largest model (VGG-19 BN)
    python -m bench.bench_memory --models resnet50,vgg16 --json
    python -m bench.bench_memory --all              # every model (long)

Every measurement runs in a fresh child process that imports what the server imports
(Streamlit, torch, torchvision, ONNX Runtime, plotly, pandas, zoo) and then loads models the way
pages/ui/models.py does: ``load_model`` + ``warm_up`` (the torch model), then
``fast_cpu.accelerate`` (the ONNX Runtime session, from an export cached beforehand so the
export's own transient memory is not counted), then one prediction through each. The default set is also measured as on a 4 GB machine
(``ZOO_MEMORY_GB=4``), where fast_cpu keeps the largest models in torch. Torchvision
models without cached weights use seeded random weights of the right shape: the same bytes.

Two numbers per step, from /proc/self/status:
  RSS   resident memory, including file-backed pages of shared libraries (the CUDA build of torch
        maps ~0.5 GB of CUDA libraries on import even on a CPU-only machine)
  anon  anonymous memory only (heap, weights, activations): what cannot be dropped and re-read
        under memory pressure, so what decides whether the app fits a 4 GB machine
Then it starts the real app (`streamlit run app.py`) and reads the server's RSS when idle, after
the home page, and after the predictions page with its default selection, and it reports the
model cache's bound (pages/ui/models.py MAX_MODELS, least recently used evicted) with the
worst case that bound allows.
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
LARGEST = "vgg19_bn"  # the catalogue's largest checkpoint (548 MiB): bounds the cache's worst case


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
from zoo import registry
from zoo.inference import fast_cpu
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
        fast_cpu.ensure_export(name, model)
        continue
    emit('torch', name, params=sum(p.numel() for p in model.parameters()),
         random=bool(model.zoo_random_weights))
    fast = fast_cpu.accelerate(name, model)
    emit('onnxruntime', name, backend=fast.backend)
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
    }


def server_rss(work: Path, env_extra: dict) -> dict:
    """The real app's RSS idle, after the home page, and after the predictions page (default selection)."""
    from playwright.sync_api import sync_playwright

    from bench.bench_startup import chromium, start_server, stop_server, wait_rendered

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


def cache_bounds() -> dict:
    """The shared model caches' entry limits, read from the decorated functions themselves."""
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no runtime" notices: we only read attributes
    import pages.ui.models as shared

    out = {}
    for fn in ("get_model", "get_predictor"):
        cached = getattr(shared, fn, None)
        info = getattr(cached, "_info", None)  # Streamlit's CachedFunc keeps its decorator arguments here
        if info is not None:
            out[fn] = info.max_entries
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--models", help="comma-separated registry names to measure one by one")
    group.add_argument("--all", action="store_true", help="every model with published or bundled weights")
    ap.add_argument("--no-server", action="store_true", help="skip the real-app measurement")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the tables")
    args = ap.parse_args()

    from zoo import registry
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
    log = (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        log(f"exporting {len(set(names) | set(default_set))} models once (not measured)…")
        run_child("export", list(dict.fromkeys([*names, *default_set])), env)
        rows = []
        for n in names:
            log(f"measuring {n}…")
            rows.append(per_model(n, env))
        log("measuring the default set together…")
        together = run_child("measure", default_set, env)
        log(f"measuring the default set together as on a {MACHINE_GB:.0f} GB machine…")
        small = run_child("measure", default_set, dict(env, ZOO_MEMORY_GB=str(MACHINE_GB)))
        server = {}
        if not args.no_server:
            log("measuring the real app…")
            server = server_rss(Path(tmp.name), {"ZOO_ONNX_CACHE": env["ZOO_ONNX_CACHE"]})
    finally:
        tmp.cleanup()

    base = together[1]
    done = together[-1]
    bounds = cache_bounds()
    finite = [b for b in bounds.values() if b is not None and b != float("inf")]
    bound = int(max(finite)) if finite and len(finite) == len(bounds) else None
    by_name = {r["model"]: r for r in rows}
    largest = by_name.get(LARGEST)
    worst_anon = (base["anon_mb"] + bound * largest["total_anon_mb"]) if (largest and bound) else None
    # On a small machine the largest models skip ONNX Runtime (zoo.inference.fast_cpu.SMALL_MACHINE_GB).
    worst_small_anon = (base["anon_mb"] + bound * (largest["torch_anon_mb"] + largest["predict_anon_mb"])
                        if (largest and bound) else None)
    small_done = small[-1]
    small_backends = {s_["model"]: s_["backend"] for s_ in small if s_["step"] == "onnxruntime"}
    result = {
        "default_set": default_set,
        "per_model": rows,
        "default_set_loaded": {"base_rss_mb": base["rss_mb"], "base_anon_mb": base["anon_mb"],
                               "rss_mb": done["rss_mb"], "anon_mb": done["anon_mb"], "peak_rss_mb": done["peak_mb"]},
        "default_set_loaded_small_machine": {"machine_gb": MACHINE_GB, "rss_mb": small_done["rss_mb"],
                                             "anon_mb": small_done["anon_mb"], "peak_rss_mb": small_done["peak_mb"],
                                             "backends": small_backends},
        "server": server,
        "cache_bound": {"max_models": bound, "limits": bounds, "eviction": "least recently used (st.cache_resource max_entries)",
                        "bounded_by": "count, not bytes",
                        "worst_case_anon_mb": worst_anon, "worst_case_small_machine_anon_mb": worst_small_anon},
        "machine_gb": MACHINE_GB,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"Memory of the server process — fresh child per row; {os.cpu_count()} CPUs\n")
    print(f"baseline after the server's imports: RSS {base['rss_mb']:.0f} MiB, of which anonymous {base['anon_mb']:.0f} MiB\n")
    head = ["model", "weights", "params M", "fp32 MiB", "+torch anon", "+ORT anon", "+predict anon",
            "= total anon", "total RSS", "backend"]
    lines = [[r["model"], "random" if r["random_weights"] else "published", f"{r['params'] / 1e6:.1f}",
              f"{r['weights_mb']:.0f}", f"{r['torch_anon_mb']:.0f}", f"{r['onnxruntime_anon_mb']:.0f}",
              f"{r['predict_anon_mb']:.0f}", f"{r['total_anon_mb']:.0f}", f"{r['rss_mb']:.0f}", r["backend"]]
             for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths))))
    print("  ".join("-" * w for w in widths))
    for c in lines:
        print("  ".join(v.ljust(w) if i < 2 or i == len(c) - 1 else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths))))
    print("\n(MiB; +torch: model + warm-up; +ORT: its session; +predict: one prediction through the app's path)")
    d = result["default_set_loaded"]
    gib = MACHINE_GB * 1024
    print(f"\ndefault set loaded together ({', '.join(default_set)}):")
    print(f"  RSS {d['rss_mb']:.0f} MiB, anonymous {d['anon_mb']:.0f} MiB, peak RSS {d['peak_rss_mb']:.0f} MiB "
          f"-> {d['anon_mb'] / gib:.0%} of a {MACHINE_GB:.0f} GB machine (anonymous), {d['rss_mb'] / gib:.0%} (RSS)")
    sd = result["default_set_loaded_small_machine"]
    in_torch = [n for n, b in small_backends.items() if b == "torch"]
    print(f"the same on a {MACHINE_GB:.0f} GB machine (ZOO_MEMORY_GB={MACHINE_GB:g}: "
          f"{', '.join(in_torch) or 'no model'} stay{'s' if len(in_torch) == 1 else ''} in torch):")
    print(f"  RSS {sd['rss_mb']:.0f} MiB, anonymous {sd['anon_mb']:.0f} MiB, peak RSS {sd['peak_rss_mb']:.0f} MiB "
          f"-> {sd['anon_mb'] / gib:.0%} of {MACHINE_GB:.0f} GB (anonymous), {sd['rss_mb'] / gib:.0%} (RSS)")
    if bound:
        print(f"\nmodel cache ({', '.join(f'{k} max_entries={v}' for k, v in bounds.items())}): at most {bound} "
              f"models per device, least recently used evicted; bounded by count, not bytes.")
        if worst_anon is not None:
            print(f"  worst case it allows ({bound} x {LARGEST}): ~{worst_anon:.0f} MiB anonymous "
                  f"({worst_anon / gib:.0%} of {MACHINE_GB:.0f} GB); on a {MACHINE_GB:.0f} GB machine, where "
                  f"{LARGEST} stays in torch, ~{worst_small_anon:.0f} MiB ({worst_small_anon / gib:.0%})")
    else:
        print(f"\nmodel cache: NOT bounded ({bounds}); sessions choosing many models can exhaust memory.")
    if server:
        print("\nreal app (`streamlit run app.py`), server RSS:")
        print(f"  idle {server['idle_mb']:.0f} MiB; after the home page {server['home_mb']:.0f} MiB", end="")
        if "predict_mb" in server:
            print(f"; after /predict with its default selection ({', '.join(server['predict_models'])}) "
                  f"{server['predict_mb']:.0f} MiB")
        else:
            print(f"; /predict not measured: {server.get('predict_note')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
