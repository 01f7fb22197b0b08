"""The scenario's decision stage (so far): evacuating the displaced to functioning shelters.

The people to shelter are the residents the impact stage displaces (their expected number per
building, summed over the hazards that struck together and capped at the building's
occupants). They go to the shelters that are not themselves damaged (a shelter without mains
water or power still takes people: relief supplies it), within capacity, on the road network
as the network stage left it at the moment of the event (closures and slow-downs), by the least
total person-minutes (:func:`resilientcity.decision.evacuation.evacuate`, HiGHS). Rescue
dispatch, relief distribution, repair priorities and contingency plans follow in later stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from resilientcity.decision.evacuation import EvacuationPlan, evacuate
from resilientcity.impact.results import ScenarioImpact
from resilientcity.scenario.network_stage import NetworkStage
from resilientcity.twin.city import City

__all__ = ["decision_summary", "displaced_people", "evacuation_stage"]


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


def decision_summary(plan: EvacuationPlan) -> dict[str, Any]:
    """The ``decision`` block of ``summary.json`` (people; minutes)."""
    t = plan.totals
    mean = float(t["mean_travel_min"])
    return {
        "evacuated": float(t["sheltered"]),
        "unsheltered": float(t["unsheltered"]),
        "unsheltered_isolated": float(t["unsheltered_isolated"]),
        "unsheltered_capacity": float(t["unsheltered_capacity"]),
        "mean_evacuation_min": mean if np.isfinite(mean) else None,
        "shelters_used": int((plan.shelters["assigned_people"] > 0).sum()),
    }
