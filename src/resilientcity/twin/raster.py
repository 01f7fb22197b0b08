"""Reading rasters (GeoTIFF or any GDAL raster) into a :class:`DEM` or a population grid.

Elevation is reprojected to the city's CRS; population counts or densities are read as the
window over the city, in the raster's own CRS (:class:`~resilientcity.twin.population.PopulationGrid`).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.features
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS
from rasterio.warp import Resampling, calculate_default_transform, reproject, transform_bounds
from rasterio.windows import Window

from resilientcity.errors import DataFileError
from resilientcity.twin.dem import DEM
from resilientcity.twin.population import PopulationGrid, PopulationUnit

__all__ = ["burn", "read_dem", "read_population"]

# rasterio's rasterize hides GDAL's NotGeoreferencedWarning for its in-memory dataset inside
# warnings.catch_warnings, which swaps the process-wide filter list and is not thread-safe:
# two threads burning at once (the service's request threads and its background nowcast) can
# restore each other's filters mid-call and let the warning through. One lock serialises them.
_RASTERIZE = threading.Lock()


def burn(
    shapes: Iterable[tuple[Any, int]],
    shape: tuple[int, int],
    transform: Affine,
    all_touched: bool = True,
) -> NDArray[np.uint8]:
    """Rasterise ``(geometry, value)`` pairs onto a ``shape`` grid.

    ``rasterio.features.rasterize``, made thread-safe (see ``_RASTERIZE``).

    Parameters
    ----------
    shapes
        Shapely geometries in the grid's CRS, each with its value (0–255).
    shape
        Rows and columns of the grid.
    transform
        The grid's affine transform.
    all_touched
        Burn every cell a geometry touches (True) or only those whose centre it covers.

    Returns
    -------
    numpy.ndarray of uint8
        The burned values, 0 elsewhere.
    """
    with _RASTERIZE:
        return rasterio.features.rasterize(
            shapes, out_shape=shape, transform=transform, all_touched=all_touched, dtype="uint8"
        )


def _open_band(
    source: Path, band: int, over: tuple[CRS, tuple[float, float, float, float]] | None = None
) -> tuple[NDArray[np.float64], Affine, CRS, tuple[float, float, float, float]]:
    """Band ``band`` of a raster (no-data as NaN), its transform, CRS and bounds.

    With ``over`` (a CRS and bounds in it), only the window that covers those bounds (one cell
    of margin) is read; a raster that does not overlap them raises :class:`DataFileError`.
    """
    if not source.is_file():
        raise DataFileError(f"no such file: {source}")
    try:
        with rasterio.open(source) as src:
            if src.crs is None:
                raise DataFileError(f"{source} has no coordinate reference system")
            epsg = src.crs.to_epsg()  # GeoTIFF keys lose the EPSG name of many CRSs
            src_crs = CRS.from_epsg(epsg) if epsg else CRS.from_wkt(src.crs.to_wkt())
            t = src.transform
            window = None if over is None else _window(source, src, src_crs, *over)
            data = src.read(band, window=window, masked=True).astype(np.float64).filled(np.nan)
            transform = src.transform
            if window is not None:  # north-up (checked); rasterio's window_transform warns
                col, row = window.col_off, window.row_off
                transform = Affine(t.a, 0.0, t.c + col * t.a, 0.0, t.e, t.f + row * t.e)
            bounds = tuple(src.bounds) if window is None else _bounds(transform, data.shape)
    except DataFileError:
        raise
    except Exception as exc:
        raise DataFileError(f"{source} is not a readable raster: {exc}") from exc
    return data, transform, src_crs, bounds


def _bounds(t: Affine, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    rows, cols = shape
    return (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)


def _window(
    source: Path,
    src: Any,
    src_crs: CRS,
    crs: CRS,
    bounds: tuple[float, float, float, float],
) -> Window:
    """The window of ``src`` over ``bounds`` (in ``crs``), with one cell of margin."""
    t = src.transform
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        raise DataFileError(
            f"{source} is not a north-up raster (its transform is {tuple(t)[:6]}): warp it first, "
            "e.g. gdalwarp"
        )
    left, bottom, right, top = transform_bounds(crs, src_crs, *bounds, densify_pts=21)
    col0 = max(int(np.floor((left - t.c) / t.a)) - 1, 0)
    col1 = min(int(np.ceil((right - t.c) / t.a)) + 1, src.width)
    row0 = max(int(np.floor((top - t.f) / t.e)) - 1, 0)
    row1 = min(int(np.ceil((bottom - t.f) / t.e)) + 1, src.height)
    if col0 >= col1 or row0 >= row1:
        have = ", ".join(f"{v:.6g}" for v in src.bounds)
        want = ", ".join(f"{v:.6g}" for v in (left, bottom, right, top))
        raise DataFileError(
            f"{source} does not cover the city: it spans ({have}) in {src_crs.to_string()}, "
            f"the city ({want})"
        )
    return Window(col0, row0, col1 - col0, row1 - row0)


def read_dem(path: str | PathLike[str], crs: CRS | str | None = None, band: int = 1) -> DEM:
    """Read band ``band`` of a raster as a DEM, reprojected (bilinear) to ``crs`` when given.

    No-data cells become ``NaN``. Without ``crs`` the raster must already be in a projected,
    metric CRS.

    Raises
    ------
    DataFileError
        The file is missing or not a readable raster, or it has no CRS.
    """
    data64, transform, src_crs, bounds = _open_band(Path(path), band)
    data = data64.astype(np.float32)
    height, width = data.shape
    target = CRS.from_user_input(crs) if crs is not None else src_crs
    if target == src_crs:
        return DEM(data, transform, target)
    with warnings.catch_warnings():  # rasterio 1.4 multiplies Affines with `*` internally
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        dst_transform, dst_width, dst_height = calculate_default_transform(
            src_crs, target, width, height, *bounds
        )
    out = np.full((dst_height, dst_width), np.nan, dtype=np.float32)
    reproject(
        data,
        out,
        src_transform=transform,
        src_crs=src_crs,
        src_nodata=np.nan,
        dst_transform=dst_transform,
        dst_crs=target,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    return DEM(out, dst_transform, target)


def _cell_area_km2(transform: Affine, crs: CRS, rows: int) -> NDArray[np.float64]:
    """Area (km²) of the cells of each row: geodesic for a geographic CRS, else nominal."""
    if not crs.is_geographic:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        return np.full(rows, transform.a * -transform.e * unit**2 / 1e6)
    geod = crs.get_geod()
    assert geod is not None  # a geographic CRS has an ellipsoid
    west, east = transform.c, transform.c + transform.a
    north = transform.f + np.arange(rows) * transform.e
    south = north + transform.e
    return np.array(
        [
            abs(geod.polygon_area_perimeter([west, east, east, west], [s, s, n, n])[0]) / 1e6
            for n, s in zip(north.tolist(), south.tolist(), strict=True)
        ]
    )


def read_population(
    path: str | PathLike[str],
    crs: CRS | str,
    bounds: tuple[float, float, float, float],
    unit: PopulationUnit = "count",
    band: int = 1,
) -> PopulationGrid:
    """Read the window of a population raster (any CRS) that covers ``bounds``.

    The raster is not resampled: the grid stays in its own CRS, and
    :func:`~resilientcity.twin.population.disaggregate` transforms the buildings to it.
    No-data cells and NaN become ``NaN`` (no data).

    Parameters
    ----------
    path
        GeoTIFF or any GDAL raster of people per cell (WorldPop ``ppp``, GHS-POP) or per km²
        (WorldPop ``pd``, GPW density).
    crs, bounds
        The city's CRS and ``(minx, miny, maxx, maxy)`` in it.
    unit
        ``count`` (people per cell) or ``per_km2`` (people per km², multiplied by the cell's
        area: geodesic on the raster's ellipsoid for a geographic CRS, else the nominal cell
        size).
    band
        Band to read (1-based).

    Raises
    ------
    DataFileError
        The file is missing, not a readable raster, has no CRS, is rotated, does not overlap
        ``bounds``, or holds negative or infinite values over them.
    """
    if unit not in ("count", "per_km2"):
        raise ValueError(f"unit: expected count or per_km2, got {unit!r}")
    source = Path(path)
    people, transform, src_crs, _ = _open_band(source, band, (CRS.from_user_input(crs), bounds))
    try:
        if unit == "per_km2":
            people = people * _cell_area_km2(transform, src_crs, people.shape[0])[:, None]
        return PopulationGrid(people, transform, src_crs, source=str(source), unit=unit)
    except ValueError as exc:
        raise DataFileError(str(exc)) from exc
