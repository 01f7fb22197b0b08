"""The impact engine: hazard intensity → damage → loss and other consequences, chunked.

Damage functions (:func:`damage_function_impact`): for every event ``e`` and asset ``a`` with
intensity ``x[e, a] > 0``

    loss[e, a] = value[a] × MDD_c(x[e, a]) × PAA_c(x[e, a]),

with ``c`` the asset's curve (CLIMADA's definition of impact). Fragility curves
(:func:`resilientcity.impact.fragility.fragility_impact`, which shares this module's chunks,
buffers and sums): per entry the damage-state probabilities ``P_k`` (lognormal CDF
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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import Problem, ValidationError
from resilientcity.hazard.events import HazardEvents
from resilientcity.impact import _kernels as kernels
from resilientcity.vulnerability.curves import DamageFunction, FragilityCurves

__all__ = [
    "CHUNK_ENTRIES",
    "ChannelResult",
    "ExtraChannel",
    "ImpactResult",
    "damage_function_impact",
    "damage_ratio",
    "exceedance_curve",
]

#: Stored intensities per chunk (about 8 MB of float64 per channel buffer).
CHUNK_ENTRIES = 1 << 20
#: Rows of a dense tile of the fused damage-function kernel.
_TILE_ROWS = 16
#: Cells of the segment-lookup grid of a damage function, at most.
_GRID_CELLS = 4096

#: An extra channel of the damage-function path: a scale per asset and a rate function of the
#: intensities and asset indices of the entries with hazard.
ExtraChannel = tuple[
    ArrayLike, Callable[[NDArray[np.float64], NDArray[np.int64]], NDArray[np.float64]]
]


@dataclass(frozen=True, eq=False)
class ChannelResult:
    """One consequence (loss, casualties …) of an event set.

    Attributes
    ----------
    per_event
        Sum over the assets for each event (events,).
    annual
        Per asset, ``Σ_e frequency[e] × value[e, a]`` (assets,): the expected annual value
        (for the loss, the expected annual impact in CNY per year).
    group
        Per grouping name, an ``events × groups`` DataFrame of sums (index ``event_id``,
        columns the sorted group labels).
    matrix
        ``events × assets`` CSR of ``value − baseline`` on the cells with hazard, when asked for.
    baseline
        The value of each asset where there is no hazard, when it is not 0 (fragility channels
        whose ``none`` state has a non-zero weight, e.g. a functionality channel); every cell is
        ``baseline[a] + matrix[e, a]``.
    """

    per_event: NDArray[np.float64]
    annual: NDArray[np.float64]
    group: dict[str, pd.DataFrame] = field(default_factory=dict)
    matrix: sp.csr_array | None = None
    baseline: NDArray[np.float64] | None = None

    @property
    def total_annual(self) -> float:
        """``Σ_a annual[a]`` (for the loss, the average annual impact)."""
        return float(self.annual.sum())


@dataclass(frozen=True, eq=False)
class ImpactResult:
    """Consequences of an event set, one :class:`ChannelResult` per channel.

    Attributes
    ----------
    event_ids, frequency
        As in the hazard events.
    asset_ids
        The assets, in the order of the per-asset arrays.
    channels
        Channel name → result; ``loss`` (CNY) is always there for damage functions.
    states
        With ``keep_states`` (fragility): ``events × assets × (1 + states)`` damage-state
        probabilities, ``none`` first (padded with 0 for curves with fewer states).
    """

    event_ids: NDArray[np.str_]
    frequency: NDArray[np.float64]
    asset_ids: NDArray[np.str_]
    channels: dict[str, ChannelResult]
    states: NDArray[np.float64] | None = None

    @property
    def loss(self) -> ChannelResult:
        """The ``loss`` channel (CNY)."""
        if "loss" not in self.channels:
            raise KeyError(f"no 'loss' channel in this result (channels: {list(self.channels)})")
        return self.channels["loss"]

    @property
    def loss_per_event(self) -> NDArray[np.float64]:
        """Total loss of each event, CNY."""
        return self.loss.per_event

    @property
    def eai(self) -> NDArray[np.float64]:
        """Expected annual impact (loss) of each asset, CNY per year."""
        return self.loss.annual

    @property
    def group_loss(self) -> dict[str, pd.DataFrame]:
        """Per grouping name, the ``events × groups`` losses (CNY)."""
        return self.loss.group

    @property
    def matrix(self) -> sp.csr_array | None:
        """The ``events × assets`` loss matrix (CSR, CNY), when asked for."""
        return self.loss.matrix

    @property
    def aai(self) -> float:
        """Average annual impact (expected annual loss) of all assets, CNY per year."""
        return self.loss.total_annual


# ---------------------------------------------------------------------------------------------
# Validation


def _fail(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError(problems, what="impact inputs")


def _per_asset(name: str, values: NDArray[np.float64], events: HazardEvents) -> list[Problem]:
    """Problems of a per-asset array: its shape, and non-finite or negative values."""
    n = events.n_assets
    if values.shape != (n,):
        return [Problem("impact", name, f"one value per asset ({n})", found=str(values.shape))]
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        return [Problem("impact", name, "a finite value >= 0", tuple(events.asset_ids[bad]))]
    return []


def _curve_problems(
    events: HazardEvents,
    curve_index: NDArray[np.int64],
    curves: Sequence[DamageFunction | FragilityCurves | None],
    kind: type,
) -> list[Problem]:
    problems: list[Problem] = []
    n = events.n_assets
    if curve_index.shape != (n,):
        problems.append(
            Problem(
                "impact",
                "curve_index",
                f"one curve index per asset ({n})",
                found=str(curve_index.shape),
            )
        )
    elif len(curve_index) and ((curve_index < 0) | (curve_index >= len(curves))).any():
        bad = (curve_index < 0) | (curve_index >= len(curves))
        problems.append(
            Problem(
                "impact",
                "curve_index",
                f"an index into the {len(curves)} curves",
                tuple(events.asset_ids[bad]),
            )
        )
    wrong_type = [i for i, c in enumerate(curves) if c is not None and not isinstance(c, kind)]
    if wrong_type:
        problems.append(
            Problem(
                "impact",
                "curves",
                f"{kind.__name__} or None",
                tuple(f"curve {i}" for i in wrong_type),
            )
        )
    wrong = [c.curve_id for c in curves if c is not None and c.hazard != events.kind]
    if wrong:
        problems.append(Problem("impact", "curves", f"{events.kind} curves", tuple(wrong)))
    return problems


def _check_chunks(chunk_entries: int, chunk_events: int | None, threads: int | None) -> None:
    if chunk_entries < 1:
        raise ValueError(f"chunk_entries: expected a positive number, got {chunk_entries}")
    if chunk_events is not None and chunk_events < 1:
        raise ValueError(f"chunk_events: expected a positive number of events, got {chunk_events}")
    limit = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    if threads is not None and not 1 <= threads <= limit:
        raise ValueError(f"threads: expected 1 to {limit} (NUMBA_NUM_THREADS), got {threads}")


@dataclass(frozen=True)
class _Groups:
    """Groupings of the assets: names, labels, and codes offset into one flat group axis."""

    names: tuple[str, ...]
    labels: tuple[pd.Index, ...]
    codes: NDArray[np.int64]  # groupings × assets
    offsets: tuple[int, ...]

    @property
    def size(self) -> int:
        return self.offsets[-1] if self.offsets else 0


def _groups(groups: Mapping[str, ArrayLike] | None, events: HazardEvents) -> _Groups:
    names, labels, codes, offsets = [], [], [], [0]
    problems: list[Problem] = []
    for name, values in (groups or {}).items():
        series = pd.Series(values).reset_index(drop=True)
        if len(series) != events.n_assets:
            problems.append(
                Problem(
                    "impact",
                    f"groups.{name}",
                    f"one label per asset ({events.n_assets})",
                    found=str(len(series)),
                )
            )
            continue
        code, uniques = pd.factorize(series.to_numpy(), sort=True)
        if (code < 0).any():
            problems.append(
                Problem(
                    "impact",
                    f"groups.{name}",
                    "a label for every asset",
                    tuple(events.asset_ids[code < 0]),
                    "missing labels",
                )
            )
            continue
        names.append(name)
        labels.append(pd.Index(uniques, name=name))
        codes.append(code.astype(np.int64) + offsets[-1])
        offsets.append(offsets[-1] + len(uniques))
    _fail(problems)
    stacked = np.vstack(codes) if codes else np.zeros((0, events.n_assets), dtype=np.int64)
    return _Groups(tuple(names), tuple(labels), stacked, tuple(offsets))


# ---------------------------------------------------------------------------------------------
# Chunks


@dataclass(frozen=True)
class _Chunk:
    """Flat positions ``p0:p1`` of the intensity, cut into items (see ``_kernels``)."""

    p0: int
    p1: int
    item_row: NDArray[np.int64]
    item_lo: NDArray[np.int64]
    item_hi: NDArray[np.int64]
    tile: tuple[int, int, int, int] | None = None  # dense: rows r0:r1 × columns c0:c1


def _dense_chunk(n: int, r0: int, r1: int, c0: int, c1: int) -> _Chunk:
    starts = np.arange(c0, c1, kernels.BLOCK, dtype=np.int64)
    rows = np.arange(r0, r1, dtype=np.int64)
    lo = (rows[:, None] * n + starts[None, :]).ravel()
    hi = (rows[:, None] * n + np.minimum(starts + kernels.BLOCK, c1)[None, :]).ravel()
    return _Chunk(
        r0 * n + c0, (r1 - 1) * n + c1, np.repeat(rows, starts.size), lo, hi, (r0, r1, c0, c1)
    )


def _dense_chunks(
    n_events: int, n: int, chunk_entries: int, chunk_events: int | None, tiles: bool
) -> Iterator[_Chunk]:
    """Chunks of a dense matrix, contiguous in memory unless ``tiles``.

    Contiguous: whole rows (``n <= chunk_entries``) or column ranges of one row. Tiles (for the
    fused kernel, which needs no entry buffer, so ``chunk_entries`` does not apply):
    ``_TILE_ROWS`` rows × all columns, so that each asset's curve, value and annual sum are
    reused from cache over the rows, and the threads share many column blocks.
    """
    if n == 0:
        return
    width = n
    if not tiles and n > chunk_entries:
        width = max(kernels.BLOCK, chunk_entries // kernels.BLOCK * kernels.BLOCK)
    width = min(width, n)
    height = 1
    if tiles:
        height = _TILE_ROWS
    elif width == n:
        height = max(1, chunk_entries // n)
    if chunk_events is not None:
        height = min(height, chunk_events)
    for r0 in range(0, n_events, height):
        for c0 in range(0, n, width):
            yield _dense_chunk(n, r0, min(r0 + height, n_events), c0, min(c0 + width, n))


def _sparse_chunks(
    indptr: NDArray[np.int64], chunk_entries: int, chunk_events: int | None
) -> Iterator[_Chunk]:
    """Items of at most BLOCK entries per row; chunks of whole items, about chunk_entries each."""
    lengths = np.diff(indptr)
    per_row = -(-lengths // kernels.BLOCK)
    item_row = np.repeat(np.arange(lengths.size, dtype=np.int64), per_row)
    if item_row.size == 0:
        return
    first = np.repeat(np.cumsum(per_row) - per_row, per_row)
    lo = indptr[item_row] + (np.arange(item_row.size) - first) * kernels.BLOCK
    hi = np.minimum(lo + kernels.BLOCK, indptr[item_row + 1])
    key = lo // chunk_entries
    if chunk_events is not None:
        key = key + (item_row // chunk_events) * (int(indptr[-1]) // chunk_entries + 1)
    cuts = np.flatnonzero(np.diff(key)) + 1
    for s, e in zip(np.r_[0, cuts], np.r_[cuts, item_row.size], strict=True):
        yield _Chunk(int(lo[s]), int(hi[e - 1]), item_row[s:e], lo[s:e], hi[s:e])


def _chunks(
    events: HazardEvents, chunk_entries: int, chunk_events: int | None, tiles: bool = False
) -> Iterator[_Chunk]:
    """The chunks of the events' intensities (dense ``tiles`` for the fused kernel only)."""
    if isinstance(events.intensity, np.ndarray):
        n_events, n = events.n_events, events.n_assets
        return _dense_chunks(n_events, n, chunk_entries, chunk_events, tiles)
    indptr = events.intensity.indptr.astype(np.int64)
    return _sparse_chunks(indptr, chunk_entries, chunk_events)


