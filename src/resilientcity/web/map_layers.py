"""The twin's base map as GeoJSON in longitude/latitude, for the page's MapLibre map.

Pure functions from a :class:`~resilientcity.twin.city.City` to JSON-ready dicts:

* :func:`base_geojson`: one GeoJSON ``FeatureCollection`` of the base layers (zones, rivers,
  roads, buildings or the H3 cells they are aggregated to, facilities, sensors), each feature
  tagged with its ``layer`` and the style the page draws it with (the colours, widths and sizes
  of the report's map, :mod:`resilientcity.report.figures`), the districts with their names in
  Chinese and English, the bounds, and a quadratic fit from the twin's projected x/y to lon/lat
  (for layers that the scenario runs give in the twin's CRS);
* :func:`building_cells` and :func:`cell_summary`: what one aggregated cell holds (buildings
  by occupancy, occupants, value, facilities by kind, its population).

Coordinates are rounded to 5 decimals of a degree (at most 0.6 m).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from resilientcity.report.figures import (
    GRID_M,
    KIND_STYLE,
    MAX_BUILDINGS,
    OCCUPANCY_COLOURS,
    SENSOR_STYLE,
    road_layers,
)
from resilientcity.twin.city import City

__all__ = [
    "BASE_LAYERS",
    "DECIMALS",
    "BuildingCells",
    "base_geojson",
    "building_cells",
    "cell_summary",
    "lonlat_fit",
    "split_name",
]

#: The layers of the base map (``properties.layer`` of its features), bottom to top.
BASE_LAYERS: tuple[str, ...] = ("zones", "rivers", "roads", "buildings", "facilities", "sensors")
#: Decimals of a degree kept in coordinates (1e-5° is at most 1.1 m; rounding halves it).
DECIMALS = 5
#: Colour of assets whose kind or occupancy has no style of its own.
OTHER_COLOUR = "#555555"
#: Radius (px) of the smallest and the largest aggregated cell marker (area ∝ occupants).
CELL_RADIUS_PX = (3.0, 11.0)
#: Points per side of the grid the lon/lat fit is made on (and checked on, twice as dense).
_FIT_POINTS = 15
#: ``岳麓区 Yuelu``: a name in Chinese characters, a space, then its English name.
_ZH_EN = re.compile(r"^(\S*[\u3400-\u9fff]\S*)\s+(\S.*)$")

FloatArray = NDArray[np.float64]


def split_name(name: str, fallback: str) -> tuple[str, str]:
    """``(zh, en)`` of a zone name written ``"岳麓区 Yuelu"``; otherwise the name twice.

    Parameters
    ----------
    name
        The zone's ``name`` (may be empty).
    fallback
        Used for both when ``name`` is empty (the zone id).
    """
    name = str(name).strip()
    if not name:
        return fallback, fallback
    match = _ZH_EN.match(name)
    if match is None:
        return name, name
    return match.group(1), match.group(2).strip()


def _to_lonlat(crs: CRS) -> Transformer:
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def _lonlat_geoms(geoms: Any, transformer: Transformer) -> NDArray[np.object_]:
    """Geometries with their coordinates in lon/lat, rounded to :data:`DECIMALS`."""

    def project(coords: FloatArray) -> FloatArray:
        lon, lat = transformer.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), DECIMALS)

    arr = np.asarray(geoms, dtype=object)
    return np.asarray(shapely.transform(arr, project), dtype=object)


def _lines(geoms: NDArray[np.object_]) -> list[list[list[float]]]:
    """Every line of ``geoms`` (polygons: their rings) as lists of ``[lon, lat]``."""
    if len(geoms) == 0:
        return []
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    parts = shapely.get_parts(np.where(polygonal, shapely.boundary(geoms), geoms))
    parts = shapely.get_parts(parts)  # multi-part boundaries of polygons with holes
    coords, index = shapely.get_coordinates(parts, return_index=True)
    if len(coords) == 0:
        return []
    ends = np.flatnonzero(np.diff(index)) + 1
    return [c.tolist() for c in np.split(coords, ends) if len(c) > 1]


def _multiline(lines: list[list[list[float]]], properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "MultiLineString", "coordinates": lines},
    }


def _points(
    lon: FloatArray, lat: FloatArray, properties: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for x, y, props in zip(lon.tolist(), lat.tolist(), properties, strict=True):
        if np.isfinite(x) and np.isfinite(y):
            geometry = {"type": "Point", "coordinates": [round(x, DECIMALS), round(y, DECIMALS)]}
            out.append({"type": "Feature", "properties": props, "geometry": geometry})
    return out


def _xy(geoms: Any) -> tuple[FloatArray, FloatArray]:
    """The x and y of a point on each geometry (the point itself for points; NaN for empty)."""
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    return shapely.get_x(pts), shapely.get_y(pts)


def _lonlat(geoms: Any, transformer: Transformer) -> tuple[FloatArray, FloatArray]:
    """Longitude and latitude of :func:`_xy`'s point on each geometry."""
    lon, lat = transformer.transform(*_xy(geoms))
    return np.asarray(lon), np.asarray(lat)


