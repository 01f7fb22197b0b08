"""Administration in the store: who sees which grants, who may grant, the audit log's filters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from ops_support import seeded_service
from resilientcity.errors import ValidationError
from resilientcity.operations.access import Principal, create_token
from resilientcity.operations.admin import (
    audit_page,
    create_grant,
    grant_page,
    issue_token,
    revoke_grant,
    revoke_token,
    token_page,
)
from resilientcity.operations.models import AuditEntry
from resilientcity.operations.response import Forbidden, NotFound
from resilientcity.operations.service import Service

STAGE = 2  # RG002:river_stage, of water_resources


@pytest.fixture
def service(db_url: str, small_city) -> Iterator[Service]:
    with seeded_service(db_url, small_city) as service:
        yield service


def _user(service: Service, name: str, role: str, agency: str | None = None) -> Principal:
    with service.db.write() as session:
        _, row = create_token(session, name, role, agency)
        return Principal(row.user.id, name, role, agency)


def test_operators_see_the_grants_of_their_agency_only(service: Service):
    admin = _user(service, "root", "admin")
    water = _user(service, "w", "operator", "water_resources")
    roads = _user(service, "r", "operator", "transport")
    analyst = _user(service, "a", "analyst")
    pairs = [
        ("water_resources", "transport"),
        ("transport", "water_resources"),
        ("transport", "health"),
        ("health", "emergency"),
    ]
    with service.db.write() as session:
        ids = [create_grant(session, admin, o, g).id for o, g in pairs]
    with service.db.read() as session:
        everything = [g.id for g in grant_page(session, admin, 100)]
        for_analyst = [g.id for g in grant_page(session, analyst, 100)]
        for_water = [g.id for g in grant_page(session, water, 100)]
        for_roads = [g.id for g in grant_page(session, roads, 100)]
        page = [g.id for g in grant_page(session, admin, 2, offset=1)]
    assert everything == for_analyst == ids[::-1]  # newest first
    assert for_water == [ids[1], ids[0]]
    assert for_roads == [ids[2], ids[1], ids[0]]
    assert page == ids[::-1][1:3]


def test_only_the_owner_agency_grants_and_revokes_and_every_problem_is_named(service: Service):
    admin = _user(service, "root", "admin")
    water = _user(service, "w", "operator", "water_resources")
    roads = _user(service, "r", "operator", "transport")
    with service.db.write() as session, pytest.raises(Forbidden, match="water_resources"):
        create_grant(session, roads, "water_resources", "transport")
    with service.db.write() as session, pytest.raises(ValidationError) as refused:
        create_grant(session, water, "water_resources", "water_resources", 10**6)
    assert {(p.column, p.found) for p in refused.value.problems} == {
        ("grantee_agency", ""),
        ("datastream_id", str(10**6)),
    }
    with service.db.write() as session, pytest.raises(ValidationError) as unknown:
        create_grant(session, admin, "nobody", "noone")
    assert [p.column for p in unknown.value.problems] == ["owner_agency", "grantee_agency"]
    with service.db.write() as session:
        grant = create_grant(session, water, "water_resources", "transport", STAGE)
        grant_id = grant.id
    with service.db.write() as session, pytest.raises(Forbidden):
        revoke_grant(session, roads, grant_id)  # the grantee may not revoke
    with service.db.write() as session, pytest.raises(NotFound, match="no grant with id"):
        revoke_grant(session, water, grant_id + 1000)
    with service.db.write() as session:
        first = revoke_grant(session, water, grant_id).revoked_at
        again = revoke_grant(session, water, grant_id).revoked_at
    assert first is not None and again == first
    with service.db.read() as session:
        entries = [(e.action, e.entity, e.entity_id) for e, _ in audit_page(session, 100)]
    # refused writes left nothing; the second revocation changed nothing
    assert entries == [("revoke", "grant", str(grant_id)), ("create", "grant", str(grant_id))]


def test_the_audit_log_filters_by_action_and_user_name(service: Service):
    admin = _user(service, "root", "admin")
    with service.db.write() as session:
        _, token = issue_token(session, admin, "ana", "analyst", label="reports")
        token_id = token.id
        assert token.created_at is not None and token.user.name == "ana"
    with service.db.write() as session:
        revoke_token(session, admin, token_id)
        revoke_token(session, admin, token_id)  # already revoked: not audited again
        with pytest.raises(NotFound, match="no token with id"):
            revoke_token(session, admin, 10**6)
        session.add(
            AuditEntry(at=token.created_at, role="system", action="revoke", entity="x", detail={})
        )
    with service.db.read() as session:
        everyone = audit_page(session, 100)
        revoked = audit_page(session, 100, action="revoke")
        by_root = audit_page(session, 100, user="root")
        by_ana = audit_page(session, 100, user="ana")
        tokens = [t.id for t in token_page(session, 100)]
        total = len(session.scalars(select(AuditEntry)).all())
    assert len(everyone) == total == 3
    assert [(e.action, e.entity, name) for e, name in revoked] == [
        ("revoke", "x", None),
        ("revoke", "token", "root"),
    ]
    assert [e.action for e, _ in by_root] == ["revoke", "create"]
    assert by_ana == []
    assert everyone[-1][0].detail == {
        "user": "ana",
        "role": "analyst",
        "agency": None,
        "label": "reports",
    }
    assert tokens == sorted(tokens, reverse=True) and token_id in tokens
