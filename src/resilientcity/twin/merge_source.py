"""Reading the user's file for ``twin merge``: any vector format, or a CSV with coordinates.

GeoPackage (one layer, or the one named), Shapefile, GeoJSON and the other formats GDAL reads
come through pyogrio; GeoParquet through geopandas; a ``.csv`` through pandas, its points
made from two coordinate columns (``lon``/``lat`` in WGS 84, or ``x``/``y`` in the mapping's
``crs``). Rows are numbered from 1 in the file's order (a CSV's header is not a row).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.twin.mapping import Mapping

__all__ = ["SourceTable", "read_source", "row_labels"]

#: Coordinate columns a CSV is searched for (lower case) when the mapping names none.
_LONLAT_NAMES = (("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"))
_XY_NAMES = (("x", "y"), ("easting", "northing"))


@dataclass(frozen=True)
class SourceTable:
    """The user's rows: attributes, shapes (or ``None`` for a table) and their CRS."""

    name: str
    frame: pd.DataFrame
    geometry: NDArray[np.object_] | None
    crs: CRS | None


def row_labels(mask: NDArray[np.bool_]) -> tuple[str, ...]:
    """1-based row numbers of the rows under ``mask``."""
    return tuple(str(i + 1) for i in np.flatnonzero(mask))


def _csv_coordinates(
    frame: pd.DataFrame, mapping: Mapping, name: str
) -> tuple[str, str, bool] | None:
    """``(x column, y column, is_lonlat)`` of a CSV, from the mapping or by the usual names."""
    if mapping.coordinates is not None:
        x, y = mapping.coordinates.columns()
        return x, y, mapping.coordinates.lon is not None
    lower = {str(c).strip().lower(): str(c) for c in frame.columns}
    for pairs, lonlat in ((_LONLAT_NAMES, True), (_XY_NAMES, False)):
        for a, b in pairs:
            if a in lower and b in lower:
                return lower[a], lower[b], lonlat
    return None


def _read_csv(
    source: Path, mapping: Mapping, needs_geometry: bool
) -> tuple[pd.DataFrame, NDArray[np.object_] | None, CRS | None]:
    name = source.name
    try:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataFileError(f"{source} is not a readable CSV file: {exc}") from exc
    if not needs_geometry:
        return frame, None, None
    found = _csv_coordinates(frame, mapping, name)
    columns = ", ".join(map(str, frame.columns))
    if found is None:
        raise ValidationError(
            [
                Problem(
                    name,
                    "",
                    "coordinate columns: lon and lat (WGS 84), or x and y with crs in the mapping "
                    "(or name them under coordinates: in the mapping)",
                    found=f"the columns {columns}",
                )
            ],
            what=f"CSV {source}",
        )
    x_col, y_col, lonlat = found
    problems = [
        Problem(
            name,
            col,
            "a coordinate column of the CSV",
            found=f"no such column (columns: {columns})",
        )
        for col in (x_col, y_col)
        if col not in frame.columns
    ]
    crs = CRS.from_epsg(4326) if lonlat else None
    if not lonlat and mapping.crs is None:
        problems.append(
            Problem(
                name,
                "crs",
                f"crs: in the mapping for the x/y columns {x_col}, {y_col}",
                found="none",
            )
        )
    if problems:
        raise ValidationError(problems, what=f"CSV {source}")
    xy = []
    for col in (x_col, y_col):
        text = frame[col].str.strip()
        number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(number)
        if bad.any():
            sample = ", ".join(repr(v) for v in dict.fromkeys(text[bad].tolist()))
            problems.append(
                Problem(name, col, "a number (coordinate)", row_labels(bad), found=sample[:80])
            )
        xy.append(number)
    if problems:
        raise ValidationError(problems, what=f"CSV {source}")
    return frame, shapely.points(xy[0], xy[1]), crs


def _read_vector(
    source: Path, source_layer: str | None
) -> tuple[pd.DataFrame, NDArray[np.object_] | None, CRS | None]:
    try:
        if source.suffix.lower() in (".parquet", ".geoparquet"):
            data = gpd.read_parquet(source)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                layers = [str(n) for n, _ in pyogrio.list_layers(source)]
                if source_layer is None and len(layers) > 1:
                    raise DataFileError(
                        f"{source} has {len(layers)} layers ({', '.join(layers)}): "
                        "choose one with --source-layer"
                    )
                if source_layer is not None and source_layer not in layers:
                    raise DataFileError(
                        f"{source} has no layer {source_layer!r} (layers: {', '.join(layers)})"
                    )
                data = pyogrio.read_dataframe(source, layer=source_layer)
    except DataFileError:
        raise
    except Exception as exc:  # GDAL, pyarrow and geopandas raise their own errors
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataFileError(f"{source} is not a readable vector file: {reason}") from exc
    if not isinstance(data, gpd.GeoDataFrame):
        return pd.DataFrame(data), None, None
    crs = CRS.from_user_input(data.crs) if data.crs is not None else None
    attributes = pd.DataFrame(data.drop(columns=data.geometry.name))
    return attributes, np.asarray(data.geometry.to_numpy(), dtype=object), crs


def read_source(
    path: str | PathLike[str],
    mapping: Mapping,
    *,
    source_layer: str | None = None,
    needs_geometry: bool = True,
) -> SourceTable:
    """Read the user's file with the CRS of its shapes.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON, GeoParquet (``.parquet``) or CSV (``.csv``).
    mapping
        The column mapping (a CSV's coordinate columns, a CRS for files without one).
    source_layer
        The layer of a file with several (a GeoPackage).
    needs_geometry
        Whether rows need a location (assets, sensors); a dependency table needs none.

    Returns
    -------
    SourceTable
        Attributes with the file's column names; shapes and their CRS (from the file, else the
        mapping's ``crs``; WGS 84 for CSV ``lon``/``lat``).

    Raises
    ------
    DataFileError
        The file is missing or unreadable, or has several layers and none was chosen.
    ValidationError
        A CSV without coordinate columns or with unparsable coordinates, shapes without a CRS,
        or a file CRS that contradicts the mapping's (each naming the file, column and rows).
    """
    source = Path(path)
    if not source.is_file():
        raise DataFileError(f"no such file: {source}")
    if source.suffix.lower() == ".csv":
        frame, geometry, crs = _read_csv(source, mapping, needs_geometry)
    else:
        frame, geometry, crs = _read_vector(source, source_layer)
    given = CRS.from_user_input(mapping.crs) if mapping.crs is not None else None
    if geometry is not None and crs is None:
        if given is None:
            raise ValidationError(
                [
                    Problem(
                        source.name,
                        "crs",
                        "a coordinate reference system (a Shapefile's .prj, or crs: in the mapping)",
                        found="none in the file",
                    )
                ],
                what=f"file {source}",
            )
        crs = given
    elif (
        geometry is not None
        and given is not None
        and crs is not None
        and given != crs
        and source.suffix.lower() != ".csv"
    ):
        raise ValidationError(
            [
                Problem(
                    source.name, "crs", f"the mapping's crs {mapping.crs}", found=crs.to_string()
                )
            ],
            what=f"file {source}",
        )
    if needs_geometry and geometry is None:
        raise ValidationError(
            [
                Problem(
                    source.name,
                    "geometry",
                    "a location for every row (points or shapes)",
                    found="a table without geometry",
                )
            ],
            what=f"file {source}",
        )
    return SourceTable(source.name, frame.reset_index(drop=True), geometry, crs)