def _zone_features(city: City, transformer: Transformer, aggregated: bool) -> list[dict[str, Any]]:
    zones = city.zones
    out = []
    districts = zones[zones["zone_type"] == "district"]
    geoms = _lonlat_geoms(districts.geometry, transformer)
    for geom, zone_id, name in zip(geoms, districts["zone_id"], districts["name"], strict=True):
        zh, en = split_name(name, str(zone_id))
        props = {"layer": "zones", "part": "district", "id": str(zone_id), "name_zh": zh}
        out.append(_multiline(_lines(np.array([geom], dtype=object)), {**props, "name_en": en}))
    cells = zones[zones["zone_type"] == "h3"]
    if aggregated and len(cells):
        lines = _lines(_lonlat_geoms(cells.geometry, transformer))
        out.append(_multiline(lines, {"layer": "zones", "part": "h3"}))
    return out


def _river_features(city: City, transformer: Transformer) -> list[dict[str, Any]]:
    rivers = city.rivers
    geoms = _lonlat_geoms(rivers.geometry, transformer)
    out = []
    for k in range(len(rivers)):
        row = rivers.iloc[k]
        width = float(np.clip(float(row["width_m"]) / 150.0, 1.5, 6.0))
        props = {"layer": "rivers", "name": str(row["name"] or row["river_id"]), "width": width}
        out.append(_multiline(_lines(geoms[k : k + 1]), props))
    return out


def _road_features(city: City, transformer: Transformer) -> list[dict[str, Any]]:
    """Roads in the report's tiers, then bridges on top (:func:`road_layers`)."""
    geoms = _lonlat_geoms(city.roads.edges.geometry, transformer)
    return [
        _multiline(
            _lines(geoms[mask]),
            {"layer": "roads", "part": name, "color": colour, "width": width},
        )
        for name, mask, colour, width in road_layers(city)
        if mask.any()
    ]


@dataclass(frozen=True)
class BuildingCells:
    """Buildings aggregated to the twin's H3 cells (or, outside them, to square grid cells).

    Attributes
    ----------
    key
        The cell of every building (``assets`` rows of kind ``building``, in order): its H3
        index, or ``"grid i,j"`` for the :data:`~resilientcity.report.figures.GRID_M` square
        ``i, j`` (x and y divided by the side, floored) when it lies in no H3 cell.
    cells
        One row per cell, indexed by key: ``x``, ``y`` (m, the H3 cell's centre or the mean of
        its buildings), ``buildings``, ``occupants``, ``value`` and the dominant
        ``occupancy``.
    by_occupancy
        Buildings per cell (rows) and occupancy (columns).
    """

    key: NDArray[np.object_]
    cells: pd.DataFrame
    by_occupancy: pd.DataFrame


