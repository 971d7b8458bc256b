"""A classroom at once: N browser sessions upload a photo to the predictions page at the same moment.

    python -m bench.bench_load [--sessions 10] [--models a,b] [--same-photo] [--fresh] [--json]
    python -m bench.bench_load --url http://HOST:PORT     # any running app: one replica or nginx
    python -m bench.bench_load --replicas 2 [--kill-one]  # one replica, then 2 behind nginx, side by side

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
With --url nothing is started: the bench drives that base URL (no RSS or load counts then).
With --replicas N the same burst runs twice in one invocation, first against one replica, then
through deploy/run-local.sh N (nginx in front), and the two are printed side by side; --kill-one
kills one replica (SIGKILL) a moment into the second burst and reports how many sessions were on
it (still waiting for their results), how many of those, on uploading again as a student would,
were told why their page started afresh (pages/ui/replica.py) and got their results from a live
replica, and that the sessions on the other replicas finished unaffected.
Only 127.0.0.1 is contacted (or the --url you give); every wait has a time limit and the bench stops the server and the
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

from bench.bench_startup import SCRIPT_DONE_JS, SCRIPT_RUNNING_JS
from tests.live import chromium, start_replicas, start_server, stop_replicas, stop_server

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


async def visit_predict(page, url: str) -> str | None:
    """Open /predict; returns the replica that answered (nginx's X-Zoo-Replica header) if any."""
    response = await page.goto(url)
    await wait_idle(page)
    h1 = await page.inner_text("h1", timeout=STEP_TIMEOUT_MS)
    if "Predict" not in h1:
        raise RuntimeError(f"{url} shows {h1!r}, not the predictions page (is it in app.py's navigation?)")
    return response.headers.get("x-zoo-replica") if response else None


async def top1s(page) -> list[str]:
    return await page.evaluate(TOP1_JS)


async def error_text(page) -> str | None:
    for sel in ("[data-testid='stException']", "[data-testid='stAlertContentError']"):
        loc = page.locator(sel)
        if await loc.count():
            return (await loc.first.inner_text())[:300]
    return None


MOVED = "The server that held this session stopped"  # pages/ui/replica.py's sentence (English)


async def session(i: int, browser, url: str, photo: Path, expected: int, barrier: asyncio.Barrier,
                  killed: asyncio.Event | None = None, dead: set | None = None, result: dict | None = None) -> dict:
    """One student; ``result`` (filled as it goes) keeps what is known if the bench's deadline cancels it."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await ctx.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    result = result if result is not None else {}
    result.update({"session": i, "ok": False})
    try:
        try:
            result["replica"] = await visit_predict(page, url)  # waits for the sample's predictions
            await page.get_by_role("tab", name="Upload").click()
            await page.locator("input[type='file']").wait_for(state="attached")
            await wait_idle(page, after_action=True)
            if await top1s(page):
                raise RuntimeError("the sample's predictions are still shown on the Upload tab")
        finally:
            await barrier.wait()  # a session that failed to get ready must not hold the others back
        start = time.perf_counter()
        await page.locator("input[type='file']").set_input_files(str(photo))
        done = asyncio.create_task(page.wait_for_function(f"() => ({TOP1_JS})().length >= {expected}",
                                                          timeout=STEP_TIMEOUT_MS))
        if killed is not None:
            kill = asyncio.create_task(killed.wait())
            await asyncio.wait({done, kill}, return_when=asyncio.FIRST_COMPLETED)
            if result.get("replica") in dead:  # this session's replica was killed: does it hear why?
                done.cancel()
                result["on_killed_replica"] = True
                # The page looks stuck; the student uploads again, as the sentence will ask: that rerun
                # reaches a live replica through nginx, in a fresh session.
                await asyncio.sleep(2)
                await page.locator("input[type='file']").set_input_files(str(photo))
                await page.get_by_text(MOVED).wait_for(timeout=STEP_TIMEOUT_MS)
                result["told_why"] = True
                await page.wait_for_function(f"() => ({TOP1_JS})().length >= {expected}", timeout=STEP_TIMEOUT_MS)
                result["results_after_upload_again"] = True
                result["ok"] = True
                return result
            kill.cancel()
        await done
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


class Target:
    """What a burst runs against: one server we started, nginx + replicas we started, or any URL."""

    def __init__(self, url: str, *, server=None, group=None) -> None:
        self.url, self.server, self.group = url, server, group

    @property
    def replicas(self) -> int:
        return len(self.group.replicas) if self.group else 1

    def rss_mb(self) -> float | None:
        if self.server:
            return self.server.rss_mb()
        if self.group:
            return sum(self.group.rss_mb().values())
        return None

    def loads(self):
        if self.server:
            return self.server.loads()
        return self.group.loads() if self.group else None


async def warm_up(browser, target: Target, url: str, expected: int) -> tuple[float, list[str]]:
    """One visitor per replica opens /predict and waits for its predictions (loads + prepares the models)."""
    seen: set = set()
    first_s, top1 = None, []
    for _ in range(4 * target.replicas):
        ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
        page = await ctx.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        start = time.perf_counter()
        replica = await visit_predict(page, url)
        await page.wait_for_function(f"() => ({TOP1_JS})().length >= {expected}", timeout=STEP_TIMEOUT_MS)
        if first_s is None:
            first_s, top1 = time.perf_counter() - start, await top1s(page)
        await ctx.close()
        seen.add(replica)
        if len(seen) >= target.replicas:
            break
    return first_s, top1


async def run(args, target: Target, photos: list[Path], query: str, expected: int, kill_one: bool = False) -> dict:
    from playwright.async_api import async_playwright

    deadline = time.monotonic() + args.timeout
    exe, flags = chromium()
    url = target.url + "/predict" + query
    out: dict = {"rss_before_mb": target.rss_mb()}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=exe, args=flags)
        try:
            ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
            page = await ctx.new_page()
            page.set_default_timeout(STEP_TIMEOUT_MS)
            # The home page first, as a teacher would.
            await page.goto(target.url)
            await wait_idle(page)
            await ctx.close()
            out["rss_after_home_mb"] = target.rss_mb()
            out["warmup_s"], out["warmup_top1"] = await warm_up(browser, target, url, expected)
            out["rss_after_warmup_mb"] = target.rss_mb()

            barrier = asyncio.Barrier(args.sessions + (1 if kill_one else 0))  # the killer waits with them
            killed = asyncio.Event() if kill_one else None
            dead: set = set()
            start = time.perf_counter()
            partial = [{} for _ in range(args.sessions)]
            tasks = [asyncio.create_task(session(i, browser, url, photos[i], expected, barrier, killed, dead, partial[i]))
                     for i in range(args.sessions)]
            if kill_one:
                out["killed"] = await kill_during(target, barrier, killed, dead, args.kill_after)
            done, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
            for t in pending:
                t.cancel()
            out["sessions"] = [t.result() if t in done else
                               {**partial[i], "session": i, "ok": False,
                                "error": f"not finished within the bench's {args.timeout:.0f} s"}
                               for i, t in enumerate(tasks)]
            out["burst_wall_s"] = time.perf_counter() - start
        finally:
            await browser.close()
    out["rss_after_mb"] = target.rss_mb()
    return out


async def kill_during(target: Target, barrier: asyncio.Barrier, killed: asyncio.Event, dead: set,
                      after_s: float) -> str | None:
    """Once every session is ready and uploading, wait ``after_s`` and SIGKILL the first replica."""
    await barrier.wait()
    await asyncio.sleep(after_s)
    addr = sorted(target.group.replicas)[0]
    dead.add(addr)
    target.group.kill(addr)
    killed.set()
    return addr


def summarise(args, out: dict, target: Target, predicting: list[str]) -> dict:
    sessions = out["sessions"]
    ok = [s for s in sessions if s["ok"] and not (out.get("killed") and s.get("replica") == out["killed"])]
    times = [s["time_to_result_s"] for s in ok]
    errors = [s for s in sessions if not s["ok"]]  # a killed replica's session must recover too: counted
    fwd = [ms for s in ok for ms in s.get("forward_ms", [])]
    lite0_cats = [any(c in " ".join(s["top1"]) for c in CATS) for s in ok] if "efficientnet_lite0" in predicting else []
    loads = target.loads()
    model_loads = {f"{name} ({device})": n for (name, device), n in sorted(loads.items())} if loads is not None else None
    rss = [out[k] for k in ("rss_after_home_mb", "rss_after_warmup_mb", "rss_after_mb")]
    known = all(v is not None for v in rss)
    # Sessions whose replica was killed (by the replica that served their page), finished or not.
    on_killed = [s for s in sessions if out.get("killed") and s.get("replica") == out["killed"]]
    return {
        "url": target.url, "replicas": target.replicas,
        "sessions": args.sessions, "models": predicting, "distinct_photos": not args.same_photo,
        "p50_s": statistics.median(times) if times else None, "p95_s": percentile(times, 95) if times else None,
        "max_s": max(times) if times else None,
        "forward_ms_p50": statistics.median(fwd) if fwd else None, "burst_wall_s": out["burst_wall_s"],
        "errors": len(errors), "error_details": [s["error"] for s in errors], "warmup_s": out["warmup_s"],
        "rss_before_mb": out["rss_before_mb"], "rss_after_home_mb": rss[0], "rss_after_warmup_mb": rss[1],
        "rss_after_mb": rss[2], "models_rss_mb": rss[1] - rss[0] if known else None,
        "per_session_rss_mb": (rss[2] - rss[1]) / args.sessions if known else None,
        "model_loads": model_loads,
        # Each replica loads each model once (its own copy); with --url nothing is counted.
        "all_loaded_once": (bool(loads) and all(n <= target.replicas for n in loads.values())) if loads is not None else None,
        "killed_replica": out.get("killed"), "sessions_on_killed": len(on_killed),
        "told_why": sum(1 for s in on_killed if s.get("told_why")),
        "results_after_upload_again": sum(1 for s in on_killed if s.get("results_after_upload_again")),
        "sessions_elsewhere_ok": len(ok),
        "lite0_says_cat": all(lite0_cats) if lite0_cats else None, "load_average": os.getloadavg(),
        "per_session": sessions,
    }


def report(r: dict, args) -> None:
    where = f"{r['replicas']} replicas behind nginx" if r["replicas"] > 1 else "one replica"
    print(f"\n== {where} ({r['url']}): {r['sessions']} sessions at once on /predict ({', '.join(r['models'])}; "
          f"{'one-pixel-different photos' if r['distinct_photos'] else 'the same photo'}); "
          f"{os.cpu_count()} CPUs, load average {r['load_average'][0]:.1f}")
    if r["p50_s"] is not None:
        print(f"time from upload to predictions: p50 {r['p50_s']:.2f} s, p95 {r['p95_s']:.2f} s, "
              f"max {r['max_s']:.2f} s (burst wall time {r['burst_wall_s']:.1f} s)")
    if r["forward_ms_p50"] is not None:
        print(f"  of which forward passes (the page's latency captions): median {r['forward_ms_p50']:.0f} ms; "
              f"the rest is Streamlit reruns, upload, decoding and {r['sessions']} Chromium renderers sharing the CPUs")
    print(f"errors: {r['errors']} (must be 0)" + "".join(f"\n  {e}" for e in r["error_details"]))
    if r["killed_replica"]:
        print(f"killed replica {r['killed_replica']} {args.kill_after:.0f} s into the burst: {r['sessions_on_killed']} "
              f"sessions were still waiting on it, {r['told_why']} of them, uploading again, were told why their page started "
              f"afresh and {r['results_after_upload_again']} got their results from a live replica; {r['sessions_elsewhere_ok']} sessions on the other replicas finished with their results")
    print(f"warm-up visitor (loads + prepares the models): {r['warmup_s']:.1f} s")
    if r["models_rss_mb"] is not None:
        print(f"server RSS (MiB, all replicas): {r['rss_before_mb']:.0f} idle -> {r['rss_after_home_mb']:.0f} after "
              f"the home page -> {r['rss_after_warmup_mb']:.0f} after the warm-up (+{r['models_rss_mb']:.0f}: imports "
              f"and one shared copy of each model per replica) -> {r['rss_after_mb']:.0f} after {r['sessions']} "
              f"sessions ({r['per_session_rss_mb']:+.1f} MiB per session)")
    if r["model_loads"] is not None:
        print("model loads: " + ", ".join(f"{k} x{v}" for k, v in r["model_loads"].items())
              + f" ({'at most once per replica' if r['all_loaded_once'] else 'NOT once per replica'})")
    if r["lite0_says_cat"] is not None:
        print(f"EfficientNet-Lite0 top-1 is a cat in every session: {r['lite0_says_cat']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS, help="browser sessions at once (default 10)")
    ap.add_argument("--models", help="comma-separated models for the page (default: its own default selection)")
    ap.add_argument("--same-photo", action="store_true", help="every session uploads the identical photo")
    ap.add_argument("--fresh", action="store_true", help="an empty temporary TORCH_HOME, as on a new install")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds for the whole burst")
    ap.add_argument("--shots", help="folder for a screenshot of each failed session")
    ap.add_argument("--url", help="drive this running app (one replica or nginx) instead of starting one")
    ap.add_argument("--replicas", type=int, default=0,
                    help="also run the burst through deploy/run-local.sh N (nginx + N replicas), after one replica")
    ap.add_argument("--kill-one", action="store_true", help="with --replicas: kill one replica during the burst")
    ap.add_argument("--kill-after", type=float, default=2.0, help="seconds into the burst for --kill-one")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    global SHOTS_DIR
    if args.shots:
        SHOTS_DIR = Path(args.shots)
        SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    if args.sessions < 1:
        ap.error("--sessions must be at least 1")
    if args.url and args.replicas:
        ap.error("--url drives a running app; --replicas starts its own: give one of them")
    if args.kill_one and args.replicas < 2:
        ap.error("--kill-one needs --replicas 2 or more")
    if args.url and not args.url.startswith(("http://", "https://")):
        ap.error("--url must start with http:// or https://")

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
        results = []
        if args.url:
            print(f"driving {args.url}; {args.sessions} sessions will predict with {', '.join(predicting)}…",
                  file=sys.stderr, flush=True)
            target = Target(args.url.rstrip("/"))
            results.append(summarise(args, asyncio.run(run(args, target, photos, query, len(predicting))),
                                     target, predicting))
        else:
            print(f"starting the app; {args.sessions} sessions will predict with {', '.join(predicting)}…",
                  file=sys.stderr, flush=True)
            server = start_server(tmp, torch_home=torch_home)
            try:
                time.sleep(1.0)  # let the server settle before the idle RSS reading
                target = Target(server.url, server=server)
                results.append(summarise(args, asyncio.run(run(args, target, photos, query, len(predicting))),
                                         target, predicting))
            finally:
                stop_server(server)
            if args.replicas:
                print(f"starting {args.replicas} replicas behind nginx…", file=sys.stderr, flush=True)
                group = start_replicas(args.replicas, tmp, torch_home=torch_home)
                try:
                    time.sleep(1.0)
                    target = Target(group.url, group=group)
                    out = asyncio.run(run(args, target, photos, query, len(predicting), kill_one=args.kill_one))
                    results.append(summarise(args, out, target, predicting))
                finally:
                    stop_replicas(group)

    good = all(r["errors"] == 0 and r["all_loaded_once"] is not False for r in results)
    if args.kill_one:
        good = good and results[-1]["told_why"] == results[-1]["sessions_on_killed"]
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))
        return 0 if good else 1
    for r in results:
        report(r, args)
    if len(results) > 1:
        one, many = results
        if one["p95_s"] and many["p95_s"]:
            print(f"\np95 upload-to-result: {one['p95_s']:.2f} s on one replica vs {many['p95_s']:.2f} s through nginx "
                  f"with {many['replicas']} replicas ({one['p95_s'] / many['p95_s']:.2f}x), same sessions and photos, "
                  f"one invocation")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
