"""The scenario's decision stages: evacuation and rescue dispatch (relief: :mod:`.relief_stage`).

The people to shelter are the residents the impact stage displaces (their expected number per
building, summed over the hazards that struck together and capped at the building's
occupants). They go to the shelters that are not themselves damaged (a shelter without mains
water or power still takes people: relief supplies it), within capacity, on the road network
as the network stage left it at the moment of the event (closures and slow-downs), by the least
total person-minutes (:func:`resilientcity.decision.evacuation.evacuate`, HiGHS). Rescue
dispatch (:func:`dispatch_stage`) sends the teams of the undamaged fire stations and hospitals to
the incidents the impact stage makes (collapsed or deeply flooded occupied buildings), by the
highest priority served, then the least priority-weighted response time. Relief distribution is
:mod:`~resilientcity.scenario.relief_stage`; repair priorities are compared by
:func:`~resilientcity.decision.repair.compare_repair_policies` (``recovery.compare_policies``).
The scenario's ``decisions:`` options (:class:`~resilientcity.scenario.config.DecisionOptions`)
set the first wave's size and the relief days.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from resilientcity.decision.dispatch import (
    DispatchPlan,
    dispatch_teams,
    dispatch_travel_minutes,
    incidents_from_impact,
    rescue_stations,
)
from resilientcity.decision.evacuation import EvacuationPlan, evacuate
from resilientcity.impact.results import ScenarioImpact
from resilientcity.recovery.stage import NetworkStage
from resilientcity.scenario.config import DecisionOptions
from resilientcity.twin.city import City

__all__ = ["decision_summary", "dispatch_stage", "displaced_people", "evacuation_stage"]


def displaced_people(city: City, impacts: Sequence[ScenarioImpact]) -> pd.Series:
    """Residents to shelter per asset (``asset_id`` index): displaced, capped at occupants."""
    total = np.zeros(len(city.assets))
    for impact in impacts:
        total += impact.assets["displaced"].to_numpy()
    capped = np.minimum(total, city.assets["occupants"].to_numpy(dtype=np.float64))
    return pd.Series(capped, index=city.assets["asset_id"].to_numpy(dtype=str), name="people")


def evacuation_stage(
    city: City, impacts: Sequence[ScenarioImpact], stage: NetworkStage
) -> EvacuationPlan:
    """The optimal evacuation of the displaced to the functioning shelters (see the module)."""
    ids = city.assets["asset_id"].to_numpy(dtype=str)
    shelters = (city.assets["kind"] == "shelter").to_numpy()
    # A shelter that is not itself damaged can take people even without mains water or power
    # (relief supplies them), so the physical damage decides, not the cascade.
    up = pd.Series(~stage.damaged[shelters], index=ids[shelters])
    return evacuate(city, stage.edges, displaced_people(city, impacts), functional=up)


#: The defaults of the scenario's ``decisions:`` block.
_DEFAULTS = DecisionOptions()


def dispatch_stage(
    city: City,
    impacts: Sequence[ScenarioImpact],
    stage: NetworkStage,
    max_incidents: int = _DEFAULTS.max_dispatch_incidents,
) -> tuple[DispatchPlan, int]:
    """Rescue teams to the incidents of every hazard, on the damaged roads.

    Teams start from the undamaged fire stations and hospitals; incidents are the collapsed or
    deeply flooded occupied buildings.

    Returns the plan of the ``max_incidents`` highest-priority incidents (the first wave,
    ``decisions.max_dispatch_incidents``) and the number of incidents in all; the others wait
    for the next wave (counted as unserved). With the demo's rosters (2 teams × 3 jobs per
    station) a few hundred can be served at once, and the assignment MILP of tens of thousands
    of incidents would take minutes.
    """
    frames = [incidents_from_impact(city, impact) for impact in impacts]
    incidents = pd.concat(frames, ignore_index=True) if frames else _no_incidents()
    if len(frames) > 1:  # the same building hit by two hazards is one incident
        incidents = incidents.drop_duplicates("incident_id")
    total = len(incidents)
    if total > max_incidents:
        incidents = incidents.sort_values(
            ["priority", "incident_id"], ascending=[False, True], kind="stable"
        ).head(max_incidents)
    stations = rescue_stations(city)
    down = set(city.assets["asset_id"].to_numpy(dtype=str)[stage.damaged])
    stations = stations[~stations["station_id"].isin(down)].reset_index(drop=True)
    minutes = dispatch_travel_minutes(city, stage.edges, stations, incidents)
    return dispatch_teams(incidents, stations, minutes), total


def _no_incidents() -> pd.DataFrame:
    """The incidents of no hazard (a baseline run): the columns of ``incidents_from_impact``."""
    return pd.DataFrame(
        {
            "incident_id": pd.Series(dtype=str),
            "asset_id": pd.Series(dtype=str),
            "node_id": pd.Series(dtype=np.int64),
            "priority": pd.Series(dtype=np.float64),
            "teams_needed": pd.Series(dtype=np.int64),
            "cause": pd.Series(dtype=str),
        }
    )


def decision_summary(
    plan: EvacuationPlan | None,
    dispatch: DispatchPlan | None = None,
    incidents_total: int | None = None,
) -> dict[str, Any]:
    """The evacuation and rescue keys of the ``decision`` block of ``summary.json``.

    Keyword arguments of :class:`~resilientcity.decision.summary.DecisionSummary` (people;
    minutes). Without ``plan`` (the evacuation was skipped) the evacuation keys are left out
    (``null``); without ``dispatch`` (skipped) the rescue keys.
    """
    rescue: dict[str, Any] = {}
    if dispatch is not None:
        response = float(dispatch.totals["mean_response_min"])
        planned = len(dispatch.incidents)
        total = incidents_total if incidents_total is not None else planned
        rescue = {
            "mean_response_min": response if np.isfinite(response) else None,
            "incidents": total,
            "incidents_planned": planned,
            "incidents_unserved": int(dispatch.totals["unserved"]) + (total - planned),
        }
    if plan is None:
        return rescue
    t = plan.totals
    mean = float(t["mean_travel_min"])
    return {
        **rescue,
        "evacuated": float(t["sheltered"]),
        "unsheltered": float(t["unsheltered"]),
        "unsheltered_isolated": float(t["unsheltered_isolated"]),
        "unsheltered_capacity": float(t["unsheltered_capacity"]),
        "mean_evacuation_min": mean if np.isfinite(mean) else None,
        "shelters_used": int((plan.shelters["assigned_people"] > 0).sum()),
    }
