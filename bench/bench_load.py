"""A classroom at once: N browser sessions upload a photo to the predictions page at the same moment.

    python -m bench.bench_load [--sessions 10] [--models a,b] [--same-photo] [--fresh] [--json]

Starts the real app (`streamlit run app.py` on 127.0.0.1, a free port), then:
  1. reads the server's RSS with no model loaded;
  2. one warm-up visitor opens /predict (loads, exports and caches the models of the default
     selection, or of --models): timed as the cold first visit, then RSS again (the one shared
     copy of each model);
  3. N headless-Chromium sessions (separate browser contexts = separate Streamlit sessions) open
     /predict, switch to the Upload tab and wait at a barrier; then all upload at once through the
     real file input and wait for their side-by-side predictions. Each session's photo differs by
     one pixel (unless --same-photo), so the page's prediction cache cannot answer for the others
     and every session's forward passes really run;
  4. reports p50/p95 time from upload to predictions shown, errors (must be 0), server RSS before
     and after (growth per session must be small next to the one shared copy of the models), and
     how often each model was loaded, counted from the "zoo: loaded" line the server prints on
     every load (must be 1 each).
Only 127.0.0.1 is contacted; every wait has a time limit and the bench stops the server and the
browser itself. By default the server uses your TORCH_HOME (cached weights and ONNX exports);
--fresh gives it an empty temporary one, as on a new install (only the bundled Lite0 then).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from bench.bench_startup import SCRIPT_DONE_JS, SCRIPT_RUNNING_JS, chromium, start_server, stop_server

DEFAULT_SESSIONS = 10
TIMEOUT_S = 600  # the whole bench, start to finish
STEP_TIMEOUT_MS = 180_000  # any single wait in a session
SHOTS_DIR: Path | None = None  # where a failed session's screenshot goes (--shots)
PHOTO = "chelsea.png"
CATS = {"tabby", "tiger cat", "Egyptian cat"}
# The page's latency caption, e.g. "23.0 ms on CPU · 2 threads (ONNX Runtime) · 0.39 GMACs at 224 px".
FORWARD_MS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stCaptionContainer"]'))
                     .map(c => c.innerText.match(/^([0-9.]+) ms on /)).filter(m => m).map(m => parseFloat(m[1]))"""
