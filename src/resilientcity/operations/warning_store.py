"""The stored warnings as the service shows them, and the warning rules as an admin edits them.

A warning is shown where it is: with the names of its datastream and sensor and the sensor's
position (:class:`PlacedWarning`); each :class:`~resilientcity.operations.models.WarningEvent`
is read in id order, the order of the server-sent-events stream (:func:`events_after`).
Editing a rule so that it watches other datastreams, or disabling it, lifts its active
warnings (:func:`~resilientcity.operations.live_warnings.lift_rule_warnings`). Every write is
recorded with :func:`~resilientcity.operations.access.audit` in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resilientcity.operations.access import Principal, audit
from resilientcity.operations.live_warnings import lift_rule_warnings
from resilientcity.operations.models import (
    Datastream,
    LiveWarning,
    Sensor,
    WarningEvent,
    WarningRuleRow,
    utcnow,
)
from resilientcity.operations.response import NotFound
from resilientcity.warning import WarningRule

__all__ = [
    "PlacedEvent",
    "PlacedWarning",
    "RuleChange",
    "all_rules",
    "disable_rule",
    "events_after",
    "latest_event_id",
    "placed_warning",
    "rule_spec",
    "save_rule",
    "warning_events",
    "warning_page",
]


class PlacedWarning(NamedTuple):
    """A warning with the names of its datastream and sensor and where the sensor is."""

    warning: LiveWarning
    datastream: str
    sensor: str
    lon: float | None
    lat: float | None


class PlacedEvent(NamedTuple):
    """A warning event, its warning's current level and status, and where it is."""

    event: WarningEvent
    level: str
    status: str
    datastream: str
    sensor: str
    lon: float | None
    lat: float | None


class RuleChange(NamedTuple):
    """A rule after a change: its row, whether it is new, and the warnings lifted by it."""

    row: WarningRuleRow
    created: bool
    lifted: list[WarningEvent]


_PLACE = (Datastream.name, Sensor.name, Sensor.lon, Sensor.lat)


def _placed() -> Any:  # a Select of (LiveWarning, datastream, sensor, lon, lat)
    return (
        select(LiveWarning, *_PLACE)
        .join(Datastream, LiveWarning.datastream_id == Datastream.id)
        .join(Sensor, Datastream.sensor_id == Sensor.id)
    )


def warning_page(
    session: Session,
    status: Literal["active", "lifted", "all"] = "active",
    level: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[PlacedWarning]:
    """Warnings, most recently changed first (ties: highest id first).

    Parameters
    ----------
    session
        A session.
    status
        Which warnings: ``active``, ``lifted`` or ``all``.
    level
        Only warnings at this level (``blue`` … ``red``).
    since
        Only warnings changed at or after this time (UTC).
    limit, offset
        The page.
    """
    query = _placed()
    if status != "all":
        query = query.where(LiveWarning.status == status)
    if level is not None:
        query = query.where(LiveWarning.level == level)
    if since is not None:
        query = query.where(LiveWarning.updated_at >= since)
    query = query.order_by(LiveWarning.updated_at.desc(), LiveWarning.id.desc())
    rows = session.execute(query.offset(offset).limit(limit))
    return [PlacedWarning(*row) for row in rows]


def placed_warning(session: Session, warning_id: int) -> PlacedWarning:
    """One warning, placed.

    Raises
    ------
    NotFound
        No warning with that id.
    """
    row = session.execute(_placed().where(LiveWarning.id == warning_id)).first()
    if row is None:
        raise NotFound(f"no warning with id {warning_id}")
    return PlacedWarning(*row)


def warning_events(session: Session, warning_id: int) -> list[WarningEvent]:
    """The history of a warning: its events in id order."""
    query = select(WarningEvent).where(WarningEvent.warning_id == warning_id)
    return list(session.scalars(query.order_by(WarningEvent.id)))


def latest_event_id(session: Session) -> int:
    """The id of the last warning event (0: none yet)."""
    return int(session.scalar(select(func.max(WarningEvent.id))) or 0)


def events_after(session: Session, after: int, limit: int) -> list[PlacedEvent]:
    """Up to ``limit`` warning events with an id above ``after``, in id order, placed."""
    query = (
        select(WarningEvent, LiveWarning.level, LiveWarning.status, *_PLACE)
        .join(LiveWarning, WarningEvent.warning_id == LiveWarning.id)
        .join(Datastream, LiveWarning.datastream_id == Datastream.id)
        .join(Sensor, Datastream.sensor_id == Sensor.id)
        .where(WarningEvent.id > after)
        .order_by(WarningEvent.id)
        .limit(limit)
    )
    return [PlacedEvent(*row) for row in session.execute(query)]


# --- Rules ------------------------------------------------------------------------------------


def all_rules(session: Session) -> list[WarningRuleRow]:
    """The warning rules, enabled or not, by id."""
    return list(session.scalars(select(WarningRuleRow).order_by(WarningRuleRow.id)))


def rule_spec(session: Session, rule_id: str) -> dict[str, Any]:
    """The stored spec of a rule (``{}``: no such rule)."""
    row = session.get(WarningRuleRow, rule_id)
    return row.spec if row is not None else {}


def save_rule(
    session: Session,
    principal: Principal,
    rule: WarningRule,
    spec: dict[str, Any],
    now: datetime | None = None,
) -> RuleChange:
    """Replace (or add) a warning rule and enable it, audited.

    A rule that now watches another observed property or unit has its active warnings lifted
    (reason ``rule changed``): its old datastreams are no longer watched, so their warnings
    would never move again.

    Parameters
    ----------
    session
        A session in a write transaction.
    principal
        Who changes it.
    rule
        The rule; its id is the row's.
    spec
        ``rule`` as stored JSON (what :class:`~resilientcity.warning.WarningRule` reads back).
    now
        The time of the change (default: the clock).

    Returns
    -------
    RuleChange
        The row (flushed), whether it was created, the events of the warnings lifted.
    """
    now = utcnow() if now is None else now
    row = session.get(WarningRuleRow, rule.id)
    lifted: list[WarningEvent] = []
    created = row is None
    if row is None:
        row = WarningRuleRow(id=rule.id)
        session.add(row)
    elif (row.observed_property, row.unit) != (rule.observed_property, rule.unit):
        lifted = lift_rule_warnings(session, rule.id, now, "rule changed")
    row.observed_property = rule.observed_property
    row.unit = rule.unit
    row.spec = spec
    row.enabled = True
    row.updated_at = now
    session.flush()
    audit(session, principal, "create" if created else "update", "rule", rule.id, {"spec": spec})
    return RuleChange(row, created, lifted)


def disable_rule(
    session: Session, principal: Principal, rule_id: str, now: datetime | None = None
) -> RuleChange:
    """Disable a warning rule and lift its active warnings (reason ``rule disabled``), audited.

    Returns
    -------
    RuleChange
        The row, ``created`` false, the events of the warnings lifted.

    Raises
    ------
    NotFound
        No rule with that id.
    """
    row = session.get(WarningRuleRow, rule_id)
    if row is None:
        raise NotFound(f"no rule with id {rule_id}")
    row.enabled = False
    row.updated_at = utcnow() if now is None else now
    lifted = lift_rule_warnings(session, rule_id, row.updated_at, "rule disabled")
    audit(session, principal, "disable", "rule", rule_id, {"lifted": len(lifted)})
    return RuleChange(row, False, lifted)
