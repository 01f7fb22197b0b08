"""Adding the user's own rows (assets, sensors, dependencies) to a city twin.

:func:`merge_file` reads any vector file or CSV (:mod:`resilientcity.twin.merge_source`), maps
its columns onto the data contract through a mapping file (:mod:`resilientcity.twin.mapping`),
fills what the mapping leaves out (:mod:`resilientcity.twin.merge_defaults`), checks every row
and returns a new :class:`~resilientcity.twin.city.City`; :func:`add_asset` does the same for one
facility given by value. Nothing is written here: the caller writes the city (atomically).

Locations: shapes are reprojected to the city's CRS and must lie within its extent (and on its
DEM when it has one). Each new asset gets ``zone_id`` (the district containing it, else ``""``),
``cell_id`` (its H3 cell at the resolution of the city's cells, the cell added to ``zones`` when
new; ``""`` when the city has no H3 cells) and ``node_id`` (the importer's rule:
:func:`~resilientcity.twin.roads.attach_to_network`).

Ids: an id already in the city is refused (every one named) unless ``replace``, which replaces
the rows with those ids. For ``dependencies``, ``replace`` replaces the whole table (the user's
own links instead of inferred ones); otherwise the links are appended.

Errors: every problem of the file is collected and raised as one
:class:`~resilientcity.errors.ValidationError`, each naming the file, its column and its rows
(numbered from 1).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from resilientcity.errors import Problem, ValidationError
from resilientcity.twin.city import City
from resilientcity.twin.mapping import ColumnRule, Mapping, MergeLayer, read_mapping
from resilientcity.twin.merge_defaults import fill_asset_defaults
from resilientcity.twin.merge_rows import SourceRows, check_asset_ids, check_mapped_columns, require
from resilientcity.twin.merge_source import SourceTable, read_source, row_labels
from resilientcity.twin.osm import _layer
from resilientcity.twin.osm_defaults import OsmDefaults
from resilientcity.twin.population import zone_population
from resilientcity.twin.roads import attach_to_network
from resilientcity.twin.schema import (
    ASSETS,
    DEPENDENCIES,
    SENSOR_KINDS,
    SENSORS,
    ZONES,
)
from resilientcity.twin.spatial import h3_cells

__all__ = ["ADD_OPTIONS", "MergeResult", "add_asset", "merge_file", "merge_table"]

#: The ``twin add`` option of each contract column whose option is not ``--<column>``.
ADD_OPTIONS = {"asset_id": "--id", "floor_area_m2": "--floor-area", "value": "--value"}


@dataclass(frozen=True)
class MergeResult:
    """The city with the user's rows, and how many rows were added and replaced."""

    city: City
    layer: MergeLayer
    added: int
    replaced: int


def _combine(
    old: pd.DataFrame, new: pd.DataFrame, id_column: str | None, replace: bool
) -> tuple[pd.DataFrame, int]:
    """``old`` without the rows ``new`` replaces, then ``new`` (extra columns of ``old`` kept)."""
    replaced = 0
    if id_column is not None and replace:
        drop = old[id_column].isin(new[id_column]).to_numpy()
        replaced, old = int(drop.sum()), old[~drop]
    elif id_column is None and replace:
        replaced, old = len(old), old.iloc[0:0]
    extra = [c for c in old.columns if c not in new.columns]
    for col in extra:  # the user's rows have none of them: missing values of the column's kind
        new = new.assign(
            **{col: pd.Series([None] * len(new), dtype=old[col].dtype if len(old) else object)}
        )
    frame = pd.concat([old, new[list(old.columns)]], ignore_index=True)
    if isinstance(old, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=old.geometry.name, crs=old.crs)
    return frame, replaced


def _cells(city: City, xy: NDArray[np.float64]) -> tuple[NDArray[np.object_], pd.DataFrame]:
    """H3 cell of each point at the city's resolution, and the zones of cells the city lacks."""
    zones = city.zones
    h3_ids = zones.loc[zones["zone_type"] == "h3", "zone_id"]
    if len(h3_ids) == 0 or len(xy) == 0:
        return np.full(len(xy), "", dtype=object), ZONES.empty(city.crs)
    resolution = h3.get_resolution(str(h3_ids.iloc[0]))
    cells, polygons = h3_cells(xy[:, 0], xy[:, 1], city.crs, resolution)
    new = polygons[~polygons["zone_id"].isin(h3_ids)].reset_index(drop=True)
    centres = shapely.centroid(new["geometry"].to_numpy())
    new["parent_id"] = _district_of(city, centres)
    new["population"] = 0.0
    return cells, _layer(new, ZONES, city.crs)


def _district_of(city: City, points: NDArray[np.object_]) -> NDArray[np.object_]:
    """``zone_id`` of the district containing each point, ``""`` when none does."""
    out = np.full(len(points), "", dtype=object)
    districts = city.zones[city.zones["zone_type"] == "district"]
    if len(districts) == 0 or len(points) == 0:
        return out
    point_i, zone_i = shapely.STRtree(districts.geometry.to_numpy()).query(points, "within")
    out[point_i] = districts["zone_id"].to_numpy(dtype=object)[zone_i]
    return out


