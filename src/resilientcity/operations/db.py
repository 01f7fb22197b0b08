"""Connecting to the operations store and migrating it (SQLite by default, PostgreSQL by URL).

SQLite runs in WAL mode with foreign keys on and a busy timeout; its write transactions start
with ``BEGIN IMMEDIATE`` so two writers queue instead of failing on a lock upgrade. SQLite has
one write lock per file, and its busy handler is not fair: a waiting writer polls with growing
sleeps (up to 100 ms), so a newcomer usually takes the lock first and one writer can wait for
seconds while many later ones go through. The write transactions of :meth:`Database.write`
therefore queue in the process first, in arrival order (:class:`FairLock`, one per file), and
wait at most :attr:`Database.write_wait_s` in all for the lock (in the queue, then for other
processes through the busy timeout); past that they raise
:class:`~resilientcity.errors.StoreBusy` and nothing is written. PostgreSQL (row locks, no
lock per database) is reached with psycopg 3 (``postgresql+psycopg://user@host:port/db``).
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from resilientcity.errors import Problem, StoreBusy, ValidationError

__all__ = ["DEFAULT_URL", "WRITE_WAIT_S", "Database", "FairLock", "normalise_url"]

#: The store used when no URL is given: a SQLite file in the working folder.
DEFAULT_URL = "sqlite:///resilientcity-ops.db"
#: Seconds a write transaction of :meth:`Database.write` waits for SQLite's write lock at most.
#: Ten times the 0.5 s p99 target of a batch under four senders: a queue of normal batches
#: never reaches it; a writer stuck behind a long transaction hears "busy, retry" instead of
#: holding a server thread until its client times out.
WRITE_WAIT_S = 5.0
#: Milliseconds any other SQLite statement waits for a lock (migrations, reads) before it fails.
_SQLITE_BUSY_MS = 30_000
_MIGRATIONS = Path(__file__).with_name("migrations")


class FairLock:
    """A lock granted in the order it was asked for (first come, first served), with a timeout.

    ``threading.Lock`` promises no order, and SQLite's busy handler favours newcomers (see the
    module docstring). Here each waiter queues behind a gate of its own, and :meth:`release`
    hands the lock straight to the longest waiter, so a waiter's wait is bounded by the work of
    those ahead of it. Not reentrant.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._queue: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds behind the earlier waiters; True when granted."""
        with self._mutex:
            if not self._held:  # free: nobody waits (release hands over to a waiter)
                self._held = True
                return True
            gate = threading.Lock()
            gate.acquire()
            self._queue.append(gate)
        if gate.acquire(timeout=max(timeout, 0.0)):
            return True
        with self._mutex:
            if gate in self._queue:
                self._queue.remove(gate)
                return False
        return True  # handed over between the timeout and the check: the lock is ours

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it when nobody waits."""
        with self._mutex:
            if not self._held:
                raise RuntimeError("release of a FairLock that is not held")
            if self._queue:
                self._queue.popleft().release()
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        """How many are waiting for the lock."""
        return len(self._queue)


#: The write queue of each SQLite file open in this process (by its real path).
_FILE_LOCKS: weakref.WeakValueDictionary[str, FairLock] = weakref.WeakValueDictionary()
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(url: str) -> FairLock:
    """The write queue of the SQLite file of ``url``, shared by every :class:`Database` on it."""
    database = make_url(url).database or ""
    if database in ("", ":memory:"):
        return FairLock()  # a database of its own
    key = os.path.realpath(database)
    with _FILE_LOCKS_GUARD:
        lock = _FILE_LOCKS.get(key)
        if lock is None:
            lock = _FILE_LOCKS[key] = FairLock()
        return lock


@dataclass
class _Ticket:
    """One write transaction's claim on its file's :class:`FairLock`, taken at its ``BEGIN``."""

    lock: FairLock
    wait_s: float
    held: bool = False

    def acquire(self) -> float:
        """Queue for the lock; the seconds left of the bound once granted.

        Raises
        ------
        StoreBusy
            Not granted within ``wait_s``.
        """
        start = time.monotonic()
        ahead = self.lock.waiting
        if not self.lock.acquire(self.wait_s):
            raise _busy(time.monotonic() - start, f"{ahead + 1} write(s) ahead in this process")
        self.held = True
        return self.wait_s - (time.monotonic() - start)

    def release(self) -> None:
        """Give the lock to the next writer (nothing when it was never taken)."""
        if self.held:
            self.held = False
            self.lock.release()


