"""Rainstorm (pluvial flood) hazard: storm intensity formula, design storm, ponding in low cells.

Three steps, each a public function:

1. :class:`StormIntensityFormula` — the city's intensity–duration–frequency (暴雨强度) formula in
   the form of GB 50014 (室外排水设计标准), ``q = 167·A1·(1 + C·lg P) / (t + b)^n``.
2. :func:`design_storm` — the Chicago design hyetograph (Keifer & Chu 1957) of a return period
   and duration, the design storm pattern GB 50014 recommends for model calculations.
3. :func:`rainfall_excess_mm` (below) ponded on the DEM by
   :func:`resilientcity.hazard.ponding.ponding_depth`, sampled at the assets by
   :func:`pluvial_flood_scenario` and :func:`pluvial_flood_events`.

The ponding model, a screening model on the DEM (fill-and-spill of depressions), and every
assumption it makes are in :mod:`resilientcity.hazard.ponding`; the rainfall excess it ponds:

* **Rainfall excess** (mm) on every cell is ``ψ × max(H(T, D) − H(P_d, D), 0)``: ``H(T, D)`` is the
  rainfall depth of the storm (return period ``T``, duration ``D``) from the formula, ``ψ`` the
  comprehensive runoff coefficient (GB 50014; default for a dense built-up area, see
  ``data/hazard/storm_intensity.json``), and ``ψ × H(P_d, D)`` the runoff the drainage network
  carries away: a network designed (GB 50014 rational method, ``Q = ψ·q·F``) for the storm of
  return period ``P_d`` is assumed to convey exactly its design runoff over the whole duration,
  and nothing more. Infiltration, interception and evaporation are inside ``ψ``; pipes are never
  blocked or surcharged from downstream, and the design duration is the storm duration (not the
  time of concentration of each pipe).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from resilientcity._files import read_data_file
from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.hazard.events import HazardEvents
from resilientcity.hazard.flood import channel_mask, grid_events
from resilientcity.hazard.ponding import ponding_depth
from resilientcity.hazard.rainfall_table import RainfallTable, packaged_table_path, station_table
from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM

__all__ = [
    "DEFAULT_RETURN_PERIODS",
    "StormIntensityFormula",
    "design_storm",
    "packaged_rainfall",
    "pluvial_flood_events",
    "pluvial_flood_scenario",
    "ponding_grids",
    "rainfall_excess_mm",
]

_DEFAULT_FILE = "data/hazard/storm_intensity.json"
_FORMULA = "storm_intensity"
_MODEL = "rainstorm"

#: Conversion of GB 50014: 1 mm/min of rain is 167 L/(s·ha) (10 000 m² × 1 mm / 60 s = 166.7 L/s).
L_S_HA_PER_MM_MIN = 167.0

#: Return periods (years) of the default event set: the usual design periods of GB 50014 tables.
DEFAULT_RETURN_PERIODS = (2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def _fail(layer: str, column: str, expected: str, found: str = "") -> NoReturn:
    raise ValidationError([Problem(layer, column, expected, found=found)], what=f"{layer} input")


def _positive(layer: str, column: str, value: object, unit: str) -> float:
    """``value`` as a finite float > 0, or a ValidationError naming ``column``."""
    number = _number(value)
    if not (math.isfinite(number) and number > 0):
        _fail(layer, column, f"a finite number > 0 ({unit})", found=repr(value))
    return number


def _number(value: object) -> float:
    """A real number as float; anything else (bool, str, None) is NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        return math.nan
    return float(value)


