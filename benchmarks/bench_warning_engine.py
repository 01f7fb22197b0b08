"""Benchmark: the warning engine's cost per observation, against its pre-optimisation copy.

Run from the repository root::

    python benchmarks/bench_warning_engine.py [--n N] [--n-single N1] [--repeat R] [--json out.json]

Every packaged example rule (``data/warning/example_rules.yaml``) is run over a synthetic but
realistic series of its observed property, all drawn from a fixed seed:

- ``xiang_river_stage_changsha``: a river stage every 10 minutes, base flow 31–33 m with a
  seasonal swing, a flood wave every ~20 days (1–7.5 m high, rising over 1–3 days and falling
  over 3–7; 30.9–40.1 m over the default series), gauge noise of 2 cm, reported to the
  centimetre;
- ``rainfall_1h``, ``rainfall_3h``, ``rainfall_6h``, ``rainfall_12h``: hourly rainfall (dry 85 %
  of the hours, storms of gamma-distributed intensity, heavy storm bursts now and then), the
  3/6/12-hour rules fed with the rolling 3/6/12-hour sums of that series, reported to 0.1 mm;
- ``underpass_water_depth``: the water depth in an underpass every 5 minutes, zero most of the
  time and ponding during storms (to 0.41 m over the default series), reported to the
  millimetre.

``evaluate`` is called on consecutive batches of 1, 100 and 10,000 observations, the state of
one call carried into the next; the frames of the batches (``time`` as UTC timestamps,
``value``) are built before timing. ``N`` observations are used for the batches of 100 and
10,000 and the first ``N1`` for the batches of 1 (each call validates its frame with pandas,
which dominates batches of one). Times are minima over ``R`` repeats. The same runs are timed
with the pre-optimisation copy of the engine (``benchmarks/_warning_engine_reference.py``) and
the final states and changes of both are compared (they are equal unless the copy's
``np.polyfit`` rounding decides a tie of the trend trigger, which the engine decides exactly;
see ``tests/test_warning_engine_fast.py``). The targets (≤ 5 µs per observation for a rule
without a forecast trigger, ≤ 15 µs with one, in batches of 100 and more) are printed as PASS
or FAIL; the exit code is 0 either way, since this is a measurement.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from _machine import cpu_model
from resilientcity.warning import engine
from resilientcity.warning.rules import WarningRule, example_rules

BATCHES = (1, 100, 10_000)
TARGET_US = {False: 5.0, True: 15.0}  # by "has a forecast trigger"
T0 = pd.Timestamp("2020-01-01", tz="UTC")


def load_reference() -> ModuleType:
    """The pre-optimisation engine, imported from its file."""
    path = Path(__file__).resolve().parent / "_warning_engine_reference.py"
    spec = importlib.util.spec_from_file_location("_warning_engine_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def river_stage(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """River stage (m) every 10 minutes: seasonal base flow, flood waves, cm-reported noise."""
    minutes = np.arange(n) * 10.0
    days = minutes / 1440.0
    stage = 32.0 + 1.0 * np.sin(2 * np.pi * days / 365.0)
    for start in np.arange(rng.uniform(0, 20), days[-1] + 1, 20.0) + rng.uniform(-5, 5):
        peak = rng.uniform(1.0, 7.5)
        rise, fall = rng.uniform(1.0, 3.0), rng.uniform(3.0, 7.0)
        x = days - start
        shape = np.where(x < 0, np.exp(-((x / rise) ** 2) * 4), np.exp(-((x / fall) ** 2) * 4))
        stage = stage + peak * shape
    stage = stage + rng.normal(0.0, 0.02, n)
    return _frame(minutes, np.round(stage, 2))


def hourly_rain(n: int, rng: np.random.Generator) -> np.ndarray:
    """Hourly rainfall (mm): dry hours, storms of gamma intensity, occasional heavy bursts."""
    wet = np.zeros(n, dtype=bool)
    i = 0
    while i < n:
        i += int(rng.geometric(1 / 60))  # dry spell
        length = int(rng.geometric(1 / 10))  # storm
        wet[i : i + length] = True
        i += length
    rain = np.where(wet, rng.gamma(0.8, 4.0, n), 0.0)
    bursts = wet & (rng.random(n) < 0.03)
    rain[bursts] += rng.gamma(2.0, 15.0, int(bursts.sum()))
    return np.round(rain, 1)


def rainfall(n: int, hours: int, rng: np.random.Generator) -> pd.DataFrame:
    """Rolling ``hours``-hour sums of an hourly rainfall series, hourly."""
    rain = hourly_rain(n + hours - 1, rng)
    sums = np.convolve(rain, np.ones(hours), mode="valid")[:n]
    return _frame(np.arange(n) * 60.0, np.round(sums, 1))


def underpass_depth(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Underpass water depth (m) every 5 minutes: ponding during storms, drained after."""
    rain = np.repeat(hourly_rain(n // 12 + 1, rng) / 12.0, 12)[:n]  # mm per 5 min
    depth, level = np.empty(n), 0.0
    for k, r in enumerate(rain):
        level = max(0.0, level + r * 0.004 - 0.01)  # inflow from the catchment, pump-out
        depth[k] = level
    return _frame(np.arange(n) * 5.0, np.round(depth, 3))


def _frame(minutes: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    times = T0 + pd.to_timedelta(minutes, unit="min")
    return pd.DataFrame({"time": times, "value": values})


def series_for(rule: WarningRule, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """The synthetic observations of ``rule``'s observed property."""
    prop = rule.observed_property
    if prop == "river_stage":
        return river_stage(n, rng)
    if prop.startswith("rainfall_"):
        return rainfall(n, int(prop.removeprefix("rainfall_").removesuffix("h")), rng)
    if prop == "underpass_water_depth":
        return underpass_depth(n, rng)
    raise ValueError(f"no synthetic series for {prop!r}")


def run(
    evaluate: Callable[..., Any], rule: WarningRule, batches: list[pd.DataFrame], repeat: int
) -> tuple[float, Any, list[Any]]:
    """Best time of ``repeat`` runs over ``batches``; the final state and all changes."""
    best, state, changes = float("inf"), None, list[Any]()
    for _ in range(repeat):
        state, changes = None, []
        t0 = time.perf_counter()
        for frame in batches:
            state, new = evaluate(rule, frame, state)
            changes += new
        best = min(best, time.perf_counter() - t0)
    return best, state, changes


def same(ref_state: Any, ref_changes: list[Any], state: Any, changes: list[Any]) -> bool:
    """Whether the reference's and the engine's results are equal field by field."""
    as_tuple = [tuple(vars(c).values()) for c in ref_changes]
    return vars(ref_state) == vars(state) and as_tuple == [tuple(vars(c).values()) for c in changes]


def measure(
    reference: ModuleType, rule: WarningRule, frame: pd.DataFrame, batch: int, repeat: int
) -> dict[str, Any]:
    """Times of both engines over ``frame`` in batches of ``batch`` observations."""
    batches = [frame.iloc[i : i + batch] for i in range(0, len(frame), batch)]
    t_ref, ref_state, ref_changes = run(reference.evaluate, rule, batches, repeat)
    t_new, state, changes = run(engine.evaluate, rule, batches, repeat)
    n = len(frame)
    return {
        "rule": rule.id,
        "forecast": rule.forecast is not None,
        "batch": batch,
        "observations": n,
        "changes": len(changes),
        "reference_us": 1e6 * t_ref / n,
        "engine_us": 1e6 * t_new / n,
        "speedup": t_ref / t_new,
        "identical": same(ref_state, ref_changes, state, changes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="observations per rule")
    parser.add_argument("--n-single", type=int, default=3_000, help="observations, batches of 1")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    reference = load_reference()
    rules = example_rules()
    print(f"python {platform.python_version()}, {cpu_model()}")
    print(
        f"{'rule':<28} {'batch':>6} {'obs':>7} {'changes':>7} {'before µs':>10} "
        f"{'after µs':>9} {'speedup':>8}  identical  target"
    )
    rows = []
    for k, rule in enumerate(rules.values()):
        frame = series_for(rule, args.n, np.random.default_rng(k))
        for batch in BATCHES:
            part = frame.iloc[: args.n_single] if batch == 1 else frame
            row = measure(reference, rule, part, batch, args.repeat)
            target = TARGET_US[row["forecast"]]
            verdict = "-" if batch == 1 else ("PASS" if row["engine_us"] <= target else "FAIL")
            print(
                f"{rule.id:<28} {batch:>6} {row['observations']:>7} {row['changes']:>7} "
                f"{row['reference_us']:>10.2f} {row['engine_us']:>9.2f} "
                f"{row['speedup']:>7.1f}x  {row['identical']!s:<9}  {verdict} (≤ {target:g})"
            )
            rows.append(row)
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": cpu_model(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
