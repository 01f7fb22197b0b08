"""Residents from a population raster: dasymetric disaggregation onto residential floor area.

A population raster (WorldPop, GHS-POP, a census grid …) says how many people live in each
cell; the twin says where the homes are. :func:`disaggregate` shares each cell's people among
the residential buildings in it, in proportion to their residential floor area.

The rule (recorded in the twin's metadata as :data:`RULE`):

* **Area-weighted overlay.** A building's floor area is split among the raster cells its
  footprint overlaps, in proportion to the area of the footprint in each cell (a point asset
  lies wholly in its cell). Each cell's people go to the pieces of floor area in it, in
  proportion to their size: building *i* receives Σ_cells people(c) × floor(i, c) / floor(c).
  Done in the raster's own CRS (the footprints are transformed, the raster is never resampled),
  so every person of the raster is accounted for.
* **The city's area**: the cells count with the share of their area inside ``area`` (the
  twin's district zones together with the convex hull of its assets buffered
  :data:`AREA_BUFFER_M`), so a cell cut by the city's edge contributes only its inside share.
* **Unplaced people.** A cell with people but no residential floor area gives them to no one:
  they are reported (``unplaced``, ``unplaced_share``, ``unplaced_cells``), never dropped
  silently, and are in no zone. ``placed + unplaced == raster_total`` always.
* **Off the raster.** The share of a building's floor area that lies outside the raster or on
  cells without data (the raster's no-data value, or NaN) keeps the building's current
  residents for that share (after an import: the floor-area estimate, floor /
  ``floor_area_per_resident_m2`` × ``residential_occupancy_rate``); ``buildings_outside``
  counts the buildings wholly off it and ``floor_outside_share`` the share of residential floor
  area off it.
* Only residential assets (``occupancy == "residential"``) with floor area > 0 change; their
  ``capacity`` (the bed places of the floor-area rule) stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS
from scipy.spatial import ConvexHull, QhullError

from resilientcity.errors import DataFileError
from resilientcity.twin.city import City

__all__ = [
    "AREA_BUFFER_M",
    "RULE",
    "PopulationGrid",
    "PopulationReport",
    "PopulationUnit",
    "apply_population",
    "city_area",
    "disaggregate",
    "zone_population",
]

#: How the raster's values are read: people per cell, or people per km² of the cell.
PopulationUnit = Literal["count", "per_km2"]
#: Buffer (m) of the assets' convex hull in the city's area (as the OSM importer's district).
AREA_BUFFER_M = 100.0
#: The rule, in words, recorded with the totals in ``City.metadata["population"]``.
RULE = (
    "dasymetric, area-weighted: each raster cell's people (counted with the share of the cell "
    "inside the city's area) are shared among the residential buildings whose footprint "
    "overlaps the cell, in proportion to their residential floor area in the cell; people of "
    "cells without residential floor area are reported as unplaced; the floor area outside "
    "the raster or on no-data cells keeps its floor-area estimate"
)
#: Most footprint × cell pieces intersected at once (bounds the memory of the overlay).
_CHUNK_PIECES = 500_000


@dataclass(eq=False)
class PopulationGrid:
    """People per cell of a north-up raster window, in the raster's own CRS.

    Parameters
    ----------
    people
        2-D array (rows from north to south), people living in each cell; ``NaN`` marks cells
        without data. Finite values must be >= 0.
    transform
        Affine transform from (col, row) to (x, y) of the cells' upper-left corners; north-up
        (no rotation, negative y step).
    crs
        The raster's CRS (any: geographic or projected).
    source
        Where the grid comes from (a file name), for messages.
    unit
        How the file's values were read (``count`` or ``per_km2``), for the metadata.
    """

    people: NDArray[np.float64]
    transform: Affine
    crs: CRS
    source: str = "population grid"
    unit: PopulationUnit = "count"

    def __post_init__(self) -> None:
        self.people = np.asarray(self.people, dtype=np.float64)
        if self.people.ndim != 2 or min(self.people.shape) < 1:
            raise ValueError(
                f"{self.source}: expected a non-empty 2-D grid, got {self.people.shape}"
            )
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise ValueError(
                f"{self.source}: expected a north-up raster without rotation, "
                f"got the transform {tuple(t)[:6]}"
            )
        self.crs = CRS.from_user_input(self.crs)
        bad = np.isinf(self.people) | (self.people < 0)
        if bad.any():
            row, col = (int(i[0]) for i in np.nonzero(bad))
            raise ValueError(
                f"{self.source}: expected people per cell >= 0 (or no data), found "
                f"{int(bad.sum()):,} cells with negative or infinite values over the city "
                f"(first: {self.people[row, col]} at row {row}, column {col} of the window)"
            )


class PopulationReport(TypedDict):
    """What :func:`disaggregate` did: the totals before and after, and what it could not place."""

    source: str
    crs: str
    unit: str
    rule: str
    raster_total: float  # people of the data cells over the city's area (inside share)
    placed: float  # people given to residential buildings
    unplaced: float  # people of cells without residential floor area
    unplaced_share: float  # unplaced / raster_total (0 when the total is 0)
    unplaced_cells: int
    nodata_cells: int  # cells over the city's area without data
    residents_before: float
    residents_after: float
    buildings: int  # residential assets with floor area
    buildings_outside: int  # … wholly outside the raster or on no-data cells
    residents_outside: float  # residents kept from before for floor area off the raster
    floor_outside_share: float  # share of residential floor area off the raster's data


def _hull(xy: NDArray[np.float64]) -> Any:
    """Convex hull of points (qhull on the array; shapely's MultiPoint only when degenerate)."""
    try:
        return shapely.Polygon(xy[ConvexHull(xy).vertices])
    except (QhullError, ValueError, IndexError):  # fewer than 3 points, or all on a line
        return shapely.multipoints(xy).convex_hull


def city_area(assets: gpd.GeoDataFrame, zones: gpd.GeoDataFrame | None = None) -> Any:
    """The city's area: its district zones and the convex hull of its assets, buffered.

    Parameters
    ----------
    assets
        The ``assets`` layer (city CRS).
    zones
        The ``zones`` layer; its ``zone_type == "district"`` polygons join the area.

    Returns
    -------
    shapely.Geometry
        A polygon in the city's CRS that holds every asset.
    """
    hull = _hull(shapely.get_coordinates(assets.geometry.to_numpy())).buffer(AREA_BUFFER_M)
    if zones is None or not len(zones):
        return hull
    districts = zones.geometry.to_numpy()[zones["zone_type"].to_numpy() == "district"]
    return shapely.union_all(np.append(districts, hull))


def _cell_boxes(rows: NDArray[np.int64], cols: NDArray[np.int64], t: Affine) -> NDArray[np.object_]:
    return shapely.box(
        t.c + cols * t.a, t.f + (rows + 1) * t.e, t.c + (cols + 1) * t.a, t.f + rows * t.e
    )


def _clip_by_key(
    geoms: NDArray[np.object_], key: NDArray[np.int64], rect: Any
) -> NDArray[np.object_]:
    """``clip_by_rect`` of each geometry by ``rect(key)``, one call per distinct key."""
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    out = np.empty(len(geoms), dtype=object)
    for start, end in zip(starts.tolist(), np.r_[starts[1:], len(order)].tolist(), strict=True):
        group = order[start:end]
        out[group] = shapely.clip_by_rect(geoms[group], *rect(int(sorted_key[start])))
    return out


def _area_in_cells(
    geoms: NDArray[np.object_],
    idx: NDArray[np.int64],
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    t: Affine,
) -> NDArray[np.float64]:
    """Area of ``geoms[idx]`` inside the cell (``rows``, ``cols``) of each piece.

    Rectangle clips (about ten times faster than GEOS's general intersection), one call per
    column strip of the grid and then one per row strip, not one per cell.
    """
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms[np.unique(idx)])
    pairs, strip_of_piece = np.unique(np.c_[idx, cols], axis=0, return_inverse=True)
    strips = _clip_by_key(
        geoms[pairs[:, 0]], pairs[:, 1], lambda c: (t.c + c * t.a, ymin, t.c + (c + 1) * t.a, ymax)
    )
    cells = _clip_by_key(
        strips[strip_of_piece.ravel()],
        rows,
        lambda r: (xmin, t.f + (r + 1) * t.e, xmax, t.f + r * t.e),
    )
    return shapely.area(cells)


