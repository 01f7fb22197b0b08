"""Observations over MQTT: a subscriber that stores batches and acknowledges after the commit.

Sensors publish observations with QoS 1; the topics and payloads are read by
:func:`~resilientcity.operations.mqtt_messages.decode_message`.

Reliability rests on three things:

* a persistent session (MQTT 3.1.1, ``clean_session=False``, a fixed client id): while the
  subscriber is down the broker keeps the QoS 1 messages for it and sends them when it is back;
* manual acknowledgement: messages are collected into batches, each batch is stored with one
  :meth:`~resilientcity.operations.service.Service.ingest` (one committed transaction), and only
  then is every message of the batch acknowledged (``PUBACK``). A process killed before the
  commit has acknowledged nothing of the batch, so the broker sends it again;
* idempotent storage on ``(datastream, phenomenon time)``: what is sent again after a crash or a
  lost acknowledgement is counted as a duplicate and stored once.

A message that cannot be read (not UTF-8, not JSON, not an object or a non-empty list, a
missing field, a topic of another shape) is kept in the quarantine with reason ``malformed`` and
its raw payload, and acknowledged after that commit too. In a list, each item is judged on its
own, as the rows of an HTTP batch are: an item that is not an object or lacks a field is
quarantined as ``malformed`` (its detail names the item) and the other items are stored. When the store is unavailable the batch is
kept, nothing is acknowledged, and the commit is retried with a growing delay.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import insert

from resilientcity.errors import Problem, ResilientCityError, ValidationError
from resilientcity.operations.access import Principal, audit
from resilientcity.operations.models import Quarantined, utcnow
from resilientcity.operations.mqtt_messages import COLUMNS, Decoded, decode_message
from resilientcity.operations.service import Service
from resilientcity.operations.validation import as_text

__all__ = [
    "DEFAULT_TOPIC",
    "MQTT_PRINCIPAL",
    "MqttError",
    "MqttIngestor",
    "parse_address",
    "start_mqtt",
]

log = logging.getLogger(__name__)

#: The subscription: every datastream's observations.
DEFAULT_TOPIC = "v1.1/+/Observations"
#: The port of a broker address given without one.
DEFAULT_PORT = 1883
#: Who MQTT batches are recorded as in the audit log. Messages on the broker carry no user (the
#: broker authenticates the publishers), so the batches are audited as the subscriber itself; the
#: principal is never used to authorise anything.
MQTT_PRINCIPAL = Principal(None, "mqtt", "system")

#: Seconds the retry delay grows to when the store is unavailable.
_MAX_RETRY_S = 5.0


class MqttError(ResilientCityError, ConnectionError):
    """The MQTT broker cannot be reached or refused the connection or subscription."""


def parse_address(address: str) -> tuple[str, int]:
    """Host and port of ``HOST:PORT`` (``HOST`` alone means port 1883).

    Raises
    ------
    ValidationError
        An empty host or a port that is not a number from 1 to 65535.
    """
    host, sep, port_text = address.strip().rpartition(":")
    if not sep:
        host, port_text = address.strip(), str(DEFAULT_PORT)
    host = host.strip("[]")
    port = int(port_text) if port_text.isdigit() else 0
    if not host or not 0 < port < 65536:
        problem = Problem(
            "mqtt",
            "address",
            "HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:1883",
            found=repr(address),
        )
        raise ValidationError([problem], what="MQTT broker address")
    return host, port


@dataclass
class _Message:
    mid: int
    qos: int
    decoded: Decoded
    connection: int


@dataclass
class _Stats:
    messages: int = 0
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    acknowledged: int = 0
    last_error: str | None = None


class MqttIngestor:
    """Subscribe to observation topics and store what arrives, acknowledging after the commit.

    Parameters
    ----------
    service
        The operations service whose :meth:`~Service.ingest` stores the batches.
    host, port
        The MQTT broker.
    client_id
        The client id; the broker keeps the session (subscription and unacknowledged messages)
        under it, so a restarted subscriber with the same id receives what it missed.
    topic
        The subscription (QoS 1).
    batch_max
        Observations per batch at most.
    batch_wait_s
        Seconds a batch waits for more messages after its first one.
    connect_timeout_s
        Seconds :meth:`start` waits for the connection and the subscription.

    Notes
    -----
    Runs two threads: paho's network loop (which queues the messages) and a worker that
    builds batches, stores them and acknowledges them. :meth:`stats` may be called from any
    thread.

    The broker sends a subscriber at most ``max_inflight_messages`` unacknowledged QoS 1
    messages (Mosquitto: 20 by default), and messages are acknowledged only after their batch
    is committed, so that setting bounds the messages per batch: raise it (e.g. to 1000) for a
    high message rate.
    """

    def __init__(
        self,
        service: Service,
        host: str,
        port: int,
        client_id: str = "resilientcity-ingest",
        topic: str = DEFAULT_TOPIC,
        batch_max: int = 5000,
        batch_wait_s: float = 0.05,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.service = service
        self.host = host
        self.port = port
        self.client_id = client_id
        self.topic = topic
        self.batch_max = batch_max
        self.batch_wait_s = batch_wait_s
        self.connect_timeout_s = connect_timeout_s
        self._queue: queue.Queue[_Message] = queue.Queue()
        self._stats = _Stats()
        self._lock = threading.Lock()
        self._connection = 0
        self._subscribed = threading.Event()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._worker: threading.Thread | None = None
        self._client = self._make_client()

    @property
    def address(self) -> str:
        """``HOST:PORT`` of the broker."""
        return f"{self.host}:{self.port}"

    def _make_client(self) -> Client:
        client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=MQTTProtocolVersion.MQTTv311,
            manual_ack=True,
        )
        client.reconnect_delay_set(min_delay=1, max_delay=8)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect, subscribe and start storing; return once subscribed.

        Raises
        ------
        MqttError
            The broker at ``host:port`` cannot be reached, or refused the connection or the
            subscription within ``connect_timeout_s``.
        """
        self._stopping.clear()
        self._stopped.clear()
        try:
            self._client.connect(self.host, self.port, keepalive=30)
        except OSError as exc:
            raise MqttError(f"cannot connect to the MQTT broker at {self.address}: {exc}") from None
        self._client.loop_start()
        self._worker = threading.Thread(target=self._work, name="mqtt-ingest", daemon=True)
        self._worker.start()
        if not self._subscribed.wait(self.connect_timeout_s):
            why = self.stats()["last_error"] or "no answer"
            self.stop()
            raise MqttError(
                f"the MQTT broker at {self.address} did not accept the subscription to "
                f"{self.topic!r} within {self.connect_timeout_s:g} s: {why}"
            )
        log.info("subscribed to %s on %s", self.topic, self.address)

    def stop(self) -> None:
        """Finish the batch being stored, disconnect and stop the threads.

        Messages received but not yet stored are not acknowledged; the broker sends them again
        to the next subscriber with the same client id.
        """
        self._stopping.set()
        if self._worker is not None:
            self._worker.join(timeout=30)
            self._worker = None
        self._client.disconnect()
        self._client.loop_stop()
        self._subscribed.clear()
        self._stopped.set()

    def run_forever(self) -> None:
        """Store until :meth:`stop` is called or the process is interrupted (starts if needed)."""
        if self._worker is None:
            self.start()
        try:
            while not self._stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            log.info("interrupted")
        finally:
            if not self._stopped.is_set():
                self.stop()

    def stats(self) -> dict[str, Any]:
        """Counters since the start.

        Returns
        -------
        dict
            ``messages``, ``received`` (observations, an unreadable message or list item
            counting as one), ``stored``, ``duplicates``, ``rejected`` (by reason),
            ``batches``, ``acknowledged`` (messages), ``queued`` (messages waiting for a
            batch), ``connected`` and ``last_error``.
        """
        with self._lock:
            s = self._stats
            return {
                "messages": s.messages,
                "received": s.received,
                "stored": s.stored,
                "duplicates": s.duplicates,
                "rejected": dict(s.rejected),
                "batches": s.batches,
                "acknowledged": s.acknowledged,
                "queued": self._queue.qsize(),
                "connected": self._client.is_connected(),
                "last_error": s.last_error,
            }

    def _error(self, message: str) -> None:
        with self._lock:
            self._stats.last_error = message

    # paho's callbacks, called in its network thread.

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._error(f"connection refused by {self.address}: {reason_code}")
            log.warning("MQTT connection refused by %s: %s", self.address, reason_code)
            return
        with self._lock:
            self._connection += 1
        log.info("connected to %s (session present: %s)", self.address, flags.session_present)
        client.subscribe(self.topic, qos=1)

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._subscribed.clear()
        if not self._stopping.is_set():
            self._error(f"disconnected from {self.address}: {reason_code}")
            log.warning("disconnected from %s (%s); reconnecting", self.address, reason_code)

    def _on_subscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            self._error(f"subscription to {self.topic!r} refused: {refused[0]}")
            log.error("subscription to %s refused by %s", self.topic, self.address)
            return
        self._subscribed.set()

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = repr(message._topic)
        with self._lock:
            connection = self._connection
        decoded = decode_message(topic, bytes(message.payload))
        self._queue.put(_Message(message.mid, message.qos, decoded, connection))

    # The worker.

    def _work(self) -> None:
        while not self._stopping.is_set():
            batch = self._collect()
            if batch and self._commit(batch):
                self._acknowledge(batch)

    def _collect(self) -> list[_Message]:
        """The next batch: messages until ``batch_max`` observations or ``batch_wait_s``."""
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        size = max(len(first.decoded.rows), 1)
        deadline = time.monotonic() + self.batch_wait_s
        while size < self.batch_max:
            left = deadline - time.monotonic()
            try:
                message = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(message)
            size += max(len(message.decoded.rows), 1)
        return batch

    def _retry(self, what: str, attempt: Any) -> bool:
        """Run ``attempt`` until it succeeds (True) or the ingestor stops (False)."""
        delay = 0.1
        while True:
            try:
                attempt()
                return True
            except Exception as exc:  # the store down, a lost connection, a deadlock, …
                self._error(f"{what}: {type(exc).__name__}: {exc}")
                log.warning("%s failed (%s: %s); retrying in %.1f s", what, type(exc), exc, delay)
            if self._stopping.wait(delay):
                return False
            delay = min(delay * 2, _MAX_RETRY_S)

    def _commit(self, batch: list[_Message]) -> bool:
        """Store the batch: quarantine what cannot be read, ingest the rest (then ack)."""
        malformed = [
            (m.decoded.datastream, why, payload)
            for m in batch
            for why, payload in m.decoded.quarantined()
        ]
        rows = [row for m in batch for row in m.decoded.rows]
        if malformed and not self._retry(
            "quarantining malformed MQTT messages", lambda: self._quarantine(malformed)
        ):
            return False
        if rows and not self._retry("storing an MQTT batch", lambda: self._ingest(rows)):
            return False
        with self._lock:
            self._stats.messages += len(batch)
            self._stats.received += len(rows) + len(malformed)
            self._stats.batches += 1
        return True

    def _quarantine(self, malformed: list[tuple[str, str, str]]) -> None:
        """Keep ``(datastream, why, payload)`` of each unreadable message or item."""
        now = utcnow()
        with self.service.db.write() as session:
            session.execute(
                insert(Quarantined),
                [
                    {
                        "received_at": now,
                        "source": "mqtt",
                        "reason": "malformed",
                        "detail": as_text(why),
                        "datastream": as_text(datastream),
                        "payload": as_text(payload),
                    }
                    for datastream, why, payload in malformed
                ],
            )
            audit(
                session,
                MQTT_PRINCIPAL,
                "quarantine",
                "observations",
                "mqtt",
                {"malformed": len(malformed)},
                now,
            )
        with self._lock:
            self._stats.rejected["malformed"] += len(malformed)

    def _ingest(self, rows: list[dict[str, Any]]) -> None:
        frame = pd.DataFrame(rows, columns=COLUMNS)
        result = self.service.ingest(frame, "mqtt", principal=MQTT_PRINCIPAL)
        with self._lock:
            self._stats.stored += result.stored
            self._stats.duplicates += result.duplicates
            self._stats.rejected.update(result.rejected)

    def _acknowledge(self, batch: list[_Message]) -> None:
        """PUBACK the batch's messages that came over the current connection.

        Messages of an earlier connection are not acknowledged: the broker sends them again on
        the new one, and they are then stored as duplicates and acknowledged.
        """
        with self._lock:
            current = self._connection
        done = 0
        for message in batch:
            if message.qos > 0 and message.connection == current:
                self._client.ack(message.mid, message.qos)
                done += 1
        with self._lock:
            self._stats.acknowledged += done


def start_mqtt(service: Service, address: str, **options: Any) -> MqttIngestor:
    """Start an :class:`MqttIngestor` for ``service`` on the broker at ``HOST:PORT``.

    Parameters
    ----------
    service
        The operations service.
    address
        ``HOST:PORT`` of the broker.
    **options
        Further arguments of :class:`MqttIngestor` (``client_id``, ``topic``, …).

    Returns
    -------
    MqttIngestor
        Started (subscribed); call :meth:`MqttIngestor.stop` at shutdown.

    Raises
    ------
    ValidationError
        An unreadable address.
    MqttError
        The broker cannot be reached or refused the subscription.
    """
    host, port = parse_address(address)
    ingestor = MqttIngestor(service, host, port, **options)
    ingestor.start()
    return ingestor
