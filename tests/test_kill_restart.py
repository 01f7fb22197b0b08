"""Reliability: SIGKILL the service in the middle of a sustained ingest, restart it, and find
every acknowledged observation stored exactly once (over HTTP batches and over MQTT).

The service runs as a real subprocess (``resilientcity serve`` or ``resilientcity
mqtt-ingest``), on SQLite and on PostgreSQL. Acknowledged means: a 2xx response to the HTTP
batch, or a PUBACK from the broker for the MQTT message (the broker then owns it and keeps it
for the service's persistent session). Unacknowledged batches may or may not be stored.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from paho.mqtt.client import Client, MQTTMessageInfo
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from ops_support import Broker, free_port
from proc_support import end_group, start_in_group
from resilientcity.decision.plans import load_plans
from resilientcity.operations.access import create_token
from resilientcity.operations.db import Database
from resilientcity.operations.ingest import datastream_index
from resilientcity.operations.models import Observation
from resilientcity.operations.seed import seed_store
from resilientcity.warning import example_rules

#: Datastreams the load goes to (every one accepts 0.5 in its unit).
STREAMS = 20
BATCH_TIMES = 25  # HTTP batch: STREAMS x BATCH_TIMES = 500 observations
MESSAGE_SIZE = 50  # MQTT message: 50 observations of one datastream
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
Key = tuple[int, datetime]


@dataclass
class Server:
    """The service as a subprocess, its output in a log file."""

    args: list[str]
    log: Path
    ready_line: str | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts}\n".encode())
            out.flush()
            self.process = start_in_group(
                self.args,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self, url: str | None, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        start_mark = f"--- start {self.starts}"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"the service exited with {self.process.returncode}:\n{self.output()}")
            if url is not None:
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            elif self.ready_line and self.ready_line in self.output().split(start_mark)[-1]:
                return
            time.sleep(0.2)
        pytest.fail(f"the service was not ready within {timeout:g} s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL the service and every process it started (its process group)."""
        if self.process is not None:
            end_group(self.process, signal.SIGKILL)


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "resilientcity", *args]


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers started by a test; killed afterwards whatever happened."""
    found: list[Server] = []
    yield found
    for server in found:
        server.kill()


def _seed(db_url: str, small_city) -> list[int]:
    """Migrate and seed the store; the ids of the datastreams the load goes to."""
    db = Database(db_url)
    db.upgrade()
    with db.write() as session:
        seed_store(session, small_city.sensors, example_rules(), load_plans())
    with db.read() as session:
        ids = sorted(datastream_index(session).by_id)[:STREAMS]
    db.dispose()
    return ids


def _admin_token(db_url: str) -> str:
    db = Database(db_url)
    with db.write() as session:
        token, _ = create_token(session, f"loader-{uuid.uuid4().hex[:6]}", "admin")
    db.dispose()
    return token


def _stored(db_url: str) -> tuple[int, set[Key]]:
    """Rows of the observations table and their distinct keys."""
    db = Database(db_url)
    try:
        with db.read() as session:
            rows = session.execute(
                select(Observation.datastream_id, Observation.phenomenon_time)
            ).all()
            total = int(session.scalar(select(func.count()).select_from(Observation)))
    finally:
        db.dispose()
    return total, {(int(d), t.astimezone(UTC)) for d, t in rows}


def _count(db_url: str) -> int:
    db = Database(db_url)
    try:
        with db.read() as session:
            return int(session.scalar(select(func.count()).select_from(Observation)))
    finally:
        db.dispose()


# --- over HTTP --------------------------------------------------------------------------------


def _batch_keys(ids: list[int], k: int) -> list[Key]:
    times = [BASE + timedelta(seconds=k * BATCH_TIMES + j) for j in range(BATCH_TIMES)]
    return [(d, t) for d in ids for t in times]


def _batch_body(ids: list[int], k: int) -> bytes:
    times = [BASE + timedelta(seconds=k * BATCH_TIMES + j) for j in range(BATCH_TIMES)]
    return orjson.dumps(
        [
            {
                "Datastream": {"@iot.id": d},
                "components": ["phenomenonTime", "result"],
                "dataArray": [[t.isoformat().replace("+00:00", "Z"), 0.5] for t in times],
            }
            for d in ids
        ]
    )


@dataclass
class HttpLoad:
    """Client threads posting batches as fast as they can, recording the acknowledged ones."""

    url: str
    token: str
    ids: list[int]
    acknowledged: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            while not self.stop.is_set():
                with self._lock:
                    k = next(self._numbers)
                if k >= 5000:  # a bound, far above what 2 s allow
                    return
                try:
                    response = client.post(
                        "/v1.1/CreateObservations", content=_batch_body(self.ids, k)
                    )
                except httpx.HTTPError:
                    with self._lock:
                        self.failed.add(k)
                    return
                with self._lock:
                    (self.acknowledged if response.is_success else self.failed).add(k)
                    if not response.is_success:
                        self.errors.append(f"{response.status_code}: {response.text[:300]}")


def test_http_ingest_survives_sigkill(db_url: str, small_city, tmp_path: Path, servers):
    ids = _seed(db_url, small_city)
    token = _admin_token(db_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = Server(
        _command("serve", "--db", db_url, "--port", str(port), "--no-seed"), tmp_path / "serve.log"
    )
    servers.append(server)
    server.start()
    server.wait_ready(url)

    load = HttpLoad(url, token, ids)
    threads = [threading.Thread(target=load.run) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(load.acknowledged) < 5:
        time.sleep(0.05)
    time.sleep(2.0)  # sustained load, then the kill lands in the middle of it
    server.kill()
    load.stop.set()
    for thread in threads:
        thread.join(timeout=60)
    acknowledged = set(load.acknowledged)
    print(f"{len(acknowledged)} batches acknowledged, {len(load.failed)} not, before the kill")
    assert len(acknowledged) >= 5, server.output()
    assert not load.errors, load.errors[:3]  # a killed server answers nothing, never an error

    server.start()
    server.wait_ready(url)
    total, keys = _stored(db_url)
    assert total == len(keys)  # nothing stored twice
    for k in acknowledged:
        missing = set(_batch_keys(ids, k)) - keys
        assert not missing, f"acknowledged batch {k} lost {len(missing)} observations"

    # the client retries what was not acknowledged: stored once, the rest counted as duplicates
    headers = {"Authorization": f"Bearer {token}"}
    retried = sorted(load.failed - acknowledged)
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for k in retried:
            response = client.post("/v1.1/CreateObservations", content=_batch_body(ids, k))
            assert response.status_code == 201, response.text
            result = response.json()
            assert result["stored"] + result["duplicates"] == STREAMS * BATCH_TIMES
            assert result["rejected"] == {}
    total, keys = _stored(db_url)
    every = acknowledged | set(retried)
    assert total == len(keys) == STREAMS * BATCH_TIMES * len(every)
    assert keys == {key for k in every for key in _batch_keys(ids, k)}


# --- over MQTT --------------------------------------------------------------------------------


def _message(ids: list[int], m: int) -> tuple[str, bytes, list[Key]]:
    d = ids[m % len(ids)]
    start = (m // len(ids)) * MESSAGE_SIZE
    times = [BASE + timedelta(seconds=start + j) for j in range(MESSAGE_SIZE)]
    payload = orjson.dumps(
        [{"phenomenonTime": t.isoformat().replace("+00:00", "Z"), "result": 0.5} for t in times]
    )
    return f"v1.1/Datastreams({d})/Observations", payload, [(d, t) for t in times]


def _open_session(broker: Broker, client_id: str) -> None:
    """Create the service's persistent session on the broker, so that it keeps every message
    published from now on for the service, whether it is up or not."""
    subscribed = threading.Event()
    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.subscribe("v1.1/+/Observations", qos=1)
    assert subscribed.wait(10)
    client.disconnect()
    client.loop_stop()


@dataclass
class MqttLoad:
    """A QoS 1 publisher at a steady rate, recording the messages the broker acknowledged."""

    broker: Broker
    ids: list[int]
    rate: float = 400.0
    sent: list[tuple[int, MQTTMessageInfo]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client = Client(CallbackAPIVersion.VERSION2, client_id=f"load-{uuid.uuid4().hex[:6]}")
        client.max_inflight_messages_set(100)
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        started = time.monotonic()
        try:
            for m in range(100_000):
                if self.stop.is_set():
                    break
                topic, payload, _ = _message(self.ids, m)
                self.sent.append((m, client.publish(topic, payload, qos=1)))
                ahead = started + (m + 1) / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            for _, info in self.sent[-200:]:
                info.wait_for_publish(timeout=10)
        finally:
            client.disconnect()
            client.loop_stop()

    def acknowledged(self) -> list[int]:
        return [m for m, info in self.sent if info.is_published()]


@pytest.mark.parametrize("command", ["serve", "mqtt-ingest"])
def test_mqtt_ingest_survives_sigkill(
    command: str, db_url: str, small_city, broker: Broker, tmp_path: Path, servers
):
    ids = _seed(db_url, small_city)
    client_id = "resilientcity-ingest"  # the subscriber's default id (`serve --mqtt` uses it)
    _open_session(broker, client_id)
    port = free_port()
    if command == "serve":
        args = ["serve", "--port", str(port), "--no-seed", "--mqtt", broker.address]
        url: str | None = f"http://127.0.0.1:{port}"
    else:
        args = ["mqtt-ingest", "--mqtt", broker.address, "--client-id", client_id]
        url = None
    server = Server(
        _command(*args, "--db", db_url), tmp_path / f"{command}.log", "storing observations"
    )
    servers.append(server)
    server.start()
    server.wait_ready(url)

    load = MqttLoad(broker, ids)
    publisher = threading.Thread(target=load.run)
    publisher.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _count(db_url) == 0:
            time.sleep(0.1)
        assert _count(db_url) > 0, f"{command} stored nothing in 30 s:\n{server.output()}"
        time.sleep(1.5)
        server.kill()  # mid-stream; the publisher goes on while the service is down
        before = _count(db_url)
        time.sleep(1.0)
    finally:
        load.stop.set()
        publisher.join(timeout=60)
    acknowledged = load.acknowledged()
    expected = {key for m in acknowledged for key in _message(ids, m)[2]}
    assert len(acknowledged) > 100

    server.start()
    server.wait_ready(url)
    restarted = time.monotonic()
    deadline = restarted + 90
    while time.monotonic() < deadline:
        total, keys = _stored(db_url)
        if expected <= keys:
            break
        time.sleep(0.5)
    caught_up = time.monotonic() - restarted
    server.kill()
    total, keys = _stored(db_url)
    print(
        f"{command}: {len(load.sent)} messages sent, {len(acknowledged)} acknowledged by the "
        f"broker, {before} observations stored at the kill, {total} after the restart "
        f"({caught_up:.1f} s to catch up)"
    )
    assert total == len(keys)  # nothing stored twice
    missing = expected - keys
    assert not missing, f"{len(missing)} acknowledged observations lost:\n{server.output()}"
    every = {key for m, _ in load.sent for key in _message(ids, m)[2]}
    assert keys <= every
