"""Maturity of a city on the seed's evolution model, L1 digital city to L4 smart resilient city.

The seed (徐雪松 et al., 2022, section 一(一)2 and figure 2) describes four levels: L1 数字城市
digital city, L2 智慧城市 smart city, L3 新型智慧城市 new-type smart city and L4 智慧韧性城市
smart resilient city. The questionnaire (``data/assessment/maturity.json``, or a user file) turns
each level into criteria answered either *yes/no* or by a *threshold* on an indicator of the
library. A city is at level L when every criterion of L and of every lower level is met (level 0:
not even L1); the roadmap lists the unmet criteria of the levels above, lowest level first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from typing import Any, Literal

import pandas as pd

from resilientcity._files import read_data_file
from resilientcity.assessment.indicators import DIMENSIONS, IndicatorLibrary
from resilientcity.errors import DataFileError, Problem, ValidationError

__all__ = ["Criterion", "Level", "MaturityResult", "Questionnaire", "assess_maturity"]

_DEFAULT_FILE = "data/assessment/maturity.json"
_LEVELS = (1, 2, 3, 4)
_YES = {"yes", "y", "true", "1", "是"}
_NO = {"no", "n", "false", "0", "否"}
_ROADMAP_COLUMNS = [
    "step",
    "level",
    "criterion_id",
    "dimension",
    "text_zh",
    "text_en",
    "target",
    "answer",
]


@dataclass(frozen=True)
class Level:
    """One level of the evolution model: ``level`` 1–4, ``id`` ``L1``…, names, seed's text."""

    level: int
    id: str
    name_zh: str
    name_en: str
    description_zh: str = ""


@dataclass(frozen=True)
class Criterion:
    """One criterion of the questionnaire.

    Attributes
    ----------
    id
        Unique id (``L2.iot``).
    level
        The level (1–4) the criterion belongs to.
    dimension
        One of the four dimensions (:data:`~resilientcity.assessment.indicators.DIMENSIONS`).
    text_zh, text_en
        The statement to be checked.
    answer
        ``yes_no``: answered True/False; ``threshold``: met when the value of ``indicator``
        satisfies ``operator`` (``>=`` or ``<=``) ``value``.
    basis
        Where the threshold comes from (the default file labels its assumptions here).
    """

    id: str
    level: int
    dimension: str
    text_zh: str
    text_en: str
    answer: Literal["yes_no", "threshold"] = "yes_no"
    indicator: str = ""
    operator: Literal[">=", "<="] = ">="
    value: float = math.nan
    basis: str = ""

    @property
    def target(self) -> str:
        """What meets the criterion, in words: ``yes`` or ``<indicator> >= <value>``."""
        if self.answer == "yes_no":
            return "yes"
        return f"{self.indicator} {self.operator} {self.value:g}"

    def is_met(self, answer: bool | float) -> bool:
        """Whether a validated answer meets the criterion."""
        if self.answer == "yes_no":
            return bool(answer)
        return answer >= self.value if self.operator == ">=" else answer <= self.value


def _criterion_problems(raw: Mapping[str, Any], name: str, library: IndicatorLibrary) -> list[str]:
    """Every broken rule of one raw criterion record, as ``field: expected`` texts."""
    found: list[str] = []
    if raw.get("level") not in _LEVELS:
        found.append("level: one of 1, 2, 3, 4")
    if raw.get("dimension") not in DIMENSIONS:
        found.append(f"dimension: one of {', '.join(DIMENSIONS)}")
    found += [f"{f}: a non-empty text" for f in ("text_zh", "text_en") if not raw.get(f)]
    answer = raw.get("answer")
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind == "threshold" and isinstance(answer, dict):
        if answer.get("indicator") not in library:
            found.append("answer.indicator: an indicator id of the library")
        if answer.get("operator") not in (">=", "<="):
            found.append("answer.operator: >= or <=")
        value = answer.get("value")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            found.append("answer.value: a finite number")
    elif kind != "yes_no":
        found.append("answer: {type: yes_no} or {type: threshold, indicator, operator, value}")
    return [f"{name} {text}" for text in found]


def _criterion(raw: Mapping[str, Any]) -> Criterion:
    """A criterion from a validated raw record."""
    answer = raw["answer"]
    common = {k: raw[k] for k in ("id", "level", "dimension", "text_zh", "text_en")}
    if answer["type"] == "yes_no":
        return Criterion(**common)
    return Criterion(
        **common,
        answer="threshold",
        indicator=answer["indicator"],
        operator=answer["operator"],
        value=float(answer["value"]),
        basis=str(answer.get("basis", "")),
    )


