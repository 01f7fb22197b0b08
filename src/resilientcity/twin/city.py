"""The city digital twin: every layer the models read, validated against the data contract."""

from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from os import PathLike
from typing import Annotated, Any, TypedDict, cast

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from resilientcity.errors import ValidationError
from resilientcity.region.profile import RegionProfile, profile_of
from resilientcity.twin.dem import DEM
from resilientcity.twin.roads import RoadComponents, RoadNetwork
from resilientcity.twin.schema import (
    ASSETS,
    DEPENDENCIES,
    RIVERS,
    ROAD_EDGES,
    ROAD_NODES,
    SENSORS,
    WATER_BODIES,
    ZONES,
)
from resilientcity.twin.validate import validate_city

__all__ = [
    "City",
    "CitySummary",
    "DemSummary",
    "KindTotals",
    "RoadComponents",
    "RoadTotals",
    "SectorTotals",
]


class KindTotals(TypedDict):
    """Assets of one kind: count, occupants, value and capacity (in the kind's unit)."""

    count: Annotated[int, {"unit": "assets", "doc": "assets of the kind"}]
    occupants: Annotated[float, {"unit": "people", "doc": "occupants (day-night mean)"}]
    value: Annotated[float, {"unit": "currency", "doc": "replacement value"}]
    capacity: Annotated[float, {"doc": "Σ capacity in the kind's unit (beds, persons, m³, …)"}]


class SectorTotals(TypedDict):
    """Assets of one sector: count and value."""

    count: Annotated[int, {"unit": "assets", "doc": "assets of the sector"}]
    value: Annotated[float, {"unit": "currency", "doc": "replacement value"}]


class RoadTotals(TypedDict):
    """The road network: nodes, edges, length and bridges."""

    nodes: Annotated[int, {"unit": "nodes", "doc": "road nodes"}]
    edges: Annotated[int, {"unit": "edges", "doc": "directed road edges"}]
    length_km: Annotated[float, {"unit": "km", "doc": "total edge length"}]
    bridges: Annotated[int, {"unit": "edges", "doc": "edges carried by a bridge asset"}]
    components: Annotated[
        RoadComponents, {"doc": "connected components; assets attached outside the largest"}
    ]


class DemSummary(TypedDict):
    """The DEM: grid shape (rows, columns), cell size and elevation range."""

    shape: Annotated[list[int], {"doc": "rows, columns"}]
    resolution_m: Annotated[float, {"unit": "m", "doc": "cell size"}]
    min_m: Annotated[float, {"unit": "m", "doc": "lowest elevation"}]
    max_m: Annotated[float, {"unit": "m", "doc": "highest elevation"}]


class CitySummary(TypedDict):
    """:meth:`City.summary`: counts and totals of the city (the ``city`` block of summary.json)."""

    name: Annotated[str, {"doc": "the city's name"}]
    crs: Annotated[str, {"doc": "projected, metric CRS of the layers"}]
    extent_km: Annotated[list[float], {"unit": "km", "doc": "width, height"}]
    assets: Annotated[int, {"unit": "assets", "doc": "assets of every kind"}]
    population: Annotated[int, {"unit": "people", "doc": "residents (Σ of the district zones)"}]
    occupants: Annotated[int, {"unit": "people", "doc": "Σ occupants of the assets"}]
    value: Annotated[float, {"unit": "currency", "doc": "Σ replacement value"}]
    by_kind: Annotated[dict[str, KindTotals], {"key": "kind", "doc": "per asset kind"}]
    by_sector: Annotated[dict[str, SectorTotals], {"key": "sector", "doc": "per sector"}]
    roads: Annotated[RoadTotals, {"doc": "the road network"}]
    dependencies: Annotated[int, {"unit": "links", "doc": "dependency links between assets"}]
    zones: Annotated[dict[str, int], {"key": "zone_type", "doc": "zones per type"}]
    sensors: Annotated[dict[str, int], {"key": "sensor_kind", "doc": "sensors per kind"}]
    rivers: Annotated[int, {"doc": "river centrelines"}]
    dem: Annotated[DemSummary | None, {"doc": "the DEM (null without one)"}]
    currency: Annotated[str, {"doc": "currency of every value and loss (ISO 4217)"}]
    region: Annotated[
        dict[str, Any],
        {"doc": "the regional profile (`RegionProfile`): conventions and the source of each"},
    ]
    import_defaults: Annotated[
        dict[str, Any] | None,
        {
            "doc": "the OpenStreetMap importer's defaults the twin was built with (sources in "
            "data/osm_defaults.json; null for a twin not imported from OSM)"
        },
    ]


