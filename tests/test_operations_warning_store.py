"""The stored warnings as shown: filters and order, events in id order, rule edits that lift."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ops_support import seeded_service
from resilientcity.operations.access import Principal, create_token
from resilientcity.operations.admin import audit_page
from resilientcity.operations.ingest import datastream_index
from resilientcity.operations.models import LiveWarning, WarningEvent
from resilientcity.operations.response import NotFound
from resilientcity.operations.service import Service
from resilientcity.operations.warning_store import (
    all_rules,
    disable_rule,
    events_after,
    latest_event_id,
    placed_warning,
    rule_spec,
    save_rule,
    warning_events,
    warning_page,
)
from resilientcity.warning import example_rules

T0 = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
RULE = "xiang_river_stage_changsha"


@pytest.fixture
def service(db_url: str, small_city) -> Iterator[Service]:
    with seeded_service(db_url, small_city) as service:
        yield service


def _warn(service: Service, level: str, status: str, hours: float) -> int:
    """A warning of the river rule on RG002's stage, changed ``hours`` after T0, with one event."""
    at = T0 + timedelta(hours=hours)
    with service.db.write() as session:
        stage = datastream_index(session).by_name["RG002:river_stage"].id
        row = LiveWarning(
            rule_id=RULE,
            datastream_id=stage,
            level=level,
            status=status,
            issued_at=T0,
            updated_at=at,
            lifted_at=at if status == "lifted" else None,
            reason="above",
            value=38.0,
        )
        session.add(row)
        session.flush()
        session.add(
            WarningEvent(
                warning_id=row.id,
                rule_id=RULE,
                datastream_id=stage,
                time=at,
                recorded_at=at,
                kind="issued",
                from_level="none",
                to_level=level,
                reason="above",
                value=38.0,
            )
        )
        return row.id


def test_warnings_are_filtered_and_the_latest_changed_come_first(service: Service):
    old = _warn(service, "blue", "active", 1)
    lifted = _warn(service, "yellow", "lifted", 2)
    red = _warn(service, "red", "active", 3)
    tie = _warn(service, "red", "active", 3)  # same time: the higher id first

    def ids(**filters) -> list[int]:
        with service.db.read() as session:
            return [w.warning.id for w in warning_page(session, **filters)]

    assert ids() == [tie, red, old]
    assert ids(status="lifted") == [lifted]
    assert ids(status="all") == [tie, red, lifted, old]
    assert ids(status="all", level="red") == [tie, red]
    assert ids(status="all", since=T0 + timedelta(hours=2)) == [tie, red, lifted]
    assert ids(status="all", limit=2, offset=1) == [red, lifted]
    with service.db.read() as session:
        placed = placed_warning(session, red)
        history = warning_events(session, red)
        with pytest.raises(NotFound, match="no warning with id"):
            placed_warning(session, tie + 100)
    assert (placed.datastream, placed.sensor) == ("RG002:river_stage", "RG002")
    assert placed.lon is not None and placed.lat is not None
    assert [(e.warning_id, e.to_level) for e in history] == [(red, "red")]


def test_events_come_in_id_order_after_an_id_with_their_warning_now(service: Service):
    with service.db.read() as session:
        assert latest_event_id(session) == 0
        assert events_after(session, 0, 10) == []
    first = _warn(service, "blue", "active", 1)
    second = _warn(service, "orange", "lifted", 2)
    with service.db.read() as session:
        last = latest_event_id(session)
        every = events_after(session, 0, 10)
        one = events_after(session, 0, 1)
        later = events_after(session, every[0].event.id, 10)
    assert last == every[-1].event.id
    assert [(e.event.warning_id, e.level, e.status) for e in every] == [
        (first, "blue", "active"),
        (second, "orange", "lifted"),
    ]
    assert one == every[:1] and later == every[1:]
    assert every[0].sensor == "RG002"


def test_moving_or_disabling_a_rule_lifts_its_active_warnings_and_is_audited(service: Service):
    with service.db.write() as session:
        _, token = create_token(session, "root", "admin")
        admin = Principal(token.user.id, "root", "admin")
    active = _warn(service, "yellow", "active", 1)
    rule = example_rules()[RULE]
    spec = rule.model_dump(mode="json")
    with service.db.write() as session:
        same = save_rule(session, admin, rule, spec)  # same property and unit: nothing lifted
        assert (same.created, same.lifted) == (False, [])
        new = rule.model_copy(update={"id": "copy"})
        made = save_rule(session, admin, new, {**spec, "id": "copy"})
        assert made.created and made.row.enabled and made.lifted == []
        moved = rule.model_copy(update={"observed_property": "water_level"})
        lifted = save_rule(session, admin, moved, spec).lifted
    assert [(e.warning_id, e.kind, e.reason) for e in lifted] == [
        (active, "lifted", "rule changed")
    ]
    again = _warn(service, "blue", "active", 2)
    with service.db.write() as session:
        off = disable_rule(session, admin, RULE)
        with pytest.raises(NotFound, match="no rule with id"):
            disable_rule(session, admin, "nothing")
    assert not off.row.enabled and [e.warning_id for e in off.lifted] == [again]
    with service.db.read() as session:
        statuses = set(session.scalars(select(LiveWarning.status)))
        rules = {r.id: r.enabled for r in all_rules(session)}
        log = [(e.action, e.entity_id, e.detail.get("lifted")) for e, _ in audit_page(session, 9)]
        assert rule_spec(session, "copy")["id"] == "copy" and rule_spec(session, "none") == {}
    assert statuses == {"lifted"}
    assert rules[RULE] is False and rules["copy"] is True
    assert log == [
        ("disable", RULE, 1),
        ("update", RULE, None),
        ("create", "copy", None),
        ("update", RULE, None),
    ]
