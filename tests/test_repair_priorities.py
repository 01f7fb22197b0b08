"""Repair priorities: policies compared by resilience loss, greedy order checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from resilientcity.decision.repair import compare_repair_policies, greedy_repair_order
from resilientcity.errors import ValidationError
from resilientcity.network.cascade import DependencyGraph
from resilientcity.twin import City
from test_cascade import damaged_of, make_assets, make_deps

# Two feeders, one energy crew. F1 (5 crew-days) and F2 (1 crew-day) each serve 100 people.
# Naive (by id), critical_first and population (tie → id) repair F1 first; greedy compares the
# gain per crew-day, 0.5 / 5 for F1 against 0.5 / 1 for F2, and repairs F2 first.
TWO = make_assets(
    {"F1": "feeder", "F2": "feeder", "B1": "building", "B2": "building"},
    occupants={"B1": 100.0, "B2": 100.0},
)
TWO_DEPS = make_deps([("B1", "F1", "power"), ("B2", "F2", "power")])
TWO_DAYS = np.array([5.0, 1.0, 0.0, 0.0])
ENERGY_ONLY = {"energy": 1.0}


def _compare(**kwargs: object) -> pd.DataFrame:
    return compare_repair_policies(
        TWO,
        TWO_DEPS,
        damaged_of(TWO, "F1", "F2"),
        TWO_DAYS,
        days=10,
        crews={"energy": 1},
        weights=ENERGY_ONLY,
        **kwargs,  # type: ignore[arg-type]
    ).set_index("policy")


def test_greedy_order_by_gain_per_crew_day() -> None:
    graph = DependencyGraph.build(TWO, TWO_DEPS)
    order = greedy_repair_order(
        TWO, graph, damaged_of(TWO, "F1", "F2"), TWO_DAYS, weights=ENERGY_ONLY
    )
    assert order == ["F2", "F1"]


def test_greedy_beats_naive_by_the_hand_computed_loss() -> None:
    table = _compare()
    # Naive: F1 on days 0-5, F2 on days 5-6; energy Q = 0 until t = 5, 0.5 at t = 5, 1 at t = 6.
    # ∫(1 − Q) by trapezoids on daily samples: 4 × 1 + (1 + 0.5)/2 + (0.5 + 0)/2 = 5.0 days.
    # Greedy: F2 on days 0-1, F1 on days 1-6; Q = 0 at t = 0, 0.5 from t = 1 to 5, 1 at t = 6.
    # ∫(1 − Q) = (1 + 0.5)/2 + 4 × 0.5 + (0.5 + 0)/2 = 3.0 days.
    assert table.loc["naive", "resilience_loss"] == pytest.approx(5.0)
    assert table.loc["critical_first", "resilience_loss"] == pytest.approx(5.0)
    assert table.loc["population", "resilience_loss"] == pytest.approx(5.0)
    assert table.loc["greedy", "resilience_loss"] == pytest.approx(3.0)
    assert table.loc["greedy", "loss_vs_naive"] == pytest.approx(-2.0)
    assert table.loc["greedy", "loss_vs_naive_pct"] == pytest.approx(-40.0)
    # index = 1 − loss / T with T = 10 days
    assert table.loc["greedy", "resilience_index"] == pytest.approx(1 - 3.0 / 10)
    # rapidity: Q reaches 0.95 between t = 5 (0.5) and t = 6 (1): 5 + 0.45 / 0.5 = 5.9
    assert table.loc["greedy", "rapidity_days"] == pytest.approx(5.9)
    assert table.loc["naive", "rapidity_days"] == pytest.approx(5.9)


def test_naive_difference_without_naive_in_the_list() -> None:
    table = _compare(policies=("greedy",))
    assert table.index.tolist() == ["greedy"]
    assert table.loc["greedy", "loss_vs_naive"] == pytest.approx(-2.0)


def test_zero_day_repairs_come_first_and_buildings_are_left_out() -> None:
    graph = DependencyGraph.build(TWO, TWO_DEPS)
    days = np.array([5.0, 0.0, 3.0, 0.0])
    order = greedy_repair_order(TWO, graph, damaged_of(TWO, "F1", "F2", "B1"), days)
    assert order == ["F2", "F1"]


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"policies": ("naive", "best")}, "policies"),
        ({"policies": ("naive", "naive")}, "policies"),
        ({"policies": ()}, "policies"),
        ({"max_candidates": 0}, "max_candidates"),
    ],
)
def test_bad_input(kwargs: dict[str, object], column: str) -> None:
    with pytest.raises(ValidationError, match=column):
        _compare(**kwargs)


def test_bad_damaged_mask() -> None:
    with pytest.raises(ValidationError, match="damaged"):
        compare_repair_policies(TWO, TWO_DEPS, np.array([1, 0, 0, 0]), TWO_DAYS)


def test_demo_city_greedy_no_worse_than_naive(small_city: City) -> None:
    a = small_city.assets
    rng = np.random.default_rng(7)
    infra = (a["kind"] != "building").to_numpy()
    damaged = infra & (rng.random(len(a)) < 0.15)
    days = np.where(damaged, rng.uniform(1, 30, len(a)).round(), 0.0)
    table = compare_repair_policies(
        a, small_city.dependencies, damaged, days, days=120, edges=small_city.roads.edges
    ).set_index("policy")
    assert table.index.tolist() == ["naive", "critical_first", "population", "greedy"]
    assert table.loc["greedy", "resilience_loss"] <= table.loc["naive", "resilience_loss"] + 1e-9
    assert (table["resilience_index"] <= 1).all() and (table["resilience_loss"] >= 0).all()
    span = 120.0
    assert table["resilience_index"].to_numpy() == pytest.approx(
        1 - table["resilience_loss"].to_numpy() / span
    )
