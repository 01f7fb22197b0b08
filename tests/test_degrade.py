"""Degrade, never crash: a city that lacks what a stage needs skips it, with the reason.

On the tiny hand-made city with layers taken away, on the real OpenStreetMap extract that ships
inside pyrosm (Kouvola: buildings, two shelters and bridges; no DEM, river, hospital, fire
station, warehouse or lifeline) and on the demo city (a baseline run without any hazard).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from factories import tiny_layers
from resilientcity._schema import check_json
from resilientcity.errors import DataFileError
from resilientcity.network.service import ServiceModel, sectors_without_assets
from resilientcity.report.skipped import skipped_section
from resilientcity.scenario.capabilities import STAGES, city_capabilities, hazard_stage
from resilientcity.scenario.config import scenario_from_dict
from resilientcity.scenario.run import run_scenario, write_outputs
from resilientcity.summary import SummaryFile
from resilientcity.twin import City

pyrosm = pytest.importorskip("pyrosm")

#: An epicentre in Kouvola (UTM 35N, metres) and a site class given as a number (no DEM there).
QUAKE = {
    "kind": "earthquake",
    "magnitude": 6.0,
    "epicentre_xy": [497250.0, 6710400.0],
    "vs30": 400,
}


@pytest.fixture(scope="module")
def kouvola(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from resilientcity.twin.osm import import_osm

    path = tmp_path_factory.mktemp("kouvola") / "kouvola.gpkg"
    import_osm(str(pyrosm.get_data("test_pbf")), region="FI").write(path)
    return path


def _tiny(drop: tuple[str, ...] = (), **layers: Any) -> City:
    base = tiny_layers()
    assets = base["assets"]
    base["assets"] = assets[~assets["kind"].isin(drop)].reset_index(drop=True)
    return City(**{**base, **layers}, validate=False)  # type: ignore[arg-type]


def test_the_demo_city_runs_every_stage_in_full(small_city: City) -> None:
    can = city_capabilities(small_city)
    assert list(can) == list(STAGES)
    assert all(c.runs and c.lacking is None for c in can.values()), can


def test_each_missing_layer_skips_its_stages_with_the_reason() -> None:
    full = city_capabilities(_tiny())
    assert full["river_flood"].runs and full["pluvial_flood"].runs and full["network"].runs
    # the tiny city has a hospital but no shelter, fire station or warehouse
    assert full["evacuation"].missing == "no shelter"
    assert full["relief"].missing == "needs the evacuation (no shelter)"
    assert full["dispatch"].runs and full["dispatch"].lacking == (
        "no fire station: only the hospital teams"
    )
    no_dem = city_capabilities(_tiny(dem=None))
    for stage in ("river_flood", "pluvial_flood", "vs30_from_slope"):
        assert no_dem[stage].missing is not None and "no DEM" in no_dem[stage].missing
    no_river = city_capabilities(_tiny(rivers=tiny_layers()["rivers"].iloc[:0]))
    assert no_river["river_flood"].missing == "no river centreline in the city"
    assert no_river["pluvial_flood"].runs
    no_hospital = city_capabilities(_tiny(drop=("hospital",)))
    assert no_hospital["network"].runs and "hospital" in str(no_hospital["network"].lacking)
    assert no_hospital["dispatch"].missing == "no fire station or hospital (the teams' bases)"
    roads = tiny_layers()["roads"]
    no_roads = city_capabilities(_tiny(roads=type(roads)(roads.nodes, roads.edges.iloc[:0])))
    assert no_roads["network"].missing == "no road edges in the city"
    for stage in ("evacuation", "dispatch", "repair_policies"):
        assert no_roads[stage].missing == "needs the network stage (no road edges in the city)"
    zones = tiny_layers()["zones"]
    no_people = city_capabilities(_tiny(zones=zones.assign(population=0.0)))
    assert "fewer than two districts" in str(no_people["assessment"].missing)


def test_hazard_stages() -> None:
    assert hazard_stage("river_flood") == "river_flood"
    assert hazard_stage("pluvial_flood") == "pluvial_flood"
    assert hazard_stage("earthquake", "slope") == "vs30_from_slope"
    assert hazard_stage("earthquake", 400) is None
    assert hazard_stage("wind") is None and hazard_stage("raster") is None


def test_sectors_without_assets_are_left_out_of_the_city_level() -> None:
    city = _tiny(drop=("substation",))
    absent = sectors_without_assets(city.assets, city.roads.edges)
    assert absent["energy"] == "no energy assets (substation, feeder, power plant)"
    assert absent["water"] == "no water assets (water plant, pump station)"
    assert "housing" not in absent and "medical" not in absent
    model = ServiceModel.build(city.assets, city.roads.edges)
    assert {s.name for s in model.sectors}.isdisjoint(absent)
    with_energy = ServiceModel.build(_tiny().assets, city.roads.edges)
    assert "energy" in {s.name for s in with_energy.sectors}


def test_skipped_section_lists_the_reasons() -> None:
    assert skipped_section({}, {}) is None
    section = skipped_section({"hazards[0]": "river flood: no DEM"}, {"network": "no hospital"})
    assert section is not None
    assert "hazards[0]" in section.html and "river flood: no DEM" in section.html
    assert "Ran in part" in section.html and "no hospital" in section.html


def _scenario(city: Path, hazards: list[dict[str, Any]], **more: Any) -> Any:
    data = {"name": "Kouvola", "city": {"path": str(city)}, "hazards": hazards, **more}
    return scenario_from_dict(data)


def _written(run: Any, out: Path) -> dict[str, Any]:
    written = write_outputs(run, out, job={"kind": "test"})
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert check_json(SummaryFile, summary) == []
    assert {p.name for p in written.outputs.values()} <= {p.name for p in out.iterdir()}
    return summary


def test_kouvola_skips_what_it_cannot_run_and_runs_the_rest(kouvola: Path, tmp_path: Path) -> None:
    hazards = [
        {"kind": "river_flood", "return_period_years": 100},
        QUAKE,
        {"kind": "pluvial_flood", "return_period_years": 50},
    ]
    scenario = _scenario(
        kouvola, hazards, event_sets=[{"kind": "river_flood"}], recovery={"days": 30}
    )
    run = run_scenario(scenario)
    summary = _written(run, tmp_path / "out")
    skipped = summary["skipped"]
    assert skipped["hazards[0]"].startswith("river flood: no DEM")
    assert skipped["hazards[2]"].startswith("pluvial flood: no DEM")
    assert skipped["event_sets[0]"].startswith("river flood event set: no DEM")
    assert skipped["dispatch"] == "no fire station or hospital (the teams' bases)"
    assert skipped["relief"] == "no warehouse (the relief stock)"
    assert "hazards[1]" not in skipped and len(summary["impact"]["hazards"]) == 1
    assert summary["impact"]["total_loss"] > 0
    assert summary["limited"]["network"].startswith("no hospital or fire station")
    # no hospital: isolated is cut off from the main part of the open roads (a number)
    assert summary["network"]["isolated_people"] is not None
    # no energy or water assets: no level for them, not 100 %
    resilience = summary["resilience"]
    assert {"energy", "water"} <= set(resilience["sectors_without_assets"])
    assert "energy" not in resilience["sectors"] and "water" not in resilience["sectors"]
    decision = summary["decision"]
    assert decision["incidents"] is None and decision["relief_fill_rate"] is None
    assert decision["evacuated"] is not None  # two shelters: the evacuation runs
    page = (tmp_path / "out" / "report.html").read_text("utf-8")
    assert "Skipped stages" in page and "no warehouse (the relief stock)" in page
    assert "cut off from the main part of the open roads (the city has no hospital)" in page
    assert "not measured: no energy assets" in page


def test_recovery_switched_off_on_kouvola_and_the_demo(
    kouvola: Path, small_city: City, tmp_path: Path
) -> None:
    run = run_scenario(_scenario(kouvola, [QUAKE], recovery={"enabled": False}))
    summary = _written(run, tmp_path / "kouvola")
    assert "resilience" not in summary and "network" not in summary
    assert summary["decision"]["evacuated"] is None and summary["skipped"] == {}
    data = {
        "name": "demo, no recovery",
        "city": {"demo": "small"},
        "hazards": [{"kind": "river_flood", "stage_m": 38.5}],
        "recovery": {"enabled": False},
    }
    demo = run_scenario(scenario_from_dict(data), city=small_city)
    assert _written(demo, tmp_path / "demo")["decision"]["plans_fired"] is not None


def test_every_hazard_skipped_still_writes_a_coherent_set(kouvola: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    hazards = [{"kind": "river_flood", "stage_m": 80.0}, {**QUAKE, "vs30": "slope"}]
    run = run_scenario(_scenario(kouvola, hazards, recovery={"days": 10}))
    summary = _written(run, out)
    assert set(summary["skipped"]) >= {"hazards[0]", "hazards[1]"}
    assert summary["impact"]["hazards"] == [] and summary["impact"]["total_loss"] == 0
    assert summary["network"]["assets_damaged"] == 0
    assert (out / "impact_assets.parquet").is_file() and (out / "service_curves.csv").is_file()
    # a run that fails part-way (here: a city file that is not there) leaves this set alone
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(DataFileError):
        run_scenario(_scenario(tmp_path / "nowhere.gpkg", []))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_baseline_run_of_the_demo_city_has_no_damage(small_city: City) -> None:
    data = {"name": "baseline", "city": {"demo": "small"}, "hazards": [], "recovery": {"days": 10}}
    run = run_scenario(scenario_from_dict(data), city=small_city)
    summary = run.summary
    impact = summary["impact"]
    assert impact["hazards"] == [] and impact["total_loss"] == 0 and impact["displaced"] == 0
    assert summary["skipped"] == {} and summary["limited"] == {}
    assert summary["resilience"]["robustness"] == 1.0
    assert summary["resilience"]["loss"] == 0.0
    assert all(m["robustness"] == 1.0 for m in summary["resilience"]["sectors"].values())
    network = summary["network"]
    assert network["assets_damaged"] == 0 and network["assets_down"] == 0
    assert network["isolated_people"] == 0.0 and network["roads_closed"] == 0
    decision = summary["decision"]
    assert decision["incidents"] == 0 and decision["evacuated"] == 0
    assert decision["unsheltered"] == 0 and decision["plans_fired"] == []
    assert run.network is not None and not np.any(run.network.damaged)


@pytest.mark.parametrize(
    ("keys", "said"),
    [
        ({}, "skipped"),
        ({"incidents": 0, "incidents_unserved": 0}, "not needed"),
        ({"incidents": 310, "incidents_unserved": 310}, "none served, 310 of 310 unserved"),
        (
            {"incidents": 5, "incidents_unserved": 1, "mean_response_min": 7.25},
            "7.2 min mean response, 1 of 5 unserved",
        ),
    ],
)
def test_the_cli_says_whether_rescue_was_skipped_needed_or_served(
    keys: dict[str, Any], said: str
) -> None:
    from resilientcity.cli.run import _rescue
    from resilientcity.decision.summary import DecisionSummary

    assert _rescue(DecisionSummary(**keys)) == said
