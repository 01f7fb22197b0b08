"""Things (sensors), their datastreams and their observations: reading within reach, adding.

Who reads what (:func:`~resilientcity.operations.access.readable_datastreams`): admins and
analysts read every datastream; an operator reads its agency's datastreams and those shared with
its agency by a grant. A datastream out of reach is :class:`Forbidden` (naming the owner agency),
not :class:`NotFound`; a thing is within reach when one of its datastreams is. Things and
datastreams are added by administrators, audited in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from resilientcity.errors import Problem, ValidationError
from resilientcity.operations.access import (
    Principal,
    agency_problem,
    audit,
    readable_datastreams,
)
from resilientcity.operations.models import Datastream, Observation, Sensor
from resilientcity.operations.response import Conflict, Forbidden, NotFound

__all__ = [
    "add_datastream",
    "add_thing",
    "datastream_in_reach",
    "datastreams_page",
    "observations_of",
    "thing_in_reach",
    "thing_streams",
    "things_page",
]

#: The datastreams of each thing: ``(datastream id, name)`` by datastream id.
ThingStreams = dict[int, list[tuple[int, str]]]


def _count(session: Session, query: Select[Any]) -> int:
    """Rows ``query`` selects."""
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def thing_streams(
    session: Session, sensor_ids: Sequence[int], readable: set[int] | None
) -> ThingStreams:
    """The datastreams of each sensor of ``sensor_ids`` among ``readable`` (``None``: all)."""
    query = select(Datastream.sensor_id, Datastream.id, Datastream.name).where(
        Datastream.sensor_id.in_(sensor_ids)
    )
    out: ThingStreams = {i: [] for i in sensor_ids}
    for sensor_id, stream_id, name in session.execute(query.order_by(Datastream.id)):
        if readable is None or stream_id in readable:
            out[sensor_id].append((stream_id, name))
    return out


def things_page(
    session: Session, principal: Principal, skip: int, top: int
) -> tuple[int, Sequence[Sensor], ThingStreams]:
    """One page of the sensors ``principal`` may read (those with a readable datastream).

    Returns
    -------
    tuple
        The number of such sensors in all, the page's sensors by id (``top`` from ``skip``),
        and each one's readable datastreams (:func:`thing_streams`).
    """
    readable = readable_datastreams(session, principal)
    query = select(Sensor)
    if readable is not None:
        visible = select(Datastream.sensor_id).where(Datastream.id.in_(sorted(readable)))
        query = query.where(Sensor.id.in_(visible))
    total = _count(session, query)
    sensors = session.scalars(query.order_by(Sensor.id).offset(skip).limit(top)).all()
    return total, sensors, thing_streams(session, [s.id for s in sensors], readable)


def thing_in_reach(
    session: Session, principal: Principal, thing_id: int
) -> tuple[Sensor, list[tuple[int, str]]]:
    """One sensor with the datastreams of it that ``principal`` may read.

    Raises
    ------
    NotFound
        No such sensor.
    Forbidden
        ``principal`` may read none of its datastreams.
    """
    sensor = session.get(Sensor, thing_id)
    if sensor is None:
        raise NotFound(f"no thing with @iot.id {thing_id}")
    readable = readable_datastreams(session, principal)
    streams = thing_streams(session, [sensor.id], readable)[sensor.id]
    if readable is not None and not streams:
        raise Forbidden(
            f"thing {sensor.name} belongs to agency {sensor.agency_id}; agency "
            f"{principal.agency_id} needs a data grant from {sensor.agency_id} to read it"
        )
    return sensor, streams


def _check_agency(session: Session, agency: str, layer: str) -> None:
    """Raise a :class:`ValidationError` naming the known agencies unless ``agency`` is one."""
    if unknown := agency_problem(session, agency, layer):
        raise ValidationError([unknown], what=layer)


def add_thing(
    session: Session,
    principal: Principal,
    *,
    name: str,
    kind: str,
    agency: str,
    description: str = "",
    lon: float | None = None,
    lat: float | None = None,
    asset_id: str = "",
    properties: dict[str, Any] | None = None,
) -> Sensor:
    """Add a sensor owned by ``agency`` (flushed, with its id), audited.

    Raises
    ------
    ValidationError
        An unknown agency (the known ones are named).
    Conflict
        A sensor of that name exists.
    """
    _check_agency(session, agency, "Thing")
    if session.scalar(select(Sensor.id).where(Sensor.name == name)) is not None:
        raise Conflict(f"a thing named {name} exists")
    sensor = Sensor(
        name=name,
        kind=kind,
        description=description,
        agency_id=agency,
        lon=lon,
        lat=lat,
        asset_id=asset_id,
        properties={} if properties is None else properties,
    )
    session.add(sensor)
    session.flush()
    audit(session, principal, "create", "thing", sensor.id, {"name": sensor.name})
    return sensor


def datastreams_page(
    session: Session, principal: Principal, skip: int, top: int
) -> tuple[int, Sequence[Datastream]]:
    """The number of datastreams ``principal`` may read, and one page of them by id."""
    readable = readable_datastreams(session, principal)
    query = select(Datastream)
    if readable is not None:
        query = query.where(Datastream.id.in_(sorted(readable)))
    total = _count(session, query)
    return total, session.scalars(query.order_by(Datastream.id).offset(skip).limit(top)).all()


def datastream_in_reach(session: Session, principal: Principal, datastream_id: int) -> Datastream:
    """One datastream that ``principal`` may read.

    Raises
    ------
    NotFound
        No such datastream.
    Forbidden
        The datastream is out of reach (the message names its owner agency and how to get a
        grant).
    """
    found = session.get(Datastream, datastream_id)
    if found is None:
        raise NotFound(f"no datastream with @iot.id {datastream_id}")
    readable = readable_datastreams(session, principal)
    if readable is None or found.id in readable:
        return found
    owner = found.sensor.agency_id
    raise Forbidden(
        f"datastream {found.id} ({found.name}) belongs to agency {owner}; agency "
        f"{principal.agency_id} needs a data grant from {owner} to read it (POST /api/grants)"
    )


def add_datastream(
    session: Session,
    principal: Principal,
    *,
    thing_id: int,
    observed_property: str,
    unit: str,
    min_value: float,
    max_value: float,
    name: str | None = None,
    description: str = "",
) -> Datastream:
    """Add a datastream to a sensor (flushed, with its id), audited.

    ``name`` defaults to ``SENSOR:OBSERVED_PROPERTY``.

    Raises
    ------
    ValidationError
        No sensor ``thing_id``.
    Conflict
        The name is taken, or the sensor has a datastream of that observed property.
    """
    sensor = session.get(Sensor, thing_id)
    if sensor is None:
        problem = Problem("Datastream", "thing_id", "the @iot.id of a thing", found=str(thing_id))
        raise ValidationError([problem], what="datastream")
    name = name or f"{sensor.name}:{observed_property}"
    taken = session.scalar(
        select(Datastream.name).where(
            (Datastream.name == name)
            | (
                (Datastream.sensor_id == sensor.id)
                & (Datastream.observed_property == observed_property)
            )
        )
    )
    if taken is not None:
        raise Conflict(
            f"datastream {taken} exists (names are unique, and one datastream per thing "
            "and observed property)"
        )
    stream = Datastream(
        name=name,
        sensor_id=sensor.id,
        observed_property=observed_property,
        unit=unit,
        min_value=min_value,
        max_value=max_value,
        description=description,
    )
    session.add(stream)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"datastream {name} exists") from None
    audit(session, principal, "create", "datastream", stream.id, {"name": name})
    return stream


def observations_of(
    session: Session,
    principal: Principal,
    datastream_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    skip: int = 0,
    limit: int = 100,
) -> Sequence[Observation]:
    """Observations of a datastream ``principal`` may read, newest first.

    Parameters
    ----------
    session
        A session.
    principal
        The reader.
    datastream_id
        The datastream.
    start, end
        Only observations with ``start <= phenomenon_time < end`` (``None``: no bound).
    skip
        Observations to skip (newest first).
    limit
        At most this many observations.

    Raises
    ------
    NotFound, Forbidden
        As :func:`datastream_in_reach`.
    """
    datastream_in_reach(session, principal, datastream_id)
    query = select(Observation).where(Observation.datastream_id == datastream_id)
    if start is not None:
        query = query.where(Observation.phenomenon_time >= start)
    if end is not None:
        query = query.where(Observation.phenomenon_time < end)
    query = query.order_by(Observation.phenomenon_time.desc()).offset(skip).limit(limit)
    return session.scalars(query).all()
