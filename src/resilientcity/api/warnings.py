"""Warnings and their rules: the list, one warning with its history, a live stream, the rules.

Warnings are public (anyone may read them, without a token). The stream
``GET /api/warnings/stream`` sends each :class:`WarningEvent` as a server-sent event
(``id:`` the event id, ``event: warning``, ``data:`` JSON) in id order. A client that
reconnects with ``Last-Event-ID`` (browsers do it by themselves) or ``?after=ID`` gets every
event after that id, none twice; without either the stream starts from now. A stream wakes as
soon as an ingest in this process commits warning events (:meth:`Service.subscribe`), and
otherwise looks at the store every ``settings.sse_poll_s`` seconds (events written by another
process).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import anyio
import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Response, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from resilientcity.api.auth import Authenticated, CurrentPrincipal, ServiceDep, require
from resilientcity.api.errors import http_errors, unprocessable
from resilientcity.api.schemas import (
    PathId,
    RuleOut,
    UtcTime,
    WarningDetail,
    WarningEventOut,
    WarningOut,
)
from resilientcity.errors import Problem, ValidationError
from resilientcity.operations import warning_store
from resilientcity.operations.access import Principal
from resilientcity.operations.models import WarningEvent, WarningRuleRow
from resilientcity.operations.service import Service
from resilientcity.operations.warning_store import PlacedWarning
from resilientcity.vocabulary import WarningLevel
from resilientcity.warning import WarningRule

__all__ = ["PING_S", "router"]

router = APIRouter(tags=["warnings"])

#: Seconds between two keep-alive comments on an idle stream.
PING_S = 15.0
#: Events read from the store at a time by a stream.
_EVENTS_PER_READ = 500

Admin = Annotated[Principal, Depends(require("admin"))]


def _warning(row: PlacedWarning) -> dict[str, Any]:
    warning, datastream, sensor, lon, lat = row
    return {
        "id": warning.id,
        "rule_id": warning.rule_id,
        "level": warning.level,
        "status": warning.status,
        "reason": warning.reason,
        "value": warning.value,
        "issued_at": warning.issued_at,
        "updated_at": warning.updated_at,
        "lifted_at": warning.lifted_at,
        "datastream_id": warning.datastream_id,
        "datastream": datastream,
        "sensor": sensor,
        "lon": lon,
        "lat": lat,
        "nowcast_status": warning.nowcast_status,
    }


@router.get("/api/warnings", response_model=list[WarningOut])
def list_warnings(
    service: ServiceDep,
    principal: CurrentPrincipal,
    status_: Annotated[
        Literal["active", "lifted", "all"], Query(alias="status", description="Which warnings")
    ] = "active",
    level: WarningLevel | None = None,
    since: Annotated[UtcTime | None, Query(description="Changed at or after")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> list[WarningOut]:
    """Warnings, most recently changed first (public)."""
    with service.db.read() as session:
        rows = warning_store.warning_page(session, status_, level, since, limit, offset)
    return [WarningOut(**_warning(row)) for row in rows]


def _event(event: WarningEvent) -> WarningEventOut:
    return WarningEventOut(
        id=event.id,
        warning_id=event.warning_id,
        kind=event.kind,
        from_level=event.from_level,
        to_level=event.to_level,
        reason=event.reason,
        value=event.value,
        time=event.time,
        recorded_at=event.recorded_at,
    )


# --- Server-sent events -----------------------------------------------------------------------


def _latest_event_id(service: Service) -> int:
    with service.db.read() as session:
        return warning_store.latest_event_id(session)


def _events_after(service: Service, after: int) -> list[dict[str, Any]]:
    """Up to :data:`_EVENTS_PER_READ` events after id ``after``, as stream data, in id order."""
    with service.db.read() as session:
        rows = warning_store.events_after(session, after, _EVENTS_PER_READ)
    return [
        {
            **_event(event).model_dump(mode="json"),
            "rule_id": event.rule_id,
            "datastream_id": event.datastream_id,
            "datastream": datastream,
            "sensor": sensor,
            "lon": lon,
            "lat": lat,
            "current_level": level,
            "current_status": status_,
        }
        for event, level, status_, datastream, sensor, lon, lat in rows
    ]


async def _stream(service: Service, after: int) -> AsyncIterator[ServerSentEvent]:
    """Warning events after id ``after``, then each new one as it is committed."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def listener() -> None:
        try:
            loop.call_soon_threadsafe(wake.set)
        except RuntimeError:  # the loop closed after the stream ended
            pass

    unsubscribe = service.subscribe(listener)
    try:
        while True:
            wake.clear()
            rows = await anyio.to_thread.run_sync(_events_after, service, after)
            for row in rows:
                after = row["id"]
                yield ServerSentEvent(
                    data=orjson.dumps(row).decode(), id=str(after), event="warning"
                )
            if len(rows) == _EVENTS_PER_READ:
                continue
            with anyio.move_on_after(service.settings.sse_poll_s):
                await wake.wait()
    finally:
        unsubscribe()


