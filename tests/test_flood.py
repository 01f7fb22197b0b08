"""River flood hazard: bathtub-with-connectivity depth, scenarios and stage-frequency event sets."""

from __future__ import annotations

import json
from collections import deque
from itertools import pairwise
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray
from scipy import ndimage

from factories import tiny_layers
from resilientcity.errors import CRSMismatch, DataFileError, ValidationError
from resilientcity.hazard.flood import (
    StageFrequency,
    channel_mask,
    flood_depth,
    river_flood_events,
    river_flood_scenario,
)
from resilientcity.twin import DEM, City

CRS = "EPSG:32649"
CELL_M = 10.0
REFERENCE = Path(__file__).parent / "data" / "reference" / "changsha-hydrology.json"
PACKAGED = Path(__file__).parents[1] / "src/resilientcity/data/hazard/changsha_stage_frequency.json"

#: West → east ground profile (m): channel, bank, ridge at 35 m, a basin behind it, high ground.
PROFILE = [20.0, 30.0, 31.0, 35.0, 28.0, 29.0, 40.0]


def grid_dem(ground: NDArray[np.float64] | list[list[float]]) -> DEM:
    """A DEM of 10 m cells whose north-west corner is at (0, rows × 10 m)."""
    ground = np.asarray(ground, dtype=np.float32)
    return DEM(ground, Affine(CELL_M, 0, 0, 0, -CELL_M, ground.shape[0] * CELL_M), CRS)


def column_river(rows: int, col: int = 0, river_id: str = "r") -> gpd.GeoDataFrame:
    """A river 2 m wide running north along the centre of column ``col``: that column only."""
    x = (col + 0.5) * CELL_M
    return gpd.GeoDataFrame(
        {
            "river_id": pd.array([river_id], dtype="str"),
            "name": pd.array(["River"], dtype="str"),
            "width_m": [2.0],
        },
        geometry=[shapely.LineString([(x, 0.0), (x, rows * CELL_M)])],
        crs=CRS,
    )


def valley(rows: int = 5) -> tuple[DEM, gpd.GeoDataFrame]:
    return grid_dem(np.tile(PROFILE, (rows, 1))), column_river(rows)


def reference_flood(ground: NDArray[np.float32], channel_col: int, stage: float) -> NDArray[bool]:
    """Flooded cells by breadth-first search from the channel (4-neighbours, all below stage)."""
    below = ground < stage
    seen = np.zeros(ground.shape, dtype=bool)
    queue = deque((r, channel_col) for r in range(ground.shape[0]) if below[r, channel_col])
    for cell in queue:
        seen[cell] = True
    while queue:
        r, c = queue.popleft()
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            inside = 0 <= rr < ground.shape[0] and 0 <= cc < ground.shape[1]
            if inside and below[rr, cc] and not seen[rr, cc]:
                seen[rr, cc] = True
                queue.append((rr, cc))
    return seen


# --- the bathtub with connectivity on hand-made DEMs -----------------------------------------


def test_channel_mask_is_the_river_column() -> None:
    dem, river = valley()
    expected = np.zeros(dem.shape, dtype=bool)
    expected[:, 0] = True
    np.testing.assert_array_equal(channel_mask(dem, river), expected)


