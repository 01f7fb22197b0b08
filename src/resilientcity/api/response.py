"""Plans, activations, tasks and incidents over HTTP (thin: the logic is in ``operations``).

Every write runs in one store transaction with its audit entry. Errors: 401 without a token
where one is needed, 403 for a role or agency that may not do it, 404 for an unknown id, 409
for a change the current state does not allow, 422 for bad fields (named), 429 with
``Retry-After`` when a client sends too many public reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from resilientcity.api.auth import Authenticated, ServiceDep, current_principal, require
from resilientcity.api.errors import http_errors, problem_details, too_many_requests
from resilientcity.api.schemas import PathId, UtcTime
from resilientcity.errors import ValidationError
from resilientcity.operations.access import Principal
from resilientcity.operations.incident_dispatch import dispatch_incidents
from resilientcity.operations.incidents import (
    CATEGORIES,
    MAX_DESCRIPTION,
    MAX_PEOPLE,
    RateLimited,
    city_bounds,
    incident_by_id,
    incidents,
    report_incident,
    triage_incident,
)
from resilientcity.operations.models import Incident, PlanActivation, Task, iso_utc, utcnow
from resilientcity.operations.response import (
    OPEN_TASK_STATES,
    activate_plan,
    stand_down,
    update_task,
)
from resilientcity.operations.response_queries import (
    activation_tasks,
    activations,
    plan_id_of,
    plans,
    task_agency,
    tasks,
)
from resilientcity.twin.city import City
from resilientcity.vocabulary import IncidentStatus, TaskStatus

__all__ = ["router"]

router = APIRouter()


Staff = Annotated[Principal, Depends(require("admin", "operator", "analyst"))]
Responder = Annotated[Principal, Depends(require("admin", "operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Category = Literal[
    "flooding",
    "waterlogging",
    "building_collapse",
    "fire",
    "power_outage",
    "water_outage",
    "road_blocked",
    "trapped_people",
    "injury",
    "landslide",
    "other",
]
_LIMIT = Query(default=500, ge=1, le=5000, description="at most this many rows, newest first")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActivationIn(_Body):
    """A plan activated by hand."""

    plan_id: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)


class TaskUpdate(_Body):
    """A change of a task's status and/or a note."""

    status: TaskStatus | None = None
    note: str | None = Field(default=None, max_length=4000)


class IncidentReport(_Body):
    """A citizen's report (no token needed)."""

    category: Category
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    lon: StrictFloat = Field(ge=-180, le=180, description="WGS84 longitude, inside the city")
    lat: StrictFloat = Field(ge=-90, le=90, description="WGS84 latitude, inside the city")
    people: StrictInt = Field(default=0, ge=0, le=MAX_PEOPLE, description="people affected")


class IncidentTriage(_Body):
    """A triage decision."""

    status: Literal["new", "triaged", "resolved", "rejected"] | None = None
    priority: StrictFloat | None = Field(default=None, ge=0, le=1e6)
    agency: str | None = Field(default=None, min_length=1, max_length=64)


@contextmanager
def _mapped() -> Iterator[None]:
    """Turn the operations' exceptions into HTTP errors (the router answers its own 422s)."""
    with http_errors():
        try:
            yield
        except ValidationError as exc:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, detail=problem_details(exc)
            ) from None
        except RateLimited as exc:
            raise too_many_requests(str(exc), exc.retry_after_s) from None


def _task(task: Task, plan_id: str, now: datetime) -> dict[str, Any]:
    return {
        "id": task.id,
        "activation_id": task.activation_id,
        "plan_id": plan_id,
        "task": task.plan_task,
        "agency": task.agency_id,
        "text_zh": task.text_zh,
        "text_en": task.text_en,
        "depends_on": list(task.depends_on),
        "deadline": iso_utc(task.deadline),
        "status": task.status,
        "overdue": task.status in OPEN_TASK_STATES and task.deadline < now,
        "escalated_at": iso_utc(task.escalated_at),
        "note": task.note,
        "created_at": iso_utc(task.created_at),
        "updated_at": iso_utc(task.updated_at),
    }


def _activation(activation: PlanActivation, rows: Sequence[Task], now: datetime) -> dict[str, Any]:
    """An activation with its tasks."""
    return {
        "id": activation.id,
        "plan_id": activation.plan_id,
        "warning_id": activation.warning_id,
        "activated_at": iso_utc(activation.activated_at),
        "reason": activation.reason,
        "status": activation.status,
        "stood_down_at": iso_utc(activation.stood_down_at),
        "tasks": [_task(t, activation.plan_id, now) for t in rows],
    }


def _incident(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "source": incident.source,
        "category": incident.category,
        "category_zh": CATEGORIES.get(incident.category, ("", ""))[0],
        "category_en": CATEGORIES.get(incident.category, ("", ""))[1],
        "description": incident.description,
        "lon": incident.lon,
        "lat": incident.lat,
        "people": incident.people,
        "reported_at": iso_utc(incident.reported_at),
        "status": incident.status,
        "priority": incident.priority,
        "duplicate_of": incident.duplicate_of,
        "reports": incident.reports,
        "datastream_id": incident.datastream_id,
        "agency": incident.agency_id,
        "dispatch": incident.dispatch,
        "updated_at": iso_utc(incident.updated_at),
    }


_BOUNDS: dict[int, tuple[City, tuple[float, float, float, float]]] = {}


def _bounds(city: City) -> tuple[float, float, float, float]:
    """The city's WGS84 extent, computed once per city."""
    known = _BOUNDS.get(id(city))
    if known is None or known[0] is not city:
        known = _BOUNDS[id(city)] = (city, city_bounds(city))
    return known[1]