def _flat(events: HazardEvents) -> tuple[NDArray[np.float64], NDArray[np.int64], int]:
    """(data, indices, n_cols): the stored values, their columns (sparse), dense row length."""
    if isinstance(events.intensity, np.ndarray):
        return events.intensity.reshape(-1), np.zeros(0, dtype=np.int64), events.n_assets
    return events.intensity.data, events.intensity.indices, 0


def _entry_assets(events: HazardEvents, chunk: _Chunk) -> NDArray[np.int64]:
    """Asset (column) of every entry of a chunk."""
    if isinstance(events.intensity, np.ndarray):
        return np.arange(chunk.p0, chunk.p1, dtype=np.int64) % max(events.n_assets, 1)
    return events.intensity.indices[chunk.p0 : chunk.p1].astype(np.int64)


class _Buffer:
    """A reusable ``channels × entries`` float64 buffer that grows to the largest chunk."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self.flat = np.empty(0)

    def get(self, entries: int) -> NDArray[np.float64]:
        size = self.channels * entries
        if self.flat.size < size:
            self.flat = np.empty(size)
        return self.flat[:size].reshape(self.channels, entries)


@contextmanager
def _threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` Numba threads (all when None), restoring the setting after."""
    before = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# Accumulating channel sums


_Kept = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]


