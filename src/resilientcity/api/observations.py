"""Writing observations, and reading the quarantine of the values that were refused.

The SensorThings ``CreateObservations`` and ``Observations`` endpoints, and ``/api/quarantine``.

Writing observations: admins to any datastream, operators to their agency's only; a batch that
touches another agency's datastream is refused as a whole.

``POST /v1.1/CreateObservations`` takes the SensorThings *dataArray* extension and is the fast
path: the body is parsed with orjson and turned into one DataFrame column by column, without a
model per row, and :meth:`Service.ingest` runs in a worker thread so that the event loop keeps
serving the server-sent-events streams. Data problems of single observations (unknown
datastream, wrong unit, out of range …) are not errors of the request: the response (sent after
the commit) counts them and lists each with its place in the body; the values are kept in the
quarantine. A body that cannot be read as observations at all is refused (400 or 422) with the
entity and row at fault, and nothing is stored.

The router is included in :data:`resilientcity.api.sensing.router`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import numpy as np
import orjson
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from resilientcity.api.auth import ServiceDep, require
from resilientcity.api.errors import unprocessable
from resilientcity.api.schemas import (
    MAX_ID,
    IngestOut,
    QuarantineOut,
    QuarantineSummary,
)
from resilientcity.operations.access import (
    Principal,
    writable_datastreams,
)
from resilientcity.operations.ingest import quarantine_counts, quarantined
from resilientcity.operations.service import Service
from resilientcity.operations.validation import REASONS, DatastreamIndex

__all__ = ["MAX_BATCH", "router"]

router = APIRouter()

#: Most observations accepted in one request (larger batches: 413).
MAX_BATCH = 200_000

_COMPONENTS = {"phenomenonTime": "phenomenon_time", "result": "result", "unit": "unit"}

Writer = Annotated[Principal, Depends(require("admin", "operator"))]


# --- Observations -----------------------------------------------------------------------------


@dataclass
class _Batch:
    """Observations of a request body, column by column."""

    refs: list[Any] = field(default_factory=list)
    times: list[Any] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)
    units: list[Any] = field(default_factory=list)
    payloads: list[Any] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    entity_refs: list[Any] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The observations as :meth:`Service.ingest` takes them.

        Columns are given to pandas as numpy arrays of the right type when every value has
        it (ids only, floats only: the usual batch), so that pandas need not look at each
        value to infer one; anything else stays as the values were sent (validation sorts
        them out).
        """
        n = len(self.refs)
        # ids beyond those of rows (2**63 …) are unknown datastreams, not 64-bit integers
        ids_only = all(type(r) is int and 0 < r <= MAX_ID for r in self.entity_refs)
        floats_only = all(type(v) is float for v in self.results)
        columns: dict[str, Any] = {
            "datastream": (
                np.array(self.refs, dtype=np.int64)
                if ids_only
                else np.fromiter(self.refs, dtype=object, count=n)
            ),
            "phenomenon_time": np.fromiter(self.times, dtype=object, count=n),
            "result": np.array(self.results, dtype=float) if floats_only else self.results,
            "payload": np.fromiter(self.payloads, dtype=object, count=n),
        }
        if any(u is not None for u in self.units):
            columns["unit"] = self.units
        return pd.DataFrame(columns)


def _reference(value: Any, loc: list[str | int]) -> Any:
    """The datastream an entity names: ``{"@iot.id": 12}`` or ``{"name": "RG002:river_stage"}``."""
    expected = 'an object {"@iot.id": ID} or {"name": "SENSOR:PROPERTY"}'
    if not isinstance(value, dict):
        unprocessable(loc, expected)
    if "@iot.id" in value:
        ref = value["@iot.id"]
        if isinstance(ref, bool) or not isinstance(ref, int):
            unprocessable([*loc, "@iot.id"], "an integer datastream id")
        return ref
    if "name" in value:
        ref = value["name"]
        if not isinstance(ref, str) or not ref:
            unprocessable([*loc, "name"], "a datastream name (text)")
        return ref
    unprocessable(loc, expected)


