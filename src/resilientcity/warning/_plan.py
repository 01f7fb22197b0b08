"""A warning rule compiled for the engine's steps, and the exact trend line of its forecast.

:class:`Plan` holds the constants of a rule that every step needs (thresholds by level, the
hysteresis margin, the rate triggers), read once per rule object (:func:`plan_of`);
:class:`TrendLine` keeps the exact integer sums of the least-squares line of a forecast
trigger's window. Both decide a level exactly, ties included. Used by
:mod:`resilientcity.warning.engine`.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from operator import mul

from resilientcity.vocabulary import LEVELS
from resilientcity.warning.rules import ForecastTrigger, WarningRule

#: Drop old observations from the working lists once this many have piled up.
COMPACT_AFTER = 4096


@dataclass(frozen=True, slots=True)
class Plan:
    """The constants of a rule that every step needs, read once per call.

    ``thresholds`` has ``None`` for the levels the rule does not use (left out, or NaN);
    ``rates`` holds per rate trigger ``(window_min, change_per_hour, level 1–4, hold_min)``.
    """

    rule_id: str
    sign: float
    thresholds: tuple[float | None, ...]
    low_margin: float
    duration: float
    window: float
    rates: tuple[tuple[float, float, int, float], ...]
    forecast: ForecastTrigger | None

    @classmethod
    def of(cls, rule: WarningRule) -> Plan:
        """The plan of ``rule``."""
        spans = [r.window_min for r in rule.rate]
        if rule.forecast is not None:
            spans.append(rule.forecast.window_min)
        return cls(
            rule_id=rule.id,
            sign=1.0 if rule.direction == "rising" else -1.0,
            thresholds=tuple(
                None if t is None or math.isnan(t) else t for t in rule.thresholds.as_tuple()
            ),
            low_margin=-rule.hysteresis_margin,
            duration=rule.min_duration_min,
            window=max(spans, default=0.0),
            rates=tuple(
                (r.window_min, r.change_per_hour, LEVELS.index(r.level), r.hold_min)
                for r in rule.rate
            ),
            forecast=rule.forecast,
        )

    def level_of(self, value: float) -> int:
        """Index in :data:`LEVELS` of :meth:`WarningRule.level_of` ``(value)``."""
        out = 0
        for k, thr in enumerate(self.thresholds):
            if thr is not None and self.sign * (value - thr) >= 0:
                out = k + 1
        return out

    def level_of_ratio(self, num: int, den: int) -> int:
        """:meth:`level_of` of the exact rational value ``num / den`` (``den > 0``)."""
        try:
            value = num / den  # correctly rounded: orders like num / den against unequal floats
        except OverflowError:
            value = math.inf if num > 0 else -math.inf
        out = 0
        for k, thr in enumerate(self.thresholds):
            if thr is None:
                continue
            past = (value > thr) - (value < thr) if value != thr else _compare(num, den, thr)
            if self.sign * past >= 0:
                out = k + 1
        return out


def _compare(num: int, den: int, value: float) -> int:
    """Sign of ``num / den − value`` (``den > 0``), exactly."""
    if math.isinf(value):
        return -1 if value > 0 else 1
    v_num, v_den = value.as_integer_ratio()
    diff = num * v_den - v_num * den
    return (diff > 0) - (diff < 0)


#: Plans of the rules seen lately, by ``id(rule)``, with the rule (kept alive, so that its id is
#: not reused while it is here; rules are frozen, so a plan cannot go stale).
_PLANS: dict[int, tuple[WarningRule, Plan]] = {}
_MAX_PLANS = 256


def plan_of(rule: WarningRule) -> Plan:
    """The plan of ``rule``, from :data:`_PLANS` when this very rule object was seen lately."""
    cached = _PLANS.get(id(rule))
    if cached is not None and cached[0] is rule:
        return cached[1]
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    plan = _PLANS[id(rule)] = (rule, Plan.of(rule))
    return plan[1]


def _split(value: float) -> tuple[int, int]:
    """``(m, k)`` with ``value == m / 2**k`` exactly and ``k ≥ 0``."""
    m, d = value.as_integer_ratio()
    return m, d.bit_length() - 1


def _scaled(values: list[float]) -> tuple[list[int], int]:
    """Integers ``m`` and the least ``k ≥ 0`` with ``values[i] == m[i] / 2**k`` exactly."""
    ratios = [v.as_integer_ratio() for v in values]
    k = max((d.bit_length() for _, d in ratios), default=1) - 1
    return [m << (k + 1 - d.bit_length()) for m, d in ratios], k


class TrendLine:
    """Exact sums for the least-squares line through the observations of the forecast window.

    A float is an integer over a power of two, so times and values are kept as integers scaled
    by ``2**a`` and ``2**b`` (raised when an observation needs more bits) and the sums Σs, Σy,
    Σs², Σs·y are exact integers: they are updated one observation at a time without drift, and
    the level of the line's prediction is decided exactly, ties included. The line is the
    least-squares line through ``(s − t, y)``, evaluated ``horizon_h × 60`` minutes after the
    last time ``t``.
    """

    def __init__(self, spec: ForecastTrigger, recent: tuple[tuple[float, float], ...]) -> None:
        self.window, self.min_points = spec.window_min, spec.min_points
        num, den = spec.horizon_h.as_integer_ratio()
        self.ahead = (60 * num, den)  # minutes from the last time to the prediction, exactly
        self.times = [t for t, _ in recent]
        self.s, self.a = _scaled(self.times)
        self.y, self.b = _scaled([value for _, value in recent])
        self.head = 0
        self.sum_s, self.sum_y = sum(self.s), sum(self.y)
        self.sum_ss, self.sum_sy = sum(map(mul, self.s, self.s)), sum(map(mul, self.s, self.y))

    def push(self, t: float, value: float) -> None:
        """Add an observation later than every one held; drop those now outside the window."""
        self._drop_before(t - self.window)
        self._add(t, value)

    def _add(self, t: float, value: float) -> None:
        """Append an observation later than every one held."""
        s, ka = _split(t)
        y, kb = _split(value)
        if ka > self.a or kb > self.b:
            self._rescale(max(ka - self.a, 0), max(kb - self.b, 0))
        s <<= self.a - ka
        y <<= self.b - kb
        self.times.append(t)
        self.s.append(s)
        self.y.append(y)
        self.sum_s += s
        self.sum_y += y
        self.sum_ss += s * s
        self.sum_sy += s * y

    def _drop_before(self, limit: float) -> None:
        """Drop the observations before ``limit``."""
        head, end = self.head, bisect_left(self.times, limit, self.head)
        for s, y in zip(self.s[head:end], self.y[head:end], strict=True):
            self.sum_s -= s
            self.sum_y -= y
            self.sum_ss -= s * s
            self.sum_sy -= s * y
        if end > COMPACT_AFTER and 2 * end > len(self.times):
            del self.times[:end], self.s[:end], self.y[:end]
            end = 0
        self.head = end

    def _rescale(self, more_a: int, more_b: int) -> None:
        """Scale the times by ``2**more_a`` and the values by ``2**more_b`` more."""
        del self.times[: self.head], self.s[: self.head], self.y[: self.head]
        self.head = 0
        self.s = [s << more_a for s in self.s]
        self.y = [y << more_b for y in self.y]
        self.a += more_a
        self.b += more_b
        self.sum_s <<= more_a
        self.sum_y <<= more_b
        self.sum_ss <<= 2 * more_a
        self.sum_sy <<= more_a + more_b

    def level(self, plan: Plan) -> int:
        """Level the line reaches at the prediction time; 0 if it does not rise (fall)."""
        n = len(self.times) - self.head
        if n < self.min_points or self.times[-1] == self.times[self.head]:
            return 0
        sum_s, sum_y = self.sum_s, self.sum_y
        sxy = n * self.sum_sy - sum_s * sum_y  # n · Sxy, scaled by 2**(a + b)
        if (sxy <= 0) if plan.sign > 0 else (sxy >= 0):
            return 0
        sxx = n * self.sum_ss - sum_s * sum_s  # n · Sxx, scaled by 2**(2a)
        p, q = self.ahead
        # prediction = mean_y + slope · (t + p/q − mean_s) = num / den, with
        # slope = sxy · 2**a / (sxx · 2**b) and n · q · 2**a · (t + p/q − mean_s) = lead
        lead = n * q * self.s[-1] + ((n * p) << self.a) - sum_s * q
        return plan.level_of_ratio(sum_y * sxx * q + sxy * lead, (n * q * sxx) << self.b)
