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

This file also holds the small server helpers that bench_load.py and bench_memory.py share.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEALTH_TIMEOUT_S = 120
RENDER_TIMEOUT_MS = 120_000
# The line pages/ui/models.py prints to stderr on each model load.
LOAD_LINE = re.compile(r"^zoo: loaded (\S+) on (\S+) \(load (\d+) in this process")


# -- server helpers (shared with bench_load.py and bench_memory.py) -------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log_path: Path
    spawned_at: float  # time.perf_counter() just before the spawn
    healthy_s: float | None = None
    _log_file: object = field(default=None, repr=False)

    def loads(self) -> Counter:
        """(model, device) -> how many times the server loaded it, from its "zoo: loaded" lines."""
        counts: Counter = Counter()
        for line in self.log_path.read_text(errors="replace").splitlines():
            m = LOAD_LINE.match(line)
            if m:
                counts[(m.group(1), m.group(2))] += 1
        return counts

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MiB, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def start_server(work_dir: Path, *, torch_home: str | None = None, env_extra: dict | None = None) -> Server:
    """`python -m streamlit run app.py` on 127.0.0.1:<free port>, returned once /_stcore/health says 200.

    ``torch_home`` None keeps the caller's TORCH_HOME (so cached weights and ONNX exports are used).
    """
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env_extra or {}))
    if torch_home is not None:
        env["TORCH_HOME"] = torch_home
    log_path = work_dir / f"streamlit-{port}.log"
    log_file = open(log_path, "w")
    spawned_at = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )
    server = Server(proc, f"http://127.0.0.1:{port}", log_path, spawned_at, _log_file=log_file)
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early (code {proc.returncode}); see {log_path}")
        try:
            with urllib.request.urlopen(server.url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    server.healthy_s = time.perf_counter() - spawned_at
                    return server
        except OSError:
            time.sleep(0.05)
    stop_server(server)
    raise RuntimeError(f"streamlit did not become healthy within {HEALTH_TIMEOUT_S} s; see {log_path}")


def stop_server(server: Server) -> None:
    """Stop the server we started (its own process group), politely first."""
    if server.proc.poll() is None:
        os.killpg(server.proc.pid, signal.SIGTERM)
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(timeout=15)
    if server._log_file is not None:
        server._log_file.close()


def chromium():
    """(executable, args) for the system Chromium, as the e2e tests use it."""
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"error: no Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM, CHROMIUM_ARGS


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