def _components(value: Any, loc: list[str | int]) -> list[str]:
    expected = "a list of phenomenonTime, result and optionally unit, each once"
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        unprocessable(loc, expected)
    if (
        not {"phenomenonTime", "result"} <= set(value)
        or not set(value) <= set(_COMPONENTS)
        or len(set(value)) != len(value)
    ):
        unprocessable(loc, expected + f", found {value!r}"[:200])
    return value


def _add_entity(batch: _Batch, entity: Any, i: int) -> None:
    """Append entity ``i`` of a CreateObservations body to ``batch`` (422 when malformed)."""
    loc: list[str | int] = ["body", i]
    if not isinstance(entity, dict):
        unprocessable(loc, "an object with Datastream, components and dataArray")
    for key in ("Datastream", "components", "dataArray"):
        if key not in entity:
            unprocessable([*loc, key], f"field {key} (missing)", "missing")
    ref = _reference(entity["Datastream"], [*loc, "Datastream"])
    components = _components(entity["components"], [*loc, "components"])
    rows = entity["dataArray"]
    if not isinstance(rows, list):
        unprocessable([*loc, "dataArray"], "a list of rows")
    width = len(components)
    for j, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            unprocessable(
                [*loc, "dataArray", j],
                f"a list of {width} values ({', '.join(components)})",
            )
    if len(batch.refs) + len(rows) > MAX_BATCH:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"at most {MAX_BATCH:,} observations per request; split the batch",
        )
    batch.offsets.append(len(batch.refs))
    batch.entity_refs.append(ref)
    columns = dict(zip(components, zip(*rows, strict=True), strict=True)) if rows else {}
    n = len(rows)
    batch.refs.extend([ref] * n)
    batch.times.extend(columns.get("phenomenonTime", ()))
    batch.results.extend(columns.get("result", ()))
    batch.units.extend(columns.get("unit", [None] * n))
    batch.payloads.extend(rows)  # written as JSON only for the rows that are rejected


def _observation(batch: _Batch, body: Any) -> None:
    """Append the single observation of a POST /v1.1/Observations body to ``batch``."""
    if not isinstance(body, dict):
        unprocessable(["body"], "an object with Datastream, phenomenonTime and result")
    for key in ("Datastream", "phenomenonTime", "result"):
        if key not in body:
            unprocessable(["body", key], f"field {key} (missing)", "missing")
    ref = _reference(body["Datastream"], ["body", "Datastream"])
    unit = body.get("unit")
    if unit is not None and not isinstance(unit, str):
        unprocessable(["body", "unit"], "the unit as text")
    batch.offsets.append(0)
    batch.entity_refs.append(ref)
    batch.refs.append(ref)
    batch.times.append(body["phenomenonTime"])
    batch.results.append(body["result"])
    batch.units.append(unit)
    batch.payloads.append(orjson.dumps(body).decode())


def _forbidden(
    service: Service, principal: Principal, refs: list[Any], index: DatastreamIndex
) -> None:
    """Refuse with 403 when an operator names a datastream of another agency."""
    if principal.is_admin:
        return
    with service.db.read() as session:
        writable = writable_datastreams(session, principal)
    if writable is None:
        return
    others = []
    for ref in dict.fromkeys(refs):
        info = index.by_name.get(ref) if isinstance(ref, str) else index.by_id.get(ref)
        if info is not None and info.id not in writable:
            others.append(f"{info.name} (@iot.id {info.id}, agency {info.agency_id})")
    if others:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"agency {principal.agency_id} may not write to datastreams of other agencies: "
            f"{', '.join(others)}; nothing was stored",
        )


