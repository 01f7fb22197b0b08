"""Recovery: repairs under crew limits, time-stepped service curves and resilience metrics.

:func:`simulate_recovery` repairs damaged assets in a policy's order with a limited number of
crews per sector, re-runs the cascade at every step and records the service level of every
sector and zone as a :class:`ServiceCurve`; :mod:`~resilientcity.recovery.metrics` gives
robustness, rapidity, resilience loss and the resilience index of a curve.
"""

from resilientcity.recovery.metrics import (
    METRIC_COLUMNS,
    ServiceCurve,
    rapidity,
    resilience_index,
    resilience_loss,
    robustness,
)
from resilientcity.recovery.policies import population_served, repair_order
from resilientcity.recovery.simulation import (
    RecoveryResult,
    sample_restoration_days,
    schedule_repairs,
    simulate_recovery,
)

__all__ = [
    "METRIC_COLUMNS",
    "RecoveryResult",
    "ServiceCurve",
    "population_served",
    "rapidity",
    "repair_order",
    "resilience_index",
    "resilience_loss",
    "robustness",
    "sample_restoration_days",
    "schedule_repairs",
    "simulate_recovery",
]
