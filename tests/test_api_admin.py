"""Access: tokens, grants and the audit log (the authorisation matrix: test_api_matrix.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from api_support import api_app, api_service, auth, client, observations, tokens
from resilientcity.operations.access import create_token
from resilientcity.operations.models import ApiToken, AuditEntry, Base

__all__ = ["api_app", "api_service", "client", "tokens"]

STAGE = 2  # RG002:river_stage, of water_resources (thing 2)


def test_bad_revoked_and_expired_tokens_are_refused(client, tokens, api_service):
    admin_headers = auth(tokens["admin"])
    assert client.get("/api/me", headers=auth("rc_nonsense")).status_code == 401
    assert client.get("/api/warnings", headers=auth("rc_nonsense")).status_code == 401
    made = client.post(
        "/api/tokens",
        json={"name": "temp", "role": "analyst", "label": "a test"},
        headers=admin_headers,
    ).json()
    assert client.get("/api/me", headers=auth(made["token"])).json()["name"] == "temp"
    revoked = client.delete(f"/api/tokens/{made['id']}", headers=admin_headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get("/api/me", headers=auth(made["token"])).status_code == 401
    past = datetime.now(UTC) - timedelta(minutes=1)
    with api_service.db.write() as session:  # made when it still had an hour to run
        expired, _ = create_token(
            session, "old", "analyst", expires_at=past, now=past - timedelta(hours=1)
        )
    assert client.get("/api/me", headers=auth(expired)).status_code == 401
    naive = client.post(
        "/api/tokens",
        json={"name": "n", "role": "analyst", "expires_at": "2030-01-01T00:00:00"},
        headers=admin_headers,
    )
    assert naive.status_code == 422
    for broken in (
        {"role": "operator"},
        {"role": "operator", "agency": "nobody"},
        {"role": "king"},
    ):
        response = client.post("/api/tokens", json={"name": "x"} | broken, headers=admin_headers)
        assert response.status_code == 422, broken
        assert response.json()["detail"][0]["loc"][-1] in ("agency", "role")
    assert client.delete("/api/tokens/99999", headers=admin_headers).status_code == 404


def test_tokens_are_stored_hashed(client, tokens, api_service):
    listed = client.get("/api/tokens", headers=auth(tokens["admin"])).json()
    assert listed and all("token" not in t for t in listed)
    by_prefix = {t["prefix"] for t in listed}
    with api_service.db.read() as session:
        digests = set(session.scalars(select(ApiToken.digest)))
        dump = "\n".join(
            str(row)
            for table in Base.metadata.sorted_tables
            for row in session.execute(select(table))
        )
    for secret in tokens.values():
        assert hashlib.sha256(secret.encode()).hexdigest() in digests
        assert secret[:10] in by_prefix
        assert secret not in dump


def test_grants_are_managed_by_the_owner_agency_only(client, tokens):
    x, y = auth(tokens["operator:water_resources"]), auth(tokens["operator:transport"])
    mine = {"owner_agency": "transport", "grantee_agency": "water_resources"}
    theirs = {"owner_agency": "water_resources", "grantee_agency": "transport"}
    refused = client.post("/api/grants", json=theirs, headers=y)
    assert refused.status_code == 403 and "water_resources" in refused.json()["detail"]
    granted = client.post("/api/grants", json=theirs, headers=x)
    own = client.post("/api/grants", json=mine, headers=y)
    assert granted.status_code == own.status_code == 201
    assert client.delete(f"/api/grants/{granted.json()['id']}", headers=y).status_code == 403
    other = client.post(
        "/api/grants",
        json={"owner_agency": "power", "grantee_agency": "meteorology"},
        headers=auth(tokens["admin"]),
    )
    assert {g["id"] for g in client.get("/api/grants", headers=y).json()} == {
        granted.json()["id"],
        own.json()["id"],
    }
    assert other.json()["id"] in {
        g["id"] for g in client.get("/api/grants", headers=auth(tokens["analyst"])).json()
    }
    for broken in (
        {"owner_agency": "water_resources", "grantee_agency": "water_resources"},
        {"owner_agency": "water_resources", "grantee_agency": "nobody"},
        theirs | {"datastream_id": 5},  # RN001, not a datastream of water_resources
    ):
        response = client.post("/api/grants", json=broken, headers=x)
        assert response.status_code == 422, (broken, response.text)
    # with the grant Y reads X's datastream, but still may not write to it
    assert client.get(f"/v1.1/Datastreams({STAGE})", headers=y).status_code == 200
    write = client.post("/v1.1/CreateObservations", json=[observations(STAGE, [30.0])], headers=y)
    assert write.status_code == 403


def test_every_write_is_audited_with_who_and_when(client, tokens):
    before = datetime.now(UTC)
    admin_headers = auth(tokens["admin"])
    x = auth(tokens["operator:water_resources"])
    client.post("/v1.1/CreateObservations", json=[observations(STAGE, [30.0])], headers=x)
    client.post(
        "/v1.1/Things",
        json={"name": "T9", "kind": "river_gauge", "agency": "power"},
        headers=admin_headers,
    )
    grant = client.post(
        "/api/grants",
        json={"owner_agency": "water_resources", "grantee_agency": "power"},
        headers=x,
    ).json()
    client.delete(f"/api/grants/{grant['id']}", headers=x)
    token = client.post(
        "/api/tokens", json={"name": "t", "role": "public"}, headers=admin_headers
    ).json()
    client.delete(f"/api/tokens/{token['id']}", headers=admin_headers)
    client.delete("/api/rules/rainfall_12h", headers=admin_headers)
    entries = client.get("/api/audit", headers=admin_headers).json()
    got = [(e["user"], e["role"], e["action"], e["entity"]) for e in reversed(entries)]
    assert got == [
        ("test-operator-water_resources", "operator", "ingest", "observations"),
        ("test-admin", "admin", "create", "thing"),
        ("test-operator-water_resources", "operator", "create", "grant"),
        ("test-operator-water_resources", "operator", "revoke", "grant"),
        ("test-admin", "admin", "create", "token"),
        ("test-admin", "admin", "revoke", "token"),
        ("test-admin", "admin", "disable", "rule"),
    ]
    assert all(datetime.fromisoformat(e["at"]) >= before - timedelta(seconds=1) for e in entries)
    assert token["token"] not in str(entries)
    only = client.get(
        "/api/audit", params={"user": "test-admin", "action": "create"}, headers=admin_headers
    )
    assert [e["entity"] for e in only.json()] == ["token", "thing"]
    with client.app.state.service.db.read() as session:  # type: ignore[attr-defined]
        assert len(session.scalars(select(AuditEntry)).all()) == len(entries)
