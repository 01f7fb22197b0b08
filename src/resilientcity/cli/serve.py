"""``resilientcity serve`` (the operations service) and ``resilientcity mqtt-ingest``."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from resilientcity.cli._console import console, err_console
from resilientcity.cli.twin import SizeOption, _check_size
from resilientcity.operations.db import DEFAULT_URL

if TYPE_CHECKING:
    from resilientcity.operations.service import ServiceSettings

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        help="The store: sqlite:///FILE (default: resilientcity-ops.db here) or "
        "postgresql+psycopg://USER@HOST:PORT/DB.",
    ),
]


def serve(
    db: DbOption = DEFAULT_URL,
    mqtt: Annotated[
        str | None,
        typer.Option("--mqtt", help="HOST:PORT of an MQTT broker to take observations from."),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    size: SizeOption = "small",
    twin: Annotated[
        Path | None,
        typer.Option("--twin", help="A twin folder to seed from instead of the demo city."),
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

    from resilientcity.api.app import create_app
    from resilientcity.operations.mqtt import parse_address
    from resilientcity.operations.service import ServiceSettings

    _check_size(size)
    if mqtt is not None:
        parse_address(mqtt)  # an unreadable address fails here, before the store is touched
    options = uvicorn_options(host, port, forwarded_allow_ips)
    settings = ServiceSettings(
        db_url=db, mqtt=mqtt, city_size=size, twin=twin, seed_demo=not no_seed
    )
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
    else:
        _serve_workers(settings, options, workers)


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


def _serve_workers(settings: ServiceSettings, options: dict[str, Any], workers: int) -> None:
    """``serve --workers N``: prepare the store once, subscribe to MQTT here, fork the API."""
    import os

    import uvicorn

    from resilientcity.api.app import SETTINGS_ENV, prepare_store, settings_to_environment
    from resilientcity.operations.mqtt import start_mqtt
    from resilientcity.operations.service import Service
    from resilientcity.operations.workers import install_response_hooks

    service = Service(settings)
    prepare_store(service)  # migrations and seeding once, before any worker starts
    os.environ[SETTINGS_ENV] = settings_to_environment(settings)
    ingestor = None
    try:
        if settings.mqtt is not None:
            install_response_hooks(service)
            ingestor = start_mqtt(service, settings.mqtt)
        uvicorn.run(
            "resilientcity.api.app:app_from_environment",
            factory=True,
            workers=workers,
            **options,
        )
    finally:
        if ingestor is not None:
            ingestor.stop()
        service.db.dispose()


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
    from resilientcity.operations.mqtt import MqttIngestor, parse_address
    from resilientcity.operations.service import Service, ServiceSettings
    from resilientcity.operations.workers import install_response_hooks

    host, port = parse_address(mqtt)
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
