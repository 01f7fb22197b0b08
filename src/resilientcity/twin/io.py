"""Reading and writing a city as one GeoPackage.

Layout of the file:

* one vector layer per :data:`~resilientcity.twin.schema.LAYERS` entry (``assets``,
  ``road_nodes``, ``road_edges``, ``dependencies``, ``zones``, ``sensors``, ``rivers``,
  ``water_bodies``); files written before a layer or an optional column existed still read:
  the layer is empty and the column filled with its default (``dependencies.origin`` ``given``,
  ``rivers.waterway`` ``river``);
* the DEM as a float32 raster table ``dem`` (GeoPackage 2-D gridded coverage extension, TIFF
  tiles: lossless for float32);
* an attribute table ``rc_metadata`` (key, JSON value): the format version, the city's name and
  CRS, every layer's column order and dtypes (so that extra columns, categoricals and datetimes
  come back as they were), the DEM's presence, and the user's metadata.

Writes go to a temporary file beside the target, renamed over it only when complete, so a
failed write never leaves half a city behind.
"""

from __future__ import annotations

import json
import warnings
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
from pyproj import CRS

from resilientcity._files import atomic_path
from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM
from resilientcity.twin.roads import RoadNetwork
from resilientcity.twin.schema import LAYERS

__all__ = ["FORMAT", "FORMAT_VERSION", "file_problems", "read_city", "write_city"]

FORMAT = "resilientcity-twin"
FORMAT_VERSION = 1
_META = "rc_metadata"
_DEM = "dem"


def _dtype_spec(series: pd.Series) -> Any:
    dt = series.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return {
            "dtype": "category",
            "categories": [_jsonable(c) for c in dt.categories],
            "ordered": bool(dt.ordered),
        }
    return str(dt)


def _jsonable(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _restore(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    """Put back column order, dtypes and geometry name recorded by :func:`_layer_spec`."""
    geometry = spec.get("geometry")
    if geometry and isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name != geometry:
        frame = frame.rename_geometry(geometry)
    order = [c for c in spec["columns"] if c in frame.columns]
    frame = frame[order + [c for c in frame.columns if c not in order]]
    for col, want in spec["dtypes"].items():
        if col not in frame.columns or col == geometry:
            continue
        if isinstance(want, dict):
            target: Any = pd.CategoricalDtype(want["categories"], ordered=want["ordered"])
        else:
            target = want
        if str(frame[col].dtype) != str(target) or isinstance(target, pd.CategoricalDtype):
            frame[col] = frame[col].astype(target)
    return frame


def _layer_spec(frame: pd.DataFrame) -> dict[str, Any]:
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": {str(c): _dtype_spec(frame[c]) for c in frame.columns if c != geometry},
        "geometry": geometry,
    }


def _write_layer(frame: pd.DataFrame, path: Path, layer: str) -> None:
    frame = frame.copy(deep=False)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype("str")
    kwargs: dict[str, Any] = {"layer": layer, "driver": "GPKG"}
    if isinstance(frame, gpd.GeoDataFrame):
        kwargs["geometry_type"] = "Unknown"
        kwargs["promote_to_multi"] = False
    pyogrio.write_dataframe(frame, path, **kwargs)


def write_city(city: City, path: str | PathLike[str]) -> None:
    """Write ``city`` to the GeoPackage ``path`` (replaced atomically when it exists).

    Raises
    ------
    DataFileError
        The folder does not exist or the file cannot be written.
    """
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": city.name,
        "crs": city.crs.to_wkt(),
        "layers": {},
        "dem": city.dem is not None,
        "metadata": city.metadata,
    }
    with atomic_path(path, what="city") as tmp:
        for name, frame in city.layers().items():
            meta["layers"][name] = _layer_spec(frame)
            _write_layer(frame, tmp, name)
        rows = pd.DataFrame({"key": list(meta), "value": [json.dumps(v) for v in meta.values()]})
        pyogrio.write_dataframe(rows, tmp, layer=_META, driver="GPKG")
        if city.dem is not None:
            _write_dem(city.dem, tmp)


def _write_dem(dem: DEM, path: Path) -> None:
    rows, cols = dem.shape
    with rasterio.open(
        path,
        "w",
        driver="GPKG",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs=dem.crs.to_wkt(),
        transform=dem.transform,
        RASTER_TABLE=_DEM,
        APPEND_SUBDATASET="YES",
        TILE_FORMAT="TIFF",
    ) as dst:
        dst.write(dem.elevation_m, 1)


def _read_dem(path: Path) -> DEM:
    with rasterio.open(path, table=_DEM) as src:
        data = src.read(1, masked=True)
        return DEM(
            np.ma.filled(data.astype(np.float32), np.nan),
            src.transform,
            CRS.from_wkt(src.crs.to_wkt()),
        )