def test_basin_behind_a_ridge_above_the_stage_stays_dry() -> None:
    dem, river = valley()
    depth = flood_depth(dem, river, 32.0)
    assert depth.shape == dem.shape and depth.dtype == np.float32
    # Channel, bank and terrace below 32 m flood; the basin (28, 29 m) is below the stage too,
    # but the 35 m ridge cuts it off from the river.
    np.testing.assert_array_equal(depth[0], [12.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    assert (depth == depth[0]).all()


def test_ridge_exactly_at_the_stage_still_separates() -> None:
    dem, river = valley()
    np.testing.assert_array_equal(flood_depth(dem, river, 35.0)[:, 3:], 0.0)


def test_stage_above_the_ridge_floods_the_basin_with_depth_stage_minus_ground() -> None:
    dem, river = valley()
    stage = 36.25
    depth = flood_depth(dem, river, stage)
    ground = dem.elevation_m
    flooded = ground < stage
    assert flooded[:, :6].all() and not flooded[:, 6].any()
    np.testing.assert_array_equal(depth[flooded], (stage - ground[flooded]).astype(np.float32))
    np.testing.assert_array_equal(depth[~flooded], 0.0)
    assert depth[0, 4] == pytest.approx(8.25)


def test_nan_ground_never_floods_nor_connects() -> None:
    ground = np.tile(PROFILE, (5, 1))
    ground[2, 1] = np.nan  # one no-data cell on the bank
    ground[:, 3] = np.nan  # the ridge has no data at all
    dem, river = grid_dem(ground), column_river(5)
    depth = flood_depth(dem, river, 50.0)
    assert np.isfinite(depth).all()
    assert depth[2, 1] == 0.0 and depth[1, 1] == 20.0  # its neighbours flood around it
    np.testing.assert_array_equal(depth[:, 3:], 0.0)  # no path over the no-data ridge


def test_diagonal_neighbours_do_not_connect() -> None:
    ground = np.full((3, 4), 40.0)
    ground[:, 0] = 20.0  # channel
    ground[0, 1] = 25.0  # touches the channel by an edge: floods
    ground[1, 2] = 25.0  # touches (0, 1) only by a corner: stays dry
    depth = flood_depth(grid_dem(ground), column_river(3), 30.0)
    assert depth[0, 1] == 5.0 and depth[1, 2] == 0.0


def test_several_stages_return_one_layer_per_stage_in_the_given_order() -> None:
    dem, river = valley()
    stages = [36.0, 25.0, 32.0, 36.0, 100.0]
    multi = flood_depth(dem, river, stages)
    assert multi.shape == (len(stages), *dem.shape)
    for k, stage in enumerate(stages):
        np.testing.assert_array_equal(multi[k], flood_depth(dem, river, stage))
    assert flood_depth(dem, river, np.float64(32.0)).ndim == 2
    assert flood_depth(dem, river, [32.0]).shape == (1, *dem.shape)


ground_values = st.one_of(st.integers(0, 10).map(float), st.just(np.nan))
small_dems = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=9),
    elements=ground_values,
)


@settings(max_examples=150, deadline=None)
@given(
    ground=small_dems,
    stages=st.lists(st.integers(0, 22).map(lambda v: v / 2), min_size=1, max_size=5),
)
def test_flooding_is_monotone_in_the_stage_and_matches_a_flood_fill(
    ground: NDArray[np.float64], stages: list[float]
) -> None:
    dem, river = grid_dem(ground), column_river(ground.shape[0])
    multi = flood_depth(dem, river, stages)
    for k, stage in enumerate(stages):
        single = flood_depth(dem, river, stage)
        np.testing.assert_array_equal(multi[k], single)
        flooded = reference_flood(dem.elevation_m, 0, stage)
        np.testing.assert_array_equal(single > 0, flooded)
        np.testing.assert_array_equal(
            single[flooded], (stage - dem.elevation_m[flooded]).astype(np.float32)
        )
    order = np.argsort(stages, kind="stable")
    for low, high in pairwise(order):
        assert (multi[high] >= multi[low]).all()  # never shallower anywhere …
        assert ((multi[high] > 0) | ~(multi[low] > 0)).all()  # … nor fewer flooded cells


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "rows"), [(np.nan, ""), (np.inf, ""), ([36.0, -np.inf], "#1")])
def test_a_stage_that_is_not_finite_is_refused(stage: object, rows: str) -> None:
    dem, river = valley()
    with pytest.raises(
        ValidationError, match=rf"stage\.stage_m: expected a finite river stage.*{rows}"
    ):
        flood_depth(dem, river, stage)  # type: ignore[arg-type]


def test_rivers_in_another_crs_than_the_dem() -> None:
    dem, river = valley()
    with pytest.raises(CRSMismatch, match=r"EPSG:32650.*EPSG:32649"):
        flood_depth(dem, river.set_crs("EPSG:32650", allow_override=True), 36.0)


def test_rivers_outside_the_dem_are_named() -> None:
    dem, river = valley()
    far = column_river(5, col=500, river_id="far_away")
    with pytest.raises(
        ValidationError, match=r"rivers\.geometry: expected a channel within.*far_away"
    ):
        channel_mask(dem, pd.concat([river, far], ignore_index=True))


