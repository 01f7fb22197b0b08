"""The impact engine: hazard intensity → damage → loss and other consequences, chunked.

Damage functions (:func:`damage_function_impact`): for every event ``e`` and asset ``a`` with
intensity ``x[e, a] > 0``

    loss[e, a] = value[a] × MDD_c(x[e, a]) × PAA_c(x[e, a]),

with ``c`` the asset's curve (CLIMADA's definition of impact). Fragility curves
(:func:`resilientcity.impact.fragility.fragility_impact`, which shares the chunks, buffers and
sums of :mod:`resilientcity.impact._streaming`): per entry the damage-state probabilities ``P_k`` (lognormal CDF
differences, state ``none`` first) and, per channel, ``scale[a] × Σ_k P_k × weight[c, k]``.

Every *channel* (``loss``, and casualties, displaced people, loss of function … when asked)
is reduced the same way: per event (sum over assets), per event and group (zone, sector …),
and per asset per year, ``annual[a] = Σ_e frequency[e] × value[e, a]`` (for the loss, the
expected annual impact EAI; ``AAI = Σ_a EAI[a]``). Intensity 0 (or not stored) is no hazard.

The work is streamed in chunks of about ``chunk_entries`` stored intensities (CSR: runs of
whole rows or parts of a row; dense: whole rows, or column ranges of a row), each through a
reusable buffer, so memory stays bounded; the full ``events × assets`` matrix of a channel is
kept only on request. The plain damage-function loss of a dense matrix goes through a fused
kernel that needs no buffer at all (tiles of 16 events × all assets; each thread owns column
blocks, takes the rows four at a time when there are no groups, and accumulates the expected
annual loss of its assets). The per-entry work runs in
Numba kernels (:mod:`resilientcity.impact._kernels`) whose sums are deterministic: results are
identical with any number of threads and any chunk size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import Problem
from resilientcity.hazard.events import HazardEvents
from resilientcity.impact import _kernels as kernels
from resilientcity.impact import _streaming as streaming
from resilientcity.impact.results import ImpactResult
from resilientcity.vulnerability.curves import DamageFunction

__all__ = [
    "CHUNK_ENTRIES",
    "ExtraChannel",
    "damage_function_impact",
    "damage_ratio",
    "exceedance_curve",
]

#: Stored intensities per chunk (about 8 MB of float64 per channel buffer).
CHUNK_ENTRIES = 1 << 20
#: Cells of the segment-lookup grid of a damage function, at most.
_GRID_CELLS = 4096

#: An extra channel of the damage-function path: a scale per asset and a rate function of the
#: intensities and asset indices of the entries with hazard.
ExtraChannel = tuple[
    ArrayLike, Callable[[NDArray[np.float64], NDArray[np.int64]], NDArray[np.float64]]
]


# ---------------------------------------------------------------------------------------------
# Damage functions


def damage_ratio(
    intensity: sp.csr_array, curve_index: NDArray[np.int64], curves: Sequence[DamageFunction | None]
) -> sp.csr_array:
    """Mean damage ratio on the stored entries of an ``events × assets`` intensity matrix.

    A plain NumPy helper (``np.interp`` per curve). Entries of assets whose curve is ``None``
    (no damage) become 0 and are dropped.
    """
    data = intensity.data
    entry_curve = curve_index[intensity.indices]
    ratio = np.zeros_like(data)
    for c, curve in enumerate(curves):
        if curve is None:
            continue
        mask = entry_curve == c
        if mask.any():
            ratio[mask] = curve.mean_damage_ratio(data[mask])
    out = sp.csr_array((ratio, intensity.indices, intensity.indptr), shape=intensity.shape)
    out.eliminate_zeros()
    return out


def _segments(curve: DamageFunction | None) -> NDArray[np.float64]:
    """Segment rows of one curve (see ``_kernels.CurveTables``): before, between, after knots."""
    if curve is None:
        return np.array([[np.inf, 0.0, 0.0, 0.0, 0.0, 0.0]])
    x, mdd, paa = curve.intensity, curve.mdd, curve.paa
    rows = np.zeros((x.size + 1, 6))
    rows[:-1, 0] = x
    rows[-1, 0] = np.inf
    rows[1:, 1] = x
    rows[0, 2], rows[1:, 2] = mdd[0], mdd
    rows[0, 4], rows[1:, 4] = paa[0], paa
    rows[1:-1, 3] = np.diff(mdd) / np.diff(x)  # the slopes np.interp computes
    rows[1:-1, 5] = np.diff(paa) / np.diff(x)
    return rows


def _curve_tables(
    curves: Sequence[DamageFunction | None],
) -> tuple[kernels.CurveTables, int]:
    """The kernels' damage-function tables, and the number of grid cells per curve.

    The grid is uniform from 0 to the largest last knot, with cells half the smallest knot
    spacing (so a cell holds at most one knot), at most ``_GRID_CELLS`` cells (beyond, the
    kernel walks the segments).
    """
    active = [c for c in curves if c is not None]
    x_max = max((float(c.intensity[-1]) for c in active), default=0.0)
    spacing = min((float(np.diff(c.intensity).min()) for c in active), default=1.0)
    n_cells = int(np.ceil(x_max * 2.0 / spacing)) + 1
    walk = n_cells > _GRID_CELLS
    n_cells = min(n_cells, _GRID_CELLS)
    cells_per_unit = (n_cells - 1) / x_max if x_max > 0 else 1.0
    edges = np.arange(n_cells) / cells_per_unit
    rows, cells, at = [], [], 0
    for curve in curves:
        seg = _segments(curve)
        first = np.zeros(n_cells, dtype=np.int64)
        if curve is not None:
            first = np.searchsorted(curve.intensity, edges, side="right").astype(np.int64)
        rows.append(seg)
        cells.append(first + at)
        at += seg.shape[0]
    segments = np.vstack(rows) if rows else _segments(None)
    cell_segment = np.concatenate(cells) if cells else np.zeros(n_cells, dtype=np.int64)
    use_paa = any(not np.all(c.paa == 1.0) for c in active)
    cell_split = segments[cell_segment, 0]
    tables = (segments, cell_segment, cell_split, x_max, cells_per_unit, n_cells, use_paa, walk)
    return tables, n_cells


def _extra_arrays(
    extra: Mapping[str, ExtraChannel], events: HazardEvents
) -> dict[str, NDArray[np.float64]]:
    problems: list[Problem] = []
    scales: dict[str, NDArray[np.float64]] = {}
    for name, spec in extra.items():
        if name == "loss":
            problems.append(Problem("impact", "extra_channels", "a name other than 'loss'"))
            continue
        if not (isinstance(spec, tuple) and len(spec) == 2 and callable(spec[1])):
            problems.append(
                Problem("impact", f"extra_channels.{name}", "a (scale per asset, rate function)")
            )
            continue
        scale = np.asarray(spec[0], dtype=np.float64)
        problems += streaming.per_asset_problems(f"extra_channels.{name}", scale, events)
        scales[name] = scale
    streaming.raise_if(problems)
    return scales


def _extra_values(
    events: HazardEvents,
    chunk: streaming.Chunk,
    extra: Mapping[str, ExtraChannel],
    scales: Mapping[str, NDArray[np.float64]],
    out: NDArray[np.float64],
) -> None:
    """Each extra channel's ``scale[a] × rate(x, a)`` on the chunk's entries with hazard."""
    data, _, _ = streaming.flat(events)
    x = data[chunk.p0 : chunk.p1]
    hit = x > 0
    assets = streaming.entry_assets(events, chunk)[hit]
    xs = x[hit]
    for row, (name, (_, rate)) in enumerate(extra.items()):
        values = np.asarray(rate(xs, assets), dtype=np.float64)
        if values.shape != xs.shape or not np.isfinite(values).all():
            streaming.raise_if(
                [
                    Problem(
                        "impact",
                        f"extra_channels.{name}",
                        "a rate function returning one finite rate per entry",
                        found=f"shape {values.shape} for {xs.size} entries"
                        if values.shape != xs.shape
                        else "NaN or infinite rates",
                    )
                ]
            )
        out[row].fill(0.0)
        out[row][hit] = scales[name][assets] * values


def damage_function_impact(
    events: HazardEvents,
    value: ArrayLike,
    curve_index: ArrayLike,
    curves: Sequence[DamageFunction | None],
    groups: Mapping[str, ArrayLike] | None = None,
    chunk_events: int | None = None,
    keep_matrix: bool = False,
    *,
    chunk_entries: int = CHUNK_ENTRIES,
    threads: int | None = None,
    extra_channels: Mapping[str, ExtraChannel] | None = None,
) -> ImpactResult:
    """Losses (and other channels) of every event at every asset, from damage functions.

    Parameters
    ----------
    events
        Hazard events (``events × assets`` intensities, sparse or dense).
    value
        Value exposed of each asset (the city's currency), in the events' asset order.
    curve_index
        Per asset, the index of its curve in ``curves`` (see
        :meth:`~resilientcity.vulnerability.VulnerabilityLibrary.assign`).
    curves
        Damage functions; ``None`` for classes that take no damage.
    groups
        Optional groupings of the assets (name → labels, one per asset, e.g.
        ``{"zone": assets.zone_id, "sector": assets.sector}``) to sum every channel by.
    chunk_events
        At most this many events per chunk (None: no limit beyond ``chunk_entries``).
    keep_matrix
        Keep each channel's full ``events × assets`` matrix (sparse).
    chunk_entries
        About this many stored intensities per chunk (memory bound). Results do not depend on
        the chunking.
    threads
        Numba threads (None: all); results do not depend on it.
    extra_channels
        Name → ``(scale, rate)``: a channel whose value at an entry with hazard (``x > 0``) is
        ``scale[a] × rate(x, a)``, with ``rate`` called (NumPy, once per chunk) on the
        intensities and asset indices of the chunk's entries with hazard, e.g. casualties =
        occupants × mortality(depth). Evaluated whatever the asset's curve; 0 without hazard.

    Returns
    -------
    ImpactResult
        Channel ``loss`` (the city's currency) and the extra channels.
    """
    values = np.asarray(value, dtype=np.float64)
    index = np.asarray(curve_index, dtype=np.int64)
    streaming.raise_if(
        streaming.per_asset_problems("value", values, events)
        + streaming.curve_problems(events, index, curves, DamageFunction)
    )
    streaming.check_chunks(chunk_entries, chunk_events, threads)
    extra = dict(extra_channels or {})
    scales = _extra_arrays(extra, events)
    group_codes = streaming.groups(groups, events)
    tables, n_cells = _curve_tables(curves)
    cell_base = index * n_cells
    sums = streaming.Sums(events, ["loss", *extra], group_codes, keep_matrix)
    fused = isinstance(events.intensity, np.ndarray) and not extra and not keep_matrix
    buffers = streaming.Buffer(1 + len(extra))
    data, indices, n_cols = streaming.flat(events)
    with streaming.threads(threads):
        for chunk in streaming.chunks(events, chunk_entries, chunk_events, tiles=fused):
            if fused and chunk.tile is not None:
                item_sum, item_group = sums.item_arrays(chunk)
                kernels.damage_dense_fused(
                    events.intensity,
                    *chunk.tile,
                    cell_base,
                    values,
                    tables,
                    events.frequency,
                    group_codes.codes,
                    item_sum,
                    item_group,
                    sums.annual,
                )
                sums.add_items(chunk, item_sum, item_group)
                continue
            buffer = buffers.get(chunk.p1 - chunk.p0)
            kernels.damage_entries(
                data,
                indices,
                n_cols,
                chunk.item_row,
                chunk.item_lo,
                chunk.item_hi,
                chunk.p0,
                cell_base,
                values,
                tables,
                buffer[0],
            )
            if extra:
                _extra_values(events, chunk, extra, scales, buffer[1:])
            sums.add_values(chunk, buffer)
    return ImpactResult(events.event_ids, events.frequency, events.asset_ids, sums.results())


def exceedance_curve(loss_per_event: ArrayLike, frequency: ArrayLike) -> pd.DataFrame:
    """Loss-exceedance curve: the loss exceeded with each annual frequency.

    Events are sorted by loss, largest first; the exceedance frequency of the ``k``-th largest
    loss is the sum of the frequencies of the ``k`` largest events, and its return period the
    inverse (as CLIMADA's ``calc_freq_curve``).

    Returns
    -------
    pandas.DataFrame
        Columns ``loss``, ``exceedance_frequency`` (per year) and ``return_period_years``, from
        the largest loss down.
    """
    loss = np.asarray(loss_per_event, dtype=np.float64)
    freq = np.asarray(frequency, dtype=np.float64)
    order = np.argsort(-loss, kind="stable")
    cumulative = np.cumsum(freq[order])
    with np.errstate(divide="ignore"):
        period = np.where(cumulative > 0, 1.0 / cumulative, np.inf)
    return pd.DataFrame(
        {"loss": loss[order], "exceedance_frequency": cumulative, "return_period_years": period}
    )
