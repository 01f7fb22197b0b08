"""The optimised warning engine gives exactly the results of its pre-optimisation copy.

The copy (``benchmarks/_warning_engine_reference.py``) fits the trend line with
:func:`numpy.polyfit`, whose rounding decides the level when the line passes within rounding
error of a threshold or is flat; the optimised engine decides those ties in exact arithmetic.
So the copy is run twice: with its trend fit replaced by an exact rational least-squares fit
(written here), which must give the engine's results always, and as it is, which must give the
engine's results whenever its trend level agreed with the exact one at every step.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from resilientcity.vocabulary import LEVELS
from resilientcity.warning import engine
from resilientcity.warning.rules import WarningRule

T0 = pd.Timestamp("2024-06-01", tz="UTC")
LOW, HIGH = 0.0, 20.0  # thresholds lie in [LOW, HIGH]; values a little beyond


def _load_reference() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "_warning_engine_reference.py"
    spec = importlib.util.spec_from_file_location("_warning_engine_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


REF = _load_reference()
POLYFIT_TREND_LEVEL = REF._trend_level


def exact_trend_level(rule: WarningRule, recent: tuple[tuple[float, float], ...], t: float) -> int:
    """The copy's ``_trend_level`` with the least-squares line in exact rational arithmetic."""
    spec = rule.forecast
    if spec is None:
        return 0
    pts = [(Fraction(s - t), Fraction(v)) for s, v in recent if s >= t - spec.window_min]
    if len(pts) < spec.min_points or len({x for x, _ in pts}) == 1:
        return 0
    n = len(pts)
    mean_x = sum(x for x, _ in pts) / n
    mean_y = sum(y for _, y in pts) / n
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in pts)
    slope = sxy / sum((x - mean_x) ** 2 for x, _ in pts)
    sign = 1 if rule.direction == "rising" else -1
    if sign * slope <= 0:
        return 0
    predicted = mean_y - slope * mean_x + slope * Fraction(spec.horizon_h) * 60
    level = 0
    for k, thr in enumerate(rule.thresholds.as_tuple()):
        if thr is not None and sign * (predicted - Fraction(thr)) >= 0:
            level = k + 1
    return level


@contextmanager
def exact_reference() -> Iterator[None]:
    """The copy with its trend fit made exact."""
    with mock.patch.object(REF, "_trend_level", exact_trend_level):
        yield


@contextmanager
def polyfit_reference(disagreements: list[float]) -> Iterator[None]:
    """The copy as it is; the times where its trend level differs from the exact one noted."""

    def noting(rule: WarningRule, recent: tuple[tuple[float, float], ...], t: float) -> int:
        level = POLYFIT_TREND_LEVEL(rule, recent, t)
        if level != exact_trend_level(rule, recent, t):
            disagreements.append(t)
        return level

    with mock.patch.object(REF, "_trend_level", noting):
        yield


def run_batches(
    module: Any, rule: WarningRule, batches: list[pd.DataFrame], forecast: pd.DataFrame | None
) -> tuple[str, list[dict[str, Any]]]:
    """The final state (as the JSON the operations store keeps) and every change."""
    state, changes = None, []
    for frame in batches:
        state, new = module.evaluate(rule, frame, state, forecast=forecast)
        changes += new
    assert state is not None
    return json.dumps(asdict(state)), [asdict(c) for c in changes]


# --- strategies ------------------------------------------------------------------------------

# A grid of round values (exact ties with thresholds, flat windows, symmetric patterns) mixed
# with arbitrary floats.
values = st.one_of(
    st.integers(int(LOW * 4) - 8, int(HIGH * 4) + 8).map(lambda i: i / 4),
    st.floats(LOW - 2, HIGH + 2, allow_nan=False),
)
durations = st.one_of(st.sampled_from([0.0, 10.0, 30.0]), st.floats(0, 120))
windows = st.one_of(st.sampled_from([20.0, 60.0, 120.0]), st.floats(1, 360))
holds = st.one_of(st.sampled_from([0.0, 30.0, 60.0]), st.floats(0, 240))


