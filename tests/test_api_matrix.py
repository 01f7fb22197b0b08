"""Access: the authorisation matrix, every endpoint of the application against every role.

Each row of :data:`MATRIX` is one endpoint and method, a request, and the status each caller
must get (anonymous, a public token, an analyst, an operator of agency X = water_resources,
which owns the river gauges, an operator of agency Y = transport, an admin). The statuses come
from the access rules (docs/operations.md, *Access*): an admin does everything; an operator
writes its agency's observations and tasks, reads its own and granted data, triages and
dispatches incidents; an analyst reads everything but tokens and the audit log and writes
nothing; a public token or no token reads warnings and reports incidents only. Rows that list
agency X's data also say who must see it (:class:`Shows`): X has shared nothing with Y.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount

from api_support import TestClient, api_app, api_service, auth, client, observations, tokens
from resilientcity.api.app import create_app
from resilientcity.operations.incidents import city_bounds
from resilientcity.operations.service import Service, ServiceSettings
from resilientcity.twin.city import City

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
X = "water_resources"
STAGE = 2  # RG002:river_stage, of water_resources (thing 2)
#: Callers who may see agency X's datastreams, observations, tasks and grants.
SEES_X = ("analyst", "operator_x", "admin")
#: Callers who see incidents (staff).
STAFF = ("analyst", "operator_x", "operator_y", "admin")

# Expected statuses, in the order of WHO.
ALL_200 = (200,) * 6
READ = (401, 403, 200, 200, 200, 200)  # staff read; a public token reads warnings only
READ_X = (401, 403, 200, 200, 403, 200)  # data of agency X
ADMIN_ONLY = (401, 403, 403, 403, 403, 200)
ADMIN_CREATES = (401, 403, 403, 403, 403, 201)
WRITE_X = (401, 403, 403, 201, 403, 201)
CHANGE_X = (401, 403, 403, 200, 403, 200)  # a task of agency X
RESPOND = (401, 403, 403, 200, 200, 200)  # triage and dispatch: admin and any operator
AUDITORS = (401, 403, 200, 403, 403, 200)
ANYONE_REPORTS = (201,) * 6


@dataclass(frozen=True)
class Shows:
    """What a successful (200) response must show to exactly the callers ``to``."""

    what: str
    test: Callable[[Any], bool]
    to: tuple[str, ...] = SEES_X


@dataclass(frozen=True)
class Call:
    """One endpoint and method, a request, and the expected status per caller."""

    method: str
    route: str
    expected: tuple[int, ...]
    path: str | Callable[[dict[str, Any]], str] = ""
    body: Callable[[str, dict[str, Any]], Any] | None = None
    headers: dict[str, str] | None = None
    shows: tuple[Shows, ...] = ()

    def url(self, setup: dict[str, Any]) -> str:
        """The URL requested (``route`` itself when no path is given)."""
        if callable(self.path):
            return self.path(setup)
        return self.path or self.route


def _ids(page: dict[str, Any]) -> set[int]:
    return {int(item["@iot.id"]) for item in page["value"]}


def _x_values_on_map(live: dict[str, Any]) -> bool:
    return any(
        d["id"] == STAGE and d["latest"] is not None
        for sensor in live["sensors"]
        for d in sensor["datastreams"]
    )


def _report(who: str, setup: dict[str, Any]) -> dict[str, Any]:
    return {"category": "waterlogging", "description": f"by {who}"} | setup["centre"]


def _task_change(status: str) -> Callable[[str, dict[str, Any]], dict[str, str]]:
    """``status`` for everyone but the admin, who adds a note (the operator changed it)."""

    def body(who: str, setup: dict[str, Any]) -> dict[str, str]:
        return {"note": "seen by the admin"} if who == "admin" else {"status": status}

    return body


SENSING = [
    Call("GET", "/healthz", ALL_200),
    Call(
        "GET",
        "/v1.1/Things",
        READ,
        shows=(Shows("thing of X", lambda page: STAGE in _ids(page)),),
    ),
    Call("GET", "/v1.1/Things({thing_id})", READ_X, f"/v1.1/Things({STAGE})"),
    Call(
        "GET",
        "/v1.1/Datastreams",
        READ,
        shows=(Shows("datastream of X", lambda page: STAGE in _ids(page)),),
    ),
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
        body=lambda who, s: {"name": f"T-{who}", "kind": "river_gauge", "agency": X},
    ),
    Call(
        "POST",
        "/v1.1/Datastreams",
        ADMIN_CREATES,
        body=lambda who, s: {
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
        body=lambda who, s: [observations(STAGE, [30.0], start=datetime(2026, 6, 1, tzinfo=UTC))],
    ),
    Call(
        "POST",
        "/v1.1/Observations",
        WRITE_X,
        body=lambda who, s: {
            "Datastream": {"@iot.id": STAGE},
            "phenomenonTime": "2026-06-02T00:00:00Z",
            "result": 30.0,
        },
    ),
    Call("GET", "/api/quarantine", AUDITORS),
    Call("GET", "/api/quarantine/summary", AUDITORS),
]

WARNINGS = [
    Call("GET", "/api/warnings", ALL_200),
    Call("GET", "/api/warnings/{warning_id}", ALL_200, lambda s: f"/api/warnings/{s['warning']}"),
    # the stream never ends: a bad Last-Event-ID shows who gets past authentication (422)
    Call("GET", "/api/warnings/stream", (422,) * 6, headers={"Last-Event-ID": "x"}),
    Call("GET", "/api/rules", READ),
    Call(
        "PUT",
        "/api/rules/{rule_id}",
        ADMIN_ONLY,
        lambda s: f"/api/rules/{s['rule']['id']}",
        body=lambda who, s: dict(s["rule"]),
    ),
    Call("DELETE", "/api/rules/{rule_id}", ADMIN_ONLY, "/api/rules/rainfall_12h"),
]

ADMIN = [
    Call("GET", "/api/me", ALL_200),
    Call("GET", "/api/agencies", READ),
    Call(
        "POST",
        "/api/tokens",
        ADMIN_CREATES,
        body=lambda who, s: {"name": f"made-by-{who}", "role": "analyst"},
    ),
    Call("GET", "/api/tokens", ADMIN_ONLY),
    Call("DELETE", "/api/tokens/{token_id}", ADMIN_ONLY, lambda s: f"/api/tokens/{s['token']}"),
    Call(
        "POST",
        "/api/grants",
        WRITE_X,
        body=lambda who, s: {"owner_agency": X, "grantee_agency": "power"},
    ),
    Call(
        "GET",
        "/api/grants",
        READ,
        shows=(Shows("grant of X", lambda grants: any(g["owner_agency"] == X for g in grants)),),
    ),
    Call(
        "DELETE",
        "/api/grants/{grant_id}",
        CHANGE_X,
        lambda s: f"/api/grants/{s['grant']}",
    ),
    Call("GET", "/api/audit", ADMIN_ONLY),
]

RESPONSE = [
    Call("GET", "/api/plans", READ),
    Call(
        "GET",
        "/api/activations",
        READ,
        shows=(
            Shows(
                "task of X",
                lambda acts: any(t["agency"] == X for a in acts for t in a["tasks"]),
            ),
        ),
    ),
    Call(
        "POST",
        "/api/activations",
        ADMIN_CREATES,
        body=lambda who, s: {"plan_id": "earthquake_iv", "reason": f"drill by {who}"},
    ),
    Call(
        "POST",
        "/api/activations/{activation_id}/stand-down",
        ADMIN_ONLY,
        lambda s: f"/api/activations/{s['stand_down']}/stand-down",
    ),
    Call(
        "GET",
        "/api/tasks",
        READ,
        shows=(Shows("task of X", lambda tasks: any(t["agency"] == X for t in tasks)),),
    ),
    Call("GET", "/api/tasks", READ_X, f"/api/tasks?agency={X}"),
    Call(
        "PATCH",
        "/api/tasks/{task_id}",
        CHANGE_X,
        lambda s: f"/api/tasks/{s['task_x']}",
        body=_task_change("acknowledged"),
    ),
    Call(
        "PATCH",
        "/api/tasks/{task_id}",
        CHANGE_X,
        lambda s: f"/api/tasks/{s['task_x']}",
        body=_task_change("completed"),
    ),
    Call("POST", "/api/incidents", ANYONE_REPORTS, body=_report),
    Call("GET", "/api/incidents", READ),
    Call("GET", "/api/incidents/{incident_id}", READ, lambda s: f"/api/incidents/{s['incident']}"),
    Call(
        "PATCH",
        "/api/incidents/{incident_id}",
        RESPOND,
        lambda s: f"/api/incidents/{s['incident']}",
        body=lambda who, s: {"status": "triaged", "priority": 2.0},
    ),
    Call("POST", "/api/incidents/dispatch", RESPOND),
]

WEB = [
    Call("GET", "/", ALL_200),
    Call("GET", "/static/vendor/{name:path}", ALL_200, "/static/vendor/plotly.min.js"),
    Call("GET", "/api/map/base", ALL_200),
    Call("GET", "/api/map/cells/{key}", ALL_200, lambda s: f"/api/map/cells/{s['cell']}"),
    Call(
        "GET",
        "/api/map/live",
        ALL_200,
        shows=(
            Shows("latest value of a datastream of X", _x_values_on_map),
            Shows("incidents", lambda live: bool(live["incidents"]), STAFF),
        ),
    ),
    Call("GET", "/api/assets/{asset_id}", READ, lambda s: f"/api/assets/{s['asset']}"),
    Call("GET", "/api/resilience", READ),  # the first call runs the demo scenario (~5 s)
    # an unknown hazard: who gets past authorisation is refused (422) without starting a run
    Call(
        "POST",
        "/api/scenarios",
        (401, 403, 422, 422, 422, 422),
        body=lambda who, s: {"hazard": "meteor_strike"},
    ),
    Call("GET", "/api/scenarios", READ),
    Call("GET", "/api/scenarios/options", READ),
    Call("GET", "/api/scenarios/{job_id}", (401, 403, 404, 404, 404, 404), "/api/scenarios/none"),
]

MATRIX = SENSING + WARNINGS + ADMIN + RESPONSE + WEB

#: FastAPI's own documentation routes, outside the matrix.
DOCS_ROUTES = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}


def _admin_patch(client: TestClient, headers: dict[str, str], path: str, body: Any) -> Any:
    response = client.patch(path, json=body, headers=headers)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def _task_of_x(client: TestClient, headers: dict[str, str]) -> int:
    """A task of agency X whose prerequisites the admin has completed."""
    tasks = client.get("/api/tasks", headers=headers).json()
    task = next(t for t in tasks if t["agency"] == X)
    for other in tasks:
        if other["activation_id"] == task["activation_id"] and other["task"] in task["depends_on"]:
            for status in ("acknowledged", "completed"):
                _admin_patch(client, headers, f"/api/tasks/{other['id']}", {"status": status})
    return int(task["id"])


def _setup(client: TestClient, tokens: dict[str, str]) -> dict[str, Any]:
    """What the matrix acts on: a warning (its plan's tasks, a sensor incident), a rule, a
    spare token, a grant of X, an activation to stand down, a citizen's incident, an asset."""
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
        "/api/grants", json={"owner_agency": X, "grantee_agency": "power"}, headers=admin_headers
    )
    drill = client.post(
        "/api/activations",
        json={"plan_id": "earthquake_iii", "reason": "drill"},
        headers=admin_headers,
    )
    city: City = client.app.state.city  # type: ignore[attr-defined]
    lon0, lat0, lon1, lat1 = city_bounds(city)
    centre = {"lon": (lon0 + lon1) / 2, "lat": (lat0 + lat1) / 2}
    report = client.post("/api/incidents", json={"category": "waterlogging"} | centre)
    assert drill.status_code == report.status_code == 201, (drill.text, report.text)
    return {
        "warning": warnings_now[0]["id"],
        "rule": next(r["rule"] for r in rules if r["id"] == "xiang_river_stage_changsha"),
        "token": spare.json()["id"],
        "grant": grant.json()["id"],
        "stand_down": drill.json()["id"],
        "task_x": _task_of_x(client, admin_headers),
        "centre": centre,
        "incident": report.json()["id"],
        "asset": str(city.assets["asset_id"].iloc[0]),
        "cell": str(city.assets["cell_id"].iloc[0]),
    }


