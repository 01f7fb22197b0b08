"""Typhoon wind: Holland (1980) profile, tracks, maximum wind per asset, wind damage curves."""

from __future__ import annotations

import json
import math
import tracemalloc
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from resilientcity.errors import DataFileError, ValidationError
from resilientcity.hazard.holland import (
    coriolis_parameter,
    holland_2008_b,
    holland_gradient_wind,
    wind_defaults,
)
from resilientcity.hazard.wind import (
    TyphoonTrack,
    max_surface_wind,
    typhoon_wind_events,
    typhoon_wind_scenario,
)
from resilientcity.twin import City
from resilientcity.vulnerability.library import read_curves

UTM = "EPSG:32649"
RMAX_M = 30_000.0
# Cyclostrophic maximum for B = 1.5, Δp = 50 hPa = 5000 Pa, ρ = 1.15 (Holland 1980):
# sqrt(B Δp / (ρ e)) = sqrt(7500 / (1.15 × 2.718282)) = sqrt(7500 / 3.126024) = sqrt(2399.22)
V_MAX_GRADIENT = 48.98177


def track_frame(
    x: list[float], y: list[float], hours: list[float], pc: float = 958.0, b: float | None = 1.5
) -> pd.DataFrame:
    """A track table with a constant 50 hPa deficit (1008 − 958) and R_max 30 km."""
    frame = pd.DataFrame(
        {
            "time": pd.Timestamp("2024-09-06 00:00") + pd.to_timedelta(hours, unit="h"),
            "x": x,
            "y": y,
            "central_pressure_hpa": pc,
            "environmental_pressure_hpa": 1008.0,
            "rmax_km": RMAX_M / 1000,
        }
    )
    if b is not None:
        frame["holland_b"] = b
    return frame


# --- the Holland (1980) profile ------------------------------------------------------------


def test_gradient_wind_at_rmax_without_coriolis_is_the_cyclostrophic_maximum() -> None:
    v = holland_gradient_wind(RMAX_M, 5000.0, RMAX_M, 1.5, 0.0)
    assert v == pytest.approx(V_MAX_GRADIENT, abs=1e-4)
    assert v == pytest.approx(math.sqrt(1.5 * 5000.0 / (1.15 * math.e)), rel=1e-12)


def test_gradient_wind_with_coriolis_by_hand() -> None:
    # r = 100 km, R_max = 30 km, B = 1.5, Δp = 5000 Pa, f = 5e-5 1/s, ρ = 1.15:
    # (R_max/r)^B = 0.3^1.5 = 0.1643168; exp(-0.1643168) = 0.8484732
    # (B/ρ)(R_max/r)^B Δp exp(..) = 1.3043478 × 0.1643168 × 5000 × 0.8484732 = 909.2503
    # r f / 2 = 100000 × 5e-5 / 2 = 2.5
    # V = sqrt(909.2503 + 6.25) − 2.5 = 30.257235 − 2.5 = 27.757235
    assert holland_gradient_wind(100_000.0, 5000.0, RMAX_M, 1.5, 5e-5) == pytest.approx(
        27.757235, abs=1e-5
    )


def test_gradient_wind_is_vectorised_and_peaks_at_rmax() -> None:
    r = np.linspace(1_000.0, 200_000.0, 1991)  # 100 m steps
    v = holland_gradient_wind(r, 5000.0, RMAX_M, 1.5, 0.0)
    assert v.shape == r.shape
    assert r[np.argmax(v)] == pytest.approx(RMAX_M, abs=100.0)
    grid = holland_gradient_wind(r[:, None], np.array([3000.0, 5000.0]), RMAX_M, 1.5, 0.0)
    assert grid.shape == (r.size, 2)
    assert (grid[:, 1] > grid[:, 0]).all()  # a deeper storm blows harder everywhere


def test_coriolis_parameter_by_hand() -> None:
    # f = 2 Ω sin 30° = 2 × 7.292e-5 × 0.5 = 7.292e-5; the magnitude in both hemispheres
    assert coriolis_parameter([30.0, -30.0, 0.0]) == pytest.approx([7.292e-5, 7.292e-5, 0.0])


def test_holland_2008_b_by_hand() -> None:
    # Δp = 50 hPa, ∂p/∂t = 0, φ = 20°, v_t = 5 m/s:  x = 0.6 (1 − 50/215) = 0.4604651
    # 5^0.4604651 = 2.0982214
    # b_s = −4.4e-5 × 2500 + 0.01 × 50 + 0 − 0.014 × 20 + 0.15 × 2.0982214 + 1
    #     = −0.11 + 0.5 − 0.28 + 0.3147332 + 1 = 1.4247332
    assert holland_2008_b(50.0, 0.0, 20.0, 5.0) == pytest.approx(1.4247332, abs=1e-7)
    # very deep storms are clipped to CLIMADA's interval [0.81, 2.025]
    assert holland_2008_b(300.0, 0.0, 0.0, 0.0) == pytest.approx(0.81)


