"""Support for the operations tests: the store on SQLite and PostgreSQL, a private MQTT broker.

Tests that need PostgreSQL or Mosquitto skip with the reason when the service is absent,
except under ``CI=true`` where they fail (``.ci/run`` installs and starts both).
PostgreSQL is reached at ``RESILIENTCITY_TEST_PG`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets a database of its own,
created from that one and dropped afterwards. Mosquitto runs as a private broker on a free
loopback port with a configuration of the test's own (persistence on, no queue limit).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from proc_support import end_group, start_in_group

PG_ADMIN_URL = os.environ.get(
    "RESILIENTCITY_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI") == "true"


def absent(reason: str) -> None:
    """Skip the test because ``reason`` (fail instead under CI=true)."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the service must be there)")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> bool:
    """Whether something accepts connections on ``host:port`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; its URL. Dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    admin = make_url(PG_ADMIN_URL)
    name = f"rc_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        engine.dispose()
        absent(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}")
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ops.db'}"
    else:
        with postgres_database() as url:
            yield url


@dataclass
class Broker:
    """A private Mosquitto broker."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    folder: Path

    @property
    def address(self) -> str:
        """``HOST:PORT``."""
        return f"{self.host}:{self.port}"

    def restart(self) -> None:
        """Stop the broker and start it again on the same port (its persistence file kept)."""
        end_group(self.process, signal.SIGTERM, timeout=10)
        self.process = _start_mosquitto(self.folder, self.port)


def _start_mosquitto(folder: Path, port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if binary is None:
        absent("mosquitto (the MQTT broker) is not installed: apt-get install mosquitto")
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence true\n"
        f"persistence_location {folder}/\n"
        "max_queued_messages 0\n"
        "max_inflight_messages 100\n"
        "log_dest none\n"
    )
    process = start_in_group([str(binary), "-c", str(config)], stderr=subprocess.DEVNULL)
    if not wait_for_port("127.0.0.1", port):
        end_group(process)
        absent(f"mosquitto did not start on 127.0.0.1:{port}")
    return process


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A private Mosquitto broker on a free loopback port, stopped after the test."""
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    port = free_port()
    found = Broker("127.0.0.1", port, _start_mosquitto(folder, port), folder)
    try:
        yield found
    finally:
        end_group(found.process, signal.SIGTERM, timeout=10)


@contextmanager
def seeded_service(db_url: str, city: Any) -> Iterator[Any]:
    """A :class:`Service` on a new store at ``db_url``, seeded with ``city``'s sensors, the
    example warning rules and the packaged plans; disposed of afterwards."""
    from resilientcity.decision.plans import load_plans
    from resilientcity.operations.seed import seed_store
    from resilientcity.operations.service import Service, ServiceSettings
    from resilientcity.warning import example_rules

    service = Service(ServiceSettings(db_url=db_url))
    service.db.upgrade()
    with service.db.write() as session:
        seed_store(session, city.sensors, example_rules(), load_plans())
    try:
        yield service
    finally:
        service.db.dispose()
