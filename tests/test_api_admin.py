"""Access: the authorisation matrix of every endpoint, tokens, grants and the audit log."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from api_support import api_app, api_service, auth, client, observations, tokens
from resilientcity.api import admin, sensing, warnings
from resilientcity.operations.models import ApiToken, AuditEntry, Base

__all__ = ["api_app", "api_service", "client", "tokens"]

#: Who calls: no token, then a token of each role; X owns the river gauges, Y does not.
WHO = ("anonymous", "public", "analyst", "operator_x", "operator_y", "admin")
TOKEN_OF = {
    "public": "public",
    "analyst": "analyst",
    "operator_x": "operator:water_resources",
    "operator_y": "operator:transport",
    "admin": "admin",
}
STAGE = 2  # RG002:river_stage, of water_resources (thing 2)

# Expected statuses, in the order of WHO.
ALL_200 = (200,) * 6
READ = (401, 403, 200, 200, 200, 200)
READ_X = (401, 403, 200, 200, 403, 200)  # a datastream of agency X
TOKEN = (401, 200, 200, 200, 200, 200)
ADMIN_ONLY = (401, 403, 403, 403, 403, 200)
ADMIN_CREATES = (401, 403, 403, 403, 403, 201)
WRITE_X = (401, 403, 403, 201, 403, 201)
AUDITORS = (401, 403, 200, 403, 403, 200)


@dataclass(frozen=True)
class Call:
    """One endpoint and method, a request, and the expected status per caller."""

    method: str
    route: str
    expected: tuple[int, ...]
    path: str | Callable[[dict[str, Any]], str] = ""
    body: Callable[[str], Any] | None = None
    headers: dict[str, str] | None = None

    def url(self, setup: dict[str, Any]) -> str:
        if callable(self.path):
            return self.path(setup)
        return self.path or self.route


def _rule(setup: dict[str, Any]) -> dict[str, Any]:
    return dict(setup["rule"])


MATRIX = [
    Call("GET", "/healthz", ALL_200),
    Call("GET", "/v1.1/Things", READ),
    Call("GET", "/v1.1/Things({thing_id})", READ_X, f"/v1.1/Things({STAGE})"),
    Call("GET", "/v1.1/Datastreams", READ),
    Call("GET", "/v1.1/Datastreams({datastream_id})", READ_X, f"/v1.1/Datastreams({STAGE})"),
    Call(
        "GET",
        "/v1.1/Datastreams({datastream_id})/Observations",
        READ_X,
        f"/v1.1/Datastreams({STAGE})/Observations",
    ),
    Call(
        "POST",
        "/v1.1/Things",
        ADMIN_CREATES,
        body=lambda who: {"name": f"T-{who}", "kind": "river_gauge", "agency": "water_resources"},
    ),
    Call(
        "POST",
        "/v1.1/Datastreams",
        ADMIN_CREATES,
        body=lambda who: {
            "thing_id": STAGE,
            "observed_property": f"p_{who}",
            "unit": "m",
            "min_value": 0,
            "max_value": 1,
        },
    ),
    Call(
        "POST",
        "/v1.1/CreateObservations",
        WRITE_X,
        body=lambda who: [observations(STAGE, [30.0], start=datetime(2026, 6, 1, tzinfo=UTC))],
    ),
    Call(
        "POST",
        "/v1.1/Observations",
        WRITE_X,
        body=lambda who: {
            "Datastream": {"@iot.id": STAGE},
            "phenomenonTime": "2026-06-02T00:00:00Z",
            "result": 30.0,
        },
    ),
    Call("GET", "/api/quarantine", AUDITORS),
    Call("GET", "/api/quarantine/summary", AUDITORS),
    Call("GET", "/api/warnings", ALL_200),
    Call("GET", "/api/warnings/{warning_id}", ALL_200, lambda s: f"/api/warnings/{s['warning']}"),
    # the stream never ends: a bad Last-Event-ID shows who gets past authentication (422)
    Call("GET", "/api/warnings/stream", (422,) * 6, headers={"Last-Event-ID": "x"}),
    Call("GET", "/api/rules", TOKEN),
    Call(
        "PUT",
        "/api/rules/{rule_id}",
        ADMIN_ONLY,
        lambda s: f"/api/rules/{s['rule']['id']}",
        body=lambda who: None,
    ),
    Call("DELETE", "/api/rules/{rule_id}", ADMIN_ONLY, "/api/rules/rainfall_12h"),
    Call("GET", "/api/me", ALL_200),
    Call("GET", "/api/agencies", TOKEN),
    Call(
        "POST",
        "/api/tokens",
        ADMIN_CREATES,
        body=lambda who: {"name": f"made-by-{who}", "role": "analyst"},
    ),
    Call("GET", "/api/tokens", ADMIN_ONLY),
    Call("DELETE", "/api/tokens/{token_id}", ADMIN_ONLY, lambda s: f"/api/tokens/{s['token']}"),
    Call(
        "POST",
        "/api/grants",
        WRITE_X,
        body=lambda who: {"owner_agency": "water_resources", "grantee_agency": "power"},
    ),
    Call("GET", "/api/grants", READ),
    Call(
        "DELETE",
        "/api/grants/{grant_id}",
        (401, 403, 403, 200, 403, 200),
        lambda s: f"/api/grants/{s['grant']}",
    ),
    Call("GET", "/api/audit", ADMIN_ONLY),
]


def _setup(client, tokens) -> dict[str, Any]:
    """A warning, a rule, a spare token and a grant for the matrix to act on."""
    admin_headers = auth(tokens["admin"])
    posted = client.post(
        "/v1.1/CreateObservations",
        json=[observations(STAGE, [34.0] * 6 + [36.5] * 6 + [39.0] * 6)],
        headers=admin_headers,
    )
    warnings_now = client.get("/api/warnings").json()
    assert posted.status_code == 201 and warnings_now, posted.text
    rules = client.get("/api/rules", headers=admin_headers).json()
    spare = client.post(
        "/api/tokens", json={"name": "spare", "role": "analyst"}, headers=admin_headers
    )
    grant = client.post(
        "/api/grants",
        json={"owner_agency": "water_resources", "grantee_agency": "power"},
        headers=admin_headers,
    )
    return {
        "warning": warnings_now[0]["id"],
        "rule": next(r["rule"] for r in rules if r["id"] == "xiang_river_stage_changsha"),
        "token": spare.json()["id"],
        "grant": grant.json()["id"],
    }


def test_authorisation_matrix(client, tokens):
    setup = _setup(client, tokens)
    wrong: list[str] = []
    for call in MATRIX:
        for who, expected in zip(WHO, call.expected, strict=True):
            headers = auth(tokens[TOKEN_OF[who]] if who in TOKEN_OF else None)
            body = call.body(who) if call.body is not None else None
            if call.method == "PUT":
                body = _rule(setup)
            response = client.request(
                call.method,
                call.url(setup),
                json=body,
                headers=headers | (call.headers or {}),
            )
            if response.status_code != expected:
                wrong.append(
                    f"{who} {call.method} {call.url(setup)}: {response.status_code} "
                    f"(expected {expected}) {response.text[:160]}"
                )
    assert wrong == []


def test_matrix_covers_every_endpoint():
    routes = {("GET", "/healthz")}
    for router in (sensing.router, warnings.router, admin.router):
        for route in router.routes:
            routes |= {(m, route.path) for m in route.methods - {"HEAD"}}  # type: ignore[attr-defined]
    assert {(c.method, c.route) for c in MATRIX} == routes


def test_bad_revoked_and_expired_tokens_are_refused(client, tokens):
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
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = client.post(
        "/api/tokens",
        json={"name": "old", "role": "analyst", "expires_at": past},
        headers=admin_headers,
    ).json()
    assert client.get("/api/me", headers=auth(expired["token"])).status_code == 401
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
