"""Benchmark: sustained ingest into the operations service, and warning latency (issue 6).

Run from the repository root::

    python benchmarks/bench_operations.py [--seconds 20] [--batch 5000] [--backends sqlite,postgresql]
                                          [--phases http,mqtt,kill,senders] [--json out.json]
                                          [--senders 4] [--sender-batch 500] [--before-src DIR]

For each store (a SQLite file; PostgreSQL at ``RESILIENTCITY_BENCH_PG``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``, in a database of its own that is dropped
afterwards) the script prepares the store with the small demo city (59 datastreams, the
example warning rules on) plus one benchmark datastream ``BENCH:bench_level`` with a rule
that warns at 1.0 m with no minimum duration and no hysteresis, starts ``resilientcity serve``
as a separate process (uvicorn, one worker) and a private Mosquitto broker, and measures:

1. **In-process baseline**: ``Service.ingest`` called directly with the same batches (no HTTP,
   no JSON) — the ratio HTTP / in-process is the cost of the API.
2. **HTTP batches**: one client posts ``CreateObservations`` batches of ``--batch``
   observations (random datastreams, unique times, values in range) back to back for
   ``--seconds``; observations per second = stored observations / wall time. Bodies are built
   before the clock starts.
3. **Warning latency under that load**: meanwhile a second client posts, every 0.25 s, one
   observation on the benchmark datastream that alternately crosses and falls below the
   threshold; a third reads ``/api/warnings/stream`` (server-sent events). Latency = SSE
   arrival − the moment the probe's POST was sent; median and p99.
4. **MQTT**: QoS 1 messages of 100 observations each published as fast as the broker takes
   them for ``--seconds``; observations per second = stored / (time of the last store − time
   of the first publish).
5. **SIGKILL mid-ingest**: batches of 500 posted back to back; the server is killed halfway,
   restarted, and the posting goes on; every acknowledged observation must be stored exactly
   once (lost = acknowledged − stored must be 0; the store's key makes a second copy
   impossible). The tests (``tests/test_kill_restart.py``) do the same over MQTT too.
6. **Concurrent senders** (phase ``senders``, not in the default phases): ``--senders`` HTTP
   clients (4 by default), each in its own thread with its own connection, post
   ``CreateObservations`` batches of ``--sender-batch`` observations (times of their own) back
   to back for ``--seconds`` against a fresh ``serve``; the latency of a batch is the time from
   sending it to its acknowledgement. Reported: median, p95, p99 and max over every batch, the
   batches refused (503, store busy) and the observations per second. Baselines in the same
   run: one sender on the same server; with ``--before-src DIR`` also the same senders against
   a server (and a store of its own) running the package from another source tree, e.g. the
   code before a change::

       mkdir /tmp/before && git archive <commit> src | tar -x -C /tmp/before
       python benchmarks/bench_operations.py --phases senders --before-src /tmp/before/src

Targets of the issues: ≥ 20,000 observations/s over HTTP batches on this 2-core machine, p99
warning latency under 1 s (issue 6); p99 batch latency under 0.5 s with 4 concurrent senders
(issue 15). The clients, the server and the broker share the machine's 2 cores; the load
average is printed at the start and the end. Always exits 0 and prints PASS or FAIL per target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd

from _machine import cpu_model
from resilientcity._process import end_group, start_in_group

TARGET_OBS_S = 20_000
TARGET_P99_S = 1.0
TARGET_SENDERS_P99_S = 0.5
PG_ADMIN = os.environ.get(
    "RESILIENTCITY_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BENCH_RULE = {
    "id": "bench_level",
    "observed_property": "bench_level",
    "unit": "m",
    "direction": "rising",
    "thresholds": {"blue": 1.0},
    "source": "benchmark rule (bench_operations.py): warns at 1.0 m at once",
}
START = pd.Timestamp("2020-01-01T00:00:00Z")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextmanager
def _store(backend: str, folder: Path) -> Iterator[str]:
    """A new store URL (the PostgreSQL database is dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN)
    name = f"rc_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _prepare(url: str) -> tuple[str, dict[str, int]]:
    """Migrate and seed the store, add the benchmark datastream and rule; an admin token."""
    from resilientcity.decision.plans import load_plans
    from resilientcity.operations.access import create_token
    from resilientcity.operations.db import Database
    from resilientcity.operations.ingest import datastream_index
    from resilientcity.operations.models import Datastream, Sensor, WarningRuleRow
    from resilientcity.operations.seed import seed_store
    from resilientcity.twin.demo import demo_city
    from resilientcity.warning import example_rules

    db = Database(url)
    db.upgrade()
    with db.write() as session:
        seed_store(session, demo_city("small").sensors, example_rules(), load_plans())
        sensor = Sensor(name="BENCH", kind="bench", agency_id="emergency", properties={})
        session.add(sensor)
        session.flush()
        session.add(
            Datastream(
                name="BENCH:bench_level",
                sensor_id=sensor.id,
                observed_property="bench_level",
                unit="m",
                min_value=0.0,
                max_value=10.0,
            )
        )
        session.add(
            WarningRuleRow(
                id="bench_level",
                observed_property="bench_level",
                unit="m",
                spec=BENCH_RULE,
                enabled=True,
            )
        )
        token, _ = create_token(session, "bench-admin", "admin")
    with db.read() as session:
        index = datastream_index(session)
    db.dispose()
    ranges = {
        d.id: (d.min_value, d.max_value)
        for d in index.by_id.values()
        if d.observed_property != "bench_level"
    }
    return token, {"bench": index.by_name["BENCH:bench_level"].id, **{str(k): k for k in ranges}}


