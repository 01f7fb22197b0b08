"""Interdependency cascade and sector service levels on hand-made networks with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resilientcity.errors import ValidationError
from resilientcity.network.cascade import DependencyGraph, run_cascade
from resilientcity.network.service import ServiceModel, service_levels
from resilientcity.twin import City

KIND_SECTOR = {
    "building": "housing",
    "hospital": "medical",
    "substation": "energy",
    "feeder": "energy",
    "pump_station": "water",
    "water_plant": "water",
    "telecom": "communications",
    "shelter": "public_services",
    "bridge": "transport",
}


def make_assets(
    spec: dict[str, str],
    occupants: dict[str, float] | None = None,
    capacity: dict[str, float] | None = None,
    zone: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Assets ``{asset_id: kind}`` with the columns the cascade and service levels read."""
    ids = list(spec)
    kinds = [spec[i] for i in ids]
    return pd.DataFrame(
        {
            "asset_id": ids,
            "kind": kinds,
            "sector": [KIND_SECTOR[k] for k in kinds],
            "occupancy": ["residential" if k == "building" else "infrastructure" for k in kinds],
            "occupants": [float((occupants or {}).get(i, 0.0)) for i in ids],
            "capacity": [float((capacity or {}).get(i, 0.0)) for i in ids],
            "zone_id": [(zone or {}).get(i, "D1") for i in ids],
        }
    )


def make_deps(rows: list[tuple[str, str, str] | tuple[str, str, str, str, float]]) -> pd.DataFrame:
    """Rows ``(dependent, supplier, service[, group, backup_hours])``."""
    full = [r if len(r) == 5 else (*r, r[2], 0.0) for r in rows]
    return pd.DataFrame(
        full, columns=["dependent_id", "supplier_id", "service", "group", "backup_hours"]
    )


def damaged_of(assets: pd.DataFrame, *ids: str) -> np.ndarray:
    return assets["asset_id"].isin(ids).to_numpy()


def state(
    assets: pd.DataFrame,
    deps: pd.DataFrame,
    *down: str,
    hours: float = 0.0,
    access: np.ndarray | None = None,
) -> dict[str, bool]:
    res = run_cascade(assets, deps, damaged_of(assets, *down), hours, access)
    return dict(zip(assets["asset_id"], res.functional.tolist(), strict=True))


# --- hand-made networks ------------------------------------------------------------------------

PUMPS = make_assets({"SS1": "substation", "P_BACKUP": "pump_station", "P_NONE": "pump_station"})
PUMP_DEPS = make_deps(
    [("P_BACKUP", "SS1", "power", "power", 12.0), ("P_NONE", "SS1", "power", "power", 0.0)]
)


@pytest.mark.parametrize(
    ("hours", "with_backup", "without"),
    [(0.0, True, False), (6.0, True, False), (12.0, False, False), (24.0, False, False)],
)
def test_pump_on_a_damaged_substation_runs_on_its_backup_for_12_hours(
    hours: float, with_backup: bool, without: bool
) -> None:
    # 12 h of diesel: still pumping at 6 h (6 < 12), stopped at 12 h and 24 h (not < 12).
    s = state(PUMPS, PUMP_DEPS, "SS1", hours=hours)
    assert s == {"SS1": False, "P_BACKUP": with_backup, "P_NONE": without}


def test_pumps_work_when_the_substation_works_whatever_the_hour() -> None:
    assert all(state(PUMPS, PUMP_DEPS, hours=100.0).values())


FEEDERS = make_assets({"F1": "feeder", "F2": "feeder", "H": "hospital"})


@pytest.mark.parametrize(
    ("down", "hospital_up"),
    [((), True), (("F1",), True), (("F2",), True), (("F1", "F2"), False)],
)
def test_two_redundant_feeders_either_suffices(down: tuple[str, ...], hospital_up: bool) -> None:
    deps = make_deps([("H", "F1", "power", "grid", 0.0), ("H", "F2", "power", "grid", 0.0)])
    assert state(FEEDERS, deps, *down)["H"] is hospital_up


def test_two_feeders_in_different_groups_are_both_needed() -> None:
    deps = make_deps([("H", "F1", "power", "a", 0.0), ("H", "F2", "power", "b", 0.0)])
    assert state(FEEDERS, deps, "F2")["H"] is False


def test_both_redundant_feeders_down_names_one_of_them() -> None:
    deps = make_deps([("H", "F1", "power", "grid", 0.0), ("H", "F2", "power", "grid", 0.0)])
    res = run_cascade(FEEDERS, deps, damaged_of(FEEDERS, "F1", "F2"))
    assert res.cause[2] == "no power: F1 down (damaged)"
    assert res.cause_asset[2] == "F1"


