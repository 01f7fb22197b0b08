"""Validation of the twin's layers: collect every problem, then report them all at once.

Each rule returns :class:`~resilientcity.errors.Problem` objects naming the layer, the column, the
offending row ids and what was expected (the approach of osmnx's ``_validate.py``). Rules that
need a column skip quietly when it is missing: the missing column is itself reported.

:func:`road_warnings` gives what a valid city may still get wrong: assets attached to road nodes
from which the rest of the city cannot be reached (a warning, not a broken contract).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pandas.api import types as pdt
from pyproj import CRS

from resilientcity.errors import Problem
from resilientcity.twin.schema import (
    ASSETS,
    DEPENDENCIES,
    LAYERS,
    ROAD_EDGES,
    SENSORS,
    ZONES,
    Column,
    LayerSchema,
)

if TYPE_CHECKING:
    from resilientcity.twin.city import City

__all__ = ["check_crs", "road_warnings", "validate_city", "validate_layer"]


def _row_ids(frame: pd.DataFrame, schema: LayerSchema, mask: NDArray[np.bool_]) -> tuple[str, ...]:
    """Labels of the rows under ``mask``: their id when the layer has a usable one, else ``#pos``."""
    positions = np.flatnonzero(mask)
    idcol = schema.id_column
    if idcol and idcol in frame.columns:
        ids = frame[idcol].to_numpy()[positions]
        return tuple(
            f"#{p}" if (i is None or (isinstance(i, float) and np.isnan(i)) or i == "") else str(i)
            for p, i in zip(positions, ids, strict=True)
        )
    return tuple(f"#{p}" for p in positions)


def check_crs(crs: CRS | None, what: str) -> list[Problem]:
    """A projected, metric CRS is required: say so when ``crs`` is missing or geographic."""
    if crs is None:
        return [Problem(what, "crs", "a projected metric CRS (e.g. EPSG:32649)", found="no CRS")]
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        return [
            Problem(
                what,
                "crs",
                "a projected metric CRS (e.g. EPSG:32649)",
                found=f"{crs.to_string()} (geographic)",
            )
        ]
    units = {a.unit_name for a in crs.axis_info}
    if not units <= {"metre", "meter"}:
        return [Problem(what, "crs", "a CRS in metres", found=f"axis units {sorted(units)}")]
    return []


def _dtype_ok(series: pd.Series, col: Column) -> tuple[bool, NDArray[np.bool_] | None]:
    """Whether the series has the column's dtype; for object columns, the rows of wrong type."""
    dt = series.dtype
    if col.dtype == "str":
        if pdt.is_string_dtype(dt) and not pdt.is_object_dtype(dt):
            return True, None
        if pdt.is_object_dtype(dt):
            bad = ~series.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
            return not bad.any(), bad
        return False, None
    if col.dtype == "bool":
        return pdt.is_bool_dtype(dt), None
    if col.dtype == "int":
        return pdt.is_integer_dtype(dt) and not pdt.is_bool_dtype(dt), None
    return pdt.is_numeric_dtype(dt) and not pdt.is_bool_dtype(dt), None


def _check_column(frame: pd.DataFrame, schema: LayerSchema, col: Column) -> list[Problem]:
    series = frame[col.name]
    ok, bad_rows = _dtype_ok(series, col)
    if not ok:
        rows = _row_ids(frame, schema, bad_rows) if bad_rows is not None else ()
        return [
            Problem(
                schema.name, col.name, f"dtype {col.dtype}", rows, found=f"dtype {series.dtype}"
            )
        ]
    problems: list[Problem] = []
    if col.dtype == "str":
        values = series.to_numpy(dtype=object)
        missing = pd.isna(series).to_numpy()
        if missing.any():
            problems.append(
                Problem(
                    schema.name,
                    col.name,
                    "a string (use '' for none)",
                    _row_ids(frame, schema, missing),
                    "missing value",
                )
            )
        if col.nonempty:
            empty = (values == "") & ~missing
            if empty.any():
                problems.append(
                    Problem(
                        schema.name, col.name, "a non-empty string", _row_ids(frame, schema, empty)
                    )
                )
        if col.allowed is not None:
            allowed = pd.Index(sorted(col.allowed))
            unknown = (allowed.get_indexer(pd.Index(series)) < 0) & ~missing
            if unknown.any():
                found = ", ".join(sorted({str(v) for v in values[unknown]})[:5])
                problems.append(
                    Problem(
                        schema.name,
                        col.name,
                        f"one of {{{', '.join(sorted(col.allowed))}}}",
                        _row_ids(frame, schema, unknown),
                        found=found,
                    )
                )
    elif col.check:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(values)
        if col.check == "nonneg":
            bad |= values < 0
        elif col.check == "positive":
            bad |= values <= 0
        if bad.any():
            problems.append(
                Problem(schema.name, col.name, col.expected, _row_ids(frame, schema, bad))
            )
    return problems


