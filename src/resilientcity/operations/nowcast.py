"""Nowcast of a river-gauge warning: who and what the river floods at the warned stage.

When a river stage warning is issued or escalated, :func:`mark_nowcasts` (a warning hook, cheap:
it only sets ``nowcast_status = "pending"`` in the ingest transaction) queues it;
:func:`run_pending_nowcasts` (run by the service in a background thread) computes each queued
nowcast outside any write transaction and stores it on the warning (``nowcast`` and
``nowcast_status`` ``done``, or ``failed`` with the message).

**The stage.** When the warning was raised by the rule's forecast trigger (reason
``forecast``), the stage is the one the warning forecasts: the threshold of the warned level
(the trigger's least-squares line through the datastream's observations in the rule's forecast
window, evaluated ``horizon_h`` hours ahead, reaches it), or the trend's own stage when that
is lower, and never less than the observed stage. A straight line extrapolated hours ahead
overshoots a flood crest (a steep rise at the start of a flood projects tens of metres), so
the nowcast shows who is at risk when the river reaches the warned level, not at the
extrapolated stage. Otherwise (threshold or rate) it is the observed stage of that change. Stages are rounded to 0.1 m, and nowcasts are
cached by rounded stage.

**Datum.** The rule thresholds (35.5–39.51 m) are Changsha station stages, and the demo city's
DEM is in the same station datum (``city.metadata["vertical_datum"]``), so no conversion is
needed. A twin whose DEM is in another vertical datum says so with
``city.metadata["stage_datum_offset_m"]`` (DEM height of the gauge datum's zero, m); the flood
model then runs at ``stage + offset``.

**The impact** (:func:`nowcast_for_stage`) is the river flood scenario at that stage
(:func:`resilientcity.hazard.flood.river_flood_scenario`, bathtub with connectivity, no levees:
an upper screening estimate) through the impact engine
(:func:`resilientcity.impact.assess.scenario_impact`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resilientcity.critical import critical_facilities
from resilientcity.hazard.flood import flood_depth, river_flood_scenario
from resilientcity.impact.assess import scenario_impact
from resilientcity.network import edge_flood_depth, edge_state
from resilientcity.operations.db import Database
from resilientcity.operations.models import (
    Datastream,
    LiveWarning,
    Observation,
    WarningEvent,
    WarningRuleRow,
    utcnow,
)
from resilientcity.twin.city import City
from resilientcity.vocabulary import LEVELS
from resilientcity.vulnerability.library import VulnerabilityLibrary
from resilientcity.warning import WarningRule

__all__ = [
    "NowcastCache",
    "live_road_state",
    "mark_nowcasts",
    "nowcast_for_stage",
    "run_pending_nowcasts",
    "warning_stage",
]

#: The observed property whose warnings get a nowcast.
RIVER_STAGE = "river_stage"
#: Nowcast stages are rounded to this (m), which is also the cache's resolution.
STAGE_STEP_M = 0.1


def mark_nowcasts(session: Session, events: Sequence[WarningEvent], now: datetime) -> list[int]:
    """Queue a nowcast for each river stage warning the batch issued or escalated (a hook).

    Returns
    -------
    list of int
        Ids of the warnings marked ``pending``.
    """
    rising = {e.warning_id for e in events if e.kind in ("issued", "escalated")}
    if not rising:
        return []
    rows = session.scalars(
        select(LiveWarning)
        .join(Datastream, Datastream.id == LiveWarning.datastream_id)
        .where(LiveWarning.id.in_(rising), Datastream.observed_property == RIVER_STAGE)
    ).all()
    for warning in rows:
        warning.nowcast_status = "pending"
    return [w.id for w in rows]


def _rounded(stage_m: float) -> float:
    return round(round(stage_m / STAGE_STEP_M) * STAGE_STEP_M, 3)


def _dem_stage(city: City, stage_m: float) -> float:
    """A gauge stage in the DEM's vertical datum (``stage_datum_offset_m``, see the module)."""
    return stage_m + float(city.metadata.get("stage_datum_offset_m", 0.0))


