"""Administration in the store: agencies, API tokens, data-sharing grants and the audit log.

A grant shares an owner agency's datastreams (all of them, or one) with a grantee agency for
reading (:func:`~resilientcity.operations.access.readable_datastreams`); an admin or an
operator of the owner agency grants and revokes (:func:`require_owner`). Every write is
recorded with :func:`~resilientcity.operations.access.audit` in the caller's transaction.
Listings are pages, newest first (``offset`` rows skipped, at most ``limit`` returned).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from resilientcity.errors import Problem, ValidationError
from resilientcity.operations.access import Principal, agency_problem, audit, create_token
from resilientcity.operations.models import (
    Agency,
    ApiToken,
    AuditEntry,
    DataGrant,
    Datastream,
    User,
    utcnow,
)
from resilientcity.operations.response import Forbidden, NotFound

__all__ = [
    "agencies",
    "audit_page",
    "create_grant",
    "grant_page",
    "issue_token",
    "require_owner",
    "revoke_grant",
    "revoke_token",
    "token_page",
]


def agencies(session: Session) -> list[Agency]:
    """Every agency, by id."""
    return list(session.scalars(select(Agency).order_by(Agency.id)))


# --- Tokens -----------------------------------------------------------------------------------


def issue_token(
    session: Session,
    principal: Principal,
    name: str,
    role: str,
    agency_id: str | None = None,
    label: str = "",
    expires_at: datetime | None = None,
) -> tuple[str, ApiToken]:
    """Create an API token (:func:`~resilientcity.operations.access.create_token`), audited.

    Returns
    -------
    tuple
        The token (shown once, never stored) and its row, loaded again from the store (its
        creation time and user are set).

    Raises
    ------
    ValidationError
        As :func:`~resilientcity.operations.access.create_token`.
    """
    secret, row = create_token(session, name, role, agency_id, label, expires_at)
    session.refresh(row)
    detail = {"user": name, "role": role, "agency": agency_id, "label": label}
    audit(session, principal, "create", "token", row.id, detail)
    return secret, row


def token_page(session: Session, limit: int, offset: int = 0) -> list[ApiToken]:
    """API tokens, newest first."""
    query = select(ApiToken).order_by(ApiToken.id.desc()).offset(offset).limit(limit)
    return list(session.scalars(query))


def revoke_token(session: Session, principal: Principal, token_id: int) -> ApiToken:
    """Revoke an API token (audited); revoking a revoked token changes nothing.

    Raises
    ------
    NotFound
        No token with that id.
    """
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(session, principal, "revoke", "token", token_id, {"user": row.user.name})
    return row


# --- Grants -----------------------------------------------------------------------------------


def require_owner(principal: Principal, owner: str, what: str) -> None:
    """Refuse unless the principal is an admin or belongs to the owner agency.

    Parameters
    ----------
    principal
        Who asks.
    owner
        The agency whose data is concerned.
    what
        What is asked, for the message (``"share the data of water_resources"``).

    Raises
    ------
    Forbidden
        Neither an admin nor of agency ``owner``.
    """
    if principal.is_admin or principal.agency_id == owner:
        return
    raise Forbidden(
        f"only an admin or an operator of agency {owner} may {what}; "
        f"you are an operator of {principal.agency_id}"
    )


def _grant_problems(
    session: Session, owner: str, grantee: str, datastream_id: int | None
) -> list[Problem]:
    problems = [
        unknown
        for column, value in (("owner_agency", owner), ("grantee_agency", grantee))
        if (unknown := agency_problem(session, value, "grant", column))
    ]
    if owner == grantee:
        problems.append(Problem("grant", "grantee_agency", "an agency other than the owner"))
    if datastream_id is not None:
        stream = session.get(Datastream, datastream_id)
        if stream is None or stream.sensor.agency_id != owner:
            problems.append(
                Problem(
                    "grant",
                    "datastream_id",
                    f"the id of a datastream of agency {owner}, or null for all",
                    found=str(datastream_id),
                )
            )
    return problems


def create_grant(
    session: Session,
    principal: Principal,
    owner: str,
    grantee: str,
    datastream_id: int | None = None,
) -> DataGrant:
    """Share the owner agency's datastreams (all, or one) with the grantee agency, audited.

    Parameters
    ----------
    session
        A session in a write transaction.
    principal
        Who grants: an admin or an operator of ``owner``.
    owner, grantee
        Agency ids: the agency whose data is shared and the one that may read it.
    datastream_id
        The one datastream shared, or ``None`` for all of the owner's.

    Returns
    -------
    DataGrant
        The grant (flushed, with its id).

    Raises
    ------
    Forbidden
        The principal is neither an admin nor of the owner agency.
    ValidationError
        Every problem at once: an unknown agency, the owner as grantee, a datastream that is
        not the owner's.
    """
    require_owner(principal, owner, f"share the data of {owner}")
    problems = _grant_problems(session, owner, grantee, datastream_id)
    if problems:
        raise ValidationError(problems, what="data grant")
    row = DataGrant(
        owner_agency_id=owner,
        grantee_agency_id=grantee,
        datastream_id=datastream_id,
        created_at=utcnow(),
        created_by=principal.user_id,
    )
    session.add(row)
    session.flush()
    detail = {"owner_agency": owner, "grantee_agency": grantee, "datastream_id": datastream_id}
    audit(session, principal, "create", "grant", row.id, detail)
    return row


def grant_page(
    session: Session, principal: Principal, limit: int, offset: int = 0
) -> list[DataGrant]:
    """Grants, newest first: all of them, or for an operator those its agency gives or gets."""
    query = select(DataGrant)
    if principal.role == "operator":
        query = query.where(
            or_(
                DataGrant.owner_agency_id == principal.agency_id,
                DataGrant.grantee_agency_id == principal.agency_id,
            )
        )
    query = query.order_by(DataGrant.id.desc()).offset(offset).limit(limit)
    return list(session.scalars(query))


def revoke_grant(session: Session, principal: Principal, grant_id: int) -> DataGrant:
    """Revoke a grant (audited); the grantee stops reading at once; again changes nothing.

    Raises
    ------
    NotFound
        No grant with that id.
    Forbidden
        The principal is neither an admin nor of the grant's owner agency.
    """
    row = session.get(DataGrant, grant_id)
    if row is None:
        raise NotFound(f"no grant with id {grant_id}")
    require_owner(principal, row.owner_agency_id, f"revoke grants of {row.owner_agency_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(session, principal, "revoke", "grant", grant_id)
    return row


# --- Audit ------------------------------------------------------------------------------------


def audit_page(
    session: Session,
    limit: int,
    offset: int = 0,
    action: str | None = None,
    user: str | None = None,
) -> list[tuple[AuditEntry, str | None]]:
    """Audit entries, newest first, each with the name of its user (``None``: no user).

    Parameters
    ----------
    session
        A session.
    limit, offset
        The page.
    action
        Only entries of this action (``create``, ``revoke``, …).
    user
        Only entries of the user of this name.
    """
    query = select(AuditEntry, User.name).outerjoin(User, AuditEntry.user_id == User.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if user is not None:
        query = query.where(User.name == user)
    query = query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit)
    return [(entry, name) for entry, name in session.execute(query)]