@router.get("/api/plans", tags=["plans"])
def list_plans(service: ServiceDep, principal: Authenticated) -> list[dict[str, Any]]:
    """The contingency plans in the store, with their triggers and tasks."""
    with service.db.read() as session:
        rows = plans(session)
        return [
            {
                "id": r.id,
                "family": r.family,
                "level": r.level,
                "name_zh": r.name_zh,
                "name_en": r.name_en,
                "spec": r.spec,
            }
            for r in rows
        ]


@router.get("/api/activations", tags=["plans"])
def list_activations(
    service: ServiceDep,
    principal: Staff,
    status_: Annotated[Literal["active", "stood_down"] | None, Query(alias="status")] = None,
    limit: int = _LIMIT,
) -> list[dict[str, Any]]:
    """Plan activations (newest first) with their tasks.

    All tasks for admins and analysts, its agency's for an operator (as ``GET /api/tasks``).
    """
    now = utcnow()
    agency = task_agency(principal)
    with service.db.read() as session:
        return [
            _activation(a, activation_tasks(session, a.id, agency), now)
            for a in activations(session, status_, limit)
        ]


@router.post("/api/activations", tags=["plans"], status_code=status.HTTP_201_CREATED)
def create_activation(body: ActivationIn, service: ServiceDep, principal: Admin) -> dict[str, Any]:
    """Activate a plan by hand (admin), creating its tasks."""
    now = utcnow()
    with _mapped(), service.db.write() as session:
        activation = activate_plan(session, body.plan_id, principal, body.reason, now)
        return _activation(activation, activation_tasks(session, activation.id), now)


@router.post("/api/activations/{activation_id}/stand-down", tags=["plans"])
def stand_down_activation(
    activation_id: PathId, service: ServiceDep, principal: Admin
) -> dict[str, Any]:
    """Stand a plan activation down (admin); its open tasks are cancelled."""
    now = utcnow()
    with _mapped(), service.db.write() as session:
        activation = stand_down(session, activation_id, principal, now)
        return _activation(activation, activation_tasks(session, activation.id), now)


@router.get("/api/tasks", tags=["tasks"])
def list_tasks(
    service: ServiceDep,
    principal: Staff,
    status_: Annotated[
        TaskStatus | None,
        Query(alias="status"),
    ] = None,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    limit: int = _LIMIT,
) -> list[dict[str, Any]]:
    """Tasks (newest first): all for admins and analysts, its agency's for an operator."""
    with _mapped():
        agency = task_agency(principal, agency)
    now = utcnow()
    with service.db.read() as session:
        rows = tasks(session, now, status_, agency, overdue, limit)
        return [_task(task, plan_id, now) for task, plan_id in rows]


@router.patch("/api/tasks/{task_id}", tags=["tasks"])
def patch_task(
    task_id: PathId, body: TaskUpdate, service: ServiceDep, principal: Responder
) -> dict[str, Any]:
    """Acknowledge, start, complete or annotate a task (its agency's operator, or an admin)."""
    now = utcnow()
    with _mapped(), service.db.write() as session:
        task = update_task(session, task_id, principal, body.status, body.note, now)
        return _task(task, plan_id_of(session, task), now)


@router.post(
    "/api/incidents",
    tags=["incidents"],
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(current_principal)],  # a bad Authorization header is refused
)
def post_incident(body: IncidentReport, request: Request, service: ServiceDep) -> dict[str, Any]:
    """Report an incident (public, no token). Rate-limited per client address."""
    host = request.client.host if request.client is not None else "unknown"
    client_key = hashlib.sha256(host.encode()).hexdigest()
    bounds = _bounds(request.app.state.city)
    limit = service.settings.public_reports_per_hour
    with _mapped(), service.db.write() as session:
        incident = report_incident(session, body.model_dump(), client_key, utcnow(), bounds, limit)
        return {
            "id": incident.id,
            "status": incident.status,
            "duplicate_of": incident.duplicate_of,
        }


@router.get("/api/incidents", tags=["incidents"])
def list_incidents(
    service: ServiceDep,
    principal: Staff,
    status_: Annotated[
        IncidentStatus | None,
        Query(alias="status"),
    ] = None,
    category: Category | None = None,
    since: Annotated[UtcTime | None, Query(description="Reported at or after")] = None,
    limit: int = _LIMIT,
) -> list[dict[str, Any]]:
    """Incidents (newest first), optionally of one status or category, reported since a time."""
    with service.db.read() as session:
        return [_incident(i) for i in incidents(session, status_, category, since, limit)]


@router.post("/api/incidents/dispatch", tags=["incidents"])
def post_dispatch(request: Request, service: ServiceDep, principal: Responder) -> dict[str, Any]:
    """Send rescue teams to the triaged incidents (runs in a worker thread)."""
    city = request.app.state.city
    with _mapped(), service.db.write() as session:
        return dispatch_incidents(session, city, principal, utcnow())


@router.get("/api/incidents/{incident_id}", tags=["incidents"])
def get_incident(incident_id: PathId, service: ServiceDep, principal: Staff) -> dict[str, Any]:
    """One incident."""
    with _mapped(), service.db.read() as session:
        return _incident(incident_by_id(session, incident_id))


@router.patch("/api/incidents/{incident_id}", tags=["incidents"])
def patch_incident(
    incident_id: PathId, body: IncidentTriage, service: ServiceDep, principal: Responder
) -> dict[str, Any]:
    """Triage an incident: status, priority, agency (admin or operator)."""
    now = utcnow()
    with _mapped(), service.db.write() as session:
        incident = triage_incident(
            session, incident_id, principal, body.status, body.priority, body.agency, now
        )
        return _incident(incident)
