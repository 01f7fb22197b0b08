"""A user's twin for the service tests: the Kouvola extract imported with the Finnish profile.

:func:`kouvola_twin` imports the real OpenStreetMap extract that ships inside pyrosm (Kouvola,
Finland; © OpenStreetMap contributors, ODbL 1.0) with ``region="FI"`` (what ``twin import-osm
--region FI`` does) and, for the hazards that need them, adds what the extract lacks: a tiny
DEM made here (a plane rising :data:`SLOPE_M_PER_CELL` m per cell eastwards from
:data:`LOWEST_M` m), one river centreline along its low western edge, and one hospital and one
fire station (two buildings re-typed: the extract maps neither, and the network stage needs
both). The DEM's numbers are chosen so that the service's ranges can be checked by hand.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely.geometry import LineString

from resilientcity.twin import City
from resilientcity.twin.dem import DEM

__all__ = ["CELL_M", "LOWEST_M", "RIVER_COLUMN", "SLOPE_M_PER_CELL", "kouvola_twin"]

#: DEM cell size (m), the lowest ground (m) and the rise per cell eastwards (m).
CELL_M, LOWEST_M, SLOPE_M_PER_CELL = 50.0, 70.0, 0.5
#: The DEM column (from the west) the river runs along, north to south.
RIVER_COLUMN = 4


def _dem(city: City) -> DEM:
    extent = city.extent()
    assert extent is not None
    xmin, ymin, xmax, ymax = (v + d for v, d in zip(extent, (-200, -200, 200, 200), strict=True))
    cols = int(np.ceil((xmax - xmin) / CELL_M))
    rows = int(np.ceil((ymax - ymin) / CELL_M))
    ground = LOWEST_M + SLOPE_M_PER_CELL * np.tile(np.arange(cols, dtype=np.float32), (rows, 1))
    return DEM(ground, Affine(CELL_M, 0.0, xmin, 0.0, -CELL_M, ymax), city.crs)


def _river(city: City, dem: DEM) -> gpd.GeoDataFrame:
    x0, y0, _, y1 = dem.bounds
    x = x0 + (RIVER_COLUMN + 0.5) * CELL_M  # the middle of the column
    line = LineString([(x, y1 - CELL_M / 2), (x, y0 + CELL_M / 2)])
    return gpd.GeoDataFrame(
        {"river_id": ["r1"], "name": ["test river"], "width_m": [30.0]},
        geometry=[line],
        crs=city.crs,
    )


def _with_facilities(city: City) -> gpd.GeoDataFrame:
    """Two buildings nearest the centre re-typed as a hospital and a fire station."""
    assets = city.assets.copy()
    buildings = assets.index[(assets["kind"] == "building") & assets["node_id"].notna()]
    centre = assets.loc[buildings].geometry.union_all().centroid
    nearest = assets.loc[buildings].geometry.distance(centre).sort_values().index[:2]
    typed = {
        "hospital": ("medical", 100.0, "COM6/C2L"),
        "fire_station": ("public_services", 6.0, "GOV2/C2L"),
    }
    for k, (kind, (sector, capacity, vuln)) in zip(nearest, typed.items(), strict=True):
        assets.loc[k, ["kind", "sector", "occupancy", "capacity", "vuln"]] = [
            kind, sector, "public", capacity, vuln
        ]  # fmt: skip
    return assets


def kouvola_twin(
    folder: Path, *, dem: bool = True, river: bool = True, facilities: bool = True
) -> Path:
    """Write the Kouvola twin (with the DEM, river and facilities asked for) to ``folder``."""
    pyrosm = pytest.importorskip("pyrosm")
    from resilientcity.twin.osm import import_osm

    city = import_osm(pyrosm.get_data("test_pbf"), region="FI", name="Kouvola")
    changes: dict[str, object] = {}
    if dem:
        changes["dem"] = _dem(city)
        if river:
            changes["rivers"] = _river(city, changes["dem"])  # type: ignore[arg-type]
    if facilities:
        changes["assets"] = _with_facilities(city)
    path = folder / "kouvola.gpkg"
    dataclasses.replace(city, **changes).write(path)  # type: ignore[arg-type]
    return path
