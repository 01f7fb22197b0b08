"""The damage-function impact engine, checked against hand computations and properties."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from resilientcity.errors import ValidationError
from resilientcity.hazard import HazardEvents
from resilientcity.impact import damage_function_impact, exceedance_curve
from resilientcity.impact.fragility import MAX_STATE_CELLS, fragility_impact
from resilientcity.vulnerability import DamageFunction, FragilityCurves

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


# ---------------------------------------------------------------------------------------------
# Dense input, threads and chunks, extra channels, fragility (issue 3, Numba engine)

PAA_CURVE = DamageFunction(
    "paa", "river_flood", [0.2, 0.7, 1.9, 4.0], [0.0, 0.3, 0.6, 0.9], [0.0, 0.5, 0.8, 1.0]
)


def reference(
    intensity: np.ndarray,
    value: np.ndarray,
    index: np.ndarray,
    curves: list[DamageFunction | None],
    frequency: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain NumPy: loss = value × MDD × PAA per cell; (matrix, per event, EAI)."""
    loss = np.zeros_like(intensity)
    for c, curve in enumerate(curves):
        if curve is not None:
            cols = index == c
            loss[:, cols] = curve.mean_damage_ratio(intensity[:, cols]) * value[cols]
    return loss, loss.sum(axis=1), frequency @ loss


def dense_events(intensity: np.ndarray, frequency: np.ndarray) -> HazardEvents:
    n_e, n_a = intensity.shape
    return HazardEvents.from_dense(
        "river_flood",
        [f"e{i}" for i in range(n_e)],
        frequency,
        intensity,
        [f"a{j}" for j in range(n_a)],
        sparse=False,
    )


@pytest.fixture(scope="module")
def wide() -> dict[str, np.ndarray]:
    """6 events × 20,000 assets (several kernel blocks per row), 40 % of cells flooded."""
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 5, (6, 20_000)) * (rng.random((6, 20_000)) < 0.4)
    x[0, :50] = [0.0, 0.2, 0.5, 0.7, 1.0, 1.9, 2.0, 3.0, 4.0, 6.0] * 5  # knots exactly
    return {
        "x": x,
        "value": rng.uniform(1e4, 1e6, 20_000),
        "index": rng.integers(0, 4, 20_000),
        "frequency": rng.uniform(0, 0.05, 6),
        "zone": rng.integers(0, 7, 20_000),
    }


CURVES4 = [CURVE, STEEP, PAA_CURVE, None]


@pytest.mark.parametrize("sparse", [True, False])
def test_engine_equals_numpy_reference(wide: dict[str, np.ndarray], sparse: bool) -> None:
    x, value, index, freq = wide["x"], wide["value"], wide["index"], wide["frequency"]
    ev = events(x, freq) if sparse else dense_events(x, freq)
    assert ev.is_sparse is sparse
    result = damage_function_impact(ev, value, index, CURVES4, keep_matrix=True)
    loss, per_event, eai = reference(x, value, index, CURVES4, freq)
    np.testing.assert_allclose(result.matrix.toarray(), loss, rtol=1e-12, atol=0)
    np.testing.assert_allclose(result.loss_per_event, per_event, rtol=1e-9)
    np.testing.assert_allclose(result.eai, eai, rtol=1e-9, atol=1e-300)
    fast = damage_function_impact(ev, value, index, CURVES4)  # the fused dense kernel when dense
    np.testing.assert_array_equal(fast.eai, result.eai)
    np.testing.assert_array_equal(fast.loss_per_event, result.loss_per_event)


@pytest.mark.parametrize("sparse", [True, False])
def test_same_results_with_any_threads_and_chunks(
    wide: dict[str, np.ndarray], sparse: bool
) -> None:
    x, value, index, freq = wide["x"], wide["value"], wide["index"], wide["frequency"]
    ev = events(x, freq) if sparse else dense_events(x, freq)
    groups = {"zone": pd.Series(wide["zone"])}
    base = damage_function_impact(ev, value, index, CURVES4, groups=groups, threads=2)
    for threads, entries, n_events in [
        (1, 1 << 20, None),
        (2, 1000, None),
        (1, 9000, 1),
        (2, 50_000, 2),
        (2, 1, None),
    ]:
        other = damage_function_impact(
            ev,
            value,
            index,
            CURVES4,
            groups=groups,
            threads=threads,
            chunk_entries=entries,
            chunk_events=n_events,
        )
        # Deterministic sums: identical, not only close.
        np.testing.assert_array_equal(other.eai, base.eai)
        np.testing.assert_array_equal(other.loss_per_event, base.loss_per_event)
        np.testing.assert_array_equal(other.group_loss["zone"], base.group_loss["zone"])
    np.testing.assert_allclose(base.group_loss["zone"].sum(axis=1), base.loss_per_event, rtol=1e-12)


