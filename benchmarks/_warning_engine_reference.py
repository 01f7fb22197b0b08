# Pre-optimisation copy of resilientcity.warning.engine, kept verbatim as the benchmark baseline
# (benchmarks/bench_warning_engine.py) and as the reference of tests/test_warning_engine_fast.py.
# Do not edit: it must keep behaving exactly as the engine did before the optimisation.
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
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from resilientcity.errors import Problem, ValidationError
from resilientcity.vocabulary import LEVELS, Level
from resilientcity.warning.rules import WarningRule

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


def _check_frame(frame: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated (minutes since epoch, values), sorted by time, first of duplicate times kept."""
    missing = [c for c in ("time", "value") if c not in frame.columns]
    if missing:
        problems = [Problem(what, c, "a column") for c in missing]
        raise ValidationError(problems, what=what)
    problems = []
    times = pd.to_datetime(frame["time"], utc=True, errors="coerce")
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    bad_time = times.isna().to_numpy()
    if bad_time.any():
        rows = tuple(str(i) for i in frame.index[bad_time])
        problems.append(Problem(what, "time", "a timestamp", rows=rows))
    bad_value = ~np.isfinite(values)
    if bad_value.any():
        rows = tuple(str(i) for i in frame.index[bad_value])
        problems.append(Problem(what, "value", "a finite number", rows=rows))
    if problems:
        raise ValidationError(problems, what=what)
    minutes = times.to_numpy(dtype="datetime64[ns]").astype(np.int64) / _NS_PER_MIN
    order = np.argsort(minutes, kind="stable")
    minutes, values = minutes[order], values[order]
    keep = np.ones(minutes.size, dtype=bool)
    keep[1:] = np.diff(minutes) > 0
    return minutes[keep], values[keep]


def _sign(rule: WarningRule) -> float:
    return 1.0 if rule.direction == "rising" else -1.0


def _thresholds(rule: WarningRule) -> np.ndarray:
    return np.array([np.nan if t is None else t for t in rule.thresholds.as_tuple()])


def _index_of(rule: WarningRule, value: float) -> int:
    return LEVELS.index(rule.level_of(value))


def _window(rule: WarningRule) -> float:
    spans = [r.window_min for r in rule.rate]
    if rule.forecast is not None:
        spans.append(rule.forecast.window_min)
    return max(spans, default=0.0)


def _runs(since: tuple[float | None, ...], hit: np.ndarray, t: float) -> tuple[float | None, ...]:
    return tuple(
        (s if s is not None else t) if h else None for s, h in zip(since, hit, strict=True)
    )


def _held(since: float | None, t: float, duration: float) -> bool:
    return since is not None and t - since >= duration


def _threshold_level(state: WarningState, rule: WarningRule, t: float, used: np.ndarray) -> int:
    """The threshold component after the runs of ``state`` were updated to time ``t``."""
    d = rule.min_duration_min
    up = max((k + 1 for k in range(4) if _held(state.above_since[k], t, d)), default=0)
    level = state.threshold_level
    if up > level:
        return up
    while level > 0 and (not used[level - 1] or _held(state.below_since[level - 1], t, d)):
        level -= 1
    return max(level, up)


def _rate_hits(rule: WarningRule, recent: tuple[tuple[float, float], ...], t: float) -> list[int]:
    """Per rate trigger, its level (1–4) if it fires at time ``t`` (last of ``recent``), else 0."""
    sign, value = _sign(rule), recent[-1][1]
    hits = []
    for trigger in rule.rate:
        t0, v0 = next((s, v) for s, v in recent if s >= t - trigger.window_min)
        fires = t > t0 and sign * (value - v0) / ((t - t0) / 60.0) >= trigger.change_per_hour
        hits.append(LEVELS.index(trigger.level) if fires else 0)
    return hits


def _trend_level(rule: WarningRule, recent: tuple[tuple[float, float], ...], t: float) -> int:
    """Level that a least-squares line through the recent window reaches at ``t + horizon``."""
    spec = rule.forecast
    if spec is None:
        return 0
    pts = np.array([(s, v) for s, v in recent if s >= t - spec.window_min])
    if len(pts) < spec.min_points or np.ptp(pts[:, 0]) == 0:
        return 0
    x = pts[:, 0] - t
    slope, intercept = np.polyfit(x, pts[:, 1], 1)
    if _sign(rule) * slope <= 0:
        return 0
    return _index_of(rule, float(intercept + slope * spec.horizon_h * 60.0))


def _series_level(rule: WarningRule, forecast: tuple[np.ndarray, np.ndarray], t: float) -> int:
    """Highest level that a given forecast series reaches in ``(t, t + horizon]``."""
    spec = rule.forecast
    if spec is None:
        return 0
    f_min, f_val = forecast
    inside = f_val[(f_min > t) & (f_min <= t + spec.horizon_h * 60.0)]
    return max((_index_of(rule, float(v)) for v in inside), default=0)


def _active(until: tuple[float, ...], t: float) -> int:
    return max((k + 1 for k in range(4) if until[k] >= t), default=0)


def _extend(
    until: tuple[float, ...], levels: list[int], t: float, hold: float
) -> tuple[float, ...]:
    out = list(until)
    for level in levels:
        if level > 0:
            out[level - 1] = max(out[level - 1], t + hold)
    return tuple(out)


def _kind(old: int, new: int) -> ChangeKind:
    if old == 0:
        return "issued"
    if new == 0:
        return "lifted"
    return "escalated" if new > old else "de-escalated"


def _step(
    state: WarningState,
    rule: WarningRule,
    t: float,
    value: float,
    forecast: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[WarningState, WarningChange | None]:
    """Advance ``state`` by one observation; the change it causes, if any."""
    thr = _thresholds(rule)
    used = ~np.isnan(thr)
    past = _sign(rule) * (value - thr)
    state = replace(
        state,
        above_since=_runs(state.above_since, used & (past >= 0), t),
        below_since=_runs(state.below_since, used & (past < -rule.hysteresis_margin), t),
        recent=tuple(p for p in state.recent if p[0] >= t - _window(rule)) + ((t, value),),
        last_min=t,
    )
    threshold = _threshold_level(state, rule, t, used)
    rate_until = state.rate_until
    for trigger, level in zip(rule.rate, _rate_hits(rule, state.recent, t), strict=True):
        rate_until = _extend(rate_until, [level], t, trigger.hold_min)
    forecast_until = state.forecast_until
    if rule.forecast is not None:
        predicted = (
            _trend_level(rule, state.recent, t)
            if forecast is None
            else _series_level(rule, forecast, t)
        )
        forecast_until = _extend(forecast_until, [predicted], t, rule.forecast.hold_min)
    parts: dict[Reason, int] = {
        "threshold": threshold,
        "rate": _active(rate_until, t),
        "forecast": _active(forecast_until, t),
    }
    new = max(parts.values())
    old = LEVELS.index(state.level)
    state = replace(
        state,
        level=LEVELS[new],
        threshold_level=threshold,
        rate_until=rate_until,
        forecast_until=forecast_until,
    )
    if new == old:
        return state, None
    reason = next(r for r, level in parts.items() if level == new) if new else "threshold"
    when = pd.Timestamp(round(t * _NS_PER_MIN), unit="ns", tz="UTC")
    change = WarningChange(
        rule.id, when, LEVELS[old], LEVELS[new], _kind(old, new), reason, float(value)
    )
    return state, change


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
    changes = []
    for t, value in zip(minutes, values, strict=True):
        if t <= current.last_min:
            continue
        current, change = _step(current, rule, float(t), float(value), series)
        if change is not None:
            changes.append(change)
    return current, changes


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
    state = WarningState(rule.id)
    levels: list[Level] = []
    for t, value in zip(minutes, values, strict=True):
        state, _ = _step(state, rule, float(t), float(value), series)
        levels.append(state.level)
    times = pd.to_datetime(np.round(minutes * _NS_PER_MIN).astype(np.int64), unit="ns", utc=True)
    return pd.DataFrame({"time": times, "value": values, "level": levels})