def _or_empty(frame: pd.DataFrame | None, empty: pd.DataFrame) -> pd.DataFrame:
    if frame is None:
        return empty
    if isinstance(frame, pd.DataFrame) and not isinstance(frame.index, pd.RangeIndex):
        return frame.reset_index(drop=True)
    return frame


@dataclass(eq=False)
class City:
    """A city's digital twin.

    Every layer follows its schema in :mod:`resilientcity.twin.schema` and has a ``RangeIndex``
    (ids live in columns). Layers left out are empty (but road nodes need road edges). The city
    is validated when it is built: a broken contract raises one
    :class:`~resilientcity.errors.ValidationError` that lists every problem (pass
    ``validate=False`` to build it anyway and call :meth:`problems`).

    Parameters
    ----------
    name
        Name of the city.
    crs
        Projected, metric CRS shared by every layer and the DEM.
    assets
        GeoDataFrame, one row per physical asset of every kind (``ASSETS`` schema).
    roads
        Road network (nodes and edges).
    dependencies
        DataFrame of dependent → supplier links with redundancy groups and backup hours.
    zones
        GeoDataFrame of districts, communities and H3 cells with population.
    sensors
        GeoDataFrame of fixed sensors.
    rivers
        GeoDataFrame of river centrelines.
    dem
        Ground elevation grid, or ``None`` when the twin has none (flood models then refuse).
    water_bodies
        GeoDataFrame of lakes, ponds, reservoirs, basins, river areas (polygons) and the
        coastline (lines).
    metadata
        Free key → JSON-serialisable value pairs (source, seed, attribution, …).
    """

    name: str
    crs: CRS
    assets: gpd.GeoDataFrame = None
    roads: RoadNetwork = None  # type: ignore[assignment]
    dependencies: pd.DataFrame = None  # type: ignore[assignment]
    zones: gpd.GeoDataFrame = None
    sensors: gpd.GeoDataFrame = None
    rivers: gpd.GeoDataFrame = None
    dem: DEM | None = None
    water_bodies: gpd.GeoDataFrame = None
    metadata: dict[str, Any] = field(default_factory=dict)
    validate: InitVar[bool] = True

    def __post_init__(self, validate: bool) -> None:
        try:
            self.crs = CRS.from_user_input(self.crs)
        except Exception as exc:  # pyproj raises its own CRSError for anything unparsable
            raise ValidationError([_bad_crs(self.crs, exc)]) from exc
        crs = self.crs
        self.assets = _or_empty(self.assets, ASSETS.empty(crs))
        if self.roads is None:
            self.roads = RoadNetwork(ROAD_NODES.empty(crs), ROAD_EDGES.empty(crs))
        else:
            self.roads = RoadNetwork(
                _or_empty(self.roads.nodes, ROAD_NODES.empty(crs)),
                _or_empty(self.roads.edges, ROAD_EDGES.empty(crs)),
            )
        self.dependencies = DEPENDENCIES.with_defaults(
            _or_empty(self.dependencies, DEPENDENCIES.empty())
        )
        self.zones = _or_empty(self.zones, ZONES.empty(crs))
        self.sensors = _or_empty(self.sensors, SENSORS.empty(crs))
        self.rivers = RIVERS.with_defaults(_or_empty(self.rivers, RIVERS.empty(crs)))
        self.water_bodies = _or_empty(self.water_bodies, WATER_BODIES.empty(crs))
        if validate:
            problems = validate_city(self)
            if problems:
                raise ValidationError(problems, what=f"city {self.name!r}")

    def layers(self) -> dict[str, pd.DataFrame]:
        """The vector layers by schema name, in a fixed order."""
        return {
            "assets": self.assets,
            "road_nodes": self.roads.nodes,
            "road_edges": self.roads.edges,
            "dependencies": self.dependencies,
            "zones": self.zones,
            "sensors": self.sensors,
            "rivers": self.rivers,
            "water_bodies": self.water_bodies,
        }

    def problems(self) -> list[Any]:
        """Every problem of the city against the data contract (empty when valid)."""
        return validate_city(self)

    @classmethod
    def read(cls, path: str | PathLike[str], validate: bool = True) -> City:
        """Read a city from a GeoPackage written by :meth:`write`.

        Raises
        ------
        DataFileError
            The file is missing, not a GeoPackage, or not a ResilientCity twin.
        ValidationError
            The file holds a city that breaks the data contract (every problem listed).
        """
        from resilientcity.twin.io import read_city

        return read_city(path, validate=validate)

    def write(self, path: str | PathLike[str]) -> None:
        """Write the city to one GeoPackage (vector layers, DEM raster, metadata), atomically."""
        from resilientcity.twin.io import write_city

        write_city(self, path)

    @property
    def profile(self) -> RegionProfile:
        """The city's regional profile (``metadata["region"]``; see :mod:`resilientcity.region`).

        Raises
        ------
        ValidationError
            The stored profile is not valid.
        """
        return profile_of(self.metadata)

    @property
    def population(self) -> float:
        """Residents: occupants of residential buildings."""
        a = self.assets
        return float(a.loc[a["occupancy"] == "residential", "occupants"].sum())

    def extent(self) -> tuple[float, float, float, float] | None:
        """``(xmin, ymin, xmax, ymax)`` of the assets, road nodes and zones in the city's CRS.

        ``None`` when none of them has a finite extent.
        """
        boxes = [
            frame.total_bounds
            for frame in (self.assets, self.roads.nodes, self.zones)
            if len(frame) and np.isfinite(frame.total_bounds).all()
        ]
        if not boxes:
            return None
        b = np.array(boxes)
        return (
            float(b[:, 0].min()),
            float(b[:, 1].min()),
            float(b[:, 2].max()),
            float(b[:, 3].max()),
        )

    def centre_lonlat(self) -> tuple[float, float]:
        """Longitude and latitude (WGS 84 degrees) of the centre of :meth:`extent`.

        Raises
        ------
        ValueError
            The city has no extent (no assets, roads or zones).
        """
        box = self.extent()
        if box is None:
            raise ValueError(f"city {self.name!r} has no extent (no assets, roads or zones)")
        to_ll = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        lon, lat = to_ll.transform((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        return float(lon), float(lat)

    def summary(self) -> CitySummary:
        """Counts and totals for people: per kind and sector, people, value, network size."""
        a = self.assets
        profile = self.profile
        by_kind = a.groupby("kind", sort=True).agg(
            count=("asset_id", "size"),
            occupants=("occupants", "sum"),
            value=("value", "sum"),
            capacity=("capacity", "sum"),
        )
        by_sector = a.groupby("sector", sort=True).agg(
            count=("asset_id", "size"), value=("value", "sum")
        )
        edges = self.roads.edges
        is_bridge = edges["asset_id"].isin(a.loc[a["kind"] == "bridge", "asset_id"])
        minx, miny, maxx, maxy = (
            self.dem.bounds
            if self.dem is not None
            else tuple(a.total_bounds)
            if len(a)
            else (0, 0, 0, 0)
        )
        return {
            "name": self.name,
            "crs": self.crs.to_string(),
            "extent_km": [round((maxx - minx) / 1000, 2), round((maxy - miny) / 1000, 2)],
            "assets": len(a),
            "population": round(self.population),
            "occupants": round(float(a["occupants"].sum())),
            "value": float(a["value"].sum()),
            "by_kind": cast(dict[str, KindTotals], _records(by_kind)),
            "by_sector": cast(dict[str, SectorTotals], _records(by_sector)),
            "roads": {
                "nodes": len(self.roads.nodes),
                "edges": len(edges),
                "length_km": round(self.roads.total_length_km, 1),
                "bridges": int(is_bridge.sum()),
                "components": self.roads.components(a),
            },
            "dependencies": len(self.dependencies),
            "zones": {
                str(k): int(v)
                for k, v in self.zones["zone_type"].value_counts().sort_index().items()
            },
            "sensors": {
                str(k): int(v) for k, v in self.sensors["kind"].value_counts().sort_index().items()
            },
            "rivers": len(self.rivers),
            "dem": None
            if self.dem is None
            else {
                "shape": list(self.dem.shape),
                "resolution_m": self.dem.resolution_m[0],
                "min_m": float(np.nanmin(self.dem.elevation_m)),
                "max_m": float(np.nanmax(self.dem.elevation_m)),
            },
            "currency": profile.currency,
            "region": profile.summary(),
            "import_defaults": self.metadata.get("osm_defaults"),
        }


def _records(frame: pd.DataFrame) -> dict[str, dict[str, int | float]]:
    """``{index: {column: value}}`` with plain ints (counts) and floats rounded to 0.01."""
    out: dict[str, dict[str, int | float]] = {str(k): {} for k in frame.index}
    for col in frame.columns:
        integer = pd.api.types.is_integer_dtype(frame[col].dtype)
        for k, v in frame[col].items():
            out[str(k)][str(col)] = int(v) if integer else round(float(v), 2)
    return out


def _bad_crs(crs: object, exc: Exception) -> Any:
    from resilientcity.errors import Problem

    return Problem(
        "city", "crs", "a projected metric CRS (e.g. EPSG:32649)", found=f"{crs!r}: {exc}"
    )
