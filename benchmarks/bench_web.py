"""Benchmark: first meaningful paint of the web operations centre's map (issue 8).

Run from the repository root (after ``make setup``, which installs MapLibre GL JS)::

    python benchmarks/bench_web.py [--loads 5] [--sizes small,default] [--json out.json]
        [--before-src DIR]

For each demo city size the script starts ``resilientcity serve --size SIZE`` as a separate
process on a fresh SQLite store, waits until it answers, fetches ``/api/map/base`` once (the
server builds and caches the base map on the first call: that warm-up is reported, not timed),
then loads the page ``--loads`` times in headless Debian Chromium (Playwright, a new browser
context per load, so nothing is cached between loads) and reads ``window.__mapPaintedAt``: the
``performance.now()`` (from navigation start) of the map's first paint with every base layer,
i.e. MapLibre's first ``idle`` event (all tiles drawn). Reported: the median (and the spread)
per size. Also reported, not judged: the same page reloaded in one context (the vendor scripts
from the HTTP cache, the page's own files revalidated by ETag: an operator who keeps the centre
open).

``--before-src DIR`` measures, in the same run and with the same browser, the page served from
another source tree (``PYTHONPATH=DIR``), e.g. the code before a change::

    mkdir /tmp/before && git archive <commit> src | tar -x -C /tmp/before
    python benchmarks/bench_web.py --before-src /tmp/before/src

and prints each size's ratio now / before (it sets ``window.__mapPaintedAt`` too: the Plotly
map of earlier versions after its first ``newPlot``).

Target of the issue: the map of the ``default`` demo city (about 50,000 buildings, drawn
aggregated to cells) paints in under 3 s. The ``small`` city (5,000 buildings, drawn one by
one) is the baseline measured in the same run. The browser, the servers and the script share
the machine's cores: the load average is printed at the start and the end. Always exits 0 and
prints PASS or FAIL against the target.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _machine import cpu_model
from resilientcity._process import end_group, start_in_group

#: The target of the issue for the default city (seconds from navigation to the map's paint).
TARGET_S = 3.0
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until ``url/healthz`` answers 200 (the store seeded, the city built)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


@contextmanager
def _server(size: str, folder: Path, source: Path | None = None) -> Iterator[str]:
    """``resilientcity serve --size SIZE`` on a free port and a fresh SQLite file (the package
    imported from ``source`` when given)."""
    port = _free_port()
    exe = shutil.which("resilientcity") or str(Path(sys.executable).parent / "resilientcity")
    tag = f"{size}-{'before' if source else 'now'}"
    db = f"sqlite:///{folder / f'web-{tag}.db'}"
    log = (folder / f"serve-{tag}.log").open("wb")
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    process = start_in_group(  # ended with everything it started
        [exe, "serve", "--size", size, "--port", str(port), "--db", db],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, timeout=600)
        yield url
    finally:
        end_group(process, signal.SIGTERM)
        log.close()


def _wait_painted(page: Any, timeout_s: float = 120.0) -> None:
    """Wait for the map's first paint (``window.__mapPaintedAt``), polling with ``evaluate``:
    ``wait_for_function`` evaluates its predicate with ``eval``, which the page's Content
    Security Policy refuses. The paint time is the page's own, so polling costs no accuracy."""
    deadline = time.monotonic() + timeout_s
    while page.evaluate("typeof window.__mapPaintedAt !== 'number'"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the map did not paint within {timeout_s:.0f} s")
        page.wait_for_timeout(50)


def _paint_times(browser: Any, url: str, loads: int) -> list[float]:
    """Seconds from navigation start to the map's first paint, one per fresh page load."""
    times = []
    for _ in range(loads):
        context = browser.new_context(viewport={"width": 1600, "height": 950})
        page = context.new_page()
        page.goto(url + "/")
        _wait_painted(page)
        times.append(float(page.evaluate("window.__mapPaintedAt")) / 1000.0)
        context.close()
    return times


def _warm_paint_times(browser: Any, url: str, loads: int) -> list[float]:
    """The same, reloading in one context (the vendor scripts from the HTTP cache and V8's code
    cache, the page's files revalidated, as for an operator who keeps the centre open); the
    first load is not counted."""
    context = browser.new_context(viewport={"width": 1600, "height": 950})
    page = context.new_page()
    page.goto(url + "/")
    _wait_painted(page)
    times = []
    for _ in range(loads):
        page.reload()
        _wait_painted(page)
        times.append(float(page.evaluate("window.__mapPaintedAt")) / 1000.0)
    context.close()
    return times


def _measure(
    browser: Any, size: str, loads: int, folder: Path, source: Path | None = None
) -> dict[str, Any]:
    start = time.perf_counter()
    with _server(size, folder, source) as url:
        started = time.perf_counter() - start
        warm = time.perf_counter()
        base = httpx.get(url + "/api/map/base", timeout=600)
        base.raise_for_status()
        warm_s = time.perf_counter() - warm
        times = _paint_times(browser, url, loads)
        warm = _warm_paint_times(browser, url, loads)
    return {
        "size": size,
        "code": "before" if source else "now",
        "server_start_s": round(started, 2),
        "base_map_first_call_s": round(warm_s, 3),
        "base_map_bytes": len(base.content),
        "paint_s": [round(t, 3) for t in times],
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "warm_paint_s": [round(t, 3) for t in warm],
        "warm_median_s": round(statistics.median(warm), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=5, help="page loads per city size")
    parser.add_argument("--sizes", default="small,default", help="baseline first, then target")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument(
        "--before-src", type=Path, help="also measure the package from this source tree"
    )
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("FAIL: Chromium is not installed (apt-get install chromium)")
        return
    from playwright.sync_api import sync_playwright

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    codes: list[Path | None] = [None] if args.before_src is None else [args.before_src, None]
    load_start = os.getloadavg()[0]
    print(f"load average (1 min) at the start: {load_start:.2f} on {os.cpu_count()} cores")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for size in sizes:
                for source in codes:
                    result = _measure(browser, size, args.loads, Path(tmp), source)
                    results.append(result)
                    print(
                        f"{size:>8} {result['code']:>6}: map painted after "
                        f"{result['median_s']:.2f} s median ({result['min_s']:.2f}–"
                        f"{result['max_s']:.2f} s, {args.loads} loads); reload "
                        f"{result['warm_median_s']:.2f} s; base map "
                        f"{result['base_map_bytes'] / 1e6:.2f} MB, first call "
                        f"{result['base_map_first_call_s']:.2f} s; server start "
                        f"{result['server_start_s']:.1f} s"
                    )
        finally:
            browser.close()
    load = os.getloadavg()[0]
    print(f"load average (1 min) at the end: {load:.2f} on {os.cpu_count()} cores")
    summary: dict[str, Any] = {
        "cpu": cpu_model(),
        "load_average_1min_start": round(load_start, 2),
        "load_average_1min_end": round(load, 2),
        "cores": os.cpu_count(),
        "chromium": chromium,
        "target_s": TARGET_S,
        "results": results,
    }
    now = {r["size"]: r for r in results if r["code"] == "now"}
    for r in results:
        if r["code"] == "before":
            ratio = now[r["size"]]["median_s"] / r["median_s"]
            summary.setdefault("ratio_now_vs_before", {})[r["size"]] = round(ratio, 2)
            print(
                f"{r['size']:>8}: now {now[r['size']]['median_s']:.2f} s / before "
                f"{r['median_s']:.2f} s = {ratio:.2f}×"
            )
    target = now[sizes[-1]]
    verdict = "PASS" if target["median_s"] < TARGET_S else "FAIL"
    line = f"{verdict}: {target['size']} city map painted in {target['median_s']:.2f} s (target < {TARGET_S:.0f} s)"
    if len(sizes) > 1:
        first = now[sizes[0]]
        ratio = target["median_s"] / first["median_s"]
        summary["ratio_vs_baseline"] = round(ratio, 2)
        line += f"; {ratio:.2f}× the {first['size']} city ({first['median_s']:.2f} s)"
    print(line)
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