def nowcast_for_stage(
    city: City,
    stage_m: float,
    source: str = "observed",
    library: VulnerabilityLibrary | None = None,
) -> dict[str, Any]:
    """People, buildings and critical facilities the river floods at ``stage_m``.

    Parameters
    ----------
    city
        The twin (DEM, rivers, assets).
    stage_m
        River stage (m, gauge datum).
    source
        Where the stage comes from (``observed`` or ``forecast``), recorded in the result.
    library
        Vulnerability library (default :meth:`VulnerabilityLibrary.default`).

    Returns
    -------
    dict
        ``stage_m``, ``stage_source``, ``dem_stage_m`` (the stage in the DEM's datum),
        ``people_at_risk`` (residents, i.e. occupants of residential assets, that stand in water),
        ``buildings_flooded`` (assets of kind ``building`` with depth > 0), ``assets_flooded``,
        ``expected_displaced`` and ``expected_fatalities`` (the impact engine's totals),
        ``critical_facilities`` (flooded assets of the ``facility_kinds`` of
        :func:`~resilientcity.critical.critical_facilities`, deepest first:
        ``asset_id``, ``name``, ``kind``, ``depth_m``).
    """
    dem_stage = _dem_stage(city, stage_m)
    events = river_flood_scenario(city, dem_stage)
    library = VulnerabilityLibrary.default() if library is None else library
    impact = scenario_impact("nowcast", city.assets, events, library)
    assets = city.assets
    depth = impact.assets["intensity"].to_numpy(dtype=np.float64)
    wet = depth > 0
    kind = assets["kind"].to_numpy(dtype=str)
    residential = assets["occupancy"].to_numpy(dtype=str) == "residential"
    occupants = assets["occupants"].to_numpy(dtype=np.float64)
    critical = np.flatnonzero(wet & np.isin(kind, critical_facilities().facility_kinds))
    critical = critical[np.argsort(-depth[critical], kind="stable")]
    return {
        "stage_m": round(stage_m, 3),
        "stage_source": source,
        "dem_stage_m": round(dem_stage, 3),
        "people_at_risk": float(occupants[wet & residential].sum()),
        "buildings_flooded": int(np.count_nonzero(wet & (kind == "building"))),
        "assets_flooded": int(np.count_nonzero(wet)),
        "expected_displaced": round(float(impact.totals["displaced"]), 1),
        "expected_fatalities": round(float(impact.totals["fatalities"]), 3),
        "critical_facilities": [
            {
                "asset_id": str(assets["asset_id"].iloc[i]),
                "name": str(assets["name"].iloc[i]),
                "kind": str(kind[i]),
                "depth_m": round(float(depth[i]), 2),
            }
            for i in critical
        ],
    }


def warning_stage(session: Session, warning: LiveWarning) -> tuple[float, str]:
    """The stage a river warning's nowcast uses, and its source (see the module).

    The forecast stage needs the rule's forecast window to hold at least ``min_points``
    observations before the warning's last change; with fewer (or without a forecast trigger)
    the observed stage is used.
    """
    observed = (float(warning.value), "observed")
    if warning.reason != "forecast":
        return observed
    row = session.get(WarningRuleRow, warning.rule_id)
    rule = WarningRule.model_validate(row.spec) if row is not None else None
    if rule is None or rule.forecast is None:
        return observed
    spec = rule.forecast
    t = warning.updated_at
    points = session.execute(
        select(Observation.phenomenon_time, Observation.result)
        .where(
            Observation.datastream_id == warning.datastream_id,
            Observation.phenomenon_time > t - timedelta(minutes=spec.window_min),
            Observation.phenomenon_time <= t,
        )
        .order_by(Observation.phenomenon_time)
    ).all()
    if len(points) < spec.min_points or points[0][0] == points[-1][0]:
        return observed
    minutes = np.array([(p - t).total_seconds() / 60.0 for p, _ in points])
    values = np.array([v for _, v in points], dtype=np.float64)
    slope, intercept = np.polyfit(minutes, values, 1)
    trend = float(intercept + slope * spec.horizon_h * 60.0)
    return max(float(warning.value), min(trend, _level_stage(rule, warning.level))), "forecast"


def _level_stage(rule: WarningRule, level: str) -> float:
    """The threshold of ``level`` in ``rule`` (``inf`` when the rule has none for it)."""
    thresholds: dict[str, float | None] = dict(
        zip(LEVELS[1:], rule.thresholds.as_tuple(), strict=True)
    )
    value = thresholds.get(level)
    return math.inf if value is None else float(value)


@dataclass
class NowcastCache:
    """Nowcasts of one city by rounded stage (m)."""

    city: City
    by_stage: dict[float, dict[str, Any]] = field(default_factory=dict)
    library: VulnerabilityLibrary | None = None
    roads_by_stage: dict[float, pd.DataFrame] = field(default_factory=dict)

    def get(self, stage_m: float, source: str) -> dict[str, Any]:
        """The nowcast at ``stage_m`` rounded to :data:`STAGE_STEP_M`, computed once."""
        key = _rounded(stage_m)
        if key not in self.by_stage:
            if self.library is None:
                self.library = VulnerabilityLibrary.default()
            self.by_stage[key] = nowcast_for_stage(self.city, key, library=self.library)
        return {**self.by_stage[key], "stage_source": source, "stage_unrounded_m": stage_m}

    def roads(self, stage_m: float) -> pd.DataFrame:
        """The state of the roads flooded by the river at ``stage_m``, computed once.

        :func:`~resilientcity.network.road_state.edge_state`, with the stage rounded to
        :data:`STAGE_STEP_M`.
        """
        key = _rounded(stage_m)
        if key not in self.roads_by_stage:
            city = self.city
            if city.dem is None or len(city.rivers) == 0:
                self.roads_by_stage[key] = edge_state(city)
            else:
                grid = flood_depth(city.dem, city.rivers, _dem_stage(city, key))
                self.roads_by_stage[key] = edge_state(city, edge_flood_depth(city, grid))
        return self.roads_by_stage[key]


