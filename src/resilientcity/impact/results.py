"""What a scenario's impact stage hands on: per hazard, per asset, per event set.

:class:`ScenarioImpact` is one hazard (or a compound of hazards that strike together) on the city,
with its per-asset table — the mean over the hazard's events when it has several realisations —
and its totals. :class:`EventSetImpact` is a probabilistic event set with its expected annual
loss and loss-exceedance curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from resilientcity.hazard.events import HazardEvents
from resilientcity.impact.engine import ImpactResult

__all__ = ["ASSET_COLUMNS", "EventSetImpact", "ScenarioImpact"]

#: Columns of :attr:`ScenarioImpact.assets`, with their meaning and unit.
ASSET_COLUMNS: dict[str, str] = {
    "asset_id": "asset id (assets.asset_id)",
    "intensity": "hazard intensity at the asset (the hazard's unit; mean over events)",
    "damage_ratio": "expected loss / replacement value (0–1)",
    "loss_cny": "expected repair cost (CNY)",
    "casualties": "expected people injured or killed",
    "fatalities": "expected people killed",
    "displaced": "expected residents displaced from their homes",
    "p_functional": "probability that the asset still functions (0–1)",
    "restoration_days": "expected days to restore the asset (0 when undamaged)",
}


@dataclass(frozen=True, eq=False)
class ScenarioImpact:
    """The impact of one scenario hazard on every asset.

    Attributes
    ----------
    name
        What struck, in words (``"flood: river stage 39.51 m + rainstorm T100 120 min"``).
    kind
        Hazard kind whose vulnerability curves were used.
    unit
        Unit of ``assets.intensity``.
    events
        The hazard events (one, or several realisations of an ensemble).
    result
        The engine's result (per event and asset, channels, groups).
    assets
        One row per asset, columns :data:`ASSET_COLUMNS`: the mean over the events.
    totals
        City totals of the mean event: ``loss_cny``, ``casualties``, ``fatalities``,
        ``displaced``, ``assets_exposed``, ``assets_nonfunctional`` (expected number).
    notes
        Assumptions worth showing next to the numbers.
    """

    name: str
    kind: str
    unit: str
    events: HazardEvents
    result: ImpactResult
    assets: pd.DataFrame
    totals: dict[str, float]
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, eq=False)
class EventSetImpact:
    """A probabilistic event set: expected annual loss and the loss-exceedance curve.

    Attributes
    ----------
    name
        The set in words (``"river flood, Xiang River at Changsha stage-frequency table"``).
    kind
        Hazard kind.
    events
        The event set (annual frequencies).
    result
        The engine's result (``aai`` is the expected annual loss, ``eai`` per asset).
    exceedance
        :func:`~resilientcity.impact.exceedance_curve` of the set's event losses.
    """

    name: str
    kind: str
    events: HazardEvents
    result: ImpactResult
    exceedance: pd.DataFrame

    @property
    def expected_annual_loss(self) -> float:
        """Expected annual loss of the set, CNY per year."""
        return self.result.aai
