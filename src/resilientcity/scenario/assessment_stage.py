"""The scenario's assessment stage: its ``assessment:`` block on the run's results.

:func:`assessment_stage` scores the city's units (its districts, or its H3 cells when it has
fewer than two districts) on the twin indicators of the city and the run (event sets, recovery
curves), together with the block's typed-in indicator table when it names one, by the block's
weights and method (:func:`~resilientcity.assessment.districts.district_assessment`); it is
the stage of
:func:`~resilientcity.scenario.run.run_scenario`. :func:`run_assessment` gives the assessment of a
finished run for the service (the run's own stage, or another scenario's ``assessment:`` block
applied to the run's results), and :func:`typed_trend` the scores of every year of a block's
typed-in table on one scale (none without a table).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from resilientcity.assessment.data import read_indicator_table
from resilientcity.assessment.districts import (
    AssessmentSummary,
    Limits,
    district_assessment,
    read_answers,
)
from resilientcity.assessment.from_twin import unit_population
from resilientcity.assessment.indicators import IndicatorLibrary
from resilientcity.assessment.maturity import MaturityResult
from resilientcity.assessment.run import AssessmentResult, WeightSpec, assess
from resilientcity.errors import Problem, ValidationError
from resilientcity.impact.results import EventSetImpact
from resilientcity.recovery.metrics import ServiceCurve
from resilientcity.scenario.config import Scenario
from resilientcity.twin.city import City

if TYPE_CHECKING:
    from resilientcity.scenario.run import ScenarioRun

__all__ = ["assessment_stage", "run_assessment", "typed_trend"]


def _options(scenario: Scenario) -> tuple[str | None, WeightSpec]:
    """The block's table path (``None``: none) and weight spec (paths relative to the file)."""
    options = scenario.assessment
    if options is None:
        raise ValidationError(
            [Problem("scenario", "assessment", "an 'assessment:' block", (scenario.name,))],
            what="scenario",
        )
    table = scenario.resolve(options.table)
    weights: WeightSpec = options.weights if options.weights != "ahp" else "equal"
    matrix = scenario.resolve(options.ahp_matrix)
    if matrix is not None:  # the config allows it with "ahp" or "combined" only
        weights = ("ahp" if options.weights == "ahp" else "combined", matrix)
    return (str(table) if table is not None else None), weights


def assessment_stage(
    city: City,
    scenario: Scenario,
    event_sets: Sequence[EventSetImpact] = (),
    curve: ServiceCurve | None = None,
) -> tuple[AssessmentResult, MaturityResult | None, AssessmentSummary, Limits]:
    """The ``assessment:`` block of ``scenario`` on ``city`` and the run's results.

    Parameters
    ----------
    city
        The city the scenario ran on.
    scenario
        The scenario; its ``assessment`` block names the table, weights, method and answers.
    event_sets, curve
        The run's event sets and recovery service curves (twin indicators that need a run).

    Returns
    -------
    tuple
        See :func:`~resilientcity.assessment.districts.district_assessment`.

    Raises
    ------
    ValidationError
        A scenario without an ``assessment:`` block; invalid table or answers.
    """
    table, weights = _options(scenario)
    options = scenario.assessment
    assert options is not None
    answers = scenario.resolve(options.maturity_answers)
    return district_assessment(
        city,
        table,
        event_sets=event_sets,
        curve=curve,
        weights=weights,
        method=options.method,
        answers=read_answers(answers) if answers is not None else None,
    )


def run_assessment(
    run: ScenarioRun, default: Scenario
) -> tuple[AssessmentResult, MaturityResult, Scenario]:
    """The assessment of a finished run, with its maturity, and the scenario that set it.

    The run's own assessment stage when it has one with a maturity level; otherwise the
    ``assessment:`` block of ``default`` (e.g. the demo scenario) on the run's results.

    Raises
    ------
    ValidationError
        ``default`` has no ``assessment:`` block or no maturity answers.
    """
    if run.assessment is not None and run.assessment[1] is not None:
        return run.assessment[0], run.assessment[1], run.scenario
    curve = run.network.curve if run.network is not None else None
    result, maturity, _, _ = assessment_stage(run.city, default, run.event_sets, curve)
    if maturity is None:
        raise ValidationError(
            [
                Problem(
                    "scenario",
                    "assessment.maturity_answers",
                    "maturity answers for the service's assessment",
                    (default.name,),
                )
            ],
            what="scenario",
        )
    return result, maturity, default


def typed_trend(city: City, scenario: Scenario) -> pd.DataFrame | None:
    """Scores of every year of the ``assessment:`` block's typed-in table on one scale.

    The block's table alone (without the twin's indicators, which exist for one year), scored
    by its weights and method without sensitivity samples.

    Returns
    -------
    pandas.DataFrame or None
        Units × years of scores; ``None`` when the table has one year or there is no table.
    """
    table, weights = _options(scenario)
    options = scenario.assessment
    assert options is not None
    if table is None:
        return None
    library = IndicatorLibrary.default()
    population = unit_population(city)
    typed = read_indicator_table(table, library, units=population.index)
    result = assess(
        typed,
        library,
        weights=weights,
        method=options.method,
        samples=0,
        population=population,
        drop_constant=True,
    )
    return result.trend
