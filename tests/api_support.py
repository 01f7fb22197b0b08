"""Fixtures of the API tests: a seeded service, a TestClient, one token per role, a live server.

Import the fixtures by name in a test module (``from api_support import api_service, client,
tokens``) and build headers with :func:`auth`. ``tokens`` holds one token per role (``admin``,
``analyst``, ``public``, ``operator`` = an operator of ``water_resources``) and one per agency
(``operator:<agency>``). :func:`live_server` runs the app under uvicorn in a thread, for
streaming responses (server-sent events) that TestClient cannot end.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from starlette.exceptions import StarletteDeprecationWarning

from ops_support import free_port, wait_for_port
from resilientcity.api.app import create_app
from resilientcity.operations.access import create_token
from resilientcity.operations.models import Agency
from resilientcity.operations.service import Service, ServiceSettings

with warnings.catch_warnings():
    # starlette asks for httpx2 instead of httpx; TestClient works the same with httpx
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = [
    "OPERATOR_AGENCY",
    "api_service",
    "auth",
    "client",
    "live_server",
    "observations",
    "tokens",
]

#: The agency of the ``operator`` token (owns the river gauges).
OPERATOR_AGENCY = "water_resources"


def auth(token: str | None) -> dict[str, str]:
    """Headers that authenticate with ``token`` (none for ``None``: anonymous)."""
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def observations(
    datastream: int | str,
    values: list[float],
    start: datetime = datetime(2026, 7, 1, 0, 0, tzinfo=UTC),
    step_min: float = 10.0,
) -> dict[str, Any]:
    """One CreateObservations entity: ``values`` every ``step_min`` minutes from ``start``."""
    ref = {"@iot.id": datastream} if isinstance(datastream, int) else {"name": datastream}
    return {
        "Datastream": ref,
        "components": ["phenomenonTime", "result"],
        "dataArray": [
            [(start + timedelta(minutes=step_min * i)).isoformat().replace("+00:00", "Z"), v]
            for i, v in enumerate(values)
        ],
    }


@pytest.fixture
def api_service(db_url: str) -> Iterator[Service]:
    """A service on the test's store (SQLite and PostgreSQL), quick to poll."""
    service = Service(ServiceSettings(db_url=db_url, sse_poll_s=0.2))
    yield service
    service.db.dispose()


@pytest.fixture
def api_app(api_service: Service, small_city: Any) -> FastAPI:
    """The application around ``api_service`` (seeded from the small demo city at start-up)."""
    return create_app(service=api_service, city=small_city)


@pytest.fixture
def client(api_app: FastAPI) -> Iterator[TestClient]:
    """A TestClient of the started application (store migrated and seeded)."""
    with TestClient(api_app) as test_client:
        yield test_client


@pytest.fixture
def tokens(client: TestClient, api_service: Service) -> dict[str, str]:
    """A token per role, and ``operator:<agency>`` for each agency."""
    out: dict[str, str] = {}
    with api_service.db.write() as session:
        for role in ("admin", "analyst", "public"):
            out[role], _ = create_token(session, f"test-{role}", role)
        for agency in session.scalars(select(Agency.id).order_by(Agency.id)).all():
            out[f"operator:{agency}"], _ = create_token(
                session, f"test-operator-{agency}", "operator", agency
            )
    out["operator"] = out[f"operator:{OPERATOR_AGENCY}"]
    return out


@contextmanager
def live_server(app: FastAPI, **options: Any) -> Iterator[tuple[str, uvicorn.Server]]:
    """Run ``app`` under uvicorn in a thread on a free port; its base URL and the server.

    ``options`` are more ``uvicorn.Config`` options (a ``host`` and ``port`` among them are
    replaced). The server is asked to exit at the end and the thread joined (the test fails
    if it hangs).
    """
    port = free_port()
    options |= {"host": "127.0.0.1", "port": port, "log_level": "warning", "lifespan": "on"}
    config = uvicorn.Config(app, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        if not wait_for_port("127.0.0.1", port, timeout=30):
            pytest.fail(f"uvicorn did not start on port {port}")
        while not server.started:
            thread.join(0.05)
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "uvicorn did not stop within 30 s"
