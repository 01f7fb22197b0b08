"""Any GeoTIFF (or GDAL raster) as a hazard layer: sampled at every asset of a city.

Each raster is one event: band ``band`` is read at the cell under a point on the surface of
every asset's geometry (the point itself for point assets; for lines and polygons a point
guaranteed to lie on them, :func:`shapely.point_on_surface`). The values, times ``scale``, are
the intensity in the hazard kind's unit (``HAZARD_UNITS``: flood depth in m, PGA in g, wind in
m/s).

A raster in another CRS than the city is **not** warped: the asset points are transformed to the
raster's CRS with pyproj (one transformation per CRS, exact, and much cheaper than resampling
the grid), and that is logged at INFO. A raster without a CRS is refused. Assets outside the
raster or on no-data cells are an error that names the file and the assets, never a silent zero,
unless the caller passes ``outside="zero"`` (then they get 0 and their number is logged at
WARNING).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import rasterio
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from rasterio.windows import Window

from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.hazard.events import HazardEvents
from resilientcity.twin.city import City
from resilientcity.vocabulary import HazardKind

__all__ = ["RasterLayer", "raster_hazard_events", "sample_raster"]

logger = logging.getLogger(__name__)

Outside = Literal["error", "zero"]
_LAYER_COLUMNS = ("path", "event_id", "frequency")
_WHAT = "raster hazard layers"


@dataclass(frozen=True)
class RasterLayer:
    """One raster standing for one hazard event.

    Parameters
    ----------
    path
        The raster file (GeoTIFF or any raster GDAL reads), with a CRS.
    event_id
        Id of the event.
    frequency
        Annual frequency of the event (events per year, >= 0; 0 for a scenario).
    """

    path: Path
    event_id: str
    frequency: float = 0.0


@dataclass(frozen=True)
class _Raster:
    """What is needed of an open raster to sample it."""

    crs: CRS
    transform: Any
    shape: tuple[int, int]
    bounds: tuple[float, float, float, float]


def _layers(layers: Sequence[Any] | pd.DataFrame) -> list[RasterLayer]:
    """The layers as :class:`RasterLayer` from tuples, layers or a frame."""
    if isinstance(layers, pd.DataFrame):
        missing = [c for c in _LAYER_COLUMNS if c not in layers]
        if missing:
            problems = [Problem("layers", c, "a column of the layer table") for c in missing]
            raise ValidationError(problems, what=_WHAT)
        rows: list[Any] = list(layers[list(_LAYER_COLUMNS)].itertuples(index=False))
    else:
        rows = list(layers)
    out: list[RasterLayer] = []
    problems = []
    for k, row in enumerate(rows):
        if isinstance(row, RasterLayer):
            out.append(row)
            continue
        try:
            path, event_id, frequency = row
            out.append(RasterLayer(Path(path), str(event_id), float(frequency)))
        except (TypeError, ValueError):
            rule = "(path, event_id, annual frequency) or a RasterLayer"
            problems.append(Problem("layers", "", rule, (f"#{k}",), found=repr(row)[:80]))
    if not out and not problems:
        problems.append(Problem("layers", "", "at least one raster layer"))
    if problems:
        raise ValidationError(problems, what=_WHAT)
    return out


def _asset_points(city: City) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A point on the surface of every asset; missing or empty geometries are refused."""
    geoms = city.assets.geometry.to_numpy()
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        ids = tuple(city.assets["asset_id"].to_numpy(dtype=str)[bad])
        rule = "a non-empty geometry (the raster is sampled at a point on its surface)"
        raise ValidationError([Problem("assets", "geometry", rule, ids)], what=_WHAT)
    points = shapely.point_on_surface(geoms)
    return shapely.get_x(points).astype(np.float64), shapely.get_y(points).astype(np.float64)


def _open_checks(src: Any, source: Path, band: int) -> _Raster:
    """The raster's grid, after checking it has a CRS and the band."""
    if src.crs is None:
        raise DataFileError(
            f"{source} has no coordinate reference system: assign one (e.g. with "
            f"`gdal_edit.py -a_srs EPSG:…`) so that it can be placed on the city"
        )
    if not 1 <= band <= src.count:
        raise DataFileError(f"{source} has {src.count} band(s); band {band} was requested")
    crs = CRS.from_wkt(src.crs.to_wkt())
    return _Raster(crs, src.transform, (src.height, src.width), tuple(src.bounds))


