"""The city's digital elevation model: a north-up float32 grid in the city's metric CRS."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS


@dataclass(eq=False)
class DEM:
    """Ground elevation on a regular grid.

    Parameters
    ----------
    elevation_m
        2-D float32 array (rows from north to south), metres above the city's vertical datum
        (for the demo city: the Changsha hydrological station datum, so that river stages
        and ground compare directly). ``NaN`` marks cells without data.
    transform
        Affine transform from (col, row) to (x, y) of the cells' upper-left corners; north-up
        (no rotation, negative y step).
    crs
        The projected, metric CRS of the grid (the city's CRS).
    """

    elevation_m: NDArray[np.float32]
    transform: Affine
    crs: CRS

    def __post_init__(self) -> None:
        self.elevation_m = np.asarray(self.elevation_m, dtype=np.float32)
        if self.elevation_m.ndim != 2 or min(self.elevation_m.shape) < 1:
            raise ValueError(
                f"DEM elevation_m must be a non-empty 2-D array, got shape {self.elevation_m.shape}"
            )
        t = self.transform
        if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
            raise ValueError(f"DEM transform must be north-up without rotation, got {tuple(t)[:6]}")
        self.crs = CRS.from_user_input(self.crs)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.elevation_m.shape

    @property
    def resolution_m(self) -> tuple[float, float]:
        """Cell size (dx, dy) in metres, both positive."""
        return float(self.transform.a), float(-self.transform.e)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the grid's outer edges."""
        rows, cols = self.shape
        minx, maxy = self.transform.c, self.transform.f
        return (minx, maxy + rows * self.transform.e, minx + cols * self.transform.a, maxy)

    def rowcol(self, x: ArrayLike, y: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Row and column of the cells containing points (may fall outside the grid)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        col = np.floor((x - self.transform.c) / self.transform.a).astype(np.int64)
        row = np.floor((y - self.transform.f) / self.transform.e).astype(np.int64)
        return row, col

    def inside(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.bool_]:
        """True where a point lies on a grid cell that has data."""
        return np.isfinite(self.sample(x, y))

    def sample(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.float32]:
        """Elevation (m) of the cell under each point; ``NaN`` outside the grid or on no-data."""
        row, col = self.rowcol(x, y)
        rows, cols = self.shape
        ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        out = np.full(row.shape, np.nan, dtype=np.float32)
        out[ok] = self.elevation_m[row[ok], col[ok]]
        return out

    def cell_centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The x (per column) and y (per row) of the cell centres."""
        rows, cols = self.shape
        xs = self.transform.c + (np.arange(cols, dtype=np.float64) + 0.5) * float(self.transform.a)
        ys = self.transform.f + (np.arange(rows, dtype=np.float64) + 0.5) * float(self.transform.e)
        return xs, ys

    def equals(self, other: DEM) -> bool:
        """Same grid, transform, CRS and values (NaN equal to NaN)."""
        return (
            self.transform == other.transform
            and self.crs == other.crs
            and np.array_equal(self.elevation_m, other.elevation_m, equal_nan=True)
        )
