"""Running the warning engine on newly stored observations, inside the ingest transaction.

A rule applies to every datastream with the rule's observed property and unit; each pair
(rule, datastream) has its own engine state (:class:`~resilientcity.warning.WarningState`) kept
in ``warning_states`` and locked while it is advanced (``SELECT … FOR UPDATE`` on PostgreSQL;
SQLite's write transactions are serial), in a fixed order so that two batches cannot deadlock.
A change issues, escalates, de-escalates or lifts a :class:`LiveWarning` and appends a
:class:`WarningEvent` (the warning's history, which the server-sent-events stream reads).
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from resilientcity.operations.models import (
    LiveWarning,
    WarningEvent,
    WarningRuleRow,
    WarningStateRow,
)
from resilientcity.operations.validation import DatastreamIndex
from resilientcity.warning import WarningChange, WarningRule, WarningState, evaluate

__all__ = [
    "WarningRound",
    "lift_rule_warnings",
    "load_rules",
    "state_from_json",
    "state_to_json",
]

_STATE_FIELDS = fields(WarningState)
#: Rules parsed from their stored spec, by id: (spec, rule).
_PARSED: dict[str, tuple[dict[str, Any], WarningRule]] = {}


def state_to_json(state: WarningState) -> str:
    """The engine state as JSON text (``-Infinity`` is kept: the text is Python's JSON)."""
    # every field is a number, text or a tuple of them: no need for asdict's deep copy
    return json.dumps({f.name: getattr(state, f.name) for f in _STATE_FIELDS})


def state_from_json(text: str) -> WarningState:
    """The engine state written by :func:`state_to_json`."""
    data: dict[str, Any] = json.loads(text)
    for key in ("above_since", "below_since", "rate_until", "forecast_until"):
        data[key] = tuple(data[key])
    data["recent"] = tuple(tuple(pair) for pair in data["recent"])
    data["last_min"] = float(data["last_min"])
    return WarningState(**data)


def load_rules(session: Session) -> list[WarningRule]:
    """The enabled warning rules of the store, validated.

    A rule whose stored spec did not change since the last call is the same object as then,
    so the engine's per-rule constants stay cached between batches.
    """
    rows = session.scalars(select(WarningRuleRow).where(WarningRuleRow.enabled)).all()
    rules = []
    for row in rows:
        known = _PARSED.get(row.id)
        if known is None or known[0] != row.spec:
            known = _PARSED[row.id] = (row.spec, WarningRule.model_validate(row.spec))
        rules.append(known[1])
    return rules


def _locked_states(
    session: Session, pairs: list[tuple[str, int]]
) -> dict[tuple[str, int], WarningStateRow]:
    """The state rows of ``pairs`` (created when missing), locked for this transaction."""
    dialect = session.get_bind().dialect.name

    def locked() -> dict[tuple[str, int], WarningStateRow]:
        query = (
            select(WarningStateRow)
            .where(tuple_(WarningStateRow.rule_id, WarningStateRow.datastream_id).in_(pairs))
            .order_by(WarningStateRow.rule_id, WarningStateRow.datastream_id)
        )
        if dialect == "postgresql":
            query = query.with_for_update()
        return {(r.rule_id, r.datastream_id): r for r in session.scalars(query)}

    rows = locked()
    missing = [pair for pair in pairs if pair not in rows]
    if missing:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        values = [{"rule_id": r, "datastream_id": d, "state": ""} for r, d in missing]
        session.execute(insert(WarningStateRow).on_conflict_do_nothing(), values)
        rows = locked()
    return rows


def _active_warning(session: Session, rule_id: str, datastream_id: int) -> LiveWarning | None:
    return session.scalars(
        select(LiveWarning).where(
            LiveWarning.status == "active",
            LiveWarning.rule_id == rule_id,
            LiveWarning.datastream_id == datastream_id,
        )
    ).first()


def _apply(
    session: Session, change: WarningChange, datastream_id: int, now: datetime
) -> WarningEvent:
    """Record ``change``: update (or issue) the warning and append its event."""
    # the engine keeps times as float minutes: back to the microseconds they were sent with
    time = change.time.round("us").to_pydatetime()
    warning = _active_warning(session, change.rule_id, datastream_id)
    if warning is None:
        warning = LiveWarning(
            rule_id=change.rule_id,
            datastream_id=datastream_id,
            level=change.to_level,
            status="active",
            issued_at=time,
            updated_at=time,
            reason=change.reason,
            value=change.value,
        )
        session.add(warning)
    warning.updated_at = time
    warning.reason = change.reason
    warning.value = change.value
    if change.kind == "lifted":
        warning.status = "lifted"
        warning.lifted_at = time
    else:
        warning.level = change.to_level
    session.flush()
    event = WarningEvent(
        warning_id=warning.id,
        rule_id=change.rule_id,
        datastream_id=datastream_id,
        time=time,
        recorded_at=now,
        kind=change.kind,
        from_level=change.from_level,
        to_level=change.to_level,
        reason=change.reason,
        value=change.value if math.isfinite(change.value) else 0.0,
    )
    session.add(event)
    return event


def _by_datastream(new: pd.DataFrame, wanted: set[int]) -> dict[int, pd.DataFrame]:
    """The ``time`` (UTC, naive) and ``value`` of ``new`` per datastream in ``wanted``.

    One sort of the batch and a slice per datastream (grouping the frame with pandas and
    renaming each group cost more than the warning engine itself).
    """
    streams = new["datastream_id"].to_numpy(dtype=np.int64)
    order = np.argsort(streams, kind="stable")
    streams = streams[order]
    times = new["phenomenon_time"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()[order]
    values = new["result"].to_numpy(dtype=float)[order]
    found, starts = np.unique(streams, return_index=True)
    ends = np.append(starts[1:], len(streams))
    return {
        int(d): pd.DataFrame({"time": times[a:b], "value": values[a:b]})
        for d, a, b in zip(found.tolist(), starts.tolist(), ends.tolist(), strict=True)
        if d in wanted
    }


class WarningRound:
    """The warning engine's work on one batch, in three steps.

    1. :class:`WarningRound` (``session``, the batch's candidate observations): reads the
       enabled rules and locks the engine states of every (rule, datastream) pair the
       candidates touch (store work).
    2. :meth:`compute` (the observations actually stored): runs the engine (pure: no store
       work, so it may run while another thread inserts the batch on the same connection;
       called again with fewer rows when some turned out to be stored already).
    3. :meth:`record`: writes the new states and the warning changes (store work).

    Parameters
    ----------
    session
        A session inside the ingest's write transaction.
    candidates
        The observations that may be stored: ``datastream_id``, ``phenomenon_time`` (UTC),
        ``result``.
    index
        The datastreams of the store.
    rules
        The enabled rules (default: read from the store).
    """

    def __init__(
        self,
        session: Session,
        candidates: pd.DataFrame,
        index: DatastreamIndex,
        rules: list[WarningRule] | None = None,
    ) -> None:
        self.pairs: list[tuple[WarningRule, int]] = []
        self._rows: dict[tuple[str, int], WarningStateRow] = {}
        self._states: dict[tuple[str, int], str] = {}
        self._results: list[tuple[WarningRule, int, str, list[WarningChange]]] = []
        if candidates.empty:
            return
        rules = load_rules(session) if rules is None else rules
        by_key: dict[tuple[str, str], list[WarningRule]] = {}
        for rule in rules:
            by_key.setdefault((rule.observed_property, rule.unit), []).append(rule)
        for datastream_id in sorted(candidates["datastream_id"].unique()):
            info = index.by_id[int(datastream_id)]
            for rule in by_key.get((info.observed_property, info.unit), []):
                self.pairs.append((rule, int(datastream_id)))
        if not self.pairs:
            return
        self.pairs.sort(key=lambda p: (p[0].id, p[1]))
        self._rows = _locked_states(session, [(rule.id, d) for rule, d in self.pairs])
        self._states = {key: row.state for key, row in self._rows.items()}

    def compute(self, new: pd.DataFrame) -> None:
        """Run the engine over ``new`` (the stored observations; pure, replaces earlier runs)."""
        self._results = []
        if not self.pairs or new.empty:
            return
        frames = _by_datastream(new, {d for _, d in self.pairs})
        for rule, datastream_id in self.pairs:
            if datastream_id not in frames:
                continue
            text = self._states[(rule.id, datastream_id)]
            state = state_from_json(text) if text else None
            state, changes = evaluate(rule, frames[datastream_id], state)
            self._results.append((rule, datastream_id, state_to_json(state), changes))

    def record(self, session: Session, now: datetime) -> list[WarningEvent]:
        """Write the states and the changes of the last :meth:`compute`; the events.

        Returns
        -------
        list of WarningEvent
            The events recorded (flushed, with ids), in rule, datastream and time order.
        """
        events: list[WarningEvent] = []
        for rule, datastream_id, state, changes in self._results:
            self._rows[(rule.id, datastream_id)].state = state
            events.extend(_apply(session, change, datastream_id, now) for change in changes)
        if self._results:
            session.flush()
        return events


def lift_rule_warnings(
    session: Session, rule_id: str, now: datetime, reason: str
) -> list[WarningEvent]:
    """Lift every active warning of a rule that stops applying, and forget its engine states.

    Called when a rule is disabled, or changed so that it watches another observed property or
    unit: no observation will move its warnings again, so they are lifted now, each with a
    ``lifted`` event (``reason`` says why, e.g. ``rule disabled``) that the server-sent-events
    stream sends like any other. The engine states are deleted, so that the rule, enabled
    again, starts from no warning.

    Parameters
    ----------
    session
        A session in the write transaction that changes the rule.
    rule_id
        The rule.
    now
        The time of the lift (and of its events).
    reason
        Why, in at most 16 characters (kept on the warning and its event).

    Returns
    -------
    list of WarningEvent
        The events recorded (flushed, with ids).
    """
    if len(reason) > 16:
        raise ValueError(f"reason: at most 16 characters, found {reason!r}")
    warnings = session.scalars(
        select(LiveWarning)
        .where(LiveWarning.rule_id == rule_id, LiveWarning.status == "active")
        .order_by(LiveWarning.datastream_id)
    ).all()
    events = []
    for warning in warnings:
        event = WarningEvent(
            warning_id=warning.id,
            rule_id=rule_id,
            datastream_id=warning.datastream_id,
            time=now,
            recorded_at=now,
            kind="lifted",
            from_level=warning.level,
            to_level="none",
            reason=reason,
            value=warning.value,
        )
        warning.status = "lifted"
        warning.lifted_at = warning.updated_at = now
        warning.reason = reason
        session.add(event)
        events.append(event)
    session.execute(delete(WarningStateRow).where(WarningStateRow.rule_id == rule_id))
    session.flush()
    return events