def test_fused_dense_rows_in_fours_equal_row_by_row() -> None:
    """The fused kernel takes rows four at a time without groups and one at a time with them
    (and for the 1–3 rows left in a tile): 39 events (tiles of 16, 16 and 7 rows) × 9,000
    assets (column blocks of 4,096, 4,096 and 808), against the buffered path (keep_matrix)
    bit for bit, and against NumPy within 1e-12."""
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 5, (39, 9000)) * (rng.random((39, 9000)) < 0.7)
    value = rng.uniform(1e4, 1e6, 9000)
    index = rng.integers(0, 4, 9000)
    freq = rng.uniform(0, 0.05, 39)
    ev = dense_events(x, freq)
    buffered = damage_function_impact(ev, value, index, CURVES4, keep_matrix=True)
    loss, per_event, eai = reference(x, value, index, CURVES4, freq)
    assert buffered.matrix is not None
    np.testing.assert_allclose(buffered.matrix.toarray(), loss, rtol=1e-12, atol=0)
    np.testing.assert_allclose(buffered.eai, eai, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(buffered.loss_per_event, per_event, rtol=1e-12)
    zone = {"zone": pd.Series(rng.integers(0, 5, 9000))}
    for groups, n_events, threads in [
        (None, None, 2),
        (None, 3, 1),
        (None, 5, 2),
        (zone, None, 2),
        (zone, 6, 1),
    ]:
        fused = damage_function_impact(
            ev, value, index, CURVES4, groups=groups, chunk_events=n_events, threads=threads
        )
        np.testing.assert_array_equal(fused.eai, buffered.eai)
        np.testing.assert_array_equal(fused.loss_per_event, buffered.loss_per_event)
        if groups is not None:
            np.testing.assert_allclose(fused.group_loss["zone"].sum(axis=1), per_event, rtol=1e-12)


def test_dense_and_sparse_inputs_agree(wide: dict[str, np.ndarray]) -> None:
    x, value, index, freq = wide["x"], wide["value"], wide["index"], wide["frequency"]
    a = damage_function_impact(events(x, freq), value, index, CURVES4)
    b = damage_function_impact(dense_events(x, freq), value, index, CURVES4)
    np.testing.assert_allclose(a.eai, b.eai, rtol=1e-12, atol=0)
    np.testing.assert_allclose(a.loss_per_event, b.loss_per_event, rtol=1e-12)


@pytest.mark.parametrize("sparse", [True, False])
def test_extra_channels_by_hand(sparse: bool) -> None:
    intensity = np.array([[0.5, 0.0, 1.5], [2.5, 1.0, 0.0]])
    freq = np.array([0.1, 0.01])
    ev = events(intensity, freq) if sparse else dense_events(intensity, freq)
    occupants = np.array([4.0, 10.0, 100.0])
    seen: list[np.ndarray] = []

    def mortality(x: np.ndarray, asset: np.ndarray) -> np.ndarray:
        seen.append(x)
        return 0.001 + 0.01 * x  # non-zero at x = 0: cells without hazard must still give 0

    result = damage_function_impact(
        ev,
        [100.0, 200.0, 1000.0],
        [0, 1, 0],
        [CURVE, STEEP],
        groups={"zone": ["z1", "z2", "z1"]},
        keep_matrix=True,
        extra_channels={"casualties": (occupants, mortality)},
    )
    assert all((x > 0).all() for x in seen)  # called on the cells with hazard only
    dead = np.array([[4 * 0.006, 0.0, 100 * 0.016], [4 * 0.026, 10 * 0.011, 0.0]])
    channel = result.channels["casualties"]
    np.testing.assert_allclose(channel.matrix.toarray(), dead, rtol=1e-12)
    np.testing.assert_allclose(channel.per_event, [0.024 + 1.6, 0.104 + 0.11], rtol=1e-12)
    np.testing.assert_allclose(channel.annual, 0.1 * dead[0] + 0.01 * dead[1], rtol=1e-12)
    np.testing.assert_allclose(
        channel.group["zone"].to_numpy(), [[0.024 + 1.6, 0.0], [0.104, 0.11]], rtol=1e-12
    )
    assert channel.baseline is None
    assert result.aai == pytest.approx(0.1 * (12.5 + 750) + 0.01 * (100 + 200 * 0.84), rel=1e-12)


def test_extra_channel_bad_rate_function_is_named() -> None:
    ev = events(np.array([[1.0, 2.0]]), [0.1])
    with pytest.raises(ValidationError, match=r"extra_channels\.people"):
        damage_function_impact(
            ev,
            [1.0, 1.0],
            [0, 0],
            [CURVE],
            extra_channels={"people": (np.ones(2), lambda x, a: np.ones(5))},
        )
    with pytest.raises(ValidationError, match=r"extra_channels\.people.*one value per asset"):
        damage_function_impact(
            ev, [1.0, 1.0], [0, 0], [CURVE], extra_channels={"people": (np.ones(3), lambda x, a: x)}
        )


# Hazus equivalent-PGA structural fragility, moderate code (FEMA Hazus-MH Earthquake Technical
# Manual, Table 5.16b, as packaged in data/vulnerability/hazus_eq_pga_fragility.json): medians
# in g, beta 0.64 for every state.
W1 = FragilityCurves(
    "W1m",
    "earthquake",
    ("slight", "moderate", "extensive", "complete"),
    [0.24, 0.43, 0.91, 1.34],
    [0.64] * 4,
)
C1L = FragilityCurves(
    "C1Lm",
    "earthquake",
    ("slight", "moderate", "extensive", "complete"),
    [0.16, 0.23, 0.41, 0.77],
    [0.64] * 4,
)
#: Hazus RES1 structural repair cost ratio per state (none first), as in the benchmark.
REPAIR = [0.0, 0.005, 0.023, 0.117, 0.234]
#: Functional in states none and slight, half in moderate (an assumption of this test).
FUNCTIONAL = [1.0, 1.0, 0.5, 0.0, 0.0]


def hazus_states(pga: float, medians: list[float]) -> np.ndarray:
    """P(none), P(slight) … P(complete), with Φ from the standard library."""
    exceed = [NormalDist().cdf(np.log(pga / m) / 0.64) for m in medians]
    upper = [1.0, *exceed]
    lower = [*exceed, 0.0]
    return np.array(upper) - np.array(lower)


def quake(intensity: np.ndarray, frequency: list[float], sparse: bool = True) -> HazardEvents:
    n_e, n_a = intensity.shape
    return HazardEvents.from_dense(
        "earthquake",
        [f"q{i}" for i in range(n_e)],
        frequency,
        intensity,
        [f"b{j}" for j in range(n_a)],
        sparse=sparse,
    )


@pytest.mark.parametrize("sparse", [True, False])
def test_fragility_by_hand(sparse: bool) -> None:
    pga = np.array([[0.3, 0.0, 0.5], [0.15, 0.6, 0.0]])
    ev = quake(pga, [0.01, 0.002], sparse)
    value = np.array([1e6, 2e6, 5e5])
    weights = {
        "loss": np.array([REPAIR, REPAIR]),
        "functional": np.array([FUNCTIONAL, FUNCTIONAL]),
    }
    scale = {"loss": value, "functional": np.ones(3)}
    result = fragility_impact(
        ev,
        [0, 1, 1],
        [W1, C1L],
        weights,
        scale,
        groups={"s": ["a", "b", "b"]},
        keep_matrix=True,
        keep_states=True,
    )
    medians = [W1.median.tolist(), C1L.median.tolist(), C1L.median.tolist()]
    probs = np.zeros((2, 3, 5))
    probs[:, :, 0] = 1.0
    for e in range(2):
        for a in range(3):
            if pga[e, a] > 0:
                probs[e, a] = hazus_states(pga[e, a], medians[a])
    # W1 at 0.3 g: z = ln(0.3 / 0.24) / 0.64 = 0.3487 → P[ds ≥ slight] = Φ(0.3487) = 0.6363.
    assert probs[0, 0, 1:].sum() == pytest.approx(0.63633, abs=1e-5)
    np.testing.assert_allclose(result.states, probs, rtol=1e-9, atol=1e-15)
    loss = value * (probs @ np.array(REPAIR))
    functional = probs @ np.array(FUNCTIONAL)
    np.testing.assert_allclose(result.matrix.toarray(), loss, rtol=1e-9)
    np.testing.assert_allclose(result.loss_per_event, loss.sum(axis=1), rtol=1e-9)
    np.testing.assert_allclose(result.eai, 0.01 * loss[0] + 0.002 * loss[1], rtol=1e-9)
    ch = result.channels["functional"]
    # Without hazard an asset functions (baseline 1); the matrix holds the change from it.
    np.testing.assert_array_equal(ch.baseline, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(ch.matrix.toarray() + ch.baseline, functional, rtol=1e-9)
    np.testing.assert_allclose(ch.per_event, functional.sum(axis=1), rtol=1e-9)
    np.testing.assert_allclose(ch.annual, 0.01 * functional[0] + 0.002 * functional[1], rtol=1e-9)
    np.testing.assert_allclose(
        ch.group["s"].to_numpy(),
        np.c_[functional[:, 0], functional[:, 1:].sum(axis=1)],
        rtol=1e-9,
    )


def test_fragility_none_curves_and_padding() -> None:
    two = FragilityCurves("two", "earthquake", ("minor", "major"), [0.2, 0.5], [0.5, 0.7])
    ev = quake(np.array([[0.4, 0.4, 0.4]]), [1.0])
    # Padding past a curve's states (the 7s) is ignored; a None curve takes no damage (the 9s).
    weights = {"loss": np.array([[0, 0.1, 1.0, 7, 7], [0, 0.1, 0.5, 1.0, 0], [0, 9, 9, 9, 9]])}
    result = fragility_impact(ev, [0, 1, 2], [two, W1, None], weights, {"loss": np.ones(3)})
    p_two = np.array(
        [
            1 - NormalDist().cdf(np.log(2) / 0.5),
            NormalDist().cdf(np.log(2) / 0.5) - NormalDist().cdf(np.log(0.8) / 0.7),
            NormalDist().cdf(np.log(0.8) / 0.7),
        ]
    )
    p_w1 = hazus_states(0.4, W1.median.tolist())
    expected = [p_two @ [0, 0.1, 1.0], p_w1 @ [0, 0.1, 0.5, 1.0, 0], 0.0]
    np.testing.assert_allclose(result.eai, expected, rtol=1e-9)


def test_fragility_one_million_buildings_is_fast_enough_to_test() -> None:
    rng = np.random.default_rng(3)
    n = 200_000
    ev = quake(rng.uniform(0, 1, (1, n)), [0.01], sparse=False)
    weights = {"loss": np.array([REPAIR])}
    result = fragility_impact(ev, np.zeros(n, dtype=int), [W1], weights, {"loss": np.ones(n)})
    direct = W1.state_probabilities(ev.intensity[0]) @ np.array(REPAIR)
    np.testing.assert_allclose(result.eai, 0.01 * direct, rtol=1e-9, atol=1e-18)


def test_fragility_bad_inputs_are_named() -> None:
    ev = quake(np.array([[0.3, 0.2]]), [0.1])
    good = {"loss": np.array([REPAIR])}
    with pytest.raises(ValidationError, match=r"state_weights\.loss.*\(1, 5\)"):
        fragility_impact(ev, [0, 0], [W1], {"loss": np.array([REPAIR[:4]])}, {"loss": np.ones(2)})
    with pytest.raises(ValidationError, match=r"scale\.loss.*one value per asset"):
        fragility_impact(ev, [0, 0], [W1], good, {"loss": np.ones(3)})
    with pytest.raises(ValidationError, match=r"scale\.people"):
        fragility_impact(
            ev, [0, 0], [W1], good | {"people": np.array([REPAIR])}, {"loss": np.ones(2)}
        )
    with pytest.raises(ValidationError, match="curve_index"):
        fragility_impact(ev, [0, 1], [W1], good, {"loss": np.ones(2)})
    with pytest.raises(ValidationError, match="earthquake curves"):
        flood_curves = FragilityCurves("f", "river_flood", ("wet",), [1.0], [0.5])
        fragility_impact(
            ev, [0, 0], [flood_curves], {"loss": np.zeros((1, 2))}, {"loss": np.ones(2)}
        )
    big = HazardEvents(
        "earthquake",
        np.arange(2).astype(str),
        [0.1, 0.1],
        sp.csr_array((2, MAX_STATE_CELLS // 8)),
        np.arange(MAX_STATE_CELLS // 8).astype(str),
    )
    n = big.n_assets
    with pytest.raises(ValidationError, match="keep_states"):
        fragility_impact(
            big, np.zeros(n, dtype=int), [W1], good, {"loss": np.ones(n)}, keep_states=True
        )


def test_dense_bad_inputs_and_threads() -> None:
    with pytest.raises(ValidationError, match=r"NaN or negative in 2 cells \(rows e1@a0, e1@a1\)"):
        dense_events(np.array([[1.0, 0.0], [np.nan, -1.0]]), np.array([0.1, 0.1]))
    with pytest.raises(ValidationError, match="one frequency per event"):
        dense_events(np.ones((2, 2)), np.array([0.1]))
    ev = dense_events(np.ones((1, 2)), np.array([0.1]))
    with pytest.raises(ValueError, match="threads"):
        damage_function_impact(ev, [1.0, 1.0], [0, 0], [CURVE], threads=0)
    with pytest.raises(ValueError, match="chunk_entries"):
        damage_function_impact(ev, [1.0, 1.0], [0, 0], [CURVE], chunk_entries=0)
    with pytest.raises(ValidationError, match=r"groups\.zone.*a label for every asset"):
        damage_function_impact(ev, [1.0, 1.0], [0, 0], [CURVE], groups={"zone": ["z", None]})


@settings(max_examples=40, deadline=None)
@given(intensity=matrices, data=st.data())
def test_properties_dense_and_fragility(intensity: np.ndarray, data: st.DataObject) -> None:
    n_e, n_a = intensity.shape
    value = data.draw(arrays(np.float64, n_a, elements=st.floats(0, 1e6)))
    index = data.draw(arrays(np.int64, n_a, elements=st.integers(0, 3)))
    freq = np.full(n_e, 0.01)
    loss = damage_function_impact(
        dense_events(intensity, freq), value, index, CURVES4, keep_matrix=True
    )
    m = loss.matrix.toarray()
    assert (m <= value * (1 + 1e-12)).all() and (m[intensity == 0] == 0).all()
    higher = damage_function_impact(
        dense_events(intensity * 1.3 + 0.05 * (intensity > 0), freq),
        value,
        index,
        CURVES4,
        keep_matrix=True,
    )
    assert (higher.matrix.toarray() >= m - 1e-9 * value).all()
    pga = intensity / 4
    w = {"loss": np.array([REPAIR, REPAIR, REPAIR, REPAIR])}
    frag = fragility_impact(
        quake(pga, freq), index, [W1, C1L, W1, None], w, {"loss": value}, keep_matrix=True
    )
    f = frag.matrix.toarray()
    assert (f <= value * 0.234 * (1 + 1e-12)).all() and (f[pga == 0] == 0).all()
    frag_up = fragility_impact(
        quake(pga * 1.3, freq), index, [W1, C1L, W1, None], w, {"loss": value}, keep_matrix=True
    )
    assert (frag_up.matrix.toarray() >= f - 1e-9 * value).all()


def test_finely_tabulated_curves_and_empty_sets() -> None:
    # 2,001 knots 0.005 m apart: more than the lookup grid's cells, so the kernel walks.
    knots = np.linspace(0.0, 10.0, 2001)
    fine = DamageFunction("fine", "river_flood", knots, np.sqrt(knots / 10), np.ones(2001))
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 12, (3, 500))
    x[0, :21] = knots[::100]  # exactly on knots, the last one included
    value = rng.uniform(1, 10, 500)
    index = rng.integers(0, 2, 500)
    freq = np.array([0.1, 0.2, 0.3])
    result = damage_function_impact(dense_events(x, freq), value, index, [fine, CURVE])
    _, per_event, eai = reference(x, value, index, [fine, CURVE], freq)
    np.testing.assert_allclose(result.loss_per_event, per_event, rtol=1e-12)
    np.testing.assert_allclose(result.eai, eai, rtol=1e-12)
    empty = damage_function_impact(
        events(np.zeros((2, 3)), [0.1, 0.1]), np.ones(3), [0] * 3, [CURVE]
    )
    assert empty.aai == 0 and empty.loss_per_event.tolist() == [0.0, 0.0]
    no_events = HazardEvents("river_flood", [], [], np.zeros((0, 3)), ["a", "b", "c"])
    nothing = damage_function_impact(
        no_events, np.ones(3), [0] * 3, [CURVE], groups={"z": list("xyx")}
    )
    assert nothing.eai.tolist() == [0.0] * 3 and nothing.group_loss["z"].shape == (0, 2)
