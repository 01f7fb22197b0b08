"""Every validation rule of the data contract, each on a tiny city with one thing broken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from factories import tiny_layers
from resilientcity.errors import Problem, ResilientCityError, ValidationError
from resilientcity.twin import DEM, City, RoadNetwork

Layers = dict[str, Any]


def _assets(layers: Layers) -> Any:
    return layers["assets"]


def drop_column(layers: Layers) -> None:
    layers["assets"] = _assets(layers).drop(columns="value")


def mistype_column(layers: Layers) -> None:
    layers["assets"]["occupants"] = pd.array(["74", "500", "0"], dtype="str")


def object_column_with_number(layers: Layers) -> None:
    layers["assets"]["name"] = pd.Series(["a", 5, "c"], dtype=object)


def duplicate_id(layers: Layers) -> None:
    layers["assets"].loc[2, "asset_id"] = "B1"


def unknown_kind(layers: Layers) -> None:
    layers["assets"].loc[0, "kind"] = "castle"


def unknown_sector(layers: Layers) -> None:
    layers["assets"].loc[1, "sector"] = "magic"


def nan_value(layers: Layers) -> None:
    layers["assets"].loc[0, "value"] = np.nan


def negative_occupants(layers: Layers) -> None:
    layers["assets"].loc[1, "occupants"] = -3.0


def infinite_capacity(layers: Layers) -> None:
    layers["assets"].loc[2, "capacity"] = np.inf


def zero_length_edge(layers: Layers) -> None:
    layers["roads"].edges.loc[0, "length_m"] = 0.0


def negative_backup(layers: Layers) -> None:
    layers["dependencies"].loc[0, "backup_hours"] = -1.0


def geographic_city_crs(layers: Layers) -> None:
    layers["crs"] = "EPSG:4326"


def layer_in_other_crs(layers: Layers) -> None:
    layers["sensors"] = layers["sensors"].set_crs("EPSG:32650", allow_override=True)


def dependency_to_missing_asset(layers: Layers) -> None:
    layers["dependencies"].loc[0, "supplier_id"] = "NOPE"


def dangling_road_node(layers: Layers) -> None:
    layers["roads"].edges.loc[1, "v"] = 99


def asset_outside_dem(layers: Layers) -> None:
    geoms = layers["assets"].geometry.to_numpy().copy()
    geoms[0] = shapely.Point(5000.0, 5000.0)
    layers["assets"] = layers["assets"].set_geometry(geoms, crs=layers["assets"].crs)


def asset_on_nodata(layers: Layers) -> None:
    z = layers["dem"].elevation_m.copy()
    z[9, 1] = np.nan  # the cell under B1 at (100, 100)
    layers["dem"] = DEM(z, layers["dem"].transform, layers["dem"].crs)


def unknown_zone(layers: Layers) -> None:
    layers["assets"].loc[1, "zone_id"] = "D9"


def unknown_node(layers: Layers) -> None:
    layers["assets"].loc[2, "node_id"] = 42


def missing_bridge_asset(layers: Layers) -> None:
    layers["roads"].edges.loc[0, "asset_id"] = "BR1"


def empty_geometry(layers: Layers) -> None:
    geoms = layers["assets"].geometry.to_numpy().copy()
    geoms[1] = shapely.Point()
    layers["assets"] = layers["assets"].set_geometry(geoms, crs=layers["assets"].crs)


def wrong_geometry_type(layers: Layers) -> None:
    edges = layers["roads"].edges
    layers["roads"] = RoadNetwork(
        layers["roads"].nodes,
        edges.set_geometry(shapely.points([1.0, 2.0], [1.0, 2.0]), crs=edges.crs),
    )


def unknown_service(layers: Layers) -> None:
    layers["dependencies"].loc[0, "service"] = "love"


def unknown_road_class(layers: Layers) -> None:
    layers["roads"].edges.loc[0, "road_class"] = "autobahn"


def sensor_on_missing_asset(layers: Layers) -> None:
    layers["sensors"].loc[0, "asset_id"] = "S9"


def empty_asset_id(layers: Layers) -> None:
    layers["assets"].loc[0, "asset_id"] = ""


CASES: list[tuple[Callable[[Layers], None], str, str, tuple[str, ...]]] = [
    (drop_column, "assets", "value", ()),
    (mistype_column, "assets", "occupants", ()),
    (object_column_with_number, "assets", "name", ("H1",)),
    (duplicate_id, "assets", "asset_id", ("B1", "B1")),
    (unknown_kind, "assets", "kind", ("B1",)),
    (unknown_sector, "assets", "sector", ("H1",)),
    (nan_value, "assets", "value", ("B1",)),
    (negative_occupants, "assets", "occupants", ("H1",)),
    (infinite_capacity, "assets", "capacity", ("S1",)),
    (zero_length_edge, "road_edges", "length_m", ("10",)),
    (negative_backup, "dependencies", "backup_hours", ("#0",)),
    (geographic_city_crs, "city", "crs", ()),
    (layer_in_other_crs, "sensors", "crs", ()),
    (dependency_to_missing_asset, "dependencies", "supplier_id", ("#0",)),
    (dangling_road_node, "road_edges", "v", ("11",)),
    (asset_outside_dem, "assets", "geometry", ("B1",)),
    (asset_on_nodata, "assets", "geometry", ("B1",)),
    (unknown_zone, "assets", "zone_id", ("H1",)),
    (unknown_node, "assets", "node_id", ("S1",)),
    (missing_bridge_asset, "road_edges", "asset_id", ("10",)),
    (empty_geometry, "assets", "geometry", ("H1",)),
    (wrong_geometry_type, "road_edges", "geometry", ("10", "11")),
    (unknown_service, "dependencies", "service", ("#0",)),
    (unknown_road_class, "road_edges", "road_class", ("10",)),
    (sensor_on_missing_asset, "sensors", "asset_id", ("SM1",)),
    (empty_asset_id, "assets", "asset_id", ("#0",)),
]


def test_tiny_city_is_valid(tiny_city: City) -> None:
    assert tiny_city.problems() == []


@pytest.mark.parametrize(
    ("break_it", "layer", "column", "rows"), CASES, ids=[c[0].__name__ for c in CASES]
)
def test_each_rule_names_layer_column_and_rows(
    break_it: Callable[[Layers], None], layer: str, column: str, rows: tuple[str, ...]
) -> None:
    layers = tiny_layers()
    break_it(layers)
    with pytest.raises(ValidationError) as info:
        City(**layers)
    found = [p for p in info.value.problems if (p.layer, p.column) == (layer, column)]
    assert found, f"no problem on {layer}.{column} in {info.value.problems}"
    assert found[0].rows == rows
    message = str(info.value)
    assert f"{layer}.{column}" in message
    assert "expected" in message


def test_every_problem_reported_at_once() -> None:
    layers = tiny_layers()
    for break_it in (
        unknown_kind,
        negative_occupants,
        dangling_road_node,
        dependency_to_missing_asset,
    ):
        break_it(layers)
    with pytest.raises(ValidationError) as info:
        City(**layers)
    where = {(p.layer, p.column) for p in info.value.problems}
    assert {
        ("assets", "kind"),
        ("assets", "occupants"),
        ("road_edges", "v"),
        ("dependencies", "supplier_id"),
    } <= where


def test_validation_error_is_a_value_error_and_a_resilientcity_error() -> None:
    layers = tiny_layers()
    unknown_kind(layers)
    with pytest.raises(ValueError):
        City(**layers)
    with pytest.raises(ResilientCityError):
        City(**layers)


def test_unparsable_crs_is_reported() -> None:
    layers = tiny_layers()
    layers["crs"] = "not a crs"
    with pytest.raises(ValidationError, match=r"city\.crs"):
        City(**layers)


def test_validate_false_builds_and_lists_problems() -> None:
    layers = tiny_layers()
    unknown_kind(layers)
    city = City(**layers, validate=False)
    assert [(p.layer, p.column) for p in city.problems()] == [("assets", "kind")]


def test_problem_message_truncates_long_row_lists() -> None:
    problem = Problem("assets", "kind", "a kind", tuple(f"B{i}" for i in range(25)))
    text = problem.describe()
    assert "B9" in text and "B10" not in text and "… and 15 more" in text
    assert "B24" in problem.describe(max_rows=None)


def test_missing_layers_become_empty_layers() -> None:
    layers = tiny_layers()
    city = City(
        name="only assets",
        crs=layers["crs"],
        assets=layers["assets"].assign(node_id=-1, zone_id=""),
    )
    assert len(city.roads.edges) == 0 and len(city.zones) == 0 and city.dem is None
    assert list(city.roads.edges.columns)[:3] == ["edge_id", "u", "v"]


BAD_VALUES = [None, np.nan, -1.0, np.inf, "x"]


@settings(max_examples=60, deadline=None)
@given(
    column=st.sampled_from(["value", "occupants", "capacity", "floor_area_m2"]),
    row=st.integers(0, 2),
    value=st.sampled_from(BAD_VALUES),
)
def test_any_bad_number_is_flagged_never_crashes(column: str, row: int, value: object) -> None:
    layers = tiny_layers()
    frame = layers["assets"]
    if isinstance(value, str):
        frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    problems = City(**layers, validate=False).problems()
    assert any(p.layer == "assets" and p.column == column for p in problems)


def test_road_nodes_without_road_edges_are_a_problem_naming_the_layer() -> None:
    layers = tiny_layers()
    nodes = layers["roads"].nodes
    layers["roads"] = RoadNetwork(nodes, layers["roads"].edges.iloc[:0])
    problems = City(**layers, validate=False).problems()
    assert [(p.layer, p.column) for p in problems] == [("road_edges", "")]
    assert f"joining the {len(nodes)} road nodes" in problems[0].expected
    with pytest.raises(ValidationError, match="road_edges: expected road edges"):
        City(**layers)