def building_cells(city: City) -> BuildingCells:
    """The buildings of ``city`` aggregated to cells (see :class:`BuildingCells`)."""
    assets = city.assets
    b = assets[(assets["kind"] == "building").to_numpy()]
    x, y = _xy(b.geometry)
    zones = city.zones
    h3 = zones[zones["zone_type"] == "h3"]
    gx = np.floor(x / GRID_M).astype(np.int64).astype(str)
    gy = np.floor(y / GRID_M).astype(np.int64).astype(str)
    grid = np.char.add(np.char.add(np.char.add("grid ", gx), ","), gy).astype(object)
    in_cell = b["cell_id"].isin(h3["zone_id"]).to_numpy()
    key = np.where(in_cell, b["cell_id"].astype(str).to_numpy(dtype=object), grid)
    frame = pd.DataFrame(
        {
            "key": key,
            "x": x,
            "y": y,
            "occupants": b["occupants"].to_numpy(dtype=np.float64),
            "value": b["value"].to_numpy(dtype=np.float64),
            "occupancy": b["occupancy"].astype(str).to_numpy(),
        }
    )
    g = frame.groupby("key", sort=True)
    cells = g[["x", "y"]].mean().join(g[["occupants", "value"]].sum())
    cells["buildings"] = g.size()
    cx, cy = _xy(h3.geometry)
    centre = pd.DataFrame({"x": cx, "y": cy}, index=pd.Index(h3["zone_id"].astype(str)))
    known = cells.index.isin(centre.index)
    cells.loc[known, ["x", "y"]] = centre.loc[cells.index[known], ["x", "y"]].to_numpy()
    counts = pd.crosstab(frame["key"], frame["occupancy"]).reindex(cells.index, fill_value=0)
    cells["occupancy"] = counts.idxmax(axis=1) if len(counts) else pd.Series(dtype=str)
    return BuildingCells(key=key, cells=cells, by_occupancy=counts)


def cell_summary(city: City, aggregated: BuildingCells, key: str) -> dict[str, Any] | None:
    """What the cell ``key`` holds; ``None`` when no building lies in it.

    Returns
    -------
    dict or None
        ``key``, ``kind`` (``h3`` or ``grid``), ``name`` (the zone's name, H3 cells only),
        ``population`` (the zone's residents, H3 cells only, else ``None``), ``buildings``,
        ``occupants``, ``value``, ``by_occupancy`` (buildings per occupancy, most first)
        and ``facilities`` (assets other than buildings in the cell per kind; H3 cells only,
        by the assets' ``cell_id``).
    """
    if key not in aggregated.cells.index:
        return None
    row = int(np.flatnonzero(aggregated.cells.index == key)[0])
    buildings = int(aggregated.cells["buildings"].to_numpy()[row])
    occupants = float(aggregated.cells["occupants"].to_numpy()[row])
    value = float(aggregated.cells["value"].to_numpy()[row])
    counts = aggregated.by_occupancy.to_numpy()[row]
    names = [str(c) for c in aggregated.by_occupancy.columns]
    by_occupancy = {
        names[j]: int(counts[j]) for j in np.argsort(-counts, kind="stable") if counts[j]
    }
    zones = city.zones
    zone = zones[(zones["zone_type"] == "h3") & (zones["zone_id"].astype(str) == key)]
    is_h3 = len(zone) > 0
    facilities: dict[str, int] = {}
    if is_h3:
        assets = city.assets
        inside = assets[(assets["kind"] != "building") & (assets["cell_id"].astype(str) == key)]
        facilities = {str(k): int(v) for k, v in inside["kind"].value_counts().items()}
    return {
        "key": key,
        "kind": "h3" if is_h3 else "grid",
        "name": str(zone["name"].iloc[0]) if is_h3 else "",
        "population": float(zone["population"].iloc[0]) if is_h3 else None,
        "buildings": buildings,
        "occupants": round(occupants, 1),
        "value": round(value, 0),
        "by_occupancy": by_occupancy,
        "facilities": facilities,
    }


