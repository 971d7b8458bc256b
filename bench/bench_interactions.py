"""Speed a class feels: first render of every page and widget changes on it, in the real app in headless Chromium.

    python -m bench.bench_interactions [--repeats 3] [--json]

One server (tests/e2e/conftest.py's start_app), one browser. For each page:
  cold      the first visit to the page on this server (its caches empty)
  warm      a fresh browser session opening it again (Streamlit's caches full, a new session)
and at least three interactions per page (slider, select, radio, toggle, button, upload), each done
``--repeats`` times back and forth. An interaction is timed in the browser from just before the input
to the end of the script run it caused (the app root's ``data-test-script-state`` goes
running -> notRunning, seen by a MutationObserver, so a fast run is not missed) plus two animation
frames, i.e. until the result is painted. The first repeat may fill a cache; the others are "warm".
It prints each row's median and slowest, and names every interaction whose warm median exceeds 1 s.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, start_app, stop_app, wait_for_app

SLOW_S = 1.0  # the bar: a widget change a class waits for longer than this is named
PHOTO = ROOT / "assets" / "samples" / "chelsea.png"

_OBSERVE = """() => {
  const el = document.querySelector('[data-testid="stApp"]');
  if (!el || window.__zooStates) return;
  window.__zooStates = [];
  new MutationObserver(() => window.__zooStates.push([performance.now(), el.getAttribute('data-test-script-state')]))
    .observe(el, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
# Resolves with the time the run that started after t0 ended and two frames were painted; null if none yet.
_DONE = """async (t0) => {
  const s = window.__zooStates || [];
  const i = s.findIndex(x => x[0] >= t0 && x[1] === 'running');
  if (i < 0 || !s.slice(i).some(x => x[1] === 'notRunning')) return null;
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now();
}"""


@dataclass
class Row:
    page: str
    what: str
    seconds: list[float] = field(default_factory=list)
    error: str = ""

    @property
    def warm(self) -> list[float]:
        return self.seconds[1:] or self.seconds

    def summary(self) -> dict:
        return {"page": self.page, "what": self.what, "runs": len(self.seconds),
                "median_s": round(statistics.median(self.seconds), 3) if self.seconds else None,
                "warm_median_s": round(statistics.median(self.warm), 3) if self.seconds else None,
                "slowest_s": round(max(self.seconds), 3) if self.seconds else None, "error": self.error}


def timed(pg, action: Callable[[], None], timeout_s: float = 120) -> float:
    """Seconds from just before ``action`` to the painted end of the script run it causes."""
    pg.evaluate(_OBSERVE)
    t0 = pg.evaluate("performance.now()")
    action()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        end = pg.evaluate(_DONE, t0)
        if end is not None:
            return (end - t0) / 1000
        pg.wait_for_timeout(20)
    raise TimeoutError("no script run finished after the action")


def _select(pg, label: str, option: str) -> Callable[[], None]:
    def go():
        pg.locator("[data-testid='stSelectbox']").filter(has_text=label).first.locator("input").click()
        pg.get_by_role("option", name=option, exact=True).first.click()
    return go


def _click_text(pg, scope: str, text: str) -> Callable[[], None]:
    return lambda: pg.locator(scope).get_by_text(text, exact=True).first.click()


def _button(pg, name: str) -> Callable[[], None]:
    return lambda: pg.get_by_role("button", name=name, exact=True).first.click()


def _slider_key(pg, nth: int, key: str) -> Callable[[], None]:
    def go():
        handle = pg.get_by_role("slider").nth(nth)
        handle.focus()
        handle.press(key)
    return go


def _upload(pg) -> Callable[[], None]:
    return lambda: pg.locator("input[type='file']").first.set_input_files(str(PHOTO))


def _tab(pg, name: str) -> Callable[[], None]:
    return lambda: pg.get_by_role("tab", name=name).first.click()


def _upload_tab_then_file(pg) -> Callable[[], None]:
    """Open the Upload tab (its own rerun, not timed) and upload: the upload's run is what is timed."""
    def go():
        _tab(pg, "Upload")()
        wait_for_app(pg)
        _upload(pg)()
    return go


# page -> (path, [(interaction, [actions to alternate])]); each action list is cycled for --repeats runs.
def plan(pg) -> dict[str, tuple[str, list[tuple[str, list[Callable[[], None]]]]]]:
    radio = "[data-testid='stRadio']"
    return {
        "Home": ("/home", [
            ("toggle presenter view", [lambda: pg.locator("[data-testid='stSidebar']").get_by_text("Presenter view").click(),
                                       _button(pg, "Leave presenter view")]),
            ("language switch", [_click_text(pg, "[data-testid='stSidebar']", "한국어"),
                                 _click_text(pg, "[data-testid='stSidebar']", "English")]),
        ]),
        "Model": ("/model?model=resnet50", [
            ("select variant", [_select(pg, "Variant", "ResNet-101"), _select(pg, "Variant", "ResNet-50")]),
            ("radio: accuracy shown", [_click_text(pg, radio, "best available"),
                                       _click_text(pg, radio, "original paper recipe (V1)")]),
            ("toggle: only layers with params", [_click_text(pg, "[data-testid='stCheckbox']",
                                                             "Only layers with params")]),
        ]),
        "Compare": ("/compare", [
            ("radio: cost axis", [_click_text(pg, radio, "Parameters"), _click_text(pg, radio, "MACs")]),  # first radio
            ("radio: stage metric", [_click_text(pg, "[data-testid='stRadio']:has-text('Show')", "MACs"),
                                     _click_text(pg, "[data-testid='stRadio']:has-text('Show')", "params")]),
            ("button: all models / one per family", [_button(pg, "All models"), _button(pg, "One per family")]),
        ]),
        "Labs": ("/labs", [
            ("slider (lab fragment)", [_slider_key(pg, 0, "ArrowRight"), _slider_key(pg, 0, "ArrowLeft")]),
            ("slider 2 (lab fragment)", [_slider_key(pg, 1, "ArrowRight"), _slider_key(pg, 1, "ArrowLeft")]),
            ("select lab", [_select(pg, "Lab", "ReLU vs sigmoid / tanh"),
                            _select(pg, "Lab", "3×3 stacks vs large kernels (VGG)")]),
        ]),
        "Receptive fields": ("/receptive-fields", [
            ("slider: unit row", [_slider_key(pg, 0, "ArrowRight"), _slider_key(pg, 0, "ArrowLeft")]),
            ("slider: unit column", [_slider_key(pg, 1, "ArrowRight"), _slider_key(pg, 1, "ArrowLeft")]),
            ("select model", [_select(pg, "Model", "VGG-16"), _select(pg, "Model", "ResNet-50")]),
        ]),
        "Predict": ("/predict", [
            ("toggle: wrong preprocessing", [_click_text(pg, "[data-testid='stCheckbox']", "Wrong preprocessing")]),
            ("sample photo button", [_button(pg, "A cup of coffee"), _button(pg, "Chelsea the cat")]),
            ("upload a photo / back to the sample", [_upload_tab_then_file(pg), _tab(pg, "Sample photo")]),
        ]),
        "Inside the network": ("/inside", [
            ("sample photo button", [_button(pg, "A cup of coffee"), _button(pg, "Chelsea the cat")]),
            ("tab: feature maps", [_tab(pg, "Feature maps"), _tab(pg, "Grad-CAM")]),
            ("tab: filters", [_tab(pg, "Filters"), _tab(pg, "Grad-CAM")]),
        ]),
    }


def first_render(browser, url: str) -> float:
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    pg = ctx.new_page()
    pg.set_default_timeout(180_000)
    try:
        t = time.perf_counter()
        pg.goto(url)
        wait_for_app(pg, after_action=False)
        pg.locator("h1").first.wait_for()
        return time.perf_counter() - t
    finally:
        ctx.close()


def run(repeats: int, only: list[str] | None = None) -> list[Row]:
    from playwright.sync_api import sync_playwright

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        proc, base = start_app(Path(tmp))
        try:
            first_render(browser, base + "/home")  # the server's imports, not any page's cost
            ctx = browser.new_context(viewport={"width": 1280, "height": 720})
            pg = ctx.new_page()
            pg.set_default_timeout(180_000)
            for page, (path, actions) in plan(pg).items():
                if only and page not in only:
                    continue
                rows.append(Row(page, "first render, cold", [first_render(browser, base + path)]))
                rows.append(Row(page, "first render, warm (new session)",
                                [first_render(browser, base + path) for _ in range(repeats)]))
                pg.goto(base + path)
                wait_for_app(pg, after_action=False)
                pg.locator("h1").first.wait_for()
                for what, steps in actions:
                    row = Row(page, what)
                    try:
                        for i in range(max(repeats, len(steps))):
                            row.seconds.append(timed(pg, steps[i % len(steps)]))
                    except Exception as e:  # noqa: BLE001 - one failed interaction is reported, the bench goes on
                        row.error = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
                    rows.append(row)
                    print(f"  {page}: {what} {row.summary()}", file=sys.stderr, flush=True)
            ctx.close()
        finally:
            stop_app(proc)
            browser.close()
    return rows


def report(rows: list[Row]) -> str:
    out = ["| page | what | runs | median (s) | warm median (s) | slowest (s) |", "|---|---|---|---|---|---|"]
    for r in rows:
        s = r.summary()
        if r.error and not r.seconds:
            out.append(f"| {r.page} | {r.what} | 0 | failed: {r.error} | | |")
            continue
        flag = " **> 1 s**" if "render" not in r.what and s["warm_median_s"] > SLOW_S else ""
        out.append(f"| {r.page} | {r.what} | {s['runs']} | {s['median_s']:.2f} | {s['warm_median_s']:.2f}{flag} "
                   f"| {s['slowest_s']:.2f} |")
    timed_rows = [r for r in rows if r.seconds and "render" not in r.what]
    slow = sorted((r for r in timed_rows if statistics.median(r.warm) > SLOW_S),
                  key=lambda r: -statistics.median(r.warm))
    top = sorted(timed_rows, key=lambda r: -max(r.seconds))[:3]
    out.append("")
    out.append("Slowest interactions (single run): " + "; ".join(
        f"{r.page} / {r.what} {max(r.seconds):.2f} s" for r in top) + ".")
    out.append("Warm median over 1 s: " + ("; ".join(f"{r.page} / {r.what} {statistics.median(r.warm):.2f} s"
                                                     for r in slow) or "none") + ".")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs of each interaction (>= 3: the first may be cold)")
    ap.add_argument("--pages", default="", help="comma-separated page titles (default: all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = run(max(1, args.repeats), [p for p in args.pages.split(",") if p] or None)
    if args.json:
        print(json.dumps([r.summary() for r in rows], indent=2))
    else:
        print(report(rows))
    return 0 if all(not r.error for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
