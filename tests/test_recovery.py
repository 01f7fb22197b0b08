"""Recovery: resilience metrics on analytic curves, crew schedules and service curves by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resilientcity.errors import ValidationError
from resilientcity.network.cascade import DependencyGraph
from resilientcity.recovery.metrics import (
    ServiceCurve,
    rapidity,
    resilience_index,
    resilience_loss,
    robustness,
)
from resilientcity.recovery.policies import population_served, repair_order
from resilientcity.recovery.simulation import (
    sample_restoration_days,
    schedule_repairs,
    simulate_recovery,
)
from resilientcity.twin import City
from test_cascade import damaged_of, make_assets, make_deps

# --- metrics on analytic curves ----------------------------------------------------------------

TRIANGLE_T = [0.0, 10.0, 20.0]
TRIANGLE_Q = [0.4, 1.0, 1.0]


def test_triangle_curve_metrics() -> None:
    # Q drops to 0.4 at t = 0 and recovers linearly to 1 at t = 10, then stays there to T = 20.
    assert robustness(TRIANGLE_T, TRIANGLE_Q) == pytest.approx(0.4)
    assert resilience_loss(TRIANGLE_T, TRIANGLE_Q) == pytest.approx(0.5 * 10 * 0.6)  # 3.0
    assert resilience_index(TRIANGLE_T, TRIANGLE_Q) == pytest.approx((20 - 3.0) / 20)  # 0.85
    # 0.95 is reached at t = 10 × (0.95 − 0.4) / 0.6
    assert rapidity(TRIANGLE_T, TRIANGLE_Q) == pytest.approx(10 * 0.55 / 0.6)


def test_triangle_sampled_daily_gives_the_same_metrics() -> None:
    t = np.arange(21.0)
    q = np.minimum(1.0, 0.4 + 0.06 * t)  # linear, so the trapezoid rule is exact
    assert resilience_loss(t, q) == pytest.approx(3.0)
    assert resilience_index(t, q) == pytest.approx(0.85)
    assert rapidity(t, q) == pytest.approx(55 / 6)


def test_step_curve_metrics() -> None:
    # Q = 0.5 from t = 0 until it jumps back to 1 at t = 5 (two samples at t = 5), T = 20.
    t, q = [0.0, 5.0, 5.0, 20.0], [0.5, 0.5, 1.0, 1.0]
    assert robustness(t, q) == 0.5
    assert resilience_loss(t, q) == pytest.approx(5 * 0.5)  # 2.5
    assert resilience_index(t, q) == pytest.approx((20 - 2.5) / 20)  # 0.875
    assert rapidity(t, q) == pytest.approx(5.0)


def test_curves_that_never_drop_or_never_recover() -> None:
    assert rapidity([0, 10], [1.0, 1.0]) == 0.0
    assert resilience_loss([0, 10], [1.0, 1.0]) == 0.0
    assert math.isinf(rapidity([0, 10], [0.2, 0.9]))
    # a late drop: the minimum is at t = 4, back at 0.95 at t = 4 + 0.45 / 0.5 × 2 = 5.8
    assert rapidity([0, 4, 6], [1.0, 0.5, 1.0]) == pytest.approx(5.8)


@pytest.mark.parametrize(
    ("t", "q"),
    [([0.0], [1.0]), ([0, 1], [1.0]), ([1, 0], [1, 1]), ([0, 1], [1.2, 1]), ([0, 0], [1, 1])],
)
def test_bad_curves_are_refused(t: list[float], q: list[float]) -> None:
    with pytest.raises(ValidationError):
        resilience_loss(t, q)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=30))
def test_metric_identities(q: list[float]) -> None:
    t = np.arange(len(q), dtype=float)
    span = t[-1]
    assert resilience_index(t, q) == pytest.approx(1 - resilience_loss(t, q) / span)
    assert 0 <= resilience_index(t, q) <= 1
    assert robustness(t, q) <= min(1.0, float(np.mean(q))) + 1e-12


def test_service_curve_metrics_per_column() -> None:
    cols = pd.MultiIndex.from_tuples([("energy", "all"), ("city", "all")])
    levels = pd.DataFrame(
        {cols[0]: TRIANGLE_Q, cols[1]: [1.0, 1.0, 1.0]},
        index=pd.Index(TRIANGLE_T, name="time_days"),
    )
    curve = ServiceCurve(np.array(TRIANGLE_T), levels)
    m = curve.metrics()
    assert m.loc[("energy", "all"), "resilience_loss_days"] == pytest.approx(3.0)
    assert m.loc[("city", "all"), "resilience_index"] == 1.0
    assert curve.city.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValidationError, match="one row per time"):
        ServiceCurve(np.array([0.0, 1.0]), levels)


# --- schedules and curves by hand --------------------------------------------------------------

# Two feeders, one crew: F1 needs 3 days and serves 100 people, F2 needs 5 days and serves 300.
TWO = make_assets(
    {"F1": "feeder", "F2": "feeder", "B1": "building", "B2": "building"},
    occupants={"B1": 100.0, "B2": 300.0},
)
TWO_DEPS = make_deps([("B1", "F1", "power"), ("B2", "F2", "power")])
TWO_DAYS = np.array([3.0, 5.0, 0.0, 0.0])
ONE_CREW = {"energy": 1}


def _energy(policy: str, given_ids: list[str] | None = None) -> list[float]:
    res = simulate_recovery(
        TWO,
        TWO_DEPS,
        damaged_of(TWO, "F1", "F2"),
        TWO_DAYS,
        days=10,
        policy=policy,
        given=given_ids,
        crews=ONE_CREW,
    )  # type: ignore[arg-type]
    return res.curve.levels[("energy", "all")].tolist()


def test_one_crew_population_first_repairs_the_bigger_feeder_first() -> None:
    # F2 (300 people) on days 0-5, then F1 on days 5-8: energy 0 → 300/400 at t=5 → 1 at t=8.
    q = _energy("population")
    assert q == [0, 0, 0, 0, 0, 0.75, 0.75, 0.75, 1, 1, 1]
    assert _energy("critical_first") == q  # same kind: by population served


def test_one_crew_given_order_and_its_resilience_loss() -> None:
    # F1 on days 0-3, F2 on days 3-8: energy 0 → 100/400 at t=3 → 1 at t=8.
    q = _energy("given", ["F1", "F2"])
    assert q == [0, 0, 0, 0.25, 0.25, 0.25, 0.25, 0.25, 1, 1, 1]
    # trapezoid of 1 − Q: 1 + 1 + (1 + 0.75)/2 + 4 × 0.75 + (0.75 + 0)/2 = 6.25 days
    assert resilience_loss(np.arange(11.0), q) == pytest.approx(6.25)


def test_two_crews_work_in_parallel() -> None:
    res = simulate_recovery(
        TWO, TWO_DEPS, damaged_of(TWO, "F1", "F2"), TWO_DAYS, days=6, crews={"energy": 2}
    )
    assert res.curve.levels[("energy", "all")].tolist() == [0, 0, 0, 0.25, 0.25, 1, 1]
    assert res.schedule.set_index("asset_id")["finish_day"].to_dict() == {"F2": 5.0, "F1": 3.0}


def test_schedule_table() -> None:
    graph = DependencyGraph.build(TWO, TWO_DEPS)
    s = schedule_repairs(
        TWO,
        graph,
        damaged_of(TWO, "F1", "F2", "B1"),
        np.array([3.0, 5.0, 40.0, 0.0]),
        crews=ONE_CREW,
    )
    assert s["asset_id"].tolist() == ["F2", "F1", "B1"]
    assert s["start_day"].tolist() == [0.0, 5.0, 0.0]  # buildings: repaired by their owners
    assert s["finish_day"].tolist() == [5.0, 8.0, 40.0]
    assert s["priority"].tolist() == [0, 1, 0]


def test_backup_runs_out_within_the_first_day() -> None:
    assets = make_assets(
        {"SS1": "substation", "P1": "pump_station", "B1": "building"}, occupants={"B1": 50.0}
    )
    deps = make_deps([("P1", "SS1", "power", "power", 12.0), ("B1", "P1", "water")])
    res = simulate_recovery(
        assets,
        deps,
        damaged_of(assets, "SS1"),
        np.array([2.0, 0, 0]),
        times_days=[0, 0.25, 0.5, 1, 2, 3],
    )
    # 12 h of diesel: water at 0 h and 6 h, none at 12 h (not < 12) and 24 h, back at day 2
    assert res.curve.levels[("water", "all")].tolist() == [1, 1, 0, 0, 1, 1]
    assert res.functional.tolist() == [2, 2, 0, 0, 3, 3]


def test_access_callback_gives_the_hospital_back_with_its_bridge() -> None:
    assets = make_assets({"BR1": "bridge", "H1": "hospital"}, capacity={"H1": 100.0})
    deps = make_deps([])
    calls: list[list[bool]] = []

    def access(intact: np.ndarray) -> np.ndarray:
        calls.append(intact.tolist())
        return np.array([True, bool(intact[0])])

    res = simulate_recovery(
        assets, deps, damaged_of(assets, "BR1"), np.array([2.0, 0.0]), days=4, access_fn=access
    )
    assert res.curve.levels[("medical", "all")].tolist() == [0, 0, 1, 1, 1]
    assert res.curve.levels[("transport", "all")].tolist() == [0, 0, 1, 1, 1]
    assert calls == [[False, True], [True, True]]  # only when the damaged set changes


# --- policies ----------------------------------------------------------------------------------

ORDER = make_assets(
    {"B1": "building", "SS1": "substation", "F1": "feeder", "H1": "hospital", "B2": "building"},
    occupants={"B1": 10.0, "B2": 500.0, "H1": 20.0},
)
ORDER_DEPS = make_deps(
    [("F1", "SS1", "power"), ("B1", "F1", "power"), ("H1", "F1", "power"), ("B2", "SS1", "power")]
)
ORDER_GRAPH = DependencyGraph.build(ORDER, ORDER_DEPS)
ALL = np.ones(5, dtype=bool)


def _ids(order: np.ndarray) -> list[str]:
    return ORDER["asset_id"].to_numpy()[order].tolist()


def test_population_served_counts_everything_downstream_once() -> None:
    served = population_served(ORDER_GRAPH, ORDER["occupants"].to_numpy(), np.arange(5))
    # SS1 → F1 → (B1, H1) and SS1 → B2: 10 + 20 + 500; F1: 10 + 20
    assert served.tolist() == [10.0, 530.0, 30.0, 20.0, 500.0]


def test_policies_order() -> None:
    assert _ids(repair_order(ORDER, ORDER_GRAPH, ALL, "critical_first")) == [
        "H1",
        "SS1",
        "F1",
        "B2",
        "B1",
    ]
    assert _ids(repair_order(ORDER, ORDER_GRAPH, ALL, "population")) == [
        "SS1",
        "B2",
        "F1",
        "H1",
        "B1",
    ]
    assert _ids(repair_order(ORDER, ORDER_GRAPH, ALL, "given", ["B1", "F1"])) == [
        "B1",
        "F1",
        "H1",
        "SS1",
        "B2",
    ]


def test_policy_inputs_are_checked() -> None:
    with pytest.raises(ValidationError, match="unknown asset"):
        repair_order(ORDER, ORDER_GRAPH, ALL, "given", ["ZZ9"])
    with pytest.raises(ValidationError, match="'given' policy"):
        repair_order(ORDER, ORDER_GRAPH, ALL, "given")
    with pytest.raises(ValidationError, match="policy"):
        repair_order(ORDER, ORDER_GRAPH, ALL, "greedy")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"crews": {"energy": 0}}, "crews"),
        ({"days": 0.0}, "days"),
        ({"times_days": [1.0, 2.0]}, "times_days"),
        ({"restoration_days": np.array([np.nan, 1.0, 0, 0])}, "restoration_days"),
        ({"restoration_days": np.ones(3)}, "one value per asset"),
        ({"damaged": np.ones(4)}, "damaged"),
        ({"access_fn": lambda intact: np.ones(2, dtype=bool)}, "access_fn"),
    ],
)
def test_recovery_inputs_are_checked(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"damaged": damaged_of(TWO, "F1"), "restoration_days": TWO_DAYS}
    args |= kwargs
    with pytest.raises(ValidationError, match=match):
        simulate_recovery(TWO, TWO_DEPS, **args)  # type: ignore[arg-type]


# --- sampling ----------------------------------------------------------------------------------


@pytest.mark.parametrize("distribution", ["lognormal", "exponential"])
def test_sampled_restoration_keeps_the_mean_and_zeros(distribution: str) -> None:
    mean = np.r_[np.zeros(10), np.full(40_000, 20.0)]
    a = sample_restoration_days(mean, np.random.default_rng(1), distribution)  # type: ignore[arg-type]
    b = sample_restoration_days(mean, np.random.default_rng(1), distribution)  # type: ignore[arg-type]
    assert np.array_equal(a, b)
    assert (a[:10] == 0).all() and (a[10:] > 0).all()
    assert a[10:].mean() == pytest.approx(20.0, rel=0.02)


def test_sampling_inputs_are_checked() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValidationError, match="restoration_days"):
        sample_restoration_days([-1.0], rng)
    with pytest.raises(ValidationError, match="distribution"):
        sample_restoration_days([1.0], rng, "normal")  # type: ignore[arg-type]


# --- invariants on the demo city ---------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_demo_city_recovery_invariants(small_city: City, seed: int) -> None:
    a = small_city.assets
    rng = np.random.default_rng(seed)
    damaged = rng.random(len(a)) < 0.05
    days = np.where(damaged, rng.uniform(1, 60, len(a)), 0.0)
    res = simulate_recovery(
        a, small_city.dependencies, damaged, days, days=90, edges=small_city.roads.edges
    )
    q = res.curve.levels.to_numpy()
    assert ((q >= 0) & (q <= 1)).all()
    # nothing breaks after the backups (≤ 24 h) have run out: every level only goes up
    assert (np.diff(q[1:], axis=0) >= -1e-12).all()
    # every repair (≤ 60 crew-days, enough crews) is done by day 90
    assert q[-1, :] == pytest.approx(np.ones(q.shape[1]))
    assert res.schedule["finish_day"].max() <= 90
    m = res.curve.metrics()
    assert (m["robustness"] <= 1).all() and (m["resilience_index"] <= 1).all()