def test_no_rivers_and_broken_rivers() -> None:
    dem, river = valley()
    with pytest.raises(ValidationError, match="at least one river centreline"):
        flood_depth(dem, river.iloc[:0], 36.0)
    with pytest.raises(ValidationError, match=r"rivers\.width_m"):
        flood_depth(dem, river.drop(columns="width_m"), 36.0)


def test_a_city_without_dem_or_rivers_is_refused() -> None:
    no_dem = City(**{**tiny_layers(), "dem": None})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"city\.dem: expected a DEM"):
        river_flood_scenario(no_dem, 36.0)
    with pytest.raises(ValidationError, match=r"city\.dem: expected a DEM"):
        river_flood_events(no_dem)
    no_rivers = City(**{**tiny_layers(), "rivers": None})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at least one river centreline"):
        river_flood_scenario(no_rivers, 36.0)


# --- scenario on the tiny city ----------------------------------------------------------------


def test_scenario_samples_the_depth_under_each_asset(tiny_city: City) -> None:
    # The tiny DEM rises from 30 m (north-west) to 50 m (south-east); the river runs east-west
    # at y = 800 m. Only the substation (900, 900), on ground 33.8 m by the river, floods.
    assert tiny_city.dem is not None
    events = river_flood_scenario(tiny_city, 35.0)
    assert events.kind == "river_flood" and events.unit == "m"
    assert list(events.event_ids) == ["stage-35.00m"] and list(events.frequency) == [0.0]
    ground = float(tiny_city.dem.sample([900.0], [900.0])[0])
    expected = np.float32(35.0 - ground)
    np.testing.assert_array_equal(events.intensity.toarray(), [[0.0, 0.0, expected]])
    assert river_flood_scenario(tiny_city, 35.0, event_id="forecast").event_ids[0] == "forecast"


def test_a_polygon_asset_takes_the_depth_at_a_point_inside_it() -> None:
    layers = tiny_layers()
    assets = layers["assets"].copy()  # type: ignore[attr-defined]
    assets.loc[2, "geometry"] = shapely.box(860.0, 860.0, 940.0, 940.0)
    city = City(**{**layers, "assets": assets})  # type: ignore[arg-type]
    point = river_flood_scenario(City(**tiny_layers()), 35.0)  # type: ignore[arg-type]
    polygon = river_flood_scenario(city, 35.0)
    np.testing.assert_array_equal(polygon.intensity.toarray(), point.intensity.toarray())


def test_scenario_takes_one_stage() -> None:
    with pytest.raises(ValidationError, match="one river stage"):
        river_flood_scenario(City(**tiny_layers()), [35.0, 36.0])  # type: ignore[arg-type]


# --- stage-frequency tables --------------------------------------------------------------------


def test_event_frequency_discretises_the_exceedance_curve() -> None:
    table = StageFrequency(np.array([36.0, 38.0, 39.5]), np.array([2.0, 10.0, 100.0]))
    f = table.event_frequency()
    np.testing.assert_allclose(f, [0.4, 0.09, 0.01])
    assert f.sum() == pytest.approx(1 / 2)
    # Events at or above each stage sum to its annual exceedance frequency 1/T.
    np.testing.assert_allclose(np.cumsum(f[::-1])[::-1], 1 / table.return_periods_years)


