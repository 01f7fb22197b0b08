"""Reading elevation rasters (GeoTIFF or any GDAL raster) into a :class:`DEM`."""

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
from rasterio.warp import Resampling, calculate_default_transform, reproject

from resilientcity.errors import DataFileError
from resilientcity.twin.dem import DEM

__all__ = ["burn", "read_dem"]

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


def read_dem(path: str | PathLike[str], crs: CRS | str | None = None, band: int = 1) -> DEM:
    """Read band ``band`` of a raster as a DEM, reprojected (bilinear) to ``crs`` when given.

    No-data cells become ``NaN``. Without ``crs`` the raster must already be in a projected,
    metric CRS.

    Raises
    ------
    DataFileError
        The file is missing or not a readable raster, or it has no CRS.
    """
    source = Path(path)
    if not source.is_file():
        raise DataFileError(f"no such file: {source}")
    try:
        with rasterio.open(source) as src:
            if src.crs is None:
                raise DataFileError(f"{source} has no coordinate reference system")
            data = src.read(band, masked=True).astype(np.float32).filled(np.nan)
            src_crs = CRS.from_wkt(src.crs.to_wkt())
            transform = src.transform
            height, width = src.height, src.width
            bounds = src.bounds
    except DataFileError:
        raise
    except Exception as exc:
        raise DataFileError(f"{source} is not a readable raster: {exc}") from exc
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