@dataclass(frozen=True)
class Questionnaire:
    """The maturity levels and their criteria, validated.

    Attributes
    ----------
    levels
        The four levels, L1 first.
    criteria
        Every criterion, in file order.
    """

    levels: tuple[Level, ...]
    criteria: tuple[Criterion, ...]

    @classmethod
    def default(cls) -> Questionnaire:
        """The built-in questionnaire (``data/assessment/maturity.json``; sources in the file)."""
        path = resources.files("resilientcity").joinpath(_DEFAULT_FILE)
        with resources.as_file(path) as file:
            return cls.from_file(file)

    @classmethod
    def from_file(
        cls, path: str | PathLike[str], library: IndicatorLibrary | None = None
    ) -> Questionnaire:
        """A questionnaire from a YAML or JSON file with the keys ``levels`` and ``criteria``.

        ``levels``: four records ``level`` (1–4), ``id``, ``name_zh``, ``name_en``,
        ``description_zh``; ``criteria``: records ``id``, ``level``, ``dimension``,
        ``text_zh``, ``text_en``, ``answer`` (``{type: yes_no}`` or ``{type: threshold,
        indicator, operator: ">=" | "<=", value, basis}``).

        Parameters
        ----------
        path
            The file.
        library
            The indicators thresholds may refer to; the default library when ``None``.

        Raises
        ------
        DataFileError
            The file is missing, unreadable, or lacks ``levels``/``criteria`` lists.
        ValidationError
            Every problem: levels other than exactly 1–4, duplicate or empty criterion ids,
            unknown levels or dimensions, empty texts, a malformed answer, a threshold on an
            unknown indicator, a level without criteria — each naming the criterion.
        """
        document = read_data_file(path, "maturity questionnaire", as_yaml=True)
        if not isinstance(document, dict) or not all(
            isinstance(document.get(k), list) for k in ("levels", "criteria")
        ):
            raise DataFileError(f"{path}: expected a mapping with 'levels' and 'criteria' lists")
        return cls.from_records(
            document["levels"], document["criteria"], library or IndicatorLibrary.default()
        )

    @classmethod
    def from_records(
        cls,
        levels: Sequence[Mapping[str, Any]],
        criteria: Sequence[Mapping[str, Any]],
        library: IndicatorLibrary,
    ) -> Questionnaire:
        """A questionnaire from level and criterion records (see :meth:`from_file`)."""
        problems = _level_problems(levels)
        names = [str(c.get("id") or i + 1) for i, c in enumerate(criteria)]
        empty = tuple(n for n, c in zip(names, criteria, strict=True) if not c.get("id"))
        if empty:
            problems.append(Problem("criteria", "id", "a non-empty id", empty))
        seen = pd.Series(names)
        doubled = tuple(sorted(set(seen[seen.duplicated()])))
        if doubled:
            problems.append(Problem("criteria", "id", "unique ids", doubled, "duplicates"))
        for raw, name in zip(criteria, names, strict=True):
            for text in _criterion_problems(raw, name, library):
                crit, rule = text.split(" ", 1)
                field, expected = rule.split(": ", 1)
                problems.append(Problem("criteria", field, expected, (crit,)))
        covered = {c.get("level") for c in criteria}
        bare = tuple(f"L{lv}" for lv in _LEVELS if lv not in covered)
        if bare:
            problems.append(Problem("criteria", "level", "at least one criterion per level", bare))
        if problems:
            raise ValidationError(problems, what="maturity questionnaire")
        ordered = sorted(levels, key=lambda r: int(r["level"]))
        return cls(
            tuple(
                Level(
                    int(r["level"]),
                    str(r["id"]),
                    str(r["name_zh"]),
                    str(r["name_en"]),
                    str(r.get("description_zh", "")),
                )
                for r in ordered
            ),
            tuple(_criterion(c) for c in criteria),
        )


def _level_problems(levels: Sequence[Mapping[str, Any]]) -> list[Problem]:
    """Problems of the level records: exactly levels 1–4, each with id and names."""
    problems: list[Problem] = []
    numbers = sorted(int(r["level"]) for r in levels if isinstance(r.get("level"), int))
    if numbers != list(_LEVELS):
        found = ", ".join(str(r.get("level")) for r in levels)
        problems.append(Problem("levels", "level", "exactly the levels 1, 2, 3, 4", (), found))
    for field in ("id", "name_zh", "name_en"):
        empty = tuple(f"level {r.get('level')}" for r in levels if not r.get(field))
        if empty:
            problems.append(Problem("levels", field, "a non-empty text", empty))
    return problems


@dataclass(frozen=True)
class MaturityResult:
    """Where the city stands on the L1–L4 evolution model.

    Attributes
    ----------
    level
        The highest level whose criteria, and those of every lower level, are all met; 0 when
        an L1 criterion is unmet.
    level_name
        ``L2 智慧城市 Smart city`` (or ``below L1`` for level 0).
    met
        Ids of the criteria met, questionnaire order.
    unmet_by_level
        Level (1–4) → ids of its unmet criteria (an empty tuple when all are met).
    roadmap
        The unmet criteria of the levels above ``level``, lowest level first, then
        questionnaire order; columns ``step`` (1, 2, …), ``level``, ``criterion_id``,
        ``dimension``, ``text_zh``, ``text_en``, ``target`` (``yes`` or ``indicator >= value``)
        and ``answer`` (the answer given, as text).
    """

    level: int
    level_name: str
    met: tuple[str, ...]
    unmet_by_level: dict[int, tuple[str, ...]]
    roadmap: pd.DataFrame


