"""Benchmark: resilience assessment of 1,000 units × 100 indicators × 10 years (issue 7).

Run from the repository root::

    python benchmarks/bench_assessment.py [--units 1000] [--indicators 100] [--years 10]
        [--samples 1000] [--repeat 3] [--json out.json]

Input: the default indicator library, extended with synthetic indicators
(``IndicatorLibrary.from_records`` + ``extend``; ids ``syn_000``…, dimensions in turn, every
third a cost indicator) to ``--indicators`` indicators, or cut to its first ``--indicators``;
and a wide table (``unit``, ``year``, one column per indicator) of seeded log-normal values:
a base per unit and indicator times a yearly log-normal drift.

Timed, each repeat:

1. **whole path** (the target): ``validate_indicator_table`` (imputation ``none``) of the raw
   table, then ``assessment.run.assess`` with entropy weights, TOPSIS and ``--samples`` weight
   samples for the sensitivity analysis (obstacle degrees, dimension scores, pooled trend and
   year-on-year change included);
2. **method chain** (the baseline of ``assess``): per year min-max normalisation, entropy
   weights, TOPSIS closeness and obstacle degree, the year-on-year change, and the Monte Carlo
   sensitivity of the last year's TOPSIS ranking (``--samples`` Dirichlet samples, κ = 100) —
   the method functions called directly, without validation or result assembly;
3. **reshape** (the baseline of validation): the same raw table melted to long form and
   pivoted back to the unit × year grid with plain pandas, without any check.

Ratios: validation over reshape, ``assess`` over the method chain. Target of the issue: the
whole path under 10 s (median of the repeats). Always exits 0 and prints PASS or FAIL.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from resilientcity.assessment.indicators import IndicatorLibrary

TARGET_S = 10.0


def _library(indicators: int) -> IndicatorLibrary:
    """The default library, extended with synthetic indicators or cut to ``indicators``."""
    from resilientcity.assessment.indicators import DIMENSIONS, IndicatorLibrary

    base = IndicatorLibrary.default()
    if indicators <= len(base):
        return base.subset(base.ids[:indicators])
    records = [
        {
            "id": f"syn_{k:03d}",
            "name_zh": f"合成指标{k}",
            "name_en": f"synthetic indicator {k}",
            "dimension": DIMENSIONS[k % len(DIMENSIONS)],
            "sub_dimension": "synthetic",
            "unit": "1",
            "direction": "cost" if k % 3 == 0 else "benefit",
        }
        for k in range(indicators - len(base))
    ]
    return base.extend(IndicatorLibrary.from_records(records, what="synthetic indicators"))


def _table(ids: list[str], units: int, years: int, seed: int = 42) -> pd.DataFrame:
    """A wide raw table: ``unit``, ``year`` and one column of seeded values per indicator."""
    rng = np.random.default_rng(seed)
    base = rng.lognormal(0.0, 0.5, size=(units, len(ids)))
    blocks = [base * rng.lognormal(0.02 * y, 0.05, size=base.shape) for y in range(years)]
    values = np.stack(blocks, axis=1).reshape(units * years, len(ids))
    index = pd.MultiIndex.from_product(
        [[f"u{i:04d}" for i in range(units)], [2015 + y for y in range(years)]],
        names=["unit", "year"],
    )
    return pd.DataFrame(values, index=index, columns=ids).reset_index()


def _panel(table: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """The table as one units × indicators frame per year."""
    years = sorted(int(y) for y in table["year"].unique())
    return {y: table[table["year"] == y].drop(columns="year").set_index("unit") for y in years}


def _whole(table: pd.DataFrame, library: IndicatorLibrary, samples: int) -> dict[str, float]:
    from resilientcity.assessment.data import validate_indicator_table
    from resilientcity.assessment.run import assess

    t0 = time.perf_counter()
    data = validate_indicator_table(table, library)
    t1 = time.perf_counter()
    result = assess(data, library, weights="entropy", method="topsis", samples=samples)
    t2 = time.perf_counter()
    assert result.sensitivity is not None
    return {
        "validate_s": t1 - t0,
        "assess_s": t2 - t1,
        "whole_s": t2 - t0,
        "city_score": result.city_score,
        "reversal_rate": result.sensitivity.reversal_rate,
        "top_change_rate": result.sensitivity.top_change_rate,
    }


def _methods(
    panel: dict[int, pd.DataFrame], directions: dict[str, Any], samples: int
) -> dict[str, float]:
    from resilientcity.assessment.aggregate import topsis
    from resilientcity.assessment.normalise import minmax, vector
    from resilientcity.assessment.sensitivity import weight_sensitivity
    from resilientcity.assessment.weak_spots import obstacle_degree, year_on_year
    from resilientcity.assessment.weights import entropy_weights

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
    vec = vector(last, directions)
    res = weight_sensitivity(vec, weights, np.random.default_rng(0), samples, 100.0, "topsis")
    t3 = time.perf_counter()
    return {
        "per_year_s": t1 - t0,
        "year_on_year_s": t2 - t1,
        "sensitivity_s": t3 - t2,
        "methods_s": t3 - t0,
        "mean_change": float(change["change"].mean()),
        "methods_reversal_rate": res.reversal_rate,
    }


def _reshape(table: pd.DataFrame) -> dict[str, float]:
    t0 = time.perf_counter()
    long = table.melt(id_vars=["unit", "year"], var_name="indicator", value_name="value")
    long.pivot(index=["unit", "year"], columns="indicator", values="value")
    return {"reshape_s": time.perf_counter() - t0}


def _print(args: argparse.Namespace, median: dict[str, Any], ok: bool) -> None:
    print(
        f"{args.units:,} units × {args.indicators} indicators × {args.years} years "
        f"({args.units * args.indicators * args.years:,} cells), {args.samples:,} weight "
        f"samples; median of {args.repeat} runs"
    )
    for key, value in median.items():
        print(f"  {key:<22} {value:10.4f}")
    print(f"  {'ratio validate/reshape':<22} {median['validate_s'] / median['reshape_s']:10.1f}")
    print(f"  {'ratio assess/methods':<22} {median['assess_s'] / median['methods_s']:10.2f}")
    verdict = "PASS" if ok else "FAIL"
    print(
        f"Target: validate + assess under {TARGET_S:.0f} s: {verdict} ({median['whole_s']:.2f} s)"
    )


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
    library = _library(args.indicators)
    table = _table(list(library.ids), args.units, args.years)
    panel = _panel(table)
    directions = {str(k): str(v) for k, v in library.directions.items()}
    runs = [
        _whole(table, library, args.samples)
        | _methods(panel, directions, args.samples)
        | _reshape(table)
        for _ in range(args.repeat)
    ]
    median: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    ok = median["whole_s"] < TARGET_S
    _print(args, median, ok)
    if args.json:
        info = {"args": vars(args), "median": median, "runs": runs, "pass": ok}
        info["python"] = platform.python_version()
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(info, out, indent=2)


if __name__ == "__main__":
    main()