def _cells(
    grid: _Raster, x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """Row and column of the cell under each point, and whether it lies on the grid."""
    inv = ~grid.transform  # (x, y) → (col, row), written out: `*` on arrays is deprecated
    col = np.floor(inv.a * x + inv.b * y + inv.c)
    row = np.floor(inv.d * x + inv.e * y + inv.f)
    rows, cols = grid.shape
    on = np.isfinite(row) & np.isfinite(col) & (row >= 0) & (row < rows) & (col >= 0)
    on &= col < cols
    return np.where(on, row, 0).astype(np.int64), np.where(on, col, 0).astype(np.int64), on


def _read_at(
    src: Any, band: int, row: NDArray[np.int64], col: NDArray[np.int64], on: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Values of ``band`` at (row, col) of the points on the grid; NaN elsewhere and on no-data.

    Only the window spanning the points is read.
    """
    out = np.full(row.shape, np.nan, dtype=np.float64)
    if not on.any():
        return out
    r0, r1 = int(row[on].min()), int(row[on].max()) + 1
    c0, c1 = int(col[on].min()), int(col[on].max()) + 1
    block = src.read(band, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
    values = np.ma.filled(block.astype(np.float64), np.nan)
    out[on] = values[row[on] - r0, col[on] - c0]
    return out


def _describe(ids: NDArray[np.str_]) -> tuple[str, ...]:
    return tuple(str(i) for i in ids)


def sample_raster(
    path: str | PathLike[str],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    crs: CRS | str,
    ids: NDArray[np.str_],
    *,
    band: int = 1,
    scale: float = 1.0,
    outside: Outside = "error",
) -> NDArray[np.float64]:
    """Values of one raster band at points, times ``scale``, checked.

    Parameters
    ----------
    path
        The raster file.
    x, y
        Point coordinates in ``crs``.
    crs
        CRS of the points; when the raster has another CRS the points are transformed to it
        (logged at INFO).
    ids
        Id of each point, used in error messages.
    band
        Band to read (1 is the first).
    scale
        Factor applied to the raster values (e.g. 0.01 for a depth raster in cm), finite > 0.
    outside
        ``"error"`` (default): points off the raster or on no-data are an error;
        ``"zero"``: they get 0 and their number is logged at WARNING.

    Returns
    -------
    numpy.ndarray
        One value per point, finite and >= 0.

    Raises
    ------
    DataFileError
        Missing or unreadable file, no CRS, no such band.
    ValidationError
        Points off the raster or on no-data (unless ``outside="zero"``), or values that are not
        finite or are negative, naming the file and the points.
    """
    source = Path(path)
    if not source.is_file():
        raise DataFileError(f"no such raster file: {source}")
    target = CRS.from_user_input(crs)
    try:
        with rasterio.open(source) as src:
            grid = _open_checks(src, source, band)
            px, py = x, y
            if grid.crs != target:
                to_raster = Transformer.from_crs(target, grid.crs, always_xy=True)
                px, py = (np.asarray(v, dtype=np.float64) for v in to_raster.transform(x, y))
                logger.info(
                    "reprojected %d assets from %s to %s to sample %s",
                    x.size,
                    target.to_string(),
                    grid.crs.to_string(),
                    source.name,
                )
            row, col, on = _cells(grid, px, py)
            values = _read_at(src, band, row, col, on)
    except DataFileError:
        raise
    except Exception as exc:  # rasterio raises RasterioIOError and others for bad files
        raise DataFileError(f"{source} is not a readable raster: {exc}") from exc
    return _checked(values, on, grid, source, ids, band, scale, outside)


def _checked(
    values: NDArray[np.float64], on: NDArray[np.bool_], grid: _Raster, source: Path,
    ids: NDArray[np.str_], band: int, scale: float, outside: Outside,
) -> NDArray[np.float64]:  # fmt: skip
    """Apply ``outside`` and ``scale``; refuse missing, non-finite and negative values."""
    layer = f"raster {source.name}"
    column = f"band {band}"
    off, nodata = ~on, on & np.isnan(values)
    if outside == "error" and (off.any() or nodata.any()):
        problems = []
        if off.any():
            extent = ", ".join(f"{b:.6g}" for b in grid.bounds)
            rule = (
                f"every asset inside the raster extent ({extent} in {grid.crs.to_string()}); "
                f"pass outside='zero' to give them 0"
            )
            problems.append(Problem(layer, column, rule, _describe(ids[off]), "outside"))
        if nodata.any():
            rule = "a value (not no-data) under every asset; pass outside='zero' to give them 0"
            problems.append(Problem(layer, column, rule, _describe(ids[nodata]), "no-data"))
        raise ValidationError(problems, what=f"hazard raster {source}")
    if off.any() or nodata.any():
        logger.warning(
            "%s: %d assets outside the raster and %d on no-data cells were given 0",
            source.name,
            int(off.sum()),
            int(nodata.sum()),
        )
    out = np.where(off | nodata, 0.0, values * scale)
    bad = ~np.isfinite(out) | (out < 0)
    if bad.any():
        rule = f"finite values >= 0 (after scale {scale:g})"
        problem = Problem(layer, column, rule, _describe(ids[bad]), "NaN, infinite or negative")
        raise ValidationError([problem], what=f"hazard raster {source}")
    return out


def raster_hazard_events(
    city: City,
    layers: Sequence[Any] | pd.DataFrame,
    kind: HazardKind,
    *,
    band: int = 1,
    scale: float = 1.0,
    outside: Outside = "error",
) -> HazardEvents:
    """Hazard events from rasters: each raster sampled at every asset of the city.

    Parameters
    ----------
    city
        The city; every asset needs a non-empty geometry.
    layers
        The rasters: a sequence of ``(path, event_id, annual_frequency)`` tuples or
        :class:`RasterLayer`, or a DataFrame with columns ``path``, ``event_id``, ``frequency``.
        One event per raster, in this order.
    kind
        Hazard kind of the events; the raster values times ``scale`` must be in its unit
        (``HAZARD_UNITS``).
    band
        Band to read from every raster (1 is the first).
    scale
        Factor from the raster's unit to the kind's unit (e.g. 0.01 for cm → m), finite > 0.
    outside
        ``"error"`` (default) or ``"zero"``, see :func:`sample_raster`.

    Returns
    -------
    HazardEvents
        ``kind`` events with the sampled intensity at each asset (zeros not stored).

    Raises
    ------
    DataFileError
        A raster missing, unreadable, without CRS or without the band.
    ValidationError
        Bad layers or options; assets without geometry, off a raster or on its no-data (unless
        ``outside="zero"``), negative or non-finite values — naming the file and the assets;
        duplicate event ids or bad frequencies (from :class:`HazardEvents`).
    """
    problems = []
    if outside not in ("error", "zero"):
        problems.append(Problem("options", "outside", "'error' or 'zero'", found=repr(outside)))
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        problems.append(Problem("options", "scale", "a finite factor > 0", found=repr(scale)))
    if not isinstance(band, int) or band < 1:
        problems.append(Problem("options", "band", "a band number >= 1", found=repr(band)))
    if problems:
        raise ValidationError(problems, what=_WHAT)
    items = _layers(layers)
    x, y = _asset_points(city)
    ids = city.assets["asset_id"].to_numpy(dtype=str)
    rows = [
        sample_raster(
            item.path, x, y, city.crs, ids, band=band, scale=float(scale), outside=outside
        )
        for item in items
    ]
    matrix = sp.csr_array(np.vstack(rows)) if ids.size else sp.csr_array((len(rows), 0))
    matrix.eliminate_zeros()
    event_ids = np.array([item.event_id for item in items], dtype=str)
    frequency = np.array([item.frequency for item in items], dtype=np.float64)
    return HazardEvents(kind, event_ids, frequency, matrix, ids)