def test_hospital_without_water_stops_although_it_has_power() -> None:
    assets = make_assets({"F1": "feeder", "P1": "pump_station", "H": "hospital"})
    deps = make_deps([("H", "F1", "power"), ("H", "P1", "water")])
    res = run_cascade(assets, deps, damaged_of(assets, "P1"))
    assert res.functional.tolist() == [True, False, False]
    assert res.cause.tolist() == ["", "damaged", "no water: P1 down (damaged)"]
    assert res.supplied("power").tolist() == [True, True, True]
    assert res.supplied("water").tolist() == [True, True, False]


CHAIN = make_assets(
    {
        "SS003": "substation",
        "FD0008": "feeder",
        "B1": "building",
        "P1": "pump_station",
        "B2": "building",
    }
)
CHAIN_DEPS = make_deps(
    [
        ("FD0008", "SS003", "power"),
        ("B1", "FD0008", "power"),
        ("P1", "SS003", "power"),
        ("B2", "P1", "water"),
    ]
)


def test_chain_substation_feeder_building_gives_the_cause_chain() -> None:
    res = run_cascade(CHAIN, CHAIN_DEPS, damaged_of(CHAIN, "SS003"))
    frame = res.frame().set_index("asset_id")
    assert not frame["functional"].any()
    assert frame.loc["SS003", "cause"] == "damaged"
    assert frame.loc["FD0008", "cause"] == "no power: SS003 down (damaged)"
    assert frame.loc["B1", "cause"] == "no power: FD0008 down ← SS003 down (damaged)"
    # the service changes along the chain, so it is named again
    assert frame.loc["B2", "cause"] == "no water: P1 down ← no power: SS003 down (damaged)"
    assert set(frame["cause_asset"]) == {"SS003"}


def test_nothing_damaged_means_everything_functions_with_no_cause() -> None:
    res = run_cascade(CHAIN, CHAIN_DEPS, np.zeros(5, dtype=bool))
    assert res.functional.all()
    assert set(res.cause) == {""} and set(res.cause_asset) == {""}


def test_no_road_access_stops_an_asset_and_is_its_cause() -> None:
    assets = make_assets({"F1": "feeder", "H": "hospital", "B": "building"})
    deps = make_deps([("H", "F1", "power"), ("B", "H", "access")])
    access = np.array([True, False, True])
    res = run_cascade(assets, deps, np.zeros(3, dtype=bool), access=access)
    assert res.functional.tolist() == [True, False, False]
    assert res.cause.tolist() == ["", "no road access", "no access: H down (no road access)"]
    assert res.cause_asset.tolist() == ["", "H", "H"]


def test_redundant_feeder_ring_resolves_and_dies_without_outside_supply() -> None:
    # F1 and F2 back each other up (a ring) and each has its own substation in the same group.
    assets = make_assets(
        {"S1": "substation", "S2": "substation", "F1": "feeder", "F2": "feeder", "B": "building"}
    )
    deps = make_deps(
        [
            ("F1", "S1", "power"),
            ("F1", "F2", "power"),
            ("F2", "S2", "power"),
            ("F2", "F1", "power"),
            ("B", "F1", "power"),
        ]
    )
    graph = DependencyGraph.build(assets, deps)  # the cycle resolves: accepted
    one = graph.cascade(damaged_of(assets, "S1"))
    assert one.functional.tolist() == [False, True, True, True, True]
    both = graph.cascade(damaged_of(assets, "S1", "S2"))
    # the least fixed point: a ring that only feeds itself has no power
    assert both.functional.tolist() == [False] * 5
    assert both.cause[2] == "no power: S1 down (damaged)"
    assert both.cause[4] == "no power: F1 down ← S1 down (damaged)"


def test_dependency_cycle_that_does_not_resolve_is_reported_with_its_assets() -> None:
    assets = make_assets(
        {"S1": "substation", "A": "pump_station", "B": "feeder", "C": "substation"}
    )
    deps = make_deps([("A", "B", "power"), ("B", "A", "water"), ("C", "C", "power")])
    with pytest.raises(ValidationError) as info:
        run_cascade(assets, deps, np.zeros(4, dtype=bool))
    rows = [set(p.rows) for p in info.value.problems]
    assert {"A", "B"} in rows and {"C"} in rows
    assert "cycle" in str(info.value)


def test_a_cycle_kept_alive_only_by_backup_is_reported() -> None:
    assets = make_assets({"A": "pump_station", "B": "feeder"})
    deps = make_deps([("A", "B", "power", "power", 12.0), ("B", "A", "water", "water", 0.0)])
    with pytest.raises(ValidationError, match="A, B"):
        DependencyGraph.build(assets, deps)


