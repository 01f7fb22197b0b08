"""Hazus earthquake curves and repair data loaded from simcenter-dlml."""

from __future__ import annotations

import math

import dlml
import numpy as np
import pytest

from resilientcity.vulnerability.curves import FragilityCurves
from resilientcity.vulnerability.hazus import (
    BRIDGES,
    BUILDINGS,
    POWER,
    SA10_OVER_PGA,
    bridge_repair,
    building_repair,
    collapse_share,
    hazus_earthquake_curves,
)

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