def _ingest(service: Service, principal: Principal, raw: bytes, batch_body: bool) -> Response:
    """Parse, authorise and store a request body; the IngestResult as JSON (after the commit)."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"the body is not JSON: {exc}") from None
    batch = _Batch()
    if batch_body:
        if not isinstance(body, list):
            unprocessable(["body"], "a list of {Datastream, components, dataArray} objects")
        for i, entity in enumerate(body):
            _add_entity(batch, entity, i)
    else:
        _observation(batch, body)
    index = service.datastreams()
    if any(
        (index.by_name.get(r) if isinstance(r, str) else index.by_id.get(r)) is None
        for r in batch.entity_refs
    ):
        service.datastreams_changed()
        index = service.datastreams()
    _forbidden(service, principal, batch.entity_refs, index)
    result = service.ingest(batch.frame(), "http", principal).as_dict()
    offsets = np.asarray(batch.offsets, dtype=np.int64)
    for problem in result["problems"]:
        entity = int(np.searchsorted(offsets, problem["index"], side="right") - 1)
        problem["entity"] = entity
        problem["row"] = problem["index"] - int(offsets[entity])
    return Response(orjson.dumps(result), status.HTTP_201_CREATED, media_type="application/json")


_VALUE = {"description": "A value: a number for result, ISO 8601 text for phenomenonTime"}
_REFERENCE = {
    "type": "object",
    "description": 'The datastream: {"@iot.id": 12} or {"name": "RG002:river_stage"}',
    "properties": {"@iot.id": {"type": "integer"}, "name": {"type": "string"}},
}
_CREATE_OBSERVATIONS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["Datastream", "components", "dataArray"],
        "properties": {
            "Datastream": _REFERENCE,
            "components": {
                "type": "array",
                "items": {"type": "string", "enum": list(_COMPONENTS)},
                "example": ["phenomenonTime", "result"],
            },
            "dataArray": {
                "type": "array",
                "items": {"type": "array", "items": _VALUE},
                "example": [["2026-07-01T08:00:00Z", 35.2], ["2026-07-01T08:05:00Z", 35.3]],
            },
        },
    },
}
_OBSERVATION_SCHEMA = {
    "type": "object",
    "required": ["Datastream", "phenomenonTime", "result"],
    "properties": {
        "Datastream": _REFERENCE,
        "phenomenonTime": {"type": "string", "example": "2026-07-01T08:00:00Z"},
        "result": {"type": "number", "example": 35.2},
        "unit": {"type": "string", "example": "m"},
    },
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON"},
    403: {"description": "A datastream of another agency"},
    413: {"description": f"More than {MAX_BATCH:,} observations"},
    422: {"description": "The body is not observations (the entity and row are named)"},
}


@router.post(
    "/v1.1/CreateObservations",
    response_model=IngestOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_body(_CREATE_OBSERVATIONS_SCHEMA),
    responses=_RESPONSES,
)
async def create_observations(request: Request, service: ServiceDep, principal: Writer) -> Response:
    """Store a batch of observations (SensorThings dataArray); the result after the commit.

    Rejected observations are counted by reason and listed in ``problems`` with their place
    (``entity``, ``row``, and ``index`` in the whole batch); they are kept in the quarantine.
    Sending a batch again stores nothing twice (counted as ``duplicates``).
    """
    raw = await request.body()
    return await run_in_threadpool(_ingest, service, principal, raw, True)


@router.post(
    "/v1.1/Observations",
    response_model=IngestOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_body(_OBSERVATION_SCHEMA),
    responses=_RESPONSES,
)
async def create_observation(request: Request, service: ServiceDep, principal: Writer) -> Response:
    """Store one observation; the result after the commit (as for CreateObservations)."""
    raw = await request.body()
    return await run_in_threadpool(_ingest, service, principal, raw, False)


# --- Quarantine -------------------------------------------------------------------------------

Reason = Literal[REASONS]  # type: ignore[valid-type]
QuarantineReader = Annotated[Principal, Depends(require("admin", "analyst"))]


@router.get("/api/quarantine", response_model=list[QuarantineOut], tags=["quarantine"])
def list_quarantine(
    service: ServiceDep,
    principal: QuarantineReader,
    reason: Reason | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[QuarantineOut]:
    """Rejected observations, newest first (admin, analyst)."""
    with service.db.read() as session:
        rows = quarantined(session, reason, offset, limit)
    return [
        QuarantineOut(
            id=q.id,
            received_at=q.received_at,
            source=q.source,
            reason=q.reason,
            detail=q.detail,
            datastream=q.datastream,
            payload=q.payload,
        )
        for q in rows
    ]


@router.get("/api/quarantine/summary", response_model=QuarantineSummary, tags=["quarantine"])
def quarantine_summary(service: ServiceDep, principal: QuarantineReader) -> QuarantineSummary:
    """Rejected observations counted by reason (admin, analyst)."""
    with service.db.read() as session:
        counts = quarantine_counts(session)
    return QuarantineSummary(total=sum(counts.values()), by_reason=counts)
