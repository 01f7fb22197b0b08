"""The damage-function impact engine, checked against hand computations and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from resilientcity.errors import ValidationError
from resilientcity.hazard import HazardEvents
from resilientcity.impact import damage_function_impact, exceedance_curve
from resilientcity.vulnerability import DamageFunction

CURVE = DamageFunction("lin", "river_flood", [0.0, 1.0, 2.0], [0.0, 0.5, 1.0], [0.0, 1.0, 1.0])
STEEP = DamageFunction("steep", "river_flood", [0.0, 0.5, 3.0], [0.0, 0.8, 1.0], [1.0, 1.0, 1.0])


def events(intensity: np.ndarray, frequency: list[float] | np.ndarray) -> HazardEvents:
    n_e, n_a = np.atleast_2d(intensity).shape
    return HazardEvents.from_dense(
        "river_flood",
        [f"e{i}" for i in range(n_e)],
        frequency,
        intensity,
        [f"a{j}" for j in range(n_a)],
    )


def test_hand_computed_losses_eai_and_groups() -> None:
    intensity = np.array([[0.5, 0.0, 1.5], [2.5, 1.0, 0.0]])
    value = np.array([100.0, 200.0, 1000.0])
    ev = events(intensity, [0.1, 0.01])
    result = damage_function_impact(
        ev,
        value,
        [0, 1, 0],
        [CURVE, STEEP],
        groups={"zone": pd.Series(["z1", "z2", "z1"])},
        keep_matrix=True,
    )
    # CURVE at 0.5: MDD 0.25 × PAA 0.5; at 1.5: 0.75 × 1; at 2.5: 1 × 1. STEEP at 1.0: 0.8 + 0.2·0.5/2.5.
    expected = np.array(
        [[100 * 0.125, 0.0, 1000 * 0.75], [100 * 1.0, 200 * (0.8 + 0.2 * 0.5 / 2.5), 0.0]]
    )
    np.testing.assert_allclose(result.matrix.toarray(), expected, rtol=1e-9)
    np.testing.assert_allclose(result.loss_per_event, expected.sum(axis=1), rtol=1e-9)
    eai = 0.1 * expected[0] + 0.01 * expected[1]
    np.testing.assert_allclose(result.eai, eai, rtol=1e-9)
    assert result.aai == pytest.approx(eai.sum(), rel=1e-9)
    zone = result.group_loss["zone"]
    assert list(zone.columns) == ["z1", "z2"]
    np.testing.assert_allclose(
        zone.to_numpy(),
        [[expected[0, 0] + expected[0, 2], 0], [expected[1, 0], expected[1, 1]]],
        rtol=1e-9,
    )


def test_assets_without_a_curve_take_no_damage() -> None:
    result = damage_function_impact(
        events(np.array([[1.0, 1.0]]), [0.0]), [10.0, 10.0], [0, 1], [CURVE, None]
    )
    np.testing.assert_allclose(result.loss_per_event, [5.0])


def test_exceedance_curve_by_hand() -> None:
    curve = exceedance_curve([10.0, 50.0, 30.0], [0.1, 0.01, 0.05])
    np.testing.assert_allclose(curve["loss"], [50, 30, 10])
    np.testing.assert_allclose(curve["exceedance_frequency"], [0.01, 0.06, 0.16])
    np.testing.assert_allclose(curve["return_period_years"], [100, 1 / 0.06, 1 / 0.16])


matrices = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 8)),
    elements=st.floats(0, 4) | st.just(0.0),
)


@settings(max_examples=60, deadline=None)
@given(intensity=matrices, chunk=st.integers(1, 7), data=st.data())
def test_properties_bounded_zero_monotone_and_chunk_invariant(
    intensity: np.ndarray, chunk: int, data: st.DataObject
) -> None:
    n_e, n_a = intensity.shape
    value = data.draw(arrays(np.float64, n_a, elements=st.floats(0, 1e6)))
    index = data.draw(arrays(np.int64, n_a, elements=st.integers(0, 1)))
    freq = np.full(n_e, 0.01)
    base = damage_function_impact(
        events(intensity, freq), value, index, [CURVE, STEEP], keep_matrix=True, chunk_events=64
    )
    loss = base.matrix.toarray()
    assert (loss <= value[None, :] * (1 + 1e-12)).all()  # never more than the value
    assert (loss[intensity == 0] == 0).all()  # no hazard, no loss
    higher = damage_function_impact(
        events(intensity * 1.5 + (intensity > 0) * 0.1, freq),
        value,
        index,
        [CURVE, STEEP],
        keep_matrix=True,
    )
    assert (higher.matrix.toarray() >= loss - 1e-9).all()  # monotone in intensity
    chunked = damage_function_impact(
        events(intensity, freq), value, index, [CURVE, STEEP], keep_matrix=True, chunk_events=chunk
    )
    np.testing.assert_allclose(chunked.matrix.toarray(), loss, rtol=1e-12, atol=0)
    np.testing.assert_allclose(chunked.eai, base.eai, rtol=1e-12, atol=0)


def test_bad_inputs_name_what_and_where() -> None:
    with pytest.raises(ValidationError, match="NaN or negative"):
        events(np.array([[np.nan, 1.0]]), [0.1])
    with pytest.raises(ValidationError, match=r"hazard\.frequency"):
        events(np.array([[1.0, 1.0]]), [np.nan])
    ev = events(np.array([[1.0, 1.0]]), [0.1])
    with pytest.raises(ValidationError, match=r"impact\.value.*a1"):
        damage_function_impact(ev, [1.0, -5.0], [0, 0], [CURVE])
    with pytest.raises(ValidationError, match="one value per asset"):
        damage_function_impact(ev, [1.0], [0, 0], [CURVE])
    with pytest.raises(ValidationError, match="an index into the 1 curves"):
        damage_function_impact(ev, [1.0, 1.0], [0, 3], [CURVE])
    quake = DamageFunction("q", "earthquake", [0, 1], [0, 1], [1, 1])
    with pytest.raises(ValidationError, match="river_flood curves"):
        damage_function_impact(ev, [1.0, 1.0], [0, 0], [quake])
