"""Benchmark: one full recovery simulation of the default demo city over 180 days (issue 4).

Run from the repository root::

    python benchmarks/bench_recovery.py [--size default] [--repeat 3] [--large] [--json out.json]

Steps, in one process:

1. the default demo scenario's 100-year flood (``demo_scenario(size)`` with its event sets and
   assessment left out, as they do not feed the recovery) through ``run_scenario``: the impact table;
2. damaged assets: ``p_functional < 0.5``; repair work: the impact table's
   ``restoration_days`` (expected restoration days per asset);
3. *timed*: ``simulate_recovery`` with daily steps over 180 days (181 cascades and service
   levels), ``critical_first`` policy, default crews, road edges for the transport level,
   the dependency graph built inside the timed call; ``--repeat`` times, median reported;
4. *baseline*: the same 181 states evaluated by the cascade alone on a prebuilt graph
   (no scheduling, no service levels): the floor of the time-stepped loop;
5. with ``--large``: one cascade of the ``large`` demo city (≈1M assets, 2M dependency rows)
   with 5 % of the assets damaged at random, after building its graph.

Target of the issue: the simulation under 30 s; the cascade of the large city well under 1 s.
Always exits 0 and prints PASS or FAIL.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Any

import numpy as np

TARGET_S = 30.0
LARGE_TARGET_S = 1.0


def _recovery(size: str, repeat: int) -> dict[str, Any]:
    from resilientcity.network.cascade import DependencyGraph
    from resilientcity.pipeline import demo_scenario
    from resilientcity.recovery.simulation import simulate_recovery
    from resilientcity.scenario.run import run_scenario

    scenario = demo_scenario(size).model_copy(update={"event_sets": [], "assessment": None})
    t0 = time.perf_counter()
    run = run_scenario(scenario)
    impact_s = time.perf_counter() - t0
    city, table = run.city, run.impacts[0].assets
    damaged = table["p_functional"].to_numpy() < 0.5
    days = table["restoration_days"].to_numpy()
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = simulate_recovery(
            city.assets, city.dependencies, damaged, days, edges=city.roads.edges
        )
        times.append(time.perf_counter() - t0)
    assert result is not None
    graph = DependencyGraph.build(city.assets, city.dependencies)
    finish = np.zeros(len(city.assets))
    pos = (
        city.assets["asset_id"]
        .reset_index()
        .set_index("asset_id")
        .loc[result.schedule["asset_id"], "index"]
    )
    finish[pos.to_numpy()] = result.schedule["finish_day"].to_numpy()
    t0 = time.perf_counter()
    for t in range(181):
        graph.cascade(damaged & (finish > t), hours=24.0 * t)
    baseline = time.perf_counter() - t0
    metrics = result.curve.metrics().xs("all", level="zone")
    return {
        "size": size,
        "assets": len(city.assets),
        "dependencies": len(city.dependencies),
        "damaged": int(damaged.sum()),
        "impact_stage_s": round(impact_s, 2),
        "simulation_s": [round(x, 3) for x in times],
        "simulation_median_s": round(statistics.median(times), 3),
        "baseline_cascades_s": round(baseline, 3),
        "ratio": round(statistics.median(times) / baseline, 2),
        "city_resilience_index": round(float(metrics.loc["city", "resilience_index"]), 4),
        "metrics": metrics.round(4).reset_index().to_dict(orient="records"),
    }


def _large() -> dict[str, Any]:
    import resilientcity as rc
    from resilientcity.network.cascade import DependencyGraph

    city = rc.demo_city("large")
    t0 = time.perf_counter()
    graph = DependencyGraph.build(city.assets, city.dependencies)
    build = time.perf_counter() - t0
    damaged = np.random.default_rng(0).random(len(city.assets)) < 0.05
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        res = graph.cascade(damaged)
        times.append(time.perf_counter() - t0)
    return {
        "assets": len(city.assets),
        "dependencies": len(city.dependencies),
        "graph_build_s": round(build, 2),
        "cascade_median_s": round(statistics.median(times), 3),
        "iterations": res.iterations,
        "functional_share": round(float(res.functional.mean()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    out: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine()}
    out["recovery"] = rec = _recovery(args.size, args.repeat)
    print(
        f"recovery {rec['size']}: {rec['assets']:,} assets, {rec['damaged']:,} damaged; "
        f"180 daily steps in {rec['simulation_median_s']:.2f} s (median of "
        f"{args.repeat}); cascades alone {rec['baseline_cascades_s']:.2f} s; "
        f"ratio {rec['ratio']:.1f}; city resilience index {rec['city_resilience_index']}"
    )
    ok = rec["simulation_median_s"] < TARGET_S
    print(f"{'PASS' if ok else 'FAIL'}: recovery simulation under {TARGET_S:.0f} s")
    if args.large:
        out["large_cascade"] = big = _large()
        print(
            f"cascade large: {big['assets']:,} assets, {big['dependencies']:,} rows: "
            f"{big['cascade_median_s']:.3f} s ({big['iterations']} passes), "
            f"graph build {big['graph_build_s']:.2f} s"
        )
        ok = big["cascade_median_s"] < LARGE_TARGET_S
        print(f"{'PASS' if ok else 'FAIL'}: large-city cascade under {LARGE_TARGET_S:.0f} s")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
