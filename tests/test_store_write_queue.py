"""SQLite's write lock: writers served in arrival order, the wait bounded (issue 15 item 21).

The tests sequence the threads by the queue's length, not by sleeping, so their outcome does
not depend on the machine's speed; the bound is checked with short bounds (0.2–0.3 s).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from api_support import TestClient, auth, observations
from resilientcity.api.app import create_app
from resilientcity.errors import ResilientCityError, StoreBusy
from resilientcity.operations.access import create_token
from resilientcity.operations.db import Database, FairLock
from resilientcity.operations.service import Service, ServiceSettings


def _until(condition: Callable[[], bool], what: str) -> None:
    """Wait (at most 10 s) until ``condition`` holds; the waits are for thread scheduling."""
    event = threading.Event()
    for _ in range(2000):
        if condition():
            return
        event.wait(0.005)
    pytest.fail(f"timed out waiting until {what}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'queue.db'}")
    with db.write() as session:
        session.execute(text("CREATE TABLE served (k INTEGER PRIMARY KEY, who INTEGER)"))
    yield db
    db.dispose()


# --- the lock --------------------------------------------------------------------------------


def test_fair_lock_serves_waiters_in_arrival_order() -> None:
    lock = FairLock()
    assert lock.acquire(0)
    served: list[int] = []

    def waiter(k: int) -> None:
        assert lock.acquire(30)
        served.append(k)
        lock.release()

    threads = [threading.Thread(target=waiter, args=(k,)) for k in range(12)]
    for k, thread in enumerate(threads):
        thread.start()
        _until(lambda k=k: lock.waiting == k + 1, f"waiter {k} is queued")
    lock.release()
    for thread in threads:
        thread.join(30)
    assert served == list(range(12))
    assert lock.waiting == 0 and lock.acquire(0)  # free again
    lock.release()


def test_a_waiter_that_times_out_leaves_the_queue() -> None:
    lock = FairLock()
    assert lock.acquire(0)
    assert not lock.acquire(0.05)  # busy: refused after the timeout, not queued any more
    assert lock.waiting == 0
    got: list[bool] = []
    late = threading.Thread(target=lambda: got.append(lock.acquire(30)))
    late.start()
    _until(lambda: lock.waiting == 1, "the late waiter is queued")
    lock.release()  # handed to the late waiter, not lost to the one that gave up
    late.join(30)
    assert got == [True] and lock.waiting == 0
    lock.release()
    with pytest.raises(RuntimeError, match="not held"):
        lock.release()


# --- Database.write on SQLite ----------------------------------------------------------------


def test_writers_of_a_process_are_served_in_arrival_order(store: Database) -> None:
    queue = store._queue
    assert queue is not None
    holding, finish = threading.Event(), threading.Event()

    def holder() -> None:
        with store.write() as session:
            session.execute(text("INSERT INTO served (who) VALUES (-1)"))
            holding.set()
            finish.wait(30)

    def writer(k: int) -> None:
        with store.write() as session:
            session.execute(text("INSERT INTO served (who) VALUES (:k)"), {"k": k})

    first = threading.Thread(target=holder)
    first.start()
    holding.wait(30)
    writers = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for k, thread in enumerate(writers):
        thread.start()
        _until(lambda k=k: queue.waiting == k + 1, f"writer {k} is queued")
    finish.set()
    for thread in [first, *writers]:
        thread.join(30)
    with store.read() as session:
        order = session.scalars(text("SELECT who FROM served ORDER BY k")).all()
    assert order == [-1, *range(8)]


def test_a_second_database_on_the_same_file_shares_the_queue(
    store: Database, tmp_path: Path
) -> None:
    other = Database(f"sqlite:///{tmp_path / '.' / 'queue.db'}")
    assert other._queue is store._queue
    separate = Database(f"sqlite:///{tmp_path / 'other.db'}")
    assert separate._queue is not store._queue
    other.dispose()
    separate.dispose()


def test_the_lock_is_taken_at_the_first_statement_and_freed_on_error(store: Database) -> None:
    queue = store._queue
    assert queue is not None
    with store.write() as session:
        # validation before the first statement does not hold other writers up
        with store.write() as other:
            other.execute(text("INSERT INTO served (who) VALUES (1)"))
        session.execute(text("INSERT INTO served (who) VALUES (2)"))
        assert queue.waiting == 0
    with pytest.raises(ZeroDivisionError), store.write() as session:
        session.execute(text("INSERT INTO served (who) VALUES (3)"))
        _ = 1 / 0
    assert queue.acquire(0)  # released after the rollback
    queue.release()
    with store.read() as session:
        assert session.scalars(text("SELECT who FROM served ORDER BY k")).all() == [1, 2]


def test_a_writer_gives_up_after_the_bound_behind_this_process(store: Database) -> None:
    store.write_wait_s = 0.2
    holding, finish = threading.Event(), threading.Event()

    def holder() -> None:
        with store.write() as session:
            session.execute(text("INSERT INTO served (who) VALUES (1)"))
            holding.set()
            finish.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(30)
    try:
        with pytest.raises(StoreBusy) as busy, store.write() as session:
            session.execute(text("INSERT INTO served (who) VALUES (2)"))
    finally:
        finish.set()
        thread.join(30)
    assert isinstance(busy.value, ResilientCityError) and isinstance(busy.value, TimeoutError)
    assert busy.value.waited_s >= 0.2 and busy.value.retry_after_s == 1
    assert "write lock was not free within 0.2 s (1 write(s) ahead in this process)" in str(
        busy.value
    )
    with store.write() as session:  # the store works on
        session.execute(text("INSERT INTO served (who) VALUES (3)"))
    with store.read() as session:
        assert session.scalars(text("SELECT who FROM served ORDER BY k")).all() == [1, 3]


def test_a_writer_gives_up_after_the_bound_behind_another_process(
    store: Database, tmp_path: Path
) -> None:
    store.write_wait_s = 0.3
    other = sqlite3.connect(tmp_path / "queue.db", isolation_level=None)  # another process's
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy, match="another process holds it"), store.write() as session:
            session.execute(text("INSERT INTO served (who) VALUES (1)"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store._queue is not None and store._queue.acquire(0)  # the queue let go
    store._queue.release()
    with store.write() as session:
        session.execute(text("INSERT INTO served (who) VALUES (2)"))
        # the bound applies to the BEGIN only; other statements wait as long as before
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    with store.read() as session:
        assert session.scalars(text("SELECT who FROM served")).all() == [2]


def test_postgresql_writes_do_not_queue(db_url: str) -> None:
    db = Database(db_url)
    assert (db._queue is None) == (not db.is_sqlite)
    db.dispose()


# --- the API ---------------------------------------------------------------------------------


def test_a_busy_store_answers_503_with_retry_after(tmp_path: Path, small_city: Any) -> None:
    service = Service(ServiceSettings(db_url=f"sqlite:///{tmp_path / 'api.db'}"))
    body = [observations("RG002:river_stage", [35.0, 35.1])]
    holding, finish = threading.Event(), threading.Event()

    def holder() -> None:
        with service.db.write() as session:
            session.execute(text("SELECT 1"))
            holding.set()
            finish.wait(30)

    with TestClient(create_app(service=service, city=small_city)) as client:
        with service.db.write() as session:
            token, _ = create_token(session, "test-admin", "admin")
        headers = auth(token)
        service.db.write_wait_s = 0.2
        thread = threading.Thread(target=holder)
        thread.start()
        holding.wait(30)
        try:
            busy = client.post("/v1.1/CreateObservations", json=body, headers=headers)
        finally:
            finish.set()
            thread.join(30)
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "1"
        detail = busy.json()["detail"]
        assert "the store is busy" in detail and "nothing was written, try again" in detail
        again = client.post("/v1.1/CreateObservations", json=body, headers=headers)
        assert again.status_code == 201 and again.json()["stored"] == 2
    service.db.dispose()
