"""Benchmark: demo city generation and twin GeoPackage I/O, per size (issue 2).

Run from the repository root::

    python benchmarks/bench_demo_city.py [--sizes small,default,large] [--repeat N] [--json out.json]

For each size and each repeat a fresh Python process (this script, with a hidden ``--child``
flag) does, in order:

1. ``demo_city(size)``: wall time, the time of each step (between two calls of the progress
   callback; the last step ends when ``demo_city`` returns) and peak RSS after generation;
2. ``City.write`` to a GeoPackage in a temporary folder: time and file size; the city is then
   dropped;
3. ``City.read`` of that file (with validation, as by default): time;
4. the baseline: a GeoDataFrame with the same number of rows and the same columns and dtypes
   as the city's ``assets`` layer, built from numpy random data (``shapely.points`` for the
   geometry), then written to and read from a GeoPackage with pyogrio (as ``twin.io`` does, with
   Arrow on read).

Peak RSS is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on Linux), so each figure is for
one size only; it is also noted at the end of each generation step, after the write and after
the read, to show where memory peaks. Ratios are against the baseline measured in the same process: generation over
building the baseline frame, city write over baseline write, city read over baseline read. The
targets of issue 2 (``large``: generation under 60 s and under 4096 MB peak RSS) are printed as
PASS or FAIL; the exit code is 0 either way, since this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from _machine import cpu_model
from _memory import current_rss_mb, peak_rss_mb
from _targets import print_targets

SIZES = ("small", "default", "large")
TARGET_SIZE = "large"
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 4096.0

Result = dict[str, Any]


def baseline_frame(n_rows: int, dtypes: dict[str, str], crs: Any, seed: int = 0) -> Any:
    """A GeoDataFrame of ``n_rows`` random rows with the given column dtypes and point geometry.

    String columns hold random integers written as text, so that they are as costly to store as
    short ids; integer and float columns hold random numbers.
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for name, dtype in dtypes.items():
        if dtype.startswith("int"):
            columns[name] = rng.integers(0, 1_000_000, n_rows, dtype=np.int64)
        elif dtype.startswith("float"):
            columns[name] = rng.random(n_rows) * 1e6
        else:
            text = rng.integers(0, 10_000_000, n_rows).astype("U8")
            columns[name] = pd.array(text, dtype="str")
    x = 690_000.0 + rng.random(n_rows) * 50_000.0
    y = 3_100_000.0 + rng.random(n_rows) * 50_000.0
    return gpd.GeoDataFrame(columns, geometry=shapely.points(x, y), crs=crs)


def run_child(size: str, seed: int) -> Result:
    """Measure one size in this (fresh) process; see the module docstring for the steps."""
    import pyogrio

    from resilientcity.twin.city import City
    from resilientcity.twin.demo import demo_city

    out: Result = {
        "size": size,
        "seed": seed,
        "rss_after_import_mb": current_rss_mb(),
        "peak_after_import_mb": peak_rss_mb(),
    }
    marks: list[tuple[str, float, float]] = []

    def progress(step: str) -> None:
        marks.append((step, time.perf_counter(), peak_rss_mb()))

    t0 = time.perf_counter()
    city = demo_city(size, seed=seed, progress=progress)
    t1 = time.perf_counter()
    out["generate_s"] = t1 - t0
    out["peak_generate_mb"] = peak_rss_mb()
    out["rss_city_mb"] = current_rss_mb()
    ends = [m[1] for m in marks[1:]] + [t1]
    peaks = [m[2] for m in marks[1:]] + [out["peak_generate_mb"]]
    out["steps"] = [
        {"step": step, "seconds": end - start, "peak_at_end_mb": peak}
        for (step, start, _), end, peak in zip(marks, ends, peaks, strict=True)
    ]
    out["rows"] = {name: len(frame) for name, frame in city.layers().items() if frame is not None}
    geometry = city.assets.geometry.name
    dtypes = {str(c): str(t) for c, t in city.assets.dtypes.items() if c != geometry}
    crs = city.crs
    n_assets = len(city.assets)

    with tempfile.TemporaryDirectory(prefix="rc-bench-") as tmp:
        city_path = Path(tmp) / f"demo-{size}.gpkg"
        t0 = time.perf_counter()
        city.write(city_path)
        out["write_s"] = time.perf_counter() - t0
        out["file_mb"] = city_path.stat().st_size / 2**20
        out["peak_after_write_mb"] = peak_rss_mb()
        del city
        gc.collect()

        t0 = time.perf_counter()
        back = City.read(city_path)
        out["read_s"] = time.perf_counter() - t0
        out["peak_after_read_mb"] = peak_rss_mb()
        del back
        gc.collect()

        t0 = time.perf_counter()
        frame = baseline_frame(n_assets, dtypes, crs)
        out["baseline_build_s"] = time.perf_counter() - t0
        base_path = Path(tmp) / "baseline.gpkg"
        t0 = time.perf_counter()
        pyogrio.write_dataframe(frame, base_path, layer="assets", driver="GPKG")
        out["baseline_write_s"] = time.perf_counter() - t0
        out["baseline_file_mb"] = base_path.stat().st_size / 2**20
        del frame
        gc.collect()
        t0 = time.perf_counter()
        pyogrio.read_dataframe(base_path, layer="assets", use_arrow=True)
        out["baseline_read_s"] = time.perf_counter() - t0

    out["peak_run_mb"] = peak_rss_mb()
    return out


