"""The operations service: one store, one ingest path, and the listeners that wait for changes.

The REST API, the MQTT subscriber and the CLI's ``ingest`` all store observations through
:meth:`Service.ingest`, so that validation, quarantine, idempotency, warnings, plan activation
and the audit log behave the same whichever way the data come in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from resilientcity.operations.access import Principal, audit
from resilientcity.operations.db import DEFAULT_URL, Database
from resilientcity.operations.ingest import IngestResult, WarningHook, datastream_index, ingest
from resilientcity.operations.models import utcnow
from resilientcity.operations.validation import DatastreamIndex

__all__ = ["Service", "ServiceSettings"]


@dataclass
class ServiceSettings:
    """How the service runs.

    Attributes
    ----------
    db_url
        The store (default: a SQLite file in the working folder).
    mqtt
        ``HOST:PORT`` of the MQTT broker to subscribe to, or ``None`` for no subscriber.
    city_size
        Size of the built-in demo city used for seeding and for the nowcast (``small``,
        ``default``, ``large``), when ``twin`` is not given.
    twin
        A twin folder (``resilientcity twin build``) to use instead of the demo city.
    seed_demo
        Fill an empty store with the city's sensors, the example warning rules and plans.
    public_reports_per_hour
        Incident reports accepted per client (address) and hour on the public endpoint.
    sse_poll_s
        Seconds between two looks at the store by a server-sent-events stream when nothing in
        this process woke it (changes written by another process or worker).
    overdue_check_s
        Seconds between two checks for overdue tasks.
    max_ingest_bytes
        The largest request body of ``POST /v1.1/CreateObservations`` (bytes; larger: 413).
        Other routes accept 1 MiB, the public incident form 16 KiB
        (:class:`resilientcity.api.middleware.BodyLimits`).
    """

    db_url: str = DEFAULT_URL
    mqtt: str | None = None
    city_size: str = "small"
    twin: Path | None = None
    seed_demo: bool = True
    public_reports_per_hour: int = 20
    sse_poll_s: float = 0.5
    overdue_check_s: float = 30.0
    max_ingest_bytes: int = 64 << 20


@dataclass
class Service:
    """The live operations service around one store.

    Parameters
    ----------
    settings
        How it runs.
    """

    settings: ServiceSettings = field(default_factory=ServiceSettings)
    db: Database = field(init=False)
    warning_hooks: list[WarningHook] = field(default_factory=list)
    _listeners: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _index: DatastreamIndex | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.db = Database(self.settings.db_url)

    def datastreams(self, session: Session | None = None) -> DatastreamIndex:
        """The datastreams of the store (cached until :meth:`datastreams_changed`)."""
        with self._lock:
            if self._index is None:
                if session is not None:
                    self._index = datastream_index(session)
                else:
                    with self.db.read() as own:
                        self._index = datastream_index(own)
            return self._index

    def datastreams_changed(self) -> None:
        """Forget the cached datastreams (call after adding or changing one)."""
        with self._lock:
            self._index = None

    def ingest(
        self,
        frame: pd.DataFrame,
        source: str,
        principal: Principal | None = None,
        now: datetime | None = None,
    ) -> IngestResult:
        """Validate and store a batch in one transaction, then wake the listeners.

        The batch is committed before this returns, so a caller that acknowledges after it
        never acknowledges an observation that could still be lost. With a ``principal`` the
        batch is recorded in the audit log (who, when, counts).
        """
        now = utcnow() if now is None else now
        index = self.datastreams()
        if "datastream" in frame and len(frame):
            known = index.resolve(frame["datastream"])
            if (known < 0).any():
                self.datastreams_changed()
                index = self.datastreams()
        with self.db.write() as session:
            result = ingest(session, frame, source, now, index, self._on_warning)
            if principal is not None:
                detail: dict[str, Any] = {
                    k: v for k, v in result.as_dict().items() if k not in ("problems",)
                }
                audit(session, principal, "ingest", "observations", source, detail, now)
        if result.warning_events:
            self.notify()
        return result

    def _on_warning(self, session: Session, events: list[Any], now: datetime) -> None:
        for hook in self.warning_hooks:
            hook(session, events, now)

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` (from any thread) after each commit that changed warnings.

        Returns a function that unsubscribes it.
        """
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def notify(self) -> None:
        """Wake every listener (server-sent-events streams waiting for changes)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