def _busy(waited_s: float, why: str) -> StoreBusy:
    return StoreBusy(
        f"the store is busy: its write lock was not free within {waited_s:.1f} s ({why}); "
        "nothing was written, try again",
        waited_s=waited_s,
        retry_after_s=1,
    )


def _is_busy(exc: OperationalError) -> bool:
    """Whether SQLite gave up waiting for a lock (``SQLITE_BUSY`` and its extended codes)."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(exc.orig, sqlite3.OperationalError) and code is not None and code & 0xFF == 5


def normalise_url(url: str) -> str:
    """Check a database URL and pick the psycopg 3 driver for bare ``postgresql://`` URLs.

    Raises
    ------
    ValidationError
        An unreadable URL, a port outside 1 to 65535, or a database other than SQLite or
        PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # a port that is not a number: ValueError
        problem = Problem("database", "url", "a URL like sqlite:///ops.db", found=str(exc))
        raise ValidationError([problem], what="database URL") from None
    if parsed.port is not None and not 0 < parsed.port < 65536:
        problem = Problem("database", "url", "a port from 1 to 65535", found=str(parsed.port))
        raise ValidationError([problem], what="database URL")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        problem = Problem(
            "database",
            "url",
            "sqlite:///FILE or postgresql+psycopg://USER@HOST:PORT/DB",
            found=parsed.get_backend_name(),
        )
        raise ValidationError([problem], what="database URL")
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN below, not pysqlite
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if not options.get("write", False):
            connection.exec_driver_sql("BEGIN")
            return
        ticket: _Ticket | None = options.get("ticket")
        if ticket is None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        start = time.monotonic()
        left_ms = max(1, math.floor(ticket.acquire() * 1000))
        driver = connection.connection.driver_connection
        driver.execute(f"PRAGMA busy_timeout={left_ms}")  # other processes: the rest of the bound
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:
            if _is_busy(exc):
                raise _busy(time.monotonic() - start, "another process holds it") from exc
            raise
        finally:
            driver.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")


@dataclass
class Database:
    """The operations store at ``url``: engines and sessions.

    Parameters
    ----------
    url
        A SQLAlchemy URL: ``sqlite:///FILE`` (default :data:`DEFAULT_URL`) or
        ``postgresql+psycopg://USER@HOST:PORT/DB``.
    echo
        Log every SQL statement.
    write_wait_s
        SQLite: the longest a write transaction waits for the write lock, seconds, in this
        process's queue and behind other processes together (:data:`WRITE_WAIT_S`).

    Notes
    -----
    With SQLite's ``synchronous=NORMAL`` in WAL mode a commit survives the process being killed
    (the WAL is in the operating system's cache); only a power cut can lose the last commits.
    """

    url: str = DEFAULT_URL
    echo: bool = False
    write_wait_s: float = WRITE_WAIT_S
    engine: Engine = field(init=False)
    _read: sessionmaker[Session] = field(init=False, repr=False)
    _write: sessionmaker[Session] = field(init=False, repr=False)
    _writer: Engine = field(init=False, repr=False)
    _queue: FairLock | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self.url = normalise_url(self.url)
        kwargs: dict[str, Any] = {"echo": self.echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": _SQLITE_BUSY_MS / 1000}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _sqlite_hooks(self.engine)
            self._queue = _file_lock(self.url)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = self.engine.execution_options(write=True)
        self._write = sessionmaker(self._writer, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """Whether the store is a SQLite file."""
        return make_url(self.url).get_backend_name() == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (rolled back at the end)."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in one write transaction, committed at the end or rolled back on error.

        On SQLite the transaction takes the file's write lock at its first statement, after
        the writers of this process that asked before it, and holds it to the commit.

        Raises
        ------
        StoreBusy
            SQLite: the write lock was not free within :attr:`write_wait_s` (nothing written).
        """
        if self._queue is None:
            with self._write() as session, session.begin():
                yield session
            return
        ticket = _Ticket(self._queue, self.write_wait_s)
        try:
            with (
                self._write(bind=self._writer.execution_options(ticket=ticket)) as session,
                session.begin(),
            ):
                yield session
        finally:
            ticket.release()

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema to ``revision`` with Alembic (creates it on an empty database)."""
        from alembic import command

        command.upgrade(self.alembic_config(), revision)

    def alembic_config(self) -> Any:
        """The Alembic configuration of this store (migrations shipped in the package)."""
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        config.attributes["engine"] = self.engine
        return config

    def tables(self) -> list[str]:
        """Names of the tables that exist in the store."""
        return sorted(inspect(self.engine).get_table_names())

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