def _batches(ids: list[int], size: int, count: int, first: int) -> list[pd.DataFrame]:
    """``count`` batches of ``size`` observations with unique times (seconds from START)."""
    rng = np.random.default_rng(6)
    out = []
    for b in range(count):
        seconds = first + b * size + np.arange(size)
        out.append(
            pd.DataFrame(
                {
                    "datastream": rng.choice(ids, size),
                    "phenomenon_time": (START + pd.to_timedelta(seconds, unit="s")).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"
                    ),
                    "result": rng.uniform(0.0, 5.0, size).round(3),
                }
            )
        )
    return out


def _body(frame: pd.DataFrame) -> bytes:
    """A CreateObservations body: one entity per datastream."""
    entities = [
        {
            "Datastream": {"@iot.id": int(stream)},
            "components": ["phenomenonTime", "result"],
            "dataArray": list(zip(part["phenomenon_time"], part["result"].tolist(), strict=True)),
        }
        for stream, part in frame.groupby("datastream")
    ]
    return orjson.dumps(entities)


def _in_process(url: str, batches: list[pd.DataFrame]) -> float:
    """Observations per second of ``Service.ingest`` called directly."""
    from resilientcity.operations.service import Service, ServiceSettings

    service = Service(ServiceSettings(db_url=url, seed_demo=False))
    stored = 0
    t0 = time.perf_counter()
    for frame in batches:
        stored += service.ingest(frame, "bench").stored
    elapsed = time.perf_counter() - t0
    service.db.dispose()
    return stored / elapsed


