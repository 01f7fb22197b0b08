"""The WNTR adapter on EPANET's Net3 (shipped with WNTR), checked against WNTR's own results."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from resilientcity.errors import DataFileError, MissingDependency, ValidationError
from resilientcity.network.water_network import (
    PDDSettings,
    WaterNetworkModel,
    pdd_defaults,
    water_outage,
)

wntr = pytest.importorskip("wntr")

# Net3's single-point pump curves make WNTR's curve fit warn (third party, harmless).
pytestmark = pytest.mark.filterwarnings("ignore:Covariance of the parameters:UserWarning")

NET3 = Path(wntr.__file__).parent / "library" / "networks" / "Net3.inp"
PEOPLE = 100.0  # per junction asset


@pytest.fixture(scope="module")
def net3() -> Any:
    return wntr.network.WaterNetworkModel(str(NET3))


def _twin(wn: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One building per junction (zone by junction name parity), one asset per pipe and pump."""
    rows = [(f"B{j}", "junction", j) for j in wn.junction_name_list]
    rows += [(f"P{p}", "pipe", p) for p in wn.pipe_name_list]
    rows += [(f"PS{p}", "pump", p) for p in wn.pump_name_list]
    mapping = pd.DataFrame(rows, columns=["asset_id", "element", "name"])
    is_junction = (mapping["element"] == "junction").to_numpy()
    zone = np.array([f"Z{int(n) % 2}" for n in mapping["name"].where(is_junction, "0")])
    assets = pd.DataFrame(
        {
            "asset_id": mapping["asset_id"],
            "occupants": np.where(is_junction, PEOPLE, 0.0),
            "zone_id": np.where(is_junction, zone, ""),
        }
    )
    return mapping, assets


@pytest.fixture(scope="module")
def model(net3: Any) -> WaterNetworkModel:
    mapping, assets = _twin(net3)
    return WaterNetworkModel(net3, mapping, assets)


def _wntr_satisfaction(wn: Any, hours: int, closed: list[str]) -> tuple[pd.Series, Any]:
    """WNTR's own water service availability with the links closed, computed here directly."""
    wn = copy.deepcopy(wn)
    settings = pdd_defaults()
    wn.options.hydraulic.demand_model = "PDD"
    wn.options.hydraulic.minimum_pressure = settings.minimum_pressure_m
    wn.options.hydraulic.required_pressure = settings.required_pressure_m
    wn.options.time.duration = hours * 3600
    for name, control in list(wn.controls()):
        if any(a.target()[0].name in closed for a in control.actions()):
            wn.remove_control(name)
    for link in closed:
        wn.get_link(link).initial_status = wntr.network.LinkStatus.Closed
    results = wntr.sim.WNTRSimulator(wn).run_sim()
    junctions = wn.junction_name_list
    steps = slice(0, hours)  # report steps t = 0 … duration − 1 h
    expected = wntr.metrics.expected_demand(wn)[junctions].iloc[steps].sum()
    delivered = results.node["demand"][junctions].iloc[steps].sum()
    return wntr.metrics.water_service_availability(expected, delivered).clip(0, 1), results


def test_defaults_are_wntr_tutorial_pressures() -> None:
    settings = pdd_defaults()
    # 1 psi = 0.70307 m of water: 5 psi = 3.515 m, 20 psi = 14.061 m
    assert settings.minimum_pressure_m == pytest.approx(5 * 0.70307, abs=0.01)
    assert settings.required_pressure_m == pytest.approx(20 * 0.70307, abs=0.01)
    assert settings.problems() == []


def test_baseline_is_fully_served(model: WaterNetworkModel, net3: Any) -> None:
    out = water_outage(model, duration_h=4)
    demand = out.junctions.dropna(subset=["satisfaction"])
    assert (demand["satisfaction"] > 0.999).all()
    assert out.people_affected == 0.0
    assert out.assets["served"].all()
    # expected volume of junction 15 by hand: base demand × pattern multiplier × 3600 s, 4 steps
    j = net3.get_node("15")
    ts = j.demand_timeseries_list[0]
    mult = net3.get_pattern(ts.pattern_name).multipliers if ts.pattern_name else [1.0]
    by_hand = sum(ts.base_value * mult[k % len(mult)] * 3600 for k in range(4))
    by_hand *= net3.options.hydraulic.demand_multiplier
    assert out.junctions.at["15", "expected_m3"] == pytest.approx(by_hand, rel=1e-9)
    # the user's model is untouched: Net3's 7-day duration and its 18 controls
    assert net3.options.time.duration == 7 * 24 * 3600
    assert len(net3.control_name_list) == 18