def test_defaults_have_a_source_for_every_value() -> None:
    text = resources.files("resilientcity").joinpath("data/hazard/wind_defaults.json")
    spec = json.loads(text.read_text("utf-8"))
    for key, entry in spec.items():
        if isinstance(entry, dict):
            assert entry.get("source"), key
    assert wind_defaults().gradient_to_surface_factor == 0.9


# --- tracks --------------------------------------------------------------------------------


def test_track_resample_interpolates_linearly_in_time() -> None:
    track = TyphoonTrack(track_frame([0.0, 6000.0], [0.0, 0.0], [0.0, 1.0]), UTM, "t")
    fine = track.resample(10.0)
    assert len(fine.data) == 7  # 0, 10, …, 60 minutes
    assert fine.data["x"].to_numpy() == pytest.approx(np.arange(7) * 1000.0)
    odd = track.resample(25.0)  # 0, 25, 50 and the last point at 60
    assert odd.data["x"].to_numpy() == pytest.approx([0.0, 2500.0, 5000.0, 6000.0])


BAD_TRACKS = [
    ("one point", lambda f: f.iloc[:1], "", ()),
    ("time backwards", lambda f: f.assign(time=f["time"].iloc[::-1].to_numpy()), "time", ("#1",)),
    ("no deficit", lambda f: f.assign(central_pressure_hpa=[958.0, 1010.0]), "central_pressure_hpa", ("#1",)),
    ("zero radius", lambda f: f.assign(rmax_km=[0.0, 30.0]), "rmax_km", ("#0",)),
    ("NaN", lambda f: f.assign(x=[0.0, np.nan]), "x", ("#1",)),
    ("B too large", lambda f: f.assign(holland_b=[1.5, 3.0]), "holland_b", ("#1",)),
    ("missing column", lambda f: f.drop(columns="rmax_km"), "rmax_km", ()),
]  # fmt: skip


@pytest.mark.parametrize(("case", "edit", "column", "rows"), BAD_TRACKS)
def test_bad_tracks_are_refused_naming_column_and_rows(
    case: str, edit: object, column: str, rows: tuple[str, ...]
) -> None:
    frame = track_frame([0.0, 10_000.0], [0.0, 0.0], [0.0, 6.0])
    with pytest.raises(ValidationError) as info:
        TyphoonTrack(edit(frame), UTM, "bad")  # type: ignore[operator]
    problem = info.value.problems[0]
    assert problem.layer == "track bad"
    assert problem.column == column
    assert problem.rows == rows


def test_every_track_problem_is_listed_at_once() -> None:
    frame = track_frame([0.0, 10_000.0, 20_000.0], [0.0] * 3, [0.0, 6.0, 3.0])
    frame["rmax_km"] = [30.0, -1.0, 30.0]
    with pytest.raises(ValidationError) as info:
        TyphoonTrack(frame, UTM, "bad")
    assert {(p.column, p.rows) for p in info.value.problems} == {
        ("time", ("#2",)),
        ("rmax_km", ("#1",)),
    }


def test_bad_step_and_bad_crs_are_refused() -> None:
    track = TyphoonTrack(track_frame([0.0, 1.0], [0.0, 0.0], [0.0, 6.0]), UTM)
    with pytest.raises(ValidationError, match="step_minutes"):
        track.resample(0.0)
    with pytest.raises(ValidationError, match="crs"):
        TyphoonTrack(track_frame([0.0, 1.0], [0.0, 0.0], [0.0, 6.0]), "not a crs")
    with pytest.raises(ValidationError, match="projected"):
        max_surface_wind(track, [0.0], [0.0], "EPSG:4326")


# --- wind at assets ------------------------------------------------------------------------


def stationary(x0: float, y0: float, b: float | None = 1.5) -> TyphoonTrack:
    """A storm sitting at (x0, y0) for 6 hours (no motion, constant pressure)."""
    return TyphoonTrack(track_frame([x0, x0], [y0, y0], [0.0, 6.0], b=b), UTM, "still")


