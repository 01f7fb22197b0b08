"""The engine's streaming machinery, shared by damage functions and fragility curves.

Input checks that collect every problem (:func:`raise_if`), group codes, the cutting of the
intensity matrix into chunks of whole rows or row parts (CSR) and tiles (dense), the reusable
per-chunk buffer, the Numba thread count, and :class:`Sums`, which accumulates every channel
per event, per event and group, and per asset per year (optionally keeping the matrices).
See :mod:`resilientcity.impact.engine` for the definitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import Problem, ValidationError
from resilientcity.hazard.events import HazardEvents
from resilientcity.impact import _kernels as kernels
from resilientcity.impact.results import ChannelResult
from resilientcity.vulnerability.curves import DamageFunction, FragilityCurves

#: Rows of a dense tile of the fused damage-function kernel.
TILE_ROWS = 16


# ---------------------------------------------------------------------------------------------
# Validation


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError(problems, what="impact inputs")


def per_asset_problems(
    name: str, values: NDArray[np.float64], events: HazardEvents
) -> list[Problem]:
    """Problems of a per-asset array: its shape, and non-finite or negative values."""
    n = events.n_assets
    if values.shape != (n,):
        return [Problem("impact", name, f"one value per asset ({n})", found=str(values.shape))]
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        return [Problem("impact", name, "a finite value >= 0", tuple(events.asset_ids[bad]))]
    return []


def curve_problems(
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


def check_chunks(chunk_entries: int, chunk_events: int | None, threads: int | None) -> None:
    if chunk_entries < 1:
        raise ValueError(f"chunk_entries: expected a positive number, got {chunk_entries}")
    if chunk_events is not None and chunk_events < 1:
        raise ValueError(f"chunk_events: expected a positive number of events, got {chunk_events}")
    limit = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
    if threads is not None and not 1 <= threads <= limit:
        raise ValueError(f"threads: expected 1 to {limit} (NUMBA_NUM_THREADS), got {threads}")


@dataclass(frozen=True)
class Groups:
    """Groupings of the assets: names, labels, and codes offset into one flat group axis."""

    names: tuple[str, ...]
    labels: tuple[pd.Index, ...]
    codes: NDArray[np.int64]  # groupings × assets
    offsets: tuple[int, ...]

    @property
    def size(self) -> int:
        return self.offsets[-1] if self.offsets else 0


def groups(groups: Mapping[str, ArrayLike] | None, events: HazardEvents) -> Groups:
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
    raise_if(problems)
    stacked = np.vstack(codes) if codes else np.zeros((0, events.n_assets), dtype=np.int64)
    return Groups(tuple(names), tuple(labels), stacked, tuple(offsets))


# ---------------------------------------------------------------------------------------------
# Chunks


@dataclass(frozen=True)
class Chunk:
    """Flat positions ``p0:p1`` of the intensity, cut into items (see ``_kernels``)."""

    p0: int
    p1: int
    item_row: NDArray[np.int64]
    item_lo: NDArray[np.int64]
    item_hi: NDArray[np.int64]
    tile: tuple[int, int, int, int] | None = None  # dense: rows r0:r1 × columns c0:c1


def _dense_chunk(n: int, r0: int, r1: int, c0: int, c1: int) -> Chunk:
    starts = np.arange(c0, c1, kernels.BLOCK, dtype=np.int64)
    rows = np.arange(r0, r1, dtype=np.int64)
    lo = (rows[:, None] * n + starts[None, :]).ravel()
    hi = (rows[:, None] * n + np.minimum(starts + kernels.BLOCK, c1)[None, :]).ravel()
    return Chunk(
        r0 * n + c0, (r1 - 1) * n + c1, np.repeat(rows, starts.size), lo, hi, (r0, r1, c0, c1)
    )


def _dense_chunks(
    n_events: int, n: int, chunk_entries: int, chunk_events: int | None, tiles: bool
) -> Iterator[Chunk]:
    """Chunks of a dense matrix, contiguous in memory unless ``tiles``.

    Contiguous: whole rows (``n <= chunk_entries``) or column ranges of one row. Tiles (for the
    fused kernel, which needs no entry buffer, so ``chunk_entries`` does not apply):
    ``TILE_ROWS`` rows × all columns, so that each asset's curve, value and annual sum are
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
        height = TILE_ROWS
    elif width == n:
        height = max(1, chunk_entries // n)
    if chunk_events is not None:
        height = min(height, chunk_events)
    for r0 in range(0, n_events, height):
        for c0 in range(0, n, width):
            yield _dense_chunk(n, r0, min(r0 + height, n_events), c0, min(c0 + width, n))


def _sparse_chunks(
    indptr: NDArray[np.int64], chunk_entries: int, chunk_events: int | None
) -> Iterator[Chunk]:
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
        yield Chunk(int(lo[s]), int(hi[e - 1]), item_row[s:e], lo[s:e], hi[s:e])


def chunks(
    events: HazardEvents, chunk_entries: int, chunk_events: int | None, tiles: bool = False
) -> Iterator[Chunk]:
    """The chunks of the events' intensities (dense ``tiles`` for the fused kernel only)."""
    if isinstance(events.intensity, np.ndarray):
        n_events, n = events.n_events, events.n_assets
        return _dense_chunks(n_events, n, chunk_entries, chunk_events, tiles)
    indptr = events.intensity.indptr.astype(np.int64)
    return _sparse_chunks(indptr, chunk_entries, chunk_events)


def flat(events: HazardEvents) -> tuple[NDArray[np.float64], NDArray[np.int64], int]:
    """(data, indices, n_cols): the stored values, their columns (sparse), dense row length."""
    if isinstance(events.intensity, np.ndarray):
        return events.intensity.reshape(-1), np.zeros(0, dtype=np.int64), events.n_assets
    return events.intensity.data, events.intensity.indices, 0


def entry_assets(events: HazardEvents, chunk: Chunk) -> NDArray[np.int64]:
    """Asset (column) of every entry of a chunk."""
    if isinstance(events.intensity, np.ndarray):
        return np.arange(chunk.p0, chunk.p1, dtype=np.int64) % max(events.n_assets, 1)
    return events.intensity.indices[chunk.p0 : chunk.p1].astype(np.int64)


class Buffer:
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
def threads(threads: int | None) -> Iterator[None]:
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


class Sums:
    """Per-event, per-group, per-asset sums of ``n`` channels, and optionally their matrices."""

    def __init__(
        self, events: HazardEvents, names: Sequence[str], groups: Groups, keep_matrix: bool
    ) -> None:
        self.events = events
        self.names = tuple(names)
        self.groups = groups
        c = len(self.names)
        self.per_event = np.zeros((c, events.n_events))
        self.group = np.zeros((events.n_events, c, groups.size))
        self.annual = np.zeros((c, events.n_assets))
        self.parts: list[list[_Kept]] | None = [[] for _ in self.names] if keep_matrix else None

    def item_arrays(self, chunk: Chunk) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        c = len(self.names)
        n = chunk.item_row.size
        return np.zeros((n, c)), np.zeros((n, c, self.groups.size))

    def add_items(
        self, chunk: Chunk, item_sum: NDArray[np.float64], item_group: NDArray[np.float64]
    ) -> None:
        kernels.add_items(chunk.item_row, item_sum, item_group, self.per_event, self.group)

    def add_values(self, chunk: Chunk, values: NDArray[np.float64]) -> None:
        """Reduce a chunk's ``channels × entries`` values into the sums (and keep them)."""
        _, indices, n_cols = flat(self.events)
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
            cols = entry_assets(self.events, chunk)
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