class _Sums:
    """Per-event, per-group, per-asset sums of ``n`` channels, and optionally their matrices."""

    def __init__(
        self, events: HazardEvents, names: Sequence[str], groups: _Groups, keep_matrix: bool
    ) -> None:
        self.events = events
        self.names = tuple(names)
        self.groups = groups
        c = len(self.names)
        self.per_event = np.zeros((c, events.n_events))
        self.group = np.zeros((events.n_events, c, groups.size))
        self.annual = np.zeros((c, events.n_assets))
        self.parts: list[list[_Kept]] | None = [[] for _ in self.names] if keep_matrix else None

    def item_arrays(self, chunk: _Chunk) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        c = len(self.names)
        n = chunk.item_row.size
        return np.zeros((n, c)), np.zeros((n, c, self.groups.size))

    def add_items(
        self, chunk: _Chunk, item_sum: NDArray[np.float64], item_group: NDArray[np.float64]
    ) -> None:
        kernels.add_items(chunk.item_row, item_sum, item_group, self.per_event, self.group)

    def add_values(self, chunk: _Chunk, values: NDArray[np.float64]) -> None:
        """Reduce a chunk's ``channels × entries`` values into the sums (and keep them)."""
        _, indices, n_cols = _flat(self.events)
        item_sum, item_group = self.item_arrays(chunk)
        kernels.reduce_entries(
            values,
            indices,
            n_cols,
            chunk.item_row,
            chunk.item_lo,
            chunk.item_hi,
            chunk.p0,
            self.events.frequency,
            self.groups.codes,
            numba.get_num_threads(),
            item_sum,
            item_group,
            self.annual,
        )
        self.add_items(chunk, item_sum, item_group)
        if self.parts is not None:
            rows = np.repeat(chunk.item_row, chunk.item_hi - chunk.item_lo)
            cols = _entry_assets(self.events, chunk)
            for ch, kept in enumerate(self.parts):
                nonzero = values[ch] != 0
                kept.append((rows[nonzero], cols[nonzero], values[ch][nonzero]))

    def add_baseline(self, baseline: NDArray[np.float64]) -> None:
        """Add each channel's no-hazard value per asset (``channels × assets``) to every event."""
        total_frequency = float(self.events.frequency.sum())
        for ch in range(len(self.names)):
            self.per_event[ch] += baseline[ch].sum()
            self.annual[ch] += total_frequency * baseline[ch]
            for codes in self.groups.codes:
                sums = np.bincount(codes, weights=baseline[ch], minlength=self.groups.size)
                self.group[:, ch, :] += sums[None, :]

    def _matrix(self, ch: int) -> sp.csr_array | None:
        if self.parts is None:
            return None
        shape = (self.events.n_events, self.events.n_assets)
        kept = self.parts[ch]
        rows = np.concatenate([k[0] for k in kept]) if kept else np.zeros(0, dtype=np.int64)
        cols = np.concatenate([k[1] for k in kept]) if kept else np.zeros(0, dtype=np.int64)
        vals = np.concatenate([k[2] for k in kept]) if kept else np.zeros(0)
        indptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
        return sp.csr_array((vals, cols, indptr), shape=shape)

    def results(self, baseline: NDArray[np.float64] | None = None) -> dict[str, ChannelResult]:
        index = pd.Index(self.events.event_ids, name="event_id")
        out: dict[str, ChannelResult] = {}
        for ch, name in enumerate(self.names):
            group = {
                g: pd.DataFrame(
                    self.group[:, ch, self.groups.offsets[i] : self.groups.offsets[i + 1]],
                    index=index,
                    columns=self.groups.labels[i],
                )
                for i, g in enumerate(self.groups.names)
            }
            base = None
            if baseline is not None and baseline[ch].any():
                base = baseline[ch]
            out[name] = ChannelResult(
                self.per_event[ch], self.annual[ch], group, self._matrix(ch), base
            )
        return out


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
        problems += _per_asset(f"extra_channels.{name}", scale, events)
        scales[name] = scale
    _fail(problems)
    return scales


