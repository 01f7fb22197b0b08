"""The assessment of a city's units: an optional typed-in table plus the twin's indicators.

:func:`district_assessment` is the assessment stage of a scenario. The units are the city's
districts with residents, or its H3 cells with residents when it has fewer than two districts
(:func:`~resilientcity.twin.assessment_units.assessment_units`). The indicators are
:func:`~resilientcity.assessment.from_twin.twin_indicators` of the city and the scenario's
results (a twin indicator defined in some units only, e.g. the power redundancy of critical
facilities where the units have any, is left out and named in the limits), together with the typed-in indicator table when there is one (every year of it: the
trend; the twin's in the table's latest year, else in the current year, an **assumption**
without consequence: with one year there is no trend). They are scored by
:func:`~resilientcity.assessment.run.assess` with population-weighted city score;
zero-variance indicators (e.g. every resident within 15 minutes of a hospital) are left out
and listed in :attr:`~resilientcity.assessment.run.AssessmentResult.dropped`. With maturity
answers the city is also placed on the L1–L4 model, the threshold criteria the answers leave
open answered from the city's values (:func:`city_values`); when such a criterion's indicator
is neither answered nor computed (e.g. ``L4.resilience_index`` without a recovery curve) there
is no maturity level, and the limits say so.

What the assessment goes without (units other than the districts, units without residents,
twin indicators not computed, no maturity level) is returned as *limits*: key → words, for the
run's ``limited`` block.

:func:`demo_assessment` is that stage with the demo's synthetic inputs:
``data/assessment/demo_districts.csv``, entropy weights, TOPSIS and the answers of
``data/assessment/demo_maturity_answers.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from os import PathLike

import numpy as np
import pandas as pd

from resilientcity._files import read_data_file
from resilientcity.assessment.data import (
    IndicatorData,
    read_indicator_table,
    validate_indicator_table,
)
from resilientcity.assessment.from_twin import not_computed, twin_indicators
from resilientcity.assessment.indicators import IndicatorLibrary
from resilientcity.assessment.maturity import MaturityResult, Questionnaire, assess_maturity
from resilientcity.assessment.run import AssessmentResult, Method, WeightSpec, assess
from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.impact.results import EventSetImpact
from resilientcity.recovery.metrics import ServiceCurve
from resilientcity.twin.assessment_units import assessment_units
from resilientcity.twin.city import City

__all__ = [
    "DEMO_ANSWERS",
    "DEMO_TABLE",
    "AssessmentSummary",
    "AssessmentTrend",
    "Limits",
    "NothingToCompare",
    "UnitScore",
    "city_values",
    "demo_answers",
    "demo_assessment",
    "district_assessment",
    "read_answers",
]

#: The demo's synthetic indicator table and maturity answers (package data).
DEMO_TABLE = "data/assessment/demo_districts.csv"
DEMO_ANSWERS = "data/assessment/demo_maturity_answers.json"


class NothingToCompare(ValidationError):
    """No indicator differs between the units of a city assessed without a typed-in table.

    The scenario run skips the assessment then, with the reason, instead of failing.
    """


#: What an assessment goes without: key of the run's ``limited`` block → words.
Limits = dict[str, str]


@dataclass(frozen=True)
class UnitScore:
    """One unit's score and rank."""

    score: float = field(metadata={"unit": "0–1", "doc": "closeness score, larger is better"})
    rank: int = field(metadata={"doc": "rank among the units, 1 the best"})


@dataclass(frozen=True)
class AssessmentTrend:
    """The city score over the typed-in years, on one scale."""

    years: tuple[int, ...] = field(metadata={"doc": "the years of the trend"})
    indicators: tuple[str, ...] = field(
        metadata={"doc": "the indicators present in every year (the trend's basis)"}
    )
    city_score: dict[str, float] = field(
        metadata={"key": "year", "unit": "0–1", "doc": "year → population-weighted city score"}
    )