def _list_layers(source: Path) -> set[str]:
    """The layer names of the file; a :class:`DataFileError` when it is no readable GeoPackage."""
    if not source.is_file():
        raise DataFileError(f"no such file: {source}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return {str(n) for n, _ in pyogrio.list_layers(source)}
    except Exception as exc:
        raise DataFileError(f"{source} is not a readable GeoPackage: {exc}") from exc


def _layer_problems(present: set[str], recorded: set[str]) -> list[Problem]:
    """Layers the file should have and has not.

    ``recorded`` are the layers its ``rc_metadata`` lists (every layer, for a file written by
    :func:`write_city`); whatever the metadata, a road network needs both ``road_nodes`` and
    ``road_edges``.
    """
    problems = []
    for name in LAYERS:
        if name in present:
            continue
        if name in recorded:
            expected = f"the layer {name} (listed in {_META})"
        elif name in ("road_nodes", "road_edges") and {"road_nodes", "road_edges"} & present:
            other = "road_edges" if name == "road_nodes" else "road_nodes"
            expected = f"the layer {name} beside {other} (a road network needs both)"
        else:
            continue
        problems.append(Problem(name, "", expected, found="no such layer in the file"))
    return problems


def file_problems(path: str | PathLike[str]) -> list[Problem]:
    """Layers missing from the GeoPackage ``path`` (empty when it has every layer it needs).

    A layer listed in the file's ``rc_metadata`` (a file written by :func:`write_city` lists
    every layer it wrote) must be present, and ``road_nodes`` and ``road_edges`` go together. The layers'
    contents are checked by :meth:`City.problems`.

    Raises
    ------
    DataFileError
        The file is missing or not a readable GeoPackage.
    """
    source = Path(path)
    present = _list_layers(source)
    recorded: set[str] = set()
    if _META in present:
        try:
            rows = pyogrio.read_dataframe(source, layer=_META, use_arrow=True)
            meta = {k: json.loads(v) for k, v in zip(rows["key"], rows["value"], strict=True)}
        except Exception as exc:
            raise DataFileError(f"{source} is corrupt or unreadable: {exc}") from exc
        recorded = set(meta.get("layers", {}))
    return _layer_problems(present, recorded)


def read_city(path: str | PathLike[str], validate: bool = True) -> City:
    """Read a city from the GeoPackage ``path``.

    A GeoPackage made by other tools is accepted when it has at least an ``assets`` layer in the
    contract's columns; the city's name then comes from the file name and its CRS from the
    assets layer. A layer missing from the file is an empty layer, except that every layer its
    ``rc_metadata`` lists must be present and ``road_nodes`` and ``road_edges`` go together.

    Raises
    ------
    DataFileError
        The file is missing, corrupt, not a GeoPackage, or has no ``assets`` layer.
    ValidationError
        The city breaks the data contract, or a layer the file needs is missing (see
        :func:`file_problems`; every problem listed).
    """
    source = Path(path)
    present = _list_layers(source)
    meta: dict[str, Any] = {}
    try:
        if _META in present:
            rows = pyogrio.read_dataframe(source, layer=_META, use_arrow=True)
            meta = {k: json.loads(v) for k, v in zip(rows["key"], rows["value"], strict=True)}
            if meta.get("format") != FORMAT:
                raise DataFileError(f"{source}: layer {_META} is not ResilientCity metadata")
            if int(meta.get("format_version", 0)) > FORMAT_VERSION:
                raise DataFileError(
                    f"{source} was written by a newer ResilientCity (format "
                    f"{meta['format_version']}, this one reads up to {FORMAT_VERSION})"
                )
        if "assets" not in present:
            raise DataFileError(f"{source} has no 'assets' layer: not a ResilientCity twin")
        layers: dict[str, pd.DataFrame | None] = {}
        specs = meta.get("layers", {})
        for name in LAYERS:
            if name not in present:
                layers[name] = None
                continue
            frame = pyogrio.read_dataframe(source, layer=name, use_arrow=True)
            layers[name] = _restore(frame, specs[name]) if name in specs else frame
        crs_text = meta.get("crs")
        assets = layers["assets"]
        crs = CRS.from_wkt(crs_text) if crs_text else getattr(assets, "crs", None)
        dem = _read_dem(source) if meta.get("dem") else None
    except DataFileError:
        raise
    except Exception as exc:
        raise DataFileError(f"{source} is corrupt or unreadable: {exc}") from exc
    roads = None
    if layers["road_nodes"] is not None or layers["road_edges"] is not None:
        roads = RoadNetwork(layers["road_nodes"], layers["road_edges"])
    city = City(
        name=meta.get("name", source.stem),
        crs=crs,  # type: ignore[arg-type]
        assets=assets,
        roads=roads,  # type: ignore[arg-type]
        dependencies=layers["dependencies"],  # type: ignore[arg-type]
        zones=layers["zones"],
        sensors=layers["sensors"],
        rivers=layers["rivers"],
        water_bodies=layers["water_bodies"],
        dem=dem,
        metadata=meta.get("metadata", {}),
        validate=False,
    )
    if validate:
        problems = _layer_problems(present, set(specs)) + city.problems()
        if problems:
            raise ValidationError(problems, what=f"city {city.name!r} in {source}")
    return city
