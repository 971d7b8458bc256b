"""The real app in headless Chromium: one Streamlit server and one browser per test session."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from tests.live import CHROMIUM, CHROMIUM_ARGS, ROOT, Server, start_server, stop_server

# Screenshots of each page land here; the README shows the committed copies in assets/screenshots/.
SHOTS = Path(os.environ.get("ZOO_SCREENSHOTS", ROOT / "out" / "screenshots"))
SHOTS.mkdir(parents=True, exist_ok=True)


def start_app(tmp_dir: Path, env_extra: dict | None = None):
    """The app on a free 127.0.0.1 port with an empty TORCH_HOME; returns (process, base_url) once healthy."""
    server = start_server(tmp_dir, torch_home=str(tmp_dir / "torch_home"), env_extra=env_extra)
    return server.proc, server.url


def stop_app(proc) -> None:
    stop_server(Server(proc, "", Path(os.devnull), 0.0))


@pytest.fixture(scope="session")
def chromium_available():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run installs it from Debian's packages.")
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium chromium-driver)")
    return CHROMIUM


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, chromium_available):
    proc, url = start_app(tmp_path_factory.mktemp("e2e"))
    yield url
    stop_app(proc)


@pytest.fixture(scope="session")
def browser(chromium_available):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_available, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextlib.contextmanager
def browser_page(browser, width: int, height: int, timeout_ms: int):
    """A page in a browser context of its own (its own Streamlit session) at ``width`` x ``height``."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    try:
        pg = ctx.new_page()
        pg.set_default_timeout(timeout_ms)
        yield pg
    finally:
        ctx.close()


@pytest.fixture
def page(browser):
    with browser_page(browser, 1400, 1000, 90_000) as pg:
        yield pg


# Streamlit's root element carries the script's state ("initial", "running", "notRunning"). The
# status widget is no guide: .streamlit/config.toml's toolbarMode = "minimal" hides it.
_STATE = "document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state')"


def wait_for_app(pg, *, after_action: bool = True) -> None:
    """Until this session's script run has finished (after an action, give the rerun a second to start)."""
    pg.wait_for_selector("[data-testid='stApp']")
    if after_action:
        try:
            pg.wait_for_function(f"() => {_STATE} === 'running'", timeout=1000)
        except Exception:  # noqa: BLE001 - a run shorter than the poll interval is already over
            pass
    pg.wait_for_function(f"() => {_STATE} === 'notRunning'", timeout=120_000)


def upload_photo(pg, path: Path) -> None:
    """Upload ``path`` through the image widget's real file input and wait until the page shows it."""
    from PIL import Image

    pg.get_by_role("tab", name="Upload").click()
    wait_for_app(pg)
    pg.locator("input[type='file']").first.set_input_files(str(path))
    with Image.open(path) as im:
        w, h = im.size
    # The widget's caption under the photo proves what follows is for the upload, not the sample.
    pg.get_by_text(f"{Path(path).name} · {w} × {h} px").wait_for()


def assert_no_error_box(pg) -> None:
    errors = pg.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()[:2000]