@st.composite
def rules(draw: st.DrawFn, forecast: bool | None = None) -> WarningRule:
    """A random valid rule: rising or falling, 1–4 levels, optional rate and forecast."""
    used = draw(st.lists(st.sampled_from(LEVELS[1:]), min_size=1, max_size=4, unique=True))
    points = draw(
        st.lists(
            st.one_of(st.integers(0, int(HIGH * 2)).map(lambda i: i / 2), st.floats(LOW, HIGH)),
            min_size=len(used),
            max_size=len(used),
            unique=True,
        )
    )
    direction = draw(st.sampled_from(["rising", "falling"]))
    ordered = sorted(points, reverse=direction == "falling")
    levels = [lvl for lvl in LEVELS[1:] if lvl in used]
    rate = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "change_per_hour": st.floats(0.05, 20),
                    "level": st.sampled_from(LEVELS[1:]),
                    "window_min": windows,
                    "hold_min": holds,
                }
            ),
            max_size=2,
        )
    )
    spec: dict[str, Any] = {
        "id": "r",
        "observed_property": "p",
        "unit": "m",
        "direction": direction,
        "thresholds": dict(zip(levels, ordered, strict=True)),
        "min_duration_min": draw(durations),
        "hysteresis_margin": draw(st.one_of(st.sampled_from([0.0, 0.5]), st.floats(0, 5))),
        "rate": rate,
    }
    with_forecast = draw(st.booleans()) if forecast is None else forecast
    if with_forecast:
        spec["forecast"] = {
            "horizon_h": draw(st.one_of(st.sampled_from([1.0, 6.0]), st.floats(0.05, 12))),
            "window_min": draw(windows),
            "min_points": draw(st.integers(2, 6)),
            "hold_min": draw(holds),
        }
    return WarningRule.model_validate(spec)


@st.composite
def observations(draw: st.DrawFn, max_size: int = 60) -> pd.DataFrame:
    """Observations at multiples of 20 s, mostly in order, some repeated or out of order."""
    n = draw(st.integers(1, max_size))
    steps = draw(st.lists(st.integers(-3, 45), min_size=n, max_size=n))
    ticks, tick = [], 0
    for step in steps:
        tick = max(tick + step, 0)
        ticks.append(tick)
    times = [T0 + pd.Timedelta(seconds=20 * k) for k in ticks]
    return pd.DataFrame({"time": times, "value": draw(st.lists(values, min_size=n, max_size=n))})


@st.composite
def batches(draw: st.DrawFn, frame: pd.DataFrame) -> list[pd.DataFrame]:
    """``frame`` cut into consecutive batches at random places."""
    cuts = draw(st.lists(st.integers(1, max(len(frame) - 1, 1)), max_size=6, unique=True))
    edges = [0, *sorted(c for c in cuts if c < len(frame)), len(frame)]
    return [frame.iloc[a:b] for a, b in pairwise(edges)]


# --- tests -----------------------------------------------------------------------------------


def check_same(rule: WarningRule, parts: list[pd.DataFrame], forecast: Any = None) -> None:
    """Engine == exact copy always; engine == copy as it is unless its trend fit disagreed."""
    fast = run_batches(engine, rule, parts, forecast)
    with exact_reference():
        assert run_batches(REF, rule, parts, forecast) == fast
    disagreements: list[float] = []
    with polyfit_reference(disagreements):
        as_is = run_batches(REF, rule, parts, forecast)
    event("polyfit decided a tie" if disagreements else "no tie")
    if not disagreements:
        assert as_is == fast


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_same_states_and_changes_as_reference(data: st.DataObject) -> None:
    rule = data.draw(rules())
    frame = data.draw(observations())
    check_same(rule, data.draw(batches(frame)))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_same_with_forecast_trend(data: st.DataObject) -> None:
    rule = data.draw(rules(forecast=True))
    frame = data.draw(observations())
    check_same(rule, data.draw(batches(frame)))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_same_with_given_forecast_series(data: st.DataObject) -> None:
    rule = data.draw(rules(forecast=True))
    frame = data.draw(observations(max_size=40))
    series = data.draw(observations(max_size=20))
    check_same(rule, data.draw(batches(frame)), series)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_same_levels_over_time(data: st.DataObject) -> None:
    rule = data.draw(rules())
    frame = data.draw(observations())
    with exact_reference():
        expected = REF.levels_over_time(rule, frame)
    pd.testing.assert_frame_equal(engine.levels_over_time(rule, frame), expected)


