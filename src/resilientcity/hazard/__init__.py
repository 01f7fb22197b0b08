"""Hazards: event sets and the intensity they put on every asset of a city."""

from resilientcity.hazard.events import HAZARD_UNITS, HazardEvents, HazardKind

__all__ = ["HAZARD_UNITS", "HazardEvents", "HazardKind"]
