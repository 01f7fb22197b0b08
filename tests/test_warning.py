"""The warning engine: hand-made series with the expected changes worked out by hand."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resilientcity.errors import ValidationError
from resilientcity.vocabulary import LEVELS
from resilientcity.warning.engine import WarningState, evaluate, levels_over_time
from resilientcity.warning.rules import WarningRule, example_rules, rules_from_dict

T0 = pd.Timestamp("2017-07-01 00:00", tz="UTC")


def obs(values: list[float], step_min: float = 10.0) -> pd.DataFrame:
    """Observations every ``step_min`` minutes from T0."""
    times = [T0 + pd.Timedelta(minutes=i * step_min) for i in range(len(values))]
    return pd.DataFrame({"time": times, "value": values})


def at(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def rule(**kw: Any) -> WarningRule:
    """A river-stage rule: blue 35.5, yellow 36.0 (warning stage), orange 38.37 (guaranteed)."""
    spec: dict[str, Any] = {
        "id": "river",
        "observed_property": "river_stage",
        "unit": "m",
        "thresholds": {"blue": 35.5, "yellow": 36.0, "orange": 38.37, "red": 39.51},
    }
    spec.update(kw)
    return WarningRule.model_validate(spec)


def test_rising_river_issues_yellow_then_orange_after_min_duration() -> None:
    # 10-min readings; at/above 36.0 from t=10 → 30 min later (t=40) yellow is issued;
    # at/above 38.37 from t=60 → orange at t=90.
    values = [35.0, 36.1, 36.2, 36.3, 36.5, 37.5, 38.4, 38.5, 38.6, 38.7]
    state, changes = evaluate(rule(min_duration_min=30), obs(values))
    assert [(c.time, c.from_level, c.to_level, c.kind, c.reason) for c in changes] == [
        (at(40), "none", "yellow", "issued", "threshold"),
        (at(90), "yellow", "orange", "escalated", "threshold"),
    ]
    assert changes[1].value == 38.7
    assert state.level == "orange"
    assert state.last_time == at(90)


def test_spike_shorter_than_min_duration_does_not_issue() -> None:
    # Above 36.0 at t=10 and t=20 only: 10 min < 30 min.
    _, changes = evaluate(rule(min_duration_min=30), obs([35.0, 36.5, 36.8, 35.0, 35.0]))
    assert changes == []


def test_hysteresis_prevents_flapping() -> None:
    noisy = [36.0 + (0.1 if i % 2 else -0.1) for i in range(40)]  # 35.9, 36.1, …
    # Blue (35.5) is reached at once; yellow at the first 36.1. With margin 0.2 yellow is
    # lowered only below 35.8, which 35.9 never is: two changes (blue issued, yellow).
    _, calm = evaluate(rule(hysteresis_margin=0.2), obs(noisy))
    assert [c.to_level for c in calm] == ["blue", "yellow"]
    # Without a margin every crossing of 36.0 changes the level.
    _, flapping = evaluate(rule(hysteresis_margin=0.0), obs(noisy))
    assert len(flapping) == 40


def test_lift_after_falling_below_threshold_minus_margin_for_the_duration() -> None:
    # Yellow at t=30 (36.2 from t=0). 35.9 ≥ 36.0 − 0.2 keeps yellow; 35.0 < 35.5 − 0.2 from
    # t=60 clears both yellow and blue at t=90 → lifted.
    values = [36.2, 36.2, 36.2, 36.2, 35.9, 35.9, 35.0, 35.0, 35.0, 35.0, 35.0]
    _, changes = evaluate(rule(min_duration_min=30, hysteresis_margin=0.2), obs(values))
    assert [(c.time, c.to_level, c.kind) for c in changes] == [
        (at(30), "yellow", "issued"),
        (at(90), "none", "lifted"),
    ]


def test_de_escalates_one_band_at_a_time() -> None:
    # Orange at t=0, then 37.0: below 38.37 − 0.2 but above yellow → de-escalated to yellow.
    _, changes = evaluate(rule(hysteresis_margin=0.2), obs([38.5, 37.0]))
    assert [(c.to_level, c.kind) for c in changes] == [
        ("orange", "issued"),
        ("yellow", "de-escalated"),
    ]


def test_rate_of_change_trigger() -> None:
    # 0.1 m per 10 min = 0.6 m/h ≥ 0.3 m/h, far below every threshold → blue by rate at t=10.
    # The rate is measured from the oldest reading in the last 60 min: at t=60 from t=0,
    # (30.3 − 30.0)/1 h = 0.3 m/h, still firing; at t=70 from t=10, 0.2 m/h, not. Held 60 min
    # after t=60, so still blue at t=120 and lifted at t=130.
    r = rule(rate=[{"change_per_hour": 0.3, "level": "blue", "window_min": 60, "hold_min": 60}])
    values = [30.0, 30.1, 30.2] + [30.3] * 11
    _, changes = evaluate(r, obs(values))
    assert [(c.time, c.to_level, c.reason) for c in changes] == [
        (at(10), "blue", "rate"),
        (at(130), "none", "threshold"),
    ]


def test_forecast_trigger_linear_trend() -> None:
    # Rise of 0.25 m/h from 34.0 every 10 min. With 3 points (t=20) the fitted line gives
    # 34.0 + 0.25·20/60 = 34.0833 now and 34.0833 + 0.25·6 = 35.5833 ≥ 35.5 in 6 h → blue.
    # Yellow (36.0) is predicted once the value reaches 36.0 − 1.5 = 34.5, at t=120.
    r = rule(forecast={"horizon_h": 6, "window_min": 60, "min_points": 3})
    values = [34.0 + 0.25 * i * 10 / 60 for i in range(13)]
    _, changes = evaluate(r, obs(values))
    assert [(c.time, c.to_level, c.reason) for c in changes] == [
        (at(20), "blue", "forecast"),
        (at(120), "yellow", "forecast"),
    ]


def test_forecast_trigger_given_series() -> None:
    r = rule(forecast={"horizon_h": 2})
    forecast = pd.DataFrame({"time": [at(150)], "value": [36.5]})
    # At t=0 and t=10 the 36.5 m forecast is 150 and 140 min ahead (> 2 h); at t=30, 120 min.
    _, changes = evaluate(r, obs([34.0, 34.0, 34.0, 34.0]), forecast=forecast)
    assert [(c.time, c.to_level, c.reason) for c in changes] == [(at(30), "yellow", "forecast")]


def test_falling_rule() -> None:
    r = WarningRule.model_validate(
        {
            "id": "reservoir",
            "observed_property": "reservoir_level",
            "unit": "m",
            "direction": "falling",
            "thresholds": {"yellow": 10.0, "red": 8.0},
        }
    )
    assert levels_over_time(r, obs([12.0, 10.0, 9.0, 7.5]))["level"].tolist() == [
        "none",
        "yellow",
        "yellow",
        "red",
    ]


def test_idempotent_and_stream_equals_batch() -> None:
    r = rule(min_duration_min=30, hysteresis_margin=0.2)
    values = [35.0, 36.1, 36.2, 36.3, 36.5, 37.5, 38.4, 38.5, 38.6, 38.7, 35.0, 35.0, 35.0, 35.0]
    frame = obs(values)
    state, changes = evaluate(r, frame)
    again, repeated = evaluate(r, frame, state)
    assert repeated == [] and again == state
    streamed: list[Any] = []
    s: WarningState | None = None
    for start in range(0, len(values), 3):
        s, new = evaluate(r, frame.iloc[start : start + 5], s)  # overlapping batches
        streamed += new
    assert streamed == changes and s == state
    levels = levels_over_time(r, frame)["level"].tolist()
    assert levels[-1] == state.level
    assert sum(a != b for a, b in zip(["none", *levels], levels, strict=False)) == len(changes)


def test_example_rules_load_and_cite() -> None:
    rules = example_rules()
    river = rules["xiang_river_stage_changsha"]
    assert (river.thresholds.yellow, river.thresholds.orange) == (36.0, 38.37)
    assert rules["rainfall_12h"].thresholds.blue == 50.0
    assert (rules["rainfall_3h"].thresholds.orange, rules["rainfall_3h"].thresholds.red) == (
        50.0,
        100.0,
    )
    assert all(r.source for r in rules.values())
    assert "Assumption" in rules["underpass_water_depth"].source


def _fields(data: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as info:
        rules_from_dict(data, "rules.yaml")
    return {p.column for p in info.value.problems}


def test_bad_rules_named_by_field() -> None:
    base = {"id": "r", "observed_property": "p", "unit": "m", "thresholds": {"blue": 1.0}}
    bad = [
        {**base, "thresholds": {"blue": 2.0, "yellow": 1.0}},
        {**base, "min_duration_min": -5},
        {**base, "direction": "sideways"},
        {**base, "thresholds": {}},
        {**base, "rate": [{"change_per_hour": 0.5, "level": "purple"}]},
    ]
    assert _fields({"rules": bad}) == {
        "rules[0].thresholds",
        "rules[1].min_duration_min",
        "rules[2].direction",
        "rules[3].thresholds",
        "rules[4].rate[0].level",
    }
    assert _fields({"rules": [base, base]}) == {"rules"}
    assert _fields({"rules": []}) == {"rules"}
    falling = {**base, "direction": "falling", "thresholds": {"blue": 1.0, "red": 2.0}}
    with pytest.raises(ValidationError, match="descending"):
        rules_from_dict({"rules": [falling]})


def test_bad_observations_named_by_row() -> None:
    frame = obs([35.0, float("nan"), 36.0])
    with pytest.raises(ValidationError) as info:
        evaluate(rule(), frame)
    assert [(p.column, p.rows) for p in info.value.problems] == [("value", ("1",))]
    with pytest.raises(ValidationError, match=r"observations\.time"):
        evaluate(rule(), pd.DataFrame({"value": [1.0]}))
    with pytest.raises(ValidationError, match="rule_id"):
        evaluate(rule(), frame.iloc[:1], WarningState("other"))
    with pytest.raises(ValidationError, match="forecast"):
        evaluate(rule(), frame.iloc[:1], forecast=frame.iloc[:1])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(30.0, 42.0), min_size=1, max_size=40))
def test_levels_always_valid(values: list[float]) -> None:
    r = rule(
        min_duration_min=10,
        hysteresis_margin=0.1,
        rate=[{"change_per_hour": 1.0, "level": "yellow"}],
        forecast={"horizon_h": 3},
    )
    assert set(levels_over_time(r, obs(values))["level"]) <= set(LEVELS)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=60),
    st.floats(0.01, 0.5),
    st.sampled_from([0.0, 10.0, 30.0]),
)
def test_margin_above_noise_gives_one_change_per_crossing(
    noise: list[float], amplitude: float, duration: float
) -> None:
    # Noise of amplitude a around the yellow threshold (36.0), margin 1.5·a: the value never
    # falls below 36.0 − margin, so yellow, once issued, is never lowered → at most one change.
    r = WarningRule.model_validate(
        {
            "id": "r",
            "observed_property": "p",
            "unit": "m",
            "thresholds": {"yellow": 36.0},
            "min_duration_min": duration,
            "hysteresis_margin": 1.5 * amplitude,
        }
    )
    _, changes = evaluate(r, obs([36.0 + amplitude * n for n in noise]))
    assert len(changes) <= 1
