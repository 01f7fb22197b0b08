"""Numba kernels of the impact engine (private; :mod:`resilientcity.impact.engine` drives them).

Every kernel works on a *chunk*: a contiguous range ``[p0, p1)`` of flat entry positions of
the intensity (``data`` is the CSR's ``data`` or the dense matrix raveled, a view). A chunk is
cut into *items*: one item is a run of at most ``BLOCK`` entries of one event row, starting at
a multiple of ``BLOCK`` from the row's start (the item partition depends only on the matrix,
never on the chunk size or the thread count). Item ``i`` belongs to event ``item_row[i]`` and
covers positions ``item_lo[i]:item_hi[i]``. The asset of an entry at position ``k`` is
``indices[k]`` (sparse) or ``k − row × n_cols`` (dense, ``n_cols > 0``).

Reductions are deterministic: each item is summed by one thread in entry order, the items
are then added in order, and each asset's annual value is accumulated by one thread in event
order. So results do not depend on the number of threads, and they do not depend on the chunk
size either (chunks only group whole items).

Interpolation uses ``numpy.interp``'s slopes ``(f[j+1] − f[j]) / (x[j+1] − x[j])`` and its
formula ``slope × (x − x[j]) + f[j]`` with the ends clamped, ``fastmath`` off; the segment is
found through a uniform grid (see ``CurveTables``) instead of a binary search, so the damage
ratios equal NumPy's (bitwise in the tests and benchmark; a cell edge that rounds onto a knot
could only move ``x`` to the neighbouring segment, whose line meets the same knot value).
Φ is ``0.5 · erfc(−z / √2)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

__all__ = [
    "BLOCK",
    "CurveTables",
    "add_items",
    "damage_dense_fused",
    "damage_entries",
    "fragility_entries",
    "reduce_entries",
]

#: Entries per item (see the module docstring); fixed, so that results never depend on chunks.
BLOCK = 4096

_SQRT1_2 = 0.7071067811865476

#: Damage-function tables: (segments, cell_segment, cell_split, x_max, cells_per_unit, n_cells,
#: use_paa, walk). ``segments`` rows are ``[next_start, x_start, mdd, mdd_slope, paa,
#: paa_slope]``: per curve a flat segment before the first knot, one per pair of knots and one
#: after the last (slopes 0 outside the knots, so the ends are clamped as by ``np.interp``).
#: ``cell_segment`` gives, per curve and cell of a uniform grid of ``n_cells`` cells of
#: ``1 / cells_per_unit`` from 0, the segment at the cell's left edge, and ``cell_split`` where
#: the next one starts; a cell holds at most one knot unless ``walk``.
CurveTables = tuple[
    NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], float, float, int, bool, bool
]


@njit(cache=True, inline="always")
def _asset(k: int, row: int, indices: NDArray[np.int64], n_cols: int) -> int:
    """Asset (column) of the entry at flat position ``k`` of event ``row``."""
    if n_cols > 0:
        return k - row * n_cols
    return indices[k]


@njit(cache=True, inline="always")
def _ratio(x: float, cell_base: int, tables: CurveTables) -> float:
    """MDD(x) × PAA(x) of the curve whose cells start at ``cell_base`` (see ``CurveTables``).

    Branch-free: the grid cell gives the segment at its left edge, one comparison moves to the
    next segment when the cell holds a knot below ``x``; then ``slope × (x − x_j) + f_j`` as in
    ``np.interp``. An asset without a curve points at a segment of zeros.
    """
    segments, cell_segment, cell_split, x_max, cells_per_unit, n_cells, use_paa, walk = tables
    t = min(x, x_max)
    cell = cell_base + min(int(t * cells_per_unit), n_cells - 1)
    j = cell_segment[cell] + (t >= cell_split[cell])
    if walk:
        while t >= segments[j, 0]:
            j += 1
    d = t - segments[j, 1]
    mdd = segments[j, 3] * d + segments[j, 2]
    if use_paa:
        return mdd * (segments[j, 5] * d + segments[j, 4])
    return mdd


@njit(cache=True, inline="always")
def _dense_row(
    dense: NDArray[np.float64],
    r: int,
    lo: int,
    hi: int,
    cell_base: NDArray[np.int64],
    value: NDArray[np.float64],
    tables: CurveTables,
    f: float,
    group_code: NDArray[np.int64],
    item_group: NDArray[np.float64],
    item: int,
    annual: NDArray[np.float64],
) -> float:
    """Loss of row ``r``, columns ``lo:hi`` (one item): its sum, its groups, and the annual loss."""
    total = 0.0
    for a in range(lo, hi):
        loss = _ratio(dense[r, a], cell_base[a], tables) * value[a]
        total += loss
        for g in range(group_code.shape[0]):
            item_group[item, 0, group_code[g, a]] += loss
        annual[a] += f * loss
    return total


@njit(cache=True, inline="always")
def _dense_rows4(
    dense: NDArray[np.float64],
    r: int,
    lo: int,
    hi: int,
    cell_base: NDArray[np.int64],
    value: NDArray[np.float64],
    tables: CurveTables,
    frequency: NDArray[np.float64],
    annual: NDArray[np.float64],
) -> tuple[float, float, float, float]:
    """Losses of rows ``r:r+4``, columns ``lo:hi``, without groups: the four items' sums.

    Each asset's curve, value and annual loss are loaded once for the four rows; the annual
    loss still gets the rows' terms one by one in row order, so the sums are the same, bit for
    bit, as row by row.
    """
    f0, f1, f2, f3 = frequency[r], frequency[r + 1], frequency[r + 2], frequency[r + 3]
    s0 = s1 = s2 = s3 = 0.0
    for a in range(lo, hi):
        base = cell_base[a]
        v = value[a]
        l0 = _ratio(dense[r, a], base, tables) * v
        l1 = _ratio(dense[r + 1, a], base, tables) * v
        l2 = _ratio(dense[r + 2, a], base, tables) * v
        l3 = _ratio(dense[r + 3, a], base, tables) * v
        s0 += l0
        s1 += l1
        s2 += l2
        s3 += l3
        acc = annual[a]
        acc += f0 * l0
        acc += f1 * l1
        acc += f2 * l2
        acc += f3 * l3
        annual[a] = acc
    return s0, s1, s2, s3


@njit(cache=True, parallel=True)
def damage_dense_fused(
    dense: NDArray[np.float64],
    r0: int,
    r1: int,
    c0: int,
    c1: int,
    cell_base: NDArray[np.int64],
    value: NDArray[np.float64],
    tables: CurveTables,
    frequency: NDArray[np.float64],
    group_code: NDArray[np.int64],
    item_sum: NDArray[np.float64],
    item_group: NDArray[np.float64],
    annual: NDArray[np.float64],
) -> None:
    """Loss of a dense tile (events ``r0:r1`` × assets ``c0:c1``) reduced without a buffer.

    One thread owns a column block (an item per row) and walks the rows in order, so it can
    add ``frequency × loss`` to the annual loss of its assets; items are numbered row-major,
    ``(row − r0) × n_blocks + block``. ``item_sum`` gets each item's loss, ``item_group`` its
    loss per group (``group_code``: groupings × assets, codes already offset per grouping).
    Without groups, the rows are taken four at a time (see ``_dense_rows4``).
    """
    n_blocks = (c1 - c0 + BLOCK - 1) // BLOCK
    annual_loss = annual[0]
    for b in prange(n_blocks):
        lo = c0 + b * BLOCK
        hi = min(lo + BLOCK, c1)
        r = r0
        if group_code.shape[0] == 0:
            while r + 4 <= r1:
                sums = _dense_rows4(
                    dense, r, lo, hi, cell_base, value, tables, frequency, annual_loss
                )
                for k in range(4):
                    item_sum[(r + k - r0) * n_blocks + b, 0] = sums[k]
                r += 4
        while r < r1:
            item = (r - r0) * n_blocks + b
            item_sum[item, 0] = _dense_row(
                dense,
                r,
                lo,
                hi,
                cell_base,
                value,
                tables,
                frequency[r],
                group_code,
                item_group,
                item,
                annual_loss,
            )
            r += 1


@njit(cache=True, parallel=True)
def damage_entries(
    data: NDArray[np.float64],
    indices: NDArray[np.int64],
    n_cols: int,
    item_row: NDArray[np.int64],
    item_lo: NDArray[np.int64],
    item_hi: NDArray[np.int64],
    p0: int,
    cell_base: NDArray[np.int64],
    value: NDArray[np.float64],
    tables: CurveTables,
    out: NDArray[np.float64],
) -> None:
    """Loss of every entry of a chunk into ``out[k − p0]`` (0 without hazard or curve).

    ``cell_base[a]``: where the cells of asset ``a``'s curve start in the tables.
    """
    for i in prange(item_row.size):
        r = item_row[i]
        for k in range(item_lo[i], item_hi[i]):
            a = _asset(k, r, indices, n_cols)
            out[k - p0] = _ratio(data[k], cell_base[a], tables) * value[a]


@njit(cache=True, parallel=True)
def fragility_entries(
    data: NDArray[np.float64],
    indices: NDArray[np.int64],
    n_cols: int,
    item_row: NDArray[np.int64],
    item_lo: NDArray[np.int64],
    item_hi: NDArray[np.int64],
    p0: int,
    curve_of_asset: NDArray[np.int32],
    n_states: NDArray[np.int64],
    median: NDArray[np.float64],
    beta: NDArray[np.float64],
    weight_step: NDArray[np.float64],
    scale: NDArray[np.float64],
    out: NDArray[np.float64],
    keep_states: bool,
    states: NDArray[np.float64],
) -> None:
    """Per entry, each channel's change from its no-hazard value, from damage-state probabilities.

    ``P[ds ≥ k] = Φ(ln(x / median_k) / beta_k)``; ``P_k = P[ds ≥ k] − P[ds ≥ k+1]`` (clipped
    to [0, 1] as :meth:`FragilityCurves.state_probabilities` does); channel ``ch`` gets
    ``scale[ch, a] × Σ_k P_k × weight_step[ch, c, k]`` with ``weight_step = w_k − w_none``.
    With ``keep_states``, ``states[row, a, :]`` receives the probabilities, ``none`` first.
    """
    n_channels = out.shape[0]
    width = median.shape[1]
    for i in prange(item_row.size):
        r = item_row[i]
        exceed = np.zeros(width + 1)
        prob = np.zeros(width + 1)
        for k in range(item_lo[i], item_hi[i]):
            a = _asset(k, r, indices, n_cols)
            x = data[k]
            c = curve_of_asset[a]
            if not (x > 0.0 and c >= 0):
                for ch in range(n_channels):
                    out[ch, k - p0] = 0.0
                continue
            m = n_states[c]
            for s in range(m):
                z = math.log(x / median[c, s]) / beta[c, s]
                exceed[s] = 0.5 * math.erfc(-z * _SQRT1_2)
            exceed[m] = 0.0
            prob[0] = min(max(1.0 - exceed[0], 0.0), 1.0)
            for s in range(m):
                prob[s + 1] = min(max(exceed[s] - exceed[s + 1], 0.0), 1.0)
            for ch in range(n_channels):
                acc = 0.0
                for s in range(m):
                    acc += prob[s + 1] * weight_step[ch, c, s]
                out[ch, k - p0] = scale[ch, a] * acc
            if keep_states:
                for s in range(m + 1):
                    states[r, a, s] = prob[s]


@njit(cache=True, parallel=True)
def reduce_entries(
    values: NDArray[np.float64],
    indices: NDArray[np.int64],
    n_cols: int,
    item_row: NDArray[np.int64],
    item_lo: NDArray[np.int64],
    item_hi: NDArray[np.int64],
    p0: int,
    frequency: NDArray[np.float64],
    group_code: NDArray[np.int64],
    n_parts: int,
    item_sum: NDArray[np.float64],
    item_group: NDArray[np.float64],
    annual: NDArray[np.float64],
) -> None:
    """Sums of a chunk's entry values (channels × entries).

    Per item, per item and group, and ``annual[ch, a] += frequency[row] × value`` (assets split in
    ``n_parts`` owned ranges).
    """
    n_channels = values.shape[0]
    n_groupings = group_code.shape[0]
    n_assets = annual.shape[1]
    for i in prange(item_row.size):
        r = item_row[i]
        for ch in range(n_channels):
            total = 0.0
            for k in range(item_lo[i], item_hi[i]):
                v = values[ch, k - p0]
                total += v
                if n_groupings > 0 and v != 0.0:
                    a = _asset(k, r, indices, n_cols)
                    for g in range(n_groupings):
                        item_group[i, ch, group_code[g, a]] += v
            item_sum[i, ch] = total
    for part in prange(n_parts):
        a_lo = n_assets * part // n_parts
        a_hi = n_assets * (part + 1) // n_parts
        for i in range(item_row.size):
            r = item_row[i]
            f = frequency[r]
            lo = item_lo[i]
            hi = item_hi[i]
            if n_cols > 0:
                lo = max(lo, r * n_cols + a_lo)
                hi = min(hi, r * n_cols + a_hi)
            for k in range(lo, hi):
                a = _asset(k, r, indices, n_cols)
                if a_lo <= a < a_hi:
                    for ch in range(n_channels):
                        annual[ch, a] += f * values[ch, k - p0]


@njit(cache=True)
def add_items(
    item_row: NDArray[np.int64],
    item_sum: NDArray[np.float64],
    item_group: NDArray[np.float64],
    per_event: NDArray[np.float64],
    group: NDArray[np.float64],
) -> None:
    """Add the items' sums to their events, in item order (``group``: events × ch × groups)."""
    n_channels = item_sum.shape[1]
    n_groups = item_group.shape[2]
    for i in range(item_row.size):
        r = item_row[i]
        for ch in range(n_channels):
            per_event[ch, r] += item_sum[i, ch]
            for g in range(n_groups):
                group[r, ch, g] += item_group[i, ch, g]
