"""Rescue dispatch: hand-computed and brute-forced optima, capacities, re-planning, inputs."""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import tiny_layers
from resilientcity.decision.dispatch import (
    DispatchPlan,
    dispatch_teams,
    dispatch_travel_minutes,
    incidents_from_impact,
    replan,
    rescue_stations,
)
from resilientcity.errors import ValidationError
from resilientcity.impact.results import ScenarioImpact
from resilientcity.twin import City

INF = math.inf


def _incidents(priority: list[float], needed: list[int] | None = None) -> pd.DataFrame:
    ids = [f"I{k}" for k in range(len(priority))]
    return pd.DataFrame(
        {"incident_id": ids, "priority": priority, "teams_needed": needed or [1] * len(ids)}
    )


def _stations(teams: list[int], jobs: list[int]) -> pd.DataFrame:
    ids = [f"S{k}" for k in range(len(teams))]
    return pd.DataFrame({"station_id": ids, "teams": teams, "jobs_per_team": jobs})


def _minutes(rows: list[list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        index=[f"S{k}" for k in range(len(rows))],
        columns=[f"I{k}" for k in range(len(rows[0]))],
    )


def _check_invariants(plan: DispatchPlan, stations: pd.DataFrame) -> None:
    a = plan.assignments
    # team capacity never exceeded
    jobs = a.groupby("station_id")["teams"].sum()
    cap = stations.set_index("station_id")
    for s, used in jobs.items():
        assert used <= cap.loc[s, "teams"] * cap.loc[s, "jobs_per_team"]
    # each incident served at most once, with exactly the teams it needs
    sent = a.groupby("incident_id")["teams"].sum()
    inc = plan.incidents.set_index("incident_id")
    assert inc.index.is_unique
    for i, row in inc.iterrows():
        assert sent.get(i, 0) == (row["teams_needed"] if row["served"] else 0)
        assert (row["reason"] == "") == row["served"]


def test_worked_example_by_hand() -> None:
    # Incidents I0 (priority 10), I1 (5), I2 (1); stations S0, S1 with one team, one job each.
    # I1 is reachable from S0 only. Serving I0 and I1 (priority 15) needs S0 → I1, S1 → I0:
    # weighted response 10 × 4 + 5 × 3 = 55 min; I2 (priority 1) is left: all teams busy.
    plan = dispatch_teams(
        _incidents([10, 5, 1]),
        _stations([1, 1], [1, 1]),
        _minutes([[2.0, 3.0, 1.0], [4.0, INF, 9.0]]),
    )
    got = plan.assignments.set_index("incident_id")["station_id"].to_dict()
    assert got == {"I0": "S1", "I1": "S0"}
    assert plan.totals["priority_served"] == 15.0
    assert plan.totals["weighted_response_min"] == pytest.approx(55.0)
    assert plan.totals["mean_response_min"] == pytest.approx((4 + 3) / 2)
    assert plan.incidents.set_index("incident_id")["reason"].to_dict() == {
        "I0": "",
        "I1": "",
        "I2": "all_teams_busy",
    }


def test_two_teams_from_two_stations_and_unreachable_incident() -> None:
    # I0 needs 2 teams: S0 (2 min) and S1 (6 min) have one team each → response (2 + 6)/2 = 4.
    # I1 needs 1 team but no road reaches it: no_reachable_team.
    plan = dispatch_teams(
        _incidents([3, 7], [2, 1]),
        _stations([1, 1], [2, 2]),
        _minutes([[2.0, INF], [6.0, INF]]),
    )
    inc = plan.incidents.set_index("incident_id")
    assert inc.loc["I0", "response_min"] == pytest.approx(4.0)
    assert inc.loc["I1", "reason"] == "no_reachable_team"
    assert plan.totals["weighted_response_min"] == pytest.approx(3 * 4.0)
    # one team in reach of an incident needing two is also no_reachable_team
    short = dispatch_teams(
        _incidents([1], [2]), _stations([1, 3], [5, 5]), _minutes([[1.0], [INF]])
    )
    assert short.incidents["reason"].tolist() == ["no_reachable_team"]


def test_max_minutes_drops_long_trips() -> None:
    plan = dispatch_teams(
        _incidents([1]), _stations([1], [1]), _minutes([[30.0]]), max_minutes=20.0
    )
    assert plan.incidents["reason"].tolist() == ["no_reachable_team"]
    assert len(plan.assignments) == 0 and math.isnan(plan.totals["mean_response_min"])


def _brute_force(
    priority: list[float],
    needed: list[int],
    teams: list[int],
    jobs: list[int],
    minutes: list[list[float]],
) -> tuple[float, float]:
    """Best (priority served, weighted response) over every assignment."""
    n_s = len(teams)
    options = []
    for i, need in enumerate(needed):
        opts: list[tuple[int, ...] | None] = [None]
        ranges = [
            range(min(teams[s], need) + 1) if math.isfinite(minutes[s][i]) else range(1)
            for s in range(n_s)
        ]
        opts += [x for x in itertools.product(*ranges) if sum(x) == need]
        options.append(opts)
    best = (-1.0, INF)
    for combo in itertools.product(*options):
        used = [0] * n_s
        served, resp = 0.0, 0.0
        for i, x in enumerate(combo):
            if x is None:
                continue
            served += priority[i]
            for s in range(n_s):
                if x[s] == 0:
                    continue
                used[s] += x[s]
                resp += priority[i] * minutes[s][i] * x[s] / needed[i]
        if any(used[s] > teams[s] * jobs[s] for s in range(n_s)):
            continue
        if served > best[0] + 1e-9 or (abs(served - best[0]) <= 1e-9 and resp < best[1]):
            best = (served, resp)
    return best


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n_inc=st.integers(1, 4),
    n_st=st.integers(1, 3),
)
def test_matches_brute_force(data: st.DataObject, n_inc: int, n_st: int) -> None:
    priority = data.draw(st.lists(st.integers(1, 9), min_size=n_inc, max_size=n_inc))
    needed = data.draw(st.lists(st.integers(1, 2), min_size=n_inc, max_size=n_inc))
    teams = data.draw(st.lists(st.integers(0, 2), min_size=n_st, max_size=n_st))
    jobs = data.draw(st.lists(st.integers(1, 2), min_size=n_st, max_size=n_st))
    cell = st.one_of(st.integers(1, 20).map(float), st.just(INF))
    minutes = [data.draw(st.lists(cell, min_size=n_inc, max_size=n_inc)) for _ in range(n_st)]
    stations = _stations(teams, jobs)
    plan = dispatch_teams(
        _incidents([float(p) for p in priority], needed), stations, _minutes(minutes)
    )
    _check_invariants(plan, stations)
    served, resp = _brute_force([float(p) for p in priority], needed, teams, jobs, minutes)
    assert plan.totals["priority_served"] == pytest.approx(served)
    assert plan.totals["weighted_response_min"] == pytest.approx(resp, rel=1e-6, abs=1e-6)


