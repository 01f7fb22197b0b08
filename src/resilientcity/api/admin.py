"""Administration: who am I, agencies, API tokens, data-sharing grants and the audit log.

Tokens are shown once, when created; listings give their prefix only (the store keeps their
SHA-256 digest). A grant shares an owner agency's datastreams (all of them, or one) with a
grantee agency for reading; an admin or an operator of the owner agency grants and revokes.
Every write is recorded in the audit log in its own transaction.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from resilientcity.api.auth import Authenticated, CurrentPrincipal, ServiceDep, require
from resilientcity.api.schemas import (
    AgencyOut,
    AuditOut,
    GrantIn,
    GrantOut,
    MeOut,
    PathId,
    TokenCreated,
    TokenIn,
    TokenOut,
)
from resilientcity.errors import Problem, ValidationError
from resilientcity.operations.access import Principal, audit, create_token
from resilientcity.operations.models import (
    Agency,
    ApiToken,
    AuditEntry,
    DataGrant,
    Datastream,
    User,
    utcnow,
)

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["admin"])


Admin = Annotated[Principal, Depends(require("admin"))]
GrantReader = Annotated[Principal, Depends(require("admin", "operator", "analyst"))]
GrantWriter = Annotated[Principal, Depends(require("admin", "operator"))]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal) -> MeOut:
    """The caller: user, role and agency (anonymous without a token)."""
    return MeOut(
        user_id=principal.user_id,
        name=principal.name,
        role=principal.role,
        agency=principal.agency_id,
    )


@router.get("/agencies", response_model=list[AgencyOut])
def list_agencies(service: ServiceDep, principal: Authenticated) -> list[AgencyOut]:
    """The agencies (any token)."""
    with service.db.read() as session:
        rows = session.scalars(select(Agency).order_by(Agency.id)).all()
    return [AgencyOut(id=a.id, name_zh=a.name_zh, name_en=a.name_en) for a in rows]


# --- Tokens -----------------------------------------------------------------------------------


def _token(row: ApiToken) -> TokenOut:
    return TokenOut(
        id=row.id,
        user=row.user.name,
        role=row.user.role,
        agency=row.user.agency_id,
        prefix=row.prefix,
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def new_token(body: TokenIn, service: ServiceDep, principal: Admin) -> TokenCreated:
    """Create an API token (admin); the secret is in this response only."""
    with service.db.write() as session:
        secret, row = create_token(
            session, body.name, body.role, body.agency, body.label, body.expires_at
        )
        session.refresh(row)
        detail = {"user": body.name, "role": body.role, "agency": body.agency, "label": body.label}
        audit(session, principal, "create", "token", row.id, detail)
        return TokenCreated(**_token(row).model_dump(), token=secret)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(
    service: ServiceDep, principal: Admin, limit: Limit = 100, offset: Offset = 0
) -> list[TokenOut]:
    """API tokens without their secrets, newest first (admin)."""
    with service.db.read() as session:
        rows = session.scalars(
            select(ApiToken).order_by(ApiToken.id.desc()).offset(offset).limit(limit)
        ).all()
        return [_token(r) for r in rows]


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: PathId, service: ServiceDep, principal: Admin) -> TokenOut:
    """Revoke an API token (admin); it stops working at once."""
    with service.db.write() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token with id {token_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit(session, principal, "revoke", "token", token_id, {"user": row.user.name})
        return _token(row)


# --- Grants -----------------------------------------------------------------------------------


def _grant(row: DataGrant) -> GrantOut:
    return GrantOut(
        id=row.id,
        owner_agency=row.owner_agency_id,
        grantee_agency=row.grantee_agency_id,
        datastream_id=row.datastream_id,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
    )


def _owner_only(principal: Principal, owner: str, what: str) -> None:
    """403 unless the principal is an admin or an operator of the owner agency."""
    if principal.is_admin or principal.agency_id == owner:
        return
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        f"only an admin or an operator of agency {owner} may {what}; "
        f"you are an operator of {principal.agency_id}",
    )


def _grant_problems(session: Session, body: GrantIn) -> list[Problem]:
    known = list(session.scalars(select(Agency.id).order_by(Agency.id)))
    problems = [
        Problem("grant", column, f"one of {', '.join(known)}", found=repr(value))
        for column, value in (
            ("owner_agency", body.owner_agency),
            ("grantee_agency", body.grantee_agency),
        )
        if value not in known
    ]
    if body.owner_agency == body.grantee_agency:
        problems.append(Problem("grant", "grantee_agency", "an agency other than the owner"))
    if body.datastream_id is not None:
        stream = session.get(Datastream, body.datastream_id)
        if stream is None or stream.sensor.agency_id != body.owner_agency:
            problems.append(
                Problem(
                    "grant",
                    "datastream_id",
                    f"the id of a datastream of agency {body.owner_agency}, or null for all",
                    found=str(body.datastream_id),
                )
            )
    return problems


@router.post("/grants", response_model=GrantOut, status_code=status.HTTP_201_CREATED)
def new_grant(body: GrantIn, service: ServiceDep, principal: GrantWriter) -> GrantOut:
    """Share the owner agency's datastreams with another agency (admin, owner's operator)."""
    _owner_only(principal, body.owner_agency, f"share the data of {body.owner_agency}")
    with service.db.write() as session:
        problems = _grant_problems(session, body)
        if problems:
            raise ValidationError(problems, what="data grant")
        row = DataGrant(
            owner_agency_id=body.owner_agency,
            grantee_agency_id=body.grantee_agency,
            datastream_id=body.datastream_id,
            created_at=utcnow(),
            created_by=principal.user_id,
        )
        session.add(row)
        session.flush()
        audit(session, principal, "create", "grant", row.id, body.model_dump())
        return _grant(row)


@router.get("/grants", response_model=list[GrantOut])
def list_grants(
    service: ServiceDep, principal: GrantReader, limit: Limit = 100, offset: Offset = 0
) -> list[GrantOut]:
    """Grants, newest first: all (admin, analyst) or those of the operator's agency."""
    query = select(DataGrant)
    if principal.role == "operator":
        query = query.where(
            or_(
                DataGrant.owner_agency_id == principal.agency_id,
                DataGrant.grantee_agency_id == principal.agency_id,
            )
        )
    with service.db.read() as session:
        rows = session.scalars(
            query.order_by(DataGrant.id.desc()).offset(offset).limit(limit)
        ).all()
    return [_grant(r) for r in rows]


