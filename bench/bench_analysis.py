"""Time the structural analysis of the whole catalogue: cold (fresh process) and warm.

    python -m bench.bench_analysis [--json]

Cold = a new Python process that imports torch/torchvision/zoo and analyses every model
once (meta device). Warm = the same call again in that process, which the app's cache
serves, and a re-analysis with the cache cleared (what a page pays for a new input size).
Targets (issue #2): whole catalogue cold < 5 s on a 2-core machine; warm well under 0.5 s.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import torch, torchvision  # noqa: F401
from zoo import registry
from zoo.analysis import summarize
from zoo.analysis.layers import summarize_module
t_import = time.perf_counter() - t0
per = {}
t1 = time.perf_counter()
for name in registry.names():
    s = time.perf_counter(); summarize(name); per[name] = time.perf_counter() - s
t_cold = time.perf_counter() - t1
t2 = time.perf_counter()
for name in registry.names():
    summarize(name)
t_warm_cached = time.perf_counter() - t2
summarize.cache_clear()
t3 = time.perf_counter()
summarize("resnet50")
t_resnet50_uncached = time.perf_counter() - t3
# Page render: the model page through AppTest, first (cold cache) and second (warm) run.
from pathlib import Path
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(str(Path("app.py").resolve()), default_timeout=300)
at.run()
at.switch_page("pages/explore/model.py")
t4 = time.perf_counter(); at.run(); t_page_first = time.perf_counter() - t4
t5 = time.perf_counter(); at.run(); t_page_warm = time.perf_counter() - t5
assert not at.exception, at.exception
print(json.dumps({"page_first_s": t_page_first, "page_warm_s": t_page_warm, "import_s": t_import, "cold_s": t_cold, "warm_cached_s": t_warm_cached,
                  "resnet50_reanalyse_s": t_resnet50_uncached, "per_model_s": per}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t
    r = json.loads(out.stdout)
    r["process_wall_s"] = wall
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"fresh process wall            {wall:6.2f} s")
    print(f"  import torch/torchvision/zoo {r['import_s']:6.2f} s")
    print(f"  analyse all {len(r['per_model_s'])} models (cold) {r['cold_s']:6.2f} s   target < 5 s   "
          f"ratio {r['cold_s'] / 5:.2f}")
    print(f"  again, cached (warm)          {r['warm_cached_s'] * 1e3:6.1f} ms  target < 500 ms  "
          f"ratio {r['warm_cached_s'] / 0.5:.3f}")
    print(f"  ResNet-50 re-analysed         {r['resnet50_reanalyse_s'] * 1e3:6.1f} ms")
    print(f"  model page render, first run  {r['page_first_s'] * 1e3:6.1f} ms")
    print(f"  model page render, warm       {r['page_warm_s'] * 1e3:6.1f} ms  target < 500 ms  "
          f"ratio {r['page_warm_s'] / 0.5:.2f}")
    print("per model (cold):")
    for name, s in sorted(r["per_model_s"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:22} {s * 1e3:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
