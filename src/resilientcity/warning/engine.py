"""The warning engine: four-level warnings from a stream of observations, pure and stateful.

:func:`evaluate` takes a rule, a batch of new observations and the state left by the previous
call, and returns the new state and the warning changes (issued, escalated, de-escalated,
lifted). Observations at or before the last time already seen are ignored, so feeding the same
observations twice gives no new changes. :func:`levels_over_time` runs the same engine over a
whole series and returns the level in force after each observation.

The level in force is the highest of three components:

- **threshold**: the highest level whose threshold the value has reached at every observation
  for at least ``min_duration_min`` minutes (measured from the first observation of the run).
  It is lowered one level at a time, each only once the value has stayed past
  ``threshold - hysteresis_margin`` (``+`` for falling rules) for ``min_duration_min`` minutes.
- **rate**: a rate-of-change trigger that fired within its ``hold_min`` minutes.
- **forecast**: the level that a straight line fitted to the recent observations (or a given
  forecast series) reaches within ``horizon_h`` hours, predicted within ``hold_min`` minutes.

Each change names the component that sets the new level (``threshold``, ``rate`` or
``forecast``). Times are UTC (naive timestamps are taken as UTC); inside the state they are kept
as minutes since 1970-01-01 UTC.

Each call unpacks the state into plain Python lists and floats, advances them in place one
observation at a time and freezes them into a new state once at the end. The trend line is
computed from exact integer sums over its window, updated one observation at a time, so its
level is exact (a line reaching a threshold exactly reaches it; a flat window has no trend)
and does not depend on the order of floating-point operations or on the platform.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from resilientcity.errors import Problem, ValidationError
from resilientcity.vocabulary import LEVELS, Level
from resilientcity.warning._plan import COMPACT_AFTER, Plan, TrendLine, plan_of
from resilientcity.warning.rules import ForecastTrigger, WarningRule

__all__ = [
    "ChangeKind",
    "Reason",
    "WarningChange",
    "WarningState",
    "evaluate",
    "levels_over_time",
]

#: What started a change.
Reason = Literal["threshold", "rate", "forecast"]
#: Where a change sits in the warning's lifecycle.
ChangeKind = Literal["issued", "escalated", "de-escalated", "lifted"]

_NS_PER_MIN = 60_000_000_000
_NEVER = float("-inf")
_NO_TIMES: tuple[float, ...] = (_NEVER,) * 4


@dataclass(frozen=True)
class WarningChange:
    """One change of the level in force.

    Attributes
    ----------
    rule_id
        The rule that changed level.
    time
        Time of the observation that caused the change (UTC).
    from_level, to_level
        Level before and after.
    kind
        ``issued`` (from none), ``escalated``, ``de-escalated`` or ``lifted`` (to none).
    reason
        The component that sets ``to_level``: ``threshold``, ``rate`` or ``forecast``.
    value
        The observed value at ``time``, in the rule's unit.
    """

    rule_id: str
    time: pd.Timestamp
    from_level: Level
    to_level: Level
    kind: ChangeKind
    reason: Reason
    value: float


@dataclass(frozen=True)
class WarningState:
    """What the engine remembers between calls for one rule.

    Attributes
    ----------
    rule_id
        The rule this state belongs to.
    level
        The level in force.
    threshold_level
        Index in :data:`~resilientcity.vocabulary.LEVELS` of the threshold component.
    above_since, below_since
        Per level blue…red: start (minutes since epoch) of the current run of observations at
        or past the threshold, and past threshold − margin on the good side; ``None`` if no
        such run is going on.
    rate_until, forecast_until
        Per level blue…red: until when (minutes since epoch) a rate or forecast trigger holds
        that level; ``-inf`` when it never fired.
    last_min
        Time of the last observation seen (minutes since epoch), ``-inf`` before any.
    recent
        ``(minutes, value)`` of the observations within the longest trigger window.
    """

    rule_id: str
    level: Level = "none"
    threshold_level: int = 0
    above_since: tuple[float | None, ...] = (None,) * 4
    below_since: tuple[float | None, ...] = (None,) * 4
    rate_until: tuple[float, ...] = _NO_TIMES
    forecast_until: tuple[float, ...] = _NO_TIMES
    last_min: float = _NEVER
    recent: tuple[tuple[float, float], ...] = ()

    @property
    def last_time(self) -> pd.Timestamp | None:
        """Time of the last observation seen (UTC), or ``None`` before any."""
        if self.last_min == _NEVER:
            return None
        return pd.Timestamp(round(self.last_min * _NS_PER_MIN), unit="ns", tz="UTC")


def _nanoseconds(column: pd.Series) -> np.ndarray:
    """Times as UTC ``datetime64[ns]`` (NaT where unreadable); naive times are taken as UTC."""
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        return column.to_numpy(dtype="datetime64[ns]")  # already datetimes: no parsing needed
    times = pd.to_datetime(column, utc=True, errors="coerce")
    return times.to_numpy(dtype="datetime64[ns]")


def _numbers(column: pd.Series) -> np.ndarray:
    """Values as float64 (NaN where not a number)."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "fiu":
        return column.to_numpy(dtype=float)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def _check_frame(frame: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated (minutes since epoch, values), sorted by time, first of duplicate times kept."""
    missing = [c for c in ("time", "value") if c not in frame.columns]
    if missing:
        problems = [Problem(what, c, "a column") for c in missing]
        raise ValidationError(problems, what=what)
    problems = []
    nanos = _nanoseconds(frame["time"])
    values = _numbers(frame["value"])
    bad_time = np.isnat(nanos)
    if bad_time.any():
        rows = tuple(str(i) for i in frame.index[bad_time])
        problems.append(Problem(what, "time", "a timestamp", rows=rows))
    bad_value = ~np.isfinite(values)
    if bad_value.any():
        rows = tuple(str(i) for i in frame.index[bad_value])
        problems.append(Problem(what, "value", "a finite number", rows=rows))
    if problems:
        raise ValidationError(problems, what=what)
    minutes = nanos.astype(np.int64) / _NS_PER_MIN
    if minutes.size < 2 or (minutes[1:] > minutes[:-1]).all():  # already sorted, no duplicates
        return minutes, values
    order = np.argsort(minutes, kind="stable")
    minutes, values = minutes[order], values[order]
    keep = np.ones(minutes.size, dtype=bool)
    keep[1:] = np.diff(minutes) > 0
    return minutes[keep], values[keep]


def _active(until: list[float], t: float) -> int:
    """The highest level (1–4) held at ``t`` by ``until`` (per level blue…red), else 0."""
    for k in (3, 2, 1, 0):
        if until[k] >= t:
            return k + 1
    return 0


def _held(since: float | None, t: float, duration: float) -> bool:
    return since is not None and t - since >= duration


def _kind(old: int, new: int) -> ChangeKind:
    if old == 0:
        return "issued"
    if new == 0:
        return "lifted"
    return "escalated" if new > old else "de-escalated"


class _Run:
    """A :class:`WarningState` unpacked into mutable locals and advanced in place.

    ``times[start:]`` and ``values[start:]`` are the state's ``recent`` observations; older
    ones are dropped from the lists only now and then, so that a step costs no copy.
    """

    def __init__(
        self, plan: Plan, state: WarningState, forecast: tuple[np.ndarray, np.ndarray] | None
    ) -> None:
        self.plan = plan
        self.level = LEVELS.index(state.level)
        self.threshold_level = state.threshold_level
        self.above = list(state.above_since)
        self.below = list(state.below_since)
        self.rate_until = list(state.rate_until)
        self.forecast_until = list(state.forecast_until)
        self.last_min = state.last_min
        self.times = [p[0] for p in state.recent]
        self.values = [p[1] for p in state.recent]
        self.start = 0
        self.series = None if forecast is None else (forecast[0].tolist(), forecast[1].tolist())
        self.trend = (
            TrendLine(plan.forecast, state.recent)
            if plan.forecast is not None and forecast is None
            else None
        )

    def state(self) -> WarningState:
        """The frozen state after the steps taken."""
        return WarningState(
            rule_id=self.plan.rule_id,
            level=LEVELS[self.level],
            threshold_level=self.threshold_level,
            above_since=tuple(self.above),
            below_since=tuple(self.below),
            rate_until=tuple(self.rate_until),
            forecast_until=tuple(self.forecast_until),
            last_min=self.last_min,
            recent=tuple(zip(self.times[self.start :], self.values[self.start :], strict=True)),
        )

    def step(self, t: float, value: float) -> WarningChange | None:
        """Advance by one observation (later than every one seen); the change, if any."""
        plan = self.plan
        self._remember(t, value)
        threshold = self._threshold(t, value)
        rate = self._rate(t, value) if plan.rates else _active(self.rate_until, t)
        forecast = (
            _active(self.forecast_until, t)
            if plan.forecast is None
            else self._forecast(t, value, plan.forecast)
        )
        new, old = max(threshold, rate, forecast), self.level
        self.level, self.threshold_level, self.last_min = new, threshold, t
        if new == old:
            return None
        reason: Reason = "threshold" if new == threshold else "rate" if new == rate else "forecast"
        when = pd.Timestamp(round(t * _NS_PER_MIN), unit="ns", tz="UTC")
        return WarningChange(
            plan.rule_id, when, LEVELS[old], LEVELS[new], _kind(old, new), reason, value
        )

    def _remember(self, t: float, value: float) -> None:
        """Drop the observations before the longest trigger window; append this one."""
        times, values = self.times, self.values
        start = bisect_left(times, t - self.plan.window, self.start)
        if start > COMPACT_AFTER and 2 * start > len(times):
            del times[:start], values[:start]
            start = 0
        self.start = start
        times.append(t)
        values.append(value)

    def _threshold(self, t: float, value: float) -> int:
        """Update the runs past each threshold; the threshold component at ``t``."""
        plan, above, below = self.plan, self.above, self.below
        up = 0
        for k, thr in enumerate(plan.thresholds):
            if thr is None:
                above[k] = below[k] = None
                continue
            past = plan.sign * (value - thr)
            if past < 0:
                above[k] = None
            elif above[k] is None:
                above[k] = t
            if past < plan.low_margin:
                if below[k] is None:
                    below[k] = t
            else:
                below[k] = None
            if _held(above[k], t, plan.duration):
                up = k + 1
        level = self.threshold_level
        if up > level:
            return up
        while level > 0 and (
            plan.thresholds[level - 1] is None or _held(below[level - 1], t, plan.duration)
        ):
            level -= 1
        return max(level, up)

    def _rate(self, t: float, value: float) -> int:
        """Extend the hold of each rate trigger that fires at ``t``; the rate component."""
        times, until = self.times, self.rate_until
        for window, change, level, hold in self.plan.rates:
            i = bisect_left(times, t - window, self.start)
            t0, v0 = times[i], self.values[i]
            if t > t0 and self.plan.sign * (value - v0) / ((t - t0) / 60.0) >= change:
                until[level - 1] = max(until[level - 1], t + hold)
        return _active(until, t)

    def _forecast(self, t: float, value: float, spec: ForecastTrigger) -> int:
        """Extend the hold of the level predicted at ``t``; the forecast component."""
        if self.trend is not None:
            self.trend.push(t, value)
            predicted = self.trend.level(self.plan)
        else:
            assert self.series is not None  # a forecast rule has a trend or a series
            predicted = self._series_level(t, spec, self.series)
        if predicted > 0:
            until = self.forecast_until
            until[predicted - 1] = max(until[predicted - 1], t + spec.hold_min)
        return _active(self.forecast_until, t)

    def _series_level(
        self, t: float, spec: ForecastTrigger, series: tuple[list[float], list[float]]
    ) -> int:
        """Highest level that the given forecast series reaches in ``(t, t + horizon]``."""
        f_min, f_val = series
        inside = f_val[bisect_right(f_min, t) : bisect_right(f_min, t + spec.horizon_h * 60.0)]
        if not inside:
            return 0
        # level_of is monotonic in the value: the most extreme value gives the highest level
        return self.plan.level_of(max(inside) if self.plan.sign > 0 else min(inside))


def evaluate(
    rule: WarningRule,
    observations: pd.DataFrame,
    state: WarningState | None = None,
    forecast: pd.DataFrame | None = None,
) -> tuple[WarningState, list[WarningChange]]:
    """Advance the warning of ``rule`` over new observations.

    Parameters
    ----------
    rule
        The warning rule.
    observations
        Columns ``time`` (timestamps; naive = UTC) and ``value`` (the rule's unit); any order.
        Observations at or before the state's last time are ignored (already seen); of several
        observations at one time the first is kept.
    state
        The state returned by the previous call, or ``None`` to start with no warning.
    forecast
        Optional forecast series (columns ``time``, ``value``) used by the rule's forecast
        trigger instead of the linear trend.

    Returns
    -------
    tuple
        The new state, and the changes in time order (empty when the level did not change).

    Raises
    ------
    ValidationError
        Missing columns, unreadable times or non-finite values (rows named by index), a state
        of another rule, or a forecast series for a rule without a forecast trigger.
    """
    problems = []
    if state is not None and state.rule_id != rule.id:
        problems.append(Problem("state", "rule_id", repr(rule.id), found=repr(state.rule_id)))
    if forecast is not None and rule.forecast is None:
        problems.append(Problem("rule", "forecast", "a forecast trigger to use a forecast series"))
    if problems:
        raise ValidationError(problems, what="warning evaluation")
    minutes, values = _check_frame(observations, "observations")
    series = None if forecast is None else _check_frame(forecast, "forecast")
    current = state if state is not None else WarningState(rule.id)
    first = int(np.searchsorted(minutes, current.last_min, side="right"))  # the first new one
    if first == minutes.size:
        return current, []
    run = _Run(plan_of(rule), current, series)
    changes = []
    for t, value in zip(minutes[first:].tolist(), values[first:].tolist(), strict=True):
        change = run.step(t, value)
        if change is not None:
            changes.append(change)
    return run.state(), changes


def levels_over_time(
    rule: WarningRule, observations: pd.DataFrame, forecast: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The level in force after each observation of a whole series, from no warning.

    Parameters
    ----------
    rule, observations, forecast
        As in :func:`evaluate`.

    Returns
    -------
    pandas.DataFrame
        One row per distinct observation time, sorted: ``time`` (UTC), ``value`` and ``level``
        (one of ``none``, ``blue``, ``yellow``, ``orange``, ``red``).
    """
    minutes, values = _check_frame(observations, "observations")
    if forecast is not None and rule.forecast is None:
        problem = Problem("rule", "forecast", "a forecast trigger to use a forecast series")
        raise ValidationError([problem], what="warning evaluation")
    series = None if forecast is None else _check_frame(forecast, "forecast")
    run = _Run(plan_of(rule), WarningState(rule.id), series)
    levels: list[Level] = []
    for t, value in zip(minutes.tolist(), values.tolist(), strict=True):
        run.step(t, value)
        levels.append(LEVELS[run.level])
    times = pd.to_datetime(np.round(minutes * _NS_PER_MIN).astype(np.int64), unit="ns", utc=True)
    return pd.DataFrame({"time": times, "value": values, "level": levels})
