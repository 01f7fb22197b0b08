"""Hazus earthquake curves, repair data and flood depth-damage functions from simcenter-dlml."""

from __future__ import annotations

import math

import dlml
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from resilientcity.errors import ValidationError
from resilientcity.vulnerability.curves import DamageFunction, FragilityCurves
from resilientcity.vulnerability.hazus import (
    BRIDGES,
    BUILDINGS,
    FLOOD,
    FOOT_M,
    POWER,
    SA10_OVER_PGA,
    bridge_repair,
    building_repair,
    collapse_share,
    flood_depth_damage,
    flood_first_floor_heights_ft,
    hazus_earthquake_curves,
    hazus_flood_curve,
    hazus_flood_curves,
)
from resilientcity.vulnerability.library import VulnerabilityLibrary

# dlml 3.2 sets pandas options that pandas >= 3 reports as deprecated (dlml's code, not ours).
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting.*"),
    pytest.mark.filterwarnings("ignore:.*copy_on_write.*"),
]


def _phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


@pytest.mark.parametrize(
    ("curve_id", "dataset", "row"),
    [
        ("hazus61_eq_C2H_MC", BUILDINGS, "LF.C2.H.MC"),
        ("hazus61_eq_URML_PC", BUILDINGS, "LF.URM.L.PC"),
        ("hazus61_eq_S3_MC", BUILDINGS, "LF.S3.MC"),
        ("hazus61_eq_W1_HC", BUILDINGS, "LF.W1.HC"),
        ("hazus51_eq_EP_S_L_A", POWER, "EP.S.L.A"),
        ("hazus51_eq_EP_C_A", POWER, "EP.C.A"),
    ],
)
def test_medians_and_betas_are_dlml_values(curve_id: str, dataset: str, row: str) -> None:
    frame = dlml.get_fragility(dataset)
    curve = hazus_earthquake_curves()[curve_id]
    assert isinstance(curve, FragilityCurves)
    assert curve.hazard == "earthquake"
    assert curve.damage_states == ("slight", "moderate", "extensive", "complete")
    for k in range(4):
        assert curve.median[k] == frame.loc[row, (f"LS{k + 1}", "Theta_0")]
        assert curve.beta[k] == frame.loc[row, (f"LS{k + 1}", "Theta_1")]
    assert dataset in curve.source and "simcenter-dlml" in curve.source


def test_bridge_medians_are_converted_from_sa10_to_pga() -> None:
    frame = dlml.get_fragility(BRIDGES)
    curve = hazus_earthquake_curves()["hazus51_eq_HWB5_pga"]
    # Sa(1.0)/PGA = 0.35^0.9 × 2.25 = 0.3887 × 2.25 = 0.8746; slight median 0.25 g Sa → 0.2858 g PGA.
    assert SA10_OVER_PGA == pytest.approx(0.35**0.9 * 2.25)
    assert SA10_OVER_PGA == pytest.approx(0.8746, abs=1e-4)
    assert curve.median[0] == pytest.approx(0.25 / 0.8746, rel=1e-4)
    np.testing.assert_allclose(
        curve.median,
        [frame.loc["HWB.GS.5", (f"LS{k}", "Theta_0")] / SA10_OVER_PGA for k in (1, 2, 3, 4)],
    )
    assert "assumption" in curve.source


def test_state_probabilities_of_c2h_mc_at_a_hand_computed_pga() -> None:
    # LF.C2.H.MC: medians 0.12, 0.23, 0.57, 1.07 g, beta 0.4. At PGA 0.2 g:
    # z1 = ln(0.2/0.12)/0.4 = 0.5108/0.4 = 1.2771  → Φ = 0.8992
    # z2 = ln(0.2/0.23)/0.4 = -0.1398/0.4 = -0.3494 → Φ = 0.3634
    # z3 = ln(0.2/0.57)/0.4 = -1.0473/0.4 = -2.6182 → Φ = 0.00442
    # z4 = ln(0.2/1.07)/0.4 = -1.6771/0.4 = -4.1928 → Φ = 1.38e-5
    curve = hazus_earthquake_curves()["hazus61_eq_C2H_MC"]
    exceed = [_phi(math.log(0.2 / m) / 0.4) for m in (0.12, 0.23, 0.57, 1.07)]
    np.testing.assert_allclose(exceed, [0.8992, 0.3634, 0.00442, 1.38e-5], rtol=2e-3)
    probs = curve.state_probabilities([0.2])[0]
    expected = [
        1 - exceed[0],
        exceed[0] - exceed[1],
        exceed[1] - exceed[2],
        exceed[2] - exceed[3],
        exceed[3],
    ]
    np.testing.assert_allclose(probs, expected, rtol=1e-10)
    np.testing.assert_allclose(probs[:3], [0.1008, 0.5358, 0.3590], atol=1e-3)