@pytest.mark.parametrize(
    ("stages", "periods", "message"),
    [
        (
            [36.0, 35.0, 37.0],
            [2.0, 10.0, 100.0],
            r"stages_m: expected values strictly increasing.*#1\)",
        ),
        (
            [36.0, 37.0, 38.0],
            [2.0, -10.0, 100.0],
            r"return_periods_years: expected a finite return period > 0.*#1\)",
        ),
        (
            [36.0, 37.0, 38.0],
            [2.0, 10.0, 10.0],
            r"return_periods_years: expected values strictly.*#2\)",
        ),
        ([36.0, np.nan], [2.0, 10.0], r"stages_m: expected a finite stage.*#1\)"),
        ([36.0, 37.0], [2.0], r"one return period per stage \(2\), found 1"),
        ([], [], "at least one stage"),
    ],
)
def test_bad_tables_name_the_column_and_row(
    stages: list[float], periods: list[float], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        StageFrequency(np.array(stages), np.array(periods))


def test_table_from_file(tmp_path: Path) -> None:
    rows = [{"stage_m": 36.0, "return_period_years": 2}, {"stage_m": 38, "return_period_years": 10}]
    path = tmp_path / "table.json"
    path.write_text(json.dumps({"station": "S", "datum": "D", "stages": rows}), encoding="utf-8")
    table = StageFrequency.from_file(path)
    np.testing.assert_array_equal(table.stages_m, [36.0, 38.0])
    np.testing.assert_array_equal(table.return_periods_years, [2.0, 10.0])
    assert (table.station, table.datum) == ("S", "D")

    rows[1]["return_period_years"] = "often"  # type: ignore[assignment]
    path.write_text(json.dumps({"stages": rows}), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"return_periods_years: expected a finite.*#1\)"):
        StageFrequency.from_file(path)
    del rows[1]["return_period_years"]
    path.write_text(json.dumps({"stages": rows}), encoding="utf-8")
    with pytest.raises(DataFileError, match="stages #1 lacks"):
        StageFrequency.from_file(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataFileError, match="not a readable JSON"):
        StageFrequency.from_file(path)
    with pytest.raises(DataFileError, match="no such stage-frequency file"):
        StageFrequency.from_file(tmp_path / "missing.json")


def test_packaged_table_uses_the_published_changsha_stages() -> None:
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    station = reference["stations"]["Xiang River, Changsha station (湘江长沙站)"]
    table = StageFrequency.default()
    for key in ("warning_stage_m", "guaranteed_stage_m", "record_before_2017_m", "record_m"):
        assert station[key] in table.stages_m
    assert "station datum" in table.datum
    packaged = json.loads(PACKAGED.read_text(encoding="utf-8"))
    for row in packaged["stages"]:
        assert row["return_period_source"].startswith("assumption: ")
        source = row["stage_source"]
        assert source.startswith("interpolated") or any(s in source for s in reference["sources"])


# --- the small demo city ------------------------------------------------------------------------

RECORD_M, GUARANTEED_M = 39.51, 38.37


def test_record_stage_floods_some_buildings_but_not_most(small_city: City) -> None:
    events = river_flood_scenario(small_city, RECORD_M)
    depth = events.intensity.toarray()[0]
    buildings = (small_city.assets["kind"] == "building").to_numpy()
    flooded = depth[buildings] > 0
    assert 0 < flooded.sum() < 0.5 * buildings.sum()
    assert depth.max() < RECORD_M - 20.0  # no deeper than stage minus the channel bed


def test_guaranteed_stage_floods_fewer_assets_than_the_record(small_city: City) -> None:
    guaranteed = river_flood_scenario(small_city, GUARANTEED_M).intensity
    record = river_flood_scenario(small_city, RECORD_M).intensity
    assert 0 < guaranteed.nnz < record.nnz


def test_island_floods_above_the_warning_stage(small_city: City) -> None:
    dem = small_city.dem
    assert dem is not None
    ground = dem.elevation_m
    inner_channel = ndimage.binary_erosion(channel_mask(dem, small_city.rivers), iterations=3)
    island = inner_channel & (ground >= 35.5) & (ground <= 36.0)
    assert island.sum() > 20
    depth = flood_depth(dem, small_city.rivers, [35.0, 36.5])
    assert (depth[0][island] == 0).all()
    assert (depth[1][island] > 0).all()


def test_event_set_from_the_default_table(small_city: City) -> None:
    table = StageFrequency.default()
    events = river_flood_events(small_city)
    assert events.n_events == table.stages_m.size and events.n_assets == len(small_city.assets)
    assert "stage-38.37m-T20" in events.event_ids
    np.testing.assert_allclose(events.frequency, table.event_frequency())
    assert events.frequency.sum() == pytest.approx(1 / table.return_periods_years[0])
    dense = events.intensity.toarray()
    assert (np.diff(dense, axis=0) >= 0).all()  # a higher stage is never shallower at an asset
    record = river_flood_scenario(small_city, RECORD_M).intensity.toarray()[0]
    np.testing.assert_array_equal(dense[-1], record)
