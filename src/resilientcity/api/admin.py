"""Administration: who am I, agencies, API tokens, data-sharing grants and the audit log.

Tokens are shown once, when created; listings give their prefix only (the store keeps their
SHA-256 digest). A grant shares an owner agency's datastreams (all of them, or one) with a
grantee agency for reading; an admin or an operator of the owner agency grants and revokes.
Every write is recorded in the audit log in its own transaction.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from resilientcity.api.auth import Authenticated, CurrentPrincipal, ServiceDep, require
from resilientcity.api.errors import http_errors
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
from resilientcity.operations import admin as admin_ops
from resilientcity.operations.access import Principal
from resilientcity.operations.models import ApiToken, DataGrant

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
        rows = admin_ops.agencies(session)
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
        secret, row = admin_ops.issue_token(
            session, principal, body.name, body.role, body.agency, body.label, body.expires_at
        )
        return TokenCreated(**_token(row).model_dump(), token=secret)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(
    service: ServiceDep, principal: Admin, limit: Limit = 100, offset: Offset = 0
) -> list[TokenOut]:
    """API tokens without their secrets, newest first (admin)."""
    with service.db.read() as session:
        return [_token(r) for r in admin_ops.token_page(session, limit, offset)]


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: PathId, service: ServiceDep, principal: Admin) -> TokenOut:
    """Revoke an API token (admin); it stops working at once."""
    with http_errors(), service.db.write() as session:
        return _token(admin_ops.revoke_token(session, principal, token_id))


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


@router.post("/grants", response_model=GrantOut, status_code=status.HTTP_201_CREATED)
def new_grant(body: GrantIn, service: ServiceDep, principal: GrantWriter) -> GrantOut:
    """Share the owner agency's datastreams with another agency (admin, owner's operator)."""
    with http_errors():
        # refused before the write transaction is begun
        admin_ops.require_owner(
            principal, body.owner_agency, f"share the data of {body.owner_agency}"
        )
        with service.db.write() as session:
            row = admin_ops.create_grant(
                session, principal, body.owner_agency, body.grantee_agency, body.datastream_id
            )
            return _grant(row)


@router.get("/grants", response_model=list[GrantOut])
def list_grants(
    service: ServiceDep, principal: GrantReader, limit: Limit = 100, offset: Offset = 0
) -> list[GrantOut]:
    """Grants, newest first: all (admin, analyst) or those of the operator's agency."""
    with service.db.read() as session:
        rows = admin_ops.grant_page(session, principal, limit, offset)
    return [_grant(r) for r in rows]


@router.delete("/grants/{grant_id}", response_model=GrantOut)
def revoke_grant(grant_id: PathId, service: ServiceDep, principal: GrantWriter) -> GrantOut:
    """Revoke a grant (admin, owner's operator); the grantee stops reading at once."""
    with http_errors(), service.db.write() as session:
        return _grant(admin_ops.revoke_grant(session, principal, grant_id))


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
    with service.db.read() as session:
        rows = admin_ops.audit_page(session, limit, offset, action=action, user=user)
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