def _check_geometry(frame: gpd.GeoDataFrame, schema: LayerSchema, crs: CRS | None) -> list[Problem]:
    problems: list[Problem] = []
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        problems.append(
            Problem(
                schema.name, "geometry", "a non-empty geometry", _row_ids(frame, schema, missing)
            )
        )
    kinds = shapely.get_type_id(geoms)
    type_ids = [shapely.GeometryType[t.upper()].value for t in schema.geometry_types]
    wrong = ~np.isin(kinds, type_ids) & ~missing
    if wrong.any():
        problems.append(
            Problem(
                schema.name,
                "geometry",
                " or ".join(schema.geometry_types),
                _row_ids(frame, schema, wrong),
            )
        )
    if len(frame) and crs is not None:
        if frame.crs is None:
            problems.append(
                Problem(schema.name, "crs", f"the city CRS {crs.to_string()}", found="no CRS")
            )
        elif CRS.from_user_input(frame.crs) != crs:
            problems.append(
                Problem(
                    schema.name,
                    "crs",
                    f"the city CRS {crs.to_string()}",
                    found=CRS(frame.crs).to_string(),
                )
            )
    return problems


def validate_layer(
    frame: pd.DataFrame, schema: LayerSchema, crs: CRS | None = None
) -> list[Problem]:
    """Every problem of one layer against its schema.

    Parameters
    ----------
    frame
        The layer.
    schema
        Its contract (:mod:`resilientcity.twin.schema`).
    crs
        The city's CRS; a spatial layer in another CRS is a problem.

    Returns
    -------
    list of Problem
        Empty when the layer is valid.
    """
    if schema.spatial and not isinstance(frame, gpd.GeoDataFrame):
        return [
            Problem(
                schema.name, "", "a GeoDataFrame with a geometry column", found=type(frame).__name__
            )
        ]
    if not isinstance(frame, pd.DataFrame):
        return [Problem(schema.name, "", "a DataFrame", found=type(frame).__name__)]
    problems: list[Problem] = []
    for col in schema.columns:
        if col.name not in frame.columns and col.default is not None:
            continue  # optional: City fills it with the default
        if col.name not in frame.columns:
            problems.append(
                Problem(
                    schema.name, col.name, f"a column of dtype {col.dtype}", found="no such column"
                )
            )
        else:
            problems.extend(_check_column(frame, schema, col))
    idcol = schema.id_column
    if idcol and idcol in frame.columns:
        dup = frame[idcol].duplicated(keep=False).to_numpy()
        if dup.any():
            problems.append(
                Problem(
                    schema.name, idcol, "unique ids", _row_ids(frame, schema, dup), "duplicates"
                )
            )
    if schema.spatial:
        problems.extend(_check_geometry(frame, schema, crs))
    return problems


def _dangling(
    frame: pd.DataFrame,
    schema: LayerSchema,
    column: str,
    targets: Iterable[object],
    target_name: str,
    allow_empty: bool = False,
    allow_negative: bool = False,
) -> list[Problem]:
    """Rows whose ``column`` names an id missing from ``targets``."""
    if column not in frame.columns or len(frame) == 0:
        return []
    values = frame[column]
    known = (targets if isinstance(targets, pd.Index) else pd.Index(list(targets))).unique()
    # Index.get_indexer hashes; Series.isin on Arrow strings loops in Python (pandas 3).
    bad = pd.Series(known.get_indexer(pd.Index(values)) < 0, index=values.index)
    if allow_empty:
        bad &= values != ""
    if allow_negative:
        bad &= values >= 0
    bad_arr = bad.to_numpy(dtype=bool) & ~pd.isna(values).to_numpy()
    if not bad_arr.any():
        return []
    return [
        Problem(schema.name, column, f"an existing {target_name}", _row_ids(frame, schema, bad_arr))
    ]