def measure(size: str, seed: int) -> Result:
    """Run :func:`run_child` for ``size`` in a fresh Python process and return its result."""
    with tempfile.TemporaryDirectory(prefix="rc-bench-") as tmp:
        result_path = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            size,
            "--seed",
            str(seed),
            "--child-out",
            str(result_path),
        ]
        proc = subprocess.run(cmd, check=False)
        if proc.returncode != 0 or not result_path.is_file():
            raise RuntimeError(f"measuring size {size!r} failed (exit code {proc.returncode})")
        result: Result = json.loads(result_path.read_text())
        return result


def summarise(runs: list[Result]) -> Result:
    """Median times and maximum peaks over the repeats of one size (all repeats kept too)."""
    med = statistics.median
    first = runs[0]
    times = (
        "generate_s",
        "write_s",
        "read_s",
        "baseline_build_s",
        "baseline_write_s",
        "baseline_read_s",
    )
    summary: Result = {k: med(r[k] for r in runs) for k in times}
    summary["generate_min_s"] = min(r["generate_s"] for r in runs)
    peaks = (
        "peak_after_import_mb",
        "peak_generate_mb",
        "rss_city_mb",
        "peak_after_write_mb",
        "peak_after_read_mb",
        "peak_run_mb",
    )
    for k in peaks:
        summary[k] = max(r[k] for r in runs)
    summary["file_mb"] = first["file_mb"]
    summary["baseline_file_mb"] = first["baseline_file_mb"]
    summary["rows"] = first["rows"]
    summary["steps"] = [
        {
            "step": s["step"],
            "seconds": med(r["steps"][i]["seconds"] for r in runs),
            "peak_at_end_mb": max(r["steps"][i]["peak_at_end_mb"] for r in runs),
        }
        for i, s in enumerate(first["steps"])
    ]
    summary["ratio_generate"] = summary["generate_s"] / summary["baseline_build_s"]
    summary["ratio_write"] = summary["write_s"] / summary["baseline_write_s"]
    summary["ratio_read"] = summary["read_s"] / summary["baseline_read_s"]
    summary["repeats"] = runs
    return summary


def environment() -> Result:
    """Machine and library versions, for the record."""
    import pyogrio

    cpu = cpu_model()
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    libs = ("numpy", "pandas", "geopandas", "shapely", "pyogrio", "pyarrow", "h3", "resilientcity")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_gb, 1),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: version(name) for name in libs}
        | {"GDAL": pyogrio.__gdal_version_string__},
    }


def targets(results: dict[str, Result]) -> list[tuple[str, str, str]]:
    """(target, measured, PASS/FAIL/NOT MEASURED) for the issue-2 targets."""
    if TARGET_SIZE not in results:
        return [
            (f"{TARGET_SIZE}: generation < {TARGET_SECONDS:.0f} s", "-", "NOT MEASURED"),
            (f"{TARGET_SIZE}: peak RSS < {TARGET_PEAK_MB:.0f} MB", "-", "NOT MEASURED"),
        ]
    r = results[TARGET_SIZE]
    slowest = max(x["generate_s"] for x in r["repeats"])
    peak = r["peak_generate_mb"]
    return [
        (
            f"{TARGET_SIZE}: generation < {TARGET_SECONDS:.0f} s (slowest repeat)",
            f"{slowest:.1f} s",
            "PASS" if slowest < TARGET_SECONDS else "FAIL",
        ),
        (
            f"{TARGET_SIZE}: peak RSS of generation < {TARGET_PEAK_MB:.0f} MB",
            f"{peak:.0f} MB",
            "PASS" if peak < TARGET_PEAK_MB else "FAIL",
        ),
    ]