def _extra_values(
    events: HazardEvents,
    chunk: _Chunk,
    extra: Mapping[str, ExtraChannel],
    scales: Mapping[str, NDArray[np.float64]],
    out: NDArray[np.float64],
) -> None:
    """Each extra channel's ``scale[a] × rate(x, a)`` on the chunk's entries with hazard."""
    data, _, _ = _flat(events)
    x = data[chunk.p0 : chunk.p1]
    hit = x > 0
    assets = _entry_assets(events, chunk)[hit]
    xs = x[hit]
    for row, (name, (_, rate)) in enumerate(extra.items()):
        values = np.asarray(rate(xs, assets), dtype=np.float64)
        if values.shape != xs.shape or not np.isfinite(values).all():
            _fail(
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
        Value exposed of each asset (CNY), in the events' asset order.
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
        Channel ``loss`` (CNY) and the extra channels.
    """
    values = np.asarray(value, dtype=np.float64)
    index = np.asarray(curve_index, dtype=np.int64)
    _fail(
        _per_asset("value", values, events) + _curve_problems(events, index, curves, DamageFunction)
    )
    _check_chunks(chunk_entries, chunk_events, threads)
    extra = dict(extra_channels or {})
    scales = _extra_arrays(extra, events)
    group_codes = _groups(groups, events)
    tables, n_cells = _curve_tables(curves)
    cell_base = index * n_cells
    sums = _Sums(events, ["loss", *extra], group_codes, keep_matrix)
    fused = isinstance(events.intensity, np.ndarray) and not extra and not keep_matrix
    buffers = _Buffer(1 + len(extra))
    data, indices, n_cols = _flat(events)
    with _threads(threads):
        for chunk in _chunks(events, chunk_entries, chunk_events, tiles=fused):
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
