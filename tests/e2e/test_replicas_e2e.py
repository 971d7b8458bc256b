"""Two replicas behind nginx (deploy/run-local.sh): each browser session keeps its own photo and result."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, SHOTS, assert_no_error_box, upload_photo, wait_for_app

pytestmark = pytest.mark.e2e
SAMPLES = ROOT / "assets" / "samples"
TOP1_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMarkdownContainer"] p'))
                     .filter(p => p.innerText.startsWith('Top-1:')).map(p => p.innerText)"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def replicas(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        if os.environ.get("CI"):
            pytest.fail("nginx is missing in CI: .ci/run installs it from Debian's packages.")
        pytest.skip("no nginx (apt-get install nginx)")
    port = _free_port()
    env = dict(os.environ, PYTHON=sys.executable, NGINX=nginx, PORT=str(port), TORCH_HOME=str(tmp_path / "torch"))
    log = open(tmp_path / "run-local.log", "w")
    proc = subprocess.Popen([str(ROOT / "deploy" / "run-local.sh"), "2"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"run-local.sh exited: {(tmp_path / 'run-local.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("nginx + 2 replicas did not answer within 180 s")
    yield url
    proc.send_signal(signal.SIGTERM)  # the script stops every process it started
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


def _session_on(browser, url: str, avoid: str | None):
    """A new browser session whose first response came from a replica other than ``avoid``."""
    for _ in range(12):
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.set_default_timeout(120_000)
        response = page.goto(url + "/predict")
        replica = response.headers.get("x-zoo-replica")
        if replica and replica != avoid:
            wait_for_app(page, after_action=False)
            return ctx, page, replica
        ctx.close()
    raise AssertionError("nginx never sent a new session to the second replica")


def test_each_session_keeps_its_own_photo_on_its_own_replica(browser, replicas):
    ctx_a, cat, replica_a = _session_on(browser, replicas, None)
    ctx_b, cup, replica_b = _session_on(browser, replicas, replica_a)
    try:
        assert replica_a != replica_b
        upload_photo(cat, SAMPLES / "chelsea.png")
        upload_photo(cup, SAMPLES / "coffee.jpg")
        for page, expected in ((cat, "cat"), (cup, "espresso")):
            page.wait_for_function(f"() => ({TOP1_JS})().length >= 3")
            assert all(expected in t for t in page.evaluate(TOP1_JS)), page.evaluate(TOP1_JS)
        # A rerun (switching a toggle) goes back over each session's websocket to its own replica,
        # which still holds its upload.
        for page, expected in ((cat, "cat"), (cup, "espresso")):
            page.get_by_text("Show where each model looks (Grad-CAM)").click()
            wait_for_app(page)
            assert_no_error_box(page)
            assert all(expected in t for t in page.evaluate(TOP1_JS))
        cat.screenshot(path=str(SHOTS / "replicas_session_a.png"))
        cup.screenshot(path=str(SHOTS / "replicas_session_b.png"))
    finally:
        ctx_a.close()
        ctx_b.close()
