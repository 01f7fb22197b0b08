"""``resilientcity twin …``: build, inspect, validate and import city digital twins."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from resilientcity.cli._console import console, err_console, step_progress
from resilientcity.twin.city import City
from resilientcity.twin.demo import DEFAULT_SEED

twin_app = typer.Typer(
    help="Build, inspect, validate and import city digital twins.", no_args_is_help=True
)

SizeOption = Annotated[
    str, typer.Option("--size", "-s", help="small (≈5k buildings), default (≈50k) or large (≈1M).")
]
SeedOption = Annotated[
    int, typer.Option("--seed", help="Random seed; the same seed gives the same city.")
]

#: Names of the generator's steps, for the progress bar.
DEMO_STEPS = 7


def _check_size(size: str) -> str:
    from resilientcity.twin.demo import SIZES

    if size not in SIZES:
        raise typer.BadParameter(
            f"expected one of {', '.join(SIZES)}, got {size!r}", param_hint="--size"
        )
    return size


@twin_app.command("demo")
def twin_demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="GeoPackage to write.")] = Path(
        "city.gpkg"
    ),
    size: SizeOption = "small",
    seed: SeedOption = DEFAULT_SEED,
) -> None:
    """Generate the built-in Changsha-like demo city and write it as a GeoPackage."""
    from resilientcity.twin.demo import demo_city

    _check_size(size)
    with step_progress(DEMO_STEPS + 1) as bar:
        city = demo_city(size, seed=seed, progress=bar.step)
        bar.step("writing GeoPackage")
        city.write(out)
    console.print(
        f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {len(city.assets):,} assets, population {city.population:,.0f}"
    )


@twin_app.command("info")
def twin_info(
    path: Annotated[Path, typer.Argument(help="City GeoPackage.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise a city: counts per kind and sector, people, value, network size."""
    city = City.read(path)
    summary = city.summary()
    if as_json:
        console.print_json(json.dumps(summary, ensure_ascii=False))
        return
    print_summary(summary)


def print_summary(summary: Mapping[str, Any]) -> None:
    """Print a city summary as Rich tables."""
    from resilientcity.twin.schema import ASSET_KINDS

    roads = summary["roads"]
    console.print(
        f"[bold]{summary['name']}[/]  ({summary['crs']}, {summary['extent_km'][0]} × {summary['extent_km'][1]} km)"
    )
    console.print(
        f"population {summary['population']:,} · assets {summary['assets']:,} · replacement value "
        f"{summary['value'] / 1e8:,.1f} 亿 CNY ({summary['value'] / 1e9:,.1f} billion)"
    )
    console.print(
        f"roads: {roads['nodes']:,} nodes, {roads['edges']:,} edges, {roads['length_km']:,} km, "
        f"{roads['bridges']} bridges · dependencies {summary['dependencies']:,} · "
        f"zones {summary['zones']} · sensors {summary['sensors']}"
    )
    table = Table(
        "kind",
        "usual sector",
        "count",
        "occupants",
        "value (亿 CNY)",
        "capacity",
        title="Assets by kind",
    )
    for kind, row in summary["by_kind"].items():
        sector, unit = ASSET_KINDS.get(kind, ("", ""))
        table.add_row(
            kind,
            sector,
            f"{row['count']:,}",
            f"{row['occupants']:,.0f}",
            f"{row['value'] / 1e8:,.2f}",
            f"{row['capacity']:,.0f} {unit}",
        )
    console.print(table)
    sectors = Table("sector", "count", "value (亿 CNY)", title="Assets by sector")
    for sector, row in summary["by_sector"].items():
        sectors.add_row(sector, f"{row['count']:,}", f"{row['value'] / 1e8:,.2f}")
    console.print(sectors)


@twin_app.command("validate")
def twin_validate(
    path: Annotated[Path, typer.Argument(help="City GeoPackage.")],
    show_all: Annotated[
        bool, typer.Option("--all", help="List every offending row, not the first 10 per problem.")
    ] = False,
) -> None:
    """Check a city against the data contract; exit code 1 with every problem listed."""
    from resilientcity.twin.io import file_problems

    city = City.read(path, validate=False)
    problems = file_problems(path) + city.problems()
    if not problems:
        console.print(f"[green]valid[/]: {path} ({len(city.assets):,} assets)")
        return
    err_console.print(
        f"[bold red]invalid[/]: {path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
    )
    for problem in problems:
        err_console.print(
            f"  - {problem.describe(None if show_all else 10)}", highlight=False, soft_wrap=True
        )
    raise typer.Exit(1)


@twin_app.command("import-osm")
def twin_import_osm(
    pbf: Annotated[Path, typer.Argument(help="OpenStreetMap extract (.osm.pbf).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="GeoPackage to write.")] = Path(
        "city.gpkg"
    ),
    defaults: Annotated[
        Path | None, typer.Option("--defaults", help="JSON file overriding the import defaults.")
    ] = None,
    dem: Annotated[
        Path | None,
        typer.Option("--dem", help="Elevation raster (GeoTIFF), reprojected to the city's CRS."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="City name (default: the file name).")
    ] = None,
) -> None:
    """Build a city twin from a local OpenStreetMap extract (© OpenStreetMap contributors, ODbL)."""
    from resilientcity.twin.osm import OsmDefaults, import_osm
    from resilientcity.twin.raster import read_dem

    options = OsmDefaults.from_file(defaults) if defaults is not None else None
    with step_progress(4 if dem is None else 5) as bar:
        city = import_osm(pbf, defaults=options, name=name, progress=bar.step)
        if dem is not None:
            bar.step("reading DEM")
            city = dataclasses.replace(city, dem=read_dem(dem, city.crs))
        bar.step("writing GeoPackage")
        city.write(out)
    console.print(
        f"wrote {out}: {len(city.assets):,} assets, {len(city.roads.edges):,} road edges, population {city.population:,.0f}"
    )
