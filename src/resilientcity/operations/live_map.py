"""What the web page's live map shows from the store.

Sensors with their latest values and warning levels, and the open incidents.

The functions read through a caller's :class:`~sqlalchemy.orm.Session` and return JSON-ready
dictionaries with WGS84 ``lon``/``lat`` (the API adds the twin's ``x``/``y``); times are ISO
8601 strings in UTC (``...Z``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from resilientcity.operations.access import Principal, readable_datastreams
from resilientcity.operations.incidents import OPEN_STATES
from resilientcity.operations.models import (
    Datastream,
    Incident,
    LiveWarning,
    Observation,
    Sensor,
    iso_utc,
)
from resilientcity.vocabulary import LEVELS

__all__ = ["active_stream_levels", "latest_observations", "live_sensors", "open_incidents"]


def latest_observations(
    session: Session, readable: set[int] | None
) -> dict[int, tuple[datetime, float]]:
    """The latest observation of every datastream in ``readable``.

    Parameters
    ----------
    session
        An open session of the store.
    readable
        Datastream ids to look at; ``None``: all of them.

    Returns
    -------
    dict[int, tuple[datetime, float]]
        Datastream id → (phenomenon time, result) of its latest observation; datastreams
        without observations are left out.
    """
    if readable is not None and not readable:
        return {}
    last = select(
        Observation.datastream_id.label("ds"), func.max(Observation.phenomenon_time).label("t")
    ).group_by(Observation.datastream_id)
    if readable is not None:
        last = last.where(Observation.datastream_id.in_(sorted(readable)))
    sub = last.subquery()
    query = select(Observation.datastream_id, Observation.phenomenon_time, Observation.result).join(
        sub, and_(Observation.datastream_id == sub.c.ds, Observation.phenomenon_time == sub.c.t)
    )
    return {int(d): (t, float(r)) for d, t, r in session.execute(query)}


def active_stream_levels(session: Session) -> dict[int, str]:
    """The highest level of the active warnings of every datastream that has one.

    Parameters
    ----------
    session
        An open session of the store.

    Returns
    -------
    dict[int, str]
        Datastream id → warning level (one of :data:`resilientcity.warning.LEVELS`).
    """
    rank: dict[str, int] = {level: k for k, level in enumerate(LEVELS)}
    out: dict[int, str] = {}
    query = select(LiveWarning.datastream_id, LiveWarning.level).where(
        LiveWarning.status == "active"
    )
    for stream, level in session.execute(query):
        if rank.get(level, 0) > rank.get(out.get(stream, "none"), 0):
            out[int(stream)] = level
    return out


def live_sensors(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Every sensor with its datastreams, their latest values and warning levels.

    Parameters
    ----------
    session
        An open session of the store.
    principal
        The caller: ``latest`` is ``null`` for the datastreams it may not read.

    Returns
    -------
    list[dict[str, Any]]
        One item per sensor, by id: ``id``, ``name``, ``kind``, ``lon``, ``lat``, ``agency``,
        ``asset_id``, ``datastreams`` (``id``, ``name``, ``observed_property``, ``unit``,
        ``latest`` as ``{"time", "result"}`` or ``None``, ``warning_level``) and ``level``,
        the highest level of its datastreams (``"none"`` without warnings).
    """
    readable = readable_datastreams(session, principal)
    latest = latest_observations(session, readable)
    levels = active_stream_levels(session)
    sensors = session.scalars(select(Sensor).order_by(Sensor.id)).all()
    streams: dict[int, list[dict[str, Any]]] = {s.id: [] for s in sensors}
    for d in session.scalars(select(Datastream).order_by(Datastream.id)):
        last = latest.get(d.id)
        streams.setdefault(d.sensor_id, []).append(
            {
                "id": d.id,
                "name": d.name,
                "observed_property": d.observed_property,
                "unit": d.unit,
                "latest": None if last is None else {"time": iso_utc(last[0]), "result": last[1]},
                "warning_level": levels.get(d.id, "none"),
            }
        )
    rank = {level: k for k, level in enumerate(LEVELS)}
    out = []
    for s in sensors:
        own = streams[s.id]
        level = max((d["warning_level"] for d in own), key=rank.__getitem__, default="none")
        out.append(
            {
                "id": s.id,
                "name": s.name,
                "kind": s.kind,
                "lon": s.lon,
                "lat": s.lat,
                "agency": s.agency_id,
                "asset_id": s.asset_id,
                "datastreams": own,
                "level": level,
            }
        )
    return out


def open_incidents(session: Session) -> list[dict[str, Any]]:
    """The incidents that are not closed (:data:`~resilientcity.operations.incidents.OPEN_STATES`).

    Parameters
    ----------
    session
        An open session of the store.

    Returns
    -------
    list[dict[str, Any]]
        Newest first: ``id``, ``category``, ``status``, ``lon``, ``lat``, ``reported_at``
        (ISO 8601), ``people``, ``priority`` and ``reports``.
    """
    query = select(Incident).where(Incident.status.in_(OPEN_STATES)).order_by(Incident.id.desc())
    return [
        {
            "id": i.id,
            "category": i.category,
            "status": i.status,
            "lon": i.lon,
            "lat": i.lat,
            "reported_at": iso_utc(i.reported_at),
            "people": i.people,
            "priority": i.priority,
            "reports": i.reports,
        }
        for i in session.scalars(query).all()
    ]