def _answer(criterion: Criterion, value: object) -> bool | float | None:
    """A validated answer to ``criterion``, or ``None`` when ``value`` is not a valid one."""
    if criterion.answer == "yes_no":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str) else None
        return True if text in _YES else False if text in _NO else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _collect_answers(
    questionnaire: Questionnaire,
    answers: Mapping[str, object],
    indicator_values: Mapping[str, float],
) -> dict[str, bool | float]:
    """Every criterion's validated answer; raise naming unknown, missing and invalid ones."""
    known = {c.id for c in questionnaire.criteria}
    problems: list[Problem] = []
    unknown = tuple(sorted(str(k) for k in answers if k not in known))
    if unknown:
        problems.append(
            Problem("answers", "criterion", "a criterion id of the questionnaire", unknown)
        )
    valid: dict[str, bool | float] = {}
    missing: list[str] = []
    invalid: dict[str, list[str]] = {"yes_no": [], "threshold": []}
    for c in questionnaire.criteria:
        raw = answers.get(c.id, indicator_values.get(c.indicator) if c.indicator else None)
        if raw is None:
            missing.append(c.id)
            continue
        value = _answer(c, raw)
        if value is None:
            invalid[c.answer].append(c.id)
        else:
            valid[c.id] = value
    if missing:
        problems.append(
            Problem(
                "answers", "criterion", "an answer to every criterion", tuple(missing), "missing"
            )
        )
    if invalid["yes_no"]:
        problems.append(
            Problem("answers", "answer", "yes or no (True/False)", tuple(invalid["yes_no"]))
        )
    if invalid["threshold"]:
        problems.append(
            Problem(
                "answers",
                "answer",
                "a finite number (the indicator's value)",
                tuple(invalid["threshold"]),
            )
        )
    if problems:
        raise ValidationError(problems, what="maturity answers")
    return valid


def assess_maturity(
    answers: Mapping[str, object],
    questionnaire: Questionnaire | None = None,
    indicator_values: Mapping[str, float] | None = None,
) -> MaturityResult:
    """Place a city on the L1–L4 evolution model and list the roadmap to the next levels.

    Parameters
    ----------
    answers
        Criterion id → answer: True/False (or ``yes``/``no``, ``true``/``false``, ``是``/``否``)
        for ``yes_no`` criteria, the indicator's value (a finite number, in the indicator's
        unit) for ``threshold`` criteria.
    questionnaire
        The criteria; :meth:`Questionnaire.default` when ``None``.
    indicator_values
        Indicator id → value, answering the ``threshold`` criteria that ``answers`` leaves out
        (e.g. one unit's values from the indicator table or the twin).

    Returns
    -------
    MaturityResult

    Raises
    ------
    ValidationError
        Naming every unknown criterion id, every criterion left unanswered and every answer of
        the wrong kind.
    """
    quest = questionnaire or Questionnaire.default()
    valid = _collect_answers(quest, answers, indicator_values or {})
    met_ids = {c.id for c in quest.criteria if c.is_met(valid[c.id])}
    unmet = {
        lv.level: tuple(c.id for c in quest.criteria if c.level == lv.level and c.id not in met_ids)
        for lv in quest.levels
    }
    level = 0
    for lv in quest.levels:
        if unmet[lv.level]:
            break
        level = lv.level
    name = "below L1" if level == 0 else _level_name(quest.levels[level - 1])
    roadmap = _roadmap(quest, level, met_ids, valid)
    met = tuple(c.id for c in quest.criteria if c.id in met_ids)
    return MaturityResult(level, name, met, unmet, roadmap)


def _level_name(level: Level) -> str:
    """``L2 智慧城市 Smart city``."""
    return f"{level.id} {level.name_zh} {level.name_en}"


def _roadmap(
    quest: Questionnaire,
    level: int,
    met_ids: set[str],
    valid: Mapping[str, bool | float],
) -> pd.DataFrame:
    """The unmet criteria above ``level`` as roadmap rows, lowest level first."""
    todo = [c for c in quest.criteria if c.level > level and c.id not in met_ids]
    todo.sort(key=lambda c: c.level)  # stable: questionnaire order within a level
    rows = [
        (
            step,
            c.level,
            c.id,
            c.dimension,
            c.text_zh,
            c.text_en,
            c.target,
            ("no" if c.answer == "yes_no" else f"{valid[c.id]:g}"),
        )
        for step, c in enumerate(todo, start=1)
    ]
    return pd.DataFrame(rows, columns=_ROADMAP_COLUMNS)
