"""Sensing endpoints in the spirit of OGC SensorThings API v1.1: things, datastreams, observations.

Things and datastreams here; writing observations and the quarantine are
:mod:`resilientcity.api.observations`, whose routes this module's :data:`router` includes.

Reading: admins and analysts read every datastream; an operator reads its agency's datastreams
and those shared with its agency by a grant (a datastream out of reach is 403, naming the owner
agency, not 404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from resilientcity.api import observations
from resilientcity.api.auth import ServiceDep, require
from resilientcity.api.schemas import (
    DatastreamIn,
    DatastreamOut,
    DatastreamPage,
    IotRef,
    ObservationOut,
    ObservationPage,
    PathId,
    ThingIn,
    ThingOut,
    ThingPage,
    UtcTime,
)
from resilientcity.errors import Problem, ValidationError
from resilientcity.operations.access import (
    Principal,
    audit,
    readable_datastreams,
)
from resilientcity.operations.models import Agency, Datastream, Observation, Sensor

__all__ = ["router"]

router = APIRouter(tags=["sensing"])

#: Most observations accepted in one request (larger batches: 413).
MAX_BATCH = 200_000
#: The components an entity of a CreateObservations body may name.
_COMPONENTS = {"phenomenonTime": "phenomenon_time", "result": "result", "unit": "unit"}

Reader = Annotated[Principal, Depends(require("admin", "operator", "analyst"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Top = Annotated[int, Query(alias="$top", ge=1, le=10_000, description="Page size")]
Skip = Annotated[int, Query(alias="$skip", ge=0, le=10**9, description="Entries to skip")]


def _url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def _next_link(request: Request, top: int, skip: int, more: bool) -> str | None:
    if not more:
        return None
    return str(request.url.include_query_params(**{"$top": top, "$skip": skip + top}))


def _out_of_reach(session: Session, principal: Principal, datastream: Datastream) -> None:
    """Refuse with 403 when ``principal`` may not read ``datastream``."""
    readable = readable_datastreams(session, principal)
    if readable is None or datastream.id in readable:
        return
    owner = datastream.sensor.agency_id
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        f"datastream {datastream.id} ({datastream.name}) belongs to agency {owner}; agency "
        f"{principal.agency_id} needs a data grant from {owner} to read it (POST /api/grants)",
    )


# --- Things -----------------------------------------------------------------------------------


def _thing(request: Request, sensor: Sensor, streams: list[tuple[int, str]]) -> ThingOut:
    location = (
        {"type": "Point", "coordinates": [sensor.lon, sensor.lat]}
        if sensor.lon is not None and sensor.lat is not None
        else None
    )
    return ThingOut(
        iot_id=sensor.id,
        self_link=_url(request, f"/v1.1/Things({sensor.id})"),
        name=sensor.name,
        description=sensor.description,
        properties={
            **sensor.properties,
            "kind": sensor.kind,
            "agency": sensor.agency_id,
            "asset_id": sensor.asset_id,
        },
        location=location,
        datastreams=[
            IotRef(iot_id=i, name=n, self_link=_url(request, f"/v1.1/Datastreams({i})"))
            for i, n in streams
        ],
    )


def _streams_of(
    session: Session, sensor_ids: list[int], readable: set[int] | None
) -> dict[int, list[tuple[int, str]]]:
    query = select(Datastream.sensor_id, Datastream.id, Datastream.name).where(
        Datastream.sensor_id.in_(sensor_ids)
    )
    out: dict[int, list[tuple[int, str]]] = {i: [] for i in sensor_ids}
    for sensor_id, stream_id, name in session.execute(query.order_by(Datastream.id)):
        if readable is None or stream_id in readable:
            out[sensor_id].append((stream_id, name))
    return out


@router.get("/v1.1/Things", response_model=ThingPage)
def list_things(
    request: Request, service: ServiceDep, principal: Reader, top: Top = 100, skip: Skip = 0
) -> ThingPage:
    """Sensors the caller may read (an operator: those with a readable datastream)."""
    with service.db.read() as session:
        readable = readable_datastreams(session, principal)
        query = select(Sensor)
        if readable is not None:
            visible = select(Datastream.sensor_id).where(Datastream.id.in_(sorted(readable)))
            query = query.where(Sensor.id.in_(visible))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        sensors = session.scalars(query.order_by(Sensor.id).offset(skip).limit(top)).all()
        streams = _streams_of(session, [s.id for s in sensors], readable)
    return ThingPage(
        count=total,
        value=[_thing(request, s, streams[s.id]) for s in sensors],
        next_link=_next_link(request, top, skip, skip + top < total),
    )


@router.get("/v1.1/Things({thing_id})", response_model=ThingOut)
def get_thing(
    request: Request, thing_id: PathId, service: ServiceDep, principal: Reader
) -> ThingOut:
    """One sensor (403 for an operator that may read none of its datastreams)."""
    with service.db.read() as session:
        sensor = session.get(Sensor, thing_id)
        if sensor is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no thing with @iot.id {thing_id}")
        readable = readable_datastreams(session, principal)
        streams = _streams_of(session, [sensor.id], readable)[sensor.id]
        if readable is not None and not streams:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"thing {sensor.name} belongs to agency {sensor.agency_id}; agency "
                f"{principal.agency_id} needs a data grant from {sensor.agency_id} to read it",
            )
    return _thing(request, sensor, streams)


def _check_agency(session: Session, agency: str, layer: str) -> None:
    if session.get(Agency, agency) is None:
        known = ", ".join(session.scalars(select(Agency.id).order_by(Agency.id)))
        raise ValidationError(
            [Problem(layer, "agency", f"one of {known}", found=repr(agency))], what=layer
        )


@router.post("/v1.1/Things", response_model=ThingOut, status_code=status.HTTP_201_CREATED)
def create_thing(
    request: Request, response: Response, body: ThingIn, service: ServiceDep, principal: Admin
) -> ThingOut:
    """Add a sensor (admin); 409 when the name is taken."""
    with service.db.write() as session:
        _check_agency(session, body.agency, "Thing")
        if session.scalar(select(Sensor.id).where(Sensor.name == body.name)) is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"a thing named {body.name} exists")
        lon, lat = body.location.coordinates if body.location else (None, None)
        sensor = Sensor(
            name=body.name,
            kind=body.kind,
            description=body.description,
            agency_id=body.agency,
            lon=lon,
            lat=lat,
            asset_id=body.asset_id,
            properties=body.properties,
        )
        session.add(sensor)
        session.flush()
        audit(session, principal, "create", "thing", sensor.id, {"name": sensor.name})
    thing = _thing(request, sensor, [])
    response.headers["Location"] = thing.self_link
    return thing


# --- Datastreams ------------------------------------------------------------------------------


def _datastream(request: Request, d: Datastream) -> DatastreamOut:
    link = f"/v1.1/Datastreams({d.id})"
    return DatastreamOut(
        iot_id=d.id,
        self_link=_url(request, link),
        name=d.name,
        description=d.description,
        observation_type=("http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"),
        unit_of_measurement={"name": d.unit, "symbol": d.unit},
        observed_property={"name": d.observed_property},
        thing=IotRef(
            iot_id=d.sensor_id,
            name=d.sensor.name,
            self_link=_url(request, f"/v1.1/Things({d.sensor_id})"),
        ),
        agency=d.sensor.agency_id,
        properties={"min_value": d.min_value, "max_value": d.max_value},
        observations_link=_url(request, link + "/Observations"),
    )


@router.get("/v1.1/Datastreams", response_model=DatastreamPage)
def list_datastreams(
    request: Request, service: ServiceDep, principal: Reader, top: Top = 100, skip: Skip = 0
) -> DatastreamPage:
    """Datastreams the caller may read."""
    with service.db.read() as session:
        readable = readable_datastreams(session, principal)
        query = select(Datastream)
        if readable is not None:
            query = query.where(Datastream.id.in_(sorted(readable)))
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(Datastream.id).offset(skip).limit(top)).all()
    return DatastreamPage(
        count=total,
        value=[_datastream(request, d) for d in rows],
        next_link=_next_link(request, top, skip, skip + top < total),
    )


def _get_datastream(session: Session, datastream_id: int) -> Datastream:
    found = session.get(Datastream, datastream_id)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no datastream with @iot.id {datastream_id}"
        )
    return found


@router.get("/v1.1/Datastreams({datastream_id})", response_model=DatastreamOut)
def get_datastream(
    request: Request, datastream_id: PathId, service: ServiceDep, principal: Reader
) -> DatastreamOut:
    """One datastream (403 when out of the caller's reach)."""
    with service.db.read() as session:
        found = _get_datastream(session, datastream_id)
        _out_of_reach(session, principal, found)
    return _datastream(request, found)


@router.post("/v1.1/Datastreams", response_model=DatastreamOut, status_code=status.HTTP_201_CREATED)
def create_datastream(
    request: Request,
    response: Response,
    body: DatastreamIn,
    service: ServiceDep,
    principal: Admin,
) -> DatastreamOut:
    """Add a datastream to a thing (admin); 409 when its name or property is taken."""
    with service.db.write() as session:
        sensor = session.get(Sensor, body.thing_id)
        if sensor is None:
            raise ValidationError(
                [
                    Problem(
                        "Datastream", "thing_id", "the @iot.id of a thing", found=str(body.thing_id)
                    )
                ],
                what="datastream",
            )
        name = body.name or f"{sensor.name}:{body.observed_property}"
        taken = session.scalar(
            select(Datastream.name).where(
                (Datastream.name == name)
                | (
                    (Datastream.sensor_id == sensor.id)
                    & (Datastream.observed_property == body.observed_property)
                )
            )
        )
        if taken is not None:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"datastream {taken} exists (names are unique, and one datastream per thing "
                "and observed property)",
            )
        stream = Datastream(
            name=name,
            sensor_id=sensor.id,
            observed_property=body.observed_property,
            unit=body.unit,
            min_value=body.min_value,
            max_value=body.max_value,
            description=body.description,
        )
        session.add(stream)
        try:
            session.flush()
        except IntegrityError:
            raise HTTPException(status.HTTP_409_CONFLICT, f"datastream {name} exists") from None
        audit(session, principal, "create", "datastream", stream.id, {"name": name})
        out = _datastream(request, stream)
    service.datastreams_changed()
    response.headers["Location"] = out.self_link
    return out


