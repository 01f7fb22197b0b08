"""MQTT ingestion: stored once, acknowledged after the commit, malformed kept, reconnects."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from ops_support import Broker, free_port
from resilientcity.decision.plans import load_plans
from resilientcity.errors import ValidationError
from resilientcity.operations.db import Database
from resilientcity.operations.ingest import datastream_index
from resilientcity.operations.models import AuditEntry, Observation, Quarantined
from resilientcity.operations.mqtt import MqttError, MqttIngestor, parse_address
from resilientcity.operations.mqtt_messages import PAYLOAD_CHARS, decode_message
from resilientcity.operations.seed import seed_store
from resilientcity.operations.service import Service, ServiceSettings
from resilientcity.warning import example_rules

STAGE = "RG002:river_stage"
BASE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)


def _topic(ref: str | int) -> str:
    return f"v1.1/Datastreams({ref})/Observations"


def _obs(minute: int, result: float = 1.0, **extra: Any) -> dict[str, Any]:
    time_text = (BASE + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")
    return {"phenomenonTime": time_text, "result": result, **extra}


@pytest.fixture
def service(db_url: str, small_city) -> Iterator[Service]:
    db = Database(db_url)
    db.upgrade()
    with db.write() as session:
        seed_store(session, small_city.sensors, example_rules(), load_plans())
    db.dispose()
    found = Service(ServiceSettings(db_url=db_url, seed_demo=False))
    yield found
    found.db.dispose()


@pytest.fixture
def publisher(broker: Broker) -> Iterator[Callable[[str, bytes], None]]:
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    client.connect(broker.host, broker.port)
    client.loop_start()

    def publish(topic: str, payload: bytes) -> None:
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    yield publish
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def ingestor(service: Service, broker: Broker) -> Iterator[MqttIngestor]:
    found = MqttIngestor(service, broker.host, broker.port, client_id="test-ingest")
    found.start()
    yield found
    found.stop()


def _wait(ingestor: MqttIngestor, condition: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stats = ingestor.stats()
        if condition(stats):
            return stats
        time.sleep(0.05)
    pytest.fail(f"timed out; stats: {ingestor.stats()}")


def _count(service: Service, model: Any) -> int:
    with service.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def test_decode_message_reads_objects_and_lists_and_names_what_is_wrong():
    one = decode_message(_topic(STAGE), orjson.dumps(_obs(0, unit="m")))
    assert one.malformed == "" and one.rows[0]["datastream"] == STAGE
    assert one.rows[0]["unit"] == "m" and one.rows[0]["result"] == 1.0
    many = decode_message(_topic(7), orjson.dumps([_obs(0), _obs(1)]))
    assert [r["datastream"] for r in many.rows] == ["7", "7"]
    quoted = decode_message(_topic(f"'{STAGE}'"), orjson.dumps(_obs(0)))
    assert quoted.rows[0]["datastream"] == STAGE
    cases = {
        b"\xff\xfe": "not UTF-8",
        b"{not json": "not JSON",
        b"[]": "empty list",
        b"3": "expected a JSON object",
        orjson.dumps({"result": 1}): "missing field phenomenonTime",
        b"\x00": "not JSON",
    }
    for payload, why in cases.items():
        bad = decode_message(_topic(STAGE), payload)
        assert bad.rows == [] and why in bad.malformed, (payload, bad)
        assert bad.quarantined() == [(bad.malformed, bad.payload)]
    assert decode_message(_topic(STAGE), b"\x00").payload == "\\u0000"  # PostgreSQL takes it
    nul = decode_message(_topic("A\x00B"), orjson.dumps(_obs(0)))
    assert nul.rows[0]["datastream"] == "A\\u0000B"


def test_decode_message_keeps_the_good_items_of_a_list_with_bad_ones():
    items = [_obs(0), {"phenomenonTime": "x"}, 3, _obs(1, 2.0), {"result": 1.0, "unit": "m"}]
    decoded = decode_message(_topic(STAGE), orjson.dumps(items))
    assert decoded.malformed == ""
    assert [r["result"] for r in decoded.rows] == [1.0, 2.0]
    assert [r["payload"] for r in decoded.rows] == [
        orjson.dumps(_obs(0)).decode(),
        orjson.dumps(_obs(1, 2.0)).decode(),
    ]
    assert decoded.quarantined() == [
        ("observation 1: missing field result", '{"phenomenonTime":"x"}'),
        ("observation 2: expected a JSON object with phenomenonTime and result", "3"),
        ("observation 4: missing field phenomenonTime", '{"result":1.0,"unit":"m"}'),
    ]
    nothing = decode_message(_topic(STAGE), b"[1, 2]")
    assert nothing.rows == [] and len(nothing.quarantined()) == 2
    wrong = decode_message("v1.1/Things(1)/Observations", b"{}")
    assert "expected v1.1/Datastreams(<id or name>)/Observations" in wrong.malformed
    long = decode_message(_topic(STAGE), b"x" * (3 * PAYLOAD_CHARS))
    assert len(long.payload) == PAYLOAD_CHARS


def test_parse_address():
    assert parse_address("broker.local:1884") == ("broker.local", 1884)
    assert parse_address("broker.local") == ("broker.local", 1883)
    assert parse_address("[::1]:1883") == ("::1", 1883)
    for bad in ("host:port", ":1883", "host:70000"):
        with pytest.raises(ValidationError, match="HOST:PORT"):
            parse_address(bad)


def test_start_names_the_broker_it_cannot_reach(service: Service):
    port = free_port()
    with pytest.raises(MqttError, match=f"127.0.0.1:{port}"):
        MqttIngestor(service, "127.0.0.1", port).start()


def test_observations_are_stored_once_and_acknowledged(
    service: Service, ingestor: MqttIngestor, publisher
):
    with service.db.read() as session:
        stage_id = datastream_index(session).by_name[STAGE].id
    for m in range(20):  # 20 messages of 10 observations, by datastream id
        publisher(_topic(stage_id), orjson.dumps([_obs(10 * m + i) for i in range(10)]))
    publisher(_topic("RN001:rainfall_1h"), orjson.dumps(_obs(0, 2.5, unit="mm")))
    # acknowledgements follow the commit: wait for them too
    stats = _wait(ingestor, lambda s: s["received"] >= 201 and s["acknowledged"] >= 21)
    assert (stats["stored"], stats["duplicates"], stats["rejected"]) == (201, 0, {})
    assert stats["acknowledged"] == stats["messages"] == 21
    for m in range(5):  # sent again (a retry): acknowledged, not stored twice
        publisher(_topic(STAGE), orjson.dumps([_obs(10 * m + i) for i in range(10)]))
    stats = _wait(ingestor, lambda s: s["received"] >= 251)
    assert (stats["stored"], stats["duplicates"]) == (201, 50)
    assert _count(service, Observation) == 201
    with service.db.read() as session:
        audited = session.scalars(select(AuditEntry).where(AuditEntry.role == "system")).all()
    assert audited and {a.entity_id for a in audited} == {"mqtt"}
    assert sum(a.detail["stored"] for a in audited) == 201


def test_bad_messages_and_values_are_quarantined_with_reasons(
    service: Service, ingestor: MqttIngestor, publisher
):
    publisher(_topic(STAGE), b"{not json")
    publisher(_topic(STAGE), b"{not json\x00")  # PostgreSQL refuses NUL in text: kept escaped
    publisher(_topic(STAGE), b"\xff\xfe")
    publisher(_topic(STAGE), orjson.dumps({"result": 1.0}))
    publisher("v1.1/Things(1)/Observations", orjson.dumps(_obs(0)))
    publisher(_topic("NOPE:river_stage"), orjson.dumps(_obs(0)))
    publisher(_topic(STAGE), orjson.dumps([_obs(1, 1000.0), _obs(2, 1.0, unit="ft"), _obs(3)]))
    stats = _wait(ingestor, lambda s: s["messages"] >= 7 and s["acknowledged"] >= 7)
    assert stats["stored"] == 1
    assert stats["rejected"] == {
        "malformed": 5,
        "unknown_datastream": 1,
        "out_of_range": 1,
        "wrong_unit": 1,
    }
    assert stats["acknowledged"] == 7
    with service.db.read() as session:
        rows = session.scalars(select(Quarantined).order_by(Quarantined.id)).all()
    assert {r.source for r in rows} == {"mqtt"}
    malformed = {r.payload: r.detail for r in rows if r.reason == "malformed"}
    assert "not JSON" in malformed["{not json"]
    assert "not JSON" in malformed["{not json\\u0000"]
    assert any("missing field phenomenonTime" in d for d in malformed.values())
    assert any(r.datastream == "v1.1/Things(1)/Observations" for r in rows)
    ranged = next(r for r in rows if r.reason == "out_of_range")
    assert ranged.datastream == STAGE and '"result":1000.0' in ranged.payload


def test_the_good_observations_of_a_list_with_bad_items_are_stored(
    service: Service, ingestor: MqttIngestor, publisher
):
    items = [_obs(0), {"phenomenonTime": _obs(1)["phenomenonTime"]}, _obs(2), "x", _obs(3, 1000.0)]
    publisher(_topic(STAGE), orjson.dumps(items))
    stats = _wait(ingestor, lambda s: s["messages"] >= 1 and s["acknowledged"] >= 1)
    assert stats["received"] == 5 and stats["stored"] == 2
    assert stats["rejected"] == {"malformed": 2, "out_of_range": 1}
    assert _count(service, Observation) == 2
    with service.db.read() as session:
        rows = session.scalars(select(Quarantined).order_by(Quarantined.id)).all()
    malformed = [(r.datastream, r.detail, r.payload) for r in rows if r.reason == "malformed"]
    assert malformed == [
        (STAGE, "observation 1: missing field result", orjson.dumps(items[1]).decode()),
        (STAGE, "observation 3: expected a JSON object with phenomenonTime and result", '"x"'),
    ]


def test_reconnects_after_a_broker_restart(
    service: Service, ingestor: MqttIngestor, broker: Broker, publisher
):
    publisher(_topic(STAGE), orjson.dumps([_obs(i) for i in range(10)]))
    _wait(ingestor, lambda s: s["stored"] >= 10)
    broker.restart()
    _wait(ingestor, lambda s: not s["connected"] or s["last_error"])
    # the publisher reconnects on its own too; publish once the subscriber is back
    _wait(ingestor, lambda s: s["connected"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            publisher(_topic(STAGE), orjson.dumps([_obs(100 + i) for i in range(10)]))
            break
        except (AssertionError, RuntimeError):
            time.sleep(0.2)
    stats = _wait(ingestor, lambda s: s["stored"] >= 20)
    assert stats["stored"] == 20
    assert _count(service, Observation) == 20


def test_messages_sent_while_the_subscriber_is_down_arrive_after_its_restart(
    service: Service, broker: Broker, publisher
):
    first = MqttIngestor(service, broker.host, broker.port, client_id="persistent")
    first.start()
    first.stop()
    for m in range(10):
        publisher(_topic(STAGE), orjson.dumps([_obs(10 * m + i) for i in range(10)]))
    second = MqttIngestor(service, broker.host, broker.port, client_id="persistent")
    second.start()
    try:
        stats = _wait(second, lambda s: s["stored"] >= 100 and s["acknowledged"] >= 10)
    finally:
        second.stop()
    assert stats["stored"] == 100 and stats["acknowledged"] == 10


def test_an_unavailable_store_is_retried_and_nothing_acknowledged_before_the_commit(
    service: Service, broker: Broker, publisher, monkeypatch: pytest.MonkeyPatch
):
    real = service.ingest
    failures = {"left": 2}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("INSERT", {}, Exception("the database is down"))
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "ingest", flaky)
    ingestor = MqttIngestor(service, broker.host, broker.port, client_id="flaky")
    ingestor.start()
    try:
        publisher(_topic(STAGE), orjson.dumps([_obs(i) for i in range(5)]))
        stats = _wait(ingestor, lambda s: s["last_error"] is not None)
        assert stats["acknowledged"] == 0 and stats["stored"] == 0
        stats = _wait(ingestor, lambda s: s["stored"] >= 5 and s["acknowledged"] >= 1)
    finally:
        ingestor.stop()
    assert failures["left"] == 0
    assert "the database is down" in stats["last_error"]
    assert stats["acknowledged"] == 1 and _count(service, Observation) == 5
