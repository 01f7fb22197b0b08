"""Storing a batch of observations: validate, quarantine the rejected, insert once, warn.

:func:`ingest` runs inside one write transaction (the caller's), so the observations, the
quarantined values, the warning states and the warning events of a batch are committed
together or not at all; the caller acknowledges the batch only after the commit. Insertion is
idempotent on ``(datastream_id, phenomenon_time)``: an observation sent again (a retry after a
lost acknowledgement) is counted as a duplicate and stored once; the same datastream and time
with another result is quarantined as a ``conflict`` and the first result kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from resilientcity.operations.live_warnings import advance_warnings
from resilientcity.operations.models import Datastream, Quarantined, Sensor, utcnow
from resilientcity.operations.validation import DatastreamIndex, DatastreamInfo, check_observations

__all__ = ["IngestResult", "WarningHook", "datastream_index", "ingest"]

#: Called with the session, the warning events of a batch and the receiving time, inside the
#: batch's transaction (plan activation uses it).
WarningHook = Callable[[Session, list[Any], datetime], object]
#: The quarantine table (Core inserts: the ORM's bulk path is several times slower).
QUARANTINE = cast(Table, Quarantined.__table__)


@dataclass
class IngestResult:
    """What became of a batch.

    Attributes
    ----------
    received
        Observations in the batch.
    stored
        Newly stored observations.
    duplicates
        Observations already stored with the same result (acknowledged, not stored again).
    rejected
        Rejected observations, by reason.
    problems
        One entry per rejected observation: ``index`` (position in the batch), ``datastream``,
        ``reason`` and ``detail``.
    warning_events
        Ids of the warning events the batch caused.
    """

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    warning_events: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "problems": self.problems,
            "warning_events": self.warning_events,
        }


def datastream_index(session: Session) -> DatastreamIndex:
    """The store's datastreams, for validation and the warning engine."""
    rows = session.execute(
        select(
            Datastream.id,
            Datastream.name,
            Datastream.observed_property,
            Datastream.unit,
            Datastream.min_value,
            Datastream.max_value,
            Sensor.agency_id,
        ).join(Sensor, Datastream.sensor_id == Sensor.id)
    ).all()
    return DatastreamIndex(DatastreamInfo(*row) for row in rows)


def _micros(times: pd.Series) -> np.ndarray:
    """Microseconds since 1970-01-01 UTC of timezone-aware times."""
    return times.dt.tz_convert("UTC").to_numpy(dtype="datetime64[us]").astype(np.int64)


def _stage_sqlite(session: Session, batch: pd.DataFrame) -> None:
    """Put the batch in the connection's temporary table ``_obs_in`` (SQLite)."""
    text = np.char.replace(
        np.datetime_as_string(
            batch["phenomenon_time"].dt.tz_convert("UTC").to_numpy(dtype="datetime64[us]"),
            unit="us",
        ),
        "T",
        " ",
    )
    connection = session.connection()
    connection.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS _obs_in (position INTEGER PRIMARY KEY, "
        "datastream_id INTEGER, phenomenon_time TEXT, result REAL, micros INTEGER)"
    )
    connection.exec_driver_sql("DELETE FROM _obs_in")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.executemany(
        "INSERT INTO _obs_in VALUES (?, ?, ?, ?, ?)",
        zip(
            batch["position"].tolist(),
            batch["datastream_id"].tolist(),
            text.tolist(),
            batch["result"].tolist(),
            _micros(batch["phenomenon_time"]).tolist(),
            strict=True,
        ),
    )
    cursor.close()


def _stage_postgresql(session: Session, batch: pd.DataFrame) -> None:
    """Put the batch in the session's temporary table ``_obs_in`` with COPY (PostgreSQL)."""
    connection = session.connection()
    connection.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS _obs_in (position integer PRIMARY KEY, "
        "datastream_id integer, phenomenon_time timestamptz, result double precision, "
        "micros bigint) ON COMMIT DELETE ROWS"
    )
    times = np.datetime_as_string(
        batch["phenomenon_time"].dt.tz_convert("UTC").to_numpy(dtype="datetime64[us]"),
        unit="us",
        timezone="UTC",  # "…Z": never read in the session's time zone
    )
    # COPY's text format by hand: three times faster than DataFrame.to_csv, and repr() gives
    # the shortest text that reads back to the same float.
    text = "".join(
        f"{p}\t{d}\t{t}\t{r!r}\t{m}\n"
        for p, d, t, r, m in zip(
            batch["position"].tolist(),
            batch["datastream_id"].tolist(),
            times.tolist(),
            batch["result"].tolist(),
            _micros(batch["phenomenon_time"]).tolist(),
            strict=True,
        )
    )
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy("COPY _obs_in FROM STDIN") as copy:
        copy.write(text)
    cursor.close()


