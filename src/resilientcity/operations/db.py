"""Connecting to the operations store and migrating it (SQLite by default, PostgreSQL by URL).

SQLite runs in WAL mode with foreign keys on and a busy timeout; its write transactions start
with ``BEGIN IMMEDIATE`` so two writers queue instead of failing on a lock upgrade. PostgreSQL
is reached with psycopg 3 (``postgresql+psycopg://user@host:port/db``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from resilientcity.errors import Problem, ValidationError

__all__ = ["DEFAULT_URL", "Database", "normalise_url"]

#: The store used when no URL is given: a SQLite file in the working folder.
DEFAULT_URL = "sqlite:///resilientcity-ops.db"
#: Milliseconds a SQLite connection waits for a lock before it gives up.
_SQLITE_BUSY_MS = 30_000
_MIGRATIONS = Path(__file__).with_name("migrations")


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
        write = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


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

    Notes
    -----
    With SQLite's ``synchronous=NORMAL`` in WAL mode a commit survives the process being killed
    (the WAL is in the operating system's cache); only a power cut can lose the last commits.
    """

    url: str = DEFAULT_URL
    echo: bool = False
    engine: Engine = field(init=False)
    _read: sessionmaker[Session] = field(init=False, repr=False)
    _write: sessionmaker[Session] = field(init=False, repr=False)

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
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(write=True), expire_on_commit=False
        )

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
        """A session in one write transaction, committed at the end or rolled back on error."""
        with self._write() as session, session.begin():
            yield session

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
