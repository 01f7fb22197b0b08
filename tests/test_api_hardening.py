"""Access and abuse: headers that are not a bearer token, agency-private tasks, body limits,
security headers, forwarded addresses and the scenario queue (issue 15, items 1-7).

Each test sends what a probe of the running service sent, and checks the answer the defect
did not give.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import typer

from api_support import (
    TestClient,
    api_app,
    api_service,
    auth,
    client,
    live_server,
    observations,
    tokens,
)
from resilientcity.api.app import create_app
from resilientcity.api.middleware import API_CSP, BodyLimits
from resilientcity.cli.serve import uvicorn_options
from resilientcity.operations import scenario_jobs
from resilientcity.operations.incidents import city_bounds
from resilientcity.operations.service import Service, ServiceSettings

__all__ = ["api_app", "api_service", "client", "tokens"]


def _centre(client: TestClient) -> dict[str, float]:
    lon0, lat0, lon1, lat1 = city_bounds(client.app.state.city)  # type: ignore[attr-defined]
    return {"lon": (lon0 + lon1) / 2, "lat": (lat0 + lat1) / 2}


# --- 7: an Authorization header is a bearer token or a refusal -------------------------------


@pytest.mark.parametrize(
    "header",
    ["Bearer ", "Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Token rc_abc", "rc_abc", ""],
)
def test_an_authorization_header_that_is_no_bearer_token_is_refused(
    client: TestClient, header: str
) -> None:
    answer = client.get("/api/warnings", headers={"Authorization": header})
    assert answer.status_code == 401, (header, answer.text)
    assert "Bearer <token>" in answer.json()["detail"]
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    # the same request without the header is anonymous, and the public may read warnings
    assert client.get("/api/warnings").status_code == 200


def test_a_report_with_a_basic_header_is_not_taken_as_anonymous(client: TestClient) -> None:
    body = {"category": "waterlogging"} | _centre(client)
    refused = client.post("/api/incidents", json=body, headers={"Authorization": "Basic eDp5"})
    assert refused.status_code == 401
    assert client.post("/api/incidents", json=body).status_code == 201


# --- 1: an operator reads its own agency's tasks only, in every listing ----------------------


def test_an_operator_sees_only_its_agencys_tasks_in_activations(
    client: TestClient, tokens: dict[str, str]
) -> None:
    made = client.post(
        "/api/activations",
        json={"plan_id": "earthquake_iii", "reason": "drill"},
        headers=auth(tokens["admin"]),
    )
    assert made.status_code == 201, made.text
    agencies = {t["agency"] for t in made.json()["tasks"]}
    assert len(agencies) > 1
    other = next(a for a in sorted(agencies) if a != "water_resources")
    task = next(t for t in made.json()["tasks"] if t["agency"] == other)
    noted = client.patch(
        f"/api/tasks/{task['id']}",
        json={"note": "private note of " + other},
        headers=auth(tokens["admin"]),
    )
    assert noted.status_code == 200, noted.text
    for who, agency in (
        ("operator:water_resources", "water_resources"),
        (f"operator:{other}", other),
    ):
        listed = client.get("/api/activations", headers=auth(tokens[who])).json()
        seen = {t["agency"] for a in listed for t in a["tasks"]}
        assert seen <= {agency}, (who, seen)
        text = str(listed)
        assert ("private note of " + other in text) == (agency == other)
        forbidden = client.get(f"/api/tasks?agency={other}", headers=auth(tokens[who]))
        assert forbidden.status_code == (200 if agency == other else 403)
    for who in ("admin", "analyst"):
        listed = client.get("/api/activations", headers=auth(tokens[who])).json()
        assert {t["agency"] for a in listed for t in a["tasks"]} >= agencies


# --- 4: request bodies are bounded per route --------------------------------------------------


def test_bodies_over_the_route_limit_are_refused_with_413(
    client: TestClient, tokens: dict[str, str]
) -> None:
    limits = BodyLimits()
    report = {"category": "waterlogging", "description": "x" * limits.public} | _centre(client)
    big = client.post("/api/incidents", json=report)
    assert big.status_code == 413 and f"{limits.public:,} bytes" in big.json()["detail"]
    # a body streamed without Content-Length is counted as it is read
    chunks = (b"x" * 4096 for _ in range(limits.public // 4096 + 2))
    streamed = client.post(
        "/api/incidents", content=chunks, headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413, streamed.text
    admin = auth(tokens["admin"])
    thing = {"name": "T-big", "kind": "river_gauge", "agency": "water_resources"}
    thing["properties"] = {"blob": "x" * limits.default}  # type: ignore[assignment]
    assert client.post("/v1.1/Things", json=thing, headers=admin).status_code == 413
    # an ingest batch may be far larger than other bodies
    batch = [observations(2, [30.0] * 40_000)]
    posted = client.post("/v1.1/CreateObservations", json=batch, headers=admin)
    assert posted.status_code == 201, posted.text[:300]
    assert len(posted.request.content) > limits.default


def test_a_declared_huge_body_is_refused_before_it_is_sent(
    api_service: Service, small_city: Any
) -> None:
    app = create_app(service=api_service, city=small_city)
    with live_server(app) as (url, _server):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /api/incidents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 300000000\r\n\r\n{"
            )
            answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "16,384 bytes" in answer


# --- 6: security headers on the page and the API ---------------------------------------------


def test_the_page_has_a_strict_content_security_policy(client: TestClient) -> None:
    page = client.get("/")
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";")
    )
    scripts = policy["script-src"].split()
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    inline = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert inline, "the page has an inline script whose hash the policy must carry"
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/warnings", 200), ("/api/tokens", 401), ("/api/nothing", 404), ("/healthz", 200)],
)
def test_api_answers_carry_security_headers(client: TestClient, path: str, status: int) -> None:
    answer = client.get(path)
    assert answer.status_code == status
    assert answer.headers["Content-Security-Policy"] == API_CSP
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"


def test_static_files_are_not_sniffed(client: TestClient) -> None:
    script = client.get("/static/app.js")
    assert script.status_code == 200
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    assert script.headers["content-type"].startswith("text/javascript")


# --- 3: forwarded headers only from configured proxies ---------------------------------------


def _report_as(url: str, body: dict[str, float | str], forwarded: str) -> int:
    answer = httpx.post(
        f"{url}/api/incidents", json=body, headers={"X-Forwarded-For": forwarded}, timeout=30
    )
    return answer.status_code


@pytest.mark.parametrize("trusted", [None, "127.0.0.1"])
def test_forwarded_addresses_count_only_from_trusted_proxies(
    db_url: str, small_city: Any, trusted: str | None
) -> None:
    service = Service(ServiceSettings(db_url=db_url, public_reports_per_hour=2))
    app = create_app(service=service, city=small_city)
    try:
        with live_server(app, **uvicorn_options("127.0.0.1", 0, trusted)) as (url, _server):
            lon0, lat0, lon1, lat1 = city_bounds(small_city)
            body = {"category": "other", "lon": (lon0 + lon1) / 2, "lat": (lat0 + lat1) / 2}
            statuses = [_report_as(url, body, f"203.0.113.{i}") for i in range(4)]
            statuses.append(_report_as(url, body, "not an address"))
    finally:
        service.db.dispose()
    if trusted is None:  # every report is the connection's: two, then refused
        assert statuses == [201, 201, 429, 429, 429]
    else:  # the trusted proxy says who sent each
        assert statuses[:4] == [201] * 4


def test_forwarded_allow_ips_must_be_addresses() -> None:
    assert uvicorn_options("127.0.0.1", 8000, None)["proxy_headers"] is False
    assert uvicorn_options("127.0.0.1", 8000, "10.0.0.0/8, ::1")["forwarded_allow_ips"] == (
        "10.0.0.0/8,::1"
    )
    with pytest.raises(typer.BadParameter, match=r"'proxy\.example'"):
        uvicorn_options("127.0.0.1", 8000, "10.0.0.1,proxy.example")


# --- 5: the scenario queue is bounded per user ------------------------------------------------


@pytest.fixture
def held_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Scenario runs that wait until the event is set (then fail), to fill the queue."""
    release = threading.Event()

    def held(scenario: Any, city: Any, progress: Any) -> Any:
        release.wait(60)
        raise RuntimeError("released by the test")

    monkeypatch.setattr(scenario_jobs, "run_scenario", held)
    yield release
    release.set()


def test_one_user_cannot_fill_the_scenario_queue(
    client: TestClient, tokens: dict[str, str], held_runs: threading.Event
) -> None:
    request = {"hazard": "river_flood", "stage_m": 38.0}
    operator, analyst = auth(tokens["operator"]), auth(tokens["analyst"])
    answers = [client.post("/api/scenarios", json=request, headers=operator) for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 429, 429]
    assert int(answers[2].headers["Retry-After"]) > 0
    assert "at most 2 per user" in answers[2].json()["detail"]
    assert client.post("/api/scenarios", json=request, headers=analyst).status_code == 202
    assert len(client.get("/api/scenarios", headers=analyst).json()) == 3