@pytest.mark.parametrize(
    ("hours", "pipes", "pumps"),
    [(12, [], ["10", "335"]), (6, ["123"], [])],
    ids=["both-pumps-off", "pipe-123-broken"],
)
def test_satisfaction_matches_wntr(
    model: WaterNetworkModel, net3: Any, hours: int, pipes: list[str], pumps: list[str]
) -> None:
    out = water_outage(model, [f"P{p}" for p in pipes], [f"PS{p}" for p in pumps], duration_h=hours)
    direct, results = _wntr_satisfaction(net3, hours, pipes + pumps)
    assert (results.link["flowrate"][pipes + pumps].abs() < 1e-9).all().all()
    ours = out.junctions["satisfaction"]
    pd.testing.assert_series_equal(ours, direct.reindex(ours.index), check_names=False, atol=1e-9)
    assert ours.min() < 0.95, "the scenario must leave some junctions short"
    # zones: Σ delivered / Σ expected over their junctions
    for zone, frame in out.junctions.groupby("zone_id"):
        ratio = frame["delivered_m3"].sum() / frame["expected_m3"].sum()
        assert out.zones.at[zone, "satisfaction"] == pytest.approx(min(ratio, 1.0))
    # people: 100 per junction served below 95 %
    short = int((ours < 0.95).sum())
    assert out.people_affected == pytest.approx(PEOPLE * short)
    assert out.closed_pipes == tuple(pipes) and out.closed_pumps == tuple(pumps)


def test_junction_zones_table_takes_precedence(net3: Any) -> None:
    mapping, assets = _twin(net3)
    model = WaterNetworkModel(net3, mapping, assets, junction_zones={"15": "North"})
    zones = model.junction_zone()
    assert zones["15"] == "North" and zones["20"] == "Z0"


def test_bad_mapping_lists_every_problem(net3: Any) -> None:
    mapping, assets = _twin(net3)
    bad = pd.DataFrame(
        {
            "asset_id": ["B15", "X", "P20", "P20"],
            "element": ["hydrant", "pipe", "pipe", "pipe"],
            "name": ["15", "20", "no-such-pipe", "no-such-pipe"],
        }
    )
    with pytest.raises(ValidationError) as info:
        WaterNetworkModel(
            net3, pd.concat([mapping, bad], ignore_index=True), assets, {"J-404": "Z"}
        )
    problems = {(p.layer, p.column, p.rows) for p in info.value.problems}
    assert ("water_mapping", "element", ("B15 → hydrant 15",)) in problems
    assert ("water_mapping", "asset_id", ("X → pipe 20",)) in problems
    assert ("water_mapping", "name", ("P20 → pipe no-such-pipe",) * 2) in problems
    assert ("junction_zones", "junction", ("J-404",)) in problems
    assert "each asset–element pair once" in str(info.value)


def test_mapping_without_junctions(net3: Any) -> None:
    mapping, assets = _twin(net3)
    with pytest.raises(ValidationError, match="at least one asset mapped to a junction"):
        WaterNetworkModel(net3, mapping[mapping["element"] != "junction"], assets)


def test_outage_ids_must_map_to_pipes_and_pumps(model: WaterNetworkModel) -> None:
    with pytest.raises(ValidationError) as info:
        water_outage(model, ["PS10", "nope"], ["P20"], duration_h=1)
    found = {(p.layer, p.rows) for p in info.value.problems}
    assert found == {
        ("broken_pipes", ("nope",)),
        ("broken_pipes", ("PS10",)),
        ("pumps_without_power", ("P20",)),
    }


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"duration_h": 0.0}, "duration_h"),
        ({"duration_h": 1.5, "timestep_s": 3600}, "duration_h"),
        ({"settings": PDDSettings(10.0, 5.0, 0.5, 0.95)}, "required_pressure_m"),
        ({"settings": PDDSettings(3.52, 14.06, 0.5, 1.5)}, "served_fraction"),
    ],
)
def test_bad_settings(model: WaterNetworkModel, kwargs: dict[str, Any], column: str) -> None:
    with pytest.raises(ValidationError) as info:
        water_outage(model, **kwargs)
    assert [p.column for p in info.value.problems] == [column]


def test_from_inp_reads_and_refuses_bad_files(tmp_path: Path, net3: Any) -> None:
    mapping, assets = _twin(net3)
    model = WaterNetworkModel.from_inp(NET3, mapping, assets)
    assert model.wn.describe()["Nodes"] == net3.describe()["Nodes"]
    with pytest.raises(DataFileError, match="no such EPANET model file"):
        WaterNetworkModel.from_inp(tmp_path / "missing.inp", mapping, assets)
    garbage = tmp_path / "bad.inp"
    garbage.write_text("[JUNCTIONS]\n 1 not-a-number\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="not a readable EPANET model"):
        WaterNetworkModel.from_inp(garbage, mapping, assets)


def test_missing_wntr(monkeypatch: pytest.MonkeyPatch, model: WaterNetworkModel) -> None:
    monkeypatch.setitem(sys.modules, "wntr", None)
    with pytest.raises(MissingDependency, match=r"resilientcity\[water\]"):
        water_outage(model, duration_h=1)
