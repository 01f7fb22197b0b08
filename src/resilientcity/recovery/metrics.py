"""Service curves Q(t) and the resilience metrics computed from them.

A :class:`ServiceCurve` holds service levels Q in [0, 1] over time (days since the event) per
sector and zone. The metrics of a curve sampled at times t₀ < … < tₙ (a time may repeat, so a
vertical step is two samples at the same time), with Q taken as linear between samples:

* **robustness** — the minimum of Q;
* **rapidity** — the first time at or after the (first) minimum at which Q reaches the
  threshold (0.95 by default, ``data/recovery/recovery_defaults.json``), interpolated linearly
  between samples; ``inf`` when Q never gets there;
* **resilience loss** — ∫(1 − Q) dt over [t₀, tₙ] by the trapezoid rule, in days: the area of
  the "resilience triangle" of Bruneau, M. et al. (2003) A framework to quantitatively assess
  and enhance the seismic resilience of communities, Earthquake Spectra 19(4):733-752, with Q
  as a fraction instead of a percentage;
* **resilience index** — ∫Q dt / T with T = tₙ − t₀ (Cimellaro, G.P., Reinhorn, A.M., Bruneau,
  M. (2010) Framework for analytical quantification of disaster resilience, Engineering
  Structures 32(11):3639-3649), equal to 1 − loss / T.

Worked example (a test checks it): Q drops to 0.4 at t = 0 and recovers linearly to 1 at
t = 10, then stays at 1 until T = 20: loss = ½ × 10 × 0.6 = 3.0 days, index = (20 − 3) / 20
= 0.85, robustness 0.4, rapidity = 10 × (0.95 − 0.4) / 0.6 = 9.1667 days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import Problem, ValidationError

__all__ = [
    "METRIC_COLUMNS",
    "ServiceCurve",
    "rapidity",
    "resilience_index",
    "resilience_loss",
    "robustness",
]

#: Columns of :meth:`ServiceCurve.metrics`.
METRIC_COLUMNS: dict[str, str] = {
    "robustness": "minimum service level (0-1)",
    "rapidity_days": "days from the event until Q is back at the threshold after its minimum",
    "resilience_loss_days": "∫(1 − Q) dt, days",
    "resilience_index": "∫Q dt / T (0-1)",
}


def _curve(times: ArrayLike, q: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray(q, dtype=np.float64)
    problems = []
    if t.ndim != 1 or t.size < 2 or v.shape != t.shape:
        problems.append(
            Problem(
                "service curve",
                "times",
                "at least 2 times, one level each",
                found=f"{t.shape} times, {v.shape} levels",
            )
        )
    elif not (np.all(np.isfinite(t)) and np.all(np.diff(t) >= 0) and t[-1] > t[0]):
        problems.append(
            Problem(
                "service curve", "times", "finite times in non-decreasing order spanning some time"
            )
        )
    elif not np.all((v >= 0) & (v <= 1)):
        rows = tuple(str(x) for x in t[~((v >= 0) & (v <= 1))])
        problems.append(Problem("service curve", "level", "a level in [0, 1]", rows))
    if problems:
        raise ValidationError(problems, what="service curve")
    return t, v


def robustness(times: ArrayLike, q: ArrayLike) -> float:
    """The minimum service level of the curve (0-1)."""
    return float(_curve(times, q)[1].min())


def rapidity(times: ArrayLike, q: ArrayLike, threshold: float = 0.95) -> float:
    """Time (same unit as ``times``) of the first crossing of ``threshold`` from the minimum on.

    Q is linear between samples; the time is measured from ``times[0]`` = 0 of the curve's
    clock (days since the event). Returns the minimum's own time when Q there is already at
    the threshold, and ``inf`` when Q never reaches it afterwards.
    """
    t, v = _curve(times, q)
    start = int(np.argmin(v))
    if v[start] >= threshold:
        return float(t[start])
    above = np.flatnonzero(v[start:] >= threshold)
    if above.size == 0:
        return float("inf")
    j = start + int(above[0])
    t0, t1, q0, q1 = t[j - 1], t[j], v[j - 1], v[j]
    return float(t1 if q1 == q0 else t0 + (threshold - q0) * (t1 - t0) / (q1 - q0))


def resilience_loss(times: ArrayLike, q: ArrayLike) -> float:
    """∫(1 − Q) dt by the trapezoid rule (unit of ``times``, e.g. days)."""
    t, v = _curve(times, q)
    return float(np.trapezoid(1.0 - v, t))


def resilience_index(times: ArrayLike, q: ArrayLike) -> float:
    """∫Q dt / T over the curve's span T = times[-1] − times[0] (0-1)."""
    t, v = _curve(times, q)
    return float(np.trapezoid(v, t) / (t[-1] - t[0]))


@dataclass(frozen=True, eq=False)
class ServiceCurve:
    """Service levels over time, per sector and zone.

    Attributes
    ----------
    times
        Days since the event, non-decreasing (``levels``' index).
    levels
        Index ``time_days``; columns a MultiIndex ``(sector, zone)`` with zone ``"all"`` for a
        sector's city-wide level, and the city level in column ``("city", "all")``. Values in
        [0, 1].
    """

    times: NDArray[np.float64]
    levels: pd.DataFrame

    def __post_init__(self) -> None:
        values = self.levels.to_numpy(dtype=np.float64)
        if values.shape[0] != self.times.size:
            raise ValidationError(
                [
                    Problem(
                        "service curve",
                        "levels",
                        "one row per time",
                        found=f"{values.shape[0]} rows, {self.times.size} times",
                    )
                ],
                what="service curve",
            )
        _curve(self.times, np.zeros(self.times.size))

    @property
    def city(self) -> pd.Series:
        """The city level over time."""
        return self.levels[("city", "all")]

    def metrics(self, threshold: float = 0.95) -> pd.DataFrame:
        """Robustness, rapidity, resilience loss and index of every column.

        Returns
        -------
        pandas.DataFrame
            Index ``(sector, zone)`` as in :attr:`levels`; columns :data:`METRIC_COLUMNS`.
        """
        rows = []
        for col in self.levels.columns:
            q = self.levels[col].to_numpy(dtype=np.float64)
            rows.append(
                {
                    "robustness": robustness(self.times, q),
                    "rapidity_days": rapidity(self.times, q, threshold),
                    "resilience_loss_days": resilience_loss(self.times, q),
                    "resilience_index": resilience_index(self.times, q),
                }
            )
        return pd.DataFrame(rows, index=self.levels.columns)
