"""The FastAPI application of the operations service.

:func:`create_app` builds it around one :class:`~resilientcity.operations.service.Service`. At
start-up the store is migrated (Alembic) and, when it has no sensors and
``settings.seed_demo`` is on, filled from the city (the demo city of ``settings.city_size``, or
the twin GeoPackage ``settings.twin``) with the warning rules of its region (or
``settings.rules``) and the contingency plans. The city is kept on ``app.state.city`` (nowcast, incident bounding box) and the service on
``app.state.service``. While the app runs, a background thread computes nowcasts and escalates
overdue tasks (:class:`~resilientcity.operations.workers.BackgroundWorkers`), plan activation,
sensor incidents and nowcast marking run inside every ingest, and with ``settings.mqtt`` an MQTT
subscriber stores the broker's observations. OpenAPI documentation at ``/docs``, the schema at ``/openapi.json``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool

from resilientcity import __version__
from resilientcity.api import admin, response, sensing, warnings
from resilientcity.api.auth import ServiceDep
from resilientcity.api.errors import install_error_handlers
from resilientcity.api.input import checked_input
from resilientcity.api.middleware import BodyLimit, BodyLimits, SecurityHeaders
from resilientcity.api.schemas import Health
from resilientcity.api.web import install_web
from resilientcity.operations.mqtt import start_mqtt
from resilientcity.operations.seed import datastream_count, rule_count, sensor_count
from resilientcity.operations.service import Service, ServiceSettings
from resilientcity.operations.workers import BackgroundWorkers, install_response_hooks
from resilientcity.twin import City

__all__ = ["create_app", "load_city", "prepare_store"]

log = logging.getLogger(__name__)

_DESCRIPTION = """
The live operations service of ResilientCity: sensors stream observations in (OGC SensorThings
style under `/v1.1/`), four-level warnings (blue, yellow, orange, red) rise and fall, contingency
plans create tasks for agencies, citizens report incidents, and every write is audited.

