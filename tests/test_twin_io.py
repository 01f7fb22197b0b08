"""GeoPackage round trip and bad files."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal

from cli_runner import run_cli
from resilientcity.errors import DataFileError, ValidationError
from resilientcity.twin import City
from resilientcity.twin.io import file_problems


def assert_cities_equal(a: City, b: City) -> None:
    assert a.name == b.name
    assert a.crs == b.crs
    assert a.metadata == b.metadata
    for name, frame in a.layers().items():
        other = b.layers()[name]
        if hasattr(frame, "geometry"):
            assert_geodataframe_equal(frame, other, check_less_precise=False)
        else:
            assert_frame_equal(frame, other)
    if a.dem is None:
        assert b.dem is None
    else:
        assert b.dem is not None and a.dem.equals(b.dem)


def test_round_trip_small_demo_city(small_city: City, tmp_path) -> None:
    path = tmp_path / "city.gpkg"
    small_city.write(path)
    back = City.read(path)
    assert_cities_equal(small_city, back)
    assert back.roads.csr().nnz == small_city.roads.csr().nnz


def test_round_trip_keeps_extra_columns_and_dtypes(tiny_city: City, tmp_path) -> None:
    assets = tiny_city.assets.copy()
    assets["material"] = pd.Categorical(
        ["brick", "concrete", "steel"], categories=["steel", "brick", "concrete"]
    )
    assets["built"] = pd.to_datetime(["1990-05-01", "2008-01-01", "2015-07-31"]).as_unit("ms")
    assets["floors_below"] = np.array([1, 2, 0], dtype="int32")
    assets["insured"] = [True, False, True]
    dem = tiny_city.dem.elevation_m.copy()
    dem[0, 0] = np.nan
    city = City(
        name="tiny+",
        crs=tiny_city.crs,
        assets=assets,
        roads=tiny_city.roads,
        dependencies=tiny_city.dependencies,
        zones=tiny_city.zones,
        sensors=tiny_city.sensors,
        rivers=tiny_city.rivers,
        dem=type(tiny_city.dem)(dem, tiny_city.dem.transform, tiny_city.dem.crs),
        metadata={"source": "test", "nested": {"a": [1, 2]}},
    )
    path = tmp_path / "tiny.gpkg"
    city.write(path)
    back = City.read(path)
    assert_cities_equal(city, back)
    assert list(back.assets["material"].cat.categories) == ["steel", "brick", "concrete"]
    assert np.isnan(back.dem.elevation_m[0, 0])


def test_write_replaces_existing_file_atomically(tiny_city: City, tmp_path) -> None:
    path = tmp_path / "city.gpkg"
    tiny_city.write(path)
    tiny_city.write(path)
    assert [p.name for p in tmp_path.iterdir()] == ["city.gpkg"]


def test_failed_write_leaves_old_file_and_no_temp(tiny_city: City, tmp_path, monkeypatch) -> None:
    path = tmp_path / "city.gpkg"
    tiny_city.write(path)
    before = path.read_bytes()
    import resilientcity.twin.io as io

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(io, "_write_dem", boom)
    with pytest.raises(DataFileError, match="disk full"):
        tiny_city.write(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["city.gpkg"]


def test_write_into_missing_folder(tiny_city: City, tmp_path) -> None:
    with pytest.raises(DataFileError, match="does not exist"):
        tiny_city.write(tmp_path / "nope" / "city.gpkg")


def test_read_missing_file(tmp_path) -> None:
    with pytest.raises(DataFileError, match="no such file"):
        City.read(tmp_path / "absent.gpkg")


def test_read_corrupt_file(tmp_path) -> None:
    path = tmp_path / "corrupt.gpkg"
    path.write_bytes(b"SQLite format 3\x00" + b"\x13" * 2000)
    with pytest.raises(DataFileError):
        City.read(path)


def test_read_truncated_geopackage(tiny_city: City, tmp_path) -> None:
    path = tmp_path / "city.gpkg"
    tiny_city.write(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DataFileError):
        City.read(path)


def test_read_geopackage_without_assets(tmp_path, tiny_city: City) -> None:
    path = tmp_path / "zones.gpkg"
    tiny_city.zones.to_file(path, layer="zones", driver="GPKG")
    with pytest.raises(DataFileError, match="no 'assets' layer"):
        City.read(path)


def test_read_foreign_geopackage_with_bad_rows_lists_problems(tmp_path, tiny_city: City) -> None:
    path = tmp_path / "foreign.gpkg"
    assets = tiny_city.assets.assign(node_id=-1, zone_id="")
    assets.loc[0, "kind"] = "castle"
    assets.to_file(path, layer="assets", driver="GPKG")
    with pytest.raises(ValidationError, match=r"assets\.kind"):
        City.read(path)
    city = City.read(path, validate=False)
    assert city.name == "foreign"
    assert [(p.layer, p.column) for p in city.problems()] == [("assets", "kind")]


def test_dem_with_whole_tiles_of_nodata_round_trips(small_city: City, tmp_path) -> None:
    z = small_city.dem.elevation_m.copy()
    z[:300, :300] = np.nan  # more than one 256 × 256 storage tile with no data at all
    dem = type(small_city.dem)(z, small_city.dem.transform, small_city.crs)
    city = City(name="holes", crs=small_city.crs, dem=dem)
    city.write(tmp_path / "holes.gpkg")
    back = City.read(tmp_path / "holes.gpkg")
    assert back.dem is not None and back.dem.equals(dem)


def test_extent_covers_assets_road_nodes_and_zones(tiny_city: City) -> None:
    extent = tiny_city.extent()
    assert extent is not None
    for frame in (tiny_city.assets, tiny_city.roads.nodes, tiny_city.zones):
        xmin, ymin, xmax, ymax = frame.total_bounds
        assert extent[0] <= xmin and extent[1] <= ymin and extent[2] >= xmax and extent[3] >= ymax
    # it is the union: each side is some frame's side
    sides = [f.total_bounds for f in (tiny_city.assets, tiny_city.roads.nodes, tiny_city.zones)]
    assert extent[0] == min(s[0] for s in sides) and extent[2] == max(s[2] for s in sides)


def _drop_layer(path, layer: str) -> None:
    """Remove a vector layer from a GeoPackage as another tool would (table, R-tree, contents)."""
    with sqlite3.connect(path) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?",
                (f"rtree_{layer}_%",),
            )
        ]
        for name in [*tables, layer]:
            db.execute(f'DROP TABLE IF EXISTS "{name}"')
        for table in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_extensions"):
            db.execute(f"DELETE FROM {table} WHERE table_name = ?", (layer,))
    assert layer not in {str(n) for n, _ in pyogrio.list_layers(path)}


def test_a_twin_without_its_road_edges_layer_is_refused_naming_the_layer(
    tiny_city: City, tmp_path, capsys
) -> None:
    path = tmp_path / "city.gpkg"
    tiny_city.write(path)
    assert file_problems(path) == []
    _drop_layer(path, "road_edges")
    problems = file_problems(path)
    assert [(p.layer, p.column) for p in problems] == [("road_edges", "")]
    assert "listed in rc_metadata" in problems[0].expected
    with pytest.raises(ValidationError, match="road_edges: expected the layer road_edges") as err:
        City.read(path)
    assert "city.gpkg" in str(err.value)
    code, _, stderr = run_cli(["twin", "validate", str(path)], capsys)
    assert code == 1 and "road_edges: expected the layer road_edges" in stderr
    assert "no such layer in the file" in stderr


def test_a_foreign_geopackage_with_road_nodes_needs_road_edges(tiny_city: City, tmp_path) -> None:
    path = tmp_path / "foreign.gpkg"
    tiny_city.assets.to_file(path, layer="assets", driver="GPKG")
    tiny_city.roads.nodes.to_file(path, layer="road_nodes", driver="GPKG")
    problems = file_problems(path)
    assert [p.layer for p in problems] == ["road_edges"]
    assert "beside road_nodes" in problems[0].expected
    with pytest.raises(ValidationError, match="a road network needs both"):
        City.read(path)
    tiny_city.roads.edges.to_file(path, layer="road_edges", driver="GPKG")
    assert file_problems(path) == []
    with pytest.raises(DataFileError, match="no such file"):
        file_problems(tmp_path / "absent.gpkg")


def test_a_scenario_on_a_twin_without_road_edges_fails_naming_the_layer(
    tiny_city: City, tmp_path, capsys
) -> None:
    path = tmp_path / "city.gpkg"
    tiny_city.write(path)
    _drop_layer(path, "road_edges")
    scenario = tmp_path / "flood.yaml"
    scenario.write_text(
        "name: flood\ncity:\n  path: city.gpkg\nhazards:\n  - kind: river_flood\n    stage_m: 39.51\n"
    )
    code, _, stderr = run_cli(["run", str(scenario), "--out", str(tmp_path / "out")], capsys)
    assert code == 1, stderr
    assert "road_edges: expected the layer road_edges" in stderr
    assert "Arrow" not in stderr and not (tmp_path / "out").exists()


def test_a_twin_written_before_water_bodies_and_origin_reads_with_defaults(
    tiny_city: City, tmp_path
) -> None:
    """Files of the first format have no water_bodies, dependencies.origin, rivers.waterway."""
    path = tmp_path / "old.gpkg"
    tiny_city.write(path)
    _drop_layer(path, "water_bodies")
    old = {"dependencies": "origin", "rivers": "waterway"}
    for layer, column in old.items():
        frame = pyogrio.read_dataframe(path, layer=layer).drop(columns=column)
        _drop_layer(path, layer)
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", append=False)
    meta = pyogrio.read_dataframe(path, layer="rc_metadata")
    layers = json.loads(meta.loc[meta["key"] == "layers", "value"].iloc[0])
    del layers["water_bodies"]
    for layer, column in old.items():
        layers[layer]["columns"].remove(column)
        del layers[layer]["dtypes"][column]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE rc_metadata SET value = ? WHERE key = 'layers'", (json.dumps(layers),))
    assert "water_bodies" not in {str(n) for n, _ in pyogrio.list_layers(path)}
    back = City.read(path)
    assert len(tiny_city.dependencies) and len(tiny_city.rivers)
    assert (back.dependencies["origin"] == "given").all()
    assert (back.rivers["waterway"] == "river").all()
    assert len(back.water_bodies) == 0 and back.water_bodies.crs == back.crs
    assert back.problems() == []
    assert_frame_equal(back.dependencies, tiny_city.dependencies)