def _assets(
    city: City, rows: SourceRows, rules: dict[str, ColumnRule], replace: bool, d: OsmDefaults
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The user's assets in the contract, and the H3 cell zones they add."""
    given, ids = rows.with_ids(rules, ASSETS, pd.Index(city.assets["asset_id"]), replace)
    require(rows, rules, "kind", given.get("kind"))
    geometry = rows.locations(city, ASSETS)
    if "kind" in given:
        _floor_for_point_buildings(rows, rules, given, geometry)
    rows.raise_if_any()
    profile = city.profile
    frame = fill_asset_defaults(
        pd.DataFrame(given | {"asset_id": ids}),
        geometry,
        d,
        profile.reference_value_factor,
        profile.housing_low_rise_type,
    )
    frame["name"] = frame["name"].fillna("") if "name" in frame else ""
    where = shapely.point_on_surface(geometry)
    xy = shapely.get_coordinates(where)
    frame["node_id"] = attach_to_network(xy, city.roads)
    frame["zone_id"] = _district_of(city, where)
    frame["cell_id"], cells = _cells(city, xy)
    return _layer(frame.assign(geometry=geometry), ASSETS, city.crs), cells


def _floor_for_point_buildings(
    rows: SourceRows,
    rules: dict[str, ColumnRule],
    given: dict[str, pd.Series],
    geometry: NDArray[np.object_],
) -> None:
    """A building given as a point or line needs its floor area (its footprint is unknown)."""
    floor = given.get("floor_area_m2")
    no_floor = np.ones(len(geometry), dtype=bool) if floor is None else floor.isna().to_numpy()
    polygon = np.isin(shapely.get_type_id(geometry), [3, 6])
    bad = (given["kind"] == "building").to_numpy() & ~polygon & no_floor
    if bad.any():
        label = rows.where(rules["floor_area_m2"], "floor_area_m2") if floor is not None else ""
        rows.problems.append(
            Problem(
                rows.table.name if label else rows.mapping_name,
                label or "columns.floor_area_m2",
                "a floor area for a building given as a point or line (no footprint to derive it from)",
                row_labels(bad),
            )
        )


def _sensors(
    city: City, rows: SourceRows, rules: dict[str, ColumnRule], replace: bool, assets: pd.Index
) -> pd.DataFrame:
    given, ids = rows.with_ids(rules, SENSORS, pd.Index(city.sensors["sensor_id"]), replace)
    require(rows, rules, "kind", given.get("kind"))
    check_asset_ids(rows, rules, given, "asset_id", assets)
    geometry = rows.locations(city, SENSORS)
    rows.raise_if_any()
    kind = given["kind"]
    frame = pd.DataFrame({"sensor_id": ids, "kind": kind})
    for i, column in enumerate(("observed_property", "unit")):
        default = kind.map(lambda k, i=i: SENSOR_KINDS[k][i])
        frame[column] = given[column].fillna(default) if column in given else default
    for column in ("asset_id", "name"):
        frame[column] = given[column].fillna("") if column in given else ""
    return _layer(frame.assign(geometry=geometry), SENSORS, city.crs)


def _dependencies(rows: SourceRows, rules: dict[str, ColumnRule], assets: pd.Index) -> pd.DataFrame:
    given = {name: rows.values(rule, DEPENDENCIES.column(name)) for name, rule in rules.items()}
    for column in ("dependent_id", "supplier_id", "service"):
        require(rows, rules, column, given.get(column))
    for column in ("dependent_id", "supplier_id"):
        check_asset_ids(rows, rules, given, column, assets)
    rows.raise_if_any()
    frame = pd.DataFrame({c: given[c] for c in ("dependent_id", "supplier_id", "service")})
    frame["group"] = (
        given["group"].fillna(frame["service"]) if "group" in given else frame["service"]
    )
    frame["backup_hours"] = given["backup_hours"].fillna(0.0) if "backup_hours" in given else 0.0
    # the user's own links: "given" (inferred links say their rule; schema.DEPENDENCIES)
    frame["origin"] = given["origin"].fillna("given") if "origin" in given else "given"
    return _layer(frame, DEPENDENCIES, None)


def merge_table(
    city: City,
    table: SourceTable,
    mapping: Mapping,
    *,
    mapping_name: str = "mapping",
    replace: bool = False,
    defaults: OsmDefaults | None = None,
) -> MergeResult:
    """Merge rows already read (:func:`~resilientcity.twin.merge_source.read_source`) into ``city``.

    See :func:`merge_file`; ``mapping_name`` is what problems of the mapping are named by.
    """
    layer: MergeLayer = mapping.layer or "assets"
    rules = mapping.rules()
    rows = SourceRows(table, mapping_name)
    check_mapped_columns(rows, rules)
    rows.raise_if_any()
    asset_ids = pd.Index(city.assets["asset_id"])
    changes: dict[str, Any] = {}
    if layer == "assets":
        new, cells = _assets(
            city, rows, rules, replace, (defaults or OsmDefaults()).for_region(city.profile)
        )
        changes["assets"], replaced = _combine(city.assets, new, "asset_id", replace)
        zones = _combine(city.zones, cells, "zone_id", False)[0] if len(cells) else city.zones
        gone = city.assets[city.assets["asset_id"].isin(new["asset_id"])]
        changes["zones"] = _with_residents(zones, new, gone)
    elif layer == "sensors":
        new = _sensors(city, rows, rules, replace, asset_ids)
        changes["sensors"], replaced = _combine(city.sensors, new, "sensor_id", replace)
    else:
        new = _dependencies(rows, rules, asset_ids)
        changes["dependencies"], replaced = _combine(city.dependencies, new, None, replace)
    try:
        merged = dataclasses.replace(city, **changes)
    except ValidationError as exc:
        raise ValidationError(
            exc.problems, what=f"city {city.name!r} after merging {table.name}"
        ) from None
    return MergeResult(merged, layer, len(new), replaced)


def _with_residents(
    zones: pd.DataFrame, added: pd.DataFrame, removed: pd.DataFrame
) -> pd.DataFrame:
    """``zones`` with the residents of the ``added`` assets counted in and of ``removed`` out.

    Each asset counts in its cell, its district and the district's ancestors
    (:func:`~resilientcity.twin.population.zone_population`); other zones keep their population.
    """
    zero = zones.assign(population=0.0)
    delta = zone_population(added, zero) - zone_population(removed, zero)
    population = np.maximum(zones["population"].to_numpy(dtype=np.float64) + delta, 0.0)
    return zones.assign(population=population)


def merge_file(
    city: City,
    path: str | PathLike[str],
    mapping_path: str | PathLike[str],
    *,
    layer: MergeLayer | None = None,
    replace: bool = False,
    source_layer: str | None = None,
    defaults: OsmDefaults | None = None,
) -> MergeResult:
    """Add the rows of the user's file to ``city`` through a column mapping.

    Parameters
    ----------
    city
        The twin to add to (left unchanged: a new city is returned).
    path
        GeoPackage, Shapefile, GeoJSON, GeoParquet or CSV with coordinate columns.
    mapping_path
        The column-mapping file (YAML; :mod:`resilientcity.twin.mapping`).
    layer
        ``assets``, ``sensors`` or ``dependencies`` (default: the mapping's, else ``assets``).
    replace
        Replace rows whose ids the file repeats (for ``dependencies``: the whole table)
        instead of refusing them.
    source_layer
        The layer of a file with several.
    defaults
        The importer's defaults used for asset columns left out (default: packaged).

    Returns
    -------
    MergeResult
        The new city and the counts of rows added and replaced.

    Raises
    ------
    DataFileError
        A file is missing or unreadable.
    ValidationError
        Every problem of the mapping or the rows, each naming the file, column and rows.
    """
    mapping = read_mapping(mapping_path, layer)
    table = read_source(
        path, mapping, source_layer=source_layer, needs_geometry=mapping.layer != "dependencies"
    )
    return merge_table(
        city,
        table,
        mapping,
        mapping_name=Path(mapping_path).name,
        replace=replace,
        defaults=defaults,
    )


def add_asset(
    city: City,
    kind: str,
    lon: float,
    lat: float,
    *,
    values: dict[str, Any] | None = None,
    replace: bool = False,
    defaults: OsmDefaults | None = None,
) -> MergeResult:
    """Add one asset at ``lon``, ``lat`` (WGS 84) with the defaults and checks of :func:`merge_file`.

    Parameters
    ----------
    city
        The twin to add to.
    kind
        The asset kind (:data:`~resilientcity.twin.schema.ASSET_KINDS`).
    lon, lat
        Its location, degrees.
    values
        Contract columns given by the user (``asset_id``, ``name``, ``capacity``, ``storeys``,
        ``floor_area_m2``, ``value``, ``occupants`` …); the others take the defaults. The
        id defaults to ``<kind>-<n>``, the first number not taken.
    replace
        Replace the asset with the same ``asset_id`` instead of refusing it.
    defaults
        The importer's defaults (default: packaged).
    """
    # every option is mapped, so that a problem names it even when it was left out
    given = dict.fromkeys(ADD_OPTIONS) | (values or {}) | {"kind": kind}
    if given["asset_id"] is None:
        taken = set(city.assets["asset_id"])
        given["asset_id"] = next(
            f"{kind}-{n}" for n in range(1, len(taken) + 2) if f"{kind}-{n}" not in taken
        )
    option = {k: ADD_OPTIONS.get(k, f"--{k.replace('_', '-')}") for k in given}
    frame = pd.DataFrame({option[k]: [v] for k, v in given.items()})
    point = np.array([shapely.Point(lon, lat)], dtype=object)
    table = SourceTable("twin add", frame, point, CRS.from_epsg(4326))
    mapping = Mapping(layer="assets", columns={k: ColumnRule(source=option[k]) for k in given})
    return merge_table(
        city, table, mapping, mapping_name="twin add", replace=replace, defaults=defaults
    )
