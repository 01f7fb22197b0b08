"""The MQTT observation messages: the topic that names a datastream and the JSON payload.

Sensors publish to ``v1.1/Datastreams(<id>)/Observations`` (the naming of the OGC SensorThings
MQTT extension; ``Datastreams(<name>)`` such as ``Datastreams(RG002:river_stage)`` works too).
The payload is one JSON object ``{"phenomenonTime": "2026-07-01T08:00:00Z", "result": 1.2,
"unit": "m"}`` (``unit`` optional) or a JSON list of such objects. :func:`decode_message` reads
one message into observation rows, or says why it (or an item of its list) cannot be read; the
subscriber is :mod:`resilientcity.operations.mqtt`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

from resilientcity.operations.validation import as_text

__all__ = ["COLUMNS", "PAYLOAD_CHARS", "Decoded", "decode_message"]

#: Characters of a raw payload kept in the quarantine.
PAYLOAD_CHARS = 2000
#: Columns of the observation rows of :attr:`Decoded.rows`.
COLUMNS = ["datastream", "phenomenon_time", "result", "unit", "payload"]

_TOPIC = re.compile(r"^v1\.1/Datastreams\((?P<ref>[^()/]+)\)/Observations$")
_FIELDS = ("phenomenonTime", "result")


@dataclass(frozen=True)
class Decoded:
    """What one MQTT message holds.

    Attributes
    ----------
    rows
        Observations (``datastream``, ``phenomenon_time``, ``result``, ``unit``, ``payload``),
        validated later by the ingest.
    malformed
        Why the message cannot be read at all (empty when it can).
    datastream
        The datastream named by the topic (or the topic, when it does not match).
    payload
        The raw payload as text (truncated), for the quarantine.
    bad_items
        Items of a list that cannot be read, each ``(why, item as JSON text)``; the other
        items are in ``rows``.
    """

    rows: list[dict[str, Any]]
    malformed: str
    datastream: str
    payload: str
    bad_items: tuple[tuple[str, str], ...] = ()

    def quarantined(self) -> list[tuple[str, str]]:
        """``(why, payload)`` of everything of the message that is kept as ``malformed``."""
        if self.malformed:
            return [(self.malformed, self.payload)]
        return list(self.bad_items)


def _text(payload: bytes) -> str:
    """The payload as text for the quarantine (NUL, which PostgreSQL text refuses, escaped)."""
    return as_text(payload[:PAYLOAD_CHARS].decode("utf-8", errors="replace"))


def decode_message(topic: str, payload: bytes) -> Decoded:
    """Read one message into observation rows, or say why it cannot be read.

    Parameters
    ----------
    topic
        ``v1.1/Datastreams(<id or name>)/Observations``.
    payload
        A JSON object with ``phenomenonTime``, ``result`` and optionally ``unit``, or a list of
        such objects.

    Returns
    -------
    Decoded
        The rows (values as sent; the ingest checks them) and the items of a list that cannot
        be read, or the reason the whole message cannot be.
    """
    match = _TOPIC.match(topic)
    ref = match.group("ref").strip().strip("'\"") if match else topic
    ref = ref.replace("\x00", "\\u0000")  # brokers refuse NUL in topics; PostgreSQL text too

    def bad(why: str) -> Decoded:
        return Decoded([], why, ref[:200], _text(payload))

    if match is None:
        return bad(f"topic {topic!r}: expected v1.1/Datastreams(<id or name>)/Observations")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return bad(f"payload is not UTF-8 text: {exc.reason} at byte {exc.start}")
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return bad(f"payload is not JSON: {exc}")
    items = body if isinstance(body, list) else [body]
    if not items:
        return bad("payload is an empty list: expected observations")
    rows = []
    bad_items = []
    for number, item in enumerate(items):
        missing = [name for name in _FIELDS if name not in item] if isinstance(item, dict) else []
        if not isinstance(item, dict) or missing:
            why = (
                f"missing field {', '.join(missing)}"
                if missing
                else "expected a JSON object with phenomenonTime and result"
            )
            if not isinstance(body, list):
                return bad(why)
            # the other items are stored, as the good rows of an HTTP batch are
            item_text = orjson.dumps(item).decode()[:PAYLOAD_CHARS]
            bad_items.append((f"observation {number}: {why}", item_text))
            continue
        unit = item.get("unit")
        rows.append(
            {
                "datastream": ref,
                "phenomenon_time": item["phenomenonTime"],
                "result": item["result"],
                "unit": None if unit is None else str(unit),
                "payload": text if len(items) == 1 else orjson.dumps(item).decode(),
            }
        )
    for row in rows:
        row["payload"] = row["payload"][:PAYLOAD_CHARS]
    return Decoded(rows, "", ref, "", tuple(bad_items))
