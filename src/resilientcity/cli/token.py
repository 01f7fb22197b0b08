"""``resilientcity token create|list|revoke``: API tokens of the operations service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from resilientcity.cli._console import console, err_console
from resilientcity.cli.serve import DbOption
from resilientcity.errors import Problem, ResilientCityError, ValidationError
from resilientcity.operations.db import DEFAULT_URL

if TYPE_CHECKING:
    from resilientcity.operations.models import ApiToken

token_app = typer.Typer(
    help="API tokens of the operations service (stored hashed, shown once).",
    no_args_is_help=True,
)

NO_AGENCIES = (
    "no agencies in the store: run `resilientcity serve` once to seed the demo city's "
    "agencies, then create the token"
)


@token_app.command("create")
def create(
    role: Annotated[
        str, typer.Option("--role", help="admin, operator, analyst or public.", show_default=False)
    ],
    agency: Annotated[
        str | None, typer.Option("--agency", help="The agency (required for an operator).")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="User name (default: AGENCY-ROLE, or ROLE without agency)."),
    ] = None,
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
    expires_days: Annotated[
        float | None,
        typer.Option("--expires-days", min=0, help="Days until it stops working (default: never)."),
    ] = None,
    db: DbOption = DEFAULT_URL,
) -> None:
    """Create an API token and print it (it is shown only once)."""
    from sqlalchemy import func, select

    from resilientcity.operations.access import Principal, audit, create_token
    from resilientcity.operations.db import Database
    from resilientcity.operations.models import Agency, utcnow

    store = Database(db)
    try:
        store.upgrade()
        now = utcnow()
        expires = None if expires_days is None else now + timedelta(days=expires_days)
        user = name or (f"{agency}-{role}" if agency else role)
        with store.write() as session:
            if agency and not session.scalar(select(func.count()).select_from(Agency)):
                raise ResilientCityError(NO_AGENCIES)
            token, row = create_token(session, user, role, agency, label, expires, now)
            detail = {"user": user, "role": role, "agency": agency, "label": label}
            audit(session, Principal(None, "cli", "admin"), "create", "api_token", row.id, detail)
            token_id = row.id
    finally:
        store.dispose()
    console.print(token, highlight=False, markup=False, soft_wrap=True)
    err_console.print(
        f"token {token_id} for {user} ({role}{', ' + agency if agency else ''}"
        f"{', expires ' + expires.isoformat(timespec='seconds') if expires else ''}): "
        "shown only this once, keep it now (only its hash is stored)",
        highlight=False,
        soft_wrap=True,
    )


def _describe(row: ApiToken, now: datetime) -> str:
    """One line about a token: id, first characters, user, role, agency, status, label."""
    if row.revoked_at is not None:
        status = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}"
    elif row.expires_at is not None:
        verb = "expired" if row.expires_at <= now else "expires"
        status = f"{verb} {row.expires_at:%Y-%m-%d %H:%M}"
    else:
        status = "active"
    agency = f", {row.user.agency_id}" if row.user.agency_id else ""
    label = f"  {row.label!r}" if row.label else ""
    return (
        f"{row.id:>4}  {row.prefix}…  {row.user.name} ({row.user.role}{agency})  {status}  "
        f"created {row.created_at:%Y-%m-%d %H:%M}{label}"
    )


@token_app.command("list")
def list_tokens(db: DbOption = DEFAULT_URL) -> None:
    """List the API tokens (their first characters, never the tokens)."""
    from sqlalchemy import select

    from resilientcity.operations.db import Database
    from resilientcity.operations.models import ApiToken, utcnow

    store = Database(db)
    try:
        store.upgrade()
        with store.read() as session:
            rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
            now = utcnow()
            lines = [_describe(row, now) for row in rows]
    finally:
        store.dispose()
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if not lines:
        console.print("no tokens yet: resilientcity token create --role …")


@token_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `token list`).")],
    db: DbOption = DEFAULT_URL,
) -> None:
    """Revoke an API token: it stops working at once."""
    from resilientcity.operations.access import Principal, audit
    from resilientcity.operations.db import Database
    from resilientcity.operations.models import ApiToken, utcnow

    store = Database(db)
    try:
        store.upgrade()
        with store.write() as session:
            row = session.get(ApiToken, token_id)
            if row is None:
                problem = Problem(
                    "token", "id", "the id of a token (see `token list`)", (str(token_id),)
                )
                raise ValidationError([problem], what="API token")
            if row.revoked_at is not None:
                console.print(f"token {token_id} was already revoked on {row.revoked_at:%Y-%m-%d}")
                return
            row.revoked_at = utcnow()
            user = row.user.name
            audit(session, Principal(None, "cli", "admin"), "revoke", "api_token", token_id)
    finally:
        store.dispose()
    console.print(f"token {token_id} of {user} revoked")