Authenticate with `Authorization: Bearer <token>` (`resilientcity token create`). Roles: admin,
operator (one agency), analyst (read-only), public. Times are ISO 8601 in UTC.
"""


def load_city(settings: ServiceSettings) -> City:
    """The city of the service: the twin GeoPackage ``settings.twin``, or the demo city."""
    if settings.twin is not None:
        return City.read(settings.twin)
    from resilientcity.twin.demo import demo_city

    return demo_city(settings.city_size)


def _sensor_count(service: Service) -> int:
    with service.db.read() as session:
        return sensor_count(session)


def prepare_store(service: Service, city: City | None = None) -> City | None:
    """Migrate the store and seed it when empty (``settings.seed_demo``).

    A store seeded before gets the twin's sensors it lacks (``settings.twin``: sensors merged
    into the twin since, with ``twin merge --layer sensors``) and nothing else.

    The warning rules seeded are those of the city's region (its profile's
    ``warning_rules``), or of ``settings.rules``; a region without rules seeds none and says
    so in the log. The rules of ``settings.rules`` that the store lacks are added even when
    it was seeded before.

    Parameters
    ----------
    service
        The service whose store is prepared.
    city
        The city to seed from (default: :func:`load_city`, built only when seeding).

    Returns
    -------
    City or None
        The city, when it was given or built for seeding.
    """
    from resilientcity.decision.plans import load_plans, packaged_plan_path
    from resilientcity.operations.seed import (
        region_agencies,
        region_rules,
        seed_rules,
        seed_sensors,
        seed_store,
    )
    from resilientcity.warning import load_rules

    settings = service.settings
    service.db.upgrade()
    if settings.seed_demo and _sensor_count(service) == 0:
        city = load_city(settings) if city is None else city
        rules, origin = region_rules(city.profile, settings.rules)
        with service.db.write() as session:
            seed_store(
                session,
                city.sensors,
                rules,
                load_plans([packaged_plan_path(n) for n in city.profile.plans]),
                region_agencies(city.profile),
            )
        _log_rules(rules, origin)
        service.datastreams_changed()
    else:
        if settings.seed_demo and settings.twin is not None:
            city = load_city(settings) if city is None else city
            with service.db.write() as session:
                sensors, streams = seed_sensors(session, city.sensors)
            if sensors:
                log.info("sensors: %d new in the twin, with %d datastreams", sensors, streams)
                service.datastreams_changed()
        if settings.rules is not None:
            rules = load_rules(settings.rules)
            with service.db.write() as session:
                added = seed_rules(session, rules)
            log.info("warning rules: %d of %d added from %s", added, len(rules), settings.rules)
    service.store_prepared = True
    return city


def _log_rules(rules: dict[str, Any], origin: str) -> None:
    if rules:
        log.info("warning rules: %d from %s", len(rules), origin)
    else:
        log.warning("warning rules: none seeded: %s", origin)


def _lifespan(city: City | None, subscribe: bool) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service: Service = app.state.service
        prepared = service.store_prepared  # by `serve`, before the server started
        built = city if prepared else await run_in_threadpool(prepare_store, service, city)
        if built is None:
            built = await run_in_threadpool(load_city, service.settings)
        app.state.city = built
        workers = BackgroundWorkers(service, built)
        workers.start()
        ingestor = None
        if subscribe and service.settings.mqtt:
            ingestor = await run_in_threadpool(start_mqtt, service, service.settings.mqtt)
        try:
            yield
        finally:
            if ingestor is not None:
                await run_in_threadpool(ingestor.stop)
            await run_in_threadpool(workers.stop)
            jobs = getattr(app.state, "scenario_jobs", None)
            if jobs is not None:
                await run_in_threadpool(jobs.close)

    return lifespan


def app_from_environment() -> FastAPI:
    """The application of one worker of ``serve --workers N`` (a uvicorn factory).

    The settings come from the environment variables of :class:`ServiceSettings`
    (``RESILIENTCITY_DB_URL``, …), which the parent process set from its own settings
    (:meth:`ServiceSettings.environment`). The parent has migrated and seeded the store and
    runs the MQTT subscriber, so a worker only serves requests (and runs its background
    thread: nowcasts and overdue tasks are idempotent): its ``mqtt`` and ``rules`` are
    ``None`` and its ``seed_demo`` false whatever the variables say.

    Raises
    ------
    ValidationError
        A variable with a bad value, named.
    """
    return create_app(ServiceSettings(mqtt=None, seed_demo=False, rules=None))


def create_app(
    settings: ServiceSettings | None = None,
    service: Service | None = None,
    city: City | None = None,
    subscribe: bool = True,
) -> FastAPI:
    """The REST API of the operations service.

    Parameters
    ----------
    settings
        How the service runs (ignored when ``service`` is given; default settings otherwise).
    service
        The service to serve (default: a new one with ``settings``).
    city
        The city (default: built from the settings at start-up).
    subscribe
        Start the MQTT subscriber of ``settings.mqtt`` at start-up (``serve`` starts it itself,
        before the server, so that an unreachable broker is one line and exit code 1).

    Returns
    -------
    FastAPI
        The application; run it with uvicorn. The store is migrated and seeded at start-up.
    """
    service = Service(settings or ServiceSettings()) if service is None else service
    app = FastAPI(
        title="ResilientCity operations",
        description=_DESCRIPTION,
        version=__version__,
        lifespan=_lifespan(city, subscribe),
        dependencies=[Depends(checked_input)],
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.service = service
    app.state.city = city
    install_error_handlers(app)
    app.get("/healthz", response_model=Health, tags=["service"])(healthz)
    app.include_router(sensing.router)
    app.include_router(warnings.router)
    app.include_router(admin.router)
    app.include_router(response.router)
    install_response_hooks(service)
    install_web(app)
    app.add_middleware(BodyLimit, limits=BodyLimits(ingest=service.settings.max_ingest_bytes))
    app.add_middleware(SecurityHeaders)
    return app


def healthz(service: ServiceDep) -> Health:
    """Whether the service and its store answer (public)."""
    with service.db.read() as session:
        sensors = sensor_count(session)
        streams = datastream_count(session)
        rules = rule_count(session)
    backend = "sqlite" if service.db.is_sqlite else "postgresql"
    return Health(status="ok", database=backend, sensors=sensors, datastreams=streams, rules=rules)
