"""The data contract of the city digital twin: one declarative schema per layer.

Each layer of a :class:`~resilientcity.twin.city.City` is a (Geo)DataFrame with a ``RangeIndex``;
ids live in columns. Units are in column names (``value``, ``length_m``, ``speed_kph``).
The schemas here are the single source of truth for validation, for empty layers and for the
docs (``docs/data-contract.md`` is written from them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import geopandas as gpd
import pandas as pd
from pyproj import CRS

DType = Literal["str", "int", "float", "bool"]

Sector = Literal[
    "housing",
    "economy",
    "medical",
    "energy",
    "water",
    "transport",
    "public_services",
    "environment",
    "communications",
]
SECTORS: frozenset[str] = frozenset(get_args(Sector))

#: Every asset kind, its usual sector and the unit of its ``capacity`` column.
ASSET_KINDS: dict[str, tuple[str, str]] = {
    "building": ("housing", "persons (design occupancy)"),
    "hospital": ("medical", "beds"),
    "clinic": ("medical", "beds"),
    "shelter": ("public_services", "persons"),
    "school": ("public_services", "pupils"),
    "fire_station": ("public_services", "fire engines"),
    "police_station": ("public_services", "officers"),
    "government": ("public_services", "staff"),
    "warehouse": ("public_services", "m3 of relief stock"),
    "substation": ("energy", "MVA"),
    "feeder": ("energy", "MVA"),
    "power_plant": ("energy", "MW"),
    "water_plant": ("water", "m3/day"),
    "pump_station": ("water", "m3/h"),
    "wastewater_plant": ("water", "m3/day"),
    "bridge": ("transport", "lanes"),
    "road_segment": ("transport", "lanes"),
    "telecom": ("communications", "subscribers"),
    "data_centre": ("communications", "racks"),
}
AssetKind = Literal[
    "building",
    "hospital",
    "clinic",
    "shelter",
    "school",
    "fire_station",
    "police_station",
    "government",
    "warehouse",
    "substation",
    "feeder",
    "power_plant",
    "water_plant",
    "pump_station",
    "wastewater_plant",
    "bridge",
    "road_segment",
    "telecom",
    "data_centre",
]

Occupancy = Literal["residential", "commercial", "industrial", "public", "infrastructure"]
OCCUPANCIES: frozenset[str] = frozenset(get_args(Occupancy))

Service = Literal["power", "water", "communications", "access", "gas", "fuel"]
SERVICES: frozenset[str] = frozenset(get_args(Service))

ZoneType = Literal["district", "subdistrict", "community", "h3", "custom"]
ZONE_TYPES: frozenset[str] = frozenset(get_args(ZoneType))

RoadClass = Literal[
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "residential",
    "service",
    "unclassified",
]
ROAD_CLASSES: frozenset[str] = frozenset(get_args(RoadClass))

#: Sensor kinds with the property they observe and its unit.
SENSOR_KINDS: dict[str, tuple[str, str]] = {
    "river_gauge": ("water_stage", "m"),
    "rain_gauge": ("rainfall_rate", "mm/h"),
    "underpass_level": ("water_level", "m"),
    "substation_monitor": ("load", "MW"),
    "seismometer": ("pga", "g"),
    "wind_gauge": ("wind_speed", "m/s"),
}


@dataclass(frozen=True)
class Column:
    """One column of a layer.

    ``check`` names the value rule: ``""`` (none), ``"finite"``, ``"nonneg"`` (finite and
    >= 0) or ``"positive"`` (finite and > 0). ``allowed`` restricts a ``str`` column to a set.
    """

    name: str
    dtype: DType
    description: str
    check: Literal["", "finite", "nonneg", "positive"] = ""
    allowed: frozenset[str] | None = None
    nonempty: bool = False

    @property
    def expected(self) -> str:
        """The rule in words, for error messages."""
        words = {
            "": "",
            "finite": "a finite number",
            "nonneg": "a finite number >= 0",
            "positive": "a finite number > 0",
        }
        return words[self.check]


@dataclass(frozen=True)
class LayerSchema:
    """The contract of one layer: its id column, columns and allowed geometry types."""

    name: str
    id_column: str | None
    columns: tuple[Column, ...]
    geometry_types: tuple[str, ...] = ()
    description: str = ""

    @property
    def spatial(self) -> bool:
        """Whether the layer is a GeoDataFrame."""
        return bool(self.geometry_types)

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def empty(self, crs: CRS | None = None) -> pd.DataFrame:
        """An empty frame with every column of the schema in its dtype."""
        data = {c.name: pd.Series([], dtype=PANDAS_DTYPES[c.dtype]) for c in self.columns}
        if self.spatial:
            return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
        return pd.DataFrame(data)


#: The pandas dtype each schema dtype is stored in.
PANDAS_DTYPES: dict[str, str] = {"str": "str", "int": "int64", "float": "float64", "bool": "bool"}

ASSETS = LayerSchema(
    "assets",
    "asset_id",
    (
        Column("asset_id", "str", "unique id of the asset", nonempty=True),
        Column(
            "kind", "str", "what the asset is (see ASSET_KINDS)", allowed=frozenset(ASSET_KINDS)
        ),
        Column("sector", "str", "the service sector it belongs to", allowed=SECTORS),
        Column("name", "str", "human-readable name, may be empty"),
        Column("occupancy", "str", "use class of the building stock", allowed=OCCUPANCIES),
        Column("storeys", "int", "number of storeys above ground", check="nonneg"),
        Column("floor_area_m2", "float", "gross floor area, m²", check="nonneg"),
        Column(
            "value", "float", "replacement cost of structure and contents, CNY", check="nonneg"
        ),
        Column(
            "occupants",
            "float",
            "people normally inside (residents at night for housing)",
            check="nonneg",
        ),
        Column(
            "capacity", "float", "service capacity in the kind's unit (ASSET_KINDS)", check="nonneg"
        ),
        Column(
            "vuln", "str", "vulnerability class id used by the vulnerability library", nonempty=True
        ),
        Column("zone_id", "str", "district (zones.zone_id) the asset lies in"),
        Column("cell_id", "str", "H3 cell (zones.zone_id) the asset lies in, or empty"),
        Column("node_id", "int", "nearest road node (road_nodes.node_id)"),
    ),
    ("Point", "Polygon", "MultiPolygon", "LineString", "MultiLineString"),
    "one row per physical asset of every kind",
)

ROAD_NODES = LayerSchema(
    "road_nodes",
    "node_id",
    (Column("node_id", "int", "unique id of the node"),),
    ("Point",),
    "junctions and ends of the road network",
)

ROAD_EDGES = LayerSchema(
    "road_edges",
    "edge_id",
    (
        Column("edge_id", "int", "unique id of the edge"),
        Column("u", "int", "from node (road_nodes.node_id)"),
        Column("v", "int", "to node (road_nodes.node_id)"),
        Column("road_class", "str", "OSM-style class", allowed=ROAD_CLASSES),
        Column("length_m", "float", "length, m", check="positive"),
        Column("speed_kph", "float", "free-flow speed, km/h", check="positive"),
        Column("travel_min", "float", "free-flow travel time, minutes", check="positive"),
        Column("lanes", "int", "lanes in both directions", check="nonneg"),
        Column("oneway", "bool", "True when only u → v may be driven"),
        Column(
            "asset_id",
            "str",
            "bridge or segment asset (assets.asset_id) the edge runs on, or empty",
        ),
        Column("name", "str", "street name, may be empty"),
    ),
    ("LineString", "MultiLineString"),
    "road segments between two nodes",
)

DEPENDENCIES = LayerSchema(
    "dependencies",
    None,
    (
        Column(
            "dependent_id", "str", "asset that needs the service (assets.asset_id)", nonempty=True
        ),
        Column("supplier_id", "str", "asset that provides it (assets.asset_id)", nonempty=True),
        Column("service", "str", "what flows from supplier to dependent", allowed=SERVICES),
        Column(
            "group", "str", "redundancy group: any one supplier of a group suffices", nonempty=True
        ),
        Column(
            "backup_hours", "float", "hours the dependent runs on its own backup", check="nonneg"
        ),
    ),
    (),
    "which asset needs which other asset, with redundancy groups and backup",
)

ZONES = LayerSchema(
    "zones",
    "zone_id",
    (
        Column("zone_id", "str", "unique id (an H3 index for h3 cells)", nonempty=True),
        Column("zone_type", "str", "district, community, h3 cell …", allowed=ZONE_TYPES),
        Column("name", "str", "name, may be empty"),
        Column("parent_id", "str", "enclosing zone (zones.zone_id) or empty"),
        Column("population", "float", "residents", check="nonneg"),
    ),
    ("Polygon", "MultiPolygon"),
    "administrative districts, communities and H3 cells",
)

SENSORS = LayerSchema(
    "sensors",
    "sensor_id",
    (
        Column("sensor_id", "str", "unique id", nonempty=True),
        Column("kind", "str", "sensor kind (see SENSOR_KINDS)", allowed=frozenset(SENSOR_KINDS)),
        Column("observed_property", "str", "what it measures", nonempty=True),
        Column("unit", "str", "unit of its observations", nonempty=True),
        Column("asset_id", "str", "asset it monitors (assets.asset_id), or empty"),
        Column("name", "str", "name, may be empty"),
    ),
    ("Point",),
    "fixed sensors of the city",
)

RIVERS = LayerSchema(
    "rivers",
    "river_id",
    (
        Column("river_id", "str", "unique id", nonempty=True),
        Column("name", "str", "name, may be empty"),
        Column("width_m", "float", "typical width of the main channel, m", check="positive"),
    ),
    ("LineString", "MultiLineString"),
    "river centrelines (the flood models find the channel from them)",
)

LAYERS: dict[str, LayerSchema] = {
    s.name: s for s in (ASSETS, ROAD_NODES, ROAD_EDGES, DEPENDENCIES, ZONES, SENSORS, RIVERS)
}


def contract_markdown() -> str:
    """The data contract as Markdown (``docs/data-contract.md`` is this text; a test keeps it so)."""
    lines = [
        "# Data contract of the city digital twin",
        "",
        "Generated from `resilientcity.twin.schema` by `contract_markdown()`; do not edit by hand.",
        "Every layer has a `RangeIndex`; ids live in columns. Spatial layers share the city's",
        "projected, metric CRS. `check` is the value rule: `nonneg` finite and >= 0, `positive`",
        "finite and > 0.",
        "",
    ]
    for schema in LAYERS.values():
        geometry = ", ".join(schema.geometry_types) if schema.spatial else "none (a DataFrame)"
        lines += [
            f"## `{schema.name}`",
            "",
            f"{schema.description[:1].upper()}{schema.description[1:]}. Id column: "
            f"`{schema.id_column or '-'}`. Geometry: {geometry}.",
            "",
            "| column | dtype | check | meaning |",
            "| --- | --- | --- | --- |",
        ]
        for col in schema.columns:
            rule: str = col.check
            if col.allowed is not None:
                rule = "one of " + ", ".join(f"`{v}`" for v in sorted(col.allowed))
            elif col.nonempty:
                rule = "non-empty"
            lines.append(f"| `{col.name}` | {col.dtype} | {rule} | {col.description} |")
        lines.append("")
    lines += [
        "## Asset kinds",
        "",
        "| kind | usual sector | unit of `capacity` |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{k}` | {s} | {u} |" for k, (s, u) in ASSET_KINDS.items()]
    lines += [
        "",
        "## Sensor kinds",
        "",
        "| kind | observed property | unit |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{k}` | {p} | {u} |" for k, (p, u) in SENSOR_KINDS.items()]
    lines += [
        "",
        "## DEM",
        "",
        "A north-up float32 grid in the city's CRS (`DEM.elevation_m`, `DEM.transform`), metres",
        "above the city's vertical datum; `NaN` marks cells without data. Every asset must lie on",
        "a cell with data. Stored in the GeoPackage as the raster table `dem` (2-D gridded",
        "coverage extension, lossless TIFF tiles).",
        "",
    ]
    return "\n".join(lines)
