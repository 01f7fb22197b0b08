"""Incidents: citizens' reports, sensor-raised incidents, triage, de-duplication and dispatch.

**Public reports** (:func:`report_incident`) are validated field by field (category from
:data:`CATEGORIES`, description of at most :data:`MAX_DESCRIPTION` characters, a location inside
the city's bounds, 0–:data:`MAX_PEOPLE` people), rate-limited per client (the SHA-256 of the
client's address: only the digest is stored) by counting that client's incidents of the last
hour in the store, and de-duplicated: a report of the same category within
:data:`DUPLICATE_RADIUS_M` of an open incident (``new``, ``triaged`` or ``dispatched``) reported
less than :data:`DUPLICATE_WINDOW` ago is stored as ``duplicate`` of it, and the original's
``reports`` count goes up. The radius (250 m, about a city block and the accuracy of a phone
location indoors) and the window (2 h, about the time a flooding or fire scene stays open) are
assumptions.

**Sensor incidents** (:func:`sensor_incidents`, a warning hook): a warning issued or escalated
to orange or red on an underpass water depth or river stage datastream opens an incident at the
sensor's place (``waterlogging`` for underpasses, ``flooding`` for the river), or updates the
open incident of that datastream.

**Dispatch** of rescue teams to the triaged incidents is
:func:`~resilientcity.operations.incident_dispatch.dispatch_incidents`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import geopandas as gpd
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resilientcity.errors import Problem, ValidationError
from resilientcity.operations.access import ANONYMOUS, Principal, agency_problem, audit
from resilientcity.operations.models import (
    Datastream,
    Incident,
    WarningEvent,
    utcnow,
)
from resilientcity.operations.response import SYSTEM, Conflict, Forbidden, NotFound
from resilientcity.twin.city import City

__all__ = [
    "CATEGORIES",
    "DUPLICATE_RADIUS_M",
    "DUPLICATE_WINDOW",
    "MAX_DESCRIPTION",
    "MAX_PEOPLE",
    "OPEN_STATES",
    "SENSOR_CATEGORY",
    "RateLimited",
    "city_bounds",
    "incident_by_id",
    "incidents",
    "report_incident",
    "sensor_incidents",
    "triage_incident",
]

#: Incident categories with their Chinese and English labels.
CATEGORIES: dict[str, tuple[str, str]] = {
    "flooding": ("洪水", "Flooding"),
    "waterlogging": ("内涝积水", "Waterlogging"),
    "building_collapse": ("房屋倒塌", "Building collapse"),
    "fire": ("火灾", "Fire"),
    "power_outage": ("停电", "Power outage"),
    "water_outage": ("停水", "Water outage"),
    "road_blocked": ("道路阻断", "Road blocked"),
    "trapped_people": ("人员被困", "Trapped people"),
    "injury": ("人员受伤", "Injury"),
    "landslide": ("山体滑坡", "Landslide"),
    "other": ("其他", "Other"),
}
#: Longest description accepted (characters).
MAX_DESCRIPTION = 2000
#: Most people a report may say are affected.
MAX_PEOPLE = 10_000
#: Incidents that are still being handled (candidates for de-duplication and dispatch).
OPEN_STATES = ("new", "triaged", "dispatched")
#: Two reports of one category closer than this are one incident (assumption, see module).
DUPLICATE_RADIUS_M = 250.0
#: … when the first was reported less than this before (assumption, see module).
DUPLICATE_WINDOW = timedelta(hours=2)
#: Category of the incident a sensor's orange or red warning opens, per observed property.
SENSOR_CATEGORY: dict[str, str] = {
    "underpass_water_depth": "waterlogging",
    "river_stage": "flooding",
}
#: States a triage may set (``dispatched`` only by
#: :func:`~resilientcity.operations.incident_dispatch.dispatch_incidents`).
TRIAGE_STATES = ("new", "triaged", "resolved", "rejected")
_EARTH_RADIUS_M = 6_371_008.8


class RateLimited(Exception):
    """Too many reports from one client in the last hour (HTTP 429).

    Attributes
    ----------
    retry_after_s
        Seconds until the oldest report of the window leaves it.
    """

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def city_bounds(city: City) -> tuple[float, float, float, float]:
    """The city's extent in WGS84: ``(lon_min, lat_min, lon_max, lat_max)``.

    The bounding box of the assets, road nodes and zones, transformed from the city's CRS
    (the box of the transformed box, so it holds every point of the city).
    """
    extent = city.extent()
    if extent is None:
        raise ValidationError(
            [Problem("city", "", "assets, roads or zones that give the city's extent")],
            what="city bounds",
        )
    box = shapely.box(*extent)
    lon0, lat0, lon1, lat1 = gpd.GeoSeries([box], crs=city.crs).to_crs(4326).total_bounds
    return float(lon0), float(lat0), float(lon1), float(lat1)


def _distance_m(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p0, p1 = math.radians(lat0), math.radians(lat1)
    dp, dl = p1 - p0, math.radians(lon1 - lon0)
    h = math.sin(dp / 2) ** 2 + math.cos(p0) * math.cos(p1) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _report_problems(
    report: Mapping[str, Any], bounds: tuple[float, float, float, float]
) -> list[Problem]:
    """Every problem of a public report, each naming its field."""
    problems = []
    category = report.get("category")
    if category not in CATEGORIES:
        expected = f"one of {', '.join(CATEGORIES)}"
        problems.append(Problem("incident", "category", expected, found=repr(category)))
    description = report.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        found = f"{len(description)} characters" if isinstance(description, str) else "not text"
        problems.append(
            Problem("incident", "description", f"text of at most {MAX_DESCRIPTION}", found=found)
        )
    lon0, lat0, lon1, lat1 = bounds
    for name, low, high, axis in (
        ("lon", lon0, lon1, "longitude"),
        ("lat", lat0, lat1, "latitude"),
    ):
        value = _number(report.get(name))
        if value is None or not low <= value <= high:
            expected = f"a WGS84 {axis} inside the city, {low:.5f} to {high:.5f}"
            problems.append(Problem("incident", name, expected, found=repr(report.get(name))))
    people = report.get("people", 0)
    if isinstance(people, bool) or not isinstance(people, int) or not 0 <= people <= MAX_PEOPLE:
        expected = f"a whole number of people affected, 0 to {MAX_PEOPLE:,}"
        problems.append(Problem("incident", "people", expected, found=repr(people)))
    extra = sorted(set(report) - {"category", "description", "lon", "lat", "people"})
    if extra:
        expected = "only category, description, lon, lat, people"
        problems.append(Problem("incident", ", ".join(extra), expected, found="unknown fields"))
    return problems


#: First key of the PostgreSQL advisory locks that serialise one client's reports (a fixed
#: number, "RC" and 1, so that the lock means "rate limit of a client" and nothing else).
_RATE_LOCK_CLASS = 0x52430001


def _check_rate(session: Session, client_key: str, now: datetime, limit_per_hour: int) -> None:
    """Raise :class:`RateLimited` when the client reported ``limit_per_hour`` times already.

    Counting and storing must be one step per client, or two reports sent at once would both
    see the last free place. SQLite's write transactions are serial already; on PostgreSQL a
    transaction-level advisory lock per client (from its key) makes a second report wait
    until the first is committed or rolled back, then count it.
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(client_key.encode()).digest()
        client = int.from_bytes(digest[:4], "big", signed=True)  # two clients alike only wait
        session.execute(select(func.pg_advisory_xact_lock(_RATE_LOCK_CLASS, client)))
    since = now - timedelta(hours=1)
    count, oldest = session.execute(
        select(func.count(), func.min(Incident.reported_at)).where(
            Incident.client_key == client_key, Incident.reported_at > since
        )
    ).one()
    if count >= limit_per_hour:
        wait = (oldest + timedelta(hours=1) - now).total_seconds() if oldest else 3600.0
        retry = max(1, math.ceil(wait))
        raise RateLimited(
            f"at most {limit_per_hour} reports per hour from one address; retry in {retry} s",
            retry,
        )


