"""Warnings over HTTP: the list and detail, the server-sent-events stream, the rules."""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sse_starlette.sse import AppStatus

from api_support import api_app, api_service, auth, client, live_server, observations, tokens
from resilientcity.operations.access import create_token
from resilientcity.operations.models import WarningEvent
from resilientcity.operations.service import Service

__all__ = ["api_app", "api_service", "client", "tokens"]

STAGE = "RG002:river_stage"
#: Ten-minute river stages: below blue, past yellow, past orange; then six hours below blue.
RISE = [34.0] * 6 + [36.5] * 6 + [39.0] * 6
FALL = [34.0] * 36


@pytest.fixture(autouse=True)
def _sse_not_exiting() -> Iterator[None]:
    """sse-starlette's exit flag is process-wide: keep it off around each test."""
    AppStatus.should_exit = False
    yield
    AppStatus.should_exit = False


def _event_ids(service: Service) -> list[int]:
    with service.db.read() as session:
        return list(session.scalars(select(WarningEvent.id).order_by(WarningEvent.id)))


class EventReader:
    """Reads a server-sent-events stream in a thread; events land in :attr:`events`."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        self._socket: socket.socket | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(10.0, read=None))
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()
        assert self.connected.wait(10), "the stream did not open"

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                self.connected.set()
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if not line:
                        if "data" in fields:
                            self.events.put(fields)
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except (httpx.HTTPError, OSError):
            pass  # closed by the test or by the server

    def take(self, n: int, timeout: float) -> list[dict[str, Any]]:
        """The next ``n`` events (fewer when ``timeout`` seconds pass first)."""
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            try:
                out.append(self.events.get(timeout=max(deadline - time.monotonic(), 0.001)))
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        """Disconnect (a shutdown of the socket ends the reader's blocking read)."""
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        assert not self._thread.is_alive(), "the reader did not stop"
        self._client.close()


@contextlib.contextmanager
def reading(url: str, headers: dict[str, str] | None = None) -> Iterator[EventReader]:
    reader = EventReader(url, headers or {})
    try:
        yield reader
    finally:
        reader.close()


def test_crossing_thresholds_issues_a_public_warning(client, tokens, api_service):
    posted = client.post(
        "/v1.1/CreateObservations",
        json=[observations(STAGE, RISE)],
        headers=auth(tokens["operator"]),
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["warning_events"] == _event_ids(api_service)
    active = client.get("/api/warnings").json()  # no token: warnings are public
    assert [(w["datastream"], w["sensor"], w["status"]) for w in active] == [
        (STAGE, "RG002", "active")
    ]
    warning = active[0]
    assert warning["level"] in ("orange", "red") and warning["lon"] is not None
    assert client.get("/api/warnings", params={"level": "blue"}).json() == []
    assert client.get("/api/warnings", params={"status": "lifted"}).json() == []
    detail = client.get(f"/api/warnings/{warning['id']}").json()
    assert [e["id"] for e in detail["events"]] == _event_ids(api_service)
    assert detail["events"][0]["kind"] == "issued"
    assert detail["rule"]["id"] == warning["rule_id"]
    # a rising river warning gets a nowcast from the background worker
    for _ in range(100):
        if detail["nowcast_status"] != "pending":
            break
        time.sleep(0.1)
        detail = client.get(f"/api/warnings/{warning['id']}").json()
    assert detail["nowcast_status"] == "done", detail["nowcast"]
    assert detail["nowcast"]["stage_m"] >= 38.37 and detail["nowcast"]["people_at_risk"] >= 0
    assert client.get("/api/warnings/99999").status_code == 404
    assert client.get("/api/warnings", headers=auth("rc_not-a-token")).status_code == 401
    later = client.get("/api/warnings", params={"since": "2030-01-01T00:00:00Z"}).json()
    assert later == []


def test_stream_delivers_events_in_order_and_resumes(api_app, api_service):
    with live_server(api_app) as (url, _server):
        with api_service.db.write() as session:
            token, _ = create_token(session, "streamer", "admin")
        post = httpx.Client(base_url=url, headers=auth(token), timeout=30)
        stream = f"{url}/api/warnings/stream"
        with reading(stream) as reader:
            sent = time.monotonic()
            response = post.post("/v1.1/CreateObservations", json=[observations(STAGE, RISE)])
            assert response.status_code == 201, response.text
            expected = response.json()["warning_events"]
            assert expected
            got = reader.take(len(expected), timeout=2.0)
            assert time.monotonic() - sent < 2.0 + 1.0  # the post itself included
            assert [int(e["id"]) for e in got] == expected
            assert {e["event"] for e in got} == {"warning"}
            data = json.loads(got[0]["data"])
            assert (data["datastream"], data["sensor"], data["kind"]) == (STAGE, "RG002", "issued")
            assert {"warning_id", "current_level", "lon", "lat", "to_level"} <= set(data)
            assert reader.take(1, timeout=0.5) == []  # nothing twice
        middle = expected[len(expected) // 2 - 1] if len(expected) > 1 else expected[0]
        with (
            reading(stream, {"Last-Event-ID": str(middle)}) as resumed,
            reading(f"{stream}?after=0") as replay,
        ):
            fall = post.post(
                "/v1.1/CreateObservations",
                json=[observations(STAGE, FALL, start=_after(RISE))],
            )
            later = fall.json()["warning_events"]
            assert later, "falling back below every threshold lifts the warning"
            wanted = [i for i in [*expected, *later] if i > middle]
            got = resumed.take(len(wanted), timeout=2.0)
            assert [int(e["id"]) for e in got] == wanted
            assert [int(e["id"]) for e in replay.take(100, timeout=1.0)] == _event_ids(api_service)
            assert resumed.take(1, timeout=0.3) == []
        post.close()


def _after(values: list[float]) -> datetime:
    """The time after a series of ten-minute values that starts at the default start."""
    return datetime(2026, 7, 1, tzinfo=UTC) + timedelta(minutes=10 * len(values))


def test_shutdown_with_an_open_stream_does_not_hang(api_app):
    with live_server(api_app) as (url, server):
        reader = EventReader(f"{url}/api/warnings/stream", {})
        started = time.monotonic()
        server.handle_exit(signal.SIGTERM, None)  # what uvicorn does on SIGTERM
        reader._thread.join(10)
        assert not reader._thread.is_alive(), "the stream did not end on shutdown"
        assert time.monotonic() - started < 5
    reader.close()


def test_stream_refuses_a_bad_last_event_id(client):
    response = client.get("/api/warnings/stream", headers={"Last-Event-ID": "yesterday"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Last-Event-ID"]


def test_rules_are_validated_and_disabling_stops_warnings(client, tokens, api_service):
    admin = auth(tokens["admin"])
    assert client.get("/api/rules", headers=auth(tokens["public"])).status_code == 403
    rules = client.get("/api/rules", headers=auth(tokens["analyst"])).json()
    rule = next(r["rule"] for r in rules if r["rule"]["observed_property"] == "river_stage")
    path = f"/api/rules/{rule['id']}"
    assert client.get("/api/rules").status_code == 401
    wrong_id = client.put(path, json=rule | {"id": "other"}, headers=admin)
    assert wrong_id.status_code == 422
    assert wrong_id.json()["detail"][0]["loc"] == ["rule", "id"]
    descending = rule | {"thresholds": {"blue": 40.0, "yellow": 36.0}}
    unordered = client.put(path, json=descending, headers=admin)
    assert unordered.status_code == 422 and "thresholds" in str(unordered.json()["detail"])
    extra = client.put(path, json=rule | {"colour": "red"}, headers=admin)
    assert extra.status_code == 422 and "colour" in str(extra.json()["detail"])
    infinite = client.put(path, json=rule | {"thresholds": {"blue": "inf"}}, headers=admin)
    assert infinite.status_code == 422
    assert client.put(path, json=rule, headers=auth(tokens["operator"])).status_code == 403
    changed = client.put(path, json=rule | {"hysteresis_margin": 0.3}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["rule"]["hysteresis_margin"] == 0.3
    new = rule | {"id": "stage_copy", "source": "test"}
    assert client.put("/api/rules/stage_copy", json=new, headers=admin).status_code == 201
    for rule_id in (rule["id"], "stage_copy"):
        disabled = client.delete(f"/api/rules/{rule_id}", headers=admin)
        assert disabled.status_code == 200 and disabled.json()["enabled"] is False
    assert client.delete("/api/rules/no_such_rule", headers=admin).status_code == 404
    posted = client.post(
        "/v1.1/CreateObservations", json=[observations(STAGE, RISE)], headers=admin
    )
    assert posted.json()["stored"] == len(RISE)
    assert posted.json()["warning_events"] == []
    audit = client.get("/api/audit", params={"user": "test-admin"}, headers=admin).json()
    assert [(a["action"], a["entity_id"]) for a in audit[1:]] == [
        ("disable", "stage_copy"),
        ("disable", rule["id"]),
        ("create", "stage_copy"),
        ("update", rule["id"]),
    ]


def test_disabling_or_moving_a_rule_lifts_its_active_warnings(client, tokens, api_service):
    admin = auth(tokens["admin"])
    posted = client.post(
        "/v1.1/CreateObservations", json=[observations(STAGE, RISE)], headers=admin
    )
    assert posted.status_code == 201, posted.text
    [warning] = client.get("/api/warnings", params={"status": "active"}).json()
    rule_id = warning["rule_id"]
    rule = next(
        r["rule"] for r in client.get("/api/rules", headers=admin).json() if r["id"] == rule_id
    )
    disabled = client.delete(f"/api/rules/{rule_id}", headers=admin)
    assert disabled.status_code == 200
    assert client.get("/api/warnings", params={"status": "active"}).json() == []
    last = client.get(f"/api/warnings/{warning['id']}").json()["events"][-1]
    assert (last["kind"], last["from_level"], last["to_level"], last["reason"]) == (
        "lifted",
        warning["level"],
        "none",
        "rule disabled",
    )
    # enabled again, the rule starts from no warning: the river still high issues a new one
    assert client.put(f"/api/rules/{rule_id}", json=rule, headers=admin).status_code == 200
    later = datetime(2026, 7, 2, tzinfo=UTC)
    client.post(
        "/v1.1/CreateObservations", json=[observations(STAGE, [39.0] * 6, later)], headers=admin
    )
    [again] = client.get("/api/warnings", params={"status": "active"}).json()
    assert again["id"] != warning["id"]
    assert client.get(f"/api/warnings/{again['id']}").json()["events"][0]["kind"] == "issued"
    # a rule moved to another observed property no longer watches the river: lifted too
    moved = rule | {"observed_property": "underpass_depth"}
    assert client.put(f"/api/rules/{rule_id}", json=moved, headers=admin).status_code == 200
    assert client.get("/api/warnings", params={"status": "active"}).json() == []
    reason = client.get(f"/api/warnings/{again['id']}").json()["events"][-1]["reason"]
    assert reason == "rule changed"
