"""Scenario runs over HTTP: request one, follow its progress, read its results.

``POST /api/scenarios`` (admin, analyst, operator) queues a run of one hazard on the service's
city and answers 202 with the job's id; ``GET /api/scenarios/{id}`` gives its status, progress
and, once done, its result (summary, map layers, losses, evacuation, relief, recovery curves);
``GET /api/scenarios`` lists the runs kept, newest first (any token);
``GET /api/scenarios/options`` (any token) says which hazards the city can run, with the ranges
and defaults of each field, made from the city's own data
(:func:`~resilientcity.operations.scenario_options.scenario_options`; requests are checked
against the same). On the demo city a run is the demo's scenario with the requested hazard; on
a user's twin (``serve --twin``) :func:`~resilientcity.pipeline.twin_scenario`. The runs are worked off
one at a time by :class:`~resilientcity.operations.scenario_jobs.ScenarioJobs` (kept on
``app.state.scenario_jobs`` by :func:`resilientcity.api.web.install_web`).
"""

from __future__ import annotations

from pathlib import Path as PathType
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request, status

from resilientcity.api.auth import Authenticated, ServiceDep, require
from resilientcity.api.city_cache import CityCache
from resilientcity.api.errors import too_many_requests
from resilientcity.operations.access import Principal, audit
from resilientcity.operations.scenario_jobs import QueueFull, ScenarioJobs
from resilientcity.operations.scenario_options import scenario_options
from resilientcity.operations.scenario_requests import ScenarioRequest
from resilientcity.operations.service import ServiceSettings
from resilientcity.pipeline import demo_scenario
from resilientcity.scenario.config import Scenario
from resilientcity.twin.city import City

__all__ = ["city_options", "get_jobs", "router"]

router = APIRouter(tags=["scenarios"])

Runner = Annotated[Principal, Depends(require("admin", "analyst", "operator"))]
JobId = Annotated[str, Path(min_length=1, max_length=64, description="Id of the run")]

_EXAMPLES = {
    "river_flood": {"value": {"hazard": "river_flood", "stage_m": 39.5}},
    "rainstorm": {"value": {"hazard": "rainstorm", "return_period": 100, "duration_h": 2}},
    "earthquake": {"value": {"hazard": "earthquake", "magnitude": 6.5, "lon": 113.1, "lat": 28.1}},
    "typhoon": {
        "value": {
            "hazard": "typhoon",
            "track": [
                [114.6, 26.6, "2026-07-20T00:00:00Z", 970, 1008, 40],
                [113.4, 27.8, "2026-07-20T12:00:00Z", 975, 1008, 45],
                [112.4, 28.8, "2026-07-21T00:00:00Z", 982, 1008, 50],
            ],
        }
    },
}


def get_jobs(request: Request) -> ScenarioJobs:
    """The scenario queue of the application."""
    jobs: ScenarioJobs = request.app.state.scenario_jobs
    return jobs


def service_city(request: Request) -> City:
    """The city of the service (503 before the application has started)."""
    city: City | None = request.app.state.city
    if city is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the city is still loading")
    return city


Jobs = Annotated[ScenarioJobs, Depends(get_jobs)]
ServiceCity = Annotated[City, Depends(service_city)]

_OPTIONS: CityCache[dict[str, Any]] = CityCache(size=4)


def city_options(city: City, settings: ServiceSettings) -> dict[str, Any]:
    """The scenario options of the service's city (the demo's defaults without a twin), cached."""
    demo = settings.twin is None
    return _OPTIONS.get(city, lambda c: scenario_options(c, demo=demo), key=demo)


def _base(settings: ServiceSettings) -> Scenario | PathType:
    """The demo's scenario, or the twin's path (:func:`resilientcity.pipeline.twin_scenario`)."""
    return demo_scenario(settings.city_size) if settings.twin is None else settings.twin


@router.post("/api/scenarios", status_code=status.HTTP_202_ACCEPTED)
def post_scenario(
    body: Annotated[ScenarioRequest, Body(openapi_examples=_EXAMPLES)],
    service: ServiceDep,
    principal: Runner,
    jobs: Jobs,
    city: ServiceCity,
) -> dict[str, Any]:
    """Queue a scenario run of one hazard on the city (runs one at a time, in order)."""
    owner = principal.name if principal.user_id is None else str(principal.user_id)
    settings = service.settings
    try:
        job = jobs.submit(body, _base(settings), city, owner, city_options(city, settings))
    except QueueFull as exc:
        raise too_many_requests(str(exc), exc.retry_after_s) from None
    with service.db.write() as session:
        audit(session, principal, "scenario.run", "scenario", job.id, job.request)
    return {"id": job.id, "status": "queued"}


@router.get("/api/scenarios")
def list_scenarios(principal: Authenticated, jobs: Jobs) -> list[dict[str, Any]]:
    """The runs kept in this process, newest first (without their results)."""
    return [job.state(with_result=False) for job in jobs.jobs()]


@router.get("/api/scenarios/options")
def get_options(principal: Authenticated, service: ServiceDep, city: ServiceCity) -> dict[str, Any]:
    """The hazards the city can run (or why not), each field's range and default.

    Ranges come from the city's own data: the river stage from its DEM's ground elevations
    (river flood only with a DEM and rivers), the rainstorm's return periods and durations from
    its region's rainfall (with a DEM), the earthquake's default epicentre at the city's centre
    and a default windstorm track across it. ``POST /api/scenarios`` refuses what lies outside.
    """
    return city_options(city, service.settings)


@router.get("/api/scenarios/{job_id}")
def get_scenario(job_id: JobId, principal: Authenticated, jobs: Jobs) -> dict[str, Any]:
    """One run: status, progress (0–1), the step running, the error, and the result when done."""
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no scenario run with id {job_id}")
    return job.state()