@dataclass(frozen=True)
class AssessmentSummary:
    """The ``assessment`` block of ``summary.json``."""

    city_score: float = field(
        metadata={"unit": "0–1", "doc": "population-weighted mean of the unit scores"}
    )
    weakest_dimension: str = field(
        metadata={"doc": "the dimension with the largest mean obstacle degree"}
    )
    maturity_level: int | None = field(
        metadata={
            "doc": "L1–L4 maturity level (null without maturity answers, or when a "
            "threshold criterion's indicator has no value: see limited)"
        }
    )
    maturity_name: str | None = field(metadata={"doc": "the maturity level's name"})
    units: dict[str, UnitScore] = field(
        metadata={
            "key": "unit",
            "doc": "unit zone_id (a district, or an H3 cell in a city with fewer than two "
            "districts) → score and rank",
        }
    )
    trend: AssessmentTrend | None = field(
        metadata={"doc": "the trend over the typed-in years (null with one year or no table)"}
    )

    @classmethod
    def of(cls, result: AssessmentResult, maturity: MaturityResult | None) -> AssessmentSummary:
        """The block of an assessment and its maturity (``None``: no maturity answers)."""
        trend = None
        city_trend = result.city_trend()
        if result.trend is not None and city_trend is not None:
            trend = AssessmentTrend(
                years=tuple(int(y) for y in result.trend.columns),
                indicators=tuple(result.trend_indicators),
                city_score={str(y): float(v) for y, v in city_trend.items()},
            )
        scores = result.scores
        units = {
            str(u): UnitScore(float(s), int(r))
            for u, s, r in zip(scores.index, scores["score"], scores["rank"], strict=True)
        }
        return cls(
            city_score=float(result.city_score),
            weakest_dimension=result.weakest_dimension,
            maturity_level=maturity.level if maturity is not None else None,
            maturity_name=maturity.level_name if maturity is not None else None,
            units=units,
            trend=trend,
        )


def read_answers(path: str | PathLike[str]) -> dict[str, object]:
    """Maturity answers from a JSON/YAML file holding an ``answers`` mapping.

    Raises
    ------
    DataFileError
        A missing or unreadable file, or one without an ``answers`` mapping.
    """
    document = read_data_file(path, "maturity answers", as_yaml=True)
    answers = document.get("answers") if isinstance(document, dict) else None
    if not isinstance(answers, dict):
        raise DataFileError(f"{path}: expected a mapping with an 'answers' mapping")
    return answers


def demo_answers() -> dict[str, object]:
    """The synthetic maturity answers of the demo city (:data:`DEMO_ANSWERS`)."""
    packaged = resources.files("resilientcity").joinpath(DEMO_ANSWERS)
    with resources.as_file(packaged) as path:
        return read_answers(path)


def city_values(data: IndicatorData, population: Mapping[str, float] | pd.Series) -> pd.Series:
    """The city's value of every indicator: the population-weighted mean over its units.

    Uses the latest year of ``data``; shares, rates and per-capita values average this way
    exactly when they are per resident, approximately otherwise (an **assumption** made for
    answering the maturity thresholds).
    """
    frame = data.frame
    latest = frame[frame["year"] == frame["year"].max()]
    wide = latest.pivot(index="unit", columns="indicator", values="value")
    pop = pd.Series(population, dtype=np.float64)
    pop.index = pop.index.map(str)
    w = pop.reindex(wide.index).fillna(0.0).to_numpy()
    return pd.Series(w @ wide.to_numpy() / w.sum(), index=wide.columns)


def _maturity(
    answers: Mapping[str, object] | None, values: Mapping[str, float], limits: Limits
) -> MaturityResult | None:
    """The maturity level, or ``None`` (noted in ``limits``) when an indicator is missing."""
    if answers is None:
        return None
    open_criteria = [
        f"{c.id} ({c.indicator})"
        for c in Questionnaire.default().criteria
        if c.id not in answers and c.indicator and c.indicator not in values
    ]
    if open_criteria:
        limits["assessment.maturity"] = (
            "no maturity level: the criteria "
            + ", ".join(open_criteria)
            + " are answered from indicators neither the answers nor this run give"
        )
        return None
    return assess_maturity(answers, indicator_values=values)


def _partial(twin: pd.DataFrame, units: pd.Index) -> dict[str, int]:
    """Twin indicators with a value in some units but not all: indicator → units with one.

    Such an indicator (e.g. the power redundancy of critical facilities, in the H3 cells that
    have any) is left out rather than imputed: a value made up for a unit without the facilities
    would be scored as if measured.
    """
    counts = twin.groupby("indicator", sort=False)["unit"].nunique()
    return {str(k): int(n) for k, n in counts.items() if n < len(units)}