def test_bad_dependency_rows_are_all_reported() -> None:
    assets = make_assets({"S1": "substation", "F1": "feeder"})
    deps = make_deps([("F1", "S9", "power", "g", 0.0), ("X1", "S1", "steam", "g", -1.0)])
    with pytest.raises(ValidationError) as info:
        DependencyGraph.build(assets, deps)
    found = {(p.column, p.rows) for p in info.value.problems}
    assert ("supplier_id", ("S9",)) in found
    assert ("dependent_id", ("X1",)) in found
    assert ("service", ("1",)) in found
    assert ("backup_hours", ("1",)) in found


def test_missing_columns_and_duplicate_ids_are_reported() -> None:
    assets = make_assets({"S1": "substation"})
    with pytest.raises(ValidationError, match="backup_hours"):
        DependencyGraph.build(assets, make_deps([]).drop(columns="backup_hours"))
    twice = pd.concat([assets, assets], ignore_index=True)
    with pytest.raises(ValidationError, match="unique ids"):
        DependencyGraph.build(twice, make_deps([]))


@pytest.mark.parametrize(
    "damaged", [np.zeros(3, dtype=bool), np.zeros(5, dtype=int), [True, False, True, False]]
)
def test_damaged_must_be_one_bool_per_asset(damaged: object) -> None:
    with pytest.raises(ValidationError, match="bool array of one value per asset"):
        run_cascade(CHAIN, CHAIN_DEPS, damaged)  # type: ignore[arg-type]


@pytest.mark.parametrize("hours", [-1.0, float("nan")])
def test_hours_must_be_a_number_ge_0(hours: float) -> None:
    with pytest.raises(ValidationError, match="hours"):
        run_cascade(CHAIN, CHAIN_DEPS, np.zeros(5, dtype=bool), hours)


def test_graph_of_other_assets_is_refused() -> None:
    graph = DependencyGraph.build(PUMPS, PUMP_DEPS)
    with pytest.raises(ValidationError, match="DependencyGraph built from these assets"):
        run_cascade(CHAIN, graph, np.zeros(5, dtype=bool))


# --- the demo city -----------------------------------------------------------------------------


def test_demo_city_substation_loss_explains_every_failure(small_city: City) -> None:
    a = small_city.assets
    graph = DependencyGraph.build(a, small_city.dependencies)
    damaged = a["asset_id"].isin(["SS110-001"]).to_numpy()
    res = graph.cascade(damaged)
    down = ~res.functional
    assert down.sum() > 1
    assert all(res.cause[down]) and not any(res.cause[~down])
    assert set(res.cause_asset[down]) == {"SS110-001"}
    frame = res.frame()
    feeders = frame[frame["cause"].str.startswith("no power: SS110-001")]
    assert len(feeders) > 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), share=st.floats(0.0, 0.3))
def test_more_damage_or_later_hours_never_adds_function(seed: int, share: float) -> None:
    rng = np.random.default_rng(seed)
    assets = CHAIN_BIG
    damaged = rng.random(len(assets)) < share
    more = damaged | (rng.random(len(assets)) < share)
    base = GRAPH_BIG.cascade(damaged, hours=1.0).functional
    assert not (GRAPH_BIG.cascade(more, hours=1.0).functional & ~base).any()
    assert not (GRAPH_BIG.cascade(damaged, hours=30.0).functional & ~base).any()
    assert not (base & damaged).any()