def test_stationary_storm_gives_reduced_gradient_wind_at_assets(tiny_city: City) -> None:
    # Centre 30 km west of B1 (100, 100): B1 sits at R_max. The tiny city is on the equator in
    # UTM 49N (northing 100 m, latitude 0.0009°), so f ≈ 2e-9 1/s and r f / 2 ≈ 3e-5 m/s.
    # Surface wind at B1 = 0.9 × 48.98177 = 44.08359 m/s (no motion, so no asymmetry).
    events = typhoon_wind_scenario(tiny_city, stationary(100.0 - RMAX_M, 100.0))
    wind = events.intensity.toarray()[0]
    assert events.kind == "wind" and events.unit == "m/s"
    assert events.event_ids.tolist() == ["still"] and events.frequency.tolist() == [0.0]
    assert wind[0] == pytest.approx(0.9 * V_MAX_GRADIENT, abs=1e-3)
    # H1 (500, 500) and S1 (900, 900) are farther out: the Holland profile at their distance
    r = np.hypot(np.array([500.0, 900.0]) - (100.0 - RMAX_M), np.array([400.0, 800.0]))
    expected = 0.9 * holland_gradient_wind(r, 5000.0, RMAX_M, 1.5, 0.0)
    assert wind[1:] == pytest.approx(expected, abs=1e-3)
    assert wind[0] > wind[1] > wind[2]


def test_without_b_the_holland_2008_surface_profile_is_used(tiny_city: City) -> None:
    # No B: b_s = Holland (2008) with Δp = 50, ∂p/∂t = 0, v_t = 0, φ ≈ 0.0009°:
    # b_s = −0.11 + 0.5 − 0.014 × 0.0009 + 1 = 1.38999; surface wind at R_max with no reduction:
    # sqrt(1.38999 × 5000 / (1.15 × e)) = sqrt(2223.34) = 47.152 m/s
    events = typhoon_wind_scenario(tiny_city, stationary(100.0 - RMAX_M, 100.0, b=None))
    assert events.intensity.toarray()[0, 0] == pytest.approx(47.152, abs=2e-3)


def moving_north(vt: float = 5.0) -> tuple[TyphoonTrack, float]:
    """A storm moving north at ``vt`` m/s along x = 0, at y = 0 after one hour (a 10-min step)."""
    half = vt * 3600.0
    return TyphoonTrack(track_frame([0.0, 0.0], [-half, half], [0.0, 2.0]), UTM, "north"), 0.0


def test_translation_adds_on_the_right_of_the_track_in_the_north() -> None:
    track, y_mid = moving_north(5.0)
    x = np.array([RMAX_M, -RMAX_M])  # right (east) and left (west) of the track at closest
    y = np.array([y_mid, y_mid])
    lat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True).transform(0.0, 0.0)[1]
    vg = holland_gradient_wind(RMAX_M, 5000.0, RMAX_M, 1.5, coriolis_parameter(lat))
    symmetric = max_surface_wind(track, x, y, UTM, asymmetry=False)
    assert symmetric == pytest.approx([0.9 * vg, 0.9 * vg], abs=1e-6)
    wind = max_surface_wind(track, x, y, UTM)
    # east, at closest approach: rotation (anticlockwise, pointing north) + motion (north),
    # absorbing factor min(1, R_max / r) = 1: 0.9 × V_g + 5 m/s
    assert wind[0] == pytest.approx(0.9 * vg + 5.0, abs=1e-6)
    assert 0.9 * vg - 5.0 <= wind[1] < wind[0]


def test_translation_adds_on_the_left_in_the_southern_hemisphere() -> None:
    # A lon/lat track moving north off eastern Australia (EPSG:4326), points in UTM 56S.
    frame = track_frame([152.0, 152.0], [-20.2, -19.8], [0.0, 2.0])
    track = TyphoonTrack(frame, "EPSG:4326", "south")
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32756", always_xy=True)
    cx, cy = to_utm.transform(152.0, -20.0)
    x = np.array([cx + RMAX_M, cx - RMAX_M])
    wind = max_surface_wind(track, x, np.array([cy, cy]), "EPSG:32756")
    assert wind[1] > wind[0]  # clockwise rotation: west (left of the motion) is the strong side


def test_chunking_does_not_change_the_result() -> None:
    track, _ = moving_north(8.0)
    rng = np.random.default_rng(7)
    x, y = rng.uniform(-150_000, 150_000, 2000), rng.uniform(-150_000, 150_000, 2000)
    whole = max_surface_wind(track, x, y, UTM)
    pieces = max_surface_wind(track, x, y, UTM, chunk_elements=97)
    np.testing.assert_array_equal(whole, pieces)


