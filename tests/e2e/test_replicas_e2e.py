"""Two replicas behind nginx (deploy/run-local.sh): each browser session keeps its own photo and result."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, SHOTS, assert_no_error_box, upload_photo, wait_for_app
from tests.live import start_replicas, stop_replicas

pytestmark = pytest.mark.e2e
SAMPLES = ROOT / "assets" / "samples"
TOP1_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMarkdownContainer"] p'))
                     .filter(p => p.innerText.startsWith('Top-1:')).map(p => p.innerText)"""


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """One set of 2 replicas + nginx for this module (the kill test, last, leaves one of them dead)."""
    tmp_path = tmp_path_factory.mktemp("replicas")
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        if os.environ.get("CI"):
            pytest.fail("nginx is missing in CI: .ci/run installs it from Debian's packages.")
        pytest.skip("no nginx (apt-get install nginx)")
    # A session counts as "moved from a dead replica" once its cookie is older than this: low here,
    # so the killed-replica test need not wait the default minute.
    os.environ["ZOO_FIRST_LOAD_S"] = "15"
    try:
        group = start_replicas(2, tmp_path, torch_home=str(tmp_path / "torch"), timeout_s=180)
    finally:
        del os.environ["ZOO_FIRST_LOAD_S"]
    yield group
    stop_replicas(group)


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
    ctx_a, cat, replica_a = _session_on(browser, replicas.url, None)
    ctx_b, cup, replica_b = _session_on(browser, replicas.url, replica_a)
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


MOVED = "The server that held this session stopped"


def test_a_killed_replica_leaves_the_other_sessions_alone_and_its_own_hear_why(browser, replicas):
    ctx_a, doomed, replica_a = _session_on(browser, replicas.url, None)
    ctx_b, safe, replica_b = _session_on(browser, replicas.url, replica_a)
    try:
        upload_photo(doomed, SAMPLES / "chelsea.png")
        upload_photo(safe, SAMPLES / "coffee.jpg")
        for page in (doomed, safe):
            page.wait_for_function(f"() => ({TOP1_JS})().length >= 3")
        time.sleep(15.5)  # both cookies are now older than ZOO_FIRST_LOAD_S
        replicas.kill(replica_a)
        # The dead replica's student does the next thing (turns on Grad-CAM): the page reconnects through
        # nginx to the live replica, which starts a fresh session and says why the upload is gone.
        time.sleep(2)
        doomed.get_by_text("Show where each model looks (Grad-CAM)").click()
        doomed.get_by_text(MOVED).wait_for(timeout=90_000)
        wait_for_app(doomed, after_action=False)
        assert_no_error_box(doomed)
        doomed.screenshot(path=str(SHOTS / "replicas_moved.png"))
        # The other session is untouched: same replica, its upload still there after a rerun, no notice.
        safe.get_by_text("Show where each model looks (Grad-CAM)").click()
        wait_for_app(safe)
        assert_no_error_box(safe)
        assert all("espresso" in t for t in safe.evaluate(TOP1_JS))
        assert safe.get_by_text(MOVED).count() == 0
    finally:
        ctx_a.close()
        ctx_b.close()