def test_collapse_share_is_the_ls4_weight() -> None:
    frame = dlml.get_fragility(BUILDINGS)
    # "0.95 | 0.05": complete without collapse 0.95, collapse 0.05.
    assert frame.loc["LF.C2.H.MC", ("LS4", "DamageStateWeights")] == "0.95 | 0.05"
    assert collapse_share("hazus61_eq_C2H_MC") == pytest.approx(0.05)
    assert collapse_share("hazus61_eq_URML_PC") == pytest.approx(0.15)
    with pytest.raises(KeyError):
        collapse_share("jrc_asia_residential")


def test_repair_data_are_dlml_values() -> None:
    frame = dlml.get_consequence_repair(BUILDINGS)
    res3 = building_repair("RES3")
    np.testing.assert_array_equal(
        res3["cost"], [frame.loc[("LF.RES3", "Cost"), (f"DS{k}", "Theta_0")] for k in range(1, 6)]
    )
    np.testing.assert_array_equal(res3["time"], [5, 30, 120, 240, 240])
    with pytest.raises(KeyError):
        building_repair("NOPE9")
    bridge = bridge_repair()
    assert bridge["cost"].shape == (4,) and bridge["time"][-1] == 365


def test_curves_are_loaded_once() -> None:
    assert hazus_earthquake_curves() is hazus_earthquake_curves()


# --- flood depth-damage ------------------------------------------------------------------------

RES1_1S = "structural.129.RES1.USACE_IWR.one_story.no_basement"
RES1_2S_BASEMENT = "structural.108.RES1.FIA_Modified.two_floors.with_basement.a_zone"
COM1 = "structural.217.COM1.USACE_Galveston.average_retail"


def _dlml_points(row: str) -> tuple[np.ndarray, np.ndarray]:
    """Depth above first floor (ft) and loss ratio, read straight from dlml's own frame."""
    cell = dlml.get_loss_repair(FLOOD).loc[(row, "Cost"), ("LossFunction", "Theta_0")]
    ratios, depths = cell.split("|")
    return np.array(depths.split(","), dtype=float), np.array(ratios.split(","), dtype=float)


def test_dlml_flood_frame_is_what_the_conversion_assumes() -> None:
    frame = dlml.get_loss_repair(FLOOD)
    record = frame.loc[(RES1_1S, "Cost")]
    assert record[("Demand", "Type")] == "Peak Inundation Height"
    assert record[("Demand", "Unit")] == "ft"
    assert record[("DV", "Unit")] == "loss_ratio"
    depth_ft, ratio = _dlml_points(RES1_1S)
    # Hazus table (FAST Building_DDF_Riverine_LUT_Hazus4p0, DDF 129): 0,0,0,3,13,23 % at -4…1 ft;
    # dlml stores them as fractions.
    np.testing.assert_array_equal(depth_ft[:6], [-4, -3, -2, -1, 0, 1])
    np.testing.assert_allclose(ratio[:6], [0, 0, 0, 0.03, 0.13, 0.23])
    published = flood_depth_damage(RES1_1S)
    np.testing.assert_array_equal(published[0], depth_ft)
    np.testing.assert_array_equal(published[1], ratio)