def district_assessment(
    city: City,
    table: str | PathLike[str] | None = None,
    *,
    event_sets: Sequence[EventSetImpact] = (),
    curve: ServiceCurve | None = None,
    weights: WeightSpec = "entropy",
    method: Method = "topsis",
    answers: Mapping[str, object] | None = None,
    library: IndicatorLibrary | None = None,
) -> tuple[AssessmentResult, MaturityResult | None, AssessmentSummary, Limits]:
    """The assessment of ``city``'s units (see the module docstring).

    Parameters
    ----------
    city
        The city: its districts with residents (or, with fewer than two, its H3 cells with
        residents) are the units.
    table
        The typed-in indicator table (CSV, long or wide; units are the units' zone ids);
        ``None``: the twin's indicators alone.
    event_sets, curve
        The scenario's event sets and recovery service curves, for the twin indicators that
        need a run (:func:`~resilientcity.assessment.from_twin.twin_indicators`).
    weights, method
        The weight scheme and aggregation method of :func:`~resilientcity.assessment.run.assess`.
    answers
        Maturity answers (criterion id → answer); ``None``: no maturity level.
    library
        The indicators; the default library when ``None``.

    Returns
    -------
    tuple
        The :class:`~resilientcity.assessment.run.AssessmentResult`, the
        :class:`~resilientcity.assessment.maturity.MaturityResult` (``None`` without answers,
        or when a threshold criterion has no value), the :class:`AssessmentSummary` and the
        :data:`Limits` (empty when the assessment goes without nothing).

    Raises
    ------
    DataFileError, ValidationError
        An unreadable or invalid table (file, row and column named), bad answers; fewer than
        two units; no indicator that differs between the units.
    """
    lib = library if library is not None else IndicatorLibrary.default()
    units = assessment_units(city)
    population = units.population
    limits: Limits = {}
    twin = twin_indicators(city, event_sets, curve)
    missing = not_computed(twin, event_sets, curve)
    partial = _partial(twin, population.index)
    twin = twin[~twin["indicator"].isin(partial)]
    if table is None and not (twin.groupby("indicator")["value"].agg(np.ptp) > 0).any():
        found = ", ".join(sorted(set(twin["indicator"]))) or "none"
        expected = "a twin indicator that differs between the units (there is no typed-in table)"
        problem = Problem("indicators", "indicator", expected, found=f"none varies ({found})")
        raise NothingToCompare([problem], what=f"assessment of {units.describe()}")
    if table is not None:
        typed = read_indicator_table(table, lib, units=population.index)
        year = int(typed.frame["year"].max())
    else:
        typed, year = None, date.today().year
    computed = validate_indicator_table(
        twin.assign(year=year)[["unit", "year", "indicator", "value"]],
        lib,
        units=population.index,
    )
    notes = []
    if units.zone_type != "district" or units.without_residents:
        notes.append(f"units: {units.describe()}")
    if typed is not None:
        missing = {k: v for k, v in missing.items() if k not in set(typed.frame["indicator"])}
    if missing:
        notes.append(
            "twin indicators not computed: " + "; ".join(f"{k} ({v})" for k, v in missing.items())
        )
    if partial:
        notes.append(
            "twin indicators left out, defined in some units only: "
            + "; ".join(f"{k} ({n} of {len(population)} units)" for k, n in partial.items())
        )
    if notes:
        limits["assessment"] = "; ".join(notes)
    if typed is None:
        data = computed
    else:
        # the typed-in years all stay (the trend); the twin's indicators exist for the latest only
        frame = pd.concat([typed.frame, computed.frame], ignore_index=True)
        data = IndicatorData(frame.sort_values(["unit", "year"], kind="stable"), typed.report)
    result = assess(
        data, lib, weights=weights, method=method, population=population, drop_constant=True
    )
    values = {} if answers is None else city_values(data, population).astype(float).to_dict()
    maturity = _maturity(answers, {str(k): v for k, v in values.items()}, limits)
    return result, maturity, AssessmentSummary.of(result, maturity), limits


def demo_assessment(
    city: City,
    event_sets: Sequence[EventSetImpact] = (),
    curve: ServiceCurve | None = None,
) -> tuple[AssessmentResult, MaturityResult, AssessmentSummary]:
    """The demo's assessment: :func:`district_assessment` with the demo's synthetic inputs.

    The table :data:`DEMO_TABLE`, entropy weights, TOPSIS and the answers of
    :data:`DEMO_ANSWERS`.
    """
    packaged = resources.files("resilientcity").joinpath(DEMO_TABLE)
    with resources.as_file(packaged) as path:
        result, maturity, block, _ = district_assessment(
            city, path, event_sets=event_sets, curve=curve, answers=demo_answers()
        )
    assert maturity is not None  # answers were given
    return result, maturity, block
