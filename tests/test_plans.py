"""Contingency plans: the example files validate, scenarios fire the right plans, bad files fail."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from resilientcity.decision.expressions import Expression, parse_expression
from resilientcity.decision.plans import (
    PlanSet,
    evaluate_plans,
    load_plans,
    plans_from_dict,
    tasks_of,
)
from resilientcity.errors import DataFileError, ValidationError
from resilientcity.vocabulary import WARNING_LEVELS


def _task(
    task_id: str, deadline_h: float = 1.0, depends_on: list[str] | None = None
) -> dict[str, Any]:
    return {
        "id": task_id,
        "agency": "emergency",
        "text": {"zh": "任务", "en": "task"},
        "deadline_h": deadline_h,
        "depends_on": depends_on or [],
    }


def _file(**plan_changes: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "id": "p",
        "family": "f",
        "name": {"zh": "预案", "en": "plan"},
        "hazards": ["river_flood"],
        "level": "IV",
        "trigger": {"any": [{"warning": "blue"}]},
        "tasks": [_task("a"), _task("b", 2.0, ["a"])],
    }
    plan.update(plan_changes)
    return {
        "basis": "test",
        "level_source": "test",
        "agencies": [{"id": "emergency", "name": {"zh": "应急管理局", "en": "Emergency"}}],
        "plans": [plan],
    }


def _fields(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [p.column for p in exc.value.problems]


@pytest.fixture(scope="module")
def plans() -> PlanSet:
    return load_plans()


def _summary(
    displaced: float = 0.0,
    fatalities: float = 0.0,
    hospitals_down: list[str] | None = None,
    unsheltered: float = 0.0,
    kind: str = "river_flood",
) -> dict[str, Any]:
    return {
        "impact": {
            "total_loss": 1e9,
            "casualties": fatalities,
            "fatalities": fatalities,
            "displaced": displaced,
            "hazards": [{"name": kind, "kind": kind}],
        },
        "network": {"assets_down": 3, "hospitals_down": hospitals_down or [], "roads_closed": 2},
        "decision": {"evacuated": 100.0, "unsheltered": unsheltered},
    }


# --- the packaged example plans ---------------------------------------------------------------


def test_example_plans_validate_with_four_levels_per_hazard(plans: PlanSet) -> None:
    by_family: dict[str, set[str]] = {}
    for plan in plans.plans:
        by_family.setdefault(plan.family, set()).add(plan.level)
    assert by_family["flood_response"] == {"I", "II", "III", "IV"}
    assert by_family["earthquake_response"] == {"I", "II", "III", "IV"}
    assert {"emergency", "water_resources", "fire_rescue", "health", "civil_affairs"} <= set(
        plans.agencies
    )


@pytest.mark.parametrize("name", ["flood.yaml", "earthquake.yaml"])
def test_example_files_cite_the_national_framework(name: str) -> None:
    folder = Path(__file__).parents[1] / "src" / "resilientcity" / "data" / "decision" / "plans"
    data = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
    spec = plans_from_dict(data, source=name)
    framework = "国家防汛抗旱应急预案" if name == "flood.yaml" else "国家地震应急预案"
    assert framework in spec.basis
    assert "ILLUSTRATIVE" in (folder / name).read_text(encoding="utf-8")


# --- evaluation --------------------------------------------------------------------------------


def test_flood_summary_fires_level_ii_with_the_matching_conditions(plans: PlanSet) -> None:
    # 12,000 displaced > 10,000 and one hospital down (count 1 >= 1) → level II; yellow alone
    # would be level III, and level I needs > 50,000 displaced or a red warning.
    summary = _summary(displaced=12_000, hospitals_down=["H7"], unsheltered=250)
    fired = evaluate_plans(plans, summary, warning_level="yellow")
    assert list(fired.index) == ["flood_ii", "flood_shelter_shortfall"]
    assert fired.loc["flood_ii", "reason"] == (
        "impact.displaced > 10000 (value 12000); network.hospitals_down count >= 1 (value 1)"
    )
    assert fired.loc["flood_shelter_shortfall", "reason"] == "decision.unsheltered > 0 (value 250)"


def test_all_levels_listed_without_highest_only(plans: PlanSet) -> None:
    summary = _summary(displaced=12_000)
    fired = evaluate_plans(plans, summary, warning_level="yellow", highest_only=False)
    assert list(fired.index) == ["flood_iv", "flood_iii", "flood_ii"]
    assert fired.loc["flood_iv", "reason"] == (
        "warning yellow >= blue; impact.displaced > 0 (value 12000)"
    )


@pytest.mark.parametrize(
    ("warning", "expected"),
    [(None, []), ("blue", ["flood_iv"]), ("orange", ["flood_ii"]), ("red", ["flood_i"])],
)
def test_warning_level_escalates_the_flood_response(
    plans: PlanSet, warning: Any, expected: list[str]
) -> None:
    fired = evaluate_plans(plans, _summary(), warning_level=warning)
    assert list(fired.index) == expected


@pytest.mark.parametrize(
    ("fatalities", "expected"),
    # 国家地震应急预案 (2012): I ≥ 300 deaths, II 50–299, III 10–49, IV fewer than 10.
    [
        (0, "earthquake_iv"),
        (9, "earthquake_iv"),
        (10, "earthquake_iii"),
        (49, "earthquake_iii"),
        (50, "earthquake_ii"),
        (299, "earthquake_ii"),
        (300, "earthquake_i"),
    ],
)
def test_earthquake_levels_follow_the_national_death_toll_grades(
    plans: PlanSet, fatalities: float, expected: str
) -> None:
    fired = evaluate_plans(plans, _summary(fatalities=fatalities, kind="earthquake"))
    assert list(fired.index) == [expected]


def test_plans_of_another_hazard_do_not_fire(plans: PlanSet) -> None:
    summary = _summary(fatalities=500, kind="wind")
    assert evaluate_plans(plans, summary, warning_level="red").empty
    fired = evaluate_plans(plans, summary, hazard_kinds=["earthquake"])
    assert list(fired.index) == ["earthquake_i"]


def test_missing_or_null_summary_values_do_not_fire(plans: PlanSet) -> None:
    summary = _summary(kind="river_flood")
    del summary["decision"]
    summary["impact"]["displaced"] = None
    assert evaluate_plans(plans, summary).empty


def test_evaluate_refuses_unknown_warning_and_hazard(plans: PlanSet) -> None:
    with pytest.raises(ValidationError) as exc:
        evaluate_plans(plans, _summary(), warning_level="purple", hazard_kinds=["tsunami"])  # type: ignore[arg-type]
    assert _fields(exc) == ["warning_level", "hazard_kinds"]
    assert exc.value.problems[1].rows == ("tsunami",)


def test_all_trigger_needs_every_condition() -> None:
    data = _file(trigger={"all": [{"warning": "orange"}, {"when": "impact.displaced >= 100"}]})
    plans = PlanSet(tuple(plans_from_dict(data).plans), {})
    assert evaluate_plans(plans, _summary(displaced=100), warning_level="yellow").empty
    assert evaluate_plans(plans, _summary(displaced=99), warning_level="red").empty
    fired = evaluate_plans(plans, _summary(displaced=100), warning_level="red")
    assert fired.loc["p", "reason"] == "warning red >= orange; impact.displaced >= 100 (value 100)"


# --- tasks -------------------------------------------------------------------------------------


def test_tasks_come_after_their_dependencies(plans: PlanSet) -> None:
    fired = evaluate_plans(plans, _summary(fatalities=60, kind="earthquake"))
    tasks = tasks_of(fired, plans)
    assert list(tasks.columns) == [
        "plan",
        "task",
        "agency",
        "agency_zh",
        "deadline_h",
        "depends_on",
        "text_zh",
        "text_en",
    ]
    assert len(tasks) == len(plans.plan("earthquake_ii").tasks) == 8
    position = {task: k for k, task in enumerate(tasks["task"])}
    for task, deps in zip(tasks["task"], tasks["depends_on"], strict=True):
        assert all(position[d] < position[task] for d in deps)
    # water repair waits for power (12 h) although other tasks are due before it
    assert tasks["task"].iloc[0] == "command"
    assert tasks["task"].iloc[-1] == "water_restore"
    assert tasks.set_index("task").loc["casualties", "agency_zh"] == "卫生健康委员会"


def test_tasks_of_plan_ids_and_of_nothing(plans: PlanSet) -> None:
    assert tasks_of([], plans).empty
    tasks = tasks_of(["flood_shelter_shortfall"], plans)
    assert list(tasks["task"]) == ["temporary_sites", "transport_unsheltered"]
    assert list(tasks["deadline_h"]) == [6.0, 12.0]


# --- expressions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("impact.displaced > 10000", Expression("impact.displaced", ">", 10000.0)),
        (
            "network.hospitals_down count >= 1",
            Expression("network.hospitals_down", ">=", 1.0, True),
        ),
        (
            "impact.hazards[0].displaced!=-2.5e3",
            Expression("impact.hazards[0].displaced", "!=", -2500.0),
        ),
        ("  decision.unsheltered <= .5 ", Expression("decision.unsheltered", "<=", 0.5)),
    ],
)
def test_parse_expression(text: str, expected: Expression) -> None:
    assert parse_expression(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "impact.displaced",
        "impact.displaced > ten",
        "__import__('os').system('x') > 1",
        "impact.displaced > 1 or 1",
        "impact..displaced > 1",
        "impact.displaced => 1",
        "impact.displaced > inf",
        "impact.displaced > 1e999",
    ],
)
def test_parse_expression_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="expression"):
        parse_expression(text)


def test_lookup_walks_lists_and_counts() -> None:
    summary = _summary(displaced=5, hospitals_down=["a", "b"])
    assert parse_expression("impact.hazards[0].name == 0").lookup(summary) is None  # a string
    assert parse_expression("impact.hazards[3].kind == 0").lookup(summary) is None
    assert parse_expression("network.hospitals_down count == 2").lookup(summary) == 2.0
    assert parse_expression("network.hospitals_down == 2").lookup(summary) is None
    assert parse_expression("impact.displaced count == 2").lookup(summary) is None
    assert parse_expression("a == 0").lookup({"a": np.int64(7)}) == 7.0
    assert parse_expression("a == 0").lookup({"a": True}) is None


@given(
    value=st.floats(allow_nan=False, allow_infinity=False, width=32),
    threshold=st.integers(-1000, 1000),
    op=st.sampled_from([">", ">=", "<", "<=", "==", "!="]),
)
def test_expression_agrees_with_python_comparison(value: float, threshold: int, op: str) -> None:
    expression = parse_expression(f"a.b {op} {threshold}")
    assert expression.lookup({"a": {"b": value}}) == value
    python = {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
        "==": value == threshold,
        "!=": value != threshold,
    }[op]
    assert expression.holds(value) is python


# --- bad files ---------------------------------------------------------------------------------


def test_unknown_agency_is_named() -> None:
    data = _file()
    data["plans"][0]["tasks"][1]["agency"] = "ministry_of_magic"
    with pytest.raises(ValidationError) as exc:
        plans_from_dict(data, source="bad.yaml")
    (problem,) = exc.value.problems
    assert (problem.layer, problem.column, problem.rows) == (
        "bad.yaml",
        "plans[0].tasks[1].agency",
        ("b",),
    )
    assert "ministry_of_magic" in problem.found


def test_bad_expression_is_named() -> None:
    data = _file(trigger={"any": [{"warning": "blue"}, {"when": "impact.displaced >> 5"}]})
    with pytest.raises(ValidationError) as exc:
        plans_from_dict(data)
    assert _fields(exc) == ["plans[0].trigger.any[1]"]
    assert "path [count] op number" in exc.value.problems[0].expected


def test_cycle_in_depends_on_is_named() -> None:
    tasks = [_task("a", 1, ["c"]), _task("b", 1, ["a"]), _task("c", 1, ["b"]), _task("d", 1)]
    with pytest.raises(ValidationError) as exc:
        plans_from_dict(_file(tasks=tasks))
    (problem,) = exc.value.problems
    assert problem.column == "plans[0].tasks"
    assert problem.found == "a → c → b → a"
    assert set(problem.rows) == {"a", "b", "c"}


def test_negative_deadline_is_named() -> None:
    data = _file(tasks=[_task("a", -1.0)])
    with pytest.raises(ValidationError) as exc:
        plans_from_dict(data)
    assert _fields(exc) == ["plans[0].tasks[0].deadline_h"]


def test_cross_field_rules_collect_every_problem() -> None:
    # 'b' is due at 1 h but depends on 'a', due at 5 h; 'zz' is no task; 'a' twice; plan twice
    data = _file(tasks=[_task("a", 5.0), _task("a", 5.0), _task("b", 1.0, ["a", "zz"])])
    data["agencies"].append(copy.deepcopy(data["agencies"][0]))
    data["plans"].append(copy.deepcopy(data["plans"][0]))
    with pytest.raises(ValidationError) as exc:
        plans_from_dict(data)
    assert _fields(exc) == [
        "agencies[1].id",
        "plans[0].tasks[1].id",
        "plans[0].tasks[2].deadline_h",
        "plans[0].tasks[2].depends_on[1]",
        "plans[1].id",
        "plans[1].tasks[1].id",
        "plans[1].tasks[2].deadline_h",
        "plans[1].tasks[2].depends_on[1]",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"level": "V"}, "plans[0].level"),
        ({"hazards": ["tsunami"]}, "plans[0].hazards[0]"),
        ({"trigger": {"any": [{"warning": "purple"}]}}, "plans[0].trigger.any[0].warning"),
        ({"trigger": {"any": [{"warning": "red", "hazard": "wind"}]}}, "plans[0].trigger.any[0]"),
        ({"trigger": {"any": [], "all": None}}, "plans[0].trigger.any"),
        (
            {"trigger": {"any": [{"warning": "red"}], "all": [{"warning": "red"}]}},
            "plans[0].trigger",
        ),
        ({"tasks": []}, "plans[0].tasks"),
        ({"priority": 1}, "plans[0].priority"),
    ],
)
def test_schema_problems_are_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        plans_from_dict(_file(**change))
    assert field in _fields(exc)


def test_not_a_mapping_is_refused() -> None:
    with pytest.raises(ValidationError, match="a mapping"):
        plans_from_dict([1, 2])


def test_load_plans_collects_problems_across_files(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_file()), encoding="utf-8")
    bad = _file(tasks=[_task("a", -1.0)])
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    renamed = _file(id="q")
    renamed["agencies"][0]["name"]["en"] = "Another name"
    (tmp_path / "renamed.yaml").write_text(yaml.safe_dump(renamed), encoding="utf-8")
    plans = load_plans([good])
    assert [p.id for p in plans.plans] == ["p"]
    with pytest.raises(ValidationError) as exc:
        load_plans([good, good, tmp_path / "bad.yaml", tmp_path / "renamed.yaml"])
    assert [(p.layer, p.column) for p in exc.value.problems] == [
        ("good.json", "plans[0].id"),
        ("bad.yaml", "plans[0].tasks[0].deadline_h"),
        ("renamed.yaml", "agencies[0]"),
    ]
    with pytest.raises(DataFileError, match="no such plan file"):
        load_plans([tmp_path / "missing.yaml"])


def test_warning_levels_order() -> None:
    assert WARNING_LEVELS == ("blue", "yellow", "orange", "red")


def test_misspelt_when_path_is_refused_at_load_with_near_matches() -> None:
    data = _file(
        trigger={"any": [{"warning": "blue"}, {"when": "impact.displacd > 100"}]},
    )
    with pytest.raises(ValidationError) as exc:
        plans_from_dict(data, source="flood.yaml")
    (problem,) = exc.value.problems
    assert problem.layer == "flood.yaml"
    assert problem.column == "plans[0].trigger.any[1].when"
    assert problem.rows == ("p",)  # the plan id
    assert problem.found == "'impact.displacd'"
    assert "did you mean impact.displaced" in problem.expected
    assert "impact.displacd" in str(exc.value) and "p" in str(exc.value)


@pytest.mark.parametrize(
    ("when", "ok"),
    [
        ("impact.displaced > 1", True),
        ("impact.hazards[0].loss > 1", True),
        ("resilience.sectors.medical.index < 0.5", True),
        ("decision.relief_fill_by_commodity.water < 0.5", True),
        ("network.hospitals_down count >= 1", True),
        ("assessment.city_score < 0.3", True),
        ("network.hospitals_down >= 1", False),  # a list without count
        ("impact.displaced count >= 1", False),  # count of a number
        ("impact.currency == 1", False),  # a string
        ("netwrk.assets_down > 0", False),
        ("impact.hazards[0].losses > 0", False),  # no such field
    ],
)
def test_when_paths_are_checked_against_the_summary_schema(when: str, ok: bool) -> None:
    data = _file(trigger={"any": [{"when": when}]})
    if ok:
        plans_from_dict(data)
    else:
        with pytest.raises(ValidationError) as exc:
            plans_from_dict(data)
        assert _fields(exc) == ["plans[0].trigger.any[0].when"]


def test_packaged_plans_use_only_summary_paths() -> None:
    assert len(load_plans().plans) > 0  # loading checks every when: path


def test_when_paths_outside_the_blocks_plans_see_are_refused() -> None:
    plans_from_dict(_file(trigger={"any": [{"when": "city.population > 1000"}]}))
    with pytest.raises(ValidationError) as exc:
        plans_from_dict(_file(trigger={"any": [{"when": "timings_s.total > 1"}]}))
    assert "under city, impact" in exc.value.problems[0].expected
