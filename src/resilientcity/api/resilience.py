"""The resilience assessment of the service's city and its districts.

``GET /api/resilience`` (any token): the assessment of the city and its districts
(:func:`~resilientcity.scenario.assessment_stage.run_assessment` of the latest finished
scenario run, or of the demo's default scenario run once on the city when none has finished
yet), cached per city and run. On a user's twin (``serve --twin``) there is no demo baseline
(the demo's river flood and its typed-in district table describe the demo city): the
assessment is that of the latest run (the twin's scenarios carry an ``assessment:`` block
without a table, :func:`~resilientcity.pipeline.twin_scenario`: the city's units scored on the
twin's indicators and the run's), before any run that of the twin alone (its static
indicators, ``run`` null), and when the city has nothing to compare (fewer than two units
with residents, or no indicator that differs between them) the answer says why
(``{"available": false, "reason": "no_units_to_compare", "detail"}``). Without maturity
answers ``maturity_level`` and ``maturity_name`` are null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    """The demo's default scenario on ``city``, without the repair-policy comparison.

    The assessment needs a run; it does not use the comparison.
    """
    from resilientcity.pipeline import demo_scenario
    from resilientcity.scenario.run import run_scenario

    scenario = demo_scenario(size)
    recovery = scenario.recovery.model_copy(update={"compare_policies": False})
    return run_scenario(scenario.model_copy(update={"recovery": recovery}), city=city)


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
        from resilientcity.pipeline import demo_scenario
        from resilientcity.scenario.assessment_stage import run_assessment, typed_trend

        run_id, run = self._run(city, jobs, size)

        def build(city: City) -> dict[str, Any]:
            result, maturity, used = run_assessment(run, demo_scenario(size))
            source = {"scenario_id": run_id, "name": run.scenario.name}
            trend = typed_trend(city, used)
            return {**resilience_json(result, maturity, trend), "run": source}

        return self._items.get(city, build, key=run_id or "")

    def cached(
        self, city: City, build: Callable[[City], dict[str, Any]], key: str
    ) -> dict[str, Any]:
        """A JSON built once per city and run id."""
        return self._items.get(city, build, key=key)


_RESILIENCE = _Resilience()


@router.get("/api/resilience")
def resilience(
    principal: Authenticated, service: ServiceDep, city: ServiceCity, jobs: Jobs
) -> dict[str, Any]:
    """Resilience scores of the city and its districts, weak spots, maturity level and trends.

    The assessment stage of the latest finished scenario run (or, before any, of the demo's
    default scenario run once on the city); a run whose scenario has no ``assessment:`` block
    (or no maturity answers) is assessed with the demo scenario's block
    (:func:`~resilientcity.scenario.assessment_stage.run_assessment`); ``trend`` scores the
    years of the block's typed-in district table on one scale. On a user's twin: the latest
    run's own assessment, else the twin's alone, else ``available: false`` with the reason.
    """
    if service.settings.twin is not None:
        return _twin_resilience(city, jobs)
    return {"available": True, **_RESILIENCE.get(city, jobs, service.settings.city_size)}


def _twin_resilience(city: City, jobs: ScenarioJobs) -> dict[str, Any]:
    """The assessment of a user's twin: its latest run's, else of the twin alone, or why none."""
    from resilientcity.assessment.districts import district_assessment
    from resilientcity.errors import ValidationError
    from resilientcity.scenario.assessment_stage import typed_trend

    latest = jobs.latest_run()
    if latest is not None and latest[1].city is city and latest[1].assessment is not None:
        run_id, run = latest
        assert run.assessment is not None
        result, maturity = run.assessment

        def build(city: City) -> dict[str, Any]:
            trend = typed_trend(city, run.scenario)
            source = {"scenario_id": run_id, "name": run.scenario.name}
            return {**resilience_json(result, maturity, trend), "run": source}

        return {"available": True, **_RESILIENCE.cached(city, build, run_id)}

    def twin_only(city: City) -> dict[str, Any]:
        result, maturity, _, _ = district_assessment(city)
        return {**resilience_json(result, maturity), "run": None}

    try:
        return {"available": True, **_RESILIENCE.cached(city, twin_only, "")}
    except ValidationError as error:
        return {
            "available": False,
            "reason": "no_units_to_compare",
            "detail": f"no assessment of {city.name}: {error}".replace("\n  - ", ": "),
        }
