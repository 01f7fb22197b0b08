"""The resilience assessment of the service's city and its districts.

``GET /api/resilience`` (any token): the assessment of the city and its districts
(:func:`~resilientcity.assessment.run.demo_assessment` of the latest finished scenario run,
or of the demo's default scenario run once on the city when none has finished yet), cached
per city and run.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import pandas as pd
from fastapi import APIRouter

from resilientcity.api.auth import Authenticated, ServiceDep
from resilientcity.api.city_cache import CityCache
from resilientcity.api.scenarios import Jobs, ServiceCity
from resilientcity.operations.scenario_jobs import ScenarioJobs
from resilientcity.report.web_layers import resilience_json
from resilientcity.scenario.run import ScenarioRun
from resilientcity.twin.city import City

__all__ = ["resilience", "router"]

router = APIRouter(tags=["web"])

#: Cities whose derived data are cached at a time.
_CACHED_CITIES = 4


def _baseline_run(city: City, size: str) -> ScenarioRun:
    """The demo's default scenario on ``city`` (the assessment needs a run), without the
    repair-policy comparison (the assessment does not use it)."""
    from resilientcity.pipeline import demo_scenario
    from resilientcity.scenario.run import run_scenario

    scenario = demo_scenario(size)
    recovery = scenario.recovery.model_copy(update={"compare_policies": False})
    return run_scenario(scenario.model_copy(update={"recovery": recovery}), city=city)


def _typed_trend(city: City) -> pd.DataFrame | None:
    """Scores of every year of the demo's typed-in table on one scale (units × years)."""
    from resilientcity.assessment.data import read_indicator_table
    from resilientcity.assessment.from_twin import district_population
    from resilientcity.assessment.indicators import IndicatorLibrary
    from resilientcity.assessment.run import assess

    library = IndicatorLibrary.default()
    population = district_population(city)
    table = resources.files("resilientcity").joinpath("data", "assessment", "demo_districts.csv")
    with resources.as_file(table) as path:
        typed = read_indicator_table(path, library, units=population.index)
    result = assess(typed, library, samples=0, population=population, drop_constant=True)
    return result.trend


class _Resilience:
    """The assessment JSON per city and scenario run, computed once (callers wait)."""

    def __init__(self) -> None:
        self._items: CityCache[dict[str, Any]] = CityCache(size=_CACHED_CITIES)
        self._baselines: CityCache[ScenarioRun] = CityCache(size=_CACHED_CITIES)

    def _run(self, city: City, jobs: ScenarioJobs, size: str) -> tuple[str | None, ScenarioRun]:
        """The latest finished run on ``city`` and its id, or the demo scenario's (id ``None``)."""
        latest = jobs.latest_run()
        if latest is not None and latest[1].city is city:
            return latest
        return None, self._baselines.get(city, lambda c: _baseline_run(c, size), key=size)

    def get(self, city: City, jobs: ScenarioJobs, size: str) -> dict[str, Any]:
        """The assessment JSON of ``city`` with its latest finished run (or the baseline's)."""
        from resilientcity.assessment.run import demo_assessment

        run_id, run = self._run(city, jobs, size)

        def build(city: City) -> dict[str, Any]:
            result, maturity, _ = demo_assessment(city, run)
            source = {"scenario_id": run_id, "name": run.scenario.name}
            return {**resilience_json(result, maturity, _typed_trend(city)), "run": source}

        return self._items.get(city, build, key=run_id or "")


_RESILIENCE = _Resilience()


@router.get("/api/resilience")
def resilience(
    principal: Authenticated, service: ServiceDep, city: ServiceCity, jobs: Jobs
) -> dict[str, Any]:
    """Resilience scores of the city and its districts, weak spots, maturity level and trends.

    The assessment of :func:`~resilientcity.assessment.run.demo_assessment` with the latest
    finished scenario run (or, before any, the demo's default scenario run once on the city);
    ``trend`` scores the years of the typed-in district table on one scale.
    """
    return _RESILIENCE.get(city, jobs, service.settings.city_size)
