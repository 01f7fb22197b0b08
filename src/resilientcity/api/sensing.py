"""Sensing endpoints in the spirit of OGC SensorThings API v1.1: things, datastreams, observations.

Things and datastreams here; writing observations and the quarantine are
:mod:`resilientcity.api.observations`, whose routes this module's :data:`router` includes.

Reading: admins and analysts read every datastream; an operator reads its agency's datastreams
and those shared with its agency by a grant (a datastream out of reach is 403, naming the owner
agency, not 404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from resilientcity.api import observations
from resilientcity.api.auth import ServiceDep, require
from resilientcity.api.errors import http_errors
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
from resilientcity.operations.access import Principal
from resilientcity.operations.models import Datastream, Sensor
from resilientcity.operations.sensing import (
    add_datastream,
    add_thing,
    datastream_in_reach,
    datastreams_page,
    observations_of,
    thing_in_reach,
    things_page,
)

__all__ = ["router"]

router = APIRouter(tags=["sensing"])

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


@router.get("/v1.1/Things", response_model=ThingPage)
def list_things(
    request: Request, service: ServiceDep, principal: Reader, top: Top = 100, skip: Skip = 0
) -> ThingPage:
    """Sensors the caller may read (an operator: those with a readable datastream)."""
    with service.db.read() as session:
        total, sensors, streams = things_page(session, principal, skip, top)
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
    with http_errors(), service.db.read() as session:
        sensor, streams = thing_in_reach(session, principal, thing_id)
    return _thing(request, sensor, streams)


@router.post("/v1.1/Things", response_model=ThingOut, status_code=status.HTTP_201_CREATED)
def create_thing(
    request: Request, response: Response, body: ThingIn, service: ServiceDep, principal: Admin
) -> ThingOut:
    """Add a sensor (admin); 409 when the name is taken."""
    lon, lat = body.location.coordinates if body.location else (None, None)
    with http_errors(), service.db.write() as session:
        sensor = add_thing(
            session,
            principal,
            name=body.name,
            kind=body.kind,
            agency=body.agency,
            description=body.description,
            lon=lon,
            lat=lat,
            asset_id=body.asset_id,
            properties=body.properties,
        )
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
        total, rows = datastreams_page(session, principal, skip, top)
    return DatastreamPage(
        count=total,
        value=[_datastream(request, d) for d in rows],
        next_link=_next_link(request, top, skip, skip + top < total),
    )


@router.get("/v1.1/Datastreams({datastream_id})", response_model=DatastreamOut)
def get_datastream(
    request: Request, datastream_id: PathId, service: ServiceDep, principal: Reader
) -> DatastreamOut:
    """One datastream (403 when out of the caller's reach)."""
    with http_errors(), service.db.read() as session:
        found = datastream_in_reach(session, principal, datastream_id)
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
    with http_errors(), service.db.write() as session:
        stream = add_datastream(
            session,
            principal,
            thing_id=body.thing_id,
            observed_property=body.observed_property,
            unit=body.unit,
            min_value=body.min_value,
            max_value=body.max_value,
            name=body.name,
            description=body.description,
        )
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
    with http_errors(), service.db.read() as session:
        rows = observations_of(session, principal, datastream_id, start, end, skip, top + 1)
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