@router.delete("/grants/{grant_id}", response_model=GrantOut)
def revoke_grant(grant_id: PathId, service: ServiceDep, principal: GrantWriter) -> GrantOut:
    """Revoke a grant (admin, owner's operator); the grantee stops reading at once."""
    with service.db.write() as session:
        row = session.get(DataGrant, grant_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no grant with id {grant_id}")
        _owner_only(principal, row.owner_agency_id, f"revoke grants of {row.owner_agency_id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit(session, principal, "revoke", "grant", grant_id)
        return _grant(row)


# --- Audit ------------------------------------------------------------------------------------


@router.get("/audit", response_model=list[AuditOut])
def list_audit(
    service: ServiceDep,
    principal: Admin,
    limit: Limit = 100,
    offset: Offset = 0,
    action: Annotated[str | None, Query(max_length=64)] = None,
    user: Annotated[str | None, Query(max_length=200, description="User name")] = None,
) -> list[AuditOut]:
    """The audit log, newest first (admin)."""
    query = select(AuditEntry, User.name).outerjoin(User, AuditEntry.user_id == User.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if user is not None:
        query = query.where(User.name == user)
    with service.db.read() as session:
        rows = session.execute(
            query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit)
        ).all()
    return [
        AuditOut(
            id=e.id,
            at=e.at,
            user_id=e.user_id,
            user=name,
            role=e.role,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            detail=e.detail,
        )
        for e, name in rows
    ]
