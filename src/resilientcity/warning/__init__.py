"""Four-level warnings (blue, yellow, orange, red) from observation streams: rules and engine.

Pure computation: no database, network or clock; time comes in with the observations.
"""

from resilientcity.warning.engine import (
    ChangeKind,
    Reason,
    WarningChange,
    WarningState,
    evaluate,
    levels_over_time,
)
from resilientcity.warning.rules import (
    Direction,
    ForecastTrigger,
    RateTrigger,
    Thresholds,
    WarningRule,
    example_rules,
    load_rules,
    packaged_rules,
    rules_from_dict,
)

__all__ = [
    "ChangeKind",
    "Direction",
    "ForecastTrigger",
    "RateTrigger",
    "Reason",
    "Thresholds",
    "WarningChange",
    "WarningRule",
    "WarningState",
    "evaluate",
    "example_rules",
    "levels_over_time",
    "load_rules",
    "packaged_rules",
    "rules_from_dict",
]
