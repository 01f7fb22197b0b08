"""Plans activated by live warnings, tasks for agencies, their transitions and escalation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from ops_support import seeded_service
from resilientcity.errors import ValidationError
from resilientcity.operations.access import Principal, authenticate, create_token
from resilientcity.operations.models import (
    AuditEntry,
    LiveWarning,
    PlanActivation,
    Task,
    WarningRuleRow,
)
from resilientcity.operations.response import (
    Conflict,
    Forbidden,
    activate_plan,
    activate_plans,
    escalate_overdue,
    hazard_of,
    stand_down,
    update_task,
)
from resilientcity.operations.response_queries import (
    activation_tasks,
    plan_id_of,
    plans,
    task_agency,
)
from resilientcity.operations.response_queries import activations as read_activations
from resilientcity.operations.response_queries import tasks as read_tasks
from resilientcity.operations.service import Service

T0 = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
#: A receiving time after every observation of the tests (later ones would be "future").
LATER = timedelta(hours=8)


@pytest.fixture
def service(db_url: str, small_city) -> Iterator[Service]:
    with seeded_service(db_url, small_city) as svc:
        with svc.db.write() as session:
            # Thresholds only (no rate or forecast trigger): each level comes from the stage.
            row = session.get(WarningRuleRow, "xiang_river_stage_changsha")
            row.spec = {**row.spec, "rate": [], "forecast": None}
        svc.warning_hooks.append(activate_plans)
        yield svc


def stage_batch(stream: str, value: float, start: datetime, n: int = 6) -> pd.DataFrame:
    """``n`` observations of ``value`` every 10 minutes from ``start``."""
    times = [(start + timedelta(minutes=10 * i)).isoformat() for i in range(n)]
    return pd.DataFrame({"datastream": stream, "phenomenon_time": times, "result": value})


def principal(service: Service, name: str, role: str, agency: str | None = None) -> Principal:
    with service.db.write() as session:
        token, _ = create_token(session, name, role, agency)
        found = authenticate(session, token)
    assert found is not None
    return found


def activations(service: Service) -> list[tuple[str, str]]:
    with service.db.read() as session:
        rows = session.execute(
            select(PlanActivation.plan_id, PlanActivation.status).order_by(PlanActivation.id)
        ).all()
    return [tuple(r) for r in rows]


def test_hazard_kinds_of_observed_properties():
    assert hazard_of("river_stage") == "river_flood"
    assert hazard_of("rainfall_1h") == hazard_of("rainfall_24h") == "pluvial_flood"
    assert hazard_of("underpass_water_depth") == "pluvial_flood"
    assert hazard_of("load") is None


def test_rising_river_activates_flood_iv_then_iii_once(service: Service):
    gauge = "RG002:river_stage"
    service.ingest(stage_batch(gauge, 35.0, T0), "test", now=T0 + timedelta(hours=1))
    assert activations(service) == []

    now_blue = T0 + timedelta(hours=2)
    service.ingest(stage_batch(gauge, 35.7, T0 + timedelta(hours=1)), "test", now=now_blue)
    assert activations(service) == [("flood_iv", "active")]
    with service.db.read() as session:
        activation = session.scalars(select(PlanActivation)).one()
        tasks = {t.plan_task: t for t in session.scalars(select(Task))}
        warning = session.get(LiveWarning, activation.warning_id)
    assert warning.level == "blue"
    assert "blue" in activation.reason and gauge in activation.reason
    assert set(tasks) == {"duty", "forecast", "embankment_patrol", "underpass_watch"}
    assert tasks["duty"].deadline == now_blue + timedelta(hours=1)
    assert tasks["embankment_patrol"].deadline == now_blue + timedelta(hours=6)
    assert tasks["embankment_patrol"].depends_on == ["duty"]
    assert tasks["duty"].agency_id == "emergency" and tasks["duty"].status == "pending"

    now_yellow = T0 + timedelta(hours=3)
    service.ingest(stage_batch(gauge, 36.3, T0 + timedelta(hours=2)), "test", now=now_yellow)
    # The higher level joins; the lower one stays active with its tasks.
    assert activations(service) == [("flood_iv", "active"), ("flood_iii", "active")]

    # The same data again, and a second gauge at the same level: nothing new.
    service.ingest(stage_batch(gauge, 36.3, T0 + timedelta(hours=2)), "test", now=now_yellow)
    service.ingest(stage_batch("RG001:river_stage", 36.2, T0), "test", now=now_yellow)
    with service.db.read() as session:
        assert session.scalar(select(func.count()).select_from(LiveWarning)) == 2
    assert len(activations(service)) == 2

    # Every warning lifted: activations are not stood down by the machine.
    for stream in (gauge, "RG001:river_stage"):
        service.ingest(
            stage_batch(stream, 34.0, T0 + timedelta(hours=4), 12), "test", now=T0 + LATER
        )
    with service.db.read() as session:
        statuses = set(session.scalars(select(LiveWarning.status)))
        entries = session.execute(
            select(AuditEntry.role, AuditEntry.action).where(AuditEntry.entity == "plan_activation")
        ).all()
    assert statuses == {"lifted"}
    assert activations(service) == [("flood_iv", "active"), ("flood_iii", "active")]
    assert entries == [("system", "activate"), ("system", "activate")]


def test_skipping_a_level_fires_only_the_highest_and_no_lower_afterwards(service: Service):
    gauge = "RG002:river_stage"
    service.ingest(stage_batch(gauge, 38.5, T0), "test", now=T0 + timedelta(hours=1))
    assert activations(service) == [("flood_ii", "active")]
    # Falling back to yellow (a de-escalation, then a new gauge issuing yellow) fires nothing lower.
    service.ingest(stage_batch(gauge, 36.5, T0 + timedelta(hours=1), 12), "test", now=T0 + LATER)
    service.ingest(stage_batch("RG003:river_stage", 36.5, T0), "test", now=T0 + LATER)
    assert activations(service) == [("flood_ii", "active")]


def test_task_transitions_dependencies_and_agencies(service: Service):
    admin = principal(service, "admin", "admin")
    emergency = principal(service, "op-em", "operator", "emergency")
    water = principal(service, "op-wr", "operator", "water_resources")
    analyst = principal(service, "analyst", "analyst")
    with service.db.write() as session:
        activation = activate_plan(session, "flood_iv", admin, "drill", T0)
        ids = {
            t.plan_task: t.id
            for t in session.scalars(select(Task).where(Task.activation_id == activation.id))
        }

    def change(who: Principal, task: str, status: str | None = None, note: str | None = None):
        with service.db.write() as session:
            return update_task(session, ids[task], who, status, note, T0).status

    with pytest.raises(Forbidden, match="water_resources"):
        change(emergency, "embankment_patrol", "acknowledged")
    with pytest.raises(Forbidden):
        change(analyst, "duty", "acknowledged")
    with pytest.raises(Conflict, match="pending to completed"):
        change(emergency, "duty", "completed")
    with pytest.raises(ValidationError, match="status"):
        change(emergency, "duty", "done")
    with pytest.raises(Forbidden, match="admin"):
        change(emergency, "duty", "cancelled")

    assert change(water, "embankment_patrol", "acknowledged") == "acknowledged"
    with pytest.raises(Conflict, match=r"duty \(pending\)"):
        change(water, "embankment_patrol", "completed")
    assert change(emergency, "duty", "acknowledged") == "acknowledged"
    assert change(emergency, "duty", "in_progress") == "in_progress"
    assert change(emergency, "duty", "completed") == "completed"
    assert (
        change(water, "embankment_patrol", "completed") == "completed"
    )  # acknowledged → completed
    assert change(water, "embankment_patrol", note="east bank checked") == "completed"
    with pytest.raises(Conflict, match="cannot change"):
        change(admin, "duty", "in_progress")
    assert change(admin, "forecast", "cancelled") == "cancelled"
    with pytest.raises(Conflict):
        change(admin, "forecast", "pending")

    with service.db.read() as session:
        patrol = session.get(Task, ids["embankment_patrol"])
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "task").order_by(AuditEntry.id)
        ).all()
    assert patrol.note == "east bank checked"
    # Six successful updates, each audited with who did it; refused ones leave no entry.
    assert [(e.user_id, e.detail["to"]) for e in entries] == [
        (water.user_id, "acknowledged"),
        (emergency.user_id, "acknowledged"),
        (emergency.user_id, "in_progress"),
        (emergency.user_id, "completed"),
        (water.user_id, "completed"),
        (water.user_id, "completed"),
        (admin.user_id, "cancelled"),
    ]


def test_overdue_tasks_escalate_once(service: Service):
    admin = principal(service, "admin", "admin")
    with service.db.write() as session:
        activate_plan(session, "flood_iv", admin, "drill", T0)
    with service.db.write() as session:
        assert escalate_overdue(session, T0 + timedelta(minutes=30)) == []
    with service.db.write() as session:
        first = [t.plan_task for t in escalate_overdue(session, T0 + timedelta(hours=3))]
    assert sorted(first) == ["duty", "forecast"]  # deadlines 1 h and 2 h
    with service.db.write() as session:
        assert escalate_overdue(session, T0 + timedelta(hours=4)) == []
        later = [t.plan_task for t in escalate_overdue(session, T0 + timedelta(hours=7))]
    assert sorted(later) == ["embankment_patrol", "underpass_watch"]
    with service.db.read() as session:
        escalations = session.execute(
            select(AuditEntry.role, AuditEntry.entity_id).where(AuditEntry.action == "escalate")
        ).all()
        escalated = session.scalars(select(Task.escalated_at)).all()
    assert len(escalations) == 4 and {r for r, _ in escalations} == {"system"}
    assert sorted(escalated) == [T0 + timedelta(hours=3)] * 2 + [T0 + timedelta(hours=7)] * 2


def test_manual_activation_and_stand_down(service: Service):
    admin = principal(service, "admin", "admin")
    operator = principal(service, "op-em", "operator", "emergency")
    with service.db.write() as session, pytest.raises(ValidationError) as caught:
        activate_plan(session, "flood_v", admin, " ", T0)
    assert {p.column for p in caught.value.problems} == {"plan_id", "reason"}
    with service.db.write() as session, pytest.raises(Forbidden):
        activate_plan(session, "flood_iv", operator, "drill", T0)
    with service.db.write() as session:
        activation_id = activate_plan(session, "earthquake_iv", admin, "felt report", T0).id
    with service.db.write() as session, pytest.raises(Conflict, match="already active"):
        activate_plan(session, "earthquake_iv", admin, "again", T0)
    with service.db.write() as session:
        task = session.scalars(select(Task).where(Task.plan_task == "assess")).one()
        update_task(session, task.id, admin, "acknowledged", None, T0)
        update_task(session, task.id, admin, "completed", None, T0)
    with service.db.write() as session, pytest.raises(Forbidden):
        stand_down(session, activation_id, operator, T0)
    with service.db.write() as session:
        stand_down(session, activation_id, admin, T0 + timedelta(hours=1))
    with service.db.write() as session, pytest.raises(Conflict, match="stood_down"):
        stand_down(session, activation_id, admin, T0)
    with service.db.read() as session:
        states = dict(session.execute(select(Task.plan_task, Task.status)).all())
        detail = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "stand_down")
        ).one()
    assert states == {"assess": "completed", "building_check": "cancelled"}
    assert len(detail["cancelled_tasks"]) == 1
    assert activations(service) == [("earthquake_iv", "stood_down")]


@pytest.mark.parametrize(
    ("role", "agency", "asked", "reads"),
    [
        ("admin", None, None, None),
        ("admin", None, "emergency", "emergency"),
        ("analyst", None, "water_resources", "water_resources"),
        ("operator", "emergency", None, "emergency"),
        ("operator", "emergency", "emergency", "emergency"),
    ],
)
def test_task_agency_scopes_an_operator_to_its_agency(role, agency, asked, reads):
    assert task_agency(Principal(1, "x", role, agency), asked) == reads


def test_an_operator_may_not_ask_for_another_agencys_tasks():
    with pytest.raises(Forbidden, match="operator of emergency may not read the tasks of water"):
        task_agency(Principal(1, "x", "operator", "emergency"), "water_resources")


def test_task_reads_filter_and_order(service: Service):
    admin = principal(service, "admin", "admin")
    with service.db.write() as session:
        flood = activate_plan(session, "flood_iv", admin, "drill", T0).id
        quake = activate_plan(session, "earthquake_iv", admin, "felt report", T0).id
    with service.db.write() as session:
        stand_down(session, quake, admin, T0)
    later = T0 + timedelta(hours=3)  # past the 1 h and 2 h deadlines of duty and forecast
    with service.db.read() as session:
        assert [a.id for a in read_activations(session)] == [quake, flood]
        assert [a.id for a in read_activations(session, "active")] == [flood]
        assert [a.id for a in read_activations(session, limit=1)] == [quake]
        of_flood = activation_tasks(session, flood)
        assert [t.id for t in of_flood] == sorted(t.id for t in of_flood)
        assert [t.plan_task for t in activation_tasks(session, flood, "water_resources")] == [
            "embankment_patrol"
        ]
        every = read_tasks(session, later)
        assert [t.id for t, _ in every] == sorted((t.id for t, _ in every), reverse=True)
        assert {p for t, p in every if t.activation_id == flood} == {"flood_iv"}
        assert {p for t, p in every if t.activation_id == quake} == {"earthquake_iv"}
        overdue = {t.plan_task for t, _ in read_tasks(session, later, overdue=True)}
        assert overdue == {"duty", "forecast"}  # cancelled tasks are not overdue
        rest = {t.plan_task for t, _ in read_tasks(session, later, overdue=False)}
        assert rest == {t.plan_task for t, _ in every} - overdue
        cancelled = read_tasks(session, later, status="cancelled")
        assert {t.activation_id for t, _ in cancelled} == {quake}
        water = read_tasks(session, later, agency="water_resources", overdue=False)
        assert [t.plan_task for t, _ in water] == ["embankment_patrol"]
        assert len(read_tasks(session, later, limit=2)) == 2
        assert plan_id_of(session, of_flood[0]) == "flood_iv"
        order = [(p.family, p.id) for p in plans(session)]
    assert order == sorted(order) and len(order) > 1