_CACHES: dict[int, NowcastCache] = {}


def _cache_of(city: City) -> NowcastCache:
    cache = _CACHES.get(id(city))
    if cache is None or cache.city is not city:
        cache = _CACHES[id(city)] = NowcastCache(city)
    return cache


def live_road_state(session: Session, city: City) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The roads as the river floods them now, for planning on the live network.

    The stage is the highest over the active river-stage warnings of the larger of the
    warning's nowcast stage (:func:`warning_stage`: observed or forecast) and the latest
    observation of its gauge; the roads are those of the river flood at that stage
    (:func:`~resilientcity.network.road_state.edge_state`: closed at 0.30 m of water, slowed below).
    Without an active river-stage warning the roads are intact.

    Returns
    -------
    tuple
        The edge state (one row per road edge, ``open``, ``speed_factor``, ``reason``) and a
        description: ``stage_m`` (``None`` when intact), ``warning_ids``, ``closed_edges``.
    """
    active = session.scalars(
        select(LiveWarning)
        .join(Datastream, Datastream.id == LiveWarning.datastream_id)
        .where(LiveWarning.status == "active", Datastream.observed_property == RIVER_STAGE)
        .order_by(LiveWarning.id)
    ).all()
    stages: list[float] = []
    for warning in active:
        latest = session.scalar(
            select(Observation.result)
            .where(
                Observation.datastream_id == warning.datastream_id,
                Observation.phenomenon_time
                == select(func.max(Observation.phenomenon_time))
                .where(Observation.datastream_id == warning.datastream_id)
                .scalar_subquery(),
            )
            .limit(1)
        )
        candidates = [warning_stage(session, warning)[0]]
        if latest is not None:
            candidates.append(float(latest))
        stage = max((c for c in candidates if math.isfinite(c)), default=math.nan)
        if math.isfinite(stage):
            stages.append(stage)
    if not stages:
        return edge_state(city), {"stage_m": None, "warning_ids": [], "closed_edges": 0}
    stage = max(stages)
    state = _cache_of(city).roads(stage)
    return state, {
        "stage_m": _rounded(stage),
        "warning_ids": [w.id for w in active],
        "closed_edges": int((~state["open"]).sum()),
    }


def run_pending_nowcasts(db: Database, city: City, now: datetime | None = None) -> int:
    """Compute every pending nowcast and store it on its warning.

    Reads the pending warnings and their stages, computes outside any write transaction, then
    writes each result (``nowcast_status`` ``done``) or the error (``failed``, ``nowcast`` =
    ``{"error": message}``). A warning that changed again meanwhile (it is pending for its new
    stage) is left for the next run.

    Returns
    -------
    int
        Nowcasts stored (done or failed).
    """
    now = utcnow() if now is None else now
    with db.read() as session:
        pending = session.scalars(
            select(LiveWarning)
            .where(LiveWarning.nowcast_status == "pending")
            .order_by(LiveWarning.id)
        ).all()
        jobs = [(w.id, w.updated_at, *warning_stage(session, w)) for w in pending]
    cache = _cache_of(city)
    results: list[tuple[int, datetime, str, dict[str, Any]]] = []
    for warning_id, changed, stage, source in jobs:
        try:
            if not math.isfinite(stage):
                raise ValueError(f"stage {stage} is not a finite number")
            result = cache.get(stage, source)
            result["computed_at"] = now.isoformat()
            results.append((warning_id, changed, "done", result))
        except Exception as exc:  # any failure is stored on the warning, with its message
            results.append(
                (warning_id, changed, "failed", {"error": f"{type(exc).__name__}: {exc}"})
            )
    stored = 0
    with db.write() as session:
        for warning_id, changed, status, result in results:
            warning = session.get(LiveWarning, warning_id, with_for_update=True)
            if warning is None or warning.nowcast_status != "pending":
                continue
            if warning.updated_at != changed:
                continue
            warning.nowcast = result
            warning.nowcast_status = status
            stored += 1
    return stored
