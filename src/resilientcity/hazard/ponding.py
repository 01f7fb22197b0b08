"""Ponding of rainfall excess on a DEM: priority-flood depression filling, fill and spill.

A screening model, not a hydrodynamic one: :func:`ponding_depth` takes the rainfall excess on
every cell (:func:`resilientcity.hazard.rainstorm.rainfall_excess_mm`) and returns the depth of
the pools it forms at the end of the storm. Every assumption it makes:

* **Routing**: the excess moves over the ground, without delay, along the steepest descent of
  the DEM (D8, eight neighbours, slope = drop / distance) until it reaches a local low point.
  Outlets, where water leaves the model, are the cells on the edge of the grid, cells with no
  data and the river channels (:func:`resilientcity.hazard.flood.channel_mask`); excess falling
  on them, or reaching them, is lost.
* **Depressions** are found by *priority-flood* depression filling (Barnes, Lehman & Mulla 2014,
  Computers & Geosciences 62:117-127) from the outlets, eight-connected: a depression is a set of
  eight-connected cells whose filled level ``L`` (the level of its spill point) is above their
  ground. Water reaching a low point on a flat that is not in a depression flows away.
* **Filling**: each depression's water is one pool with a horizontal surface, filled from the
  bottom up: its level ``h`` solves ``Σ cell_area × max(h − z, 0) = V`` over the depression's
  cells, up to its capacity (``h = L``). Nested sub-depressions therefore share one level (a
  depression only partly filled spreads its water over all its sub-basins below ``h``).
* **Spilling**: water beyond a depression's capacity flows over its spill point along the
  priority-flood path to the outlet and fills the first depression on that path (depressions are
  processed from upstream to downstream); what passes no depression leaves at an outlet.
* **Static peak**: the result is the ponding at the end of the storm with no drainage of the
  pools afterwards; time, flow velocity and flooding from the river are not modelled
  (:mod:`resilientcity.hazard.flood` does the river).

The priority-flood is written here in Numba (a dependency of the project) because neither SciPy
nor NumPy offers depression filling, and a heap-based queue over all cells is too slow in Python.
"""

from __future__ import annotations

import heapq
import math
from functools import partial
from typing import Any

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from resilientcity.errors import fail
from resilientcity.twin.dem import DEM

__all__ = ["fill_depressions", "ponding_depth", "pool_levels"]

_MODEL = "ponding"

#: The eight neighbours of a cell as (row step, column step).
_STEPS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


_fail = partial(fail, _MODEL, what="ponding input")


