"""Consequence models: per damage state (Hazus earthquake) and per intensity (flood)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from resilientcity.errors import ValidationError
from resilientcity.vulnerability.consequences import (
    DamageStateConsequences,
    IntensityConsequences,
    building_consequences,
)
from resilientcity.vulnerability.library import VulnerabilityLibrary

STATES = ("slight", "moderate", "extensive", "complete")
GOOD = {
    "repair_ratio": [0.02, 0.1, 0.4, 1.0],
    "restoration_days": [5, 30, 120, 240],
    "casualty_rate": [0.0005, 0.002, 0.01, 0.1],
    "fatality_rate": [0.0, 0.0, 0.00001, 0.005],
    "displaced_rate": [0, 0, 0.9, 1],
    "functional": [1, 0, 0, 0],
}


@pytest.fixture(scope="module")
def library() -> VulnerabilityLibrary:
    return VulnerabilityLibrary.default()


def _phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


@pytest.mark.parametrize(
    ("field", "values", "rows", "expected"),
    [
        ("repair_ratio", [0.02, 0.1, 0.05, 1.0], ("extensive",), "non-decreasing"),
        ("repair_ratio", [0.02, 0.1, 0.4, 1.2], ("complete",), "within [0, 1]"),
        ("restoration_days", [5, -1, 120, 240], ("moderate",), "days >= 0"),
        ("casualty_rate", [0.1, 0.2], (), "one value per damage state"),
        ("functional", [1, 0, 0.5, 0], ("extensive",), "non-increasing"),
        ("displaced_rate", [0, float("nan"), 0.9, 1], ("moderate",), "within [0, 1]"),
    ],
)
def test_bad_consequence_arrays_are_refused_with_the_field(
    field: str, values: list[float], rows: tuple[str, ...], expected: str
) -> None:
    with pytest.raises(ValidationError) as info:
        DamageStateConsequences("mine", STATES, **{**GOOD, field: values})  # type: ignore[arg-type]
    found = [p for p in info.value.problems if p.column == field]
    assert found and found[0].layer == "consequences mine"
    assert found[0].rows == rows and expected in found[0].expected


def test_fatalities_cannot_exceed_casualties() -> None:
    with pytest.raises(ValidationError, match="fatality_rate <= casualty_rate"):
        DamageStateConsequences(
            "mine", STATES, **{**GOOD, "fatality_rate": [0.001, 0.002, 0.01, 0.2]}
        )  # type: ignore[arg-type]


def test_expected_value_over_state_probabilities() -> None:
    c = DamageStateConsequences("mine", STATES, **GOOD)  # type: ignore[arg-type]
    p = np.array([[0.5, 0.2, 0.2, 0.1, 0.0], [1, 0, 0, 0, 0]])
    # 0.2 × 0.02 + 0.2 × 0.1 + 0.1 × 0.4 = 0.004 + 0.02 + 0.04 = 0.064
    np.testing.assert_allclose(c.expected("repair_ratio", p), [0.064, 0.0])
    # functional: none 1 × 0.5 + slight 1 × 0.2 = 0.7; undamaged asset functions.
    np.testing.assert_allclose(c.expected("functional", p), [0.7, 1.0])
    with pytest.raises(ValueError, match="5 columns"):
        c.expected("repair_ratio", [[1.0, 0.0]])


def test_collapse_is_folded_into_the_complete_state() -> None:
    rates = [
        [0.05, 0, 0, 0],
        [0.2, 0.025, 0, 0],
        [1, 0.1, 0.001, 0.001],
        [5, 1, 0.01, 0.01],
        [40, 20, 5, 10],
    ]
    c = building_consequences(
        "x", STATES, [0.02, 0.1, 0.4, 0.9, 1.0], [5, 30, 120, 240, 360], 0.1, rates,
        [0, 0, 0.9, 1], [1, 0, 0, 0],
    )  # fmt: skip
    # complete: 0.9 × (5 + 1 + 0.01 + 0.01) % + 0.1 × (40 + 20 + 5 + 10) % = 5.418 % + 7.5 % = 12.918 %
    assert c.casualty_rate[3] == pytest.approx(0.12918)
    # fatality: 0.9 × 0.01 % + 0.1 × 10 % = 0.009 % + 1 % = 1.009 %
    assert c.fatality_rate[3] == pytest.approx(0.01009)
    assert c.repair_ratio[3] == pytest.approx(0.9 * 0.9 + 0.1 * 1.0)
    assert c.restoration_days[3] == pytest.approx(0.9 * 240 + 0.1 * 360)
    np.testing.assert_allclose(c.casualty_rate[:3], [0.0005, 0.00225, 0.01102])


def test_library_consequences_of_a_residential_high_rise(library: VulnerabilityLibrary) -> None:
    c = library.consequences("hazus61_eq_C2H_MC", "RES3")
    assert c.damage_states == STATES
    # dlml LF.RES3: 0.02, 0.10, 0.413, 1.0 (complete) and 1.0 (collapse) → complete 1.0.
    np.testing.assert_allclose(c.repair_ratio, [0.02, 0.1, 0.413, 1.0])
    # C2H collapse share 0.05: (0.95 × 6.02 % + 0.05 × 75 %) = 5.719 % + 3.75 % = 9.469 %
    assert c.casualty_rate[3] == pytest.approx(0.09469)
    np.testing.assert_allclose(c.displaced_rate, [0, 0, 0.9, 1.0])
    office = library.consequences("hazus61_eq_C2H_MC", "COM4")
    np.testing.assert_array_equal(office.displaced_rate, [0, 0, 0, 0])
    # moderate: Hazus Table 13.4 for C2H, 0.25 % + 0.03 % = 0.28 % (pelicun S-C2H-MC-RES3.json)
    assert c.casualty_rate[1] == pytest.approx(0.0028)
    bridge = library.consequences("hazus51_eq_HWB5_pga")
    assert bridge.casualty_rate.sum() == 0 and bridge.restoration_days[-1] == 365
    # Hazus bridge damage ratios, not dlml's 0.3 / 0.7 / 0.98 / 1.0.
    np.testing.assert_allclose(bridge.repair_ratio, [0.03, 0.08, 0.25, 1.0])


def test_missing_consequence_data_is_named(library: VulnerabilityLibrary) -> None:
    with pytest.raises(ValidationError, match="occupancy"):
        library.consequences("hazus61_eq_C2H_MC", "NOPE9")
    with pytest.raises(ValidationError, match="jrc_asia_residential"):
        library.consequences("jrc_asia_residential")


def test_assign_consequences_aligned_with_assign(library: VulnerabilityLibrary) -> None:
    vuln = ["RES3/C2H", "COM4/C2M", "OPEN/PARK", "RES3/C2H", "HWB5"]
    _, curves = library.assign("earthquake", vuln)
    consequences = library.assign_consequences("earthquake", vuln)
    assert [None if c is None else c.curve_id for c in consequences] == [
        None if c is None else c.curve_id for c in curves
    ]
    assert consequences[2] is None
    odd = library.with_class_map("earthquake", {"XYZ1": "hazus51_eq_EP_S_L_A"})
    with pytest.raises(ValidationError) as info:
        odd.assign_consequences("earthquake", ["XYZ1", "RES3/C2H", "XYZ1"])
    assert [r for p in info.value.problems for r in p.rows] == [
        "XYZ1 → hazus51_eq_EP_S_L_A (2 assets)"
    ]


def test_jonkman_mortality_at_one_and_three_metres(library: VulnerabilityLibrary) -> None:
    flood = library.intensity_consequences("river_flood")
    # F(h) = Φ((ln h − 7.60) / 2.75):
    # h = 1 m: (0 − 7.60) / 2.75 = −2.7636 → Φ = 0.002858
    # h = 3 m: (1.0986 − 7.60) / 2.75 = −2.3641 → Φ = 0.009037
    rates = flood.fatality_rate([0.0, 1.0, 3.0])
    assert rates[0] == 0.0
    assert rates[1] == pytest.approx(_phi(-7.60 / 2.75), rel=1e-12)
    assert rates[2] == pytest.approx(_phi((math.log(3.0) - 7.60) / 2.75), rel=1e-12)
    np.testing.assert_allclose(rates[1:], [0.002858, 0.009037], rtol=1e-3)
    pluvial = library.intensity_consequences("pluvial_flood")
    assert pluvial.hazard == "pluvial_flood" and pluvial.fatality_mu == 7.60


def test_flood_thresholds_and_restoration(library: VulnerabilityLibrary) -> None:
    flood = library.intensity_consequences("river_flood")
    depth = np.array([0.0, 0.1, 0.3, 2.0])
    np.testing.assert_array_equal(flood.displaced_share(depth), [0, 0, 1, 1])
    np.testing.assert_array_equal(flood.functional_probability(depth), [1, 1, 0, 0])
    # damage ratio 0.2 lies halfway between (0.1, 30 d) and (0.3, 90 d): 60 days.
    np.testing.assert_allclose(
        flood.restoration_days(depth, np.array([0.0, 0.05, 0.2, 1.0])), [0, 15, 60, 365]
    )
    with pytest.raises(ValidationError, match="earthquake"):
        library.intensity_consequences("earthquake")


def test_bad_intensity_consequences_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        IntensityConsequences("river_flood", 7.6, 0.0, -1.0, 0.3, "damage_ratio", [0, 1], [0, 5])
    assert {p.column for p in info.value.problems} == {"fatality_sigma", "displaced_at"}
    with pytest.raises(ValidationError, match="x strictly increasing"):
        IntensityConsequences("river_flood", 7.6, 2.75, 0.3, 0.3, "intensity", [0, 2, 1], [0, 5, 9])


@pytest.mark.parametrize(
    ("hazus_type", "moderate", "collapse"),
    [
        # pelicun 'HAZUS MH 2.1 earthquake/DL json' files, Injuries × 100 (Tables 13.4 and 13.7)
        ("C2H", [0.25, 0.03, 0, 0], [40, 20, 5, 10]),  # S-C2H-MC-RES3.json
        ("C1L", [0.25, 0.03, 0, 0], [40, 20, 5, 10]),  # S-C1L-MC-COM1.json
        ("W1", [0.25, 0.03, 0, 0], [40, 20, 3, 5]),  # S-W1-MC-RES1.json
        ("S1L", [0.2, 0.025, 0, 0], [40, 20, 5, 10]),  # S-S1L-MC-COM1.json
        ("S2L", [0.2, 0.025, 0, 0], [40, 20, 5, 10]),  # S-S2L-MC-COM2.json
        ("S3", [0.2, 0.025, 0, 0], [40, 20, 3, 5]),  # S-S3-MC-IND2.json
        ("URML", [0.35, 0.4, 0.001, 0.001], [40, 20, 5, 10]),  # S-URML-PC-RES1.json
    ],
)
def test_casualty_rates_are_the_verified_hazus_values(
    hazus_type: str, moderate: list[float], collapse: list[float]
) -> None:
    from resilientcity.vulnerability.library import _casualty_percent

    rates = _casualty_percent(hazus_type)
    assert rates[1] == pytest.approx(moderate) and rates[4] == pytest.approx(collapse)
    assert rates[0] == pytest.approx([0.05, 0, 0, 0])


def test_single_family_homes_are_displaced_only_when_complete(
    library: VulnerabilityLibrary,
) -> None:
    house = library.consequences("hazus61_eq_URML_PC", "RES1")
    flats = library.consequences("hazus61_eq_URML_PC", "RES3")
    np.testing.assert_array_equal(house.displaced_rate, [0, 0, 0, 1.0])
    np.testing.assert_array_equal(flats.displaced_rate, [0, 0, 0.9, 1.0])


def test_every_demo_class_has_earthquake_consequences(
    small_city: object, library: VulnerabilityLibrary
) -> None:
    vuln = small_city.assets["vuln"].astype(str)  # type: ignore[attr-defined]
    _, curves = library.assign("earthquake", vuln)
    consequences = library.assign_consequences("earthquake", vuln)
    classes = pd.unique(vuln)
    by_class = dict(zip(classes, consequences, strict=True))
    assert all(by_class[k] is not None for k in classes if k != "OPEN/PARK")
    assert by_class["OPEN/PARK"] is None and curves[list(classes).index("OPEN/PARK")] is None
    for cons in consequences:
        assert cons is None or cons.problems() == []


@pytest.mark.parametrize(
    ("cls", "repair", "days"),
    [
        ("ESS1", [0.05, 0.11, 0.55, 1.0], [1, 3, 7, 30]),
        ("ESS3", [0.05, 0.11, 0.55, 1.0], [1, 3, 7, 30]),
        ("EDC1", [0.05, 0.15, 0.6, 1.0], [0.3, 1, 3, 7]),
        ("PWP1", [0.05, 0.38, 0.8, 1.0], [0.9, 3.1, 13.5, 35]),
        ("PWT3", [0.08, 0.4, 0.77, 1.0], [0.9, 1.9, 32, 95]),
        ("CCO1", [0.05, 0.2, 0.6, 1.0], [0.5, 1.5, 15, 65]),
    ],
)
def test_lifeline_damage_ratios_and_restoration_days(
    library: VulnerabilityLibrary, cls: str, repair: list[float], days: list[float]
) -> None:
    (cons,) = library.assign_consequences("earthquake", [cls])
    assert cons is not None
    np.testing.assert_allclose(cons.repair_ratio, repair)
    np.testing.assert_allclose(cons.restoration_days, days)
    np.testing.assert_array_equal(cons.displaced_rate, [0, 0, 0, 0])
    np.testing.assert_array_equal(cons.functional, [1, 0, 0, 0])


def test_lifeline_casualties_unoccupied_or_of_the_building(library: VulnerabilityLibrary) -> None:
    substation, circuit, plant = library.assign_consequences("earthquake", ["ESS1", "EDC1", "PWT3"])
    assert substation is not None and circuit is not None and plant is not None
    assert substation.casualty_rate.sum() == 0 and circuit.fatality_rate.sum() == 0
    assert "unmanned" in substation.source
    # PWT3 takes C2L MC: collapse share 0.13 (dlml), complete casualties
    # 0.87 × (5 + 1 + 0.01 + 0.01) % + 0.13 × (40 + 20 + 5 + 10) % = 5.2374 % + 9.75 % = 14.9874 %
    assert plant.casualty_rate[3] == pytest.approx(0.149874)
    # fatalities: 0.87 × 0.01 % + 0.13 × 10 % = 0.0087 % + 1.3 % = 1.3087 %
    assert plant.fatality_rate[3] == pytest.approx(0.013087)


def test_occupied_lifeline_needs_a_building_curve(library: VulnerabilityLibrary) -> None:
    odd = library.with_class_map("earthquake", {"PWP9": "hazus51_eq_EP_S_L_A"})
    with pytest.raises(ValidationError, match="building curve for the casualty rates of PWP9"):
        odd.assign_consequences("earthquake", ["PWP9"])


def test_wind_consequences_thresholds_and_no_mortality(library: VulnerabilityLibrary) -> None:
    wind = library.intensity_consequences("wind")
    assert wind.fatality_mu is None and wind.fatality_sigma is None
    speed = np.array([0.0, 32.6, 32.7, 50.9, 51.0, 70.0])
    np.testing.assert_array_equal(wind.fatality_rate(speed), np.zeros(6))
    # GB/T 19201-2006: typhoon >= 32.7 m/s (non-functional), super typhoon >= 51.0 m/s (displaced)
    np.testing.assert_array_equal(wind.functional_probability(speed), [1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(wind.displaced_share(speed), [0, 0, 0, 0, 1, 1])
    # damage ratio 0.45 is halfway between (0.3, 90 d) and (0.6, 180 d): 135 days.
    assert wind.restoration_days([60.0], [0.45])[0] == pytest.approx(135.0)
    assert "GB/T 19201-2006" in wind.source


def test_half_a_mortality_function_is_refused() -> None:
    with pytest.raises(ValidationError, match="or both None"):
        IntensityConsequences("wind", None, 2.0, 51.0, 32.7, "damage_ratio", [0, 1], [0, 5])


def test_wind_class_map_covers_the_demo_city(
    small_city: object, library: VulnerabilityLibrary
) -> None:
    vuln = small_city.assets["vuln"].astype(str)  # type: ignore[attr-defined]
    index, curves = library.assign("wind", vuln)
    chosen = {k: curves[i] for k, i in zip(vuln, index, strict=True)}
    for cls in ("HWB10", "HWB5", "OPEN/PARK"):
        assert chosen[cls] is None
    for cls, curve in chosen.items():
        if cls not in ("HWB10", "HWB5", "OPEN/PARK"):
            assert curve is not None and curve.curve_id == "eberenz2021_wp3", cls
    wp3 = library.curves["eberenz2021_wp3"]
    # Emanuel sigmoid, v_thresh 25.7, v_half 112.8 m/s: at 60 m/s v_n = 34.3 / 87.1 = 0.39380,
    # v_n³ = 0.061071, MDD = 0.061071 / 1.061071 = 0.057556
    assert wp3.mean_damage_ratio([60.0])[0] == pytest.approx(0.057556, abs=1e-4)
