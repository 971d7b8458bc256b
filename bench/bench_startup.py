"""Start-up: from `streamlit run app.py` to the home page served and rendered in headless Chromium.

    python -m bench.bench_startup [--runs 3] [--json]

Each run starts a fresh server on a free 127.0.0.1 port and times:
  health     spawn -> /_stcore/health answers 200 (Python, Streamlit and app.py's imports)
  first      spawn -> the home page rendered in Chromium (title drawn, script finished): what the
             first visitor waits for, including the heavy imports (torch, torchvision) on first run
  second     a second, fresh browser session on the same server: the imports are not paid twice,
             so this is the page's own cost
It also checks that the home page loads no model (the server prints one "zoo: loaded" line per
model load; there must be none) and reports the server's RSS after the first render, next to the
bare cost of `import torch, torchvision` in a new interpreter. The browser is started before the
server so its own launch is not counted. Each run stops its server; the whole bench ends by itself.

The live-server helpers (start_server, stop_server, chromium) are tests/live.py's, shared with the e2e tests.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.live import ROOT, chromium, start_server, stop_server

RENDER_TIMEOUT_MS = 120_000


# Streamlit marks its root element with the script's state: "initial", "running", "notRunning".
# (The status widget is no help here: .streamlit/config.toml's toolbarMode = "minimal" hides it.)
SCRIPT_DONE_JS = ("() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
                  " return !!a && a.getAttribute('data-test-script-state') === 'notRunning'; }")
SCRIPT_RUNNING_JS = SCRIPT_DONE_JS.replace("=== 'notRunning'", "=== 'running'")


def wait_rendered(page, selector: str = "h1") -> None:
    """Streamlit's app frame drawn, ``selector`` visible and the script run finished."""
    page.wait_for_selector("[data-testid='stApp']", timeout=RENDER_TIMEOUT_MS)
    page.wait_for_selector(selector, timeout=RENDER_TIMEOUT_MS)
    page.wait_for_function(SCRIPT_DONE_JS, timeout=RENDER_TIMEOUT_MS)


# -- the start-up bench ---------------------------------------------------------------------------

def import_cost_s() -> float:
    """Seconds for `import torch, torchvision` in a fresh interpreter (the heavy part of start-up)."""
    code = "import time; t = time.perf_counter(); import torch, torchvision; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def one_run(browser, work_dir: Path) -> dict:
    server = start_server(work_dir)
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        page.goto(server.url)
        wait_rendered(page)
        first_s = time.perf_counter() - server.spawned_at
        title = page.inner_text("h1")
        errors = page.locator("[data-testid='stException']").count()
        ctx.close()
        rss_after_first = server.rss_mb()

        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        start = time.perf_counter()
        page.goto(server.url)
        wait_rendered(page)
        second_s = time.perf_counter() - start
        ctx.close()
        loads = server.loads()
        return {"health_s": server.healthy_s, "first_render_s": first_s, "second_render_s": second_s,
                "title": title, "error_boxes": errors, "model_loads_on_home": sum(loads.values()),
                "rss_after_first_render_mb": rss_after_first}
    finally:
        stop_server(server)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="fresh server starts to time (median reported)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    exe, flags = chromium()
    imports_s = import_cost_s()
    runs = []
    with tempfile.TemporaryDirectory(prefix="zoo-bench-startup-") as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=flags)
        try:
            for i in range(args.runs):
                print(f"run {i + 1}/{args.runs}…", file=sys.stderr, flush=True)
                runs.append(one_run(browser, Path(tmp)))
        finally:
            browser.close()

    def med(key):
        return statistics.median(r[key] for r in runs)

    result = {
        "runs": runs,
        "median": {k: med(k) for k in ("health_s", "first_render_s", "second_render_s", "rss_after_first_render_mb")},
        "import_torch_torchvision_s": imports_s,
        "model_loads_on_home": max(r["model_loads_on_home"] for r in runs),
        "error_boxes": max(r["error_boxes"] for r in runs),
        "load_average": os.getloadavg(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if result["model_loads_on_home"] == 0 and result["error_boxes"] == 0 else 1
    m = result["median"]
    print(f"Start-up of `streamlit run app.py` — median of {args.runs} fresh servers "
          f"(load average {result['load_average'][0]:.1f} on {os.cpu_count()} CPUs)\n")
    print(f"{'step':<52}{'seconds':>9}")
    print(f"{'spawn -> /_stcore/health 200':<52}{m['health_s']:>9.2f}")
    print(f"{'spawn -> home page rendered (first visitor)':<52}{m['first_render_s']:>9.2f}")
    print(f"{'second session, home page rendered':<52}{m['second_render_s']:>9.2f}")
    print(f"{'reference: import torch, torchvision (new process)':<52}{imports_s:>9.2f}")
    print("\nper run (health / first / second s): "
          + "; ".join(f"{r['health_s']:.2f} / {r['first_render_s']:.2f} / {r['second_render_s']:.2f}" for r in runs))
    print(f"server RSS after the first render: {m['rss_after_first_render_mb']:.0f} MiB")
    print(f"models loaded by the home page: {result['model_loads_on_home']} (must be 0); "
          f"error boxes: {result['error_boxes']}")
    return 0 if result["model_loads_on_home"] == 0 and result["error_boxes"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