def _store(session: Session, batch: pd.DataFrame, now: datetime) -> tuple[np.ndarray, pd.DataFrame]:
    """Insert the batch's new observations once.

    Returns
    -------
    tuple
        A mask of the batch's rows that were new, and the rows already stored with another
        result (``position``, ``stored``).
    """
    dialect = session.get_bind().dialect.name
    (_stage_postgresql if dialect == "postgresql" else _stage_sqlite)(session, batch)
    connection = session.connection()
    received = now.astimezone(UTC)
    insert = (
        "INSERT INTO observations (datastream_id, phenomenon_time, result, received_at) "
        "SELECT datastream_id, phenomenon_time, result, {received} FROM _obs_in "
        "WHERE true ON CONFLICT DO NOTHING RETURNING datastream_id, {time}"
    )
    if dialect == "postgresql":
        # the time as microseconds since 1970: ints are far cheaper to return than datetimes
        statement = insert.format(
            received="%(received)s",
            time="(extract(epoch FROM phenomenon_time) * 1000000)::bigint",
        )
        rows = connection.exec_driver_sql(statement, {"received": received}).all()
        streams, micros = (
            (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
            if rows
            else (np.zeros(0, np.int64), np.zeros(0, np.int64))
        )
    else:
        statement = insert.format(received="?", time="phenomenon_time")
        stamp = received.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        rows = connection.exec_driver_sql(statement, (stamp,)).all()
        streams, micros = np.zeros(0, np.int64), np.zeros(0, np.int64)
        if rows:
            ids, texts = zip(*rows, strict=True)
            streams = np.array(ids, dtype=np.int64)
            micros = np.array(texts, dtype="datetime64[us]").astype(np.int64)
    new_index = pd.MultiIndex.from_arrays([streams, micros])
    batch_index = pd.MultiIndex.from_arrays(
        [batch["datastream_id"].to_numpy(dtype=np.int64), _micros(batch["phenomenon_time"])]
    )
    is_new = np.asarray(batch_index.isin(new_index))
    # Rows not inserted were stored before: look up their results only when there are some
    # (after the insert the new rows match themselves and are left out by the <> test).
    rows = []
    if not is_new.all():
        rows = connection.exec_driver_sql(
            "SELECT i.position, o.result FROM _obs_in i JOIN observations o "
            "ON o.datastream_id = i.datastream_id AND o.phenomenon_time = i.phenomenon_time "
            "WHERE o.result <> i.result"
        ).all()
    return is_new, pd.DataFrame(rows, columns=["position", "stored"])


def ingest(
    session: Session,
    frame: pd.DataFrame,
    source: str,
    now: datetime | None = None,
    index: DatastreamIndex | None = None,
    on_warning: WarningHook | None = None,
) -> IngestResult:
    """Validate, store and warn on a batch of observations inside the caller's transaction.

    Parameters
    ----------
    session
        A session in a write transaction (:meth:`Database.write`).
    frame
        One row per observation, columns as in
        :func:`~resilientcity.operations.validation.check_observations`.
    source
        Where the batch came from (``http``, ``mqtt``, ``csv``), kept with quarantined values.
    now
        Receiving time (default: now, UTC).
    index
        The datastreams (default: read from the store).
    on_warning
        Called with the warning events of the batch, in the same transaction.

    Returns
    -------
    IngestResult
        Counts of stored, duplicate and rejected observations, and the problems.
    """
    now = utcnow() if now is None else now
    index = datastream_index(session) if index is None else index
    accepted, rejected = check_observations(frame, index, now)
    # Within one batch the first of several values for one datastream and time wins.
    repeated_in_batch = accepted.duplicated(["datastream_id", "phenomenon_time"], keep="first")
    first = accepted[~repeated_in_batch]
    if len(first):
        is_new, stored_other = _store(session, first, now)
        new = first[is_new]
        conflicts = first.merge(stored_other, on="position")
    else:
        new, conflicts = first, first.assign(stored=[])
    # A repeat within the batch is compared with what is now stored for its key.
    effective = first[["position", "datastream_id", "phenomenon_time", "result"]].rename(
        columns={"result": "stored"}
    )
    if len(conflicts):
        replaced = effective["position"].map(conflicts.set_index("position")["stored"])
        effective["stored"] = replaced.fillna(effective["stored"])
    again = accepted[repeated_in_batch].merge(
        effective.drop(columns="position"), on=["datastream_id", "phenomenon_time"]
    )
    conflicts = pd.concat([conflicts, again[again["result"] != again["stored"]]])
    repeated = accepted[~accepted["position"].isin(new["position"])]
    if len(conflicts):
        payload = frame["payload"] if "payload" in frame else None
        extra = pd.DataFrame(
            {
                "position": conflicts["position"].to_numpy(),
                "datastream": conflicts["datastream_id"].astype(str).to_numpy(),
                "reason": "conflict",
                "detail": [
                    f"already stored for this datastream and time with result {s:g}"
                    for s in conflicts["stored"]
                ],
                "payload": (
                    payload.iloc[conflicts["position"]].astype(str).to_numpy()
                    if payload is not None
                    else ""
                ),
            }
        )
        rejected = pd.concat([rejected, extra], ignore_index=True).sort_values("position")
    if len(rejected):
        session.execute(
            insert(QUARANTINE),
            [
                {
                    "received_at": now,
                    "source": source,
                    "reason": reason,
                    "detail": detail,
                    "datastream": str(stream)[:200],
                    "payload": payload,
                }
                for reason, detail, stream, payload in zip(
                    rejected["reason"],
                    rejected["detail"],
                    rejected["datastream"],
                    rejected["payload"],
                    strict=True,
                )
            ],
        )
    events = advance_warnings(session, new, index, now)
    if events and on_warning is not None:
        on_warning(session, events, now)
    return IngestResult(
        received=len(frame),
        stored=len(new),
        duplicates=len(repeated) - len(conflicts),
        rejected=dict(Counter(rejected["reason"])),
        problems=[
            {"index": int(i), "datastream": str(d), "reason": str(r), "detail": str(t)}
            for i, d, r, t in zip(
                rejected["position"],
                rejected["datastream"],
                rejected["reason"],
                rejected["detail"],
                strict=True,
            )
        ],
        warning_events=[int(e.id) for e in events],
    )