def validate_city(city: City) -> list[Problem]:
    """Every problem of a city: each layer's contract and the references between layers.

    Cross-layer rules: dependencies must point at existing assets; road edges must join
    existing nodes (no dangling nodes) and name existing bridge assets; road nodes need edges; assets must name an
    existing district, H3 cell and road node (``node_id = -1`` means none); sensors must
    name existing assets; zones' parents must exist; every asset must lie on a DEM cell with
    data; every layer and the DEM must share the city's projected metric CRS.
    """
    crs = CRS.from_user_input(city.crs) if city.crs is not None else None
    problems = check_crs(crs, "city")
    layers = city.layers()
    for name, frame in layers.items():
        problems.extend(validate_layer(frame, LAYERS[name], crs))

    assets, nodes, edges = city.assets, city.roads.nodes, city.roads.edges
    asset_ids = pd.Index(assets["asset_id"]) if "asset_id" in assets else pd.Index([])
    node_ids = pd.Index(nodes["node_id"]) if "node_id" in nodes else pd.Index([])
    zone_ids = pd.Index(city.zones["zone_id"]) if "zone_id" in city.zones else pd.Index([])

    for col in ("dependent_id", "supplier_id"):
        problems += _dangling(city.dependencies, DEPENDENCIES, col, asset_ids, "asset_id")
    for col in ("u", "v"):
        problems += _dangling(edges, ROAD_EDGES, col, node_ids, "road node (dangling edge)")
    if len(nodes) and not len(edges):
        problems.append(
            Problem(
                "road_edges",
                "",
                f"road edges joining the {len(nodes):,} road nodes",
                found="no edges (an empty or missing layer)",
            )
        )
    problems += _dangling(
        edges, ROAD_EDGES, "asset_id", asset_ids, "asset_id or ''", allow_empty=True
    )
    problems += _dangling(
        assets, ASSETS, "node_id", node_ids, "road node_id or -1", allow_negative=True
    )
    problems += _dangling(assets, ASSETS, "zone_id", zone_ids, "zone_id or ''", allow_empty=True)
    problems += _dangling(
        assets, ASSETS, "cell_id", zone_ids, "zone_id of an H3 cell or ''", allow_empty=True
    )
    problems += _dangling(
        city.sensors, SENSORS, "asset_id", asset_ids, "asset_id or ''", allow_empty=True
    )
    problems += _dangling(
        city.zones, ZONES, "parent_id", zone_ids, "zone_id or ''", allow_empty=True
    )

    if city.dem is not None:
        if crs is not None and city.dem.crs != crs:
            problems.append(
                Problem(
                    "dem", "crs", f"the city CRS {crs.to_string()}", found=city.dem.crs.to_string()
                )
            )
        elif isinstance(assets, gpd.GeoDataFrame) and len(assets):
            geoms = assets.geometry.to_numpy()
            present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
            pts = shapely.point_on_surface(geoms[present])
            outside = np.zeros(len(assets), dtype=bool)
            outside[present] = ~city.dem.inside(shapely.get_x(pts), shapely.get_y(pts))
            if outside.any():
                problems.append(
                    Problem(
                        "assets",
                        "geometry",
                        "a location on a DEM cell with data",
                        _row_ids(assets, ASSETS, outside),
                    )
                )
    return problems


def road_warnings(city: City) -> list[Problem]:
    """Assets attached outside the largest strongly connected road component (a warning).

    Such an asset cannot drive to, or be reached from, the rest of the city even with nothing
    damaged: the network stage counts its occupants as isolated and its service as lost in
    every scenario. Re-attach the assets with :func:`~resilientcity.twin.roads.attach_to_network`
    (the OSM importer does). Meant for a city that meets the data contract
    (:func:`validate_city` empty); a road network that is merely split into pieces carrying no
    asset (one-way stubs at the edge of an extract) gets no warning.

    Returns
    -------
    list of Problem
        One problem naming the assets (``assets.node_id``), or none.
    """
    outside = city.roads.attached_outside(city.assets["node_id"].to_numpy(dtype=np.int64))
    if not outside.any():
        return []
    parts = city.roads.components(city.assets)
    count = int(outside.sum())
    people = float(city.assets["occupants"].to_numpy(dtype=np.float64)[outside].sum())
    return [
        Problem(
            "assets",
            "node_id",
            "a road node of the largest strongly connected road component "
            f"({parts['largest_nodes']:,} of {len(city.roads.nodes):,} nodes), from which every "
            "other node can be reached and back",
            _row_ids(city.assets, ASSETS, outside),
            f"{count:,} asset{'s' if count > 1 else ''} ({people:,.0f} people) on nodes "
            "outside it (the "
            f"network has {parts['strong']:,} strongly connected components)",
        )
    ]