def _random_layered_city(
    n_sub: int = 4, n_feed: int = 12, n_bld: int = 60
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    spec = {f"S{i}": "substation" for i in range(n_sub)}
    spec |= {f"F{i}": "feeder" for i in range(n_feed)}
    spec |= {f"P{i}": "pump_station" for i in range(3)}
    spec |= {f"B{i}": "building" for i in range(n_bld)}
    rows: list[tuple[str, str, str, str, float]] = []
    for i in range(n_feed):
        for s in rng.choice(n_sub, 2, replace=False):
            rows.append((f"F{i}", f"S{s}", "power", "power", 0.0))
    for i in range(3):
        rows.append((f"P{i}", f"S{i}", "power", "power", 12.0))
    for i in range(n_bld):
        rows.append((f"B{i}", f"F{rng.integers(n_feed)}", "power", "power", 0.0))
        rows.append((f"B{i}", f"P{rng.integers(3)}", "water", "water", 0.0))
    return make_assets(spec, {k: 10.0 for k in spec if k.startswith("B")}), make_deps(rows)


CHAIN_BIG, DEPS_BIG = _random_layered_city()
GRAPH_BIG = DependencyGraph.build(CHAIN_BIG, DEPS_BIG)


# --- service levels ----------------------------------------------------------------------------

LEVELS = make_assets(
    {
        "F1": "feeder",
        "F2": "feeder",
        "P1": "pump_station",
        "B1": "building",
        "B2": "building",
        "B3": "building",
        "H1": "hospital",
        "H2": "hospital",
        "SH1": "shelter",
        "T1": "telecom",
        "BR1": "bridge",
    },
    occupants={"B1": 100.0, "B2": 300.0, "B3": 600.0},
    capacity={"H1": 200.0, "H2": 600.0, "SH1": 50.0, "T1": 0.0},
    zone={"B3": "D2", "H2": "D2", "BR1": "D2"},
)
LEVEL_DEPS = make_deps(
    [
        ("B1", "F1", "power"),
        ("B2", "F1", "power"),
        ("B3", "F2", "power"),
        ("B1", "P1", "water"),
        ("B2", "P1", "water"),
        ("B3", "P1", "water"),
        ("H1", "F1", "power"),
        ("H2", "F2", "power"),
        ("SH1", "F2", "power"),
        ("T1", "F2", "power", "power", 3.0),
    ]
)


def test_service_levels_by_hand() -> None:
    # F2 damaged: B3 (600 people, D2), H2 (600 beds, D2), SH1 lose power; T1 on battery at 1 h.
    # B1 damaged itself (100 residents displaced); P1 works.
    res = run_cascade(LEVELS, LEVEL_DEPS, damaged_of(LEVELS, "F2", "B1"), hours=1.0)
    got = service_levels(LEVELS, res).set_index(["sector", "zone"])["level"]
    expected = {
        ("energy", "D1"): 1.0,  # B1 and B2 on F1 (B1's damage does not cut its power)
        ("energy", "D2"): 0.0,
        ("energy", "all"): 400 / 1000,
        ("water", "all"): 1.0,
        ("medical", "D1"): 1.0,
        ("medical", "D2"): 0.0,
        ("medical", "all"): 200 / 800,
        ("public_services", "all"): 0.0,
        ("communications", "all"): 1.0,  # capacity 0: counted one each; battery still on
        ("transport", "D2"): 1.0,
        ("transport", "all"): 1.0,
        ("housing", "D1"): 300 / 400,
        ("housing", "D2"): 1.0,
        ("housing", "all"): 900 / 1000,
    }
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key
    sectors = [0.4, 1.0, 0.25, 0.0, 1.0, 1.0, 0.9]
    assert got[("city", "all")] == pytest.approx(sum(sectors) / 7)
    assert ("medical", "D1") in got.index and ("transport", "D1") not in got.index


def test_service_levels_with_weights_roads_and_access_minutes() -> None:
    res = run_cascade(LEVELS, LEVEL_DEPS, damaged_of(LEVELS, "BR1"))
    edges = pd.DataFrame({"length_m": [300.0, 700.0, 1000.0], "asset_id": ["", "BR1", ""]})
    minutes = np.array([0, 0, 0, 10.0, 45.0, np.inf, 0, 0, 0, 0, 0])
    got = service_levels(
        LEVELS, res, edges=edges, access_minutes=minutes, weights={"transport": 1.0, "medical": 3.0}
    )
    lv = got.set_index(["sector", "zone"])["level"]
    assert lv[("transport", "all")] == pytest.approx(1300 / 2000)
    assert ("transport", "D2") not in lv.index  # edges carry no zone
    assert lv[("medical", "all")] == pytest.approx(100 / 1000)  # only B1 within 30 min
    assert lv[("city", "all")] == pytest.approx((1 * 0.65 + 3 * 0.1) / 4)
    closed = service_levels(LEVELS, res, edges=edges, edge_open=np.array([False, True, True]))
    assert closed.set_index(["sector", "zone"])["level"][("transport", "all")] == (
        pytest.approx(1700 / 2000)
    )


def test_service_level_inputs_are_checked() -> None:
    res = run_cascade(LEVELS, LEVEL_DEPS, np.zeros(len(LEVELS), dtype=bool))
    with pytest.raises(ValidationError, match="weights"):
        service_levels(LEVELS, res, weights={"tourism": 1.0})
    with pytest.raises(ValidationError, match="weights"):
        service_levels(LEVELS, res, weights={"energy": -1.0})
    with pytest.raises(ValidationError, match="access_minutes"):
        service_levels(LEVELS, res, access_minutes=np.zeros(3))
    with pytest.raises(ValidationError, match="occupants"):
        ServiceModel.build(LEVELS.drop(columns="occupants"))
    with pytest.raises(ValidationError, match="cascade of these"):
        ServiceModel.build(PUMPS).levels(res)
