"""The service's processes: ``serve --workers N`` and the stand-alone ``mqtt-ingest``.

Both run as real subprocesses on SQLite and on PostgreSQL (the helpers of
:mod:`test_kill_restart`).
"""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from ops_support import Broker, free_port
from proc_support import session_members
from resilientcity.operations.db import Database
from resilientcity.operations.models import Datastream, Incident, LiveWarning, PlanActivation
from test_kill_restart import (
    BASE,
    BATCH_TIMES,
    STREAMS,
    Server,
    _admin_token,
    _batch_body,
    _command,
    _count,
    _seed,
    servers,
)

__all__ = ["servers"]


def _two_workers(db_url: str, tmp_path: Path, servers: list[Server]) -> tuple[Server, str]:
    """``serve --workers 2`` on ``db_url`` on a free port, ready; the server and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = Server(
        _command("serve", "--db", db_url, "--port", str(port), "--workers", "2"),
        tmp_path / "serve.log",
    )
    servers.append(server)
    server.start()
    server.wait_ready(url)
    return server, url


def test_serve_with_two_workers(db_url: str, small_city, tmp_path: Path, servers):
    ids = _seed(db_url, small_city)
    token = _admin_token(db_url)
    server, url = _two_workers(db_url, tmp_path, servers)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        statuses = [
            client.post("/v1.1/CreateObservations", content=_batch_body(ids, k)).status_code
            for k in range(6)
        ]
        # the same batch again: stored once whichever worker takes it
        again = client.post("/v1.1/CreateObservations", content=_batch_body(ids, 0))
        health = client.get("/healthz").json()
    log = server.output()
    server.kill()
    assert statuses == [201] * 6 and again.status_code == 201, log
    assert _count(db_url) == 6 * STREAMS * BATCH_TIMES
    assert health["datastreams"] >= STREAMS
    assert "Started parent process" in log and log.count("Started server process") == 2, log


def test_workers_get_the_parents_settings(small_city, tmp_path: Path, servers, monkeypatch):
    # the parent's own environment names another store: --db must win in every worker too
    db_url = f"sqlite:///{tmp_path / 'ops.db'}"
    decoy = tmp_path / "decoy.db"
    monkeypatch.setenv("RESILIENTCITY_DB_URL", f"sqlite:///{decoy}")
    monkeypatch.setenv("RESILIENTCITY_MAX_INGEST_BYTES", "32768")
    ids = _seed(db_url, small_city)
    token = _admin_token(db_url)
    server, url = _two_workers(db_url, tmp_path, servers)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = _batch_body(ids, 0)
    assert len(body) <= 32768
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        # several requests, so that both workers answer some
        stored = [client.post("/v1.1/CreateObservations", content=body) for _ in range(6)]
        big = [
            client.post("/v1.1/CreateObservations", content=b" " * 20000 + body) for _ in range(6)
        ]
    log = server.output()
    server.kill()
    assert [r.status_code for r in stored] == [201] * 6, log
    assert [r.status_code for r in big] == [413] * 6, log
    assert _count(db_url) == STREAMS * BATCH_TIMES
    assert not decoy.exists()


def test_workers_end_when_their_parent_is_killed(small_city, tmp_path: Path, servers):
    db_url = f"sqlite:///{tmp_path / 'ops.db'}"
    _seed(db_url, small_city)
    server, _ = _two_workers(db_url, tmp_path, servers)
    assert server.process is not None
    parent = server.process.pid
    # one worker answers first; the other may still be starting (wait for both to say so)
    deadline = time.monotonic() + 60
    while True:
        log = server.output()
        workers = {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", log)}
        if len(workers) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(workers) == 2, log
    assert workers <= set(session_members(parent)), (workers, session_members(parent))
    os.kill(parent, signal.SIGKILL)  # the parent alone: it cannot stop its workers
    server.process.wait(timeout=30)
    deadline = time.monotonic() + 15
    while session_members(parent) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = session_members(parent)
    assert not left, f"still running after their parent was killed: {left}\n{server.output()}"


def _river_stage_stream(db_url: str) -> int:
    db = Database(db_url)
    with db.read() as session:
        found = session.scalar(
            select(Datastream.id)
            .where(Datastream.observed_property == "river_stage")
            .order_by(Datastream.id)
        )
    db.dispose()
    assert found is not None
    return int(found)


def _counts(db_url: str) -> tuple[int, int, int]:
    db = Database(db_url)
    with db.read() as session:
        counts = tuple(
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (LiveWarning, PlanActivation, Incident)
        )
    db.dispose()
    return counts  # type: ignore[return-value]


def test_mqtt_ingest_alone_activates_plans_and_opens_incidents(
    db_url: str, small_city, broker: Broker, tmp_path: Path, servers
):
    _seed(db_url, small_city)
    stream = _river_stage_stream(db_url)
    server = Server(
        _command("mqtt-ingest", "--mqtt", broker.address, "--db", db_url),
        tmp_path / "mqtt-ingest.log",
        "storing observations",
    )
    servers.append(server)
    server.start()
    server.wait_ready(None)
    # two hours of the river at 40.0 m, above the record stage (red, 39.51 m)
    times = [BASE + timedelta(minutes=10 * i) for i in range(12)]
    payload = orjson.dumps(
        [{"phenomenonTime": t.isoformat().replace("+00:00", "Z"), "result": 40.0} for t in times]
    )
    client = Client(CallbackAPIVersion.VERSION2, client_id="river-gauge")
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(f"v1.1/Datastreams({stream})/Observations", payload, qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    deadline = time.monotonic() + 30
    counts = _counts(db_url)
    while time.monotonic() < deadline and 0 in counts:
        time.sleep(0.2)
        counts = _counts(db_url)
    log = server.output()
    server.kill()
    warnings, activations, incidents = counts
    assert warnings >= 1, log
    assert activations >= 1, f"no plan activated by the MQTT-raised warning:\n{log}"
    assert incidents >= 1, f"no sensor incident opened:\n{log}"
