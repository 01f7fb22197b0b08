"""Benchmark: importing OpenStreetMap extracts of 5k to 1M buildings, then a scenario (issue 13).

Run from the repository root::

    python benchmarks/bench_osm_import.py [--sizes small,default,large] [--repeat N]
        [--no-scenario] [--realisations N] [--json out.json]

For each demo size the extract is the demo city written as an ``.osm.pbf`` by
``benchmarks/_osm_extract.py`` (buildings as closed ways with ``building=*``,
``building:levels`` and facility tags, roads as ways with ``highway``, ``maxspeed``, ``lanes``,
``oneway``, ``bridge``); it is written once under the cache folder (``$RC_BENCH_CACHE``, else
``<tmp>/resilientcity-bench``) and reused. Then, each in a fresh process:

1. **the import**: ``resilientcity twin import-osm EXTRACT -o city.gpkg``, the command as a
   user runs it (reading, building the twin, validation, writing the GeoPackage): wall time and
   peak RSS of the process tree (``_memory.run_measured``);
2. **the steps** of the same import through the Python API (this script with ``--child``):
   seconds and peak RSS at the end of each ``import_osm`` progress step and of ``City.write``;
3. **the baseline**: pyrosm's raw read of the buildings of the same file
   (``pyrosm.OSM(path, engine="in_memory").get_buildings()``), nothing else: the ratio
   import / baseline is the importer's cost over reading the buildings with its reader.

Then, unless ``--no-scenario``, the largest imported city runs a scenario end to end with
``resilientcity run``: an M6.5 earthquake at 10 km depth under the middle of the city
(BSSA14 with correlated realisations, Vs30 400 m/s as OSM has no ground data), with the network
stage (cascade and recovery over 180 days) and the decisions: wall time, peak RSS and the
stage times from ``summary.json``.

The targets of issue 13 (the 1M-building extract, ``large``: import under 180 s and under
6 GB peak; the scenario runs end to end) are printed as PASS or FAIL; the exit code is 0 either
way, since this is a measurement, not a test. The machine may be shared: ``uptime``'s load is
printed with the figures, and the ratios against the baseline of the same run are what compare
across machines.
"""

from __future__ import annotations

import argparse
import itertools
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
from _memory import peak_rss_mb, run_measured
from _osm_extract import cached_extract
from _targets import print_targets

SIZES = ("small", "default", "large")
TARGET_SIZE = "large"
TARGET_SECONDS = 180.0
TARGET_PEAK_MB = 6 * 1024.0
HERE = Path(__file__).resolve()

Result = dict[str, Any]

BASELINE = """
import sys, warnings
import pyrosm
warnings.simplefilter("ignore")
b = pyrosm.OSM(sys.argv[1], engine="in_memory", progress=False).get_buildings()
print(len(b))
"""