def test_first_floor_heights_are_the_hazus_pre_firm_defaults() -> None:
    assert flood_first_floor_heights_ft() == {
        "slab": 1.0, "fill": 2.0, "crawlspace": 3.0, "basement": 4.0, "pier": 5.0, "pile": 7.0,
        "solid_wall": 7.0,
    }  # fmt: skip
    assert FOOT_M == 0.3048


def test_slab_res1_values_at_hand_computed_depths() -> None:
    curve = hazus_flood_curves()["hazus61_flood_RES1_1S_slab"]
    depth_ft, ratio = _dlml_points(RES1_1S)
    assert curve.hazard == "river_flood"
    # Slab: first floor 1 ft above grade. The -1 ft point is at ground (0 m) and is dropped,
    # (0, 0) is added; the 0 ft point (13 %) sits at 1 ft = 0.3048 m above ground, 1 ft (23 %)
    # at 0.6096 m, 4 ft (47 %) at 5 ft = 1.524 m.
    assert curve.intensity[0] == 0 and curve.mdd[0] == 0
    np.testing.assert_allclose(curve.intensity[1:4], [0.3048, 0.6096, 0.9144])
    np.testing.assert_allclose(curve.mdd[1:4], [0.13, 0.23, 0.32])
    x = np.array([0.3048, 0.6096, 1.524, 0.1524, 0.0])
    expected = [
        ratio[depth_ft == 0][0],
        ratio[depth_ft == 1][0],
        ratio[depth_ft == 4][0],
        0.5 * ratio[depth_ft == 0][0],  # half-way between ground and 0.3048 m: 0.13 / 2
        0.0,
    ]
    np.testing.assert_allclose(curve.mean_damage_ratio(x), expected)
    np.testing.assert_allclose(expected[:4], [0.13, 0.23, 0.47, 0.065])


def test_basement_curve_shifts_by_four_feet_and_uses_the_basement_function() -> None:
    curve = hazus_flood_curves()["hazus61_flood_RES1_2S_basement"]
    depth_ft, ratio = _dlml_points(RES1_2S_BASEMENT)
    # Basement: first floor 4 ft above grade, so the published -4 ft point (4 %) is at ground
    # and dropped; -3 ft is 1 ft above ground, 0 ft is 4 ft = 1.2192 m above ground.
    np.testing.assert_allclose(ratio[depth_ft == -4], [0.04])
    np.testing.assert_allclose(curve.intensity[:3], [0.0, 0.3048, 0.6096])
    at = curve.mean_damage_ratio([4 * 0.3048, 6 * 0.3048])
    np.testing.assert_allclose(at, [ratio[depth_ft == 0][0], ratio[depth_ft == 2][0]])
    assert at[0] == pytest.approx(0.19)
    crawl = hazus_flood_curves()["hazus61_flood_RES1_2S_crawlspace"]
    assert "structural.107." in crawl.source and "structural.108." in curve.source


def test_elevated_foundation_keeps_every_published_point() -> None:
    curve = hazus_flood_curves()["hazus61_flood_COM1_pier"]
    depth_ft, ratio = _dlml_points(COM1)
    # Pier: 5 ft first floor, so -4 ft is 1 ft above ground and all 29 points stay, plus (0, 0).
    assert curve.intensity.size == depth_ft.size + 1
    np.testing.assert_allclose(curve.intensity[1:], (depth_ft + 5) * 0.3048)
    np.testing.assert_array_equal(curve.mdd[1:], ratio)
    # Beyond the table (24 ft above the first floor = 29 ft above ground) the last value holds.
    assert curve.mean_damage_ratio([20.0])[0] == ratio[-1]


def test_every_default_flood_curve_is_monotone_bounded_and_zero_at_ground() -> None:
    curves = hazus_flood_curves()
    heights = flood_first_floor_heights_ft()
    assert len(curves) == 31 * len(heights)
    for curve_id, curve in curves.items():
        assert isinstance(curve, DamageFunction) and curve.problems() == [], curve_id
        assert curve.intensity[0] == 0 and curve.mdd[0] == 0
        assert np.all(np.diff(curve.mdd) >= 0) and np.all((curve.mdd >= 0) & (curve.mdd <= 1))
        assert FLOOD in curve.source and "simcenter-dlml" in curve.source
    assert hazus_flood_curves() is curves