def _overlay(
    geoms: NDArray[np.object_], t: Affine
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Pieces (building, row, col, share of its footprint) of footprints cut by the grid."""
    b = shapely.bounds(geoms)
    c0 = np.floor((b[:, 0] - t.c) / t.a).astype(np.int64)
    c1 = np.maximum(np.ceil((b[:, 2] - t.c) / t.a).astype(np.int64) - 1, c0)
    r0 = np.floor((b[:, 3] - t.f) / t.e).astype(np.int64)
    r1 = np.maximum(np.ceil((b[:, 1] - t.f) / t.e).astype(np.int64) - 1, r0)
    width = c1 - c0 + 1
    count = width * (r1 - r0 + 1)
    single = np.flatnonzero(count == 1)
    parts = [(single, r0[single], c0[single], np.ones(len(single)))]
    multi = np.flatnonzero(count > 1)
    ends = np.cumsum(count[multi])
    start = 0
    while start < len(multi):  # chunks of at most _CHUNK_PIECES pieces (one building at least)
        done = ends[start - 1] if start else 0
        stop = max(int(np.searchsorted(ends, done + _CHUNK_PIECES, side="right")), start + 1)
        chunk = multi[start:stop]
        idx = np.repeat(chunk, count[chunk])
        k = np.arange(len(idx)) - np.repeat(np.cumsum(count[chunk]) - count[chunk], count[chunk])
        rows, cols = r0[idx] + k // width[idx], c0[idx] + k % width[idx]
        cut = _area_in_cells(geoms, idx, rows, cols, t)
        total = np.bincount(np.searchsorted(chunk, idx), cut, minlength=len(chunk))
        total = total[np.searchsorted(chunk, idx)]
        share = np.divide(cut, total, where=cut > 0, out=np.zeros_like(cut))
        flat = total <= 0  # no area (a line): its first cell
        share[flat & (k == 0)] = 1.0
        parts.append((idx, rows, cols, share))
        start = stop
    building, rows, cols, share = (np.concatenate(p) for p in zip(*parts, strict=True))
    return building.astype(np.int64), rows.astype(np.int64), cols.astype(np.int64), share


def _inside_share(area: Any, t: Affine, shape: tuple[int, int]) -> NDArray[np.float64]:
    """Share of each cell's area inside ``area`` (same CRS as the grid)."""
    rows, cols = np.indices(shape).reshape(2, -1)
    boxes = _cell_boxes(rows, cols, t)
    shapely.prepare(area)
    share = shapely.contains_properly(area, boxes).astype(np.float64)
    edge = (share == 0) & shapely.intersects(area, boxes)
    share[edge] = shapely.area(shapely.intersection(boxes[edge], area)) / (t.a * -t.e)
    return share.reshape(shape)


def disaggregate(
    assets: gpd.GeoDataFrame, grid: PopulationGrid, area: Any = None
) -> tuple[NDArray[np.float64], PopulationReport]:
    """Residents of each asset from a population raster (see the module docs for the rule).

    Parameters
    ----------
    assets
        The ``assets`` layer in the city's projected CRS (``occupancy``, ``floor_area_m2``,
        ``occupants``, geometry).
    grid
        People per cell, in any CRS.
    area
        The city's area in the assets' CRS (default :func:`city_area` of the assets); the
        convex hull of the assets is always part of it, so that it holds every footprint.

    Returns
    -------
    occupants : numpy.ndarray of float64
        The new ``occupants`` column (people), in the order of ``assets``: residential
        buildings get their share of the raster; every other asset keeps its value.
    report : PopulationReport
        Totals before and after, unplaced people, buildings off the raster.

    Raises
    ------
    DataFileError
        No residential floor area of the city lies on a cell of the grid with data.
    """
    occupants = assets["occupants"].to_numpy(dtype=np.float64).copy()
    floor_all = assets["floor_area_m2"].to_numpy(dtype=np.float64)
    geoms_all = assets.geometry.to_numpy()
    residential = (assets["occupancy"] == "residential").to_numpy()
    chosen = np.flatnonzero(
        residential
        & (floor_all > 0)
        & ~(shapely.is_missing(geoms_all) | shapely.is_empty(geoms_all))
    )
    floor = floor_all[chosen]
    hull = _hull(shapely.get_coordinates(geoms_all))
    area = hull.buffer(AREA_BUFFER_M) if area is None else shapely.union(area, hull)
    to_grid = gpd.GeoSeries(
        np.append(geoms_all[chosen], shapely.segmentize(area, 50.0)), crs=assets.crs
    )
    if CRS.from_user_input(assets.crs) != grid.crs:
        to_grid = to_grid.to_crs(grid.crs)
    geoms, area_in_grid = to_grid.to_numpy()[:-1], to_grid.to_numpy()[-1]

    height, width = grid.people.shape
    building, rows, cols, share = _overlay(geoms, grid.transform)
    on = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    cell = np.where(on, rows * width + cols, 0)
    people = grid.people.ravel()
    has_data = on & np.isfinite(people[cell])
    piece_floor = np.where(has_data, floor[building] * share, 0.0)
    cell_floor = np.bincount(cell, piece_floor, minlength=people.size)

    inside = _inside_share(area_in_grid, grid.transform, grid.people.shape).ravel()
    data = np.isfinite(people) & (inside > 0)
    cell_people = np.where(data, np.nan_to_num(people) * inside, 0.0)
    if len(chosen) and not cell_floor.any():
        raise DataFileError(
            f"{grid.source} does not cover the city: no residential floor area lies on a cell "
            "with data"
        )
    received = np.divide(
        cell_people[cell] * piece_floor, cell_floor[cell], where=piece_floor > 0,
        out=np.zeros_like(piece_floor),
    )  # fmt: skip
    off_share = 1.0 - np.bincount(building, np.where(has_data, share, 0.0), minlength=len(chosen))
    off_share = np.where(off_share < 1e-9, 0.0, np.where(off_share > 1 - 1e-9, 1.0, off_share))
    before = occupants[chosen]
    kept = before * off_share
    occupants[chosen] = np.bincount(building, received, minlength=len(chosen)) + kept

    raster_total = float(cell_people.sum())
    unplaced_cells = data & (cell_people > 0) & (cell_floor <= 0)
    unplaced = float(cell_people[unplaced_cells].sum())
    report: PopulationReport = {
        "source": grid.source,
        "crs": grid.crs.to_string(),
        "unit": grid.unit,
        "rule": RULE,
        "raster_total": raster_total,
        "placed": float(received.sum()),
        "unplaced": unplaced,
        "unplaced_share": unplaced / raster_total if raster_total > 0 else 0.0,
        "unplaced_cells": int(unplaced_cells.sum()),
        "nodata_cells": int(((inside > 0) & ~np.isfinite(people)).sum()),
        "residents_before": float(
            assets["occupants"].to_numpy(dtype=np.float64)[residential].sum()
        ),
        "residents_after": float(occupants[residential].sum()),
        "buildings": len(chosen),
        "buildings_outside": int((off_share == 1.0).sum()),
        "residents_outside": float(kept.sum()),
        "floor_outside_share": float((floor * off_share).sum() / floor.sum())
        if len(chosen)
        else 0.0,
    }
    return occupants, report


def zone_population(assets: pd.DataFrame, zones: pd.DataFrame) -> NDArray[np.float64]:
    """Residents of each zone: Σ occupants of the residential assets in it.

    An asset is in its ``cell_id``, its ``zone_id`` and every ancestor of its ``zone_id``
    (``parent_id`` upwards); a zone holding no asset keeps its population.

    Parameters
    ----------
    assets
        The ``assets`` layer (``occupancy``, ``occupants``, ``zone_id``, ``cell_id``).
    zones
        The ``zones`` layer (``zone_id``, ``parent_id``, ``population``).

    Returns
    -------
    numpy.ndarray of float64
        The new ``population`` column, in the order of ``zones``.
    """
    residents = assets["occupants"].where(assets["occupancy"] == "residential", 0.0).to_numpy()
    parent = dict(zip(zones["zone_id"], zones["parent_id"], strict=True))
    index = np.arange(len(assets))
    pairs = [(index, assets["cell_id"].to_numpy(dtype=object))]
    level = assets["zone_id"].to_numpy(dtype=object)
    for _ in range(len(zones) + 1):  # up the parent chain (a cycle stops at the zone count)
        known = np.array([z in parent for z in level], dtype=bool)
        if not known.any():
            break
        index, level = index[known], level[known]
        pairs.append((index, level))
        level = np.array([parent[z] for z in level], dtype=object)
    member = pd.DataFrame(
        {
            "asset": np.concatenate([i for i, _ in pairs]),
            "zone": np.concatenate([z for _, z in pairs]),
        }
    ).drop_duplicates()
    totals = (
        pd.Series(residents[member["asset"].to_numpy()]).groupby(member["zone"].to_numpy()).sum()
    )
    population = zones["population"].to_numpy(dtype=np.float64).copy()
    has = zones["zone_id"].isin(totals.index).to_numpy()
    population[has] = zones["zone_id"][has].map(totals).to_numpy(dtype=np.float64)
    return population


def apply_population(city: City, grid: PopulationGrid) -> tuple[City, PopulationReport]:
    """The city with residents from ``grid``, zones following them, the report in its metadata.

    Parameters
    ----------
    city
        A valid city.
    grid
        People per cell, in any CRS.

    Returns
    -------
    city : City
        A new city: ``assets.occupants`` from :func:`disaggregate` (area: :func:`city_area` of
        its assets and district zones), ``zones.population`` from :func:`zone_population`,
        ``metadata["population"]`` the report.
    report : PopulationReport
        As :func:`disaggregate`.
    """
    occupants, report = disaggregate(city.assets, grid, city_area(city.assets, city.zones))
    assets = city.assets.copy()
    assets["occupants"] = occupants
    zones = city.zones.copy()
    zones["population"] = zone_population(assets, zones)
    metadata = {**city.metadata, "population": dict(report)}
    return replace(city, assets=assets, zones=zones, metadata=metadata), report
