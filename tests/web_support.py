"""Fixtures of the browser tests of the web operations centre (``tests/test_web.py``).

``web`` runs the operations service with the web centre (``create_app``, which calls
:func:`resilientcity.api.web.install_web`) on
the small demo city under uvicorn, once per module, on a SQLite store, with one token per role
(``admin``, ``analyst``, ``public``) and per agency (``operator:<agency>``). ``browser`` is
Debian's Chromium driven by Playwright (skipped when it, Playwright or MapLibre GL JS, which
``make setup`` installs, is missing; failed under CI=true);
``page`` is a fresh browser context per test whose console errors, uncaught exceptions and 5xx
answers are collected in ``page.errors``.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api_support import live_server
from resilientcity.api.app import create_app
from resilientcity.api.static_files import maplibre_version
from resilientcity.operations.access import create_token
from resilientcity.operations.models import Agency
from resilientcity.operations.service import Service, ServiceSettings
from resilientcity.twin import City

__all__ = ["CHROMIUM", "Web", "browser", "page", "wait_until", "web"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Chromium flags of the headless runs (as in tests/test_report.py).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Console messages that are not errors of the page: Chromium's own notes, and its report of
#: each 4xx answer (refusals the page shows; the tests check that it does). 5xx answers are
#: recorded separately.
_BENIGN = (
    "GL Driver Message",
    "autocomplete attributes",
    "Failed to load resource: the server responded with a status of 4",
)


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@dataclass
class Web:
    """A running operations centre: its base URL, service, city and tokens."""

    url: str
    service: Service
    city: City
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        """The Authorization header of the token ``who`` (a key of :attr:`tokens`)."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def _tokens(service: Service) -> dict[str, str]:
    out: dict[str, str] = {}
    with service.db.write() as session:
        for role in ("admin", "analyst", "public"):
            out[role], _ = create_token(session, f"web-{role}", role)
        for agency in session.scalars(select(Agency.id).order_by(Agency.id)).all():
            out[f"operator:{agency}"], _ = create_token(
                session, f"web-operator-{agency}", "operator", agency
            )
    return out


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, small_city: City) -> Iterator[Web]:
    """The service with the web centre on the small city, under uvicorn (one per module)."""
    folder = tmp_path_factory.mktemp("web")
    service = Service(ServiceSettings(db_url=f"sqlite:///{folder / 'ops.db'}", sse_poll_s=0.2))
    app = create_app(service=service, city=small_city)  # with the web centre (install_web)
    assert hasattr(app.state, "scenario_jobs"), "create_app no longer installs the web centre"
    with live_server(app) as (url, _server):
        yield Web(url, service, small_city, _tokens(service))
    service.db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium under Playwright (no browser download)."""
    if CHROMIUM is None:
        _missing("Chromium is not installed (apt-get install chromium)")
    if maplibre_version() is None:
        _missing("MapLibre GL JS is not installed for the page's map (make setup)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def wait_until(page: Any, expression: str, timeout: float = 30_000) -> None:
    """Wait until the JavaScript ``expression`` is truthy in ``page`` (``timeout`` in ms).

    Playwright's ``wait_for_function`` compiles its predicate with ``eval`` inside the page,
    which the page's Content Security Policy refuses (no ``'unsafe-eval'``); ``evaluate``
    runs through the DevTools protocol, outside the policy, so this polls with it.

    Raises
    ------
    AssertionError
        When the expression is still falsy after ``timeout`` ms.
    """
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(50)


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """A page in a fresh context (empty session and local storage); ``page.errors`` collects
    console errors and uncaught exceptions."""
    context = browser.new_context(viewport={"width": 1600, "height": 950})
    tab = context.new_page()
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and not any(b in message.text for b in _BENIGN):
            errors.append(message.text)

    tab.on("console", on_console)
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    tab.on(
        "response",
        lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None,
    )
    tab.errors = errors
    yield tab
    context.close()
