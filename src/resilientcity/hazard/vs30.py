"""Site condition V_S30 from topographic slope (Wald & Allen 2007 proxy, active tectonic regions).

Wald, D.J. and Allen, T.I. (2007), *Topographic slope as a proxy for seismic site conditions and
amplification*, BSSA 97(5):1379-1395, correlate the time-averaged shear-wave velocity of the top
30 m (V_S30) with topographic slope: steep ground is rock, flat ground is soft sediment. The
active-tectonic table used here is the revision of Allen & Wald (2009, BSSA 99(2A):935-943) as
implemented by the USGS global V_S30 map; the knots, the log-log interpolation and the caps are in
``data/hazard/vs30_slope.json`` with their sources.

The proxy was calibrated on slopes of 30 arc-second (about 1 km) DEMs. A finer DEM resolves
steeper local slopes and so gives higher V_S30 on rough ground; treat slope-derived V_S30 as a
screening estimate and prefer measured or mapped V_S30 where available.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import DataFileError
from resilientcity.twin.dem import DEM

__all__ = ["SlopeVs30Table", "dem_slope", "vs30_from_slope"]

_DEFAULT_TABLE = "data/hazard/vs30_slope.json"


@dataclass(frozen=True)
class SlopeVs30Table:
    """Knots of the slope → V_S30 curve (log-log interpolation) and its caps.

    Parameters
    ----------
    slope_m_per_m
        Slopes (m/m) of the knots, strictly increasing and > 0.
    vs30_m_s
        V_S30 (m/s) at each knot.
    floor_m_s, cap_m_s
        Bounds applied after interpolation and extrapolation (m/s).
    """

    slope_m_per_m: tuple[float, ...]
    vs30_m_s: tuple[float, ...]
    floor_m_s: float
    cap_m_s: float

    @classmethod
    def default(cls) -> SlopeVs30Table:
        """The packaged active-tectonic table (``data/hazard/vs30_slope.json``).

        Raises
        ------
        DataFileError
            The packaged file is missing keys (a broken installation).
        """
        text = resources.files("resilientcity").joinpath(_DEFAULT_TABLE).read_text("utf-8")
        spec = json.loads(text)
        try:
            return cls(
                tuple(float(s) for s in spec["slope_m_per_m"]),
                tuple(float(v) for v in spec["vs30_m_s"]),
                float(spec["vs30_floor_m_s"]),
                float(spec["vs30_cap_m_s"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFileError(f"{_DEFAULT_TABLE}: not a slope-V_S30 table ({exc})") from exc


def vs30_from_slope(
    slope_m_per_m: ArrayLike, table: SlopeVs30Table | None = None
) -> NDArray[np.float64]:
    """V_S30 (m/s) from topographic slope (m/m) with the Wald & Allen proxy.

    Linear in ``log(slope)``–``log(V_S30)`` between the table's knots, extrapolated along the
    first and last segments, then clipped to ``[floor, cap]`` (180–900 m/s for the default
    table). A slope of 0 gives the floor; ``NaN`` stays ``NaN``.

    Parameters
    ----------
    slope_m_per_m
        Topographic slope, rise over run (not degrees), any shape, >= 0.
    table
        The slope table; default :meth:`SlopeVs30Table.default` (active tectonic regions).

    Returns
    -------
    numpy.ndarray of float64
        V_S30 in m/s, same shape as ``slope_m_per_m``.
    """
    table = table if table is not None else SlopeVs30Table.default()
    slope = np.asarray(slope_m_per_m, dtype=np.float64)
    log_s = np.log(np.array(table.slope_m_per_m))
    log_v = np.log(np.array(table.vs30_m_s))
    tiny = np.finfo(np.float64).tiny  # log(0) would be -inf: the floor applies anyway
    x = np.log(np.maximum(np.where(np.isnan(slope), 1.0, slope), tiny))
    left = log_v[0] + (x - log_s[0]) * (log_v[1] - log_v[0]) / (log_s[1] - log_s[0])
    right = log_v[-1] + (x - log_s[-1]) * (log_v[-1] - log_v[-2]) / (log_s[-1] - log_s[-2])
    inside = np.interp(x, log_s, log_v)
    log_vs30 = np.where(x < log_s[0], left, np.where(x > log_s[-1], right, inside))
    vs30 = np.clip(np.exp(log_vs30), table.floor_m_s, table.cap_m_s)
    return np.where(np.isnan(slope), np.nan, vs30)


def dem_slope(dem: DEM) -> NDArray[np.float64]:
    """Topographic slope (m/m) on every DEM cell: the norm of the elevation gradient.

    Central differences inside the grid, one-sided differences on its edges
    (:func:`numpy.gradient`); an axis with one cell has no slope along it. Cells next to a
    ``NaN`` cell get ``NaN``.

    Parameters
    ----------
    dem
        Ground elevation (m) on a metric grid.

    Returns
    -------
    numpy.ndarray of float64
        ``rows × cols`` slope, rise over run.
    """
    z = dem.elevation_m.astype(np.float64)
    dx, dy = dem.resolution_m
    rows, cols = z.shape
    gy = np.gradient(z, dy, axis=0) if rows > 1 else np.zeros_like(z)
    gx = np.gradient(z, dx, axis=1) if cols > 1 else np.zeros_like(z)
    return np.hypot(gx, gy)