@dataclass
class _Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def _server(url: str, mqtt: str | None, source: Path | None = None) -> Iterator[_Server]:
    """``resilientcity serve`` on ``url`` (the package imported from ``source`` when given)."""
    port = _free_port()
    command = [
        sys.executable,
        "-c",
        "from resilientcity.cli import main; main()",
        "serve",
        "--db",
        url,
        "--port",
        str(port),
        "--no-seed",
    ]
    if mqtt:
        command += ["--mqtt", mqtt]
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    process = start_in_group(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        _wait_port(port)
        yield _Server(process, port)
    finally:
        end_group(process, signal.SIGTERM, timeout=20)


@dataclass
class _Latency:
    sent: dict[str, float] = field(default_factory=dict)
    received: dict[str, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)


def _sse_reader(base: str, token: str, latency: _Latency, ready: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    with (
        httpx.Client(timeout=None) as client,
        client.stream("GET", f"{base}/api/warnings/stream", headers=headers) as response,
    ):
        ready.set()
        for line in response.iter_lines():
            if latency.stop.is_set():
                return
            if line.startswith("data:"):
                data = json.loads(line[5:])
                if data.get("rule_id") == "bench_level":
                    stamp = pd.Timestamp(data["time"]).strftime("%Y-%m-%dT%H:%M:%SZ")
                    latency.received.setdefault(stamp, time.perf_counter())


def _prober(base: str, token: str, stream: int, latency: _Latency, seconds: float) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(timeout=30) as client:
        k = 0
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            stamp = (START + pd.Timedelta(minutes=k)).strftime("%Y-%m-%dT%H:%M:%SZ")
            value = 2.0 if k % 2 == 0 else 0.0
            body = orjson.dumps(
                [
                    {
                        "Datastream": {"@iot.id": stream},
                        "components": ["phenomenonTime", "result"],
                        "dataArray": [[stamp, value]],
                    }
                ]
            )
            latency.sent[stamp] = time.perf_counter()
            client.post(f"{base}/v1.1/CreateObservations", content=body, headers=headers)
            k += 1
            time.sleep(0.25)


def _http_run(
    server: _Server, token: str, bodies: list[tuple[bytes, int]], seconds: float, stream: int
) -> dict[str, Any]:
    latency = _Latency()
    ready = threading.Event()
    reader = threading.Thread(
        target=_sse_reader, args=(server.base, token, latency, ready), daemon=True
    )
    reader.start()
    ready.wait(10)
    time.sleep(0.5)
    prober = threading.Thread(
        target=_prober, args=(server.base, token, stream, latency, seconds), daemon=True
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    stored = 0
    posted = 0
    with httpx.Client(timeout=120) as client:
        prober.start()
        t0 = time.perf_counter()
        for body, n in bodies:
            response = client.post(
                f"{server.base}/v1.1/CreateObservations", content=body, headers=headers
            )
            response.raise_for_status()
            stored += int(response.json()["stored"])
            posted += n
            if time.perf_counter() - t0 > seconds:
                break
        elapsed = time.perf_counter() - t0
    prober.join()
    time.sleep(1.5)
    latency.stop.set()
    delays = sorted(
        latency.received[k] - latency.sent[k] for k in latency.sent if k in latency.received
    )
    return {
        "http_obs_per_s": stored / elapsed,
        "http_seconds": elapsed,
        "http_stored": stored,
        "http_posted": posted,
        "probes_sent": len(latency.sent),
        "probes_warned": len(delays),
        "latency_median_s": statistics.median(delays) if delays else float("nan"),
        "latency_p99_s": float(np.percentile(delays, 99)) if delays else float("nan"),
        "latency_max_s": max(delays) if delays else float("nan"),
    }


@contextmanager
def _broker(folder: Path) -> Iterator[str]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = _free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
        "max_inflight_messages 1000\nlog_dest none\n"
    )
    process = start_in_group([binary, "-c", str(config)], stderr=subprocess.DEVNULL)
    try:
        _wait_port(port)
        yield f"127.0.0.1:{port}"
    finally:
        end_group(process, signal.SIGTERM, timeout=10)


def _count(url: str) -> int:
    from sqlalchemy import func, select

    from resilientcity.operations.db import Database
    from resilientcity.operations.models import Observation

    db = Database(url)
    with db.read() as session:
        n = int(session.scalar(select(func.count()).select_from(Observation)) or 0)
    db.dispose()
    return n


def _mqtt_run(url: str, address: str, ids: list[int], seconds: float) -> dict[str, Any]:
    import paho.mqtt.client as mqtt

    host, port = address.split(":")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(1000)
    client.connect(host, int(port))
    client.loop_start()
    before = _count(url)
    rng = np.random.default_rng(8)
    first_second = 10**8
    published = 0
    t0 = time.perf_counter()
    k = 0
    infos = []
    while time.perf_counter() - t0 < seconds:
        stream = int(rng.choice(ids))
        payload = orjson.dumps(
            [
                {
                    "phenomenonTime": (
                        START + pd.Timedelta(seconds=first_second + k * 100 + j)
                    ).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "result": round(float(rng.uniform(0, 5)), 3),
                }
                for j in range(100)
            ]
        )
        infos.append(client.publish(f"v1.1/Datastreams({stream})/Observations", payload, qos=1))
        published += 100
        k += 1
        if len(infos) > 500:
            infos.pop(0).wait_for_publish(30)
    for info in infos:
        info.wait_for_publish(30)
    publish_s = time.perf_counter() - t0
    deadline = time.monotonic() + 120
    stored, last_change, last = 0, time.perf_counter(), -1
    while time.monotonic() < deadline:
        stored = _count(url) - before
        if stored != last:
            last, last_change = stored, time.perf_counter()
        if stored >= published or time.perf_counter() - last_change > 5:
            break
        time.sleep(0.2)
    client.loop_stop()
    client.disconnect()
    elapsed = last_change - t0
    return {
        "mqtt_published": published,
        "mqtt_stored": stored,
        "mqtt_publish_s": publish_s,
        "mqtt_obs_per_s": stored / elapsed if elapsed > 0 else float("nan"),
    }


def _stored_between(url: str, first_s: int, last_s: int) -> int:
    """How many observations the store holds with times in [START + first_s, START + last_s)."""
    from sqlalchemy import func, select

    from resilientcity.operations.db import Database
    from resilientcity.operations.models import Observation

    low = (START + pd.Timedelta(seconds=first_s)).to_pydatetime()
    high = (START + pd.Timedelta(seconds=last_s)).to_pydatetime()
    db = Database(url)
    with db.read() as session:
        n = session.scalar(
            select(func.count())
            .select_from(Observation)
            .where(Observation.phenomenon_time >= low, Observation.phenomenon_time < high)
        )
    db.dispose()
    return int(n or 0)


def _kill_run(url: str, token: str, stream_ids: list[int], seconds: float) -> dict[str, Any]:
    """SIGKILL the server in the middle of a sustained HTTP ingest, restart it, count.

    One client posts batches of 500 observations (each with times of its own) as fast as it
    can; after ``seconds / 2`` the server is killed (SIGKILL, from another thread, while a
    batch is in flight), restarted, and the posting goes on from the first unacknowledged
    batch. Every acknowledged observation must be stored exactly once.
    """
    first = 5 * 10**7  # seconds after START: no other phase uses these times
    frames = _batches(stream_ids, 500, int(seconds * 100) + 20, first=first)
    span = (first, first + 500 * len(frames))
    bodies = [_body(f) for f in frames]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    acknowledged = 0
    k = 0
    with _server(url, None) as server, httpx.Client(timeout=30) as client:
        killer = threading.Timer(seconds / 2, server.process.kill)
        killer.start()
        while k < len(bodies):
            try:
                reply = client.post(
                    f"{server.base}/v1.1/CreateObservations", content=bodies[k], headers=headers
                )
            except httpx.TransportError:
                break  # killed while this batch was in flight: not acknowledged
            reply.raise_for_status()
            acknowledged += 500
            k += 1
        killer.join()
        server.process.wait(10)
    before_restart = _stored_between(url, *span)
    t_restart = time.perf_counter()
    with _server(url, None) as server, httpx.Client(timeout=30) as client:
        restart_s = time.perf_counter() - t_restart
        for body in bodies[k : k + 10]:
            reply = client.post(
                f"{server.base}/v1.1/CreateObservations", content=body, headers=headers
            )
            reply.raise_for_status()
            acknowledged += 500
    stored = _stored_between(url, *span)
    return {
        "kill_acknowledged": acknowledged,
        "kill_stored_before_restart": before_restart,
        "kill_stored": stored,
        "kill_lost": max(0, acknowledged - stored),
        "kill_restart_s": restart_s,
    }


def _sender(
    base: str,
    token: str,
    bodies: list[bytes],
    start: threading.Barrier,
    until: list[float],
    out: list[tuple[float, int]],
) -> None:
    """Post ``bodies`` back to back until ``until[0]`` (perf_counter); (latency, status) each."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(timeout=120) as client:
        start.wait()
        for body in bodies:
            if time.perf_counter() > until[0]:
                return
            sent = time.perf_counter()
            reply = client.post(f"{base}/v1.1/CreateObservations", content=body, headers=headers)
            out.append((time.perf_counter() - sent, reply.status_code))


def _senders_run(
    server: _Server, token: str, ids: list[int], n: int, size: int, seconds: float, first: int
) -> dict[str, Any]:
    """``n`` concurrent senders of batches of ``size`` for ``seconds``; latency figures."""
    count = int(seconds * 25) + 10  # per sender: more than one sender can post in the time
    bodies = [
        [_body(f) for f in _batches(ids, size, count, first=first + k * count * size)]
        for k in range(n)
    ]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    warm = _body(_batches(ids, 10, 1, first=first - 100)[0])
    httpx.post(f"{server.base}/v1.1/CreateObservations", content=warm, headers=headers)
    start = threading.Barrier(n + 1)
    until = [float("inf")]
    results: list[list[tuple[float, int]]] = [[] for _ in range(n)]
    threads = [
        threading.Thread(
            target=_sender, args=(server.base, token, bodies[k], start, until, results[k])
        )
        for k in range(n)
    ]
    for thread in threads:
        thread.start()
    until[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    done = [r for part in results for r in part]
    stored = [lat for lat, code in done if code == 201]
    latencies = np.asarray(stored) if stored else np.asarray([np.nan])
    return {
        "senders": n,
        "batch": size,
        "batches": len(stored),
        "refused_503": sum(code == 503 for _, code in done),
        "other_errors": sum(code not in (201, 503) for _, code in done),
        "obs_per_s": len(stored) * size / elapsed,
        "median_s": float(np.median(latencies)),
        "p95_s": float(np.percentile(latencies, 95)),
        "p99_s": float(np.percentile(latencies, 99)),
        "max_s": float(np.max(latencies)),
    }


def _senders_phase(
    backend: str,
    folder: Path,
    seconds: float,
    senders: int,
    size: int,
    before: Path | None,
) -> dict[str, Any]:
    """One sender, then ``senders`` senders, on a fresh server; the same on ``before``."""
    out: dict[str, Any] = {}
    codes: list[tuple[str, Path | None]] = [("now", None)]
    if before is not None:
        codes.append(("before", before))
    for code, source in codes:
        with _store(backend, folder / code) as url:
            token, ids_map = _prepare(url)
            ids_map.pop("bench")
            ids = sorted(ids_map.values())
            with _server(url, None, source) as server:
                if code == "now":
                    out["one_sender"] = _senders_run(
                        server, token, ids, 1, size, seconds, 2 * 10**8
                    )
                out[f"{code}_senders"] = _senders_run(
                    server, token, ids, senders, size, seconds, 3 * 10**8
                )
    return out


def _one(
    backend: str,
    seconds: float,
    batch: int,
    phases: set[str],
    senders: int = 4,
    sender_batch: int = 500,
    before: Path | None = None,
) -> dict[str, Any]:
    if phases == {"senders"}:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "now").mkdir()
            (Path(tmp) / "before").mkdir()
            found = _senders_phase(backend, Path(tmp), seconds, senders, sender_batch, before)
            return {"backend": backend, **found}
    with tempfile.TemporaryDirectory() as tmp, _store(backend, Path(tmp)) as url:
        token, ids_map = _prepare(url)
        stream = ids_map.pop("bench")
        ids = sorted(ids_map.values())
        count = max(4, int(seconds * 40_000 / batch) + 2)
        baseline_batches = _batches(ids, batch, 6, first=0)
        baseline = _in_process(url, baseline_batches)
        result: dict[str, Any] = {"backend": backend, "in_process_obs_per_s": baseline}
        if phases & {"http", "mqtt"}:
            with _broker(Path(tmp)) as address, _server(url, address) as server:
                if "http" in phases:
                    frames = _batches(ids, batch, count, first=10**7)
                    bodies = [(_body(f), len(f)) for f in frames]
                    result.update(_http_run(server, token, bodies, seconds, stream))
                    result["http_vs_in_process"] = result["http_obs_per_s"] / baseline
                if "mqtt" in phases:
                    result.update(_mqtt_run(url, address, ids, seconds))
        if "kill" in phases:
            result.update(_kill_run(url, token, ids, min(seconds, 10.0)))
    if "senders" in phases:
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "now").mkdir()
            (Path(tmp) / "before").mkdir()
            result.update(
                _senders_phase(backend, Path(tmp), seconds, senders, sender_batch, before)
            )
    return result


def _senders_line(label: str, r: dict[str, Any]) -> str:
    return (
        f"{'':10s} {label}: {r['senders']} sender(s) × batches of {r['batch']}: {r['batches']} "
        f"batches, {r['obs_per_s']:,.0f} obs/s, latency median {r['median_s'] * 1000:.0f} ms, "
        f"p95 {r['p95_s'] * 1000:.0f} ms, p99 {r['p99_s'] * 1000:.0f} ms, "
        f"max {r['max_s'] * 1000:.0f} ms; refused 503: {r['refused_503']}, "
        f"other errors: {r['other_errors']}"
    )


def _report(r: dict[str, Any]) -> None:
    """Print one backend's figures (the phases that ran)."""
    if "in_process_obs_per_s" not in r:
        print(f"{r['backend']}")
        line = ""
    else:
        line = f"{r['backend']:10s} in-process {r['in_process_obs_per_s']:9,.0f} obs/s"
    if "http_obs_per_s" in r:
        line += (
            f" | HTTP {r['http_obs_per_s']:9,.0f} obs/s ({r['http_vs_in_process']:.2f}× "
            f"in-process, {r['http_obs_per_s'] / TARGET_OBS_S:.2f}× target) "
            f"{'PASS' if r['http_obs_per_s'] >= TARGET_OBS_S else 'FAIL'} | warning latency "
            f"median {r['latency_median_s'] * 1000:.0f} ms, p99 {r['latency_p99_s'] * 1000:.0f} ms "
            f"({r['probes_warned']}/{r['probes_sent']} probes) "
            f"{'PASS' if r['latency_p99_s'] < TARGET_P99_S else 'FAIL'}"
        )
    if "mqtt_obs_per_s" in r:
        line += (
            f" | MQTT {r['mqtt_obs_per_s']:9,.0f} obs/s "
            f"({r['mqtt_stored']:,}/{r['mqtt_published']:,} stored)"
        )
    if line:
        print(line)
    if "now_senders" in r:
        print(_senders_line("baseline, 1 sender", r["one_sender"]))
        if "before_senders" in r:
            print(_senders_line("baseline, the code of --before-src", r["before_senders"]))
        now = r["now_senders"]
        verdict = "PASS" if now["p99_s"] < TARGET_SENDERS_P99_S else "FAIL"
        print(_senders_line("now", now) + f" | p99 < {TARGET_SENDERS_P99_S} s: {verdict}")
    if "kill_lost" in r:
        print(
            f"{'':10s} SIGKILL mid-ingest: {r['kill_acknowledged']:,} acknowledged, "
            f"{r['kill_stored']:,} stored, {r['kill_lost']} lost "
            f"{'PASS' if r['kill_lost'] == 0 else 'FAIL'}; restart to first request "
            f"{r['kill_restart_s']:.1f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--phases", default="http,mqtt,kill", help="Which of http, mqtt, kill, senders to run"
    )
    parser.add_argument("--senders", type=int, default=4, help="Concurrent senders (senders)")
    parser.add_argument(
        "--sender-batch", type=int, default=500, help="Observations per batch (senders)"
    )
    parser.add_argument(
        "--before-src", type=Path, help="Also run the senders against this source tree"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    if not phases <= {"http", "mqtt", "kill", "senders"}:
        parser.error(f"--phases: expected some of http, mqtt, kill, senders, found {args.phases}")
    if args.senders < 1 or args.sender_batch < 1:
        parser.error("--senders and --sender-batch: expected whole numbers >= 1")
    if args.before_src is not None and not (args.before_src / "resilientcity").is_dir():
        parser.error(f"--before-src: no resilientcity package in {args.before_src}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.2f}")
    results = []
    for backend in args.backends.split(","):
        try:
            r = _one(
                backend,
                args.seconds,
                args.batch,
                phases,
                args.senders,
                args.sender_batch,
                args.before_src,
            )
        except Exception as exc:  # a missing service is reported, the other backends still run
            print(f"{backend}: not measured: {exc}")
            continue
        results.append(r)
        _report(r)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