def _original(
    session: Session, category: str, lon: float, lat: float, now: datetime
) -> Incident | None:
    """The nearest open incident of ``category`` within the radius and window, if any."""
    dlat = math.degrees(DUPLICATE_RADIUS_M / _EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    candidates = session.scalars(
        select(Incident).where(
            Incident.category == category,
            Incident.status.in_(OPEN_STATES),
            Incident.reported_at >= now - DUPLICATE_WINDOW,
            Incident.lat.between(lat - dlat, lat + dlat),
            Incident.lon.between(lon - dlon, lon + dlon),
        )
    ).all()
    near = [
        (d, c.id, c)
        for c in candidates
        if (d := _distance_m(lon, lat, c.lon, c.lat)) <= DUPLICATE_RADIUS_M
    ]
    return min(near, key=lambda t: (t[0], t[1]))[2] if near else None


def report_incident(
    session: Session,
    report: Mapping[str, Any],
    client_key: str,
    now: datetime | None,
    bounds: tuple[float, float, float, float],
    limit_per_hour: int,
) -> Incident:
    """Store a citizen's report (the public endpoint), de-duplicated, audited as anonymous.

    Parameters
    ----------
    session
        A session in a write transaction.
    report
        ``category`` (:data:`CATEGORIES`), ``description`` (optional text), ``lon``, ``lat``
        (WGS84) and ``people`` (optional, whole number).
    client_key
        SHA-256 hex digest of the client's address (the endpoint computes it).
    now
        Receiving time.
    bounds
        The city's extent, ``(lon_min, lat_min, lon_max, lat_max)`` (:func:`city_bounds`).
    limit_per_hour
        Reports accepted per client in any hour.

    Returns
    -------
    Incident
        The stored incident: ``new``, or ``duplicate`` with ``duplicate_of`` set.

    Raises
    ------
    RateLimited
        The client already sent ``limit_per_hour`` reports in the last hour.
    ValidationError
        Every bad field, named, with what is expected (the bounds for lon and lat).
    """
    now = utcnow() if now is None else now
    _check_rate(session, client_key, now, limit_per_hour)
    problems = _report_problems(report, bounds)
    if problems:
        raise ValidationError(problems, what="incident report")
    lon, lat = float(report["lon"]), float(report["lat"])
    category = str(report["category"])
    original = _original(session, category, lon, lat, now)
    incident = Incident(
        source="public",
        category=category,
        description=str(report.get("description", "")),
        lon=lon,
        lat=lat,
        people=int(report.get("people", 0)),
        reported_at=now,
        client_key=client_key,
        status="new" if original is None else "duplicate",
        priority=0.0,
        duplicate_of=None if original is None else original.id,
        reports=1,
        updated_at=now,
    )
    session.add(incident)
    if original is not None:
        original.reports += 1
        original.people = max(original.people, incident.people)
        original.updated_at = now
    session.flush()
    detail = {
        "category": category,
        "status": incident.status,
        "duplicate_of": original and original.id,
    }
    audit(session, ANONYMOUS, "report", "incident", incident.id, detail, now)
    return incident


def sensor_incidents(
    session: Session, events: Sequence[WarningEvent], now: datetime
) -> list[Incident]:
    """Open or update incidents for orange and red warnings on underpasses and rivers (a hook).

    A warning event ``issued`` or ``escalated`` to orange or red on a datastream whose observed
    property is in :data:`SENSOR_CATEGORY` opens an incident of source ``sensor`` at the sensor's
    location, or updates the open sensor incident of that datastream (one per datastream).
    Sensors without a location open none.

    Returns
    -------
    list of Incident
        The incidents opened or updated.
    """
    wanted = [
        e for e in events if e.kind in ("issued", "escalated") and e.to_level in ("orange", "red")
    ]
    out = []
    for event in wanted:
        stream = session.get(Datastream, event.datastream_id)
        if stream is None or stream.observed_property not in SENSOR_CATEGORY:
            continue
        sensor = stream.sensor
        if sensor.lon is None or sensor.lat is None:
            continue
        text = (
            f"{event.to_level} warning {event.rule_id} on {stream.name}: {event.value:g} "
            f"{stream.unit} at {event.time.isoformat()}"
        )
        incident = session.scalars(
            select(Incident).where(
                Incident.source == "sensor",
                Incident.datastream_id == stream.id,
                Incident.status.in_(OPEN_STATES),
            )
        ).first()
        if incident is None:
            incident = Incident(
                source="sensor",
                category=SENSOR_CATEGORY[stream.observed_property],
                description=text,
                lon=sensor.lon,
                lat=sensor.lat,
                people=0,
                reported_at=now,
                client_key="",
                status="new",
                priority=0.0,
                reports=1,
                datastream_id=stream.id,
                updated_at=now,
            )
            session.add(incident)
            action = "open"
        else:
            incident.description = f"{incident.description}\n{text}"
            incident.reports += 1
            incident.updated_at = now
            action = "update"
        session.flush()
        detail = {"datastream": stream.name, "level": event.to_level, "event_id": event.id}
        audit(session, SYSTEM, action, "incident", incident.id, detail, now)
        out.append(incident)
    return out


def triage_incident(
    session: Session,
    incident_id: int,
    principal: Principal,
    status: str | None = None,
    priority: float | None = None,
    agency: str | None = None,
    now: datetime | None = None,
) -> Incident:
    """Triage an incident: set its status, priority and responsible agency, audited.

    Parameters
    ----------
    session
        A session in a write transaction.
    incident_id
        The incident.
    principal
        An admin or an operator.
    status
        One of :data:`TRIAGE_STATES` (``triaged`` makes it a candidate for dispatch; a
        ``duplicate`` set back to ``new`` or ``triaged`` stops being a duplicate).
    priority
        Weight in the dispatch (> 0; 0 means "not set", dispatched with weight 1), at most 10⁶.
    agency
        Id of the agency that handles it.
    now
        Time of the change.

    Raises
    ------
    Forbidden
        Not an admin or operator.
    NotFound
        No such incident.
    ValidationError
        Bad status, priority or agency (named).
    Conflict
        The incident is resolved or rejected already.
    """
    now = utcnow() if now is None else now
    if principal.role not in ("admin", "operator"):
        raise Forbidden(f"role {principal.role} may not triage incidents")
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    problems = []
    if status is not None and status not in TRIAGE_STATES:
        expected = f"one of {', '.join(TRIAGE_STATES)} (dispatched: POST /api/incidents/dispatch)"
        problems.append(Problem("incident", "status", expected, (str(incident_id),), repr(status)))
    if priority is not None and not (math.isfinite(priority) and 0 <= priority <= 1e6):
        problems.append(
            Problem(
                "incident", "priority", "a number 0 to 1e6", (str(incident_id),), repr(priority)
            )
        )
    if agency is not None and (
        unknown := agency_problem(session, agency, "incident", rows=(str(incident_id),))
    ):
        problems.append(unknown)
    if status is None and priority is None and agency is None:
        problems.append(Problem("incident", "status, priority, agency", "at least one of them"))
    if problems:
        raise ValidationError(problems, what="incident triage")
    if incident.status in ("resolved", "rejected") and status not in (None, incident.status):
        raise Conflict(f"incident {incident_id} is {incident.status}: it cannot be reopened")
    before = {
        "status": incident.status,
        "priority": incident.priority,
        "agency": incident.agency_id,
    }
    if status is not None:
        if incident.status == "duplicate" and status in ("new", "triaged"):
            incident.duplicate_of = None
        incident.status = status
    if priority is not None:
        incident.priority = float(priority)
    if agency is not None:
        incident.agency_id = agency
    incident.updated_at = now
    after = {"status": incident.status, "priority": incident.priority, "agency": incident.agency_id}
    audit(session, principal, "triage", "incident", incident_id, {"from": before, "to": after}, now)
    session.flush()
    return incident


def incidents(
    session: Session,
    status: str | None = None,
    category: str | None = None,
    since: datetime | None = None,
    limit: int = 500,
) -> Sequence[Incident]:
    """Incidents, newest first, optionally of one status or category, reported since a time.

    Parameters
    ----------
    session
        A session.
    status
        Only incidents in this status (``None``: any).
    category
        Only incidents of this category (``None``: any).
    since
        Only incidents reported at or after this time (``None``: any time).
    limit
        At most this many incidents.
    """
    query = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Incident.status == status)
    if category is not None:
        query = query.where(Incident.category == category)
    if since is not None:
        query = query.where(Incident.reported_at >= since)
    return session.scalars(query).all()


def incident_by_id(session: Session, incident_id: int) -> Incident:
    """One incident by id.

    Raises
    ------
    NotFound
        No such incident.
    """
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    return incident
