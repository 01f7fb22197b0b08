"""Reading the plans, their activations and the agencies' tasks (the writes: :mod:`.response`).

Who reads which tasks: admins and analysts read every task; an operator reads the tasks of its
own agency only (:func:`task_agency`), also inside the activations it lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from resilientcity.operations.access import Principal
from resilientcity.operations.models import Plan, PlanActivation, Task
from resilientcity.operations.response import OPEN_TASK_STATES, Forbidden

__all__ = [
    "activation_tasks",
    "activations",
    "plan_id_of",
    "plans",
    "task_agency",
    "tasks",
]


def plans(session: Session) -> Sequence[Plan]:
    """The stored contingency plans, by family then id."""
    return session.scalars(select(Plan).order_by(Plan.family, Plan.id)).all()


def task_agency(principal: Principal, agency: str | None = None) -> str | None:
    """The agency whose tasks ``principal`` reads when asking for those of ``agency``.

    Parameters
    ----------
    principal
        The reader.
    agency
        The agency asked for (``None``: every agency).

    Returns
    -------
    str or None
        An operator's own agency; for anyone else ``agency`` as asked (``None``: no filter).

    Raises
    ------
    Forbidden
        An operator asked for the tasks of another agency.
    """
    if principal.role != "operator":
        return agency
    if agency is not None and agency != principal.agency_id:
        raise Forbidden(f"an operator of {principal.agency_id} may not read the tasks of {agency}")
    return principal.agency_id


def activations(
    session: Session, status: str | None = None, limit: int = 500
) -> Sequence[PlanActivation]:
    """Plan activations, newest first, optionally of one ``status``, at most ``limit``."""
    query = select(PlanActivation).order_by(PlanActivation.id.desc()).limit(limit)
    if status is not None:
        query = query.where(PlanActivation.status == status)
    return session.scalars(query).all()


def activation_tasks(
    session: Session, activation_id: int, agency: str | None = None
) -> Sequence[Task]:
    """The tasks of one activation by id, only those of ``agency`` when given."""
    query = select(Task).where(Task.activation_id == activation_id).order_by(Task.id)
    if agency is not None:
        query = query.where(Task.agency_id == agency)
    return session.scalars(query).all()


def tasks(
    session: Session,
    now: datetime,
    status: str | None = None,
    agency: str | None = None,
    overdue: bool | None = None,
    limit: int = 500,
) -> list[tuple[Task, str]]:
    """Tasks with the id of their plan, newest first.

    Parameters
    ----------
    session
        A session.
    now
        The time against which a task is overdue (an open task past its deadline).
    status
        Only tasks in this status (``None``: any).
    agency
        Only tasks of this agency (``None``: any; see :func:`task_agency` for who may ask).
    overdue
        Only overdue tasks (``True``), only those not overdue (``False``), or both (``None``).
    limit
        At most this many tasks.

    Returns
    -------
    list of (Task, str)
        Each task with the plan id of its activation.
    """
    query = (
        select(Task, PlanActivation.plan_id)
        .join(PlanActivation, PlanActivation.id == Task.activation_id)
        .order_by(Task.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(Task.status == status)
    if agency is not None:
        query = query.where(Task.agency_id == agency)
    if overdue is True:
        query = query.where(Task.deadline < now, Task.status.in_(OPEN_TASK_STATES))
    elif overdue is False:
        query = query.where((Task.deadline >= now) | Task.status.not_in(OPEN_TASK_STATES))
    return [(task, plan_id) for task, plan_id in session.execute(query)]


def plan_id_of(session: Session, task: Task) -> str:
    """The id of the plan whose activation gave ``task`` (empty when the activation is gone)."""
    activation = session.get(PlanActivation, task.activation_id)
    return activation.plan_id if activation else ""