@given(st.floats(0.0, 12.0), st.lists(st.floats(0.0, 12.0), min_size=2, max_size=20))
@example(5e-324, [0.0, 0.0])  # a height that underflows to 0 m once converted
@example(2.2250738585e-313, [0.0, 5e-324])  # a subnormal height: the first slope overflowed
def test_any_first_floor_height_gives_a_monotone_bounded_curve(
    height_ft: float, depths_m: list[float]
) -> None:
    curve = hazus_flood_curve(RES1_1S, height_ft)
    damage = curve.mean_damage_ratio(np.sort(depths_m))
    assert np.all(np.diff(damage) >= 0) and np.all((damage >= 0) & (damage <= 0.84))
    assert curve.mean_damage_ratio([0.0])[0] == 0


def test_non_monotone_dlml_row_is_refused_not_smoothed() -> None:
    row = "structural.566.IND2.USACE_Galveston.leather_goods_mfg"
    depth_ft, ratio = _dlml_points(row)
    assert ratio[depth_ft == 9][0] == 0.30 and ratio[depth_ft == 10][0] == 0.25  # published dip
    with pytest.raises(ValidationError, match="non-decreasing"):
        hazus_flood_curve(row, 1.0)


def test_bad_flood_inputs_name_row_and_field() -> None:
    with pytest.raises(ValidationError) as info:
        hazus_flood_curve("structural.999.NOPE", float("nan"))
    columns = {p.column for p in info.value.problems}
    assert columns == {"row", "first_floor_height_ft"}
    assert all(p.rows == ("structural.999.NOPE",) for p in info.value.problems)
    with pytest.raises(ValidationError, match="first_floor_height_ft"):
        hazus_flood_curve(RES1_1S, -1.0)
    with pytest.raises(ValidationError, match="row"):
        flood_depth_damage("structural.999.NOPE")


def test_class_map_override_points_classes_at_hazus_flood_curves() -> None:
    default = VulnerabilityLibrary.default()
    assert "hazus61_flood_RES1_1S_slab" in default.curves
    # The defaults stay JRC Asia.
    assert default.curve_id_for("river_flood", "RES1/W1") == "jrc_asia_residential"
    entries = {"RES1*": "hazus61_flood_RES1_1S_slab", "COM1*": "hazus61_flood_COM1_slab"}
    lib = default.with_class_map("river_flood", entries)
    vuln = ["RES1/W1", "COM1/C2L", "RES1/URML", "RES3/C2H"]
    index, curves = lib.assign("river_flood", vuln)
    chosen = [curves[i] for i in index]
    ids = [c.curve_id if c is not None else None for c in chosen]
    assert ids == [
        "hazus61_flood_RES1_1S_slab",
        "hazus61_flood_COM1_slab",
        "hazus61_flood_RES1_1S_slab",
        "jrc_asia_residential",
    ]
    assert all(c is not None and c.hazard == "river_flood" for c in chosen)
    # The class map is per hazard: pluvial keeps JRC until overridden too, then the same
    # curve serves it, tagged pluvial_flood.
    assert lib.curve_id_for("pluvial_flood", "RES1/W1") == "jrc_asia_residential"
    _, pluvial = lib.with_class_map("pluvial_flood", entries).assign("pluvial_flood", ["RES1/W1"])
    assert pluvial[0] is not None and pluvial[0].hazard == "pluvial_flood"
    np.testing.assert_array_equal(pluvial[0].mdd, chosen[0].mdd)
    # 1 m of water on a slab RES1 house: 1 m = 3.2808 ft above ground = 2.2808 ft above the
    # floor, between the 2 ft (32 %) and 3 ft (40 %) points: 0.32 + 0.2808 × 0.08 = 0.3425.
    res1 = chosen[0]
    assert res1 is not None
    assert res1.mean_damage_ratio([1.0])[0] == pytest.approx(0.32 + (1 / 0.3048 - 3) * 0.08)
    assert res1.mean_damage_ratio([1.0])[0] == pytest.approx(0.3425, abs=1e-4)
