"""The assessment of a city's districts: a typed-in table plus the twin's indicators.

:func:`district_assessment` is the assessment stage of a scenario: the indicator table (every
year of it: the trend) together with
:func:`~resilientcity.assessment.from_twin.twin_indicators` of the city and the scenario's
results for the same districts in the table's latest year, scored by :func:`~resilientcity.
assessment.run.assess` with population-weighted city score; zero-variance indicators (e.g.
every resident within 15 minutes of a hospital) are left out and listed in
:attr:`~resilientcity.assessment.run.AssessmentResult.dropped`. With maturity answers the city
is also placed on the L1–L4 model, the threshold criteria the answers leave open answered from
the city's values (:func:`city_values`).

:func:`demo_assessment` is that stage with the demo's synthetic inputs:
``data/assessment/demo_districts.csv``, entropy weights, TOPSIS and the answers of
``data/assessment/demo_maturity_answers.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
from resilientcity.assessment.from_twin import district_population, twin_indicators
from resilientcity.assessment.indicators import IndicatorLibrary
from resilientcity.assessment.maturity import MaturityResult, assess_maturity
from resilientcity.assessment.run import AssessmentResult, Method, WeightSpec, assess
from resilientcity.errors import DataFileError
from resilientcity.impact.results import EventSetImpact
from resilientcity.recovery.metrics import ServiceCurve
from resilientcity.twin.city import City

__all__ = [
    "DEMO_ANSWERS",
    "DEMO_TABLE",
    "AssessmentSummary",
    "AssessmentTrend",
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


@dataclass(frozen=True)
class UnitScore:
    """One district's score and rank."""

    score: float = field(metadata={"unit": "0–1", "doc": "closeness score, larger is better"})
    rank: int = field(metadata={"doc": "rank among the districts, 1 the best"})


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
        metadata={"unit": "0–1", "doc": "population-weighted mean of the district scores"}
    )
    weakest_dimension: str = field(
        metadata={"doc": "the dimension with the largest mean obstacle degree"}
    )
    maturity_level: int | None = field(
        metadata={"doc": "L1–L4 maturity level (null without maturity answers)"}
    )
    maturity_name: str | None = field(metadata={"doc": "the maturity level's name"})
    units: dict[str, UnitScore] = field(
        metadata={"key": "district", "doc": "district zone_id → score and rank"}
    )
    trend: AssessmentTrend | None = field(
        metadata={"doc": "the trend over the typed-in years (null with one year)"}
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


def district_assessment(
    city: City,
    table: str | PathLike[str],
    *,
    event_sets: Sequence[EventSetImpact] = (),
    curve: ServiceCurve | None = None,
    weights: WeightSpec = "entropy",
    method: Method = "topsis",
    answers: Mapping[str, object] | None = None,
    library: IndicatorLibrary | None = None,
) -> tuple[AssessmentResult, MaturityResult | None, AssessmentSummary]:
    """The assessment of ``city``'s districts (see the module docstring).

    Parameters
    ----------
    city
        The city: its ``district`` zones (with residents) are the units.
    table
        The typed-in indicator table (CSV, long or wide; units are the districts' ids).
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
        :class:`~resilientcity.assessment.maturity.MaturityResult` (``None`` without answers)
        and the :class:`AssessmentSummary`.

    Raises
    ------
    DataFileError, ValidationError
        An unreadable or invalid table (file, row and column named), bad answers.
    """
    lib = library if library is not None else IndicatorLibrary.default()
    population = district_population(city)
    typed = read_indicator_table(table, lib, units=population.index)
    latest = int(typed.frame["year"].max())
    twin = twin_indicators(city, event_sets, curve).assign(year=latest)
    computed = validate_indicator_table(
        twin[["unit", "year", "indicator", "value"]], lib, units=population.index
    )
    # the typed-in years all stay (the trend); the twin's indicators exist for the latest only
    frame = pd.concat([typed.frame, computed.frame], ignore_index=True)
    data = IndicatorData(frame.sort_values(["unit", "year"], kind="stable"), typed.report)
    result = assess(
        data, lib, weights=weights, method=method, population=population, drop_constant=True
    )
    maturity = None
    if answers is not None:
        values = {str(k): float(v) for k, v in city_values(data, population).items()}
        maturity = assess_maturity(answers, indicator_values=values)
    return result, maturity, AssessmentSummary.of(result, maturity)


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
        result, maturity, block = district_assessment(
            city, path, event_sets=event_sets, curve=curve, answers=demo_answers()
        )
    assert maturity is not None  # answers were given
    return result, maturity, block
