"""A set of hazard events and their intensity at every asset of a city."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import Problem, ValidationError

__all__ = ["HAZARD_UNITS", "HazardEvents", "HazardKind"]

HazardKind = Literal["river_flood", "pluvial_flood", "earthquake", "wind"]

#: The intensity measure and unit of each hazard kind.
HAZARD_UNITS: dict[str, tuple[str, str]] = {
    "river_flood": ("flood depth", "m"),
    "pluvial_flood": ("ponding depth", "m"),
    "earthquake": ("peak ground acceleration", "g"),
    "wind": ("maximum sustained wind", "m/s"),
}


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
        ``events × assets`` sparse matrix (CSR) of intensities in ``unit``; entries not stored
        are 0 (no hazard). Stored values must be finite and >= 0.
    asset_ids
        The asset each column belongs to (``assets.asset_id``, same order as the city).
    """

    kind: HazardKind
    event_ids: NDArray[np.str_]
    frequency: NDArray[np.float64]
    intensity: sp.csr_array
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
        object.__setattr__(self, "intensity", sp.csr_array(self.intensity, dtype=np.float64))
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
        data = self.intensity.data
        bad_values = ~np.isfinite(data) | (data < 0)
        if bad_values.any() and self.intensity.shape == shape:
            rows = np.repeat(np.arange(shape[0]), np.diff(self.intensity.indptr))[bad_values]
            cols = self.intensity.indices[bad_values]
            cells = tuple(
                f"{self.event_ids[r]}@{self.asset_ids[c]}" for r, c in zip(rows, cols, strict=True)
            )
            out.append(
                Problem(
                    "hazard",
                    "intensity",
                    f"a finite intensity >= 0 ({self.unit})",
                    cells,
                    found="NaN or negative",
                )
            )
        return out

    @classmethod
    def from_dense(
        cls,
        kind: HazardKind,
        event_ids: ArrayLike,
        frequency: ArrayLike,
        intensity: ArrayLike,
        asset_ids: ArrayLike,
    ) -> HazardEvents:
        """Build from a dense ``events × assets`` array (zeros are dropped)."""
        dense = np.atleast_2d(np.asarray(intensity, dtype=np.float64))
        matrix = sp.csr_array(dense)
        matrix.eliminate_zeros()
        return cls(
            kind,
            np.asarray(event_ids),
            np.asarray(frequency, dtype=np.float64),
            matrix,
            np.asarray(asset_ids),
        )