def test_replan_keeps_dispatched_teams() -> None:
    stations = _stations([1, 1], [2, 2])
    first = dispatch_teams(
        _incidents([10, 5, 1]), stations, _minutes([[2.0, 3.0, 1.0], [4.0, INF, 9.0]])
    )
    # S0 (2 jobs) takes I0 and I1, S1 takes I2: 10 × 2 + 5 × 3 + 1 × 9 = 44 min, against
    # 10 × 4 + 5 × 3 + 1 × 1 = 56 with S1 → I0.
    assert first.totals["weighted_response_min"] == pytest.approx(44.0)
    # These stay. Jobs left: S0 0, S1 1. The new I9 (100) and I8 (1) compete for S1's last
    # job: I9 wins, I8 is left (all teams busy).
    new = pd.DataFrame({"incident_id": ["I9", "I8"], "priority": [100.0, 1.0], "teams_needed": 1})
    minutes = pd.DataFrame({"I9": [5.0, 1.0], "I8": [1.0, 1.0]}, index=["S0", "S1"])
    plan = replan(first, new, stations, minutes)
    _check_invariants(plan, stations)
    a = plan.assignments
    fixed = a[a["fixed"]].set_index("incident_id")["station_id"].to_dict()
    assert fixed == {"I0": "S0", "I1": "S0", "I2": "S1"}
    assert a[~a["fixed"]][["station_id", "incident_id"]].values.tolist() == [["S1", "I9"]]
    inc = plan.incidents.set_index("incident_id")
    assert inc.loc["I8", "reason"] == "all_teams_busy"
    assert inc.loc["I9", "response_min"] == 1.0
    assert plan.totals["priority_served"] == 116.0
    assert plan.totals["weighted_response_min"] == pytest.approx(44.0 + 100 * 1.0)
    with pytest.raises(ValidationError, match="not already in the plan"):
        replan(plan, new, stations, minutes)


