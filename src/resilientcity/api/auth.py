"""Who is calling: bearer tokens to principals, and role checks as FastAPI dependencies.

A request without an ``Authorization`` header is anonymous (role ``public``). A request with
one must carry ``Bearer <token>`` with a known, valid token: another scheme (``Basic …``), an
empty token, or an unknown, revoked or expired one is refused with 401, never treated as
anonymous (a client that meant to authenticate learns that it did not). Endpoints state the roles they accept with :func:`require`; a principal with
another role gets 403 (401 when anonymous).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from resilientcity.operations.access import ANONYMOUS, Principal, authenticate
from resilientcity.operations.service import Service
from resilientcity.vocabulary import ROLES

__all__ = [
    "Authenticated",
    "CurrentPrincipal",
    "ServiceDep",
    "authenticated",
    "current_principal",
    "get_service",
    "require",
]

_bearer = HTTPBearer(auto_error=False, description="An API token: `resilientcity token create`")


def get_service(request: Request) -> Service:
    """The operations service of the application."""
    service: Service = request.app.state.service
    return service


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The principal of the request (anonymous without a header; 401 for a bad one)."""
    if credentials is None or not credentials.credentials.strip():
        if request.headers.get("authorization") is None:
            return ANONYMOUS
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the Authorization header must be `Bearer <token>` with an API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    service = get_service(request)
    with service.db.read() as session:
        principal = authenticate(session, credentials.credentials)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown, revoked or expired API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency that lets through only the principals with one of ``roles``."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles {unknown}; roles are {ROLES}")

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role in roles:
            return principal
        if principal.user_id is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "this endpoint needs an API token (Authorization: Bearer …)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"role {principal.role} may not do this; allowed: {', '.join(roles)}",
        )

    return check


def authenticated(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The caller, who must have a staff token (admin, operator or analyst).

    401 when anonymous; 403 for a ``public`` token, which may do no more than an anonymous
    caller (read warnings, report incidents).
    """
    if principal.user_id is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this endpoint needs an API token (Authorization: Bearer …)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if principal.role == "public":
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "a public token may only read warnings and report incidents",
        )
    return principal


#: The service, as a parameter annotation of an endpoint.
ServiceDep = Annotated[Service, Depends(get_service)]
#: The caller (possibly anonymous), as a parameter annotation of an endpoint.
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
#: A caller with a staff token: admin, operator or analyst (anonymous: 401, public: 403).
Authenticated = Annotated[Principal, Depends(authenticated)]
