"""Rainstorm hazard: storm intensity formula, Chicago design storm, fill-and-spill ponding."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

from factories import tiny_layers
from resilientcity.errors import DataFileError, ValidationError
from resilientcity.hazard.ponding import fill_depressions, ponding_depth
from resilientcity.hazard.rainstorm import (
    StormIntensityFormula,
    design_storm,
    pluvial_flood_events,
    pluvial_flood_scenario,
    rainfall_excess_mm,
)
from resilientcity.twin import DEM, City

CRS = "EPSG:32649"
PACKAGED = Path(__file__).parents[1] / "src/resilientcity/data/hazard/storm_intensity.json"

#: i = 10 (1 + lg P) / sqrt(t) mm/min: depth H(P, t) = 10 (1 + lg P) sqrt(t) mm, easy by hand.
SIMPLE = StormIntensityFormula(a1=10.0, c=1.0, b=0.0, n=0.5, city="test")


def grid(ground: list[list[float]] | NDArray[np.float64], cell_m: float = 10.0) -> DEM:
    z = np.asarray(ground, dtype=np.float32)
    return DEM(z, Affine(cell_m, 0, 0, 0, -cell_m, z.shape[0] * cell_m), CRS)


# --- storm intensity formula ------------------------------------------------------------------


def test_packaged_formula_is_shanghai_standing_in_for_changsha() -> None:
    spec = json.loads(PACKAGED.read_text(encoding="utf-8"))
    assert "Changsha" in spec["stands_in_for"] and "DB31/T 1043-2017" in spec["source"]
    f = StormIntensityFormula.default()
    assert f.a1 == pytest.approx(1600 / 167) and (f.c, f.b, f.n) == (0.846, 7.0, 0.656)


def test_shanghai_intensity_by_hand() -> None:
    f = StormIntensityFormula.default()
    # q = 1600 (1 + 0.846 lg 10) / (60 + 7)^0.656 = 2953.6 / 67^0.656;
    # 67^0.656 = exp(0.656 × ln 67) = exp(0.656 × 4.204693) = exp(2.758279) = 15.77268
    q = 2953.6 / 15.77268
    assert f.intensity_l_s_ha(10, 60) == pytest.approx(q, rel=1e-6)  # 187.26 L/(s·ha)
    assert f.intensity_mm_min(10, 60) == pytest.approx(q / 167, rel=1e-6)  # 1.1213 mm/min
    assert f.intensity_mm_h(10, 60) == pytest.approx(q / 167 * 60, rel=1e-6)  # 67.28 mm/h
    assert f.depth_mm(10, 60) == pytest.approx(q / 167 * 60, rel=1e-6)  # 67.28 mm in 60 min


def test_simple_formula_broadcasts() -> None:
    # H = 10 (1 + lg P) sqrt(t): P = 1, t = 25 → 50 mm; P = 100, t = 100 → 10 × 3 × 10 = 300 mm
    depth = SIMPLE.depth_mm(np.array([1.0, 100.0]), np.array([25.0, 100.0]))
    np.testing.assert_allclose(depth, [50.0, 300.0])
    assert SIMPLE.intensity_mm_min(1, 25) == pytest.approx(2.0)  # 10 / 5


@pytest.mark.parametrize(
    ("field", "value"),
    [("a1", math.nan), ("a1", 0.0), ("c", -0.1), ("b", math.inf), ("n", 0.0), ("n", 1.2)],
)
def test_bad_coefficients(field: str, value: float) -> None:
    coef = {"a1": 10.0, "c": 0.5, "b": 5.0, "n": 0.6} | {field: value}
    with pytest.raises(ValidationError) as info:
        StormIntensityFormula(**coef)
    assert [p.column for p in info.value.problems] == [field]


def test_every_bad_coefficient_is_listed() -> None:
    with pytest.raises(ValidationError) as info:
        StormIntensityFormula(math.nan, math.nan, -1.0, 2.0)
    assert [p.column for p in info.value.problems] == ["a1", "c", "b", "n"]


@pytest.mark.parametrize(
    ("period", "duration"), [(0, 60), (-5, 60), (10, 0), (10, -1), (math.nan, 60)]
)
def test_bad_period_or_duration(period: float, duration: float) -> None:
    with pytest.raises(ValidationError):
        SIMPLE.intensity_mm_min(period, duration)


def test_period_too_short_for_the_formula() -> None:
    # 1 + 1.0 × lg 0.05 = 1 − 1.30 < 0: no positive intensity
    with pytest.raises(ValidationError, match="1 \\+ C·lg P > 0"):
        SIMPLE.depth_mm(0.05, 60)


def test_from_file_accepts_a1_or_a(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text(
        json.dumps({"city": "X", "coefficients": {"A1": 2, "C": 0.5, "b": 3, "n": 0.7}})
    )
    assert StormIntensityFormula.from_file(path) == StormIntensityFormula(2, 0.5, 3, 0.7, "X")
    path.write_text(json.dumps({"coefficients": {"A": 334, "C": 0.5, "b": 3, "n": 0.7}}))
    assert StormIntensityFormula.from_file(path).a1 == pytest.approx(2.0)  # 334 / 167


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps([1, 2]),
        json.dumps({"coefficients": {"C": 0.5, "b": 3, "n": 0.7}}),
        json.dumps({"coefficients": {"A": 1, "A1": 1, "C": 0.5, "b": 3, "n": 0.7}}),
        json.dumps({"coefficients": {"A1": 1, "b": 3}}),
    ],
)
def test_from_file_broken(tmp_path: Path, content: str) -> None:
    path = tmp_path / "f.json"
    path.write_text(content)
    with pytest.raises(DataFileError):
        StormIntensityFormula.from_file(path)


def test_from_file_missing_and_bad_values(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such"):
        StormIntensityFormula.from_file(tmp_path / "none.json")
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"coefficients": {"A1": "x", "C": 0.5, "b": 3, "n": 0.7}}))
    with pytest.raises(ValidationError, match="a1"):
        StormIntensityFormula.from_file(path)


# --- Chicago design storm ---------------------------------------------------------------------


def test_chicago_blocks_by_hand() -> None:
    # P = 1 → a = 10; H(τ) = 10 sqrt(τ). D = 100, r = 0.5: peak at 50 min; cumulative depth
    # before the peak C(t) = r H(D) − r H((50 − t)/r): C(0) = 50 − 0.5 × 10 × 10 = 0,
    # C(25) = 50 − 5 sqrt(50) = 14.645, C(50) = 50; symmetric after the peak.
    storm = design_storm(SIMPLE, 1, 100, step_min=25, peak_ratio=0.5)
    half = 5 * math.sqrt(50)
    np.testing.assert_allclose(storm["depth_mm"], [50 - half, half, half, 50 - half])
    np.testing.assert_allclose(storm["intensity_mm_h"], storm["depth_mm"] / 25 * 60)
    assert list(storm.columns) == ["start_min", "end_min", "intensity_mm_h", "depth_mm"]
    np.testing.assert_array_equal(storm["start_min"], [0, 25, 50, 75])


@settings(max_examples=40, deadline=None)
@given(
    period=st.floats(1.0, 100.0),
    steps=st.integers(1, 36),
    step=st.sampled_from([1.0, 5.0, 10.0]),
    ratio=st.floats(0.0, 1.0),
)
def test_design_storm_total_is_the_idf_depth(
    period: float, steps: int, step: float, ratio: float
) -> None:
    f = StormIntensityFormula.default()
    storm = design_storm(f, period, steps * step, step_min=step, peak_ratio=ratio)
    assert abs(storm["depth_mm"].sum() - f.depth_mm(period, steps * step)) < 1e-9
    assert (storm["depth_mm"] > 0).all()
    # the intensity rises to the peak at r·D and falls after it: the wettest block holds the
    # peak or lies next to the block that does
    peak_block = min(int(ratio * steps), steps - 1)
    assert abs(storm["depth_mm"].idxmax() - peak_block) <= 1


def test_peak_window_holds_the_idf_depth() -> None:
    # any window around the peak in the ratio r holds the IDF depth of its length (Chicago)
    f = StormIntensityFormula.default()
    storm = design_storm(f, 50, 120, step_min=5, peak_ratio=0.5)
    assert storm["depth_mm"].iloc[10:14].sum() == pytest.approx(f.depth_mm(50, 20), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"return_period_years": 0}, "return_period_years"),
        ({"return_period_years": -2}, "return_period_years"),
        ({"duration_min": 0}, "duration_min"),
        ({"duration_min": -60}, "duration_min"),
        ({"step_min": 7}, "step_min"),
        ({"step_min": 0}, "step_min"),
        ({"peak_ratio": 1.5}, "peak_ratio"),
        ({"peak_ratio": math.nan}, "peak_ratio"),
    ],
)
def test_design_storm_bad_input(kwargs: dict[str, float], column: str) -> None:
    args = {"return_period_years": 10.0, "duration_min": 60.0} | kwargs
    with pytest.raises(ValidationError) as info:
        design_storm(SIMPLE, **args)  # type: ignore[arg-type]
    assert info.value.problems[0].column == column


# --- rainfall excess --------------------------------------------------------------------------


def test_rainfall_excess_by_hand() -> None:
    # H(100, 100) = 10 × 3 × 10 = 300 mm; H(10, 100) = 10 × 2 × 10 = 200 mm; ψ = 0.5 → 50 mm
    assert rainfall_excess_mm(SIMPLE, 100, 100, 0.5, 10) == pytest.approx(50.0)
    # a storm the network was designed for leaves nothing
    assert rainfall_excess_mm(SIMPLE, 5, 100, 0.5, 10) == 0.0
    np.testing.assert_allclose(rainfall_excess_mm(SIMPLE, 100, 100, [[0.2, 1.0]], 10), [[20, 100]])


def test_rainfall_excess_defaults_come_from_the_data_file() -> None:
    gb = json.loads(PACKAGED.read_text(encoding="utf-8"))["gb50014"]
    psi, pd_years = gb["default_runoff_coefficient"], gb["default_drainage_return_period_years"]
    expected = psi * (SIMPLE.depth_mm(100, 60) - SIMPLE.depth_mm(pd_years, 60))
    assert rainfall_excess_mm(SIMPLE, 100, 60) == pytest.approx(expected)


@pytest.mark.parametrize("psi", [-0.1, 1.1, math.nan])
def test_runoff_coefficient_outside_unit_interval(psi: float) -> None:
    with pytest.raises(ValidationError) as info:
        rainfall_excess_mm(SIMPLE, 100, 60, psi)
    assert info.value.problems[0].column == "runoff_coefficient"


@pytest.mark.parametrize(
    ("period", "duration", "drainage"), [(0, 60, 3), (100, -1, 3), (100, 60, 0)]
)
def test_rainfall_excess_bad_periods(period: float, duration: float, drainage: float) -> None:
    with pytest.raises(ValidationError):
        rainfall_excess_mm(SIMPLE, period, duration, 0.5, drainage)


# --- depression filling and ponding -----------------------------------------------------------

#: 5 × 5, rim at 10 m, a 3 × 3 bowl at 5 m with a pit of 4 m in its centre.
BOWL = [
    [10, 10, 10, 10, 10],
    [10, 5, 5, 5, 10],
    [10, 5, 4, 5, 10],
    [10, 5, 5, 5, 10],
    [10, 10, 10, 10, 10],
]


def test_fill_depressions_bowl() -> None:
    filled = fill_depressions(np.array(BOWL, dtype=float))
    expected = np.full((5, 5), 10.0)
    np.testing.assert_array_equal(filled, expected)
    breach = np.array(BOWL, dtype=float)
    breach[2, 4] = 6.0  # a lower edge cell: the bowl spills at 6 m
    filled = fill_depressions(breach)
    assert filled[2, 2] == 6.0 and filled[0, 0] == 10.0


def test_fill_depressions_nan_and_channels_are_outlets() -> None:
    ground = np.array(BOWL, dtype=float)
    ground[2, 2] = np.nan  # no data in the pit: the bowl drains into it
    filled = fill_depressions(ground)
    assert np.isnan(filled[2, 2]) and filled[1, 1] == 5.0
    channel = np.zeros((5, 5), dtype=bool)
    channel[2, 2] = True
    assert fill_depressions(np.array(BOWL, dtype=float), channel)[1, 1] == 5.0


def test_ponding_in_the_pit_by_hand() -> None:
    # 10 m cells (100 m²). The 9 bowl cells drain to the pit; the rim is outlet (its rain is
    # lost). 10 mm of excess → V = 9 × 100 × 0.010 = 9 m³. Filling the pit up to the next
    # ground (5 m) would take 100 × 1 = 100 m³ > 9, so the level is 4 + 9/100 = 4.09 m.
    depth = ponding_depth(grid(BOWL), 10.0)
    expected = np.zeros((5, 5))
    expected[2, 2] = 0.09
    np.testing.assert_allclose(depth, expected, atol=1e-6)
    # 1 000 mm → 900 m³: the pit to 5 m takes 100 m³, then 9 cells share 800 m³: 5 + 800/900
    depth = ponding_depth(grid(BOWL), 1000.0)
    level = 5 + 800 / 900
    assert depth[2, 2] == pytest.approx(level - 4, abs=1e-5)
    assert depth[1, 1] == pytest.approx(level - 5, abs=1e-5)
    # far more than the capacity (100 × (6 + 8 × 5) = 4 600 m³): full to the rim, 10 m
    depth = ponding_depth(grid(BOWL), 1e5)
    assert depth[2, 2] == pytest.approx(6.0) and depth[1, 1] == pytest.approx(5.0)


def cascade_ground() -> NDArray[np.float64]:
    """Basin A (5 m, spills at 7 m over a wall) drains into basin B (3 m, spills at 6 m)."""
    z = np.full((5, 8), 10.0)
    z[1:4, 1:3] = 5.0  # A: 6 cells
    z[1:4, 3] = 7.0  # wall: 3 cells, draining into B (steeper)
    z[1:4, 4:7] = 3.0  # B: 9 cells
    z[2, 7] = 6.0  # B's outlet on the edge
    return z


def test_overflow_spills_into_the_basin_downstream() -> None:
    # 2 100 mm of excess on 100 m² cells: A gets 6 × 210 = 1 260 m³, holds 6 × 100 × 2 = 1 200 m³
    # (full to 7 m) and spills 60 m³ into B; B gets (9 + 3 wall cells) × 210 = 2 520 m³ + 60 =
    # 2 580 m³ over 900 m² → 2.8667 m (below its capacity, 3 m).
    depth = ponding_depth(grid(cascade_ground()), 2100.0)
    np.testing.assert_allclose(depth[1:4, 1:3], 2.0, atol=1e-5)
    np.testing.assert_allclose(depth[1:4, 4:7], 2580 / 900, atol=1e-5)
    assert (depth[1:4, 3] == 0).all() and (depth[[0, -1], :] == 0).all()


def test_no_excess_no_ponding_and_bad_excess() -> None:
    assert not ponding_depth(grid(BOWL), 0.0).any()
    with pytest.raises(ValidationError, match="excess_mm"):
        ponding_depth(grid(BOWL), -1.0)
    with pytest.raises(ValidationError, match="channels"):
        ponding_depth(grid(BOWL), 1.0, np.zeros((2, 2), dtype=bool))


@settings(max_examples=60, deadline=None)
@given(
    ground=hnp.arrays(np.float64, (7, 6), elements=st.floats(0, 20, width=32)),
    excess=st.floats(0, 5000),
)
def test_ponding_properties(ground: NDArray[np.float64], excess: float) -> None:
    dem = grid(ground)
    depth = ponding_depth(dem, excess).astype(np.float64)
    room = fill_depressions(ground) - ground
    assert (depth >= 0).all() and (depth <= room + 1e-4).all()
    rain_m3 = excess / 1000 * 100 * (5 * 4)  # only interior cells (not outlets) keep their rain
    assert depth.sum() * 100 <= rain_m3 * (1 + 1e-6) + 1e-3  # never more water than rain
    np.testing.assert_allclose(ponding_depth(dem, 1e7), room, atol=1e-4)  # all full


# --- scenario and event set on a city ---------------------------------------------------------


def pit_city() -> City:
    """The tiny city (100 m cells, flat at 40 m) with a 1 m pit under the hospital H1."""
    layers = tiny_layers()
    z = np.full((10, 10), 40.0, dtype=np.float32)
    z[5, 5] = 39.0  # H1 at (500, 500): row (1000 − 500)/100 = 5, col 5
    layers["dem"] = DEM(z, Affine(100.0, 0, 0, 0, -100.0, 1000.0), CRS)
    return City(**layers)  # type: ignore[arg-type]


def test_scenario_on_a_pit_by_hand() -> None:
    # excess 50 mm (see test_rainfall_excess_by_hand) on the pit and its 8 neighbours (the rest
    # of the flat drains nowhere): 9 × 10 000 m² × 0.05 m = 4 500 m³ in a pit of 10 000 m²
    events = pluvial_flood_scenario(
        pit_city(), 100, 100, SIMPLE, runoff_coefficient=0.5, drainage_return_period_years=10
    )
    assert events.kind == "pluvial_flood" and events.unit == "m"
    assert list(events.event_ids) == ["rain-T100-100min"] and events.frequency.tolist() == [0.0]
    np.testing.assert_allclose(events.intensity.toarray(), [[0.0, 0.45, 0.0]], atol=1e-6)


def test_event_set_frequencies_and_monotone_depth(small_city: City) -> None:
    events = pluvial_flood_events(small_city, duration_min=60)
    # f_k = 1/T_k − 1/T_{k+1}: 1/2 − 1/5, 1/5 − 1/10, 1/10 − 1/20, 1/20 − 1/50, 1/50 − 1/100, 1/100
    np.testing.assert_allclose(events.frequency, [0.3, 0.1, 0.05, 0.03, 0.01, 0.01])
    assert events.event_ids[0] == "rain-T2-60min" and events.n_assets == len(small_city.assets)
    depth = events.intensity.toarray()
    assert not depth[0].any()  # T = 2 is below the default drainage design (3 years)
    assert (np.diff(depth, axis=0) >= -1e-6).all()  # a rarer storm never ponds less
    assert 0 < depth[-1].max() < 10 and (depth[-1] > 0).sum() > 10


def test_city_without_dem_and_bad_periods(tiny_city: City) -> None:
    no_dem = City(**(tiny_layers() | {"dem": None}))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="dem"):
        pluvial_flood_scenario(no_dem, 100, 60)
    for periods in ([], [10, 5], [0, 10], [math.nan]):
        with pytest.raises(ValidationError, match="return_periods"):
            pluvial_flood_events(tiny_city, return_periods=periods)
    sloping = pluvial_flood_scenario(tiny_city, 100, 60)  # a plane: nowhere to pond
    assert sloping.intensity.nnz == 0