@router.get(
    "/api/warnings/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "Server-sent events: `id:` event id, `event: warning`, `data:` JSON",
            "content": {"text/event-stream": {}},
        }
    },
)
async def stream_warnings(
    service: ServiceDep,
    principal: CurrentPrincipal,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="Resume after this id")] = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="Resume after this id")
    ] = None,
) -> EventSourceResponse:
    """Live warning events in id order (public); resumes after ``Last-Event-ID`` or ``after``."""
    start = after
    if last_event_id is not None:
        text = last_event_id.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            unprocessable(["header", "Last-Event-ID"], "the id of the last event received")
        start = int(text)
    if start is None:
        start = await anyio.to_thread.run_sync(_latest_event_id, service)
    return EventSourceResponse(_stream(service, start), ping=PING_S)


@router.get("/api/warnings/{warning_id}", response_model=WarningDetail)
def get_warning(
    warning_id: PathId, service: ServiceDep, principal: CurrentPrincipal
) -> WarningDetail:
    """One warning with its history, its rule, where it is and its nowcast (public)."""
    with http_errors(), service.db.read() as session:
        row = warning_store.placed_warning(session, warning_id)
        events = warning_store.warning_events(session, warning_id)
        rule = warning_store.rule_spec(session, row.warning.rule_id)
    return WarningDetail(
        **_warning(row),
        events=[_event(e) for e in events],
        rule=rule,
        nowcast=row.warning.nowcast,
    )


# --- Rules ------------------------------------------------------------------------------------


def _rule(row: WarningRuleRow) -> RuleOut:
    return RuleOut(id=row.id, enabled=row.enabled, updated_at=row.updated_at, rule=row.spec)


@router.get("/api/rules", response_model=list[RuleOut])
def list_rules(service: ServiceDep, principal: Authenticated) -> list[RuleOut]:
    """The warning rules, enabled or not (any token)."""
    with service.db.read() as session:
        rows = warning_store.all_rules(session)
    return [_rule(r) for r in rows]


def _checked(rule_id: str, rule: WarningRule) -> dict[str, Any]:
    """The rule as stored JSON; 422 when its id is not the path's or it does not survive JSON."""
    if rule.id != rule_id:
        raise ValidationError(
            [Problem("rule", "id", f"the id of the path, {rule_id!r}", found=repr(rule.id))],
            what="warning rule",
        )
    spec: dict[str, Any] = orjson.loads(rule.model_dump_json())  # inf and NaN become null
    try:
        same = WarningRule.model_validate(spec) == rule
    except ValueError:
        same = False
    if not same:
        raise ValidationError(
            [Problem("rule", "thresholds", "finite numbers (no inf or NaN)")], what="warning rule"
        )
    return spec


@router.put(
    "/api/rules/{rule_id}",
    response_model=RuleOut,
    responses={201: {"description": "A new rule", "model": RuleOut}},
)
def put_rule(
    rule_id: Annotated[str, Path(min_length=1, max_length=100)],
    rule: WarningRule,
    response: Response,
    service: ServiceDep,
    principal: Admin,
) -> RuleOut:
    """Replace (or add) a warning rule and enable it (admin); the body's id must be the path's."""
    spec = _checked(rule_id, rule)
    with service.db.write() as session:
        change = warning_store.save_rule(session, principal, rule, spec)
        out = _rule(change.row)
    if change.created:
        response.status_code = status.HTTP_201_CREATED
    if change.lifted:
        service.notify()
    return out


@router.delete("/api/rules/{rule_id}", response_model=RuleOut)
def disable_rule(rule_id: str, service: ServiceDep, principal: Admin) -> RuleOut:
    """Disable a warning rule (admin); its active warnings are lifted; a PUT enables it again."""
    with http_errors(), service.db.write() as session:
        change = warning_store.disable_rule(session, principal, rule_id)
        out = _rule(change.row)
    if change.lifted:
        service.notify()
    return out