@pytest.mark.parametrize(
    "values",
    [
        [5.0] * 8,  # flat: slope exactly 0
        [5.0, 6.0, 5.0, 6.0, 5.0],  # slope exactly 0, not flat
        [4.0 + 0.25 * i * 10 / 60 for i in range(13)],  # reaches 6.0 exactly in 6 h
    ],
)
def test_ties_of_the_trend_decided_exactly(values: list[float]) -> None:
    rule = WarningRule.model_validate(
        {
            "id": "r",
            "observed_property": "p",
            "unit": "m",
            "thresholds": {"blue": 5.5, "yellow": 6.0},
            "forecast": {"horizon_h": 6, "window_min": 60, "min_points": 3},
        }
    )
    times = [T0 + pd.Timedelta(minutes=10 * i) for i in range(len(values))]
    frame = pd.DataFrame({"time": times, "value": values})
    fast = run_batches(engine, rule, [frame], None)
    with exact_reference():
        assert run_batches(REF, rule, [frame], None) == fast


@pytest.mark.parametrize(
    ("values", "yellow", "expected"),
    [
        # Least-squares line through (−30, 0.25), (−20, 6.0), (−10, 6.75), (0, 9.5): slope
        # 0.285 per minute, 9.9 now, exactly 27.0 in 1 h (a floating-point fit: 26.999999999999996).
        ([0.25, 6.0, 6.75, 9.5], 27.0, "yellow"),
        # The line reaches 6.4e-16 less than the float 14.310000000000002, to which it rounds.
        ([3.01, 0.31, 8.66, 4.73], 14.310000000000002, "blue"),
    ],
)
def test_trend_near_a_threshold_is_decided_exactly(
    values: list[float], yellow: float, expected: str
) -> None:
    rule = WarningRule.model_validate(
        {
            "id": "r",
            "observed_property": "p",
            "unit": "m",
            "thresholds": {"blue": 10.0, "yellow": yellow},
            "forecast": {"horizon_h": 1, "window_min": 60, "min_points": 4},
        }
    )
    times = [T0 + pd.Timedelta(minutes=10 * i) for i in range(4)]
    frame = pd.DataFrame({"time": times, "value": values})
    _, changes = engine.evaluate(rule, frame)
    assert [(c.time, c.to_level, c.reason) for c in changes] == [(times[3], expected, "forecast")]


def test_trend_window_includes_its_start() -> None:
    # Window 30 min, 4 points needed: at t=30 the reading at t=0 is exactly 30 min old and
    # counts, so the rise of 1 per 10 min (13.0 now, 19.0 in 1 h) predicts yellow at t=30.
    rule = WarningRule.model_validate(
        {
            "id": "r",
            "observed_property": "p",
            "unit": "m",
            "thresholds": {"yellow": 18.0},
            "forecast": {"horizon_h": 1, "window_min": 30, "min_points": 4},
        }
    )
    times = [T0 + pd.Timedelta(minutes=10 * i) for i in range(4)]
    frame = pd.DataFrame({"time": times, "value": [10.0, 11.0, 12.0, 13.0]})
    _, changes = engine.evaluate(rule, frame)
    assert [(c.time, c.to_level) for c in changes] == [(times[3], "yellow")]
    with exact_reference():
        _, expected = REF.evaluate(rule, frame)
    assert [asdict(c) for c in changes] == [asdict(c) for c in expected]


_TIMES = pd.Series(
    pd.to_datetime(["2020-03-01 12:34:56.789", "2020-01-01", "2020-01-01"], format="ISO8601")
)


@pytest.mark.parametrize(
    "times",
    [
        _TIMES,
        _TIMES.astype("datetime64[us]"),
        _TIMES.dt.tz_localize("UTC"),
        _TIMES.dt.tz_localize("Asia/Shanghai"),
        _TIMES.astype(str),
        pd.Series(["2020-01-01T00:00:00+08:00", "not a time", None]),
    ],
)
@pytest.mark.parametrize(
    "values",
    [
        pd.Series([1.0, 2.0, 3.0]),
        pd.Series([1, 2, 3]),
        pd.Series([1.0, 2.0, 3.0], dtype="float32"),
        pd.Series([True, False, True]),
        pd.Series(["1", "x", "3"]),
        pd.Series([1.0, None, 2.0], dtype="Float64"),
        pd.Series([float("inf"), 1.0, 2.0]),
    ],
)
def test_observations_read_as_before(times: pd.Series, values: pd.Series) -> None:
    frame = pd.DataFrame({"time": times, "value": values}).set_axis([10, 11, 12])
    results: list[Any] = []
    for module in (REF, engine):
        try:
            minutes, numbers = module._check_frame(frame, "observations")
            results.append((minutes.tolist(), numbers.tolist()))
        except engine.ValidationError as exc:
            results.append([(p.column, p.rows) for p in exc.problems])
    assert results[0] == results[1]