@numba.njit(cache=True)
def _priority_flood(
    ground: NDArray[np.float64], outlet: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:  # pragma: no cover - jit
    """Filled levels, the cell each cell was flooded from (−1: an outlet) and the visit order."""
    rows, cols = ground.shape
    filled = ground.copy()
    parent = np.full(rows * cols, -1, dtype=np.int64)
    order = np.full(rows * cols, -1, dtype=np.int64)
    heap = [(0.0, np.int64(0), np.int64(0))]
    heap.pop()
    seen = 0
    for r in range(rows):
        for c in range(cols):
            if outlet[r, c]:
                k = r * cols + c
                order[k] = seen
                heapq.heappush(heap, (filled[r, c], np.int64(seen), np.int64(k)))
                seen += 1
    while heap:
        level, _, k = heapq.heappop(heap)
        r, c = k // cols, k % cols
        for dr in range(-1, 2):
            for dc in range(-1, 2):
                nr, nc = r + dr, c + dc
                if (dr == 0 and dc == 0) or nr < 0 or nr >= rows or nc < 0 or nc >= cols:
                    continue
                j = nr * cols + nc
                if order[j] >= 0:
                    continue
                order[j] = seen
                parent[j] = k
                filled[nr, nc] = max(ground[nr, nc], level)
                heapq.heappush(heap, (filled[nr, nc], np.int64(seen), np.int64(j)))
                seen += 1
    return filled, parent, order


def _outlets(ground: NDArray[np.float64], channels: NDArray[np.bool_] | None) -> NDArray[np.bool_]:
    """Edge cells, no-data cells and channel cells."""
    outlet = ~np.isfinite(ground)
    outlet[[0, -1], :] = True
    outlet[:, [0, -1]] = True
    if channels is not None:
        outlet |= channels
    return outlet


def _ground_and_outlets(
    ground: ArrayLike, channels: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    z = np.asarray(ground, dtype=np.float64)
    if z.ndim != 2 or min(z.shape) < 1:
        _fail("ground", "a non-empty 2-D elevation grid (m)", found=f"shape {z.shape}")
    mask = None
    if channels is not None:
        mask = np.asarray(channels, dtype=bool)
        if mask.shape != z.shape:
            _fail("channels", f"a mask of the ground's shape {z.shape}", found=str(mask.shape))
    outlet = _outlets(z, mask)
    return np.where(outlet & ~np.isfinite(z), -np.inf, z), outlet


def fill_depressions(ground: ArrayLike, channels: ArrayLike | None = None) -> NDArray[np.float64]:
    """Depression-filled ground: the level water rises to in every cell before it spills.

    Priority-flood (Barnes, Lehman & Mulla 2014), eight-connected, from the outlets: the edge of
    the grid, no-data cells and ``channels``. Outlets keep their ground (no-data stays ``NaN``).

    Parameters
    ----------
    ground
        2-D ground elevation (m); ``NaN`` marks no data.
    channels
        Optional boolean mask, the ground's shape: river channel cells (outlets).

    Returns
    -------
    numpy.ndarray of float64
        Filled levels (m), >= ground; ``filled − ground`` is the depth of a full depression.
    """
    z, outlet = _ground_and_outlets(ground, channels)
    filled = _priority_flood(z, outlet)[0]
    return np.where(np.isneginf(z), np.nan, filled)


def _receivers(z: NDArray[np.float64], outlet: NDArray[np.bool_]) -> NDArray[np.int64]:
    """D8 steepest-descent receiver of every cell (flat index).

    Itself at a low point, ``size`` for an outlet (the sink).
    """
    rows, cols = z.shape
    padded = np.pad(z, 1, constant_values=np.inf)
    best = np.zeros(z.shape)
    receiver = np.arange(z.size, dtype=np.int64).reshape(z.shape)
    index = np.pad(receiver, 1, constant_values=-1)
    for dr, dc in _STEPS:
        neighbour = padded[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols]
        with np.errstate(invalid="ignore"):
            slope = (z - neighbour) / math.hypot(dr, dc)
        steeper = slope > best
        best = np.where(steeper, slope, best)
        receiver = np.where(
            steeper, index[1 + dr : 1 + dr + rows, 1 + dc : 1 + dc + cols], receiver
        )
    receiver[outlet] = z.size
    return receiver.ravel()


def _terminal(pointer: NDArray[np.int64]) -> NDArray[np.int64]:
    """Follow ``pointer`` to its fixed point from every index (pointer jumping, log steps)."""
    out = pointer.copy()
    while True:
        nxt = out[out]
        if np.array_equal(nxt, out):
            return out
        out = nxt


def pool_levels(
    z: NDArray[np.float64],
    labels: NDArray[np.int64],
    volume_m3: NDArray[np.float64],
    cell_m2: float,
) -> NDArray[np.float64]:
    """Water level of each depression (index = label) holding ``volume_m3``, filled bottom-up.

    The level ``h`` of depression ``d`` solves ``cell_m2 × Σ max(h − z_i, 0) = V_d``: with its
    cells sorted by ground ``z_1 <= … <= z_m`` and ``S_k = z_1 + … + z_k``, filling to ``z_k``
    takes ``cell_m2 × (k·z_k − S_k)``; for the last ``k`` where that is <= ``V_d``,
    ``h = (V_d / cell_m2 + S_k) / k``.
    """
    cells = np.flatnonzero(labels.ravel())
    lab = labels.ravel()[cells]
    ground = z.ravel()[cells]
    order = np.lexsort((ground, lab))
    lab, ground = lab[order], ground[order]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    sizes = np.diff(np.r_[starts, lab.size])
    rank = np.arange(lab.size) - np.repeat(starts, sizes) + 1
    bottom = np.repeat(ground[starts], sizes)
    height = ground - bottom  # above the depression's lowest cell: each group starts at 0
    running = np.cumsum(height)
    prefix = running - np.repeat(np.r_[0.0, running[starts[1:] - 1]], sizes)
    needed = cell_m2 * (rank * height - prefix)
    fits = needed <= volume_m3[lab] * (1 + 1e-12)
    fits[starts] = True  # the lowest cell always takes the water (guards against rounding)
    k = np.bincount(lab, weights=fits, minlength=volume_m3.size).astype(np.int64)
    ids = lab[starts]
    last = starts + k[ids] - 1
    levels = np.full(volume_m3.size, -np.inf)
    levels[ids] = ground[starts] + (volume_m3[ids] / cell_m2 + prefix[last]) / k[ids]
    return levels


def _cascade(
    inflow: NDArray[np.float64],
    capacity: NDArray[np.float64],
    downstream: NDArray[np.int64],
    upstream_first: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Volume held by each depression after the overflow of full ones spills downstream."""
    total = inflow.copy()
    for d in upstream_first:
        spill = total[d] - capacity[d]
        if spill > 0:
            total[d] = capacity[d]
            total[downstream[d]] += spill
    total[0] = 0.0
    return total


def ponding_depth(
    dem: DEM, excess_mm: float | ArrayLike, channels: ArrayLike | None = None
) -> NDArray[np.float32]:
    """Ponding depth (m) on every DEM cell for a rainfall excess (fill-and-spill, see module).

    Parameters
    ----------
    dem
        Ground elevation grid; ``NaN`` cells are outlets.
    excess_mm
        Rainfall excess (mm, >= 0) on every cell: one number or a grid of the DEM's shape
        (:func:`rainfall_excess_mm`).
    channels
        Optional boolean mask of river channel cells (outlets), e.g.
        :func:`resilientcity.hazard.flood.channel_mask`.

    Returns
    -------
    numpy.ndarray of float32
        ``rows × cols`` ponding depth (m), 0 outside the filled part of depressions, never NaN.

    Raises
    ------
    ValidationError
        An excess that is negative or not finite, or of another shape than the DEM.
    """
    excess = np.broadcast_to(np.asarray(excess_mm, dtype=np.float64), dem.shape)
    if not (np.isfinite(excess).all() and (excess >= 0).all()):
        _fail("excess_mm", "a finite rainfall excess >= 0 (mm) on every cell")
    z, outlet = _ground_and_outlets(dem.elevation_m, channels)
    filled, parent, order = _priority_flood(z, outlet)
    labels, n = ndimage.label(filled > z, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return np.zeros(dem.shape, dtype=np.float32)
    flat_labels = np.r_[labels.ravel(), 0]  # the sink (index z.size) is in no depression
    cell_m2 = dem.resolution_m[0] * dem.resolution_m[1]
    drains_to = _terminal(np.r_[_receivers(z, outlet), z.size])[:-1]
    inflow = np.bincount(
        flat_labels[drains_to], weights=(excess * cell_m2 / 1000.0).ravel(), minlength=n + 1
    ).astype(np.float64)
    pool_z = np.where(labels > 0, z, 0.0)
    capacity = np.bincount(
        labels.ravel(), weights=(filled - pool_z).ravel() * cell_m2, minlength=n + 1
    ).astype(np.float64)
    downstream, upstream_first = _spill_paths(labels.ravel(), parent, order, n)
    held = _cascade(inflow, capacity, downstream, upstream_first)
    levels = np.minimum(pool_levels(z, labels, held, cell_m2), _max_by_label(filled, labels, n))
    depth = np.where(labels > 0, np.maximum(levels[labels] - z, 0.0), 0.0)
    return depth.astype(np.float32)


def _max_by_label(values: NDArray[np.float64], labels: NDArray[Any], n: int) -> NDArray[Any]:
    out = np.full(n + 1, -np.inf)
    np.maximum.at(out, labels.ravel(), values.ravel())
    return out


def _spill_paths(
    labels: NDArray[Any], parent: NDArray[np.int64], order: NDArray[np.int64], n: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Where each depression spills (label, 0 = an outlet) and the depressions upstream-first.

    A depression's first flooded cell was reached from its spill point; following the
    priority-flood parents from there leads down to an outlet, through the depression the
    overflow falls into first. Depressions reached later by the flood lie upstream.
    """
    in_pool = labels > 0
    first = np.full(n + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, labels[in_pool], order[in_pool])
    cell_of_order = np.empty_like(order)
    cell_of_order[order] = np.arange(order.size)
    entry = cell_of_order[first[1:]]
    size = labels.size
    step = np.where(in_pool | (parent < 0), np.arange(size), parent)
    stop = _terminal(np.r_[step, size])[:-1]
    spill_point = parent[entry]
    downstream = np.r_[0, labels[stop[spill_point]]].astype(np.int64)
    upstream_first = (np.argsort(-first[1:], kind="stable") + 1).astype(np.int64)
    return downstream, upstream_first
