"""Maturity questionnaire L1–L4 (issue 7 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from resilientcity.assessment.indicators import DIMENSIONS
from resilientcity.assessment.maturity import Questionnaire, assess_maturity
from resilientcity.errors import DataFileError, ValidationError

_SMALL = """
levels:
  - {level: 1, id: L1, name_zh: 数字城市, name_en: Digital city}
  - {level: 2, id: L2, name_zh: 智慧城市, name_en: Smart city}
  - {level: 3, id: L3, name_zh: 新型智慧城市, name_en: New-type smart city}
  - {level: 4, id: L4, name_zh: 智慧韧性城市, name_en: Smart resilient city}
criteria:
  - {id: a1, level: 1, dimension: organisation, text_zh: 甲, text_en: A1, answer: {type: yes_no}}
  - {id: a2, level: 1, dimension: infrastructure, text_zh: 乙, text_en: A2,
     answer: {type: threshold, indicator: org_plan_coverage, operator: ">=", value: 80}}
  - {id: b1, level: 2, dimension: organisation, text_zh: 丙, text_en: B1, answer: {type: yes_no}}
  - {id: c1, level: 3, dimension: economy_society, text_zh: 丁, text_en: C1, answer: {type: yes_no}}
  - {id: c2, level: 3, dimension: infrastructure, text_zh: 戊, text_en: C2,
     answer: {type: threshold, indicator: inf_recovery_time, operator: "<=", value: 30}}
  - {id: d1, level: 4, dimension: institutions_culture, text_zh: 己, text_en: D1,
     answer: {type: yes_no}}