@pytest.mark.parametrize(
    ("incidents", "stations", "match"),
    [
        (_incidents([0.0]), _stations([1], [1]), "priority"),
        (_incidents([1.0], [0]), _stations([1], [1]), "teams_needed"),
        (_incidents([1.0]), _stations([-1], [1]), "teams"),
        (_incidents([1.0]), _stations([1], [0]), "jobs_per_team"),
        (_incidents([1.0]).drop(columns="priority"), _stations([1], [1]), "priority"),
        (pd.concat([_incidents([1.0])] * 2), _stations([1], [1]), "unique"),
    ],
)
def test_bad_input(incidents: pd.DataFrame, stations: pd.DataFrame, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        dispatch_teams(incidents, stations, _minutes([[1.0]]))


def test_no_incidents() -> None:
    plan = dispatch_teams(_incidents([]), _stations([1], [1]), _minutes([[]]))
    assert len(plan.incidents) == 0 and plan.totals["served"] == 0.0


def test_bad_minutes() -> None:
    with pytest.raises(ValidationError, match="incident_id"):
        dispatch_teams(_incidents([1.0, 2.0]), _stations([1], [1]), _minutes([[1.0]]))
    with pytest.raises(ValidationError, match="S0->I0"):
        dispatch_teams(_incidents([1.0]), _stations([1], [1]), _minutes([[-1.0]]))


# --- the tiny city -------------------------------------------------------------------------------


def _state(city: City, open_: list[bool]) -> pd.DataFrame:
    return pd.DataFrame(
        {"edge_id": city.roads.edges["edge_id"], "open": open_, "speed_factor": [1.0, 1.0]}
    )


def _impact(kind: str, intensity: list[float], ratio: list[float]) -> ScenarioImpact:
    assets = pd.DataFrame(
        {"asset_id": ["B1", "H1", "S1"], "intensity": intensity, "damage_ratio": ratio}
    )
    return ScenarioImpact("test", kind, "m", None, None, assets, {})  # type: ignore[arg-type]


def test_tiny_city_end_to_end() -> None:
    city = City(**tiny_layers())  # type: ignore[arg-type]
    # B1 (74 people, node 1) collapses (damage ratio 0.6 ≥ 0.5); H1 (500, ratio 0.4) does not.
    incidents = incidents_from_impact(city, _impact("earthquake", [0, 0, 0], [0.6, 0.4, 1.0]))
    assert incidents["incident_id"].tolist() == ["rescue:B1"]
    assert incidents["priority"].tolist() == [74.0] and incidents["cause"].tolist() == ["collapse"]
    stations = rescue_stations(city)  # the hospital H1, node 2
    assert stations["station_id"].tolist() == ["H1"]
    minutes = dispatch_travel_minutes(city, _state(city, [True, True]), stations, incidents)
    # node 2 → node 1 on the two-way main road: 0.7071 km at 50 km/h
    assert minutes.loc["H1", "rescue:B1"] == pytest.approx(0.7071 / 50 * 60)
    plan = dispatch_teams(incidents, stations, minutes)
    assert plan.totals["mean_response_min"] == pytest.approx(0.7071 / 50 * 60)
    cut = dispatch_travel_minutes(city, _state(city, [False, True]), stations, incidents)
    assert dispatch_teams(incidents, stations, cut).incidents["reason"].tolist() == [
        "no_reachable_team"
    ]


def test_flood_incidents_use_depth() -> None:
    city = City(**tiny_layers())  # type: ignore[arg-type]
    # B1 under 0.8 m (≥ 0.5 m), H1 under 0.3 m; S1 has no occupants.
    got = incidents_from_impact(city, _impact("river_flood", [0.8, 0.3, 2.0], [0.1, 0.1, 0.1]))
    assert got["asset_id"].tolist() == ["B1"] and got["cause"].tolist() == ["flooded"]
    # B1 under 0.3 m is below the default threshold, counted with a 0.2 m threshold
    shallow = _impact("river_flood", [0.3, 0.3, 2.0], [0, 0, 0])
    assert len(incidents_from_impact(city, shallow)) == 0
    low = incidents_from_impact(city, shallow, depth_threshold_m=0.2)
    assert low["asset_id"].tolist() == ["B1"] and low["priority"].tolist() == [74.0]
    with pytest.raises(ValidationError, match="depth_threshold_m"):
        incidents_from_impact(
            city, _impact("river_flood", [0, 0, 0], [0, 0, 0]), depth_threshold_m=0
        )
