"""Benchmark: resilience assessment of 1,000 units × 100 indicators × 10 years (issue 7).

Run from the repository root::

    python benchmarks/bench_assessment.py [--units 1000] [--indicators 100] [--years 10]
        [--samples 1000] [--repeat 3] [--json out.json]

Steps, timed together (one "run"), on a synthetic panel drawn with a seeded generator
(log-normal indicator values, a third of them cost indicators):

1. per year: min-max normalisation, entropy weights, TOPSIS closeness (vector normalisation)
   and the obstacle degree of every unit and indicator;
2. year-on-year change of the TOPSIS scores;
3. Monte Carlo sensitivity of the last year's TOPSIS ranking: ``--samples`` Dirichlet weight
   samples (κ = 100), rank distribution and rank reversal rate.

Target of the issue: under 10 s in total. Always exits 0 and prints PASS or FAIL.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Any

import numpy as np
import pandas as pd

TARGET_S = 10.0


def _panel(units: int, indicators: int, years: int, seed: int = 42) -> dict[int, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    cols = [f"i{j:03d}" for j in range(indicators)]
    index = [f"u{i:04d}" for i in range(units)]
    base = rng.lognormal(0.0, 0.5, size=(units, indicators))
    return {
        2015 + y: pd.DataFrame(
            base * rng.lognormal(0.02 * y, 0.05, size=base.shape), index=index, columns=cols
        )
        for y in range(years)
    }


def _run(panel: dict[int, pd.DataFrame], samples: int) -> dict[str, float]:
    from resilientcity.assessment.aggregate import topsis
    from resilientcity.assessment.normalise import minmax, vector
    from resilientcity.assessment.sensitivity import weight_sensitivity
    from resilientcity.assessment.weak_spots import obstacle_degree, year_on_year
    from resilientcity.assessment.weights import entropy_weights

    first = next(iter(panel.values()))
    directions = {c: ("cost" if k % 3 == 0 else "benefit") for k, c in enumerate(first.columns)}
    t0 = time.perf_counter()
    scores, weights = {}, None
    for year, matrix in panel.items():
        norm = minmax(matrix, directions)
        weights = entropy_weights(norm)
        scores[year] = topsis(matrix, weights, directions)["closeness"]
        obstacle_degree(norm, weights)
    t1 = time.perf_counter()
    change = year_on_year(pd.DataFrame(scores))
    t2 = time.perf_counter()
    last = panel[max(panel)]
    assert weights is not None
    res = weight_sensitivity(
        vector(last, directions), weights, np.random.default_rng(0), samples, 100.0, "topsis"
    )
    t3 = time.perf_counter()
    return {
        "per_year_s": t1 - t0,
        "year_on_year_s": t2 - t1,
        "sensitivity_s": t3 - t2,
        "total_s": t3 - t0,
        "reversal_rate": res.reversal_rate,
        "top_change_rate": res.top_change_rate,
        "mean_change": float(change["change"].mean()),
    }


def main() -> None:
    """Parse arguments, run, print the figures and PASS/FAIL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--indicators", type=int, default=100)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    panel = _panel(args.units, args.indicators, args.years)
    runs = [_run(panel, args.samples) for _ in range(args.repeat)]
    median: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"{args.units:,} units × {args.indicators} indicators × {args.years} years, "
        f"{args.samples:,} weight samples; median of {args.repeat} runs"
    )
    for key, value in median.items():
        print(f"  {key:<16} {value:10.4f}")
    ok = median["total_s"] < TARGET_S
    print(f"Target: total under {TARGET_S:.0f} s: {'PASS' if ok else 'FAIL'}")
    if args.json:
        info = {"args": vars(args), "median": median, "runs": runs, "pass": ok}
        info["python"] = platform.python_version()
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(info, out, indent=2)


if __name__ == "__main__":
    main()