@dataclass(frozen=True)
class StormIntensityFormula:
    """A storm intensity formula in the GB 50014 form.

    ``q = 167·A1·(1 + C·lg P) / (t + b)^n`` in L/(s·ha), or ``i = q / 167`` in mm/min, with ``t``
    the rainfall duration (min) and ``P`` the return period (years).

    Parameters
    ----------
    a1
        ``A1`` (mm/min): the 1-year intensity scale, > 0. Formulas published as
        ``q = A(1 + C lg P)/(t + b)^n`` give ``a1 = A / 167``.
    c
        ``C``: the rain-variation coefficient, >= 0.
    b
        ``b`` (min): the duration offset, >= 0.
    n
        ``n``: the decay exponent, 0 < n <= 1 (so that depth grows with duration).
    city
        The city (or station) the formula belongs to.
    source
        Where the coefficients were published.
    """

    a1: float
    c: float
    b: float
    n: float
    city: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        rules = {
            "a1": ("a finite number > 0 (mm/min)", lambda v: v > 0),
            "c": ("a finite number >= 0", lambda v: v >= 0),
            "b": ("a finite number >= 0 (min)", lambda v: v >= 0),
            "n": ("a finite number with 0 < n <= 1", lambda v: 0 < v <= 1),
        }
        problems = []
        for name, (expected, ok) in rules.items():
            value = _number(getattr(self, name))
            if not (math.isfinite(value) and ok(value)):
                problems.append(Problem(_FORMULA, name, expected, found=repr(getattr(self, name))))
            else:
                object.__setattr__(self, name, value)
        if problems:
            raise ValidationError(problems, what="storm intensity formula")

    def _factor(self, return_period_years: ArrayLike) -> NDArray[np.float64]:
        """``A1·(1 + C·lg P)`` (mm/min), after checking the return periods."""
        p = np.asarray(return_period_years, dtype=np.float64)
        if not (np.isfinite(p).all() and (p > 0).all()):
            _fail(_FORMULA, "return_period_years", "finite return periods > 0 (years)", str(p))
        factor = 1.0 + self.c * np.log10(p)
        if not (factor > 0).all():
            expected = f"return periods with 1 + C·lg P > 0 (P > {10 ** (-1 / self.c):.3g} years)"
            _fail(_FORMULA, "return_period_years", expected, str(p))
        return self.a1 * factor

    def _durations(self, duration_min: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(duration_min, dtype=np.float64)
        if not (np.isfinite(t).all() and (t > 0).all()):
            _fail(_FORMULA, "duration_min", "finite durations > 0 (min)", str(t))
        return t

    def intensity_mm_min(self, return_period_years: ArrayLike, duration_min: ArrayLike) -> Any:
        """Mean intensity (mm/min) over a duration for a return period (arguments broadcast).

        Raises
        ------
        ValidationError
            A return period or duration that is not a finite number > 0, or a return period so
            short that ``1 + C·lg P <= 0``.
        """
        t = self._durations(duration_min)
        out = self._factor(return_period_years) / (t + self.b) ** self.n
        return out if out.ndim else float(out)

    def intensity_mm_h(self, return_period_years: ArrayLike, duration_min: ArrayLike) -> Any:
        """Mean intensity (mm/h) over a duration; see :meth:`intensity_mm_min`."""
        return self.intensity_mm_min(return_period_years, duration_min) * 60.0

    def intensity_l_s_ha(self, return_period_years: ArrayLike, duration_min: ArrayLike) -> Any:
        """Storm intensity ``q`` (L/(s·ha)) as GB 50014 writes it; see :meth:`intensity_mm_min`."""
        return self.intensity_mm_min(return_period_years, duration_min) * L_S_HA_PER_MM_MIN

    def depth_mm(self, return_period_years: ArrayLike, duration_min: ArrayLike) -> Any:
        """Rainfall depth (mm) over a duration: ``i(P, t) × t``; see :meth:`intensity_mm_min`."""
        return self.intensity_mm_min(return_period_years, duration_min) * np.asarray(
            duration_min, dtype=np.float64
        )

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> StormIntensityFormula:
        """Read a formula from JSON.

        The file holds ``{"city": str, "source": str, "coefficients": {"A1": number or "A":
        number, "C": number, "b": number, "n": number}}`` where ``A = 167·A1`` (L/(s·ha));
        other keys are documentation.

        Raises
        ------
        DataFileError
            Missing or unreadable file, not JSON, no ``coefficients`` object, neither or both of
            ``A1`` and ``A``, or a missing ``C``, ``b`` or ``n``.
        ValidationError
            Coefficients that break the rules of the formula (every one listed).
        """
        source = Path(path)
        spec = read_data_file(source, "storm intensity")
        coef = spec.get("coefficients") if isinstance(spec, dict) else None
        if not isinstance(coef, dict):
            raise DataFileError(f"{source}: expected an object with an object 'coefficients'")
        if ("A1" in coef) == ("A" in coef):
            raise DataFileError(f"{source}: coefficients need exactly one of 'A1' or 'A' (=167·A1)")
        missing = [key for key in ("C", "b", "n") if key not in coef]
        if missing:
            raise DataFileError(f"{source}: coefficients lack {', '.join(missing)}")
        a1 = _number(coef["A1"]) if "A1" in coef else _number(coef["A"]) / L_S_HA_PER_MM_MIN
        return cls(
            a1,
            _number(coef["C"]),
            _number(coef["b"]),
            _number(coef["n"]),
            str(spec.get("city", "")),
            str(spec.get("source", "")),
        )

    @classmethod
    def default(cls) -> StormIntensityFormula:
        """The packaged formula: Shanghai's (DB31/T 1043-2017), standing in for Changsha's.

        Changsha's own coefficients were not found in a citable source; see
        ``data/hazard/storm_intensity.json``. Pass a city's own formula for a real study.
        """
        with resources.as_file(resources.files("resilientcity").joinpath(_DEFAULT_FILE)) as path:
            return cls.from_file(path)


#: What the rainstorm model takes the rainfall depth from: a formula or a station's table.
Rainfall = StormIntensityFormula | RainfallTable


def packaged_rainfall(name: str, lon: float, lat: float) -> Rainfall:
    """A packaged rainfall file (``data/hazard/<name>``) as the rainfall of a place.

    The file is a storm intensity formula, or a table of stations, of which the one nearest to
    ``(lon, lat)`` (WGS 84 degrees) is taken
    (:func:`~resilientcity.hazard.rainfall_table.station_table`).

    Raises
    ------
    DataFileError, ValidationError
        A missing, unreadable or invalid file.
    """
    packaged = packaged_table_path(name)
    if "stations" in read_data_file(packaged, "rainfall"):
        return station_table(packaged, lon, lat)
    return StormIntensityFormula.from_file(packaged)


def _steps(duration_min: float, step_min: float) -> int:
    """Number of steps of ``step_min`` in ``duration_min``; the step must divide the duration."""
    count = round(duration_min / step_min)
    if count < 1 or abs(count * step_min - duration_min) > 1e-9 * duration_min:
        expected = (
            f"a step that divides the duration ({duration_min:g} min) a whole number of times"
        )
        _fail("design_storm", "step_min", expected, found=f"{step_min:g} min")
    return int(count)


def _chicago_cumulative(
    formula: StormIntensityFormula, return_period: float, duration: float, ratio: float, t: Any
) -> NDArray[np.float64]:
    """Cumulative depth (mm) of the Chicago storm from its start to times ``t`` (min).

    With ``H(τ) = a·τ / (τ + b)^n`` the IDF depth, the peak at ``r·D`` and ``t_b = r·D − t``
    before it or ``t_a = t − r·D`` after it, the Chicago storm holds ``r·H(t_b / r)`` before the
    peak and ``(1 − r)·H(t_a / (1 − r))`` after it (Keifer & Chu 1957): any window around the
    peak holding a fraction ``r`` before it has the IDF depth of its length.
    """
    a = float(formula._factor(return_period))

    def depth(tau: NDArray[np.float64]) -> NDArray[np.float64]:
        scale = (tau + formula.b) ** formula.n  # 0 when tau = b = 0: the depth is then 0
        return np.divide(a * tau, scale, out=np.zeros_like(tau), where=tau > 0)

    t = np.asarray(t, dtype=np.float64)
    peak = ratio * duration
    before = ratio * depth(np.maximum(peak - t, 0.0) / ratio) if ratio > 0 else np.zeros_like(t)
    after = (
        (1 - ratio) * depth(np.maximum(t - peak, 0.0) / (1 - ratio))
        if ratio < 1
        else np.zeros_like(t)
    )
    return ratio * depth(np.array(duration)) - before + after


def design_storm(
    formula: StormIntensityFormula,
    return_period_years: float,
    duration_min: float,
    step_min: float = 5.0,
    peak_ratio: float = 0.4,
) -> pd.DataFrame:
    """The Chicago design hyetograph of a return period and duration (Keifer & Chu 1957).

    The instantaneous intensity before the peak (``t_b`` minutes before it) and after it
    (``t_a`` minutes after) is::

        i_b = a·[(1 − n)·t_b / r + b] / (t_b / r + b)^(1+n),
        i_a = a·[(1 − n)·t_a / (1 − r) + b] / (t_a / (1 − r) + b)^(1+n),   a = A1·(1 + C·lg P)

    Each block holds the exact integral of that curve over its interval, so the blocks add up
    to the IDF depth of the duration, ``a·D / (D + b)^n``, and every window centred on the peak
    in the ratio ``r`` holds the IDF depth of its own length.

    Parameters
    ----------
    formula
        The storm intensity formula, or a station's rainfall table (whose own runoff
        coefficient and drainage return period are then the defaults).
    return_period_years
        Return period ``P`` (years), > 0.
    duration_min
        Storm duration ``D`` (min), > 0.
    step_min
        Block length (min), > 0, dividing ``duration_min``; default 5.
    peak_ratio
        Peak position ``r`` as a fraction of the duration, 0 <= r <= 1; default 0.4 (the
        usual value in Chinese design practice; measured values for many cities lie between
        0.3 and 0.5).

    Returns
    -------
    pandas.DataFrame
        One row per block, ``RangeIndex``: ``start_min``, ``end_min`` (minutes from the start of
        the storm), ``intensity_mm_h`` (mean intensity of the block), ``depth_mm``.

    Raises
    ------
    ValidationError
        A return period, duration or step that is not a finite number > 0, a step that does
        not divide the duration, a peak ratio outside [0, 1].
    """
    period = _positive("design_storm", "return_period_years", return_period_years, "years")
    duration = _positive("design_storm", "duration_min", duration_min, "min")
    step = _positive("design_storm", "step_min", step_min, "min")
    ratio = _number(peak_ratio)
    if not (math.isfinite(ratio) and 0 <= ratio <= 1):
        _fail("design_storm", "peak_ratio", "a number within [0, 1]", found=repr(peak_ratio))
    count = _steps(duration, step)
    edges = np.linspace(0.0, duration, count + 1)
    cumulative = _chicago_cumulative(formula, period, duration, ratio, edges)
    depth = np.diff(cumulative)
    return pd.DataFrame(
        {
            "start_min": edges[:-1],
            "end_min": edges[1:],
            "intensity_mm_h": depth / (np.diff(edges) / 60.0),
            "depth_mm": depth,
        }
    )


def _model_defaults() -> dict[str, Any]:
    with resources.as_file(resources.files("resilientcity").joinpath(_DEFAULT_FILE)) as path:
        return dict(json.loads(path.read_text(encoding="utf-8"))["gb50014"])


def rainfall_excess_mm(
    formula: Rainfall,
    return_period_years: float,
    duration_min: float,
    runoff_coefficient: float | ArrayLike | None = None,
    drainage_return_period_years: float | None = None,
) -> Any:
    """Rainfall excess (mm) left on the ground after the drainage network has done its work.

    ``ψ × max(H(T, D) − H(P_d, D), 0)`` (see the module docstring for the assumptions).

    Parameters
    ----------
    formula
        The storm intensity formula, or a station's rainfall table (whose own runoff
        coefficient and drainage return period are then the defaults).
    return_period_years
        Return period ``T`` of the storm (years), > 0.
    duration_min
        Storm duration ``D`` (min), > 0.
    runoff_coefficient
        Comprehensive runoff coefficient ``ψ`` in [0, 1]: one number, or a grid (e.g. one value
        per DEM cell from land use). Default: 0.65, dense built-up area (GB 50014 0.60–0.70).
    drainage_return_period_years
        Design return period ``P_d`` of the drainage network (years), > 0. Default 3 (GB 50014,
        a mega city's central area; see ``data/hazard/storm_intensity.json``).

    Returns
    -------
    float or numpy.ndarray
        Excess depth (mm), the shape of ``runoff_coefficient``.

    Raises
    ------
    ValidationError
        A return period, duration or drainage return period that is not a number > 0, or a
        runoff coefficient outside [0, 1] (or NaN).
    """
    defaults = _model_defaults()
    if isinstance(formula, RainfallTable):
        defaults = {
            "default_runoff_coefficient": formula.runoff_coefficient
            if formula.runoff_coefficient is not None
            else defaults["default_runoff_coefficient"],
            "default_drainage_return_period_years": formula.drainage_return_period_years
            if formula.drainage_return_period_years is not None
            else defaults["default_drainage_return_period_years"],
        }
    psi = np.asarray(
        defaults["default_runoff_coefficient"]
        if runoff_coefficient is None
        else runoff_coefficient,
        dtype=np.float64,
    )
    if not (np.isfinite(psi).all() and ((psi >= 0) & (psi <= 1)).all()):
        bad = psi[~(np.isfinite(psi) & (psi >= 0) & (psi <= 1))]
        _fail(_MODEL, "runoff_coefficient", "a number within [0, 1]", ", ".join(map(str, bad[:5])))
    pd_years = (
        defaults["default_drainage_return_period_years"]
        if drainage_return_period_years is None
        else drainage_return_period_years
    )
    pd_years = _positive(_MODEL, "drainage_return_period_years", pd_years, "years")
    period = _positive(_MODEL, "return_period_years", return_period_years, "years")
    duration = _positive(_MODEL, "duration_min", duration_min, "min")
    rain = formula.depth_mm(period, duration) - formula.depth_mm(pd_years, duration)
    out = psi * max(float(rain), 0.0)
    return out if out.ndim else float(out)


def _dem_of(city: City) -> DEM:
    if city.dem is None:
        _fail("city", "dem", f"a DEM (ground elevation) in city {city.name!r}", found="none")
    return city.dem


def ponding_grids(
    city: City,
    periods: Sequence[float],
    duration_min: float,
    formula: Rainfall | None = None,
    runoff_coefficient: float | ArrayLike | None = None,
    drainage_return_period_years: float | None = None,
) -> NDArray[np.float32]:
    """``periods × rows × cols`` ponding depth (m) on the city's DEM, one grid per return period.

    The storm of each return period and ``duration_min`` (``formula``, default
    :meth:`StormIntensityFormula.default`) → :func:`rainfall_excess_mm` →
    :func:`~resilientcity.hazard.ponding.ponding_depth`, with the river channels as outlets.
    """
    dem = _dem_of(city)
    formula = formula if formula is not None else StormIntensityFormula.default()
    channels = channel_mask(dem, city.rivers) if len(city.rivers) else None
    grids = [
        ponding_depth(
            dem,
            rainfall_excess_mm(
                formula, t, duration_min, runoff_coefficient, drainage_return_period_years
            ),
            channels,
        )
        for t in periods
    ]
    return np.stack(grids)


def pluvial_flood_scenario(
    city: City,
    return_period_years: float,
    duration_min: float,
    formula: Rainfall | None = None,
    runoff_coefficient: float | ArrayLike | None = None,
    drainage_return_period_years: float | None = None,
    event_id: str | None = None,
) -> HazardEvents:
    """One rainstorm scenario: the ponding depth at every asset after the design storm.

    Parameters
    ----------
    city
        The city, with a DEM (rivers, when present, are outlets).
    return_period_years
        Return period of the storm (years), > 0.
    duration_min
        Storm duration (min), > 0.
    formula
        Storm intensity formula; default :meth:`StormIntensityFormula.default`.
    runoff_coefficient, drainage_return_period_years
        See :func:`rainfall_excess_mm` (a grid of runoff coefficients has the DEM's shape).
    event_id
        Id of the event; default ``"rain-T<period>-<duration>min"``.

    Returns
    -------
    HazardEvents
        Kind ``"pluvial_flood"``, one event of frequency 0; intensity is the ponding depth (m)
        of the DEM cell under each asset (the point on the surface of its geometry), 0 where
        dry or off the grid.

    Raises
    ------
    ValidationError
        A city without DEM, or a parameter out of its range (see :func:`rainfall_excess_mm`).
    """
    grids = ponding_grids(
        city,
        [return_period_years],
        duration_min,
        formula,
        runoff_coefficient,
        drainage_return_period_years,
    )
    event_id = event_id or f"rain-T{return_period_years:g}-{duration_min:g}min"
    return grid_events(city, "pluvial_flood", grids, [event_id], np.zeros(1))


def pluvial_flood_events(
    city: City,
    return_periods: Sequence[float] = DEFAULT_RETURN_PERIODS,
    duration_min: float = 60.0,
    formula: Rainfall | None = None,
    runoff_coefficient: float | ArrayLike | None = None,
    drainage_return_period_years: float | None = None,
) -> HazardEvents:
    """A probabilistic rainstorm event set: one design storm per return period.

    Event ``k`` is the storm of return period ``T_k`` and stands for every storm between it and
    the next one; its annual frequency is ``f_k = 1/T_k − 1/T_{k+1}`` (``f_K = 1/T_K``), as in
    :func:`resilientcity.hazard.flood.river_flood_events`, so ``Σ_{j>=k} f_j = 1/T_k``. Storms
    rarer than the drainage design return period are the only ones that pond.

    Parameters
    ----------
    city
        The city, with a DEM.
    return_periods
        Return periods (years), strictly increasing and > 0; default 2, 5, 10, 20, 50, 100.
    duration_min
        Duration of every storm (min); default 60.
    formula, runoff_coefficient, drainage_return_period_years
        As :func:`pluvial_flood_scenario`.

    Returns
    -------
    HazardEvents
        Kind ``"pluvial_flood"``, ids ``"rain-T<period>-<duration>min"``, ponding depth (m).

    Raises
    ------
    ValidationError
        Return periods that are not finite, > 0 and strictly increasing, or as
        :func:`pluvial_flood_scenario`.
    """
    periods = np.atleast_1d(np.asarray(return_periods, dtype=np.float64))
    if periods.ndim != 1 or periods.size == 0 or not np.isfinite(periods).all():
        _fail(_MODEL, "return_periods", "a non-empty list of finite return periods (years)")
    if (periods <= 0).any() or (np.diff(periods) <= 0).any():
        _fail(_MODEL, "return_periods", "return periods > 0, strictly increasing", str(periods))
    exceedance = 1.0 / periods
    frequency = exceedance - np.append(exceedance[1:], 0.0)
    grids = ponding_grids(
        city, list(periods), duration_min, formula, runoff_coefficient, drainage_return_period_years
    )
    ids = [f"rain-T{t:g}-{duration_min:g}min" for t in periods]
    return grid_events(city, "pluvial_flood", grids, ids, frequency)
