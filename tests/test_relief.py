"""Relief distribution: brute-force optima, fairness, carry-over, invariants, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resilientcity.decision.relief import (
    ReliefPlan,
    plan_relief,
    relief_needs,
    shelter_needs,
    unmet_weight,
)
from resilientcity.errors import ValidationError

INF = np.inf


def _stocks(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["warehouse_id", "commodity", "stock_units"])


def _demand(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["shelter_id", "commodity", "day", "demand_units"])
    return frame.astype({"day": "int64"})


def _cost(matrix: list[list[float]], w: list[str], s: list[str]) -> pd.DataFrame:
    return pd.DataFrame(matrix, index=w, columns=s)


def _check_invariants(plan: ReliefPlan, stocks: pd.DataFrame, demand: pd.DataFrame) -> None:
    ship = plan.shipments
    # demand never over-served
    assert (plan.fill["delivered_units"] <= plan.fill["demand_units"] + 1e-6).all()
    assert (ship["units"] >= 0).all()
    # stock never exceeded, and conservation per warehouse, commodity and day
    start = stocks.set_index(["warehouse_id", "commodity"])["stock_units"]
    for (w, c), group in plan.inventory.groupby(["warehouse_id", "commodity"]):
        prev = float(start.get((w, c), 0.0))
        for day, left in zip(group["day"], group["end_units"], strict=True):
            sent = ship.loc[
                (ship["warehouse_id"] == w) & (ship["commodity"] == c) & (ship["day"] == day),
                "units",
            ].sum()
            assert left == pytest.approx(prev - sent, abs=1e-6)
            assert left >= -1e-6
            prev = left


def _brute_force(stock: list[int], need: np.ndarray, cost: np.ndarray) -> tuple[float, float]:
    """1 commodity, W warehouses, S shelters, D days: least unmet, then least cost."""
    n_w, n_s = cost.shape
    n_d = need.shape[1]
    cells = [(w, s, d) for w in range(n_w) for s in range(n_s) for d in range(n_d)]
    best = (INF, INF)
    for amounts in itertools.product(*[range(int(need[s, d]) + 1) for _, s, d in cells]):
        x = np.zeros((n_w, n_s, n_d))
        for (w, s, d), a in zip(cells, amounts, strict=True):
            x[w, s, d] = a
        if (x.sum(axis=(1, 2)) > stock).any() or (x.sum(axis=0) > need).any():
            continue
        best = min(best, (float(need.sum() - x.sum()), float((x * cost[:, :, None]).sum())))
    return best


@settings(max_examples=20, deadline=None)
@given(
    stock=st.lists(st.integers(0, 3), min_size=2, max_size=2),
    need=st.lists(st.integers(0, 2), min_size=4, max_size=4),
    cost=st.lists(st.integers(1, 5), min_size=4, max_size=4),
)
def test_matches_brute_force(stock: list[int], need: list[int], cost: list[int]) -> None:
    need_m = np.array(need, dtype=float).reshape(2, 2)  # shelter × day
    cost_m = np.array(cost, dtype=float).reshape(2, 2)  # warehouse × shelter
    stocks = _stocks([(f"w{i}", "water", float(v)) for i, v in enumerate(stock)])
    demand = _demand([(f"s{s}", "water", d, need_m[s, d]) for s in range(2) for d in range(2)])
    plan = plan_relief(stocks, demand, _cost(cost_m.tolist(), ["w0", "w1"], ["s0", "s1"]))
    unmet, best_cost = _brute_force(stock, need_m, cost_m)
    assert plan.totals["unmet_units"] == pytest.approx(unmet, abs=1e-6)
    assert plan.totals["cost"] == pytest.approx(best_cost, abs=1e-5)
    _check_invariants(plan, stocks, demand)
    # the same optimum through the two-stage lexicographic solve (a vehicle limit that never binds)
    staged = plan_relief(
        stocks,
        demand,
        _cost(cost_m.tolist(), ["w0", "w1"], ["s0", "s1"]),
        vehicle_capacity=pd.Series({"w0": 1e6}),
    )
    assert staged.totals["unmet_units"] == pytest.approx(unmet, abs=1e-5)
    assert staged.totals["cost"] == pytest.approx(best_cost, abs=1e-4)


def test_fairness_by_hand() -> None:
    # one warehouse with 6 units; shelters A (1 min) and B (2 min) each need 6.
    # Least cost: all 6 to A (cost 6), B gets nothing (min fill 0).
    # Max-min: each gets 3 (fill 0.5), cost 3·1 + 3·2 = 9.
    stocks = _stocks([("W", "food", 6.0)])
    demand = _demand([("A", "food", 0, 6.0), ("B", "food", 0, 6.0)])
    cost = _cost([[1.0, 2.0]], ["W"], ["A", "B"])
    plain = plan_relief(stocks, demand, cost)
    assert (plain.totals["unmet_units"], plain.totals["cost"]) == pytest.approx((6.0, 6.0))
    assert plain.totals["min_fill_rate"] == pytest.approx(0.0)
    fair = plan_relief(stocks, demand, cost, fair=True)
    assert fair.fill["fill_rate"].tolist() == pytest.approx([0.5, 0.5])
    assert (fair.totals["unmet_units"], fair.totals["cost"]) == pytest.approx((6.0, 9.0))


def test_stock_carried_over_and_arrivals() -> None:
    # 10 units on day 0, 3 arrive on day 1; demand 4 per day over 3 days = 12 ≤ 13.
    stocks = _stocks([("W", "water", 10.0)])
    demand = _demand([("A", "water", d, 4.0) for d in range(3)])
    arrivals = pd.DataFrame(
        {"warehouse_id": ["W"], "commodity": ["water"], "day": [1], "units": [3.0]}
    )
    plan = plan_relief(stocks, demand, _cost([[2.0]], ["W"], ["A"]), arrivals=arrivals)
    assert plan.totals["unmet_units"] == pytest.approx(0.0, abs=1e-6)
    # end of day: 10 - 4 = 6; 6 + 3 - 4 = 5; 5 - 4 = 1
    assert plan.inventory["end_units"].tolist() == pytest.approx([6.0, 5.0, 1.0])
    assert plan.totals["cost"] == pytest.approx(12 * 2.0)


def test_vehicle_capacity_limits_daily_load() -> None:
    # stock of 5 water + 5 food; a truck of 6 load units a day; water weighs 1, food 0.5.
    # demand on day 0: 5 water and 5 food = 7.5 load: 1.5 load is left, in whichever mix;
    # least unmet units: ship all 5 food (2.5) + 3.5 water; unmet 1.5 water.
    stocks = _stocks([("W", "water", 5.0), ("W", "food", 5.0)])
    demand = _demand([("A", "water", 0, 5.0), ("A", "food", 0, 5.0)])
    plan = plan_relief(
        stocks,
        demand,
        _cost([[1.0]], ["W"], ["A"]),
        vehicle_capacity=pd.Series({"W": 6.0}),
        unit_load={"water": 1.0, "food": 0.5},
    )
    assert plan.totals["unmet_units"] == pytest.approx(1.5, abs=1e-6)
    fill = plan.fill.set_index("commodity")["delivered_units"]
    assert (fill["water"], fill["food"]) == pytest.approx((3.5, 5.0), abs=1e-6)


def test_unreachable_shelter_gets_nothing() -> None:
    stocks = _stocks([("W", "water", 10.0)])
    demand = _demand([("A", "water", 0, 4.0), ("B", "water", 0, 4.0)])
    plan = plan_relief(stocks, demand, _cost([[1.0, INF]], ["W"], ["A", "B"]))
    assert plan.fill["delivered_units"].tolist() == pytest.approx([4.0, 0.0])


def test_unmet_weight() -> None:
    # 3 nodes besides the source, largest cost 5: M = (3 + 1)·5 = 20
    assert unmet_weight(np.array([1.0, 5.0]), 3) == 20.0
    assert unmet_weight(np.zeros(2), 3) == 1.0


def test_shelter_needs_from_sphere_rates() -> None:
    needs = relief_needs()
    assert needs.loc["water", "per_person"] == 15.0  # Sphere: 15 L per person per day
    demand = shelter_needs(pd.Series({"S1": 100.0}), days=2)
    table = demand.set_index(["commodity", "day"])["demand_units"]
    assert table[("water", 0)] == table[("water", 1)] == pytest.approx(1500.0)
    assert table[("food", 1)] == pytest.approx(100.0)
    assert table[("medical_kit", 0)] == pytest.approx(100 / (1000 * 90))
    assert table[("tent", 0)] == pytest.approx(100 * 3.5 / 16)
    assert ("tent", 1) not in table.index
    with pytest.raises(ValidationError):
        shelter_needs(pd.Series({"S1": -1.0}), days=2)


@pytest.mark.parametrize(
    ("stocks", "demand", "cost", "layer"),
    [
        ([("W", "water", -1.0)], [("A", "water", 0, 1.0)], [[1.0]], "stocks"),
        ([("W", "water", 1.0)], [("A", "water", 0, np.nan)], [[1.0]], "demand"),
        ([("X", "water", 1.0)], [("A", "water", 0, 1.0)], [[1.0]], "stocks"),
        ([("W", "water", 1.0)], [("B", "water", 0, 1.0)], [[1.0]], "demand"),
        ([("W", "water", 1.0)], [("A", "water", 0, 1.0)], [[np.nan]], "cost"),
        (
            [("W", "water", 1.0)],
            [("A", "water", 0, 1.0), ("A", "water", 0, 2.0)],
            [[1.0]],
            "demand",
        ),
    ],
)
def test_bad_input(
    stocks: list[tuple[str, str, float]],
    demand: list[tuple[str, str, int, float]],
    cost: list[list[float]],
    layer: str,
) -> None:
    with pytest.raises(ValidationError) as info:
        plan_relief(_stocks(stocks), _demand(demand), _cost(cost, ["W"], ["A"]))
    assert info.value.problems[0].layer == layer


def test_fractional_day_is_rejected() -> None:
    demand = pd.DataFrame(
        {"shelter_id": ["A"], "commodity": ["water"], "day": [0.5], "demand_units": [1.0]}
    )
    with pytest.raises(ValidationError, match="whole days"):
        plan_relief(_stocks([("W", "water", 1.0)]), demand, _cost([[1.0]], ["W"], ["A"]))
