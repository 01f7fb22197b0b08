"""``resilientcity serve`` (the operations service) and ``resilientcity mqtt-ingest``."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from resilientcity.cli._console import console, err_console
from resilientcity.cli.twin import SizeOption, _check_size
from resilientcity.operations.db import DEFAULT_URL

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
) -> None:
    """Run the operations service: REST API (docs at /docs), warnings, plans, incidents."""
    import uvicorn

    from resilientcity.api.app import create_app
    from resilientcity.operations.mqtt import parse_address
    from resilientcity.operations.service import ServiceSettings

    _check_size(size)
    if mqtt is not None:
        parse_address(mqtt)  # an unreadable address fails here, before the store is touched
    settings = ServiceSettings(
        db_url=db, mqtt=mqtt, city_size=size, twin=twin, seed_demo=not no_seed
    )
    uvicorn.run(create_app(settings), host=host, port=port)


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

    host, port = parse_address(mqtt)
    service = Service(ServiceSettings(db_url=db, mqtt=mqtt, seed_demo=False))
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
