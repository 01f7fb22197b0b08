"""Who may do what: users, API tokens, roles, data-sharing grants and the audit log.

Roles (:data:`~resilientcity.vocabulary.ROLES`):

``admin``
    Everything: sensors, datastreams, rules, plans, tokens, grants, the audit log.
``operator``
    Works for one agency: reads and writes the observations of its agency's datastreams and of
    the datastreams shared with it by a grant (read only), updates its agency's tasks, triages
    and dispatches incidents, shares its own datastreams with other agencies.
``analyst``
    Reads everything except tokens and the audit log; writes nothing.
``public``
    Reports incidents only (the public endpoint needs no token at all).

Tokens are 256-bit random strings shown once; only their SHA-256 digest is stored (a slow
password hash is not needed for random secrets of this length, and a fast digest keeps every
request cheap).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from resilientcity.errors import Problem, ValidationError
from resilientcity.operations.models import (
    Agency,
    ApiToken,
    AuditEntry,
    DataGrant,
    Datastream,
    Sensor,
    User,
    utcnow,
)
from resilientcity.vocabulary import ROLES

__all__ = [
    "ANONYMOUS",
    "TOKEN_PREFIX",
    "Principal",
    "agency_problem",
    "audit",
    "authenticate",
    "create_token",
    "digest",
    "readable_datastreams",
    "writable_datastreams",
]

#: Every token starts with this, so that a leaked token is easy to recognise in logs.
TOKEN_PREFIX = "rc_"


def agency_problem(
    session: Session, agency: str, layer: str, column: str = "agency", rows: tuple[str, ...] = ()
) -> Problem | None:
    """The problem of an ``agency`` id the store does not know (naming the known ones), or None.

    Parameters
    ----------
    session
        A session.
    agency
        The agency id given.
    layer, column, rows
        Where it was given (as :class:`~resilientcity.errors.Problem`).
    """
    if session.get(Agency, agency) is not None:
        return None
    known = ", ".join(session.scalars(select(Agency.id).order_by(Agency.id)))
    return Problem(layer, column, f"one of {known}", rows, repr(agency))


@dataclass(frozen=True)
class Principal:
    """The user behind a request (``user_id`` is ``None`` for anonymous public requests)."""

    user_id: int | None
    name: str
    role: str
    agency_id: str | None = None

    @property
    def is_admin(self) -> bool:
        """Whether the user is an administrator."""
        return self.role == "admin"


#: The principal of a request without a token.
ANONYMOUS = Principal(None, "anonymous", "public")


def digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    name: str,
    role: str,
    agency_id: str | None = None,
    label: str = "",
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """Create (or reuse) the user ``name`` and give it a new API token.

    Parameters
    ----------
    session
        A session in a write transaction.
    name
        User name; created with ``role`` and ``agency_id`` when new, and must have them when it
        exists.
    role
        One of :data:`~resilientcity.vocabulary.ROLES`.
    agency_id
        The operator's agency (required for operators, allowed for others).
    label
        What the token is for.
    expires_at
        When the token stops working (``None``: never); a time after ``now``.
    now
        The current time (default: the clock).

    Returns
    -------
    tuple
        The token (shown once, never stored) and its row.

    Raises
    ------
    ValidationError
        Unknown role or agency, an operator without agency, an existing user with another
        role or agency, or an expiry time that is not in the future.
    """
    now = utcnow() if now is None else now
    problems = []
    if expires_at is not None and expires_at <= now:
        problems.append(
            Problem(
                "token",
                "expires_at",
                f"a time after now ({now:%Y-%m-%dT%H:%M:%SZ}): a token that has expired "
                "cannot be used",
                found=expires_at.isoformat(),
            )
        )
    if role not in ROLES:
        problems.append(Problem("token", "role", f"one of {', '.join(ROLES)}", found=repr(role)))
    if role == "operator" and not agency_id:
        problems.append(Problem("token", "agency", "an agency id for an operator"))
    if agency_id and (unknown := agency_problem(session, agency_id, "token")):
        problems.append(unknown)
    user = session.scalars(select(User).where(User.name == name)).first()
    if user is not None and (user.role, user.agency_id) != (role, agency_id or None):
        problems.append(
            Problem(
                "token",
                "name",
                f"a new user, or the role {user.role} and agency {user.agency_id} of {name!r}",
                found=f"role {role}, agency {agency_id}",
            )
        )
    if problems:
        raise ValidationError(problems, what="API token")
    if user is None:
        user = User(name=name, role=role, agency_id=agency_id or None)
        session.add(user)
        session.flush()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        digest=digest(token),
        prefix=token[:10],
        label=label,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return token, row


def authenticate(session: Session, token: str, now: datetime | None = None) -> Principal | None:
    """The principal of a token, or ``None`` when it is unknown, revoked or expired."""
    now = utcnow() if now is None else now
    row = session.scalars(select(ApiToken).where(ApiToken.digest == digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    return Principal(row.user.id, row.user.name, row.user.role, row.user.agency_id)


def writable_datastreams(session: Session, principal: Principal) -> set[int] | None:
    """Datastream ids the principal may write observations to (``None``: all of them)."""
    if principal.is_admin:
        return None
    if principal.role != "operator":
        return set()
    query = select(Datastream.id).join(Sensor).where(Sensor.agency_id == principal.agency_id)
    return set(session.scalars(query))


def readable_datastreams(
    session: Session, principal: Principal, now: datetime | None = None
) -> set[int] | None:
    """Datastream ids the principal may read (``None``: all of them).

    Operators read their agency's datastreams and those shared with their agency by a grant
    that is not revoked; admins and analysts read all; the public reads none.
    """
    if principal.role in ("admin", "analyst"):
        return None
    if principal.role != "operator":
        return set()
    own = writable_datastreams(session, principal) or set()
    grants = session.execute(
        select(DataGrant.owner_agency_id, DataGrant.datastream_id).where(
            DataGrant.grantee_agency_id == principal.agency_id,
            DataGrant.revoked_at.is_(None),
        )
    ).all()
    whole = [owner for owner, stream in grants if stream is None]
    single = {stream for _, stream in grants if stream is not None}
    if whole:
        query = (
            select(Datastream.id).join(Sensor).where(or_(*(Sensor.agency_id == a for a in whole)))
        )
        single.update(session.scalars(query))
    return own | single


def audit(
    session: Session,
    principal: Principal,
    action: str,
    entity: str,
    entity_id: str | int = "",
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Record a write in the audit log (in the caller's transaction, so both land or neither)."""
    session.add(
        AuditEntry(
            at=utcnow() if now is None else now,
            user_id=principal.user_id,
            role=principal.role,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            detail=detail or {},
        )
    )