def _shown_wrongly(call: Call, who: str, payload: Any) -> list[str]:
    """The :class:`Shows` of ``call`` that ``payload`` breaks for ``who``."""
    return [
        f"{who} {call.method} {call.route}: {'sees' if seen else 'misses'} {shows.what}"
        for shows in call.shows
        if (seen := shows.test(payload)) != (who in shows.to)
    ]


def _check(
    client: TestClient, tokens: dict[str, str], call: Call, setup: dict[str, Any]
) -> list[str]:
    """What goes wrong when every caller sends ``call``."""
    wrong: list[str] = []
    for who, expected in zip(WHO, call.expected, strict=True):
        headers = auth(tokens[TOKEN_OF[who]] if who in TOKEN_OF else None)
        response = client.request(
            call.method,
            call.url(setup),
            json=call.body(who, setup) if call.body is not None else None,
            headers=headers | (call.headers or {}),
        )
        if response.status_code != expected:
            wrong.append(
                f"{who} {call.method} {call.url(setup)}: {response.status_code} "
                f"(expected {expected}) {response.text[:160]}"
            )
        elif response.status_code == 200 and call.shows:
            wrong += _shown_wrongly(call, who, response.json())
    return wrong


def test_authorisation_matrix(client: TestClient, tokens: dict[str, str]) -> None:
    setup = _setup(client, tokens)
    wrong = [problem for call in MATRIX for problem in _check(client, tokens, call, setup)]
    assert not wrong, "\n".join(wrong)


def test_matrix_covers_every_endpoint(small_city: City, tmp_path: Path) -> None:
    service = Service(ServiceSettings(db_url=f"sqlite:///{tmp_path / 'ops.db'}"))
    app = create_app(service=service, city=small_city)
    routes: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount) and route.path == "/static":
            continue
        if context.path in DOCS_ROUTES:
            continue
        assert isinstance(route, APIRoute), f"{context.path}: not an API route"
        routes |= {(method, route.path) for method in (route.methods or set()) - {"HEAD"}}
    service.db.dispose()
    assert {(c.method, c.route) for c in MATRIX} == routes
