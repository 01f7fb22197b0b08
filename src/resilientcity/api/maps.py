"""The web page's map: the twin's base map, what an aggregated cell holds, and the live layer.

* ``GET /api/map/base`` (anyone): the twin's base map as GeoJSON in lon/lat
  (:func:`resilientcity.web.map_layers.base_geojson`), built once per process, city and
  building limit (gzip when the client accepts it);
* ``GET /api/map/cells/{key}`` (anyone): what one cell of the aggregated buildings holds
  (:func:`resilientcity.web.map_layers.cell_summary`);
* ``GET /api/map/live`` (anyone): sensors with their latest values (only those of datastreams
  the caller may read; ``null`` otherwise) and warning levels, the active warnings and, for
  staff (admin, analyst, operator), the open incidents, all with ``lon``/``lat`` and
  ``x``/``y`` in the twin's CRS (read from the store by :mod:`resilientcity.operations.live_map`).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from pyproj import Transformer

from resilientcity.api.auth import CurrentPrincipal, ServiceDep
from resilientcity.api.city_cache import CityCache
from resilientcity.api.scenarios import ServiceCity
from resilientcity.api.warnings import list_warnings
from resilientcity.operations.live_map import live_sensors, open_incidents
from resilientcity.report.figures import MAX_BUILDINGS
from resilientcity.twin.city import City
from resilientcity.web.map_layers import BuildingCells, base_geojson, building_cells, cell_summary

__all__ = ["STAFF", "map_base", "map_cell", "map_live", "router"]

router = APIRouter(tags=["web"])

#: Roles that see incidents on the live map.
STAFF = ("admin", "analyst", "operator")

#: Base maps kept at a time (per city and building limit), encoded and gzipped.
_BASE_MAPS: CityCache[tuple[bytes, bytes]] = CityCache(size=16)
_BUILDING_CELLS: CityCache[BuildingCells] = CityCache(size=4)

MaxBuildings = Annotated[
    int,
    Query(
        ge=0,
        le=10_000_000,
        description="buildings drawn one by one up to this many, else aggregated to cells",
    ),
]


def _encoded_base_map(limit: int) -> Callable[[City], tuple[bytes, bytes]]:
    def build(city: City) -> tuple[bytes, bytes]:
        body = orjson.dumps(base_geojson(city, max_buildings=limit))
        return body, gzip.compress(body, compresslevel=6)

    return build


@router.get("/api/map/base")
def map_base(
    request: Request, city: ServiceCity, max_buildings: MaxBuildings = MAX_BUILDINGS
) -> Response:
    """The twin's base map as GeoJSON in lon/lat (see :func:`~resilientcity.web.map_layers.base_geojson`).

    Layers (``properties.layer``): zones, rivers, roads, buildings (aggregated to H3 cells
    above ``max_buildings``, 20,000 by default: features with ``cell``, else with the asset
    ``id``), facilities (asset ``id``) and sensors; with ``bounds`` (degrees), ``districts``
    (names in Chinese and English) and ``to_lonlat`` (a fit from the twin's x/y to lon/lat).
    """
    body, packed = _BASE_MAPS.get(city, _encoded_base_map(max_buildings), key=max_buildings)
    headers = {"Cache-Control": "private, max-age=300", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="application/json", headers=headers)
    return Response(body, media_type="application/json", headers=headers)


CellKey = Annotated[
    str, PathParam(min_length=1, max_length=64, description="an H3 index or `grid i,j`")
]


@router.get("/api/map/cells/{key}")
def map_cell(key: CellKey, city: ServiceCity) -> dict[str, Any]:
    """What one cell of the aggregated buildings holds.

    Buildings by occupancy, occupants, value, facilities by kind and the cell's population (H3
    cells).
    """
    summary = cell_summary(city, _BUILDING_CELLS.get(city, building_cells), key)
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no buildings in cell {key}")
    return summary


def _add_xy(city: City, items: list[dict[str, Any]]) -> None:
    """Add ``x``/``y`` in the twin's CRS to items with ``lon``/``lat``.

    Whole metres; ``None`` where lon or lat is missing.
    """
    transformer = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
    lon = np.array([np.nan if i["lon"] is None else i["lon"] for i in items], dtype=np.float64)
    lat = np.array([np.nan if i["lat"] is None else i["lat"] for i in items], dtype=np.float64)
    x, y = transformer.transform(lon, lat) if lon.size else (lon, lat)
    for item, ix, iy in zip(items, np.asarray(x).tolist(), np.asarray(y).tolist(), strict=True):
        item["x"] = round(ix) if np.isfinite(ix) else None
        item["y"] = round(iy) if np.isfinite(iy) else None


@router.get("/api/map/live")
def map_live(service: ServiceDep, principal: CurrentPrincipal, city: ServiceCity) -> dict[str, Any]:
    """Sensors (latest values the caller may read, warning levels), active warnings, incidents.

    Incidents only for staff (admin, analyst, operator); anonymous and public callers get an
    empty list. ``x``/``y`` are in the twin's CRS (whole metres).
    """
    warnings = list_warnings(
        service, principal, status_="active", level=None, since=None, limit=1000, offset=0
    )
    active = [w.model_dump(mode="json") for w in warnings]
    with service.db.read() as session:
        sensors = live_sensors(session, principal)
        incidents = open_incidents(session) if principal.role in STAFF else []
    for items in (active, sensors, incidents):
        _add_xy(city, items)
    return {"sensors": sensors, "warnings": active, "incidents": incidents}
