"""Recovery under crew limits: repair schedule and time-stepped service curves Q(t).

**Repairs.** Each damaged asset needs ``restoration_days`` of work by one crew (crew-days; the
impact stage's expected restoration days, or a sample around them from
:func:`sample_restoration_days`). Each sector has a limited number of crews
(``crews`` in ``data/recovery/recovery_defaults.json``, an assumption; ``None`` = not
crew-limited, e.g. buildings repaired by their owners). A crew works on one asset at a time and
takes the next asset of its sector's priority list (:mod:`resilientcity.recovery.policies`) as
soon as it is free (list scheduling), so an asset is back at ``finish_day = start_day +
restoration_days``. Ordinary buildings (``owner_repaired_kinds``) are repaired by their
owners, all at once, whatever the sector's crews. Crews are not slowed by road access, and repairs do not wait for power.

**Service curve.** At each time t (days since the event; by default 0, 1, …, ``days``) the
assets with ``finish_day > t`` are still damaged; the cascade
(:mod:`resilientcity.network.cascade`) runs with ``hours = 24 t``, so backup supplies count at
t = 0 (step 0 is the state just after the event, every generator and battery running) and have
run out by t = 1 when they last under 24 h. For a finer look at the first day pass
``times_days`` (e.g. ``[0, 0.25, 0.5, 1, 2, …]``). When an ``access_fn`` is given it is called
with each asset's own state (True = not damaged or repaired, so bridges count once rebuilt)
and returns whether each asset can be reached by road; it is called again only when the
damaged set changes. The service levels (:mod:`resilientcity.network.service`) of each step
make the :class:`~resilientcity.recovery.metrics.ServiceCurve`.

**Sampling.** ``lognormal``: median ``mean × exp(−β²/2)`` so that the mean is kept, with β =
``lognormal_dispersion`` (assumption, see the data file; Hazus restoration functions are
normal with a spread of the order of the mean); ``exponential``: mean ``mean``. Assets with
0 days stay at 0.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import fail
from resilientcity.network.cascade import DependencyGraph
from resilientcity.network.service import ServiceModel, recovery_defaults
from resilientcity.recovery.metrics import ServiceCurve
from resilientcity.recovery.policies import repair_order
from resilientcity.vocabulary import RecoveryPolicy

__all__ = [
    "AccessFn",
    "RecoveryResult",
    "sample_restoration_days",
    "schedule_repairs",
    "simulate_recovery",
]

#: Road access per asset from each asset's own state (True = not damaged).
AccessFn = Callable[[NDArray[np.bool_]], NDArray[np.bool_]]
#: Minutes to the nearest functioning hospital per asset, from the cascade's functional array.
AccessMinutesFn = Callable[[NDArray[np.bool_]], NDArray[np.float64]]


_fail = partial(fail, "recovery", what="recovery input")


def sample_restoration_days(
    mean_days: ArrayLike,
    rng: np.random.Generator,
    distribution: Literal["lognormal", "exponential"] = "lognormal",
    dispersion: float | None = None,
) -> NDArray[np.float64]:
    """Sample restoration days around their means (see the module for the distributions).

    Parameters
    ----------
    mean_days
        Mean restoration days per asset (>= 0).
    rng
        The random generator (seeded by the caller).
    distribution
        ``"lognormal"`` (mean kept, dispersion ``dispersion``) or ``"exponential"``.
    dispersion
        Standard deviation of ln(days) of the lognormal; default from the data file.
    """
    mean = np.asarray(mean_days, dtype=np.float64)
    if not np.all(np.isfinite(mean) & (mean >= 0)):
        _fail(
            "restoration_days",
            "finite days >= 0",
            tuple(str(i) for i in np.flatnonzero(~(np.isfinite(mean) & (mean >= 0)))),
        )
    out = np.zeros_like(mean)
    pos = mean > 0
    if distribution == "exponential":
        out[pos] = rng.exponential(mean[pos])
    elif distribution == "lognormal":
        beta = float(
            recovery_defaults()["lognormal_dispersion"] if dispersion is None else dispersion
        )
        if not (np.isfinite(beta) and beta >= 0):
            _fail("dispersion", "a finite number >= 0", found=repr(dispersion))
        median = mean[pos] * np.exp(-0.5 * beta**2)
        out[pos] = median * np.exp(beta * rng.standard_normal(int(pos.sum())))
    else:
        _fail("distribution", "lognormal or exponential", found=repr(distribution))
    return out


def _crews(
    sectors: NDArray[np.object_], crews: Mapping[str, int | None] | None
) -> dict[str, int | None]:
    merged: dict[str, int | None] = dict(recovery_defaults()["crews"])
    merged.update(crews or {})
    bad = tuple(
        sorted(
            s for s, k in merged.items() if k is not None and not (isinstance(k, int) and k >= 1)
        )
    )
    if bad:
        _fail("crews", "a whole number of crews >= 1, or None (not crew-limited)", bad)
    return {str(s): merged.get(str(s)) for s in set(sectors)}


def _list_schedule(
    days: NDArray[np.float64], n_crews: int | None
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Start and finish of jobs taken in order by the first free of ``n_crews`` crews."""
    if n_crews is None or n_crews >= days.size:
        return np.zeros_like(days), days.copy()
    free = [0.0] * n_crews
    start = np.empty_like(days)
    for i, d in enumerate(days):
        t = heapq.heappop(free)
        start[i] = t
        heapq.heappush(free, t + float(d))
    return start, start + days


