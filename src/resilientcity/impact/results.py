"""What the impact engine and a scenario's impact stage hand on.

:class:`ImpactResult` is the engine's result for one set of events: a :class:`ChannelResult`
(per event, per event and group, per asset per year) for every channel.

:class:`ScenarioImpact` is one hazard (or a compound of hazards that strike together) on the city,
with its per-asset table — the mean over the hazard's events when it has several realisations —
and its totals. :class:`EventSetImpact` is a probabilistic event set with its expected annual
loss and loss-exceedance curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from resilientcity.hazard.events import HazardEvents

__all__ = ["ASSET_COLUMNS", "ChannelResult", "EventSetImpact", "ImpactResult", "ScenarioImpact"]

#: Columns of :attr:`ScenarioImpact.assets`, with their meaning and unit.
ASSET_COLUMNS: dict[str, str] = {
    "asset_id": "asset id (assets.asset_id)",
    "intensity": "hazard intensity at the asset (the hazard's unit; mean over events)",
    "damage_ratio": "expected loss / replacement value (0–1)",
    "loss": "expected repair cost (CNY)",
    "casualties": "expected people injured or killed",
    "fatalities": "expected people killed",
    "displaced": "expected residents displaced from their homes",
    "p_functional": "probability that the asset still functions (0–1)",
    "restoration_days": "expected days to restore the asset (0 when undamaged)",
}


@dataclass(frozen=True, eq=False)
class ChannelResult:
    """One consequence (loss, casualties …) of an event set.

    Attributes
    ----------
    per_event
        Sum over the assets for each event (events,).
    annual
        Per asset, ``Σ_e frequency[e] × value[e, a]`` (assets,): the expected annual value
        (for the loss, the expected annual impact in CNY per year).
    group
        Per grouping name, an ``events × groups`` DataFrame of sums (index ``event_id``,
        columns the sorted group labels).
    matrix
        ``events × assets`` CSR of ``value − baseline`` on the cells with hazard, when asked for.
    baseline
        The value of each asset where there is no hazard, when it is not 0 (fragility channels
        whose ``none`` state has a non-zero weight, e.g. a functionality channel); every cell is
        ``baseline[a] + matrix[e, a]``.
    """

    per_event: NDArray[np.float64]
    annual: NDArray[np.float64]
    group: dict[str, pd.DataFrame] = field(default_factory=dict)
    matrix: sp.csr_array | None = None
    baseline: NDArray[np.float64] | None = None

    @property
    def total_annual(self) -> float:
        """``Σ_a annual[a]`` (for the loss, the average annual impact)."""
        return float(self.annual.sum())


@dataclass(frozen=True, eq=False)
class ImpactResult:
    """Consequences of an event set, one :class:`ChannelResult` per channel.

    Attributes
    ----------
    event_ids, frequency
        As in the hazard events.
    asset_ids
        The assets, in the order of the per-asset arrays.
    channels
        Channel name → result; ``loss`` (CNY) is always there for damage functions.
    states
        With ``keep_states`` (fragility): ``events × assets × (1 + states)`` damage-state
        probabilities, ``none`` first (padded with 0 for curves with fewer states).
    """

    event_ids: NDArray[np.str_]
    frequency: NDArray[np.float64]
    asset_ids: NDArray[np.str_]
    channels: dict[str, ChannelResult]
    states: NDArray[np.float64] | None = None

    @property
    def loss(self) -> ChannelResult:
        """The ``loss`` channel (CNY)."""
        if "loss" not in self.channels:
            raise KeyError(f"no 'loss' channel in this result (channels: {list(self.channels)})")
        return self.channels["loss"]

    @property
    def loss_per_event(self) -> NDArray[np.float64]:
        """Total loss of each event, CNY."""
        return self.loss.per_event

    @property
    def eai(self) -> NDArray[np.float64]:
        """Expected annual impact (loss) of each asset, CNY per year."""
        return self.loss.annual

    @property
    def group_loss(self) -> dict[str, pd.DataFrame]:
        """Per grouping name, the ``events × groups`` losses (CNY)."""
        return self.loss.group

    @property
    def matrix(self) -> sp.csr_array | None:
        """The ``events × assets`` loss matrix (CSR, CNY), when asked for."""
        return self.loss.matrix

    @property
    def aai(self) -> float:
        """Average annual impact (expected annual loss) of all assets, CNY per year."""
        return self.loss.total_annual


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
        City totals of the mean event: ``loss``, ``casualties``, ``fatalities``,
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