def _building_features(
    city: City, transformer: Transformer, aggregated: BuildingCells | None
) -> list[dict[str, Any]]:
    assets = city.assets
    if aggregated is not None:
        cells = aggregated.cells
        lon, lat = transformer.transform(cells["x"].to_numpy(), cells["y"].to_numpy())
        occupants = cells["occupants"].to_numpy()
        share = np.sqrt(occupants / max(float(occupants.max(initial=0.0)), 1.0))
        low, high = CELL_RADIUS_PX
        radius = np.round(low + (high - low) * share, 1)
        props = [
            {
                "layer": "buildings",
                "cell": str(key),
                "occupancy": str(occ),
                "color": OCCUPANCY_COLOURS.get(str(occ), OTHER_COLOUR),
                "radius": float(r),
                "buildings": int(n),
                "occupants": round(float(p)),
            }
            for key, occ, r, n, p in zip(
                cells.index, cells["occupancy"], radius, cells["buildings"], occupants, strict=True
            )
        ]
        return _points(np.asarray(lon), np.asarray(lat), props)
    b = assets[(assets["kind"] == "building").to_numpy()]
    lon, lat = _lonlat(b.geometry, transformer)
    props = [
        {
            "layer": "buildings",
            "id": str(i),
            "occupancy": str(o),
            "color": OCCUPANCY_COLOURS.get(str(o), OTHER_COLOUR),
        }
        for i, o in zip(b["asset_id"], b["occupancy"], strict=True)
    ]
    return _points(lon, lat, props)


def _facility_features(city: City, transformer: Transformer) -> list[dict[str, Any]]:
    f = city.assets[(city.assets["kind"] != "building").to_numpy()]
    lon, lat = _lonlat(f.geometry, transformer)
    props: list[dict[str, Any]] = []
    radii: list[float] = []
    for asset_id, kind, name in zip(f["asset_id"], f["kind"], f["name"], strict=True):
        _, colour, size = KIND_STYLE.get(str(kind), ("circle", OTHER_COLOUR, 8))
        radii.append(size / 2.0)
        props.append(
            {
                "layer": "facilities",
                "id": str(asset_id),
                "kind": str(kind),
                "name": str(name),
                "color": colour,
                "radius": size / 2.0,
            }
        )
    # small markers first, so that hospitals and substations are drawn over feeders
    order = np.argsort(np.asarray(radii), kind="stable")
    return _points(lon[order], lat[order], [props[k] for k in order])


def _sensor_features(city: City, transformer: Transformer) -> list[dict[str, Any]]:
    s = city.sensors
    lon, lat = _lonlat(s.geometry, transformer)
    props = [
        {
            "layer": "sensors",
            "id": str(i),
            "kind": str(k),
            "name": str(n),
            "color": SENSOR_STYLE.get(str(k), ("", OTHER_COLOUR))[1],
        }
        for i, k, n in zip(s["sensor_id"], s["kind"], s["name"], strict=True)
    ]
    return _points(lon, lat, props)