def schedule_repairs(
    assets: pd.DataFrame,
    graph: DependencyGraph,
    damaged: NDArray[np.bool_],
    restoration_days: ArrayLike,
    policy: RecoveryPolicy = "critical_first",
    given: Sequence[str] | None = None,
    crews: Mapping[str, int | None] | None = None,
) -> pd.DataFrame:
    """When each damaged asset is repaired.

    Parameters
    ----------
    assets
        Assets layer (``asset_id``, ``kind``, ``sector``, ``occupants``), the graph's order.
    graph
        The compiled dependencies (population served for the priorities).
    damaged
        Bool per asset.
    restoration_days
        Crew-days of work per asset (only damaged assets are read), finite and >= 0.
    policy, given
        The priority policy (:func:`~resilientcity.recovery.policies.repair_order`).
    crews
        Sector → crews (``None``: not crew-limited), over the data file's defaults; sectors
        in neither are not crew-limited.

    Returns
    -------
    pandas.DataFrame
        One row per damaged asset in priority order: ``asset_id``, ``kind``, ``sector``,
        ``priority`` (0 = first, per sector), ``restoration_days``, ``start_day``,
        ``finish_day``.
    """
    days = np.asarray(restoration_days, dtype=np.float64)
    if days.shape != (len(assets),):
        _fail(
            "restoration_days",
            f"one value per asset ({len(assets):,})",
            found=f"shape {days.shape}",
        )
    bad = damaged & ~(np.isfinite(days) & (days >= 0))
    if bad.any():
        _fail(
            "restoration_days",
            "finite days >= 0 for every damaged asset",
            tuple(assets["asset_id"].astype(str).to_numpy()[bad]),
        )
    order = repair_order(assets, graph, damaged, policy, given)
    sector = assets["sector"].astype(str).to_numpy(dtype=object)[order]
    kind = assets["kind"].astype(str).to_numpy(dtype=object)[order]
    crew_of = _crews(sector, crews)
    owner = np.isin(kind, list(recovery_defaults()["owner_repaired_kinds"]))
    start = np.zeros(order.size)
    finish = days[order].copy()
    priority = np.zeros(order.size, dtype=np.int64)
    for s, k in crew_of.items():
        mine = np.flatnonzero((sector == s) & ~owner)
        start[mine], finish[mine] = _list_schedule(days[order[mine]], k)
        priority[mine] = np.arange(mine.size)
    for s in crew_of:
        mine = np.flatnonzero((sector == s) & owner)
        priority[mine] = np.arange(mine.size)
    return pd.DataFrame(
        {
            "asset_id": assets["asset_id"].astype(str).to_numpy(dtype=object)[order],
            "kind": kind,
            "sector": sector,
            "priority": priority,
            "restoration_days": days[order],
            "start_day": start,
            "finish_day": finish,
        }
    )


@dataclass(frozen=True, eq=False)
class RecoveryResult:
    """A recovery simulation.

    Attributes
    ----------
    curve
        Service levels over time (:class:`~resilientcity.recovery.metrics.ServiceCurve`).
    schedule
        The repairs (:func:`schedule_repairs`).
    functional
        Per time (rows) the number of functioning assets (``time_days`` index).
    """

    curve: ServiceCurve
    schedule: pd.DataFrame
    functional: pd.Series


def _times(days: float, step_days: float, times_days: ArrayLike | None) -> NDArray[np.float64]:
    if times_days is not None:
        t = np.asarray(times_days, dtype=np.float64)
        if t.ndim != 1 or t.size < 2 or t[0] != 0 or np.any(np.diff(t) <= 0):
            _fail("times_days", "at least 2 increasing times starting at 0")
        return t
    if not (np.isfinite(days) and days > 0 and np.isfinite(step_days) and step_days > 0):
        _fail("days", "days > 0 and step_days > 0", found=f"{days}, {step_days}")
    n = int(np.floor(days / step_days + 1e-9))
    return np.arange(n + 1, dtype=np.float64) * float(step_days)


