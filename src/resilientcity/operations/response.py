"""Contingency plans put into force by live warnings, and the tasks they give the agencies.

**Which plans fire.** After each ingest batch that issues or escalates a warning,
:func:`activate_plans` evaluates the stored plans (:class:`resilientcity.decision.plans.Plan`)
with the semantics of :func:`resilientcity.decision.plans.evaluate_plans`:

* the hazard kinds that "strike" are those of the ACTIVE warnings, by the observed property of
  their datastream (:data:`HAZARD_OF_PROPERTY`: river stage → ``river_flood``; rainfall and
  underpass water depth → ``pluvial_flood``); a warning on a property without a hazard kind
  (none among the example rules) fires no plan;
* a ``warning: yellow`` condition holds when the highest level among the active warnings of the
  plan's hazard kinds is yellow or higher (with the example rules every warning is a flood
  warning, so this is the city's warning colour, the highest active level);
* ``hazard:`` conditions hold when a warning of that hazard kind is active;
* ``when:`` conditions on a scenario summary have no live meaning and never hold here (the
  live summary is empty): a plan that only a ``when:`` condition triggers is activated by hand
  (:func:`activate_plan`);
* only the highest response level that fires in each plan family is kept (``highest_only``).

**Escalation.** When a higher level of a family fires, the activations of its lower levels
*stay active and their tasks continue*: the lower levels' duties (24-hour duty, patrols) are
still needed at the higher level, and work under way is not thrown away by a machine. A lower
level never fires while a higher level of its family is active (a de-escalating warning
activates nothing). Each activation is ended by a person with :func:`stand_down`; when every
warning is lifted nothing is stood down automatically.

**Idempotent.** A plan that is active, or whose family has an active activation of the same or
a higher level, is not activated again: the same warning level again creates nothing.

**Tasks.** Each activation creates its plan's tasks (:func:`resilientcity.decision.plans.tasks_of`)
with ``deadline = activation time + deadline_h`` and ``depends_on`` (task ids of the same
activation). :func:`update_task` moves them through ``pending → acknowledged → in_progress →
completed`` (``acknowledged → completed`` allowed; ``cancelled`` by an administrator only;
nothing leaves ``completed`` or ``cancelled``); :func:`escalate_overdue` marks overdue tasks.
Every write is recorded with :func:`~resilientcity.operations.access.audit` in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from resilientcity.decision import plans as decision
from resilientcity.errors import Problem, ValidationError
from resilientcity.operations.access import Principal, audit
from resilientcity.operations.models import (
    Agency,
    Datastream,
    LiveWarning,
    Plan,
    PlanActivation,
    Task,
    WarningEvent,
    utcnow,
)
from resilientcity.vocabulary import LEVELS, TASK_STATES

__all__ = [
    "HAZARD_OF_PROPERTY",
    "OPEN_TASK_STATES",
    "SYSTEM",
    "Conflict",
    "Forbidden",
    "NotFound",
    "activate_plan",
    "activate_plans",
    "escalate_overdue",
    "hazard_of",
    "plan_set",
    "stand_down",
    "update_task",
]

#: The hazard kind a warning on each observed property belongs to (the one place this mapping
#: lives). River stage warns of the river flood; rainfall accumulations and ponding in
#: underpasses warn of pluvial (surface-water) flooding. Properties of the ``rainfall_*``
#: family not listed here (e.g. a ``rainfall_24h`` stream) are pluvial too (:func:`hazard_of`).
HAZARD_OF_PROPERTY: dict[str, str] = {
    "river_stage": "river_flood",
    "rainfall_1h": "pluvial_flood",
    "rainfall_3h": "pluvial_flood",
    "rainfall_6h": "pluvial_flood",
    "rainfall_12h": "pluvial_flood",
    "underpass_water_depth": "pluvial_flood",
}
#: Task states from which work can still move on.
OPEN_TASK_STATES = ("pending", "acknowledged", "in_progress")
#: Allowed status changes (cancelling is separate: administrators only, from any open state).
_NEXT: dict[str, tuple[str, ...]] = {
    "pending": ("acknowledged",),
    "acknowledged": ("in_progress", "completed"),
    "in_progress": ("completed",),
}
#: The service itself, as recorded in the audit log for automatic writes.
SYSTEM = Principal(None, "system", "system")
#: Response levels by rank (I highest), as in :mod:`resilientcity.decision.plans`.
_RANK = {"I": 4, "II": 3, "III": 2, "IV": 1}


class Conflict(Exception):
    """A change that the current state does not allow (HTTP 409)."""


class Forbidden(Exception):
    """A change the principal may not make (HTTP 403)."""


class NotFound(LookupError):
    """No row with that id (HTTP 404)."""


def hazard_of(observed_property: str) -> str | None:
    """The hazard kind a warning on ``observed_property`` belongs to (``None``: none)."""
    if observed_property in HAZARD_OF_PROPERTY:
        return HAZARD_OF_PROPERTY[observed_property]
    return "pluvial_flood" if observed_property.startswith("rainfall_") else None


def plan_set(session: Session) -> decision.PlanSet:
    """The stored plans and agencies as a :class:`~resilientcity.decision.plans.PlanSet`."""
    plans = tuple(
        decision.Plan.model_validate(row.spec)
        for row in session.scalars(select(Plan).order_by(Plan.id))
    )
    agencies = {
        a.id: decision.Agency(
            id=a.id, name=decision.Text.model_validate({"zh": a.name_zh, "en": a.name_en})
        )
        for a in session.scalars(select(Agency))
    }
    return decision.PlanSet(plans, agencies)


@dataclass(frozen=True)
class _Cause:
    """The active warning that stands for one hazard kind: its level and where it is."""

    warning_id: int
    level: str
    rule_id: str
    datastream: str
    value: float

    def describe(self) -> str:
        return (
            f"warning {self.warning_id} {self.level} ({self.rule_id} on {self.datastream}, "
            f"value {self.value:g})"
        )


def _causes(session: Session) -> dict[str, _Cause]:
    """Per hazard kind, the highest active warning (ties: the most recently changed)."""
    rows = session.execute(
        select(LiveWarning, Datastream.name, Datastream.observed_property)
        .join(Datastream, Datastream.id == LiveWarning.datastream_id)
        .where(LiveWarning.status == "active")
        .order_by(LiveWarning.updated_at, LiveWarning.id)
    ).all()
    best: dict[str, _Cause] = {}
    for warning, name, prop in rows:
        kind = hazard_of(prop)
        if kind is None or warning.level not in LEVELS[1:]:
            continue
        have = best.get(kind)
        if have is None or LEVELS.index(warning.level) >= LEVELS.index(have.level):
            best[kind] = _Cause(warning.id, warning.level, warning.rule_id, name, warning.value)
    return best


def _fired(plans: decision.PlanSet, causes: dict[str, _Cause]) -> list[tuple[str, _Cause, str]]:
    """Plans the active warnings fire, highest level per family: (plan id, cause, reason)."""
    found: dict[str, tuple[_Cause, str]] = {}
    for kind, cause in causes.items():
        fired = decision.evaluate_plans(plans, {}, cause.level, [kind], highest_only=False)  # type: ignore[arg-type]
        for plan_id, reason in fired["reason"].items():
            have = found.get(str(plan_id))
            if have is None or LEVELS.index(cause.level) > LEVELS.index(have[0].level):
                found[str(plan_id)] = (cause, str(reason))
    best_rank: dict[str, int] = {}
    for plan_id in found:
        plan = plans.plan(plan_id)
        best_rank[plan.family] = max(best_rank.get(plan.family, 0), _RANK[plan.level])
    return [
        (plan.id, *found[plan.id])
        for plan in plans.plans
        if plan.id in found and _RANK[plan.level] == best_rank[plan.family]
    ]


def _family_rank(session: Session) -> dict[str, int]:
    """Per plan family, the highest response rank among its active activations."""
    rows = session.execute(
        select(Plan.family, Plan.level)
        .join(PlanActivation, PlanActivation.plan_id == Plan.id)
        .where(PlanActivation.status == "active")
    ).all()
    out: dict[str, int] = {}
    for family, level in rows:
        out[family] = max(out.get(family, 0), _RANK[level])
    return out


def _create_activation(
    session: Session,
    plans: decision.PlanSet,
    plan_id: str,
    warning_id: int | None,
    reason: str,
    principal: Principal,
    now: datetime,
) -> PlanActivation:
    """Write one activation and its tasks (deadline = now + deadline_h), audited."""
    activation = PlanActivation(
        plan_id=plan_id, warning_id=warning_id, activated_at=now, reason=reason, status="active"
    )
    session.add(activation)
    session.flush()
    tasks = decision.tasks_of([plan_id], plans)
    for row in tasks.to_dict("records"):
        session.add(
            Task(
                activation_id=activation.id,
                plan_task=str(row["task"]),
                agency_id=str(row["agency"]),
                text_zh=str(row["text_zh"]),
                text_en=str(row["text_en"]),
                depends_on=list(row["depends_on"]),
                deadline=now + timedelta(hours=float(row["deadline_h"])),
                status="pending",
                note="",
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    detail = {"plan": plan_id, "warning_id": warning_id, "reason": reason, "tasks": len(tasks)}
    audit(session, principal, "activate", "plan_activation", activation.id, detail, now)
    return activation


def activate_plans(
    session: Session, events: Sequence[WarningEvent], now: datetime
) -> list[PlanActivation]:
    """Activate the plans that the warnings fire after a batch (a warning hook).

    Runs inside the ingest transaction (append it to ``Service.warning_hooks``). Only batches
    with an ``issued`` or ``escalated`` event are evaluated; see the module docstring for which
    plans fire and why an active plan (or a higher level of its family) is not activated again.

    Parameters
    ----------
    session
        The ingest's session.
    events
        The batch's warning events.
    now
        Activation time (the batch's receiving time); task deadlines count from it.

    Returns
    -------
    list of PlanActivation
        The new activations (flushed, with ids), each with a reason naming the warning, its
        level and datastream, and the plan condition that held.
    """
    if not any(e.kind in ("issued", "escalated") for e in events):
        return []
    causes = _causes(session)
    if not causes:
        return []
    plans = plan_set(session)
    active = _family_rank(session)
    created = []
    for plan_id, cause, condition in _fired(plans, causes):
        plan = plans.plan(plan_id)
        if active.get(plan.family, 0) >= _RANK[plan.level]:
            continue
        reason = f"{cause.describe()}: {condition}"
        created.append(
            _create_activation(session, plans, plan_id, cause.warning_id, reason, SYSTEM, now)
        )
        active[plan.family] = _RANK[plan.level]
    return created


def activate_plan(
    session: Session,
    plan_id: str,
    principal: Principal,
    reason: str,
    now: datetime | None = None,
) -> PlanActivation:
    """Activate a plan by hand (an administrator's decision), with its tasks.

    Raises
    ------
    Forbidden
        The principal is not an administrator.
    ValidationError
        An unknown plan id or an empty reason.
    Conflict
        The plan is already active.
    """
    now = utcnow() if now is None else now
    if not principal.is_admin:
        raise Forbidden(f"only an admin activates plans by hand, not role {principal.role}")
    problems = []
    if session.get(Plan, plan_id) is None:
        known = ", ".join(session.scalars(select(Plan.id).order_by(Plan.id)))
        problems.append(Problem("activation", "plan_id", f"one of {known}", found=repr(plan_id)))
    if not reason.strip():
        problems.append(Problem("activation", "reason", "why the plan is activated (text)"))
    if problems:
        raise ValidationError(problems, what="plan activation")
    running = session.scalars(
        select(PlanActivation.id).where(
            PlanActivation.plan_id == plan_id, PlanActivation.status == "active"
        )
    ).first()
    if running is not None:
        raise Conflict(f"plan {plan_id} is already active (activation {running})")
    text = f"manual by {principal.name}: {reason.strip()}"
    return _create_activation(session, plan_set(session), plan_id, None, text, principal, now)


def stand_down(
    session: Session,
    activation_id: int,
    principal: Principal,
    now: datetime | None = None,
) -> PlanActivation:
    """End an activation: status ``stood_down``; its open tasks are cancelled.

    The cancelled tasks get a note saying so, and the audit entry lists them, so nothing is
    dropped silently.

    Raises
    ------
    Forbidden
        The principal is not an administrator.
    NotFound
        No such activation.
    Conflict
        The activation was already stood down.
    """
    now = utcnow() if now is None else now
    if not principal.is_admin:
        raise Forbidden(f"only an admin stands a plan down, not role {principal.role}")
    activation = session.get(PlanActivation, activation_id, with_for_update=True)
    if activation is None:
        raise NotFound(f"no plan activation {activation_id}")
    if activation.status != "active":
        raise Conflict(
            f"activation {activation_id} is {activation.status} since {activation.stood_down_at}"
        )
    activation.status = "stood_down"
    activation.stood_down_at = now
    cancelled = []
    for task in session.scalars(
        select(Task).where(Task.activation_id == activation_id, Task.status.in_(OPEN_TASK_STATES))
    ):
        task.status = "cancelled"
        task.note = _append(task.note, f"cancelled: plan stood down by {principal.name}")
        task.updated_at = now
        cancelled.append(task.id)
    detail = {"plan": activation.plan_id, "cancelled_tasks": cancelled}
    audit(session, principal, "stand_down", "plan_activation", activation_id, detail, now)
    session.flush()
    return activation


def _append(note: str, text: str) -> str:
    return f"{note}\n{text}" if note else text


def _check_transition(session: Session, task: Task, status: str, principal: Principal) -> None:
    """Raise unless ``task`` may move to ``status`` (same status: allowed, no change)."""
    if status not in TASK_STATES:
        problem = Problem(
            "task", "status", f"one of {', '.join(TASK_STATES)}", (str(task.id),), repr(status)
        )
        raise ValidationError([problem], what="task update")
    if status == task.status:
        return
    if task.status not in OPEN_TASK_STATES:
        raise Conflict(f"task {task.id} is {task.status}: it cannot change any more")
    if status == "cancelled":
        if not principal.is_admin:
            raise Forbidden(f"only an admin cancels a task, not role {principal.role}")
        return
    if status not in _NEXT[task.status]:
        allowed = ", ".join((*_NEXT[task.status], "cancelled (admin)"))
        raise Conflict(
            f"task {task.id} cannot go from {task.status} to {status}; allowed: {allowed}"
        )
    if status == "completed" and task.depends_on:
        blocking = session.execute(
            select(Task.plan_task, Task.status).where(
                Task.activation_id == task.activation_id,
                Task.plan_task.in_(task.depends_on),
                Task.status != "completed",
            )
        ).all()
        if blocking:
            names = ", ".join(f"{name} ({state})" for name, state in blocking)
            raise Conflict(f"task {task.id} depends on tasks not completed: {names}")


def update_task(
    session: Session,
    task_id: int,
    principal: Principal,
    status: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> Task:
    """Change a task's status and/or add a note, audited.

    Parameters
    ----------
    session
        A session in a write transaction.
    task_id
        The task.
    principal
        An admin, or an operator of the task's agency.
    status
        The new status (see the module docstring for the allowed changes).
    note
        Text appended to the task's notes.
    now
        Time of the change.

    Raises
    ------
    NotFound
        No such task.
    Forbidden
        Not an admin nor an operator of the task's agency; cancelling without being admin.
    ValidationError
        An unknown status, or neither status nor note given.
    Conflict
        A change the state does not allow, or completing a task whose ``depends_on`` tasks are
        not completed (they are named).
    """
    now = utcnow() if now is None else now
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if not (
        principal.is_admin
        or (principal.role == "operator" and principal.agency_id == task.agency_id)
    ):
        raise Forbidden(
            f"task {task_id} belongs to agency {task.agency_id}; role {principal.role} of "
            f"agency {principal.agency_id} may not change it"
        )
    if status is None and not note:
        problem = Problem("task", "status, note", "a new status or a note", (str(task_id),))
        raise ValidationError([problem], what="task update")
    before = task.status
    if status is not None:
        _check_transition(session, task, status, principal)
        task.status = status
    if note:
        task.note = _append(task.note, note)
    task.updated_at = now
    detail: dict[str, Any] = {"from": before, "to": task.status}
    if note:
        detail["note"] = note
    audit(session, principal, "update", "task", task_id, detail, now)
    session.flush()
    return task


def escalate_overdue(session: Session, now: datetime | None = None) -> list[Task]:
    """Mark the open tasks past their deadline as escalated (once each), audited as ``system``.

    Idempotent: a task already escalated is left as it is.

    Returns
    -------
    list of Task
        The tasks escalated by this call.
    """
    now = utcnow() if now is None else now
    tasks = list(
        session.scalars(
            select(Task)
            .where(
                Task.deadline < now,
                Task.status.in_(OPEN_TASK_STATES),
                Task.escalated_at.is_(None),
            )
            .order_by(Task.id)
            .with_for_update()
        )
    )
    for task in tasks:
        task.escalated_at = now
        detail = {
            "agency": task.agency_id,
            "status": task.status,
            "deadline": task.deadline.isoformat(),
            "overdue_min": round((now - task.deadline).total_seconds() / 60.0, 1),
        }
        audit(session, SYSTEM, "escalate", "task", task.id, detail, now)
    session.flush()
    return tasks