def _bounds(city: City) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` of the city's assets, road nodes and zones.

    In the city's CRS (:meth:`City.extent`); refused when there is nothing.
    """
    extent = city.extent()
    if extent is None:
        raise ValueError("the city has no assets, road nodes or zones to draw")
    return extent


def _terms(u: FloatArray, v: FloatArray) -> FloatArray:
    return np.column_stack([np.ones_like(u), u, v, u * u, u * v, v * v])


def lonlat_fit(city: City) -> dict[str, Any]:
    """A quadratic polynomial from the twin's x/y (m) to lon/lat over the city's bounds.

    ``lon = Σ c_k t_k(u, v)`` with ``u = (x - x0) / scale``, ``v = (y - y0) / scale`` and the
    terms ``1, u, v, u², uv, v²`` (likewise ``lat``), least squares on a 15 × 15 grid over the
    bounds (a 1 km margin), checked on a 29 × 29 grid against pyproj.

    Returns
    -------
    dict
        ``x0``, ``y0``, ``scale`` (m), ``lon`` and ``lat`` (6 coefficients each) and
        ``max_error_m`` (the largest distance between the fit and pyproj on the check grid).
    """
    xmin, ymin, xmax, ymax = _bounds(city)
    margin = 1000.0
    xmin, ymin, xmax, ymax = xmin - margin, ymin - margin, xmax + margin, ymax + margin
    x0, y0 = (xmin + xmax) / 2.0, (ymin + ymax) / 2.0
    scale = max(xmax - xmin, ymax - ymin) / 2.0
    transformer = _to_lonlat(city.crs)

    def grid(n: int) -> tuple[FloatArray, FloatArray]:
        gx, gy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
        return gx.ravel(), gy.ravel()

    x, y = grid(_FIT_POINTS)
    lon, lat = transformer.transform(x, y)
    terms = _terms((x - x0) / scale, (y - y0) / scale)
    c_lon = np.linalg.lstsq(terms, np.asarray(lon), rcond=None)[0]
    c_lat = np.linalg.lstsq(terms, np.asarray(lat), rcond=None)[0]
    cx, cy = grid(2 * _FIT_POINTS - 1)
    check = _terms((cx - x0) / scale, (cy - y0) / scale)
    back = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
    bx, by = back.transform(check @ c_lon, check @ c_lat)
    error = float(np.max(np.hypot(np.asarray(bx) - cx, np.asarray(by) - cy)))
    return {
        "x0": x0,
        "y0": y0,
        "scale": scale,
        "lon": c_lon.tolist(),
        "lat": c_lat.tolist(),
        "max_error_m": round(error, 3),
    }


def base_geojson(city: City, max_buildings: int = MAX_BUILDINGS) -> dict[str, Any]:
    """The twin's base map for the page: GeoJSON in lon/lat, styled per feature.

    Parameters
    ----------
    city
        The twin (any projected CRS).
    max_buildings
        Above this many buildings they are drawn aggregated to cells (see
        :func:`building_cells`): one feature per cell with ``cell`` (its key), ``buildings``,
        ``occupants``, ``radius`` (px, area ∝ occupants) and the colour of its dominant
        occupancy; at most this many, one feature per building with its asset ``id``.

    Returns
    -------
    dict
        ``crs``; ``bounds`` ``[west, south, east, north]`` (degrees); ``aggregated`` (bool);
        ``layers`` (:data:`BASE_LAYERS`); ``districts`` (``id``, ``name_zh``, ``name_en``,
        ``lon``, ``lat`` of a point inside, ``population``); ``to_lonlat``
        (:func:`lonlat_fit`); ``features`` (a FeatureCollection whose features carry
        ``layer`` and: zones ``part`` (``district`` with ``id``, ``name_zh``, ``name_en``, or
        ``h3``, drawn when aggregated); rivers ``name``, ``width`` (px); roads ``part``,
        ``color``, ``width``; buildings ``id`` or ``cell``, ``occupancy``, ``color``; facilities ``id``, ``kind``,
        ``name``, ``color``, ``radius``; sensors ``id``, ``kind``, ``name``, ``color``).
    """
    transformer = _to_lonlat(city.crs)
    n_buildings = int((city.assets["kind"] == "building").sum())
    cells = building_cells(city) if n_buildings > max_buildings else None
    features = _zone_features(city, transformer, cells is not None)
    features += _river_features(city, transformer)
    features += _road_features(city, transformer)
    features += _building_features(city, transformer, cells)
    features += _facility_features(city, transformer)
    features += _sensor_features(city, transformer)
    xmin, ymin, xmax, ymax = _bounds(city)
    corners_lon, corners_lat = transformer.transform(
        [xmin, xmin, xmax, xmax], [ymin, ymax, ymin, ymax]
    )
    zones = city.zones
    d = zones[zones["zone_type"] == "district"]
    dx, dy = _xy(d.geometry)
    dlon, dlat = transformer.transform(dx, dy)
    districts = []
    for zone_id, name, pop, lo, la in zip(
        d["zone_id"], d["name"], d["population"], np.asarray(dlon), np.asarray(dlat), strict=True
    ):
        zh, en = split_name(name, str(zone_id))
        districts.append(
            {
                "id": str(zone_id),
                "name_zh": zh,
                "name_en": en,
                "lon": round(float(lo), DECIMALS),
                "lat": round(float(la), DECIMALS),
                "population": round(float(pop)),
            }
        )
    return {
        "crs": city.crs.to_string(),
        "bounds": [
            round(float(min(corners_lon)), DECIMALS),
            round(float(min(corners_lat)), DECIMALS),
            round(float(max(corners_lon)), DECIMALS),
            round(float(max(corners_lat)), DECIMALS),
        ],
        "aggregated": cells is not None,
        "layers": list(BASE_LAYERS),
        "districts": districts,
        "to_lonlat": lonlat_fit(city),
        "features": {"type": "FeatureCollection", "features": features},
    }
