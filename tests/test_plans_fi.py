"""Plans beyond China: texts in any language, the Finnish templates, a Finnish city's run."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from resilientcity.decision.plans import (
    PlanSet,
    Text,
    evaluate_plans,
    load_plans,
    packaged_plan_path,
    plans_from_dict,
    tasks_of,
)
from resilientcity.errors import DataFileError, ValidationError
from resilientcity.region import region_profile

FI_FILES = ("fi/earthquake.yaml", "fi/flood.yaml", "fi/windstorm.yaml")


@pytest.fixture(scope="module")
def fi_plans() -> PlanSet:
    return load_plans([packaged_plan_path(name) for name in region_profile("FI").plans])


def _en_only() -> dict[str, Any]:
    return {
        "basis": "test",
        "level_source": "test",
        "agencies": [{"id": "rescue", "name": {"en": "Rescue Service"}}],
        "plans": [
            {
                "id": "p",
                "family": "f",
                "name": {"en": "Flood plan"},
                "hazards": ["river_flood"],
                "level": "III",
                "trigger": {"any": [{"when": "impact.displaced > 10"}]},
                "tasks": [
                    {"id": "a", "agency": "rescue", "text": {"en": "Sandbags"}, "deadline_h": 2}
                ],
            }
        ],
    }


def _summary(kind: str, **blocks: dict[str, Any]) -> dict[str, Any]:
    impact = {"fatalities": 0.0, "displaced": 0.0, "hazards": [{"name": kind, "kind": kind}]}
    impact.update(blocks.pop("impact", {}))
    return {"impact": impact, **blocks}


# --- texts in any language ---------------------------------------------------------------


def test_a_text_needs_english_and_takes_any_language_code() -> None:
    text = Text.model_validate({"en": "Flood", "fi": "Tulva", "sv": "Översvämning"})
    assert (text.get("fi"), text.get("sv"), text.get("zh"), text.get("en")) == (
        "Tulva",
        "Översvämning",
        "Flood",  # no Chinese: the English
        "Flood",
    )
    assert text.languages == ("en", "fi", "sv")
    for bad in ({"fi": "Tulva"}, {"en": ""}, {"en": "x", "Finnish": "y"}, {"en": "x", "fi": ""}):
        with pytest.raises(ValueError):
            Text.model_validate(bad)


def test_an_english_only_plan_file_loads_and_fires_with_english_names(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(_en_only()), encoding="utf-8")
    plans = load_plans([path])
    fired = evaluate_plans(plans, _summary("river_flood", impact={"displaced": 11.0}))
    assert list(fired.index) == ["p"]
    assert fired.loc["p", "name_zh"] == fired.loc["p", "name_en"] == "Flood plan"
    tasks = tasks_of(fired, plans)
    assert tasks.loc[0, ["agency_zh", "text_zh", "text_en"]].tolist() == [
        "Rescue Service",
        "Sandbags",
        "Sandbags",
    ]


def test_a_bad_language_key_is_named_with_its_field() -> None:
    data = _en_only()
    data["plans"][0]["tasks"][0]["text"]["Suomi"] = "Hiekkasäkit"
    with pytest.raises(ValidationError) as exc:
        plans_from_dict(data, source="mine.yaml")
    assert [p.column for p in exc.value.problems] == ["plans[0].tasks[0].text"]
    assert "language codes" in str(exc.value)


# --- the packaged Finnish templates -------------------------------------------------------


def test_the_fi_profile_packages_the_finnish_templates_and_no_chinese_plan() -> None:
    assert region_profile("FI").plans == FI_FILES
    assert region_profile("CN-changsha").plans == ("earthquake.yaml", "flood.yaml")
    assert packaged_plan_path("fi/flood.yaml").parent.name == "fi"
    for name in ("fi/missing.yaml", "../regions/FI.json", "/etc/passwd", "fi//flood.yaml"):
        with pytest.raises(DataFileError, match=r"packaged: earthquake\.yaml.*fi/flood\.yaml"):
            packaged_plan_path(name)


def test_finnish_templates_escalate_four_levels_per_hazard_family(fi_plans: PlanSet) -> None:
    families: dict[str, set[str]] = {}
    hazards: set[str] = set()
    for plan in fi_plans.plans:
        families.setdefault(plan.family, set()).add(plan.level)
        hazards.update(plan.hazards)
    assert families == {
        f: {"I", "II", "III", "IV"}
        for f in (
            "fi_earthquake_response",
            "fi_pluvial_flood_response",
            "fi_river_flood_response",
            "fi_windstorm_response",
        )
    }
    assert hazards == {"earthquake", "pluvial_flood", "river_flood", "wind"}


def test_finnish_templates_speak_finnish_and_name_the_profiles_agencies(
    fi_plans: PlanSet,
) -> None:
    profile = region_profile("FI").agencies
    assert {a: fi_plans.agencies[a].name.en for a in fi_plans.agencies} == {
        a: profile[a] for a in fi_plans.agencies
    }
    texts = [p.name for p in fi_plans.plans] + [t.text for p in fi_plans.plans for t in p.tasks]
    assert all(t.languages == ("en", "fi") for t in texts)  # English and Finnish, no Chinese
    assert not any(re.search(r"[\u4e00-\u9fff]", t.get("fi") + t.en) for t in texts)


@pytest.mark.parametrize("name", FI_FILES)
def test_finnish_templates_say_what_they_follow_and_what_is_assumed(name: str) -> None:
    raw = packaged_plan_path(name).read_text(encoding="utf-8")
    spec = plans_from_dict(yaml.safe_load(raw), source=name)
    assert "Rescue Act) 379/2011" in spec.basis
    assert "neutral response ranks" in spec.level_source and "ASSUMPTION" in spec.level_source
    assert "ILLUSTRATIVE" in raw and "ILLUSTRATIVE" in spec.note


@pytest.mark.parametrize(
    ("kind", "summary", "warning", "expected"),
    [
        ("earthquake", {}, None, "fi_earthquake_iv"),  # any earthquake that strikes
        ("earthquake", {"impact": {"fatalities": 1.0}}, None, "fi_earthquake_iii"),
        ("earthquake", {"network": {"hospitals_down": ["h1"]}}, None, "fi_earthquake_ii"),
        ("earthquake", {"impact": {"fatalities": 50.0}}, None, "fi_earthquake_i"),
        ("pluvial_flood", {}, "yellow", "fi_pluvial_iv"),
        ("pluvial_flood", {}, "orange", "fi_pluvial_iii"),
        ("pluvial_flood", {"decision": {"unsheltered": 3.0}}, "yellow", "fi_pluvial_ii"),
        ("river_flood", {"impact": {"displaced": 10001.0}}, None, "fi_river_i"),
        ("river_flood", {"network": {"roads_closed": 1}}, None, "fi_river_iv"),
        ("wind", {"resilience": {"robustness": 0.85}}, None, "fi_wind_iii"),
        ("wind", {"resilience": {"robustness": 0.7}}, "yellow", "fi_wind_ii"),
        ("wind", {}, "red", "fi_wind_ii"),
        ("wind", {"resilience": {"robustness": 0.4}}, None, "fi_wind_i"),
    ],
)
def test_finnish_levels_fire_at_their_assumed_thresholds(
    fi_plans: PlanSet, kind: str, summary: dict[str, Any], warning: str | None, expected: str
) -> None:
    fired = evaluate_plans(fi_plans, _summary(kind, **copy.deepcopy(summary)), warning)  # type: ignore[arg-type]
    assert list(fired.index) == [expected]


def test_below_every_threshold_nothing_fires_but_the_earthquake_iv(fi_plans: PlanSet) -> None:
    for kind in ("pluvial_flood", "river_flood", "wind"):
        assert evaluate_plans(fi_plans, _summary(kind)).empty
    blue = evaluate_plans(fi_plans, _summary("river_flood"), "blue")  # no Finnish counterpart
    assert blue.empty


# --- a Finnish city's run ------------------------------------------------------------------


def test_a_finnish_city_fires_the_finnish_plan_with_finnish_agencies(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    pyrosm = pytest.importorskip("pyrosm")
    from resilientcity.scenario.config import scenario_from_dict
    from resilientcity.scenario.run import run_scenario
    from resilientcity.twin.osm import import_osm

    path = tmp_path_factory.mktemp("kouvola") / "kouvola.gpkg"
    city = import_osm(str(pyrosm.get_data("test_pbf")), region="FI")
    city.write(path)
    quake = {
        "kind": "earthquake",
        "magnitude": 6.0,
        "epicentre_xy": [497250.0, 6710400.0],  # Kouvola's centre, UTM 35N
        "vs30": 400,  # a number: the import has no DEM
    }
    data = {"name": "Kouvola M6", "city": {"path": str(path)}, "hazards": [quake]}
    run = run_scenario(scenario_from_dict(data), city=city)
    assert run.plans is not None
    fired, tasks = run.plans
    impact = run.summary["impact"]
    # the level follows the modelled toll: fatalities in [10, 50) and displaced below 10,000
    assert 10 <= impact["fatalities"] < 50 and impact["displaced"] < 10_000
    assert list(fired.index) == ["fi_earthquake_ii"]
    assert run.summary["decision"]["plans_fired"] == ["fi_earthquake_ii"]
    assert run.summary["decision"]["tasks"] == len(tasks) == 7
    names = set(tasks["agency_zh"])  # no Chinese names: the English, which carry the Finnish
    assert "Pelastuslaitos (Rescue Department)" in names
    assert "Hyvinvointialue (Wellbeing Services County)" in names
    assert names <= set(region_profile("FI").agencies.values())


def test_a_finnish_operations_store_is_seeded_with_the_finnish_plans(tmp_path: Path) -> None:
    from sqlalchemy import select

    from resilientcity.operations.models import Agency, Plan
    from resilientcity.operations.response import plan_set
    from resilientcity.operations.seed import region_agencies, seed_store
    from resilientcity.operations.service import Service, ServiceSettings
    from resilientcity.warning import example_rules

    profile = region_profile("FI")
    plans = load_plans([packaged_plan_path(n) for n in profile.plans])
    service = Service(ServiceSettings(db_url=f"sqlite:///{tmp_path / 'ops.db'}"))
    service.db.upgrade()
    try:
        with service.db.write() as session:
            counts = seed_store(
                session,
                _no_sensors(),  # an imported city has no sensors
                example_rules(),
                plans,
                region_agencies(profile),
            )
            assert counts.plans == 16
        with service.db.write() as session:
            stored = {p.id: (p.name_zh, p.name_en) for p in session.scalars(select(Plan))}
            assert stored["fi_wind_iv"] == ("Windstorm response level IV",) * 2  # zh: the en
            names = {a.id: a.name_en for a in session.scalars(select(Agency))}
            assert names["fire_rescue"] == "Pelastuslaitos (Rescue Department)"
            back = plan_set(session)  # the stored specs read back, Finnish texts kept
            assert back.plan("fi_wind_iv").name.get("fi") == "Myrsky, valmiustaso IV"
    finally:
        service.db.dispose()


def _no_sensors() -> Any:
    import geopandas as gpd

    return gpd.GeoDataFrame(
        {"sensor_id": [], "kind": [], "name": [], "asset_id": []}, geometry=[], crs=3067
    )
