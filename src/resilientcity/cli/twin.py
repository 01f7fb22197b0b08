"""``resilientcity twin …``: build, inspect, validate and import city digital twins."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.table import Table

from resilientcity.cli._console import console, err_console, step_progress
from resilientcity.twin.city import City
from resilientcity.twin.demo import DEFAULT_SEED

if TYPE_CHECKING:
    from resilientcity.twin.population import PopulationReport, PopulationUnit

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
    from resilientcity.money import money_scale
    from resilientcity.twin.schema import ASSET_KINDS

    roads = summary["roads"]
    currency = str(summary.get("currency", ""))
    divisor, unit_label = money_scale(currency)
    console.print(
        f"[bold]{summary['name']}[/]  ({summary['crs']}, {summary['extent_km'][0]} × {summary['extent_km'][1]} km)"
    )
    console.print(
        f"population {summary['population']:,} · assets {summary['assets']:,} · replacement value "
        f"{summary['value'] / divisor:,.1f} {unit_label} "
        f"({summary['value'] / 1e9:,.1f} billion {currency})"
    )
    console.print(
        f"roads: {roads['nodes']:,} nodes, {roads['edges']:,} edges, {roads['length_km']:,} km, "
        f"{roads['bridges']} bridges · dependencies {summary['dependencies']:,} · "
        f"zones {summary['zones']} · sensors {summary['sensors']}"
    )
    parts = roads["components"]
    console.print(
        f"road components: {parts['weak']:,} weakly, {parts['strong']:,} strongly connected; "
        f"largest {parts['largest_nodes']:,} nodes, {parts['largest_km']:,} km "
        f"(second {parts['second_nodes']:,} nodes); assets attached outside it: "
        f"{parts['assets_outside']:,} ({parts['people_outside']:,.0f} people)"
    )
    table = Table(
        "kind",
        "usual sector",
        "count",
        "occupants",
        f"value ({unit_label})",
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
            f"{row['value'] / divisor:,.2f}",
            f"{row['capacity']:,.0f} {unit}",
        )
    console.print(table)
    sectors = Table("sector", "count", f"value ({unit_label})", title="Assets by sector")
    for sector, row in summary["by_sector"].items():
        sectors.add_row(sector, f"{row['count']:,}", f"{row['value'] / divisor:,.2f}")
    console.print(sectors)


@twin_app.command("validate")
def twin_validate(
    path: Annotated[Path, typer.Argument(help="City GeoPackage.")],
    show_all: Annotated[
        bool, typer.Option("--all", help="List every offending row, not the first 10 per problem.")
    ] = False,
) -> None:
    """Check a city against the data contract; exit code 1 with every problem listed.

    A valid city may still get warnings (exit code 0): assets attached to road nodes outside
    the largest strongly connected road component, cut off before any hazard.
    """
    from resilientcity.twin.io import file_problems
    from resilientcity.twin.validate import road_warnings

    city = City.read(path, validate=False)
    problems = file_problems(path) + city.problems()
    if not problems:
        console.print(f"[green]valid[/]: {path} ({len(city.assets):,} assets)")
        for warning in road_warnings(city):
            err_console.print(
                f"  [yellow]warning[/]: {warning.describe(None if show_all else 10)}",
                highlight=False,
                soft_wrap=True,
            )
        _print_capabilities(city)
        return
    err_console.print(
        f"[bold red]invalid[/]: {path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
    )
    for problem in problems:
        err_console.print(
            f"  - {problem.describe(None if show_all else 10)}", highlight=False, soft_wrap=True
        )
    raise typer.Exit(1)


PopulationUnitOption = Annotated[
    str,
    typer.Option(
        "--population-unit",
        help="count: people per cell (WorldPop ppp, GHS-POP); per_km2: people per km².",
    ),
]


def _check_unit(unit: str, option: str) -> PopulationUnit:
    if unit not in ("count", "per_km2"):
        raise typer.BadParameter(f"expected count or per_km2, got {unit!r}", param_hint=option)
    return cast("PopulationUnit", unit)


def print_population(report: PopulationReport) -> None:
    """Print what a population raster gave: residents placed, unplaced, off the raster."""
    console.print(
        f"residents from {report['source']} ({report['crs']}): {report['placed']:,.0f} placed "
        f"of {report['raster_total']:,.0f} over the city (residents before "
        f"{report['residents_before']:,.0f}, now {report['residents_after']:,.0f})",
        highlight=False,
        soft_wrap=True,
    )
    if report["unplaced"] > 0:
        err_console.print(
            f"[yellow]warning:[/] {report['unplaced']:,.0f} people "
            f"({report['unplaced_share']:.1%}) of {report['unplaced_cells']:,} cells without "
            "residential buildings are not placed (recorded in the metadata)",
            highlight=False,
            soft_wrap=True,
        )
    if report["floor_outside_share"] > 0:
        err_console.print(
            f"[yellow]warning:[/] {report['source']} covers the city only in part: "
            f"{report['floor_outside_share']:.1%} of the residential floor area lies outside it or "
            f"on cells without data ({report['buildings_outside']:,} buildings wholly); it keeps "
            f"its floor-area estimate ({report['residents_outside']:,.0f} residents)",
            highlight=False,
            soft_wrap=True,
        )


def _print_capabilities(city: City) -> None:
    """Warn about the stages a valid city cannot run, or runs in part, and the unmeasured sectors."""
    from resilientcity.network.service import sectors_without_assets
    from resilientcity.scenario.capabilities import city_capabilities

    lines = []
    for stage, cap in city_capabilities(city).items():
        name = stage.replace("_", " ")
        if cap.missing is not None:
            lines.append(f"cannot run {name}: {cap.missing}")
        elif cap.lacking is not None:
            lines.append(f"runs {name} in part: {cap.lacking}")
    lines += [
        f"service of {sector.replace('_', ' ')} not measured: {why}"
        for sector, why in sectors_without_assets(city.assets, city.roads.edges).items()
    ]
    for line in lines:
        err_console.print(f"[yellow]warning[/]: {line}", highlight=False, soft_wrap=True)


@twin_app.command("import-osm")
def twin_import_osm(
    pbf: Annotated[Path, typer.Argument(help="OpenStreetMap extract (.osm.pbf).")],
    region: Annotated[
        str,
        typer.Option(
            "--region",
            help="The city's regional profile: an ISO 3166 country code (FI, DE), a subdivision "
            "code (FI-18), a packaged profile (CN-changsha) or a profile file (.json/.yaml).",
        ),
    ],
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
    population: Annotated[
        Path | None,
        typer.Option(
            "--population",
            help="Population raster (GeoTIFF, any CRS): residents shared among the residential "
            "buildings of each cell by floor area.",
        ),
    ] = None,
    population_unit: PopulationUnitOption = "count",
    name: Annotated[
        str | None, typer.Option("--name", help="City name (default: the file name).")
    ] = None,
) -> None:
    """Build a city twin from a local OpenStreetMap extract (© OpenStreetMap contributors, ODbL)."""
    from resilientcity.twin.city_rasters import attach_dem, attach_population
    from resilientcity.twin.osm import OsmDefaults, import_osm

    unit = _check_unit(population_unit, "--population-unit")
    options = OsmDefaults.from_file(defaults) if defaults is not None else None
    report = None
    with step_progress(4 + (dem is not None) + (population is not None)) as bar:
        city = import_osm(pbf, region=region, defaults=options, name=name, progress=bar.step)
        if dem is not None:
            bar.step("reading DEM")
            city = attach_dem(city, dem)
        if population is not None:
            bar.step("residents from population raster")
            city, report = attach_population(city, population, unit)
        bar.step("writing GeoPackage")
        city.write(out)
    if report is not None:
        print_population(report)
    console.print(
        f"wrote {out}: {len(city.assets):,} assets, {len(city.roads.edges):,} road edges, population {city.population:,.0f}"
    )


@twin_app.command("region")
def twin_region(
    path: Annotated[Path, typer.Argument(help="City GeoPackage.")],
    code: Annotated[
        str | None,
        typer.Argument(
            help="ISO 3166 country or subdivision code, packaged profile or profile file; "
            "leave out to show the city's profile."
        ),
    ] = None,
) -> None:
    """Show or set a city's regional profile (currency, costs, curves, tables, plans).

    Setting a profile changes what later stages read (curves, rainfall, plans, currency); the
    values already in the twin stay as they were (re-import to revalue the assets).
    """
    from resilientcity.region import region_profile

    city = City.read(path)
    if code is None:
        console.print_json(json.dumps(city.profile.summary(), ensure_ascii=False))
        return
    profile = region_profile(code)
    city.metadata["region"] = profile.summary()
    city.write(path)
    console.print(
        f"{path}: region {profile.id} ({profile.country_name}), values in {profile.currency} "
        f"of {profile.price_year}"
    )


@twin_app.command("population")
def twin_population(
    path: Annotated[Path, typer.Argument(help="City GeoPackage.")],
    raster: Annotated[Path, typer.Argument(help="Population raster (GeoTIFF, any CRS).")],
    unit: Annotated[
        str,
        typer.Option(
            "--unit", help="count: people per cell (WorldPop ppp, GHS-POP); per_km2: per km²."
        ),
    ] = "count",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="GeoPackage to write (default: PATH).")
    ] = None,
) -> None:
    """Residents of a city from a population raster, shared among homes by floor area."""
    from resilientcity.twin.city_rasters import attach_population

    city, report = attach_population(City.read(path), raster, _check_unit(unit, "--unit"))
    target = out if out is not None else path
    city.write(target)
    print_population(report)
    console.print(f"wrote {target}: population {city.population:,.0f}")


LayerOption = Annotated[
    str | None,
    typer.Option(
        "--layer", help="assets, sensors or dependencies (default: the mapping's, else assets)."
    ),
]
ReplaceOption = Annotated[
    bool,
    typer.Option(
        "--replace",
        help="Replace rows with the same ids (dependencies: the whole table) instead of refusing.",
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="GeoPackage to write (default: the city file itself)."),
]


@twin_app.command("merge")
def twin_merge(
    city_path: Annotated[Path, typer.Argument(help="City GeoPackage.")],
    source: Annotated[
        Path, typer.Argument(help="GeoPackage, Shapefile, GeoJSON, GeoParquet or CSV.")
    ],
    mapping: Annotated[Path, typer.Option("--mapping", "-m", help="Column mapping (YAML).")],
    layer: LayerOption = None,
    replace: ReplaceOption = False,
    out: OutOption = None,
    source_layer: Annotated[
        str | None, typer.Option("--source-layer", help="Layer of a file with several.")
    ] = None,
) -> None:
    """Add the rows of your own file (assets, sensors or dependencies) to a city twin."""
    from resilientcity.twin.merge import merge_file

    if layer is not None and layer not in ("assets", "sensors", "dependencies"):
        raise typer.BadParameter(
            f"expected assets, sensors or dependencies, got {layer!r}", param_hint="--layer"
        )
    city = City.read(city_path)
    result = merge_file(
        city,
        source,
        mapping,
        layer=layer,  # type: ignore[arg-type]
        replace=replace,
        source_layer=source_layer,
    )
    target = out or city_path
    result.city.write(target)
    replaced = f" ({result.replaced:,} replaced)" if result.replaced else ""
    console.print(
        f"merged {result.added:,} row{'' if result.added == 1 else 's'} of {source.name} into {result.layer}{replaced}: wrote {target}"
    )


def _lonlat(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise typer.BadParameter(
            f"expected LON,LAT in degrees (e.g. 24.94,60.17), got {text!r}", param_hint="--lonlat"
        ) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise typer.BadParameter(
            f"expected -180 <= LON <= 180 and -90 <= LAT <= 90, got {text!r}",
            param_hint="--lonlat",
        )
    return lon, lat


@twin_app.command("add")
def twin_add(
    city_path: Annotated[Path, typer.Argument(help="City GeoPackage.")],
    kind: Annotated[str, typer.Option("--kind", help="Asset kind (hospital, shelter, …).")],
    lonlat: Annotated[str, typer.Option("--lonlat", help="LON,LAT in degrees (WGS 84).")],
    name: Annotated[str | None, typer.Option("--name", help="Name.")] = None,
    asset_id: Annotated[
        str | None, typer.Option("--id", help="Asset id (default: <kind>-<n>).")
    ] = None,
    capacity: Annotated[
        float | None, typer.Option("--capacity", help="Capacity in the kind's unit (beds, …).")
    ] = None,
    storeys: Annotated[int | None, typer.Option("--storeys", help="Storeys above ground.")] = None,
    floor_area: Annotated[
        float | None, typer.Option("--floor-area", help="Gross floor area, m².")
    ] = None,
    value: Annotated[
        float | None, typer.Option("--value", help="Replacement value, in the city's currency.")
    ] = None,
    occupants: Annotated[
        float | None, typer.Option("--occupants", help="People normally inside.")
    ] = None,
    replace: ReplaceOption = False,
    out: OutOption = None,
) -> None:
    """Add one facility at a location, with the defaults and checks of ``twin merge``."""
    from resilientcity.twin.merge import add_asset

    lon, lat = _lonlat(lonlat)
    city = City.read(city_path)
    values = {
        "asset_id": asset_id,
        "name": name,
        "capacity": capacity,
        "storeys": storeys,
        "floor_area_m2": floor_area,
        "value": value,
        "occupants": occupants,
    }
    result = add_asset(city, kind, lon, lat, values=values, replace=replace)
    target = out or city_path
    result.city.write(target)
    row = result.city.assets.iloc[-1]
    console.print(
        f"added {row['kind']} {row['asset_id']} (capacity {row['capacity']:,.0f}, value "
        f"{row['value']:,.0f} {city.profile.currency}, road node {row['node_id']}): wrote {target}"
    )