def report(results: dict[str, Result], env: Result, console: Console) -> list[str]:
    """Print the tables; return the verdicts of the targets."""
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    console.print(
        f"[bold]{env['cpu']}[/], {env['nproc']} CPUs, {env['memory_gb']} GB, "
        f"Python {env['python']}; {versions}"
    )
    main = Table(title="Demo city: generation and GeoPackage I/O (median over repeats)")
    main.add_column("metric")
    for size in results:
        main.add_column(size, justify="right")

    def row(label: str, fmt: str, key: str) -> None:
        main.add_row(label, *(format(r[key], fmt) for r in results.values()))

    main.add_row("assets (rows)", *(f"{r['rows']['assets']:,}" for r in results.values()))
    row("generation (s)", ".2f", "generate_s")
    row("baseline build (s)", ".3f", "baseline_build_s")
    row("generation / baseline", ".0f", "ratio_generate")
    row("peak RSS after imports (MB)", ".0f", "peak_after_import_mb")
    row("peak RSS, generation (MB)", ".0f", "peak_generate_mb")
    row("RSS holding the city (MB)", ".0f", "rss_city_mb")
    row("peak RSS after City.write (MB)", ".0f", "peak_after_write_mb")
    row("peak RSS after City.read (MB)", ".0f", "peak_after_read_mb")
    row("peak RSS, whole run (MB)", ".0f", "peak_run_mb")
    row("City.write (s)", ".2f", "write_s")
    row("baseline write (s)", ".3f", "baseline_write_s")
    row("write / baseline write", ".1f", "ratio_write")
    row("City.read (s)", ".2f", "read_s")
    row("baseline read (s)", ".3f", "baseline_read_s")
    row("read / baseline read", ".1f", "ratio_read")
    row("GeoPackage (MB)", ".1f", "file_mb")
    row("baseline GeoPackage (MB)", ".1f", "baseline_file_mb")
    console.print(main)

    steps = Table(title="Generation steps: seconds (peak RSS in MB at the end of the step)")
    steps.add_column("step")
    for size in results:
        steps.add_column(size, justify="right")
    names = [s["step"] for s in next(iter(results.values()))["steps"]]
    for i, name in enumerate(names):
        steps.add_row(
            name,
            *(
                f"{r['steps'][i]['seconds']:.2f} ({r['steps'][i]['peak_at_end_mb']:.0f})"
                for r in results.values()
            ),
        )
    console.print(steps)

    return print_targets(console, "Targets of issue 2", targets(results))


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, measure every size in a fresh process, print and save results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=1, help="fresh runs per size (median)")
    parser.add_argument("--json", type=Path, default=None, help="write all figures to this file")
    parser.add_argument("--seed", type=int, default=None, help="demo seed (default: the demo's)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from resilientcity.twin.demo import DEFAULT_SEED

    seed = DEFAULT_SEED if args.seed is None else args.seed
    if args.child is not None:
        args.child_out.write_text(json.dumps(run_child(args.child, seed)))
        return 0

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown or args.repeat < 1:
        parser.error(f"sizes must be among {', '.join(SIZES)} and --repeat >= 1")
    console = Console()
    results: dict[str, Result] = {}
    for size in sizes:
        runs = []
        for i in range(args.repeat):
            console.print(f"measuring {size} (run {i + 1}/{args.repeat}) in a fresh process ...")
            runs.append(measure(size, seed))
        results[size] = summarise(runs)
    env = environment()
    verdicts = report(results, env, console)
    if "FAIL" in verdicts:
        console.print("[bold red]A target of issue 2 is NOT met[/] (exit code 0: a measurement).")
    elif "NOT MEASURED" in verdicts:
        console.print(f"Targets not checked: run with size {TARGET_SIZE!r} to check them.")
    else:
        console.print("[green]All targets of issue 2 are met.[/]")
    if args.json is not None:
        payload = {"environment": env, "seed": seed, "repeat": args.repeat, "results": results}
        args.json.write_text(json.dumps(payload, indent=2))
        console.print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