@router.get("/v1.1/Datastreams({datastream_id})/Observations", response_model=ObservationPage)
def list_observations(
    request: Request,
    datastream_id: PathId,
    service: ServiceDep,
    principal: Reader,
    start: Annotated[UtcTime | None, Query(description="Phenomenon time ≥ start")] = None,
    end: Annotated[UtcTime | None, Query(description="Phenomenon time < end")] = None,
    top: Top = 100,
    skip: Skip = 0,
) -> ObservationPage:
    """Observations of a datastream, newest first (times need a UTC offset)."""
    with service.db.read() as session:
        _out_of_reach(session, principal, _get_datastream(session, datastream_id))
        query = select(Observation).where(Observation.datastream_id == datastream_id)
        if start is not None:
            query = query.where(Observation.phenomenon_time >= start)
        if end is not None:
            query = query.where(Observation.phenomenon_time < end)
        query = query.order_by(Observation.phenomenon_time.desc()).offset(skip).limit(top + 1)
        rows = session.scalars(query).all()
    return ObservationPage(
        value=[
            ObservationOut(
                phenomenon_time=o.phenomenon_time, result=o.result, result_time=o.received_at
            )
            for o in rows[:top]
        ],
        next_link=_next_link(request, top, skip, len(rows) > top),
    )


router.include_router(observations.router)