"""


@pytest.fixture
def small(tmp_path: Path) -> Questionnaire:
    path = tmp_path / "q.yaml"
    path.write_text(_SMALL, encoding="utf-8")
    return Questionnaire.from_file(path)


def test_default_questionnaire() -> None:
    q = Questionnaire.default()
    assert [lv.id for lv in q.levels] == ["L1", "L2", "L3", "L4"]
    assert [lv.name_zh for lv in q.levels] == [
        "数字城市",
        "智慧城市",
        "新型智慧城市",
        "智慧韧性城市",
    ]
    assert {c.level for c in q.criteria} == {1, 2, 3, 4}
    assert {c.dimension for c in q.criteria} <= set(DIMENSIONS)
    thresholds = [c for c in q.criteria if c.answer == "threshold"]
    assert thresholds and all("assumption" in c.basis for c in thresholds)


@pytest.mark.parametrize(
    ("answers", "level", "unmet", "roadmap"),
    [
        # everything met: L4, nothing left
        ({"a1": True, "a2": 90, "b1": True, "c1": True, "c2": 10, "d1": True}, 4, {}, []),
        # 79 < 80 fails a2: below L1, though L2-L4 criteria are met; roadmap from a2 on
        ({"a1": True, "a2": 79, "b1": True, "c1": True, "c2": 10, "d1": True}, 0, {1: ("a2",)},
         ["a2"]),
        # L1, L2 met; c2 recovery 31 > 30 days fails; d1 "no": L2 with c2, d1 to do
        ({"a1": "yes", "a2": 80, "b1": True, "c1": "是", "c2": 31.0, "d1": "no"}, 2,
         {3: ("c2",), 4: ("d1",)}, ["c2", "d1"]),
        # b1 fails: L1; c1 and d1 fail too; roadmap by level then file order
        ({"a1": True, "a2": 100, "b1": False, "c1": False, "c2": 30, "d1": False}, 1,
         {2: ("b1",), 3: ("c1",), 4: ("d1",)}, ["b1", "c1", "d1"]),
    ],
)  # fmt: skip
def test_levels_by_hand(
    small: Questionnaire,
    answers: dict[str, object],
    level: int,
    unmet: dict[int, tuple[str, ...]],
    roadmap: list[str],
) -> None:
    result = assess_maturity(answers, small)
    assert result.level == level
    assert result.unmet_by_level == {lv: unmet.get(lv, ()) for lv in (1, 2, 3, 4)}
    assert result.roadmap["criterion_id"].tolist() == roadmap
    assert result.roadmap["step"].tolist() == list(range(1, len(roadmap) + 1))
    assert set(result.met) == set(answers) - {c for ids in unmet.values() for c in ids}


def test_result_texts(small: Questionnaire) -> None:
    answers = {"a1": True, "a2": 90, "b1": True, "c1": True, "c2": 45, "d1": True}
    result = assess_maturity(answers, small)
    assert result.level_name == "L2 智慧城市 Smart city"
    row = result.roadmap.iloc[0]
    assert (row["target"], row["answer"], row["level"]) == ("inf_recovery_time <= 30", "45", 3)
    below = assess_maturity({**answers, "a1": False}, small)
    assert below.level_name == "below L1"


def test_threshold_answered_from_indicator_values(small: Questionnaire) -> None:
    answers = {"a1": True, "b1": True, "c1": True, "d1": True}
    values = {"org_plan_coverage": 85.0, "inf_recovery_time": 12.0}
    assert assess_maturity(answers, small, indicator_values=values).level == 4
    # an explicit answer wins over the indicator value
    assert assess_maturity({**answers, "a2": 10}, small, indicator_values=values).level == 0


def test_default_questionnaire_by_hand() -> None:
    q = Questionnaire.default()
    answers: dict[str, object] = {c.id: True for c in q.criteria if c.answer == "yes_no"}
    values = {
        "org_plan_coverage": 90.0,
        "inf_sensor_density": 2.0,
        "org_data_sharing": 50.0,  # < 80: L3 unmet
        "inf_5g_coverage": 95.0,
        "org_post_event_review": 90.0,
        "ins_risk_awareness": 75.0,
        "inf_resilience_index": 0.85,
        "inf_critical_power_redundancy": 95.0,
    }
    result = assess_maturity(answers, indicator_values=values)
    assert result.level == 2
    assert result.roadmap["criterion_id"].tolist() == ["L3.data_sharing"]


def test_bad_answers_are_named(small: Questionnaire) -> None:
    answers = {"a1": "maybe", "a2": True, "b1": True, "c1": True, "zz": True}
    with pytest.raises(ValidationError) as exc:
        assess_maturity(answers, small)
    text = "\n".join(str(p) for p in exc.value.problems)
    assert "answers.criterion: expected a criterion id of the questionnaire (row zz)" in text
    assert (
        "answers.criterion: expected an answer to every criterion, found missing (rows c2, d1)"
        in text
    )
    assert "answers.answer: expected yes or no (True/False) (row a1)" in text
    assert "answers.answer: expected a finite number (the indicator's value) (row a2)" in text


def test_bad_questionnaire_is_named(tmp_path: Path) -> None:
    text = _SMALL.replace("dimension: economy_society", "dimension: culture")
    text = text.replace("indicator: inf_recovery_time", "indicator: nope")
    text = text.replace("id: d1, level: 4", "id: a1, level: 4")
    text = text.replace('operator: ">="', 'operator: ">"')
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        Questionnaire.from_file(path)
    found = "\n".join(str(p) for p in exc.value.problems)
    assert "criteria.id: expected unique ids, found duplicates (row a1)" in found
    assert "criteria.dimension: expected one of organisation" in found and "(row c1)" in found
    assert "criteria.answer.indicator: expected an indicator id of the library (row c2)" in found
    assert "criteria.answer.operator: expected >= or <= (row a2)" in found


def test_questionnaire_levels_and_files(tmp_path: Path) -> None:
    path = tmp_path / "q.yaml"
    path.write_text(_SMALL.replace("level: 4, id: L4", "level: 5, id: L5"), encoding="utf-8")
    with pytest.raises(ValidationError, match="exactly the levels 1, 2, 3, 4"):
        Questionnaire.from_file(path)
    path.write_text(_SMALL.split("  - {id: d1")[0], encoding="utf-8")  # no L4 criterion
    with pytest.raises(ValidationError, match=r"at least one criterion per level \(row L4\)"):
        Questionnaire.from_file(path)
    path.write_text("levels: []\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="'levels' and 'criteria'"):
        Questionnaire.from_file(path)
    with pytest.raises(DataFileError, match="no such"):
        Questionnaire.from_file(tmp_path / "none.yaml")
