"""The decision stages' result as a typed block: the ``decision`` block of ``summary.json``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["DecisionSummary", "RepairPolicyTotals"]


@dataclass(frozen=True)
class RepairPolicyTotals:
    """One repair policy of the comparison (:func:`~resilientcity.decision.repair.compare_repair_policies`)."""

    policy: str = field(metadata={"doc": "naive, critical_first, population or greedy"})
    resilience_loss: float = field(metadata={"unit": "days", "doc": "∫(1 − Q) dt of the city"})
    resilience_index: float = field(metadata={"unit": "0–1", "doc": "∫Q dt / T of the city"})
    rapidity_days: float = field(
        metadata={"unit": "days", "doc": "days back to 95 % (Infinity when not within the span)"}
    )
    loss_vs_naive: float = field(
        metadata={"unit": "days", "doc": "resilience loss saved against the naive order"}
    )
    loss_vs_naive_pct: float = field(metadata={"unit": "%", "doc": "the same in per cent"})

    @classmethod
    def rows(cls, table: pd.DataFrame) -> tuple[RepairPolicyTotals, ...]:
        """The rows of the comparison table, in its order."""
        return tuple(
            cls(str(r["policy"]), *(float(r[k]) for k in _POLICY_NUMBERS))
            for r in table.to_dict(orient="records")
        )


_POLICY_NUMBERS = (
    "resilience_loss",
    "resilience_index",
    "rapidity_days",
    "loss_vs_naive",
    "loss_vs_naive_pct",
)


@dataclass(frozen=True)
class DecisionSummary:
    """The ``decision`` block: rescue, evacuation, relief, repair policies and plans.

    Every key but ``plans_fired`` and ``tasks`` is ``null`` when the scenario's decisions are
    switched off (``decisions.enabled: false``, or no network stage); the keys of a stage the
    city cannot run (``skipped`` in ``summary.json``) are ``null`` too.
    """

    mean_response_min: float | None = field(
        default=None, metadata={"unit": "min", "doc": "mean response time of the served incidents"}
    )
    incidents: int | None = field(
        default=None, metadata={"unit": "incidents", "doc": "rescue incidents in all"}
    )
    incidents_planned: int | None = field(
        default=None, metadata={"unit": "incidents", "doc": "incidents of the first wave planned"}
    )
    incidents_unserved: int | None = field(
        default=None,
        metadata={
            "unit": "incidents",
            "doc": "incidents not served (the first wave's and the rest)",
        },
    )
    evacuated: float | None = field(
        default=None, metadata={"unit": "people", "doc": "displaced people sheltered"}
    )
    unsheltered: float | None = field(
        default=None, metadata={"unit": "people", "doc": "displaced people without a shelter"}
    )
    unsheltered_isolated: float | None = field(
        default=None, metadata={"unit": "people", "doc": "of these: no road to any open shelter"}
    )
    unsheltered_capacity: float | None = field(
        default=None, metadata={"unit": "people", "doc": "of these: the shelters are full"}
    )
    mean_evacuation_min: float | None = field(
        default=None, metadata={"unit": "min", "doc": "mean travel time of the sheltered"}
    )
    shelters_used: int | None = field(
        default=None, metadata={"unit": "shelters", "doc": "shelters assigned people"}
    )
    relief_fill_rate: float | None = field(
        default=None,
        metadata={"unit": "0–1", "doc": "unweighted mean of the commodities' fill rates"},
    )
    relief_fill_by_commodity: dict[str, float | None] | None = field(
        default=None,
        metadata={"key": "commodity", "unit": "0–1", "doc": "delivered / needed per commodity"},
    )
    relief_unmet: dict[str, float] | None = field(
        default=None,
        metadata={"key": "commodity", "doc": "unmet units per commodity (its own unit)"},
    )
    repair_policies: tuple[RepairPolicyTotals, ...] | None = field(
        default=None, metadata={"doc": "the repair policies compared (recovery.compare_policies)"}
    )
    plans_fired: tuple[str, ...] = field(
        default=(), metadata={"doc": "ids of the contingency plans fired"}
    )
    tasks: int = field(default=0, metadata={"unit": "tasks", "doc": "tasks of the fired plans"})
