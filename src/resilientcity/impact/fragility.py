"""The impact engine's fragility path: damage-state probabilities → consequences, chunked.

For every entry with hazard (``x > 0``) the damage-state probabilities of the asset's lognormal
fragility curves, ``P[ds ≥ k] = Φ(ln(x / median_k) / beta_k)``, and per channel
``scale[a] × Σ_k P_k × weight[c, k]``; the channels are reduced per event, group and asset as
the damage-function channels (:mod:`resilientcity.impact.engine`, whose chunks, buffers and sums
this module shares). The per-entry work runs in the Numba kernel
:func:`resilientcity.impact._kernels.fragility_entries`; results are identical with any number
of threads and any chunk size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import Problem
from resilientcity.hazard.events import HazardEvents
from resilientcity.impact import _kernels as kernels
from resilientcity.impact import _streaming as streaming
from resilientcity.impact.engine import CHUNK_ENTRIES
from resilientcity.impact.results import ImpactResult
from resilientcity.vulnerability.curves import FragilityCurves

__all__ = ["MAX_STATE_CELLS", "fragility_impact"]

#: Largest events × assets × states array that ``keep_states`` may return (128 MB of float64).
MAX_STATE_CELLS = 1 << 24


def _curve_of_asset(
    curve_index: NDArray[np.int64], curves: Sequence[object | None]
) -> NDArray[np.int32]:
    active = np.array([c is not None for c in curves], dtype=np.bool_)
    if curve_index.size == 0:
        return np.zeros(0, dtype=np.int32)
    return np.where(active[curve_index], curve_index, -1).astype(np.int32)


def _fragility_tables(
    curves: Sequence[FragilityCurves | None],
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """States per curve, and medians and betas padded to the most states (1 for no curve)."""
    width = max((len(c.damage_states) for c in curves if c is not None), default=0)
    n_states = np.zeros(len(curves), dtype=np.int64)
    median = np.ones((len(curves), max(width, 1)))
    beta = np.ones((len(curves), max(width, 1)))
    for c, curve in enumerate(curves):
        if curve is None:
            continue
        k = len(curve.damage_states)
        n_states[c] = k
        median[c, :k] = curve.median
        beta[c, :k] = curve.beta
    return n_states, median, beta


def _channel_arrays(
    events: HazardEvents,
    n_curves: int,
    width: int,
    state_weights: Mapping[str, ArrayLike],
    scale: Mapping[str, ArrayLike],
) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
    """Channel names, ``channels × curves × (1 + states)`` weights, ``channels × assets`` scales."""
    problems: list[Problem] = []
    names = list(state_weights)
    for name in set(names) ^ set(scale):
        where = "scale" if name in state_weights else "state_weights"
        problems.append(
            Problem(
                "impact",
                f"{where}.{name}",
                "the same channels in state_weights and scale",
                found="missing",
            )
        )
    weights = np.zeros((len(names), n_curves, width + 1))
    scales = np.zeros((len(names), events.n_assets))
    for ch, name in enumerate(names):
        w = np.asarray(state_weights[name], dtype=np.float64)
        if w.shape != (n_curves, width + 1):
            problems.append(
                Problem(
                    "impact",
                    f"state_weights.{name}",
                    f"shape curves × (none + states) = ({n_curves}, {width + 1})",
                    found=str(w.shape),
                )
            )
        elif not np.isfinite(w).all():
            problems.append(Problem("impact", f"state_weights.{name}", "finite weights"))
        else:
            weights[ch] = w
        if name in scale:
            s = np.asarray(scale[name], dtype=np.float64)
            found = streaming.per_asset_problems(f"scale.{name}", s, events)
            problems += found
            if not found:
                scales[ch] = s
    streaming.raise_if(problems)
    return names, weights, scales


def fragility_impact(
    events: HazardEvents,
    curve_index: ArrayLike,
    curves: Sequence[FragilityCurves | None],
    state_weights: Mapping[str, ArrayLike],
    scale: Mapping[str, ArrayLike],
    groups: Mapping[str, ArrayLike] | None = None,
    chunk_events: int | None = None,
    keep_matrix: bool = False,
    keep_states: bool = False,
    *,
    chunk_entries: int = CHUNK_ENTRIES,
    threads: int | None = None,
) -> ImpactResult:
    """Consequences of every event at every asset, from lognormal fragility curves.

    Per entry with hazard, the damage-state probabilities are
    ``P[ds ≥ k] = Φ(ln(x / median_k) / beta_k)``, ``P_k = P[ds ≥ k] − P[ds ≥ k+1]`` and
    ``P_none = 1 − P[ds ≥ 1]``; channel ``ch`` of asset ``a`` with curve ``c`` is

        scale[ch][a] × Σ_k P_k × w[ch][c, k]  =  scale × (w_none + Σ_{k≥1} P_k (w_k − w_none)).

    Without hazard (intensity 0 or not stored) and for assets whose curve is ``None``,
    ``P_none = 1``, so the value is ``scale × w_none`` (the channel's *baseline*, 0 when
    ``w_none`` is 0, as for a loss); the engine visits only entries with hazard and adds the
    baseline analytically for all cells.

    Parameters
    ----------
    events
        Hazard events (sparse or dense intensities).
    curve_index
        Per asset, the index of its curves in ``curves``.
    curves
        Fragility curves (their number of states may differ); ``None`` for no damage.
    state_weights
        Channel name → ``curves × (1 + max states)`` weights, state ``none`` first, e.g. the
        repair cost ratio per state for ``loss`` (0 for ``none``), casualty rates, or 1 for the
        states in which an asset still functions. Columns past a curve's states are ignored.
    scale
        Channel name → one scale per asset (value in the city's currency, occupants, 1 …); same names.
    groups, chunk_events, keep_matrix, chunk_entries, threads
        As for :func:`damage_function_impact`.
    keep_states
        Return the ``events × assets × (1 + max states)`` state probabilities in
        ``ImpactResult.states``; refused above :data:`MAX_STATE_CELLS` cells.

    Returns
    -------
    ImpactResult
        One channel per name of ``state_weights``.
    """
    index = np.asarray(curve_index, dtype=np.int64)
    streaming.raise_if(streaming.curve_problems(events, index, curves, FragilityCurves))
    streaming.check_chunks(chunk_entries, chunk_events, threads)
    n_states, median, beta = _fragility_tables(curves)
    width = int(n_states.max(initial=0))
    names, weights, scales = _channel_arrays(events, len(curves), width, state_weights, scale)
    cells = events.n_events * events.n_assets * (width + 1)
    if keep_states and cells > MAX_STATE_CELLS:
        streaming.raise_if(
            [
                Problem(
                    "impact",
                    "keep_states",
                    f"events × assets × (1 + states) <= {MAX_STATE_CELLS:,}",
                    found=f"{cells:,}",
                )
            ]
        )
    states = np.zeros((events.n_events, events.n_assets, width + 1) if keep_states else (0, 0, 1))
    states[:, :, 0] = 1.0
    step = np.zeros((len(names), len(curves), median.shape[1]))
    step[:, :, :width] = weights[:, :, 1:] - weights[:, :, :1]
    baseline = scales * weights[:, index, 0] if index.size else scales.copy()
    curve_of_asset = _curve_of_asset(index, curves)
    sums = streaming.Sums(events, names, streaming.groups(groups, events), keep_matrix)
    buffers = streaming.Buffer(len(names))
    data, indices, n_cols = streaming.flat(events)
    with streaming.threads(threads):
        for chunk in streaming.chunks(events, chunk_entries, chunk_events):
            buffer = buffers.get(chunk.p1 - chunk.p0)
            kernels.fragility_entries(
                data,
                indices,
                n_cols,
                chunk.item_row,
                chunk.item_lo,
                chunk.item_hi,
                chunk.p0,
                curve_of_asset,
                n_states,
                median,
                beta,
                step,
                scales,
                buffer,
                keep_states,
                states,
            )
            sums.add_values(chunk, buffer)
    sums.add_baseline(baseline)
    return ImpactResult(
        events.event_ids,
        events.frequency,
        events.asset_ids,
        sums.results(baseline),
        states if keep_states else None,
    )
