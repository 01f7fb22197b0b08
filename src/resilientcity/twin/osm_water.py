"""OpenStreetMap water → the twin's ``rivers`` and ``water_bodies`` layers.

The rules are described in :mod:`resilientcity.twin.osm`: ``rivers`` holds the centrelines of
the ``waterway`` classes of ``river_waterways`` (the flood models buffer them into channels),
``water_bodies`` the water areas (``natural=water``, ``landuse=reservoir|basin``,
``waterway=riverbank``) and the coastline (``natural=coastline``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from resilientcity.twin._osm_tags import element_ids, leading_number, tag_values
from resilientcity.twin.osm_defaults import OsmDefaults
from resilientcity.twin.schema import RIVERS, WATER_BODIES

__all__ = ["WATER_FILTER", "WATER_TAGS", "river_lines", "water_bodies"]

#: pyrosm ``custom_filter`` of the water areas and the coastline (rivers are added to it).
WATER_FILTER: dict[str, list[str]] = {
    "natural": ["water", "coastline"],
    "landuse": ["reservoir", "basin"],
    "waterway": ["riverbank"],
}
#: Tags read with the water features besides pyrosm's defaults.
WATER_TAGS = ["name", "water", "width", "natural", "landuse", "waterway"]
#: ``water=*`` (OSM wiki Key:water) → ``water_bodies.kind``; other values are ``water``.
_KIND_BY_WATER = {
    "lake": "lake",
    "oxbow": "lake",
    "lagoon": "lake",
    "pond": "pond",
    "reservoir": "reservoir",
    "basin": "basin",
    "river": "river",
    "canal": "canal",
}
_LINES, _AREAS = (1, 5), (3, 6)  # shapely type ids: (Multi)LineString, (Multi)Polygon


def _geometries(frame: gpd.GeoDataFrame, crs: CRS, types: tuple[int, ...]) -> gpd.GeoDataFrame:
    """The features of ``frame`` (projected to ``crs``) whose geometry is of ``types``."""
    projected = frame.to_crs(crs)
    g = projected.geometry.to_numpy()
    return projected[np.isin(shapely.get_type_id(g), types) & ~shapely.is_empty(g)]


def river_lines(water: gpd.GeoDataFrame | None, crs: CRS, d: OsmDefaults) -> pd.DataFrame:
    """``waterway`` lines of ``river_waterways`` with their ``width`` (else the default).

    Parameters
    ----------
    water
        The extract's water features (WGS 84), or ``None``.
    crs
        The twin's projected CRS.
    d
        The importer's defaults.

    Returns
    -------
    pandas.DataFrame
        The ``rivers`` columns (``river_id`` after the OSM way, ``width_m``, ``waterway``) and
        ``geometry`` in ``crs``.
    """
    if water is None or len(water) == 0:
        return RIVERS.empty(crs)
    r = _geometries(water, crs, _LINES)
    r = r[tag_values(r, "waterway").isin(d.river_waterways).to_numpy()]
    width = leading_number(tag_values(r, "width"))
    frame = pd.DataFrame(
        {
            "river_id": element_ids(r).to_numpy(dtype=object),
            "name": tag_values(r, "name").to_numpy(dtype=object),
            "width_m": np.where(np.isfinite(width) & (width > 0), width, d.river_width_m),
            "waterway": tag_values(r, "waterway").to_numpy(dtype=object),
        }
    )
    return frame.assign(geometry=r.geometry.to_numpy())


def water_bodies(water: gpd.GeoDataFrame | None, crs: CRS) -> tuple[pd.DataFrame, int]:
    """Water areas and the coastline, and the count of features dropped (points, broken areas).

    Parameters
    ----------
    water
        The extract's water features (WGS 84), or ``None``.
    crs
        The twin's projected CRS.

    Returns
    -------
    layer : pandas.DataFrame
        The ``water_bodies`` columns and ``geometry`` in ``crs``: areas of ``natural=water`` (kind from ``water=*``, else
        ``landuse=pond|reservoir|basin``, else ``water``), ``landuse=reservoir|basin`` and
        ``waterway=riverbank`` (``river``) as polygons; ``natural=coastline`` as lines.
    dropped : int
        Water features that are neither: water mapped as a point (a name label), an area
        drawn as an unclosed line, a coastline drawn as a polygon.
    """
    if water is None or len(water) == 0:
        return WATER_BODIES.empty(crs), 0
    natural, landuse = tag_values(water, "natural"), tag_values(water, "landuse")
    waterway = tag_values(water, "waterway")
    coast = (natural == "coastline").to_numpy()
    area = ((natural == "water") | landuse.isin(("reservoir", "basin"))).to_numpy()
    area |= (waterway == "riverbank").to_numpy()
    area &= ~coast
    areas = _geometries(water[area], crs, _AREAS)
    lines = _geometries(water[coast], crs, _LINES)
    by_water = tag_values(areas, "water").map(_KIND_BY_WATER)
    by_landuse = tag_values(areas, "landuse").map({"pond": "pond", "reservoir": "reservoir"})
    by_landuse = by_landuse.fillna(tag_values(areas, "landuse").map({"basin": "basin"}))
    by_waterway = tag_values(areas, "waterway").map({"riverbank": "river"})
    kind = by_water.fillna(by_landuse).fillna(by_waterway).fillna("water")
    both = pd.concat([areas, lines])
    frame = pd.DataFrame(
        {
            "water_id": element_ids(both).to_numpy(dtype=object),
            "kind": np.concatenate([kind.to_numpy(dtype=object), np.full(len(lines), "coastline")]),
            "name": tag_values(both, "name").to_numpy(dtype=object),
        }
    )
    dropped = int(area.sum() + coast.sum()) - len(both)
    return frame.assign(geometry=both.geometry.to_numpy()), dropped
