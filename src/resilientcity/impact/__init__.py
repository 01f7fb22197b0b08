"""Impact: from hazard intensity at every asset to damage, loss and consequences.

:mod:`~resilientcity.impact.engine` is the vectorised, chunked engine (numba kernels; damage
functions; channels per event, asset and group; EAL; exceedance curves) and
:mod:`~resilientcity.impact.fragility` its fragility-curve path;
:mod:`~resilientcity.impact.assess` wires the vulnerability library's curves and consequence data
into them for a city's assets.
"""

from resilientcity.impact.assess import CHANNELS, assess_impact, scenario_impact
from resilientcity.impact.engine import (
    CHUNK_ENTRIES,
    damage_function_impact,
    damage_ratio,
    exceedance_curve,
)
from resilientcity.impact.fragility import fragility_impact
from resilientcity.impact.results import (
    ChannelResult,
    EventSetImpact,
    ImpactResult,
    ScenarioImpact,
)

__all__ = [
    "CHANNELS",
    "CHUNK_ENTRIES",
    "ChannelResult",
    "EventSetImpact",
    "ImpactResult",
    "ScenarioImpact",
    "assess_impact",
    "damage_function_impact",
    "damage_ratio",
    "exceedance_curve",
    "fragility_impact",
    "scenario_impact",
]
