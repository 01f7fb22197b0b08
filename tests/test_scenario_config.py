"""Scenario files: every example parses, and bad files are refused with the field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from resilientcity.errors import DataFileError, ValidationError
from resilientcity.hazard.flood import StageFrequency
from resilientcity.scenario.config import load_scenario, scenario_from_dict

EXAMPLES = sorted((Path(__file__).parents[1] / "docs" / "scenarios").glob("*.yaml"))


def _minimal(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "test",
        "city": {"demo": "small"},
        "hazards": [{"kind": "river_flood", "stage_m": 39.51}],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_documented_example_is_a_valid_scenario(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name
    assert scenario.hazards
    assert scenario.base_dir == path.parent


def test_hazards_may_be_empty_for_a_baseline_run_but_not_left_out() -> None:
    assert scenario_from_dict(_minimal(hazards=[])).hazards == []
    data = _minimal()
    del data["hazards"]
    with pytest.raises(ValidationError, match="hazards: expected Field required"):
        scenario_from_dict(data)


def test_there_is_an_example_per_hazard() -> None:
    kinds = {h.kind for p in EXAMPLES for h in load_scenario(p).hazards}
    assert kinds == {"river_flood", "pluvial_flood", "earthquake", "wind", "raster"}


def test_paths_resolve_against_the_scenario_folder(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(
        "name: x\ncity: {path: city.gpkg}\nhazards: [{kind: wind, track: t.csv}]\n", "utf-8"
    )
    scenario = load_scenario(f)
    assert scenario.resolve(scenario.city.path) == tmp_path / "city.gpkg"
    assert scenario.resolve(Path("/abs/t.csv")) == Path("/abs/t.csv")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"hazards": {"kind": "wind"}}, "hazards", "a valid list"),
        ({"hazards": [{"kind": "tsunami"}]}, "hazards[0]", "river_flood"),
        ({"hazards": [{"kind": "river_flood"}]}, "hazards[0].river_flood", "exactly one of"),
        (
            {"hazards": [{"kind": "river_flood", "stage_m": 39, "return_period_years": 100}]},
            "hazards[0].river_flood",
            "exactly one of",
        ),
        (
            {"hazards": [{"kind": "pluvial_flood", "return_period_years": -5}]},
            "hazards[0].pluvial_flood.return_period_years",
            "greater than 0",
        ),
        (
            {"hazards": [{"kind": "earthquake", "magnitude": 6.5}]},
            "hazards[0].earthquake",
            "epicentre",
        ),
        ({"city": {"demo": "small", "path": "c.gpkg"}}, "city", "exactly one of"),
        ({"city": {"demo": "huge"}}, "city.demo", "small"),
        ({"colour": "red"}, "colour", "Extra inputs"),
        ({"name": ""}, "name", "at least 1 character"),
    ],
)
def test_bad_scenarios_name_the_field(changes: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        scenario_from_dict(_minimal(**changes), source="s.yaml")
    text = str(info.value)
    assert f"s.yaml.{field}" in text
    assert words in text


def test_every_problem_is_reported_at_once() -> None:
    data = _minimal(name="", city={"demo": "huge"})
    with pytest.raises(ValidationError) as info:
        scenario_from_dict(data, source="s.yaml")
    assert len(info.value.problems) == 2


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", "utf-8")
    with pytest.raises(DataFileError, match="not a readable YAML"):
        load_scenario(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n", "utf-8")
    with pytest.raises(ValidationError, match="a mapping"):
        load_scenario(listy)


def test_stage_of_a_return_period_is_log_linear_between_rows() -> None:
    table = StageFrequency.default()
    assert table.stage_for(100) == pytest.approx(39.51)
    assert table.stage_for(20) == pytest.approx(38.37)
    # Between T=20 (38.37 m) and T=50 (39.18 m): linear in log T.
    import math

    w = (math.log(30) - math.log(20)) / (math.log(50) - math.log(20))
    assert table.stage_for(30) == pytest.approx(38.37 + w * (39.18 - 38.37), rel=1e-12)
    with pytest.raises(ValidationError, match="within the table"):
        table.stage_for(500)
    with pytest.raises(ValidationError, match="within the table"):
        table.stage_for(float("nan"))


def test_decision_options_default_to_todays_values() -> None:
    scenario = scenario_from_dict(_minimal())
    assert scenario.decisions.max_dispatch_incidents == 1_000
    assert scenario.decisions.relief_days == 7
    assert scenario.decisions_run  # with the network stage
    off = scenario_from_dict(_minimal(recovery={"enabled": False}))
    assert not off.decisions_run  # no damaged roads to decide on
    assert not scenario_from_dict(_minimal(decisions={"enabled": False})).decisions_run


def test_decisions_without_the_network_stage_are_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        scenario_from_dict(_minimal(recovery={"enabled": False}, decisions={"enabled": True}))
    assert "recovery.enabled" in str(exc.value)


@pytest.mark.parametrize(
    ("decisions", "field"),
    [
        ({"max_dispatch_incidents": 0}, "decisions.max_dispatch_incidents"),
        ({"relief_days": 0}, "decisions.relief_days"),
        ({"relief_day": 3}, "decisions.relief_day"),
    ],
)
def test_bad_decision_options_are_named(decisions: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        scenario_from_dict(_minimal(decisions=decisions))
    assert [p.column for p in exc.value.problems] == [field]


@pytest.mark.parametrize(
    ("assessment", "message"),
    [
        ({"table": "t.csv", "weights": "ahp"}, "ahp_matrix"),
        ({"table": "t.csv", "weights": "entropy", "ahp_matrix": "m.csv"}, "only with weights"),
        ({"table": "t.csv", "method": "electre"}, "assessment.method"),
        ({"tabel": "t.csv"}, "assessment.tabel"),
    ],
)
def test_bad_assessment_blocks_are_named(assessment: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        scenario_from_dict(_minimal(assessment=assessment))
    assert message in str(exc.value)


def test_an_assessment_block_without_a_table_scores_the_twin_alone() -> None:
    options = scenario_from_dict(_minimal(assessment={})).assessment
    assert options is not None and options.table is None and options.maturity_answers is None
    assert scenario_from_dict(_minimal()).assessment is None  # no block: no assessment


def test_the_demo_scenario_carries_its_assessment_block() -> None:
    from resilientcity.pipeline import demo_scenario

    options = demo_scenario().assessment
    assert options is not None and (options.weights, options.method) == ("entropy", "topsis")
    scenario = demo_scenario()
    table = scenario.resolve(options.table)
    assert table is not None and table.is_file()
