"""The operations store: migrations, seeding, validation, idempotent ingest, live warnings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ops_support import seeded_service
from resilientcity.decision.plans import load_plans
from resilientcity.errors import ValidationError
from resilientcity.operations.db import Database, normalise_url
from resilientcity.operations.ingest import datastream_index, ingest
from resilientcity.operations.live_warnings import WarningRound
from resilientcity.operations.models import (
    LiveWarning,
    Observation,
    Quarantined,
    WarningEvent,
)
from resilientcity.operations.seed import seed_store
from resilientcity.operations.validation import (
    DatastreamIndex,
    DatastreamInfo,
    check_observations,
)
from resilientcity.warning import evaluate, example_rules

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url: str, small_city) -> Iterator[Database]:
    with seeded_service(db_url, small_city) as service:
        yield service.db


def _stage(db: Database) -> int:
    with db.read() as session:
        return datastream_index(session).by_name["RG002:river_stage"].id


def _rows(db: Database, model) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def test_migrations_create_every_table_and_seed_is_idempotent(store: Database, small_city):
    assert {"observations", "quarantine", "warnings", "tasks", "audit_log"} <= set(store.tables())
    with store.write() as session:
        again = seed_store(session, small_city.sensors, example_rules(), load_plans())
    assert again.sensors == again.datastreams == again.rules == again.plans == 0
    with store.read() as session:
        index = datastream_index(session)
    # one datastream per river gauge, underpass and substation monitor, four per rain gauge
    kinds = small_city.sensors["kind"].value_counts()
    assert len(index) == len(small_city.sensors) + 3 * kinds["rain_gauge"]


def test_unknown_database_is_a_clear_error():
    with pytest.raises(ValidationError, match="postgresql"):
        normalise_url("mysql://u@h/db")
    assert normalise_url("postgresql://u@h:5432/db").startswith("postgresql+psycopg://")


def test_ingest_is_idempotent_and_quarantines_each_bad_value(store: Database):
    stage = _stage(store)
    frame = pd.DataFrame(
        {
            "datastream": [stage, stage, "RG002:river_stage", 99999, stage, stage, stage, stage],
            "phenomenon_time": [
                "2026-07-01T08:00:00Z",
                "2026-07-01T16:10:00+08:00",  # 08:10 UTC
                "2026-07-01T08:20:00Z",
                "2026-07-01T08:30:00Z",
                "2026-07-01 08:40",  # no UTC offset
                "2026-07-01T13:00:00Z",  # an hour in the future
                "2026-07-01T08:50:00Z",
                "2026-07-01T09:00:00Z",
            ],
            "result": [35.0, 35.1, 35.2, 35.3, 35.4, 35.5, "high", 1000.0],
            "payload": [f"row {i}" for i in range(8)],
        }
    )
    with store.write() as session:
        first = ingest(session, frame, "http", NOW)
    assert first.stored == 3
    assert first.rejected == {
        "unknown_datastream": 1,
        "malformed": 1,
        "future": 1,
        "not_a_number": 1,
        "out_of_range": 1,
    }
    reasons = {p["index"]: p["reason"] for p in first.problems}
    assert reasons == {
        3: "unknown_datastream",
        4: "malformed",
        5: "future",
        6: "not_a_number",
        7: "out_of_range",
    }
    assert "outside [0, 100]" in next(p["detail"] for p in first.problems if p["index"] == 7)

    changed = frame.iloc[:3].copy()
    changed.loc[1, "result"] = 36.0  # same datastream and time, another value
    with store.write() as session:
        second = ingest(session, changed, "mqtt", NOW)
    assert (second.stored, second.duplicates, second.rejected) == (0, 2, {"conflict": 1})
    assert _rows(store, Observation) == 3
    assert _rows(store, Quarantined) == 6
    with store.read() as session:
        kept = session.scalar(
            select(Observation.result).where(
                Observation.phenomenon_time == datetime(2026, 7, 1, 8, 10, tzinfo=UTC)
            )
        )
    assert kept == pytest.approx(35.1)  # the first value stays


def test_a_failed_batch_leaves_nothing_behind(store: Database):
    stage = _stage(store)
    frame = pd.DataFrame(
        {"datastream": [stage], "phenomenon_time": ["2026-07-01T08:00:00Z"], "result": [35.0]}
    )
    with pytest.raises(RuntimeError), store.write() as session:
        ingest(session, frame, "http", NOW)
        raise RuntimeError("the connection broke before the commit")
    assert _rows(store, Observation) == 0
    with store.write() as session:
        assert ingest(session, frame, "http", NOW).stored == 1


def test_a_warning_engine_failure_while_inserting_leaves_nothing_behind(
    store: Database, monkeypatch
):
    # the engine runs while another thread inserts the batch: a failure waits for the insert,
    # then rolls the whole batch back, and the store goes on working
    stage = _stage(store)
    times = [f"2026-07-01T08:{m:02d}:00Z" for m in range(0, 60, 10)]
    frame = pd.DataFrame({"datastream": stage, "phenomenon_time": times, "result": 39.0})

    def broken(self, new):
        raise ArithmeticError("engine failure")

    with monkeypatch.context() as patch:
        patch.setattr(WarningRound, "compute", broken)
        with pytest.raises(ArithmeticError), store.write() as session:
            ingest(session, frame, "http", NOW)
    assert _rows(store, Observation) == 0
    with store.write() as session:
        result = ingest(session, frame, "http", NOW)
    assert result.stored == len(times) and result.warning_events


def test_rising_river_issues_escalates_and_lifts_a_warning(store: Database):
    stage = _stage(store)
    start = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    values = [35.0] * 6 + [36.2] * 8 + [38.5] * 8 + [35.0] * 36
    times = [(start + timedelta(minutes=10 * i)).isoformat() for i in range(len(values))]
    frame = pd.DataFrame({"datastream": stage, "phenomenon_time": times, "result": values})
    # in three batches, as they would arrive
    for part in np.array_split(np.arange(len(frame)), 3):
        with store.write() as session:
            ingest(session, frame.iloc[part], "http", start + timedelta(days=1))
    with store.read() as session:
        events = session.scalars(select(WarningEvent).order_by(WarningEvent.id)).all()
        warnings = session.scalars(select(LiveWarning)).all()
    rule = example_rules()["xiang_river_stage_changsha"]
    _, expected = evaluate(
        rule, pd.DataFrame({"time": pd.to_datetime(times, utc=True), "value": values})
    )
    assert [(e.time, e.kind, e.from_level, e.to_level, e.reason) for e in events] == [
        (c.time.to_pydatetime(), c.kind, c.from_level, c.to_level, c.reason) for c in expected
    ]
    assert events[0].kind == "issued" and events[-1].kind == "lifted"
    assert len(warnings) == 1 and warnings[0].status == "lifted"
    assert warnings[0].lifted_at == events[-1].time
    # feeding the same observations again changes nothing
    with store.write() as session:
        again = ingest(session, frame, "http", start + timedelta(days=1))
    assert again.warning_events == [] and again.duplicates == len(frame)


_INDEX = DatastreamIndex([DatastreamInfo(1, "a:stage", "river_stage", "m", 0.0, 100.0, "water")])
_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"datastream": _anything, "phenomenon_time": _anything, "result": _anything}
        ),
        max_size=20,
    )
)
def test_every_observation_is_accepted_or_rejected_with_a_reason(rows):
    frame = pd.DataFrame(rows, columns=["datastream", "phenomenon_time", "result"], dtype=object)
    accepted, rejected = check_observations(frame, _INDEX, NOW)
    assert sorted([*accepted["position"], *rejected["position"]]) == list(range(len(rows)))
    assert (rejected["detail"] != "").all()
    assert np.isfinite(accepted["result"]).all()
    assert ((accepted["result"] >= 0) & (accepted["result"] <= 100)).all()
    assert (accepted["phenomenon_time"] <= pd.Timestamp(NOW) + pd.Timedelta(minutes=5)).all()


def test_results_held_in_a_read_only_array_are_checked_without_writing_into_it():
    # numeric results can reach the check as a read-only view of the frame's block (pandas 2.3
    # copy-on-write); non-finite values are set to NaN in a copy, not in the caller's array
    results = np.array([30.0, np.inf, np.nan, 31.0])
    results.flags.writeable = False
    frame = pd.DataFrame(
        {
            "datastream": ["a:stage"] * 4,
            "phenomenon_time": [f"2026-07-01T00:0{i}:00Z" for i in range(4)],
            "result": results,
        },
        copy=False,
    )
    accepted, rejected = check_observations(frame, _INDEX, NOW)
    assert sorted(accepted["position"]) == [0, 3] and sorted(rejected["position"]) == [1, 2]
    assert np.isinf(results[1])  # the caller's array is as it was


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2026, 7, 1)),
            st.integers(0, 6),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_times_written_with_z_read_as_the_same_times_with_an_offset(rows):
    # "…Z" times take a fast path; the same times with "+00:00" the general one
    def text(moment: datetime, decimals: int, suffix: str) -> str:
        fraction = f"{moment.microsecond:06d}"[:decimals]
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if decimals else "") + suffix

    def accepted(suffix: str) -> pd.DataFrame:
        times = [text(m, d, suffix) for m, d in rows]
        frame = pd.DataFrame({"datastream": 1, "phenomenon_time": times, "result": 1.0})
        return check_observations(frame, _INDEX, NOW)[0]

    fast, general = accepted("Z"), accepted("+00:00")
    assert len(fast) == len(rows)
    pd.testing.assert_frame_equal(fast, general)


@pytest.mark.parametrize(
    "time",
    [
        "2026-13-01T08:00:00Z",  # month 13
        "2026-02-30T08:00:00Z",  # no such day
        "2026-07-01T24:00:00Z",
        "2026-07-01T08:00:00",  # no offset
        "2026-07-01T08:00:00Z\x00",  # a NUL character (numpy would drop it)
        "2026-07-01T08:0a:00Z",
        "now",
    ],
)
def test_unreadable_times_are_malformed_beside_readable_ones(time):
    frame = pd.DataFrame(
        {
            "datastream": [1, 1],
            "phenomenon_time": ["2026-07-01T08:00:00Z", time],
            "result": [1.0, 2.0],
        }
    )
    accepted, rejected = check_observations(frame, _INDEX, NOW)
    assert accepted["position"].tolist() == [0]
    assert rejected[["position", "reason"]].values.tolist() == [[1, "malformed"]]


def test_datastream_references_resolve_by_id_name_or_digits_but_not_booleans():
    index = DatastreamIndex(
        [
            DatastreamInfo(1, "a:stage", "river_stage", "m", 0.0, 100.0, "water"),
            DatastreamInfo(7, "b:stage", "river_stage", "m", 0.0, 100.0, "water"),
        ]
    )
    assert index.resolve(pd.Series([7, 1, 2, 7])).tolist() == [7, 1, -1, 7]
    mixed = pd.Series([True, 1, 1.0, 1.5, "1", "b:stage", "x", None, [1]], dtype=object)
    assert index.resolve(mixed).tolist() == [-1, 1, 1, -1, 1, 7, -1, -1, -1]
    assert index.column(np.array([7, 1, 7]), "name").tolist() == ["b:stage", "a:stage", "b:stage"]


def test_two_batches_racing_for_the_same_keys_store_each_once(store: Database):
    # no rule watches these datastreams, so no engine state serialises the two batches: their
    # inserts race for the same keys (PostgreSQL: the second waits for the first's commit)
    with store.read() as session:
        index = datastream_index(session)
    streams = [d.id for d in index.by_id.values() if d.observed_property in ("load", "wind_speed")]
    times = pd.date_range("2026-07-01", periods=400, freq="min", tz="UTC")
    frame = pd.DataFrame(
        {
            "datastream": np.repeat(streams[:3], len(times)),
            "phenomenon_time": np.tile(times.strftime("%Y-%m-%dT%H:%M:%SZ"), 3),
            "result": 1.0,
        }
    )
    start = threading.Barrier(2)
    results = []

    def one() -> None:
        with store.write() as session:
            start.wait(10)
            results.append(ingest(session, frame, "http", NOW))

    racers = [threading.Thread(target=one) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    assert sorted((r.stored, r.duplicates) for r in results) == [(0, len(frame)), (len(frame), 0)]
    assert _rows(store, Observation) == len(frame)
