"""The real app as a live server, for the browser tests and the benchmarks alike (one helper, no copies).

- :func:`start_server` / :func:`stop_server`: one `streamlit run app.py` on a free 127.0.0.1 port,
  returned once ``/_stcore/health`` answers 200, in its own process group.
- :func:`start_replicas` / :func:`stop_replicas`: ``deploy/run-local.sh N`` (N replicas + nginx), with
  every replica's PID and URL read from the script's output, so a test or bench can kill one.
- :data:`CHROMIUM`, :data:`CHROMIUM_ARGS`, :func:`chromium`: the system Chromium and its flags.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a sandboxed machine with no network: no background fetches, no first-run UI.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
HEALTH_TIMEOUT_S = 120
# The line pages/ui/models.py prints to stderr on each model load.
LOAD_LINE = re.compile(r"^zoo: loaded (\S+) on (\S+) \(load (\d+) in this process")
REPLICA_LINE = re.compile(r"^replica (\d+): pid (\d+), (http://\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium() -> tuple[str, list[str]]:
    """(executable, args) for the system Chromium."""
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"error: no Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM, CHROMIUM_ARGS


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MiB, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


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
        return count_loads(self.log_path.read_text(errors="replace"))

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)


def count_loads(log_text: str) -> Counter:
    counts: Counter = Counter()
    for line in log_text.splitlines():
        m = LOAD_LINE.match(line)
        if m:
            counts[(m.group(1), m.group(2))] += 1
    return counts


def start_server(work_dir: Path, *, torch_home: str | None = None, env_extra: dict | None = None,
                 timeout_s: float = HEALTH_TIMEOUT_S) -> Server:
    """`python -m streamlit run app.py` on 127.0.0.1:<free port>, returned once /_stcore/health says 200.

    ``torch_home`` None keeps the caller's TORCH_HOME (so cached weights and ONNX exports are used).
    """
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env_extra or {}))
    if torch_home is not None:
        env["TORCH_HOME"] = torch_home
    log_path = Path(work_dir) / f"streamlit-{port}.log"
    log_file = open(log_path, "w")
    spawned_at = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )
    server = Server(proc, f"http://127.0.0.1:{port}", log_path, spawned_at, _log_file=log_file)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early (code {proc.returncode}); see {log_path}")
        if healthy(server.url):
            server.healthy_s = time.perf_counter() - spawned_at
            return server
        time.sleep(0.05)
    stop_server(server)
    raise RuntimeError(f"streamlit did not become healthy within {timeout_s:.0f} s; see {log_path}")


def _stop_group(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def stop_server(server: Server) -> None:
    """Stop the server we started (its own process group), politely first."""
    _stop_group(server.proc)
    if server._log_file is not None:
        server._log_file.close()


@dataclass
class Replicas:
    proc: subprocess.Popen  # deploy/run-local.sh
    url: str  # nginx
    log_path: Path
    replicas: dict[str, int]  # "127.0.0.1:PORT" (nginx's $upstream_addr) -> replica PID

    def kill(self, addr: str) -> None:
        """Kill one replica at once (SIGKILL: a crash, not a shutdown)."""
        os.kill(self.replicas[addr], signal.SIGKILL)

    def rss_mb(self) -> dict[str, float]:
        out = {}
        for addr, pid in self.replicas.items():
            try:
                out[addr] = rss_mb(pid)
            except (OSError, RuntimeError):
                pass  # a killed replica has no RSS
        return out

    def loads(self) -> Counter:
        counts: Counter = Counter()
        for log in sorted(self.log_path.parent.glob("zoo-replicas.*/replica-*.log")):
            counts.update(count_loads(log.read_text(errors="replace")))
        return counts


def start_replicas(n: int, work_dir: Path, *, torch_home: str | None = None, timeout_s: float = 240) -> Replicas:
    """``deploy/run-local.sh n`` with nginx on a free port; returned once nginx answers /_stcore/health."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise FileNotFoundError("no nginx (Debian: apt-get install nginx)")
    port = free_port()
    env = dict(os.environ, PYTHON=sys.executable, NGINX=nginx, PORT=str(port), TMPDIR=str(work_dir))
    if torch_home is not None:
        env["TORCH_HOME"] = torch_home
    log_path = Path(work_dir) / "run-local.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([str(ROOT / "deploy" / "run-local.sh"), str(n)], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"run-local.sh exited: {log_path.read_text()[-2000:]}")
        if healthy(url):
            replicas = {}
            for line in log_path.read_text().splitlines():
                m = REPLICA_LINE.match(line)
                if m:
                    replicas[m.group(3).removeprefix("http://")] = int(m.group(2))
            if len(replicas) == n:
                return Replicas(proc, url, log_path, replicas)
        time.sleep(0.3)
    stop_replicas_proc(proc)
    raise RuntimeError(f"nginx + {n} replicas did not answer within {timeout_s:.0f} s; see {log_path}")


def stop_replicas_proc(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # the script stops every process it started, by PID
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise


def stop_replicas(replicas: Replicas) -> None:
    stop_replicas_proc(replicas.proc)
