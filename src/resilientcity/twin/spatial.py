"""Spatial look-ups shared by the demo generator and the importers."""

from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

__all__ = ["convex_hull", "h3_cells", "nearest"]


def nearest(
    from_xy: NDArray[np.float64], to_xy: NDArray[np.float64], k: int = 1
) -> NDArray[np.int64]:
    """Index into ``to_xy`` of the nearest (``k`` nearest, as columns) point to each ``from_xy``."""
    _, idx = cKDTree(to_xy).query(from_xy, k=k)
    return np.asarray(idx, dtype=np.int64)


def h3_cells(
    x: NDArray[np.float64], y: NDArray[np.float64], crs: CRS, resolution: int
) -> tuple[NDArray[np.object_], pd.DataFrame]:
    """H3 cell of each point and the cells' polygons in ``crs``.

    h3 works on WGS 84 latitude/longitude, so points go to EPSG:4326 and the hexagons back.
    """
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(x, y)
    cells = np.array(
        [
            h3.latlng_to_cell(la, lo, resolution)
            for la, lo in zip(lat.tolist(), lon.tolist(), strict=True)
        ],
        dtype=object,
    )
    unique = sorted(set(cells.tolist()))
    from_ll = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    polys = []
    for c in unique:
        ring = np.array(h3.cell_to_boundary(c))  # (lat, lng) pairs
        px, py = from_ll.transform(ring[:, 1], ring[:, 0])
        polys.append(shapely.Polygon(np.column_stack([px, py])))
    return cells, pd.DataFrame(
        {"zone_id": unique, "zone_type": "h3", "name": "", "geometry": polys}
    )


def convex_hull(xy: NDArray[np.float64]) -> shapely.Geometry:
    """Convex hull of the points ``xy`` (n × 2), as ``shapely.multipoints(xy).convex_hull``.

    Points strictly inside the octagon of the extreme points in eight directions (Akl and
    Toussaint, 1978) cannot be corners of the hull, so they are dropped before GEOS builds a
    point geometry for each of the others: the same hull, without a million point geometries in
    memory. Fewer than three distinct extremes (collinear points) drop nothing.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(xy) > 8:
        x, y = xy[:, 0], xy[:, 1]
        directions = (x, x + y, y, y - x, -x, -x - y, -y, x - y)  # counter-clockwise
        corners = xy[[int(np.argmax(d)) for d in directions]]
        corners = corners[np.r_[True, np.any(corners[1:] != corners[:-1], axis=1)]]
        if len(corners) >= 3 and shapely.area(octagon := shapely.polygons(corners)) > 0:
            xy = xy[~shapely.contains_xy(octagon, x, y)]
    return shapely.multipoints(xy).convex_hull