TOP1_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMarkdownContainer"] p'))
                     .filter(p => p.innerText.startsWith('Top-1:')).map(p => p.innerText)"""


def variant_photos(folder: Path, n: int, same: bool) -> list[Path]:
    """``n`` copies of the sample photo, each one pixel different (so each has its own digest)."""
    from PIL import Image

    from zoo.inference.images import SAMPLES_DIR

    src = SAMPLES_DIR / PHOTO
    if same:
        return [src] * n
    base = Image.open(src).convert("RGB")
    out = []
    for i in range(n):
        img = base.copy()
        img.putpixel((0, 0), (i % 256, (i * 7) % 256, (i * 13) % 256))
        path = folder / f"chelsea-{i:03d}.png"
        img.save(path)
        out.append(path)
    return out


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), as numpy's default."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


async def wait_idle(page, *, after_action: bool = False) -> None:
    """Until the session's script run has finished.

    After a click or an upload the previous run's "notRunning" can still be showing for a moment,
    so first give the new run up to a second to start.
    """
    await page.wait_for_selector("[data-testid='stApp']", timeout=STEP_TIMEOUT_MS)
    if after_action:
        with contextlib.suppress(Exception):
            await page.wait_for_function(SCRIPT_RUNNING_JS, timeout=1000)
    await page.wait_for_function(SCRIPT_DONE_JS, timeout=STEP_TIMEOUT_MS)


async def visit_predict(page, url: str) -> None:
    await page.goto(url)
    await wait_idle(page)
    h1 = await page.inner_text("h1", timeout=STEP_TIMEOUT_MS)
    if "Predict" not in h1:
        raise RuntimeError(f"{url} shows {h1!r}, not the predictions page (is it in app.py's navigation?)")


async def top1s(page) -> list[str]:
    return await page.evaluate(TOP1_JS)


async def error_text(page) -> str | None:
    for sel in ("[data-testid='stException']", "[data-testid='stAlertContentError']"):
        loc = page.locator(sel)
        if await loc.count():
            return (await loc.first.inner_text())[:300]
    return None


async def session(i: int, browser, url: str, photo: Path, expected: int, barrier: asyncio.Barrier) -> dict:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    result = {"session": i, "ok": False}
    try:
        try:
            await visit_predict(page, url)  # waits for the sample photo's predictions to finish
            await page.get_by_role("tab", name="Upload").click()
            await page.locator("input[type='file']").wait_for(state="attached")
            await wait_idle(page, after_action=True)
            if await top1s(page):
                raise RuntimeError("the sample's predictions are still shown on the Upload tab")
        finally:
            await barrier.wait()  # a session that failed to get ready must not hold the others back
        start = time.perf_counter()
        await page.locator("input[type='file']").set_input_files(str(photo))
        await page.wait_for_function(f"() => ({TOP1_JS})().length >= {expected}", timeout=STEP_TIMEOUT_MS)
        await wait_idle(page)
        result["time_to_result_s"] = time.perf_counter() - start
        labels = await top1s(page)
        result["top1"] = labels
        result["forward_ms"] = await page.evaluate(FORWARD_MS_JS)
        problem = await error_text(page)
        if problem:
            raise RuntimeError(f"error on the page: {problem}")
        result["ok"] = True
    except Exception as e:  # noqa: BLE001 - every failure is counted and reported, never hidden
        result["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
        if SHOTS_DIR is not None:
            with contextlib.suppress(Exception):
                shot = SHOTS_DIR / f"bench-load-session-{i:03d}.png"
                await page.screenshot(path=str(shot), full_page=True)
                result["screenshot"] = str(shot)
    finally:
        await ctx.close()
    return result


async def run(args, server, photos: list[Path], query: str, expected: int) -> dict:
    from playwright.async_api import async_playwright

    deadline = time.monotonic() + args.timeout
    exe, flags = chromium()
    url = server.url + "/predict" + query
    out: dict = {"rss_before_mb": server.rss_mb()}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=exe, args=flags)
        try:
            ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
            page = await ctx.new_page()
            page.set_default_timeout(STEP_TIMEOUT_MS)
            # The home page first, as a teacher would.
            await page.goto(server.url)
            await wait_idle(page)
            out["rss_after_home_mb"] = server.rss_mb()
            start = time.perf_counter()
            await visit_predict(page, url)
            await page.wait_for_function(f"() => ({TOP1_JS})().length >= {expected}", timeout=STEP_TIMEOUT_MS)
            out["warmup_s"] = time.perf_counter() - start
            out["warmup_top1"] = await top1s(page)
            await ctx.close()
            out["rss_after_warmup_mb"] = server.rss_mb()

            barrier = asyncio.Barrier(args.sessions)
            start = time.perf_counter()
            tasks = [asyncio.create_task(session(i, browser, url, photos[i], expected, barrier))
                     for i in range(args.sessions)]
            done, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
            for t in pending:
                t.cancel()
            out["sessions"] = [t.result() if t in done else
                               {"session": i, "ok": False, "error": f"not finished within the bench's {args.timeout:.0f} s"}
                               for i, t in enumerate(tasks)]
            out["burst_wall_s"] = time.perf_counter() - start
        finally:
            await browser.close()
    out["rss_after_mb"] = server.rss_mb()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS, help="browser sessions at once (default 10)")
    ap.add_argument("--models", help="comma-separated models for the page (default: its own default selection)")
    ap.add_argument("--same-photo", action="store_true", help="every session uploads the identical photo")
    ap.add_argument("--fresh", action="store_true", help="an empty temporary TORCH_HOME, as on a new install")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds for the whole burst")
    ap.add_argument("--shots", help="folder for a screenshot of each failed session")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    global SHOTS_DIR
    if args.shots:
        SHOTS_DIR = Path(args.shots)
        SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    if args.sessions < 1:
        ap.error("--sessions must be at least 1")

    with tempfile.TemporaryDirectory(prefix="zoo-bench-load-") as tmp:
        tmp = Path(tmp)
        torch_home = str(tmp / "torch_home") if args.fresh else None
        if torch_home:
            os.environ["TORCH_HOME"] = torch_home  # so available_models() below sees what the server sees
        from zoo import registry
        from zoo.inference.predict import default_selection
        from zoo.inference.weights import available_models

        available = available_models()
        if args.models:
            chosen = [n.strip() for n in args.models.split(",") if n.strip()]
            for n in chosen:
                registry.get(n)
            query = "?pred_models=" + ",".join(chosen)
        else:
            chosen = default_selection(available)
            query = ""
        predicting = [n for n in chosen if n in available]
        if not predicting:
            raise SystemExit("error: none of the chosen models has weights on this computer")
        photos = variant_photos(tmp, args.sessions, args.same_photo)
        print(f"starting the app; {args.sessions} sessions will predict with {', '.join(predicting)}…",
              file=sys.stderr, flush=True)
        server = start_server(tmp, torch_home=torch_home)
        try:
            time.sleep(1.0)  # let the server settle before the idle RSS reading
            out = asyncio.run(run(args, server, photos, query, len(predicting)))
            loads = server.loads()
        finally:
            stop_server(server)

    sessions = out["sessions"]
    ok = [s for s in sessions if s["ok"]]
    times = [s["time_to_result_s"] for s in ok]
    errors = [s for s in sessions if not s["ok"]]
    fwd = [ms for s in ok for ms in s.get("forward_ms", [])]
    lite0_cats = [any(c in " ".join(s["top1"]) for c in CATS) for s in ok] if "efficientnet_lite0" in predicting else []
    model_loads = {f"{name} ({device})": n for (name, device), n in sorted(loads.items())}
    model_mb = out["rss_after_warmup_mb"] - out["rss_after_home_mb"]
    per_session_mb = (out["rss_after_mb"] - out["rss_after_warmup_mb"]) / args.sessions
    result = {
        "sessions": args.sessions, "models": predicting, "distinct_photos": not args.same_photo,
        "p50_s": statistics.median(times) if times else None, "p95_s": percentile(times, 95) if times else None,
        "max_s": max(times) if times else None,
        "forward_ms_p50": statistics.median(fwd) if fwd else None, "burst_wall_s": out["burst_wall_s"], "errors": len(errors),
        "error_details": [s["error"] for s in errors], "warmup_s": out["warmup_s"],
        "rss_before_mb": out["rss_before_mb"], "rss_after_home_mb": out["rss_after_home_mb"],
        "rss_after_warmup_mb": out["rss_after_warmup_mb"],
        "rss_after_mb": out["rss_after_mb"], "models_rss_mb": model_mb, "per_session_rss_mb": per_session_mb,
        "model_loads": model_loads, "all_loaded_once": bool(loads) and all(n == 1 for n in loads.values()),
        "lite0_says_cat": all(lite0_cats) if lite0_cats else None, "load_average": os.getloadavg(),
        "per_session": sessions,
    }
    good = result["errors"] == 0 and result["all_loaded_once"]
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if good else 1
    print(f"{args.sessions} sessions at once on /predict ({', '.join(predicting)}; "
          f"{'one-pixel-different photos' if not args.same_photo else 'the same photo'}); "
          f"{os.cpu_count()} CPUs, load average {result['load_average'][0]:.1f}\n")
    if times:
        print(f"time from upload to predictions: p50 {result['p50_s']:.2f} s, p95 {result['p95_s']:.2f} s, "
              f"max {result['max_s']:.2f} s (burst wall time {result['burst_wall_s']:.1f} s)")
    if fwd:
        print(f"  of which forward passes (the page's latency captions): median {result['forward_ms_p50']:.0f} ms; "
              f"the rest is Streamlit reruns, upload, decoding and {args.sessions} Chromium renderers sharing the CPUs")
    print(f"errors: {result['errors']} (must be 0)" + "".join(f"\n  {e}" for e in result["error_details"]))
    print(f"warm-up visitor (loads + prepares the models): {result['warmup_s']:.1f} s")
    print(f"server RSS (MiB): {result['rss_before_mb']:.0f} idle -> {result['rss_after_home_mb']:.0f} after the home page "
          f"(torch, torchvision imported) -> {result['rss_after_warmup_mb']:.0f} after the warm-up visit to /predict "
          f"(+{model_mb:.0f}: its imports and one shared copy of each model) -> {result['rss_after_mb']:.0f} after "
          f"{args.sessions} sessions ({per_session_mb:+.1f} MiB per session)")
    print("model loads in the server: " + ", ".join(f"{k} x{v}" for k, v in model_loads.items())
          + f" ({'each loaded once' if result['all_loaded_once'] else 'NOT each loaded exactly once'})")
    if result["lite0_says_cat"] is not None:
        print(f"EfficientNet-Lite0 top-1 is a cat in every session: {result['lite0_says_cat']}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