def _env() -> dict[str, str]:
    """This process's environment with the repository's ``src`` first on ``PYTHONPATH``."""
    env = dict(os.environ)
    src = str(HERE.parent.parent / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    return env


def _checked(label: str, measured: dict[str, float], log: Path) -> dict[str, float]:
    if measured["returncode"] != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{label} failed (exit code {measured['returncode']:.0f}):\n{tail}")
    return measured


def _measure(label: str, cmd: list[str], log: Path) -> dict[str, float]:
    with log.open("w") as out:
        m = run_measured(cmd, env=_env(), stdout=out, stderr=subprocess.STDOUT)
    return _checked(label, m, log)


def run_child(extract: Path, out: Path) -> Result:
    """The import's steps in this (fresh) process: seconds and peak RSS at the end of each."""
    from resilientcity.twin.osm import import_osm

    marks: list[tuple[str, float, float]] = []

    def progress(step: str) -> None:
        marks.append((step, time.perf_counter(), peak_rss_mb()))

    t0 = time.perf_counter()
    city = import_osm(extract, region="CN-changsha", progress=progress)
    marks.append(("writing the GeoPackage", time.perf_counter(), peak_rss_mb()))
    city.write(out)
    marks.append(("end", time.perf_counter(), peak_rss_mb()))
    steps = [
        {"step": s, "seconds": marks[i + 1][1] - t, "peak_at_end_mb": marks[i + 1][2]}
        for i, (s, t, _) in enumerate(marks[:-1])
    ]
    assets = city.assets
    return {
        "seconds": marks[-1][1] - t0,
        "steps": steps,
        "assets": len(assets),
        "buildings": int(assets["asset_id"].str.startswith("w").sum()),
        "road_edges": len(city.roads.edges),
        "population": float(city.zones["population"].iloc[0]),
        "value": float(assets["value"].sum()),
    }


def measure_size(size: str, tmp: Path, keep: bool) -> Result:
    """Import, steps and baseline for one size (each in a fresh process)."""
    extract = cached_extract(size, log=lambda msg: None)
    py = sys.executable
    gpkg = tmp / f"{size}.gpkg"
    gpkg.unlink(missing_ok=True)
    cli = [py, "-m", "resilientcity", "twin", "import-osm", str(extract)]
    cli += ["--region", "CN-changsha", "-o", str(gpkg)]
    out: Result = {"size": size, "extract_mb": extract.stat().st_size / 2**20}
    out["import"] = _measure("import-osm", cli, tmp / f"{size}-import.log")
    out["city_gpkg"] = str(gpkg)
    out["gpkg_mb"] = gpkg.stat().st_size / 2**20

    child_json, child_gpkg = tmp / f"{size}-steps.json", tmp / f"{size}-steps.gpkg"
    cmd = [py, str(HERE), "--child", str(extract), "--child-out", str(child_json)]
    cmd += ["--child-gpkg", str(child_gpkg)]
    out["steps_run"] = _measure("import steps", cmd, tmp / f"{size}-steps.log")
    out |= json.loads(child_json.read_text())
    child_gpkg.unlink(missing_ok=True)
    if not keep:
        gpkg.unlink(missing_ok=True)

    base_log = tmp / f"{size}-baseline.log"
    out["baseline"] = _measure("baseline", [py, "-c", BASELINE, str(extract)], base_log)
    out["baseline_buildings"] = int(base_log.read_text().split()[-1])
    out["ratio_time"] = out["import"]["seconds"] / out["baseline"]["seconds"]
    out["ratio_peak"] = out["import"]["peak_mb"] / out["baseline"]["peak_mb"]
    out["us_per_building"] = out["import"]["seconds"] / out["buildings"] * 1e6
    return out


SCENARIO = """\
name: M6.5 earthquake under the imported city ({size})
city:
  path: {gpkg}
hazards:
  - kind: earthquake
    magnitude: 6.5
    epicentre_xy: [{x:.1f}, {y:.1f}]
    depth_km: 10
    mechanism: strike_slip
    vs30: 400
    realisations: {realisations}
    seed: 7
recovery:
  enabled: true
"""


def measure_scenario(result: Result, tmp: Path, realisations: int) -> Result:
    """``resilientcity run`` of an earthquake under the middle of the imported city."""
    import pyogrio

    gpkg = Path(result["city_gpkg"])
    x0, y0, x1, y1 = pyogrio.read_info(gpkg, layer="assets")["total_bounds"]
    scenario = tmp / "earthquake.yaml"
    text = SCENARIO.format(
        size=result["size"], gpkg=gpkg, x=(x0 + x1) / 2, y=(y0 + y1) / 2, realisations=realisations
    )
    scenario.write_text(text)
    out_dir = tmp / "scenario-out"
    cmd = [sys.executable, "-m", "resilientcity", "run", str(scenario), "--out", str(out_dir)]
    run = _measure("scenario", cmd, tmp / "scenario.log")
    summary = json.loads((out_dir / "summary.json").read_text())
    impact = summary.get("impact", {})
    return {
        "size": result["size"],
        "realisations": realisations,
        "run": run,
        "timings_s": summary.get("timings_s", {}),
        "total_loss": impact.get("total_loss"),
        "casualties": impact.get("casualties"),
    }


def load() -> str:
    """``uptime``'s load averages (1, 5, 15 min) and the number of CPUs."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def environment() -> Result:
    """Machine and library versions, for the record."""
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    libs = ("numpy", "pandas", "geopandas", "shapely", "pyrosm", "osmium", "resilientcity")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_gb, 1),
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {name: version(name) for name in libs},
    }


def summarise(runs: list[Result]) -> Result:
    """Median times and largest peaks over the repeats of one size (the first run's counts)."""
    med = statistics.median
    out = dict(runs[0])
    for part in ("import", "baseline"):
        out[part] = {
            "seconds": med(r[part]["seconds"] for r in runs),
            "peak_mb": max(r[part]["peak_mb"] for r in runs),
            "slowest_s": max(r[part]["seconds"] for r in runs),
        }
    out["steps"] = [
        {
            "step": s["step"],
            "seconds": med(r["steps"][i]["seconds"] for r in runs),
            "peak_at_end_mb": max(r["steps"][i]["peak_at_end_mb"] for r in runs),
        }
        for i, s in enumerate(runs[0]["steps"])
    ]
    out["ratio_time"] = out["import"]["seconds"] / out["baseline"]["seconds"]
    out["ratio_peak"] = out["import"]["peak_mb"] / out["baseline"]["peak_mb"]
    out["us_per_building"] = out["import"]["seconds"] / out["buildings"] * 1e6
    out["repeats"] = runs
    return out


def targets(results: dict[str, Result], scenario: Result | None) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for the issue-13 targets."""
    if TARGET_SIZE not in results:
        return [(f"{TARGET_SIZE}: import < 180 s and < 6 GB", "-", "NOT MEASURED")]
    r = results[TARGET_SIZE]
    slowest, peak = r["import"]["slowest_s"], r["import"]["peak_mb"]
    rows = [
        (
            f"{TARGET_SIZE} ({r['buildings']:,} buildings): import < {TARGET_SECONDS:.0f} s",
            f"{slowest:.1f} s (slowest repeat)",
            "PASS" if slowest < TARGET_SECONDS else "FAIL",
        ),
        (
            f"{TARGET_SIZE}: peak RSS of the import < {TARGET_PEAK_MB:.0f} MB",
            f"{peak:.0f} MB",
            "PASS" if peak < TARGET_PEAK_MB else "FAIL",
        ),
    ]
    if scenario is None or scenario["size"] != TARGET_SIZE:
        rows.append((f"{TARGET_SIZE}: a scenario runs end to end", "-", "NOT MEASURED"))
    else:
        rows.append(
            (
                f"{TARGET_SIZE}: a scenario runs end to end",
                f"{scenario['run']['seconds']:.0f} s, {scenario['run']['peak_mb']:.0f} MB",
                "PASS",
            )
        )
    return rows


def report(
    results: dict[str, Result], scenario: Result | None, env: Result, console: Console
) -> list[str]:
    """Print the tables; return the verdicts of the targets."""
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    console.print(
        f"[bold]{env['cpu']}[/], {env['nproc']} CPUs, {env['memory_gb']} GB, "
        f"Python {env['python']}; {versions}; {env['load_before']} before, "
        f"{env['load_after']} after"
    )
    main = Table(title="OSM import: `twin import-osm` vs pyrosm's raw get_buildings()")
    main.add_column("metric")
    for size in results:
        main.add_column(size, justify="right")

    def row(label: str, fmt: str, get: Any) -> None:
        main.add_row(label, *(format(get(r), fmt) for r in results.values()))

    row("extract (.osm.pbf, MB)", ".1f", lambda r: r["extract_mb"])
    row("buildings imported", ",", lambda r: r["buildings"])
    row("assets", ",", lambda r: r["assets"])
    row("road edges", ",", lambda r: r["road_edges"])
    row("import-osm wall time (s)", ".2f", lambda r: r["import"]["seconds"])
    row("import-osm peak RSS (MB)", ".0f", lambda r: r["import"]["peak_mb"])
    row("µs per building", ".1f", lambda r: r["us_per_building"])
    row("baseline get_buildings (s)", ".2f", lambda r: r["baseline"]["seconds"])
    row("baseline peak RSS (MB)", ".0f", lambda r: r["baseline"]["peak_mb"])
    row("import / baseline, time", ".2f", lambda r: r["ratio_time"])
    row("import / baseline, peak RSS", ".2f", lambda r: r["ratio_peak"])
    row("GeoPackage written (MB)", ".1f", lambda r: r["gpkg_mb"])
    console.print(main)

    sizes = list(results)
    for a, b in itertools.pairwise(sizes):
        ra, rb = results[a], results[b]
        n = rb["buildings"] / ra["buildings"]
        t = rb["import"]["seconds"] / ra["import"]["seconds"]
        bt = rb["baseline"]["seconds"] / ra["baseline"]["seconds"]
        console.print(
            f"{a} → {b}: {n:.1f}× the buildings, import {t:.1f}× the time, baseline {bt:.1f}×"
        )

    steps = Table(title="Import steps (Python API): seconds (peak RSS in MB at the end)")
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

    if scenario is not None:
        tab = Table(title=f"Scenario on the imported {scenario['size']} city (`resilientcity run`)")
        tab.add_column("what")
        tab.add_column("figure", justify="right")
        tab.add_row("wall time (s)", f"{scenario['run']['seconds']:.1f}")
        tab.add_row("peak RSS (MB)", f"{scenario['run']['peak_mb']:.0f}")
        tab.add_row("realisations", str(scenario["realisations"]))
        for step, seconds in scenario["timings_s"].items():
            tab.add_row(f"  {step} (s)", f"{seconds:.2f}")
        tab.add_row("total loss (CNY)", f"{scenario['total_loss']:,.0f}")
        tab.add_row("casualties", f"{scenario['casualties']:,.0f}")
        console.print(tab)

    return print_targets(console, "Targets of issue 13", targets(results, scenario))


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, write or reuse the extracts, measure, print and save."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated demo sizes")
    parser.add_argument("--repeat", type=int, default=1, help="fresh runs per size (median)")
    parser.add_argument("--no-scenario", action="store_true", help="skip the scenario run")
    parser.add_argument("--realisations", type=int, default=10, help="ground-motion fields")
    parser.add_argument("--json", type=Path, default=None, help="write all figures to this file")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-gpkg", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        args.child_out.write_text(json.dumps(run_child(args.child, args.child_gpkg)))
        return 0

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    if any(s not in SIZES for s in sizes) or args.repeat < 1:
        parser.error(f"sizes must be among {', '.join(SIZES)} and --repeat >= 1")
    console = Console()
    for size in sizes:  # written (or found) before anything is timed
        cached_extract(size, log=console.print)
    env = environment()
    env["load_before"] = load()
    results: dict[str, Result] = {}
    scenario: Result | None = None
    with tempfile.TemporaryDirectory(prefix="rc-bench-osm-") as tmp_name:
        tmp = Path(tmp_name)
        for size in sizes:
            runs = []
            for i in range(args.repeat):
                console.print(f"importing {size} (run {i + 1}/{args.repeat}), {load()} ...")
                runs.append(measure_size(size, tmp, keep=size == sizes[-1]))
            results[size] = summarise(runs)
        if not args.no_scenario:
            console.print(f"running the earthquake scenario on {sizes[-1]}, {load()} ...")
            scenario = measure_scenario(results[sizes[-1]], tmp, args.realisations)
    env["load_after"] = load()
    verdicts = report(results, scenario, env, console)
    if "FAIL" in verdicts:
        console.print("[bold red]A target of issue 13 is NOT met[/] (exit code 0: a measurement).")
    elif "NOT MEASURED" in verdicts:
        console.print(f"Targets not checked: run with size {TARGET_SIZE!r} and the scenario.")
    else:
        console.print("[green]All targets of issue 13 are met.[/]")
    if args.json is not None:
        payload = {"environment": env, "results": results, "scenario": scenario}
        args.json.write_text(json.dumps(payload, indent=2, default=str))
        console.print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
