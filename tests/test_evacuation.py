"""Evacuation to shelters: brute-force optima, invariants, reasons, bad input, a tiny city."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import tiny_layers
from resilientcity.decision.evacuation import (
    evacuate,
    evacuation_origins,
    functioning_shelters,
    plan_evacuation,
)
from resilientcity.decision.lp import SolverInfeasible
from resilientcity.errors import ValidationError
from resilientcity.twin import City

INF = np.inf


def _frames(people: list[float], capacity: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    origins = pd.DataFrame({"origin_id": [f"o{i}" for i in range(len(people))], "people": people})
    shelters = pd.DataFrame(
        {"shelter_id": [f"s{j}" for j in range(len(capacity))], "capacity_people": capacity}
    )
    return origins, shelters


def _brute_force(
    people: list[int], capacity: list[int], minutes: np.ndarray
) -> tuple[float, float]:
    """Fewest unsheltered, then least person-minutes, over every whole-person assignment."""
    n_o, n_s = minutes.shape
    cells = [(o, s) for o in range(n_o) for s in range(n_s) if np.isfinite(minutes[o, s])]
    best = (INF, INF)
    ranges = [range(min(people[o], capacity[s]) + 1) for o, s in cells]
    for amounts in itertools.product(*ranges):
        x = np.zeros((n_o, n_s))
        for (o, s), a in zip(cells, amounts, strict=True):
            x[o, s] = a
        if (x.sum(axis=1) > people).any() or (x.sum(axis=0) > capacity).any():
            continue
        cost = float((x * np.where(x > 0, minutes, 0.0)).sum())
        best = min(best, (float(sum(people) - x.sum()), cost))
    return best


def _check_invariants(plan, people: list[float], capacity: list[float]) -> None:  # type: ignore[no-untyped-def]
    o = plan.origins
    # conservation: every person sheltered or reported
    assert (o["sheltered"] + o["unsheltered"]).to_numpy() == pytest.approx(people, abs=1e-6)
    # capacities never exceeded
    assert (plan.shelters["assigned_people"] <= np.array(capacity) + 1e-6).all()
    assert (plan.flows["people"] >= 0).all()
    per_origin = plan.flows.groupby("origin_id")["people"].sum()
    assert per_origin.reindex(o["origin_id"]).fillna(0).to_numpy() == pytest.approx(
        o["sheltered"].to_numpy(), abs=1e-6
    )


def test_worked_example_by_hand() -> None:
    # o0 (3 people) is 1 min from s0 and 4 from s1; o1 (2 people) is 2 min from s0 only.
    # s0 holds 3. Sheltering all 5: o1 must use s0 (2 seats), o0 puts 1 in s0 and 2 in s1:
    # person-minutes = 2·2 + 1·1 + 2·4 = 13 (o0 all in s0 and o1 stranded would leave 2 out).
    origins, shelters = _frames([3.0, 2.0], [3.0, 10.0])
    minutes = np.array([[1.0, 4.0], [2.0, INF]])
    plan = plan_evacuation(origins, shelters, minutes)
    assert plan.totals["unsheltered"] == pytest.approx(0.0, abs=1e-6)  # solver tolerance
    assert plan.totals["person_minutes"] == pytest.approx(13.0, abs=1e-5)
    assert plan.totals["mean_travel_min"] == pytest.approx(13.0 / 5.0)


@settings(max_examples=25, deadline=None)
@given(
    people=st.lists(st.integers(0, 3), min_size=3, max_size=3),
    capacity=st.lists(st.integers(0, 4), min_size=2, max_size=2),
    minutes=st.lists(st.one_of(st.integers(1, 9).map(float), st.just(INF)), min_size=6, max_size=6),
)
def test_matches_brute_force(people: list[int], capacity: list[int], minutes: list[float]) -> None:
    matrix = np.array(minutes).reshape(3, 2)
    origins, shelters = _frames([float(p) for p in people], [float(c) for c in capacity])
    plan = plan_evacuation(origins, shelters, matrix)
    unsheltered, cost = _brute_force(people, capacity, matrix)
    assert plan.totals["unsheltered"] == pytest.approx(unsheltered, abs=1e-5)
    assert plan.totals["person_minutes"] == pytest.approx(cost, abs=1e-5)
    _check_invariants(plan, [float(p) for p in people], [float(c) for c in capacity])
    # whole people in, whole people out (the transportation matrix is totally unimodular)
    assert plan.flows["people"].to_numpy() == pytest.approx(plan.flows["people"].round(), abs=1e-5)


def test_reasons_for_the_unsheltered() -> None:
    # o0 reaches no shelter; o1 only s0 at 50 min (beyond 30); o2 and o3 compete for s1 (5 seats).
    origins, shelters = _frames([4.0, 3.0, 4.0, 4.0], [10.0, 5.0])
    minutes = np.array([[INF, INF], [50.0, INF], [INF, 5.0], [INF, 6.0]])
    plan = plan_evacuation(origins, shelters, minutes, max_minutes=30.0)
    reasons = dict(zip(plan.origins["origin_id"], plan.origins["reason"], strict=True))
    assert reasons["o0"] == "isolated"
    assert reasons["o1"] == "beyond_max_time"
    assert {reasons["o2"], reasons["o3"]} <= {"capacity", ""}
    t = plan.totals
    assert (t["unsheltered_isolated"], t["unsheltered_beyond_max_time"]) == (4.0, 3.0)
    assert t["unsheltered_capacity"] == pytest.approx(8.0 - 5.0)
    # the cheaper origin o2 fills s1 first: 4·5 + 1·6 = 26 person-minutes
    assert t["person_minutes"] == pytest.approx(26.0)


def test_require_all_names_the_data_at_fault() -> None:
    origins, shelters = _frames([4.0, 3.0], [2.0, 2.0])
    minutes = np.array([[INF, INF], [1.0, 2.0]])
    with pytest.raises(SolverInfeasible) as info:
        plan_evacuation(origins, shelters, minutes, require_all=True)
    layers = {p.layer: p for p in info.value.problems}
    assert layers["origins"].rows == ("o0",)
    assert "capacity" in layers["shelters"].column


def test_require_all_local_shortage_is_explained_by_the_model() -> None:
    # enough seats in total (10) but o0 and o1 (3 + 3) reach only s0 (4 seats): 2 short.
    origins, shelters = _frames([3.0, 3.0], [4.0, 6.0])
    minutes = np.array([[1.0, INF], [1.0, INF]])
    with pytest.raises(SolverInfeasible) as info:
        plan_evacuation(origins, shelters, minutes, require_all=True)
    found = {p.layer for p in info.value.problems}
    assert found & {"origin_people", "shelter_capacity"}
    assert sum(float(p.found.split()[-1]) for p in info.value.problems) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("people", "capacity", "minutes", "layer"),
    [
        ([-1.0], [1.0], [[1.0]], "origins"),
        ([1.0], [np.nan], [[1.0]], "shelters"),
        ([1.0], [1.0], [[np.nan]], "minutes"),
        ([1.0], [1.0], [[1.0, 2.0]], "minutes"),
    ],
)
def test_bad_input(people: list[float], capacity: list[float], minutes: list, layer: str) -> None:  # type: ignore[type-arg]
    origins, shelters = _frames(people, capacity)
    with pytest.raises(ValidationError) as info:
        plan_evacuation(origins, shelters, np.array(minutes))
    assert info.value.problems[0].layer == layer


def _tiny_with_shelter() -> City:
    layers = tiny_layers()
    assets = layers["assets"]
    assets.loc[assets["asset_id"] == "S1", "kind"] = "shelter"  # type: ignore[index]
    return City(**layers)  # type: ignore[arg-type]


def _state(city: City, open_: list[bool]) -> pd.DataFrame:
    return pd.DataFrame(
        {"edge_id": city.roads.edges["edge_id"], "open": open_, "speed_factor": [1.0, 0.5]}
    )


def test_tiny_city_end_to_end() -> None:
    city = _tiny_with_shelter()
    # B1 (74 people) sits on node 1; the shelter S1 (capacity 100) on node 3.
    # 1→2: 0.7071 km at 50 km/h = 0.84852 min; 2→3: 0.7071 km at 30 km/h = 1.41420 min,
    # halved speed (factor 0.5) → 2.82840 min; total 3.67692 min.
    people = pd.Series([74.0], index=["B1"])
    plan = evacuate(city, _state(city, [True, True]), people)
    expected = 0.7071 / 50 * 60 + 0.7071 / 30 * 60 / 0.5
    assert plan.flows["travel_min"].tolist() == pytest.approx([expected])
    assert plan.totals["person_minutes"] == pytest.approx(74 * expected)
    assert plan.origins["origin_id"].tolist() == ["node:1"]
    # edge 2→3 closed: B1 is cut off from the shelter
    cut = evacuate(city, _state(city, [True, False]), people)
    assert cut.origins["reason"].tolist() == ["isolated"]
    assert cut.totals["unsheltered_isolated"] == 74.0
    # the shelter down: no shelter at all
    down = evacuate(city, _state(city, [True, True]), people, functional=pd.Series({"S1": 0.2}))
    assert len(down.shelters) == 0
    assert down.totals["unsheltered"] == 74.0


def test_origins_and_shelters_from_city() -> None:
    city = _tiny_with_shelter()
    origins = evacuation_origins(city, pd.Series({"B1": 10.0, "H1": 5.0, "S1": 0.0}))
    assert origins[["origin_id", "people"]].values.tolist() == [["node:1", 10.0], ["node:2", 5.0]]
    shelters = functioning_shelters(city)
    assert shelters[["shelter_id", "capacity_people"]].values.tolist() == [["S1", 100.0]]
    with pytest.raises(ValidationError, match="ids of assets"):
        evacuation_origins(city, pd.Series({"nope": 1.0}))
    with pytest.raises(ValidationError, match="finite number"):
        evacuation_origins(city, pd.Series({"B1": -1.0}))
