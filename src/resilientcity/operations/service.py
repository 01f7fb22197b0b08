"""The operations service: one store, one ingest path, and the listeners that wait for changes.

The REST API, the MQTT subscriber and the CLI's ``ingest`` all store observations through
:meth:`Service.ingest`, so that validation, quarantine, idempotency, warnings, plan activation
and the audit log behave the same whichever way the data come in.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field, field_validator
from pydantic import ValidationError as PydanticError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session

from resilientcity._pydantic import pydantic_problems
from resilientcity.errors import ValidationError
from resilientcity.operations.access import Principal, audit
from resilientcity.operations.db import DEFAULT_URL, Database, normalise_url
from resilientcity.operations.ingest import IngestResult, WarningHook, datastream_index, ingest
from resilientcity.operations.models import utcnow
from resilientcity.operations.validation import DatastreamIndex
from resilientcity.vocabulary import CitySize

__all__ = ["ENV_PREFIX", "Service", "ServiceSettings", "variable"]


#: Prefix of the environment variables of :class:`ServiceSettings` (``RESILIENTCITY_DB_URL``, …).
ENV_PREFIX = "RESILIENTCITY_"


class ServiceSettings(BaseSettings):
    """How the service runs; each setting also comes from an environment variable.

    The variable of a setting is :data:`ENV_PREFIX` and the setting's name in capitals
    (``RESILIENTCITY_DB_URL``, ``RESILIENTCITY_SSE_POLL_S``, …; see ``docs/operations.md``).
    Values given as arguments take precedence over the variables, the variables over the
    defaults. Every value is checked when the settings are made.

    Attributes
    ----------
    db_url
        The store (default: a SQLite file in the working folder), checked and normalised by
        :func:`~resilientcity.operations.db.normalise_url` (``postgresql://`` gets psycopg 3).
    mqtt
        ``HOST:PORT`` of the MQTT broker to subscribe to, or ``None`` for no subscriber.
    city_size
        Size of the built-in demo city used for seeding and for the nowcast (``small``,
        ``default``, ``large``), when ``twin`` is not given.
    twin
        A twin GeoPackage (``resilientcity twin import-osm``, ``twin demo``) to use instead
        of the demo city.
    seed_demo
        Fill an empty store with the city's sensors, the warning rules of its region
        (:attr:`~resilientcity.region.RegionProfile.warning_rules`) and plans.
    rules
        A warning rule file (YAML, :func:`resilientcity.warning.load_rules`) to seed instead of
        the region's rules; its rules missing from the store are added at every start.
    public_reports_per_hour
        Incident reports accepted per client (address) and hour on the public endpoint
        (1 to 100,000).
    sse_poll_s
        Seconds between two looks at the store by a server-sent-events stream when nothing in
        this process woke it (changes written by another process or worker); over 0, at most
        60.
    overdue_check_s
        Seconds between two checks for overdue tasks; over 0, at most one day.
    max_ingest_bytes
        The largest request body of ``POST /v1.1/CreateObservations`` (bytes, 1 KiB to
        4 GiB; larger: 413). Other routes accept 1 MiB, the public incident form 16 KiB
        (:class:`resilientcity.api.middleware.BodyLimits`).

    Raises
    ------
    ValidationError
        On creation, every bad value at once, each naming the setting and its variable
        (``sse_poll_s (RESILIENTCITY_SSE_POLL_S): expected …``).
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    db_url: str = DEFAULT_URL
    mqtt: str | None = None
    city_size: CitySize = "small"
    twin: Path | None = None
    seed_demo: bool = True
    rules: Path | None = None
    public_reports_per_hour: int = Field(default=20, ge=1, le=100_000)
    sse_poll_s: float = Field(default=0.5, gt=0.0, le=60.0)
    overdue_check_s: float = Field(default=30.0, gt=0.0, le=86_400.0)
    max_ingest_bytes: int = Field(default=64 << 20, ge=1 << 10, le=1 << 32)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except PydanticError as exc:
            raise ValidationError(
                [
                    replace(p, column=f"{p.column} ({variable(p.column)})")
                    for p in pydantic_problems(exc, "service settings")
                ],
                what="service settings",
            ) from None

    @field_validator("db_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        try:
            return normalise_url(value)
        except ValidationError as exc:
            raise ValueError(_expected(exc)) from None

    @field_validator("mqtt")
    @classmethod
    def _mqtt(cls, value: str | None) -> str | None:
        from resilientcity.operations.mqtt import parse_address

        if value is not None:
            try:
                parse_address(value)
            except ValidationError as exc:
                raise ValueError(_expected(exc)) from None
        return value

    def environment(self) -> dict[str, str | None]:
        """The environment variables that give these settings to another process.

        ``serve --workers N`` sets them before uvicorn starts the workers, whose
        ``ServiceSettings()`` reads them back.

        Returns
        -------
        dict
            Variable name → its text, or ``None`` for a setting that is ``None`` (the
            variable must be unset: the default then applies, which is ``None``).
        """
        out: dict[str, str | None] = {}
        for name, value in self.model_dump(mode="json").items():
            if value is None or isinstance(value, str):
                text = value
            else:
                text = json.dumps(value)  # true/false, and numbers that read back exactly
            out[variable(name)] = text
        return out


def variable(setting: str) -> str:
    """The environment variable of the setting ``setting`` (``db_url`` → ``RESILIENTCITY_DB_URL``)."""
    return ENV_PREFIX + setting.upper()


def _expected(exc: ValidationError) -> str:
    return "; ".join(p.expected for p in exc.problems)


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
    #: Whether :func:`resilientcity.api.app.prepare_store` has migrated and seeded the store
    #: (``serve`` prepares it before the server starts; the app's start-up then does not).
    store_prepared: bool = field(default=False, init=False)
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