def test_memory_stays_bounded_by_the_chunk() -> None:
    # 100,000 points × 37 steps would be 29.6 MB per float64 array if built at once (and the
    # computation holds about ten); with 50,000-element blocks the peak stays a few MB.
    track = TyphoonTrack(track_frame([0.0, 0.0], [-50_000.0, 50_000.0], [0.0, 6.0]), UTM)
    x = np.linspace(-100_000.0, 100_000.0, 100_000)
    y = np.zeros_like(x)
    tracemalloc.start()
    try:
        wind = max_surface_wind(track, x, y, UTM, chunk_elements=50_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10e6
    assert wind.shape == x.shape and (wind > 0).all()


def test_no_wind_beyond_the_maximum_distance() -> None:
    track, _ = moving_north(5.0)
    wind = max_surface_wind(track, [RMAX_M, 400_000.0], [0.0, 0.0], UTM)
    assert wind[0] > 0 and wind[1] == 0.0
    near = max_surface_wind(track, [RMAX_M], [0.0], UTM, max_distance_km=10.0)
    assert near[0] == 0.0


def test_a_track_set_gives_one_event_per_track(tiny_city: City) -> None:
    near = stationary(100.0 - RMAX_M, 100.0)
    far = TyphoonTrack(near.data.assign(x=-500_000.0), UTM, "far")
    events = typhoon_wind_events(tiny_city, [near, far], [0.02, 0.1])
    assert events.event_ids.tolist() == ["still", "far"]
    assert events.frequency.tolist() == [0.02, 0.1]
    assert events.intensity.shape == (2, 3)
    assert events.intensity[[1], :].nnz == 0  # 500 km away: no wind stored
    renamed = typhoon_wind_scenario(tiny_city, near, event_id="Yagi-2024")
    assert renamed.event_ids.tolist() == ["Yagi-2024"]
    with pytest.raises(ValidationError, match="one annual frequency per track"):
        typhoon_wind_events(tiny_city, [near, far], [0.02])


# --- wind damage curves ---------------------------------------------------------------------


def emanuel(v: np.ndarray, v_half: float, v_thresh: float = 25.7) -> np.ndarray:
    vn = np.maximum(v - v_thresh, 0.0) / (v_half - v_thresh)
    return vn**3 / (1.0 + vn**3)


@pytest.fixture(scope="module")
def wind_curves() -> dict[str, object]:
    folder = resources.files("resilientcity").joinpath("data/vulnerability")
    with resources.as_file(folder.joinpath("wind_damage.json")) as path:
        spec = json.loads(path.read_text("utf-8"))
        return {"curves": read_curves(path), "spec": spec["curves"]}


def test_wind_curves_follow_the_emanuel_sigmoid_within_1e_3(wind_curves: dict) -> None:
    v = np.linspace(0.0, 120.0, 24_001)
    assert "emanuel2011_usa" in wind_curves["curves"]
    for curve_id, curve in wind_curves["curves"].items():
        v_half = wind_curves["spec"][curve_id]["v_half_m_s"]
        assert curve.hazard == "wind"
        assert curve.mean_damage_ratio([0.0, 25.7])[0] == 0.0
        error = np.abs(curve.mean_damage_ratio(v) - emanuel(v, v_half)).max()
        assert error < 1e-3, curve_id


def test_wind_curves_reproduce_climada_published_values(wind_curves: dict) -> None:
    usa = wind_curves["curves"]["emanuel2011_usa"]
    # CLIMADA test_tc.py: from_emanuel_usa() mdd at 30, 35, 40, 45 m/s
    published = [
        0.0006753419543492556,
        0.006790495604105169,
        0.02425254393374475,
        0.05758706257339458,
    ]
    assert usa.mean_damage_ratio([30.0, 35.0, 40.0, 45.0]) == pytest.approx(published, abs=1e-7)
    # CLIMADA test_tc.py: the Eberenz (2021) WP4 (TDR) curve reaches 0.15779133833203 at 120 m/s
    wp4 = wind_curves["curves"]["eberenz2021_wp4"]
    assert wp4.mean_damage_ratio([120.0])[0] == pytest.approx(0.15779133833203, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 200.0), min_size=2, max_size=20))
def test_wind_curves_are_monotone_and_within_0_1(values: list[float]) -> None:
    folder = resources.files("resilientcity").joinpath("data/vulnerability")
    with resources.as_file(folder.joinpath("wind_damage.json")) as path:
        curve = read_curves(path)["eberenz2021_wp3"]
    v = np.sort(np.array(values))
    damage = curve.mean_damage_ratio(v)
    assert ((damage >= 0) & (damage <= 1)).all()
    assert (np.diff(damage) >= 0).all()


def test_track_from_csv_with_lon_lat(tmp_path: Path) -> None:
    path = tmp_path / "mangkhut.csv"
    path.write_text(
        "time,lon,lat,central_pressure_hpa,environmental_pressure_hpa,rmax_km\n"
        "2018-09-16T00:00,114.0,21.5,955,1008,35\n"
        "2018-09-16T06:00,112.5,22.0,960,1008,40\n",
        encoding="utf-8",
    )
    track = TyphoonTrack.from_csv(path)
    assert track.track_id == "mangkhut"
    assert track.crs.to_epsg() == 4326  # type: ignore[union-attr]
    assert track.data["x"].tolist() == [114.0, 112.5]
    assert not track.has_b
    with pytest.raises(DataFileError, match="no such track file"):
        TyphoonTrack.from_csv(tmp_path / "none.csv")
    with pytest.raises(DataFileError, match="geographic"):
        TyphoonTrack.from_csv(path, crs=UTM)
