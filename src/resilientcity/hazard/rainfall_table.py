"""Rainfall depth-duration-frequency tables: the rainstorm input of regions without a formula.

Many countries publish design rainfall as tables of depth (mm) per duration and return period at
observation stations rather than as a GB 50014 storm intensity formula
(:class:`~resilientcity.hazard.rainstorm.StormIntensityFormula`). A :class:`RainfallTable` is one
station's table; :func:`station_table` picks the station of a table file nearest to a place (the
Finnish Meteorological Institute's advice for its tables: "the observation station that is
climatologically closest, in practice most often the nearest").

Depths between two tabulated return periods are interpolated linearly in ``lg T`` and between
two tabulated durations linearly in ``lg D`` (log depth); a return period or duration outside the
table is refused with the table's range, never extrapolated. The table also carries the two
defaults of the ponding model that the formula file carries for GB 50014 cities: the runoff
coefficient and the design return period of the drainage network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from resilientcity._files import read_data_file
from resilientcity.errors import DataFileError, Problem, ValidationError

__all__ = ["RainfallTable", "packaged_table_path", "station_table"]

_LAYER = "rainfall_table"


def _fail(column: str, expected: str, found: str) -> ValidationError:
    return ValidationError([Problem(_LAYER, column, expected, found=found)], what="rainfall table")


@dataclass(frozen=True, eq=False)
class RainfallTable:
    """Rainfall depths of one station: ``depths_mm[d, t]`` for duration ``d`` and period ``t``.

    Parameters
    ----------
    station
        Name of the station.
    durations_min
        Tabulated durations (min), strictly increasing.
    return_periods_years
        Tabulated return periods (years), strictly increasing, each > 1.
    depths_mm
        ``durations × return periods`` depths (mm), increasing with the return period.
    source
        Where the table was published.
    runoff_coefficient, drainage_return_period_years
        Defaults of the ponding model for cities that use the table.
    """

    station: str
    durations_min: NDArray[np.float64]
    return_periods_years: NDArray[np.float64]
    depths_mm: NDArray[np.float64]
    source: str = ""
    runoff_coefficient: float | None = None
    drainage_return_period_years: float | None = None

    def __post_init__(self) -> None:
        d = np.asarray(self.durations_min, dtype=np.float64)
        t = np.asarray(self.return_periods_years, dtype=np.float64)
        h = np.asarray(self.depths_mm, dtype=np.float64)
        if d.ndim != 1 or d.size == 0 or not (np.isfinite(d).all() and (d > 0).all()):
            raise _fail("durations_min", "durations > 0 (min)", str(d))
        if t.ndim != 1 or t.size < 2 or not (np.isfinite(t).all() and (t > 1).all()):
            raise _fail("return_periods_years", "two or more return periods > 1 (years)", str(t))
        if (np.diff(d) <= 0).any() or (np.diff(t) <= 0).any():
            raise _fail("durations_min", "durations and return periods in increasing order", "")
        if h.shape != (d.size, t.size) or not (np.isfinite(h).all() and (h > 0).all()):
            raise _fail("depths_mm", f"{d.size} × {t.size} depths > 0 (mm)", str(h.tolist()))
        if (np.diff(h, axis=1) < 0).any():
            raise _fail("depths_mm", "depths that grow with the return period", str(h.tolist()))
        object.__setattr__(self, "durations_min", d)
        object.__setattr__(self, "return_periods_years", t)
        object.__setattr__(self, "depths_mm", h)

    def _check(self, values: NDArray[np.float64], table: NDArray[np.float64], name: str) -> None:
        lo, hi = float(table[0]), float(table[-1])
        ok = np.isfinite(values) & (values >= lo * (1 - 1e-9)) & (values <= hi * (1 + 1e-9))
        if not ok.all():
            bad = values[~ok]
            unit = "min" if name == "duration_min" else "years"
            where = f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"
            raise _fail(
                name,
                f"{where} {unit} (the range of the {self.station} table; no extrapolation)",
                ", ".join(f"{v:g}" for v in bad[:5]),
            )

    def depth_mm(self, return_period_years: ArrayLike, duration_min: ArrayLike) -> Any:
        """Rainfall depth (mm) of a return period over a duration (arguments broadcast).

        The interface of :meth:`StormIntensityFormula.depth_mm
        <resilientcity.hazard.rainstorm.StormIntensityFormula.depth_mm>`.

        Raises
        ------
        ValidationError
            A return period or duration outside the table (the message gives its range).
        """
        t, d = np.broadcast_arrays(
            np.asarray(return_period_years, dtype=np.float64),
            np.asarray(duration_min, dtype=np.float64),
        )
        self._check(t.reshape(-1), self.return_periods_years, "return_period_years")
        self._check(d.reshape(-1), self.durations_min, "duration_min")
        lg_t = np.log10(self.return_periods_years)
        flat_t, flat_d = t.reshape(-1), d.reshape(-1)
        # durations × points: each duration's depth at each point's return period
        by_duration = np.array([np.interp(np.log10(flat_t), lg_t, row) for row in self.depths_mm])
        if self.durations_min.size == 1:
            flat = by_duration[0]
        else:
            lg_d = np.log10(self.durations_min)
            flat = np.array(
                [
                    10 ** np.interp(math.log10(x), lg_d, np.log10(by_duration[:, i]))
                    for i, x in enumerate(flat_d)
                ]
            )
        out = flat.reshape(t.shape)
        return out if np.ndim(out) else float(out)


def packaged_table_path(name: str) -> Path:
    """Path of a packaged table file (``data/hazard/<name>``)."""
    with resources.as_file(resources.files("resilientcity").joinpath("data/hazard", name)) as p:
        return Path(p)


def _value(entry: Any) -> float | None:
    if entry is None:
        return None
    return float(entry["value"] if isinstance(entry, dict) else entry)


def station_table(path: str | PathLike[str], lon: float, lat: float) -> RainfallTable:
    """The table of the station nearest to ``(lon, lat)`` (WGS 84 degrees) in a table file.

    The file holds ``{"source": str, "stations": [{"name", "lonlat", "durations_min",
    "return_periods_years", "depth_mm"}], "runoff_coefficient", "drainage_return_period_years"}``
    (the last two plain numbers or ``{"value": …}``).

    Raises
    ------
    DataFileError
        Missing or unreadable file, or no ``stations`` list.
    ValidationError
        A station's table breaks the rules of :class:`RainfallTable`.
    """
    source = Path(path)
    data = read_data_file(source, "rainfall table")
    stations = data.get("stations") if isinstance(data, dict) else None
    if not isinstance(stations, list) or not stations:
        raise DataFileError(f"{source}: expected an object with a non-empty 'stations' list")

    # Great-circle distance is not needed to rank stations a few hundred km apart: the
    # equirectangular distance (longitude scaled by cos(latitude)) orders them the same way.
    def distance(station: dict[str, Any]) -> float:
        s_lon, s_lat = station["lonlat"]
        scale = math.cos(math.radians((s_lat + lat) / 2))
        return math.hypot((s_lon - lon) * scale, s_lat - lat)

    try:
        nearest = min(stations, key=distance)
        return RainfallTable(
            str(nearest["name"]),
            np.asarray(nearest["durations_min"], dtype=np.float64),
            np.asarray(nearest["return_periods_years"], dtype=np.float64),
            np.asarray(nearest["depth_mm"], dtype=np.float64),
            source=str(data.get("source", "")),
            runoff_coefficient=_value(data.get("runoff_coefficient")),
            drainage_return_period_years=_value(data.get("drainage_return_period_years")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise DataFileError(f"{source}: a station lacks or mistypes {exc}") from None
