"""Benchmark: accessibility of every building to the nearest functioning hospital after a flood.

Run from the repository root::

    python benchmarks/bench_accessibility.py [--size large] [--repeat 3] [--json out.json]

One process measures one size of the demo city (default ``large``, ≈1M buildings), in order:

1. ``demo_city(size)`` (default seed): generation time (not part of the target);
2. the damage: the river flood at the 2017 record stage of 39.51 m
   (``hazard.flood.flood_depth`` on the city's DEM), the deepest water along each road edge
   (``network.road_state.edge_flood_depth``), and the three bridges with the smallest asset ids down;
   then ``edge_state``: the time of each step;
3. **ours**: ``network.road_access.accessibility(city, state, functional, kinds=("hospital",))`` with
   every hospital functioning: minutes from every building to the nearest hospital on the damaged
   network, its id, the detour factor and isolation, as a DataFrame; timed ``--repeat`` times
   (median). It includes the check that the intact network is strongly connected, three
   multi-source Dijkstra runs of SciPy (damaged network to functioning hospitals, damaged and
   intact networks to every hospital) and the per-building frame. The core,
   ``travel_minutes_to_nearest`` (one Dijkstra to the hospitals on the damaged network, per road
   node), is timed apart, and so is the same for all three default kinds;
4. **networkx**: the same damaged network (``RoadNetwork.csr`` of the open edges with times
   ``travel_min / speed_factor``, reversed) as an ``nx.DiGraph`` (build timed apart), then
   ``nx.multi_source_dijkstra_path_length`` from the hospitals' nodes and the minutes of every
   building (a lookup of its node), timed ``--repeat`` times (median). The minutes must equal
   ours (maximum absolute difference printed);
5. **SciPy, like for like**: ``csgraph.dijkstra(..., min_only=True)`` on that same reversed
   matrix from the same nodes, and the same building lookup (median of ``--repeat``).

Ratios: networkx over SciPy on the same graph (like for like: shortest paths and the lookup
only), and networkx (without, then with the graph build) over the whole ``accessibility()``
call, which also checks the network, runs two more Dijkstras (for the detour) and builds the
per-building frame with ids. Peak RSS
is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` for the whole process (city generation
included). The target of issue 4 (``large``: accessibility under 5 s) is printed as PASS or
FAIL; the exit code is 0 either way, since this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from rich.console import Console
from rich.table import Table
from scipy.sparse import csgraph

import resilientcity as rc
from _machine import cpu_model
from _memory import peak_rss_mb
from resilientcity.hazard.flood import flood_depth
from resilientcity.network import (
    accessibility,
    edge_flood_depth,
    edge_state,
    travel_minutes_to_nearest,
)
from resilientcity.twin.roads import RoadNetwork

STAGE_M = 39.51
BRIDGES_DOWN = 3
TARGET_SIZE = "large"
TARGET_SECONDS = 5.0

Result = dict[str, Any]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Wall times of ``repeat`` calls of ``fn`` and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def environment() -> Result:
    """Machine and library versions, for the record."""
    cpu = cpu_model()
    versions = {}
    for name in ("numpy", "scipy", "pandas", "networkx", "resilientcity"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit or "unknown",
    }


def reversed_matrix(city: rc.City, state: pd.DataFrame) -> sp.csr_array:
    """The damaged network, reversed (edge v → u for each road u → v), minutes, as CSR."""
    minutes = city.roads.edges["travel_min"].to_numpy() / np.where(
        state["open"].to_numpy(), state["speed_factor"].to_numpy(), 1.0
    )
    roads = RoadNetwork(city.roads.nodes, city.roads.edges.assign(minutes=minutes))
    return sp.csr_array(roads.csr("minutes", closed=~state["open"].to_numpy()).T)


def scipy_minutes(matrix: sp.csr_array, sources: set[int], building_pos: np.ndarray) -> np.ndarray:
    """Minutes of every building to the nearest source by SciPy multi-source Dijkstra."""
    indices = np.array(sorted(sources))
    per_node = csgraph.dijkstra(matrix, directed=True, indices=indices, min_only=True)
    return per_node[building_pos]


def networkx_minutes(
    graph: nx.DiGraph, sources: set[int], building_pos: np.ndarray, n_nodes: int
) -> np.ndarray:
    """Minutes of every building to the nearest source by networkx multi-source Dijkstra."""
    length = nx.multi_source_dijkstra_path_length(graph, sources, weight="weight")
    per_node = np.full(n_nodes, np.inf)
    per_node[np.fromiter(length.keys(), np.int64)] = np.fromiter(length.values(), np.float64)
    return per_node[building_pos]


def measure(size: str, repeat: int, console: Console) -> Result:
    """Every measurement of one size (see the module docstring)."""
    out: Result = {"size": size, "repeat": repeat, "stage_m": STAGE_M}
    start = time.perf_counter()
    city = rc.demo_city(size)
    out["generation_s"] = time.perf_counter() - start
    assets = city.assets
    out["buildings"] = int((assets["kind"] == "building").sum())
    out["hospitals"] = int((assets["kind"] == "hospital").sum())
    out["road_nodes"], out["road_edges"] = len(city.roads.nodes), len(city.roads.edges)
    console.print(
        f"{size}: {out['buildings']:,} buildings, generated in {out['generation_s']:.1f} s"
    )

    start = time.perf_counter()
    grid = flood_depth(city.dem, city.rivers, STAGE_M)
    out["flood_depth_s"] = time.perf_counter() - start
    start = time.perf_counter()
    depth = edge_flood_depth(city, grid)
    out["edge_flood_depth_s"] = time.perf_counter() - start
    bridges = np.sort(assets.loc[assets["kind"] == "bridge", "asset_id"].to_numpy(dtype=str))
    down = pd.Series(False, index=bridges[:BRIDGES_DOWN])
    start = time.perf_counter()
    state = edge_state(city, depth, down)
    out["edge_state_s"] = time.perf_counter() - start
    out["bridges_down"] = down.index.tolist()
    out["edges_closed"] = int((~state["open"]).sum())
    out["edges_slowed"] = int((state["open"] & (state["speed_factor"] < 1)).sum())
    functional = pd.Series(True, index=assets.loc[assets["kind"] == "hospital", "asset_id"])

    times, access = timed(
        lambda: accessibility(city, state, functional, kinds=("hospital",)), repeat
    )
    out["ours_s"] = times
    out["isolated_buildings"] = int(access["isolated"].sum())
    out["isolated_occupants"] = float(access.loc[access["isolated"], "occupants"].sum())
    finite = np.isfinite(access["hospital_min"].to_numpy())
    out["mean_minutes_reachable"] = float(access["hospital_min"].to_numpy()[finite].mean())
    hospitals = functional.index.to_numpy(dtype=str)
    out["core_s"], _ = timed(lambda: travel_minutes_to_nearest(city, state, hospitals), repeat)
    out["three_kinds_s"], _ = timed(lambda: accessibility(city, state, functional), repeat)

    matrix = reversed_matrix(city, state)
    start = time.perf_counter()
    graph = nx.from_scipy_sparse_array(matrix, create_using=nx.DiGraph)
    out["networkx_build_s"] = time.perf_counter() - start
    node_pos = city.roads.node_positions
    sources = {int(p) for p in node_pos(assets.loc[assets["kind"] == "hospital", "node_id"])}
    building_pos = node_pos(assets.loc[assets["kind"] == "building", "node_id"])
    n = len(city.roads.nodes)
    out["scipy_s"], plain = timed(lambda: scipy_minutes(matrix, sources, building_pos), repeat)
    out["networkx_s"], theirs = timed(
        lambda: networkx_minutes(graph, sources, building_pos, n), repeat
    )
    ours = access["hospital_min"].to_numpy()
    same = np.isfinite(ours) == np.isfinite(theirs)
    both = np.isfinite(ours) & np.isfinite(theirs)
    out["same_reachability"] = bool(same.all())
    out["max_abs_diff_min"] = float(np.max(np.abs(ours[both] - theirs[both]), initial=0.0))
    out["scipy_equals_ours"] = bool(np.array_equal(plain, ours))
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def report(result: Result, console: Console) -> str:
    """Print the table of one run; return the verdict."""
    med = statistics.median
    ours, nxs, plain = med(result["ours_s"]), med(result["networkx_s"]), med(result["scipy_s"])
    table = Table(title=f"Accessibility after a {STAGE_M} m flood, demo city {result['size']!r}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("buildings / hospitals", f"{result['buildings']:,} / {result['hospitals']}"),
        ("road nodes / edges", f"{result['road_nodes']:,} / {result['road_edges']:,}"),
        ("edges closed / slowed", f"{result['edges_closed']:,} / {result['edges_slowed']:,}"),
        ("bridges down", ", ".join(result["bridges_down"])),
        ("isolated buildings", f"{result['isolated_buildings']:,}"),
        ("isolated occupants", f"{result['isolated_occupants']:,.0f}"),
        ("mean minutes to a hospital (reachable)", f"{result['mean_minutes_reachable']:.2f}"),
        ("demo_city generation (s)", f"{result['generation_s']:.2f}"),
        ("flood_depth grid (s)", f"{result['flood_depth_s']:.3f}"),
        ("edge_flood_depth (s)", f"{result['edge_flood_depth_s']:.3f}"),
        ("edge_state (s)", f"{result['edge_state_s']:.3f}"),
        ("[bold]accessibility, hospitals (s)", f"[bold]{ours:.3f}"),
        ("  runs (s)", ", ".join(f"{t:.3f}" for t in result["ours_s"])),
        ("travel_minutes_to_nearest, per node (s)", f"{med(result['core_s']):.4f}"),
        ("accessibility, 3 kinds (s)", f"{med(result['three_kinds_s']):.3f}"),
        ("SciPy Dijkstra + lookup, same graph (s)", f"{plain:.4f}"),
        ("networkx graph build (s)", f"{result['networkx_build_s']:.3f}"),
        ("networkx Dijkstra + lookup, same graph (s)", f"{nxs:.4f}"),
        ("[bold]networkx / SciPy (like for like)", f"[bold]{nxs / plain:.1f}"),
        ("networkx / accessibility()", f"{nxs / ours:.2f}"),
        (
            "(networkx + build) / accessibility()",
            f"{(nxs + result['networkx_build_s']) / ours:.2f}",
        ),
        ("same reachability as networkx", str(result["same_reachability"])),
        ("max |ours − networkx| (min)", f"{result['max_abs_diff_min']:.1e}"),
        ("SciPy minutes identical to ours", str(result["scipy_equals_ours"])),
        ("peak RSS, whole process (MB)", f"{result['peak_rss_mb']:,.0f}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    ok = ours < TARGET_SECONDS
    verdict = ("PASS" if ok else "FAIL") + ("" if result["size"] == TARGET_SIZE else " (not large)")
    console.print(f"target: accessibility of the large city under {TARGET_SECONDS:g} s: {verdict}")
    return verdict


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, measure, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default=TARGET_SIZE, choices=("small", "default", "large"))
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (median)")
    parser.add_argument("--json", type=Path, default=None, help="write all figures to this file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    result = measure(args.size, args.repeat, console)
    result["verdict"] = report(result, console)
    result["environment"] = environment()
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))
        console.print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
