"""Impact: from hazard intensity at every asset to damage and loss, per event and per year."""

from resilientcity.impact.engine import (
    ImpactResult,
    damage_function_impact,
    damage_ratio,
    exceedance_curve,
)

__all__ = ["ImpactResult", "damage_function_impact", "damage_ratio", "exceedance_curve"]
