"""``resilientcity serve`` (the operations service) and ``resilientcity mqtt-ingest``."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from sqlalchemy.engine import make_url

from resilientcity.cli._console import console, err_console, state
from resilientcity.cli.twin import SizeOption, _check_size
from resilientcity.errors import ResilientCityError, ValidationError
from resilientcity.operations.db import DEFAULT_URL, normalise_url

if TYPE_CHECKING:
    from fastapi import FastAPI

    from resilientcity.operations.service import Service, ServiceSettings
    from resilientcity.twin import City

#: The ports a TCP server or client may use.
PORTS = range(1, 65536)
#: The environment variable through which ``serve --workers N`` gives its pid to the workers.
PARENT_ENV = "RESILIENTCITY_SERVE_PARENT"


def _one_line(option: str, exc: ValidationError) -> ResilientCityError:
    """The first problem of ``exc`` as one line naming the command-line option."""
    problem = exc.problems[0]
    found = f", found {problem.found}" if problem.found else ""
    return ResilientCityError(f"{option}: expected {problem.expected}{found}")


def check_port(port: int, option: str = "--port") -> int:
    """``port`` when it is a TCP port (1 to 65535); else one line naming ``option``.

    Raises
    ------
    ResilientCityError
        ``--port: expected a port from 1 to 65535, found 99999``.
    """
    if port not in PORTS:
        raise ResilientCityError(f"{option}: expected a port from 1 to 65535, found {port}")
    return port


def mqtt_address(address: str) -> tuple[str, int]:
    """Host and port of the ``--mqtt HOST:PORT`` option; one line naming the option when bad."""
    from resilientcity.operations.mqtt import parse_address

    try:
        return parse_address(address)
    except ValidationError as exc:
        raise _one_line("--mqtt", exc) from None


def _store_url(url: str) -> str:
    """The ``--db`` option checked (scheme, port) and remembered for database error messages."""
    try:
        checked = normalise_url(url)
    except ValidationError as exc:
        raise _one_line("--db", exc) from None
    state.db_url = make_url(checked).render_as_string(hide_password=True)
    return url


def _twin_path(path: Path | None) -> Path | None:
    """The ``--twin`` option checked: an existing file (a twin GeoPackage), else one line."""
    if path is None:
        return None
    made_by = "made by `resilientcity twin import-osm` or `twin demo`"
    if path.is_dir():
        raise ResilientCityError(
            f"--twin: expected a twin GeoPackage (.gpkg, {made_by}), found a folder: {path}"
        )
    if not path.is_file():
        raise ResilientCityError(f"--twin: no such file: {path} (a twin GeoPackage, {made_by})")
    return path


DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        help="The store: sqlite:///FILE (default: resilientcity-ops.db here) or "
        "postgresql+psycopg://USER@HOST:PORT/DB.",
        envvar="RESILIENTCITY_DB_URL",
        callback=_store_url,
    ),
]


def serve(
    db: DbOption = DEFAULT_URL,
    mqtt: Annotated[
        str | None,
        typer.Option(
            "--mqtt",
            help="HOST:PORT of an MQTT broker to take observations from.",
            envvar="RESILIENTCITY_MQTT",
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    size: SizeOption = "small",
    twin: Annotated[
        Path | None,
        typer.Option(
            "--twin",
            help="The city: a twin GeoPackage (twin import-osm, twin demo) instead of the "
            "demo city; the scenario form takes its ranges and defaults from it.",
            envvar="RESILIENTCITY_TWIN",
            callback=_twin_path,
        ),
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="A warning rule file (YAML) to seed instead of the rules of the city's region "
            "(none for most regions); its rules missing from the store are added at each start.",
            envvar="RESILIENTCITY_RULES",
        ),
    ] = None,
    no_seed: Annotated[
        bool,
        typer.Option("--no-seed", help="Do not fill an empty store with the city's sensors."),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="API worker processes (several serve many clients at once; the store is "
            "prepared and the MQTT subscriber runs once, in the parent process).",
        ),
    ] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Comma-separated addresses or networks of the reverse proxies whose "
            "X-Forwarded-For and X-Forwarded-Proto headers are trusted (default: none; the "
            "client's address is the connection's).",
        ),
    ] = None,
) -> None:
    """Run the operations service: REST API (docs at /docs), warnings, plans, incidents."""
    import uvicorn

    from resilientcity.api.app import create_app, prepare_store
    from resilientcity.operations.mqtt import start_mqtt
    from resilientcity.operations.service import Service, ServiceSettings

    _check_size(size)
    check_port(port)
    if mqtt is not None:
        mqtt_address(mqtt)  # an unreadable address fails here, before the store is touched
    options = uvicorn_options(host, port, forwarded_allow_ips)
    settings = ServiceSettings(
        db_url=db, mqtt=mqtt, city_size=size, twin=twin, seed_demo=not no_seed, rules=rules
    )
    service = Service(settings)
    try:
        # the twin is read and the store prepared before the server starts, so that a bad twin
        # or an unusable store is one line and exit code 1 (not a traceback from the server)
        city = _read_twin(settings) if twin is not None else None
        city = prepare_store(service, city)
    except BaseException:
        service.db.dispose()
        raise
    if workers == 1:
        ingestor = None
        try:
            app = create_app(settings, service=service, city=city, subscribe=False)
            if mqtt is not None:  # before the server: an unreachable broker is one line, exit 1
                ingestor = start_mqtt(service, mqtt)
            uvicorn.run(app, **options)
        finally:
            if ingestor is not None:
                ingestor.stop()
            service.db.dispose()
    else:
        del city  # each worker reads its own
        _serve_workers(service, options, workers)


def _read_twin(settings: ServiceSettings) -> City:
    """The twin of ``--twin``; an unreadable or invalid file is one line naming the option."""
    from resilientcity.api.app import load_city
    from resilientcity.errors import DataFileError

    try:
        return load_city(settings)
    except DataFileError as exc:
        raise ResilientCityError(f"--twin: {exc}") from None


def uvicorn_options(host: str, port: int, forwarded_allow_ips: str | None) -> dict[str, Any]:
    """The options ``serve`` gives uvicorn.

    Forwarded headers (``X-Forwarded-For``, ``X-Forwarded-Proto``) are trusted only from the
    proxies named in ``forwarded_allow_ips``: by default none, so that a client cannot choose
    its own address (the public incident rate limit is per address, and the access log
    records it). uvicorn's own default trusts them from 127.0.0.1.

    Parameters
    ----------
    host, port
        Where to listen.
    forwarded_allow_ips
        Comma-separated IP addresses or networks of trusted proxies, ``*`` for any, or
        ``None`` for none.

    Returns
    -------
    dict
        Keyword arguments of ``uvicorn.run``.

    Raises
    ------
    typer.BadParameter
        An entry of ``forwarded_allow_ips`` that is not an address or network.
    """
    import ipaddress

    proxies = [p.strip() for p in (forwarded_allow_ips or "").split(",") if p.strip()]
    for proxy in proxies:
        if proxy == "*":
            continue
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise typer.BadParameter(
                f"expected IP addresses or networks separated by commas, or *, got {proxy!r}",
                param_hint="--forwarded-allow-ips",
            ) from None
    return {
        "host": host,
        "port": port,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies),
    }


def _serve_workers(service: Service, options: dict[str, Any], workers: int) -> None:
    """``serve --workers N``: the store is prepared; subscribe to MQTT here, fork the API."""
    import os

    import uvicorn

    from resilientcity.operations.mqtt import start_mqtt
    from resilientcity.operations.workers import install_response_hooks

    settings = service.settings
    # the workers read their settings from these variables (ServiceSettings); a setting that
    # is None must not be set, else a variable from the parent's own environment would win
    variables = {**settings.environment(), PARENT_ENV: str(os.getpid())}
    ingestor = None
    try:
        if settings.mqtt is not None:
            install_response_hooks(service)
            ingestor = start_mqtt(service, settings.mqtt)
        with _environment(variables):
            uvicorn.run(
                "resilientcity.cli.serve:worker_app",
                factory=True,
                workers=workers,
                **options,
            )
    finally:
        if ingestor is not None:
            ingestor.stop()
        service.db.dispose()


@contextmanager
def _environment(variables: Mapping[str, str | None]) -> Iterator[None]:
    """Set (``None``: remove) ``variables`` in this process's environment for the block.

    The values they had are put back afterwards, so that a caller running the command in its own
    process (a test) keeps its environment.
    """
    import os

    def put(values: Mapping[str, str | None]) -> None:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    before = {name: os.environ.get(name) for name in variables}
    try:
        put(variables)
        yield
    finally:
        put(before)


def worker_app() -> FastAPI:
    """The application of one worker of ``serve --workers N``; the worker ends with the parent.

    uvicorn calls this factory in each worker process. A worker left running after its parent
    was killed (SIGKILL: the parent cannot stop it) would hold its memory and the port's
    sockets forever; :func:`~resilientcity._process.die_with_parent` ends it instead.
    """
    import os

    from resilientcity._process import die_with_parent
    from resilientcity.api.app import app_from_environment

    parent = int(os.environ.get(PARENT_ENV, "0"))
    if parent and parent != os.getpid():  # never in the parent itself
        die_with_parent(parent)
    return app_from_environment()


def mqtt_ingest(
    mqtt: Annotated[str, typer.Option("--mqtt", help="HOST:PORT of the MQTT broker.")],
    db: DbOption = DEFAULT_URL,
    client_id: Annotated[
        str,
        typer.Option(
            "--client-id",
            help="MQTT client id; the broker keeps the unacknowledged messages under it "
            "(do not run two subscribers with the same id).",
        ),
    ] = "resilientcity-ingest",
    topic: Annotated[str, typer.Option("--topic", help="Topic filter to subscribe to.")] = (
        "v1.1/+/Observations"
    ),
) -> None:
    """Store observations from an MQTT broker, without the REST API (stop with Ctrl+C)."""
    from resilientcity.operations.mqtt import MqttIngestor
    from resilientcity.operations.service import Service, ServiceSettings
    from resilientcity.operations.workers import install_response_hooks

    host, port = mqtt_address(mqtt)
    service = Service(ServiceSettings(db_url=db, mqtt=mqtt, seed_demo=False))
    # warnings raised here activate plans, open sensor incidents and queue nowcasts (which
    # `serve`'s background thread computes) exactly as when `serve --mqtt` subscribes
    install_response_hooks(service)
    service.db.upgrade()
    if not len(service.datastreams()):
        err_console.print(
            "warning: no datastreams yet, so every observation is quarantined as "
            "unknown_datastream: run `resilientcity serve` once to seed the demo city, or "
            "create datastreams via the API",
            soft_wrap=True,
        )
    ingestor = MqttIngestor(service, host, port, client_id=client_id, topic=topic)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly on SIGTERM too
    try:
        ingestor.start()
        console.print(
            f"storing observations from {topic} on {host}:{port} (Ctrl+C to stop)", soft_wrap=True
        )
        ingestor.run_forever()
        stats = ingestor.stats()
        rejected = ", ".join(f"{k} {v:,}" for k, v in sorted(stats["rejected"].items()))
        console.print(
            f"{stats['messages']:,} messages, {stats['stored']:,} observations stored, "
            f"{stats['duplicates']:,} duplicates, rejected: {rejected or 'none'}",
            soft_wrap=True,
        )
    finally:
        service.db.dispose()
