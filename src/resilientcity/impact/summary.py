"""The impact stage's result as a typed block: the ``impact`` block of ``summary.json``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from resilientcity.impact.results import EventSetImpact, ScenarioImpact

__all__ = ["EventSetTotals", "ExceedancePoint", "HazardTotals", "ImpactSummary"]


@dataclass(frozen=True)
class HazardTotals:
    """City totals of one hazard of the scenario (the mean over its events), rounded to 1e-6."""

    name: str = field(metadata={"doc": "the hazard's name (compound floods named together)"})
    kind: str = field(metadata={"doc": "hazard kind (river_flood, pluvial_flood, earthquake, …)"})
    unit: str = field(metadata={"doc": "unit of the hazard intensity (m, g, m/s)"})
    events: int = field(metadata={"doc": "events (realisations) of the hazard"})
    loss: float = field(metadata={"unit": "CNY", "doc": "direct loss"})
    casualties: float = field(metadata={"unit": "people", "doc": "expected casualties"})
    fatalities: float = field(metadata={"unit": "people", "doc": "expected fatalities"})
    displaced: float = field(metadata={"unit": "people", "doc": "expected displaced residents"})
    assets_exposed: float = field(metadata={"unit": "assets", "doc": "assets with intensity > 0"})
    assets_nonfunctional: float = field(
        metadata={"unit": "assets", "doc": "expected number of assets not functioning"}
    )


@dataclass(frozen=True)
class ExceedancePoint:
    """A point of an event set's loss-exceedance curve."""

    loss: float = field(metadata={"unit": "CNY", "doc": "event loss"})
    exceedance_frequency: float = field(
        metadata={"unit": "1/year", "doc": "annual frequency of a loss at least this large"}
    )
    return_period_years: float = field(metadata={"unit": "years", "doc": "1 / frequency"})


@dataclass(frozen=True)
class EventSetTotals:
    """A probabilistic event set: its expected annual loss and exceedance curve."""

    name: str = field(metadata={"doc": "the event set's name"})
    kind: str = field(metadata={"doc": "hazard kind of its events"})
    events: int = field(metadata={"doc": "events of the set"})
    expected_annual_loss: float = field(metadata={"unit": "CNY/year", "doc": "EAL of the set"})
    exceedance: tuple[ExceedancePoint, ...] = field(
        metadata={"doc": "loss-exceedance curve, rounded to 1e-6"}
    )


@dataclass(frozen=True)
class ImpactSummary:
    """The ``impact`` block: scenario totals (hazards strike together) and event-set EALs."""

    total_loss: float = field(metadata={"unit": "CNY", "doc": "Σ loss over the hazards"})
    casualties: float = field(metadata={"unit": "people", "doc": "Σ casualties"})
    fatalities: float = field(metadata={"unit": "people", "doc": "Σ fatalities"})
    displaced: float = field(metadata={"unit": "people", "doc": "Σ displaced residents"})
    expected_annual_loss: float | None = field(
        metadata={"unit": "CNY/year", "doc": "Σ EAL over the event sets; null without any"}
    )
    currency: Literal["CNY"] = field(metadata={"doc": "currency of the losses"})
    hazards: tuple[HazardTotals, ...] = field(metadata={"doc": "per hazard of the scenario"})
    event_sets: tuple[EventSetTotals, ...] = field(metadata={"doc": "per event set"})

    @classmethod
    def of(cls, impacts: Sequence[ScenarioImpact], sets: Sequence[EventSetImpact]) -> ImpactSummary:
        """The block of the scenario's impacts and event sets.

        Scenario totals add up over the scenario's hazards (they strike together); the
        expected annual loss adds up over the event sets (independent perils).
        """
        hazards = tuple(
            HazardTotals(
                name=i.name,
                kind=i.kind,
                unit=i.unit,
                events=i.events.n_events,
                **{k: round(float(i.totals[k]), 6) for k in _HAZARD_TOTALS},
            )
            for i in impacts
        )
        event_sets = tuple(
            EventSetTotals(
                name=s.name,
                kind=s.kind,
                events=s.events.n_events,
                expected_annual_loss=float(s.expected_annual_loss),
                exceedance=tuple(
                    ExceedancePoint(*(float(v) for v in row))
                    for row in s.exceedance.round(6)[_EXCEEDANCE].itertuples(index=False)
                ),
            )
            for s in sets
        )
        return cls(
            total_loss=float(sum(i.totals["loss"] for i in impacts)),
            casualties=float(sum(i.totals["casualties"] for i in impacts)),
            fatalities=float(sum(i.totals["fatalities"] for i in impacts)),
            displaced=float(sum(i.totals["displaced"] for i in impacts)),
            expected_annual_loss=float(sum(s.expected_annual_loss for s in sets)) if sets else None,
            currency="CNY",
            hazards=hazards,
            event_sets=event_sets,
        )


_EXCEEDANCE = ["loss", "exceedance_frequency", "return_period_years"]
_HAZARD_TOTALS = (
    "loss",
    "casualties",
    "fatalities",
    "displaced",
    "assets_exposed",
    "assets_nonfunctional",
)
