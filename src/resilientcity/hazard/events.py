"""A set of hazard events and their intensity at every asset of a city.

The intensity is an ``events × assets`` matrix, either sparse (SciPy CSR, entries not stored are
0) or dense (a C-contiguous float64 NumPy array, kept without a copy: 10⁸ intensities take
800 MB dense against 1.2 GB as CSR with 32-bit indices). Engines stream it in blocks of rows
with :meth:`HazardEvents.rows`; validation also runs block by block, so it never builds a
temporary of the matrix's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import Problem, ValidationError
from resilientcity.vocabulary import HazardKind

__all__ = ["HAZARD_UNITS", "HazardEvents", "Intensity"]

#: An ``events × assets`` intensity matrix: CSR, or a dense C-contiguous float64 array.
Intensity: TypeAlias = "sp.csr_array | NDArray[np.float64]"

#: The intensity measure and unit of each hazard kind.
HAZARD_UNITS: dict[str, tuple[str, str]] = {
    "river_flood": ("flood depth", "m"),
    "pluvial_flood": ("ponding depth", "m"),
    "earthquake": ("peak ground acceleration", "g"),
    "wind": ("maximum sustained wind", "m/s"),
}

#: Entries checked at a time when validating intensities (bounds the temporaries to ~1 MB).
_CHECK_ENTRIES = 1 << 17
#: Bad cells named in a problem; the problem's ``found`` gives the full count.
_CELLS_NAMED = 20


def _as_intensity(matrix: object) -> Intensity:
    """Dense arrays stay dense (float64, C order; no copy when they already are); others CSR."""
    if isinstance(matrix, np.ndarray):
        return np.ascontiguousarray(matrix, dtype=np.float64)
    return sp.csr_array(matrix, dtype=np.float64)


def _bad_positions(values: NDArray[np.float64], limit: int) -> tuple[NDArray[np.int64], int]:
    """Positions (first ``limit``) and count of the values that are NaN, infinite or < 0."""
    found: list[NDArray[np.int64]] = []
    count = 0
    kept = 0
    for start in range(0, values.size, _CHECK_ENTRIES):
        block = values[start : start + _CHECK_ENTRIES]
        bad = ~((block >= 0.0) & (block < np.inf))
        n_bad = int(np.count_nonzero(bad))
        if n_bad == 0:
            continue
        count += n_bad
        if kept < limit:
            where = np.flatnonzero(bad)[: limit - kept] + start
            found.append(where.astype(np.int64))
            kept += where.size
    positions = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    return positions, count


@dataclass(frozen=True, eq=False)
class HazardEvents:
    """Events of one hazard kind with their annual frequency and intensity at every asset.

    Parameters
    ----------
    kind
        Hazard kind (``HAZARD_UNITS`` gives its intensity measure and unit).
    event_ids
        One id per event (unique strings).
    frequency
        Annual frequency of each event (events per year, finite and >= 0). A scenario event
        that is not part of a probabilistic set has frequency 0.
    intensity
        ``events × assets`` intensities in ``unit``: a sparse matrix (kept as CSR; entries not
        stored are 0, no hazard) or a dense 2-D array (kept as a C-contiguous float64 array,
        without a copy when it already is one). Values must be finite and >= 0; 0 means no
        hazard.
    asset_ids
        The asset each column belongs to (``assets.asset_id``, same order as the city).
    """

    kind: HazardKind
    event_ids: NDArray[np.str_]
    frequency: NDArray[np.float64]
    intensity: Intensity
    asset_ids: NDArray[np.str_]

    def __post_init__(self) -> None:
        if self.kind not in HAZARD_UNITS:
            raise ValidationError(
                [
                    Problem(
                        "hazard", "kind", f"one of {', '.join(HAZARD_UNITS)}", found=repr(self.kind)
                    )
                ],
                what="hazard events",
            )
        object.__setattr__(self, "event_ids", np.asarray(self.event_ids, dtype=str))
        object.__setattr__(self, "asset_ids", np.asarray(self.asset_ids, dtype=str))
        object.__setattr__(self, "frequency", np.asarray(self.frequency, dtype=np.float64))
        object.__setattr__(self, "intensity", _as_intensity(self.intensity))
        problems = self.problems()
        if problems:
            raise ValidationError(problems, what=f"{self.kind} events")

    @property
    def unit(self) -> str:
        """Unit of the intensities."""
        return HAZARD_UNITS[self.kind][1]

    @property
    def n_events(self) -> int:
        """Number of events."""
        return int(self.event_ids.size)

    @property
    def n_assets(self) -> int:
        """Number of assets (columns)."""
        return int(self.asset_ids.size)

    @property
    def is_sparse(self) -> bool:
        """True when the intensity is a CSR matrix, False when it is a dense array."""
        return not isinstance(self.intensity, np.ndarray)

    @property
    def n_stored(self) -> int:
        """Stored intensities: the CSR's non-zero count, or events × assets when dense."""
        if isinstance(self.intensity, np.ndarray):
            return int(self.intensity.size)
        return int(self.intensity.nnz)

    def rows(self, start: int, stop: int) -> Intensity:
        """The intensities of events ``start:stop``: a CSR slice, or a view of the dense array."""
        if isinstance(self.intensity, np.ndarray):
            return self.intensity[start:stop]
        return sp.csr_array(self.intensity[start:stop])

    def to_csr(self) -> sp.csr_array:
        """The intensity as CSR (the matrix itself when sparse; zeros dropped when dense)."""
        if isinstance(self.intensity, np.ndarray):
            matrix = sp.csr_array(self.intensity)
            matrix.eliminate_zeros()
            return matrix
        return self.intensity

    def problems(self) -> list[Problem]:
        """Every problem of the event set: shapes, ids, frequencies and intensities."""
        out: list[Problem] = []
        shape = (self.n_events, self.n_assets)
        if self.intensity.shape != shape:
            out.append(
                Problem(
                    "hazard",
                    "intensity",
                    f"shape events × assets = {shape}",
                    found=str(self.intensity.shape),
                )
            )
        if self.frequency.shape != (self.n_events,):
            out.append(
                Problem(
                    "hazard",
                    "frequency",
                    f"one frequency per event ({self.n_events})",
                    found=f"{self.frequency.size}",
                )
            )
        else:
            bad = ~np.isfinite(self.frequency) | (self.frequency < 0)
            if bad.any():
                out.append(
                    Problem(
                        "hazard",
                        "frequency",
                        "a finite annual frequency >= 0",
                        tuple(self.event_ids[bad]),
                    )
                )
        dup = pd.Index(self.event_ids).duplicated(keep=False)
        if dup.any():
            out.append(
                Problem(
                    "hazard",
                    "event_id",
                    "unique event ids",
                    tuple(self.event_ids[dup]),
                    "duplicates",
                )
            )
        if self.intensity.shape == shape:
            out.extend(self._intensity_problems())
        return out

    def _intensity_problems(self) -> list[Problem]:
        """The cells (``event@asset``) holding NaN, infinite or negative intensities."""
        if isinstance(self.intensity, np.ndarray):
            positions, count = _bad_positions(self.intensity.reshape(-1), _CELLS_NAMED)
            rows, cols = np.divmod(positions, max(self.n_assets, 1))
        else:
            positions, count = _bad_positions(self.intensity.data, _CELLS_NAMED)
            rows = np.searchsorted(self.intensity.indptr, positions, side="right") - 1
            cols = self.intensity.indices[positions]
        if count == 0:
            return []
        cells = tuple(
            f"{self.event_ids[r]}@{self.asset_ids[c]}" for r, c in zip(rows, cols, strict=True)
        )
        return [
            Problem(
                "hazard",
                "intensity",
                f"a finite intensity >= 0 ({self.unit})",
                cells,
                found=f"NaN or negative in {count:,} cell{'s' if count > 1 else ''}"
                + (f" (the first {len(cells)} named)" if count > len(cells) else ""),
            )
        ]

    @classmethod
    def from_dense(
        cls,
        kind: HazardKind,
        event_ids: ArrayLike,
        frequency: ArrayLike,
        intensity: ArrayLike,
        asset_ids: ArrayLike,
        sparse: bool = True,
    ) -> HazardEvents:
        """Build from a dense ``events × assets`` array.

        Parameters
        ----------
        kind, event_ids, frequency, asset_ids
            As for the class.
        intensity
            ``events × assets`` intensities (a 1-D array is one event).
        sparse
            Store as CSR with the zeros dropped (the default), or keep the dense array.
        """
        dense = np.atleast_2d(np.asarray(intensity, dtype=np.float64))
        matrix: Intensity = dense
        if sparse:
            matrix = sp.csr_array(dense)
            matrix.eliminate_zeros()
        return cls(
            kind,
            np.asarray(event_ids),
            np.asarray(frequency, dtype=np.float64),
            matrix,
            np.asarray(asset_ids),
        )