def simulate_recovery(
    assets: pd.DataFrame,
    dependencies: pd.DataFrame | DependencyGraph,
    damaged: ArrayLike,
    restoration_days: ArrayLike,
    *,
    days: float = 180.0,
    step_days: float = 1.0,
    times_days: ArrayLike | None = None,
    policy: RecoveryPolicy = "critical_first",
    given: Sequence[str] | None = None,
    crews: Mapping[str, int | None] | None = None,
    access_fn: AccessFn | None = None,
    access_minutes_fn: AccessMinutesFn | None = None,
    edges: pd.DataFrame | None = None,
    weights: Mapping[str, float] | None = None,
) -> RecoveryResult:
    """Repair the damaged assets under crew limits and record the service levels over time.

    Parameters
    ----------
    assets
        Assets layer (``asset_id``, ``kind``, ``sector``, ``occupancy``, ``occupants``,
        ``capacity``, ``zone_id``).
    dependencies
        The dependencies layer, or a :class:`DependencyGraph` built from it.
    damaged
        Bool per asset: True when the asset itself does not function after the event.
    restoration_days
        Crew-days of work per asset (deterministic, or from :func:`sample_restoration_days`).
    days, step_days
        Simulated span and step, days (times 0, step, …, days).
    times_days
        Explicit times instead (increasing, starting at 0).
    policy, given, crews
        Priority policy, its list for ``"given"``, crews per sector (:func:`schedule_repairs`).
    access_fn
        Road access per asset from each asset's own state (see the module).
    access_minutes_fn
        Minutes per asset to the nearest functioning hospital from the cascade's functional
        array; when given, medical is measured by access (:mod:`~resilientcity.network.service`).
    edges
        Road edges: transport as the share of road length open.
    weights
        Sector weights of the city level.

    Returns
    -------
    RecoveryResult
    """
    graph = (
        dependencies
        if isinstance(dependencies, DependencyGraph)
        else DependencyGraph.build(assets, dependencies)
    )
    dmg = np.asarray(damaged)
    if dmg.shape != (len(assets),) or dmg.dtype != np.bool_:
        _fail(
            "damaged",
            f"a bool per asset ({len(assets):,})",
            found=f"{dmg.dtype} of shape {dmg.shape}",
        )
    times = _times(days, step_days, times_days)
    schedule = schedule_repairs(assets, graph, dmg, restoration_days, policy, given, crews)
    finish = np.zeros(len(assets))
    pos = pd.Index(assets["asset_id"].astype(str)).get_indexer(pd.Index(schedule["asset_id"]))
    finish[pos] = schedule["finish_day"].to_numpy()
    model = ServiceModel.build(assets, edges, access_minutes_fn is not None, weights)
    levels, working = _run(graph, model, dmg, finish, times, access_fn, access_minutes_fn)
    frame = pd.DataFrame(levels, index=pd.Index(times, name="time_days"), columns=model.keys)
    return RecoveryResult(
        curve=ServiceCurve(times, frame),
        schedule=schedule,
        functional=pd.Series(working, index=frame.index, name="functional_assets"),
    )


def _run(
    graph: DependencyGraph,
    model: ServiceModel,
    damaged: NDArray[np.bool_],
    finish: NDArray[np.float64],
    times: NDArray[np.float64],
    access_fn: AccessFn | None,
    access_minutes_fn: AccessMinutesFn | None,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Service levels and functioning-asset counts at every time."""
    levels = np.empty((times.size, len(model.keys)))
    working = np.empty(times.size, dtype=np.int64)
    last_backup = float(graph.group_backup_hours.max(initial=0.0))
    prev: NDArray[np.bool_] | None = None
    access: NDArray[np.bool_] | None = None
    for i, t in enumerate(times):
        now = damaged & (finish > t)
        same = prev is not None and np.array_equal(now, prev)
        if same and 24.0 * times[i - 1] >= last_backup:
            levels[i], working[i] = levels[i - 1], working[i - 1]
            continue
        if access_fn is not None and not same:
            access = _access(access_fn, ~now)
        state = graph.cascade(now, hours=24.0 * float(t), access=access)
        minutes = None if access_minutes_fn is None else access_minutes_fn(state.functional)
        levels[i] = model.levels(state, access_minutes=minutes)
        working[i] = int(state.functional.sum())
        prev = now
    return levels, working


def _access(access_fn: AccessFn, intact: NDArray[np.bool_]) -> NDArray[np.bool_]:
    access = np.asarray(access_fn(intact))
    if access.shape != intact.shape or access.dtype != np.bool_:
        _fail(
            "access_fn",
            f"a bool per asset ({intact.size:,}) from the access function",
            found=f"{access.dtype} of shape {access.shape}",
        )
    return access
