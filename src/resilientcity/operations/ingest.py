"""Storing a batch of observations: validate, quarantine the rejected, insert once, warn.

:func:`ingest` runs inside one write transaction (the caller's), so the observations, the
quarantined values, the warning states and the warning events of a batch are committed
together or not at all; the caller acknowledges the batch only after the commit. Insertion is
idempotent on ``(datastream_id, phenomenon_time)``: an observation sent again (a retry after a
lost acknowledgement) is counted as a duplicate and stored once; the same datastream and time
with another result is quarantined as a ``conflict`` and the first result kept.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
import pandas as pd
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from resilientcity.operations.live_warnings import WarningRound
from resilientcity.operations.models import Datastream, Quarantined, Sensor, utcnow
from resilientcity.operations.validation import (
    DatastreamIndex,
    DatastreamInfo,
    as_text,
    check_observations,
)

__all__ = [
    "IngestResult",
    "WarningHook",
    "datastream_index",
    "ingest",
    "quarantine_counts",
    "quarantined",
]

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


#: Rows of a batch that were stored before it: (position in the batch, stored result).
_Before = list[tuple[int, float]]
#: What an insert gives back: the count of rows it inserted, and the rows stored before.
_Inserted = tuple[int, _Before]


def _insert_sqlite(
    session: Session, batch: pd.DataFrame, micros: np.ndarray, received: datetime
) -> Callable[[], _Inserted]:
    """Stage the batch (SQLite).

    A function that inserts its new rows, giving their count and the others.

    The batch goes now into the connection's temporary table ``_obs_batch``
    (``executemany``). The function returned runs two statements: one join on the primary
    key finds the rows stored before, one ``INSERT … SELECT`` stores the others. A write
    transaction holds SQLite's write lock (``BEGIN IMMEDIATE``), so nothing can be stored
    between the two. Times are written as SQLAlchemy
    writes them (naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``), so that the key compares equal.
    """
    text = np.char.replace(
        np.datetime_as_string(micros.astype("datetime64[us]"), unit="us"), "T", " "
    )
    connection = session.connection()
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _obs_batch (position INTEGER PRIMARY KEY, "
        "datastream_id INTEGER, phenomenon_time TEXT, result REAL)"
    )
    cursor.execute("DELETE FROM _obs_batch")
    cursor.executemany(
        "INSERT INTO _obs_batch VALUES (?, ?, ?, ?)",
        zip(
            batch["position"].tolist(),
            batch["datastream_id"].tolist(),
            text.tolist(),
            batch["result"].tolist(),
            strict=True,
        ),
    )
    stamp = (
        received.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    )

    def insert() -> _Inserted:
        before = cursor.execute(
            "SELECT i.position, o.result FROM _obs_batch i JOIN observations o "
            "ON o.datastream_id = i.datastream_id AND o.phenomenon_time = i.phenomenon_time"
        ).fetchall()
        cursor.execute(
            "INSERT INTO observations (datastream_id, phenomenon_time, result, received_at) "
            "SELECT datastream_id, phenomenon_time, result, ? FROM _obs_batch WHERE true "
            "ON CONFLICT DO NOTHING",
            (stamp,),
        )
        inserted = cursor.rowcount
        cursor.close()
        return inserted, before

    return insert


class _PgArray:
    """A one-dimensional PostgreSQL array in the binary wire format, built by numpy."""

    __slots__ = ("data",)
    #: Element type: its OID, the numpy type of its big-endian binary form.
    element: tuple[int, str] = (0, "")

    def __init__(self, values: np.ndarray) -> None:
        oid, code = self.element
        body = np.empty(len(values), dtype=[("size", ">i4"), ("value", code)])
        body["size"] = np.dtype(code).itemsize
        body["value"] = values
        # header: 1 dimension, no NULLs, element OID; the dimension: length, lower bound 1
        self.data = struct.pack(">iiIii", 1, 0, oid, len(values), 1) + body.tobytes()


class _Int4Array(_PgArray):
    element = (23, ">i4")


class _TimestamptzArray(_PgArray):
    """Timestamps as microseconds since 2000-01-01 UTC (PostgreSQL's own form: exact)."""

    element = (1184, ">i8")


class _Float8Array(_PgArray):
    element = (701, ">f8")


def _array_dumper(cls: type[_PgArray], array_oid: int) -> type[Dumper]:
    """A psycopg dumper that sends ``cls`` arrays as they are, typed ``array_oid``."""

    class ArrayDumper(Dumper):
        format = Format.BINARY
        oid = array_oid

        def dump(self, obj: Any) -> bytes:
            return cast(bytes, obj.data)

    ArrayDumper.__name__ = f"{cls.__name__}Dumper"
    return ArrayDumper


_PG_DUMPERS = [
    (cls, _array_dumper(cls, oid))
    for cls, oid in ((_Int4Array, 1007), (_TimestamptzArray, 1185), (_Float8Array, 1022))
]
#: Microseconds from 1970-01-01 to 2000-01-01 (PostgreSQL's epoch).
_PG_EPOCH_US = 946_684_800_000_000
_PG_BATCH = (
    "unnest(%(streams)s, %(times)s, %(results)s) WITH ORDINALITY AS b(datastream_id, t, result, k)"
)


def _insert_postgresql(
    session: Session, batch: pd.DataFrame, micros: np.ndarray, received: datetime
) -> Callable[[], _Inserted]:
    """A function that inserts the batch's new rows on PostgreSQL.

    It gives the count of the rows inserted and the others.

    One statement, ``INSERT … SELECT … FROM unnest(arrays) ON CONFLICT DO NOTHING``, with the
    batch as three arrays in PostgreSQL's binary form (built by numpy: no work per row in
    Python, and the times are exact microseconds, never read in the session's time zone). The
    count of inserted rows tells whether every row was new (the usual case); only when not, a
    second statement finds the rows stored before: those whose stored row this transaction
    did not write (``xmin``).
    """
    params = {
        "streams": _Int4Array(batch["datastream_id"].to_numpy()),
        "times": _TimestamptzArray(micros - _PG_EPOCH_US),
        "results": _Float8Array(batch["result"].to_numpy(dtype=float)),
        "received": received.astimezone(UTC),
    }
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    for cls, dumper in _PG_DUMPERS:
        cursor.adapters.register_dumper(cls, dumper)
    positions = batch["position"].to_numpy()

    def insert() -> _Inserted:
        cursor.execute(
            "INSERT INTO observations (datastream_id, phenomenon_time, result, received_at) "
            f"SELECT b.datastream_id, b.t, b.result, %(received)s FROM {_PG_BATCH} "
            "ON CONFLICT DO NOTHING",
            params,
        )
        inserted = cursor.rowcount
        before: _Before = []
        if inserted != len(batch):
            rows = cursor.execute(
                f"SELECT b.k, o.result FROM {_PG_BATCH} JOIN observations o "
                "ON o.datastream_id = b.datastream_id AND o.phenomenon_time = b.t "
                "WHERE o.xmin <> pg_current_xact_id()::xid",
                params,
            ).fetchall()
            before = [(int(positions[k - 1]), result) for k, result in rows]
        cursor.close()
        return inserted, before

    return insert


#: Threads that insert batches while the warning engine runs (one per batch being stored).
_STORING = ThreadPoolExecutor(max_workers=8, thread_name_prefix="resilientcity-store")


def _store(
    session: Session, batch: pd.DataFrame, now: datetime, meanwhile: Callable[[], object]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Insert the batch's new observations once (the batch has no key twice).

    The batch is staged in this thread; the database then inserts it in another thread
    while this one runs ``meanwhile`` (the warning engine): PostgreSQL's server process, or
    SQLite's C code (which releases Python's lock), and the engine take the machine's two
    cores at once instead of one after the other. ``meanwhile`` must not use the session; the
    insert is waited for before anything else happens, even when ``meanwhile`` fails.

    Returns
    -------
    tuple
        A mask of the batch's rows that were new, and the rows already stored with another
        result (``position``, ``stored``).
    """
    micros = _micros(batch["phenomenon_time"])
    postgresql = session.get_bind().dialect.name == "postgresql"
    insert = (_insert_postgresql if postgresql else _insert_sqlite)(session, batch, micros, now)
    storing = _STORING.submit(insert)
    try:
        meanwhile()
    except BaseException:
        wait([storing])  # the connection is not left to the other thread
        raise
    inserted, rows = storing.result()
    if inserted != len(batch) - len(rows):  # another writer between the two statements?
        raise RuntimeError(
            f"stored {inserted} of {len(batch)} observations but found {len(rows)} stored before"
        )
    before = pd.DataFrame(rows, columns=["position", "stored"])
    if before.empty:
        return np.ones(len(batch), bool), before
    is_new = ~batch["position"].isin(before["position"]).to_numpy()
    given = before["position"].map(batch.set_index("position")["result"])
    return is_new, before[before["stored"] != given].reset_index(drop=True)


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
    any_repeat = bool(repeated_in_batch.any())
    first = accepted[~repeated_in_batch] if any_repeat else accepted
    new, conflicts = first, first.iloc[:0].assign(stored=[])
    warnings = WarningRound(session, first, index)
    if len(first):
        is_new, stored_other = _store(session, first, now, lambda: warnings.compute(first))
        if not is_new.all():
            new = first[is_new]
            warnings.compute(new)  # some were stored before: only the new ones advance
        if len(stored_other):
            conflicts = first.merge(stored_other, on="position")
    if any_repeat:
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
                    [as_text(r) for r in payload.iloc[conflicts["position"]]]
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
    events = warnings.record(session, now)
    if events and on_warning is not None:
        on_warning(session, events, now)
    return IngestResult(
        received=len(frame),
        stored=len(new),
        duplicates=len(accepted) - len(new) - len(conflicts),
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


def quarantined(
    session: Session, reason: str | None = None, offset: int = 0, limit: int = 100
) -> Sequence[Quarantined]:
    """Rejected observations, newest first (``limit`` from ``offset``), of ``reason`` if given."""
    query = select(Quarantined)
    if reason is not None:
        query = query.where(Quarantined.reason == reason)
    return session.scalars(query.order_by(Quarantined.id.desc()).offset(offset).limit(limit)).all()


def quarantine_counts(session: Session) -> dict[str, int]:
    """Rejected observations counted by reason, reasons in alphabetical order."""
    rows = session.execute(select(Quarantined.reason, func.count()).group_by(Quarantined.reason))
    return dict(sorted((str(reason), int(n)) for reason, n in rows))
