"""The impact engine for damage functions: hazard intensity → damage ratio → loss, chunked.

For every event ``e`` and asset ``a`` with intensity ``x[e, a] > 0`` the loss is

    loss[e, a] = value[a] × MDD_c(x[e, a]) × PAA_c(x[e, a]),

with ``c`` the asset's curve (CLIMADA's definition of impact). Assets without hazard (intensity
not stored in the sparse matrix) lose nothing. The expected annual impact of an asset is
``EAI[a] = Σ_e frequency[e] × loss[e, a]`` and the average annual impact ``AAI = Σ_a EAI[a]``.
Events are processed in chunks of rows so that memory stays bounded; the full loss matrix is
kept only on request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import Problem, ValidationError
from resilientcity.hazard.events import HazardEvents
from resilientcity.vulnerability.curves import DamageFunction

__all__ = ["ImpactResult", "damage_function_impact", "damage_ratio", "exceedance_curve"]

#: Default number of events per chunk.
CHUNK_EVENTS = 64


@dataclass(frozen=True, eq=False)
class ImpactResult:
    """Losses of an event set.

    Attributes
    ----------
    event_ids, frequency
        As in the hazard events.
    asset_ids
        The assets, in the order of the value array.
    loss_per_event
        Total loss of each event, CNY.
    eai
        Expected annual impact of each asset, CNY per year.
    group_loss
        Per grouping name, an ``events × groups`` DataFrame of losses (CNY), e.g. by zone or sector.
    matrix
        ``events × assets`` loss matrix (CSR, CNY), when asked for.
    """

    event_ids: NDArray[np.str_]
    frequency: NDArray[np.float64]
    asset_ids: NDArray[np.str_]
    loss_per_event: NDArray[np.float64]
    eai: NDArray[np.float64]
    group_loss: dict[str, pd.DataFrame] = field(default_factory=dict)
    matrix: sp.csr_array | None = None

    @property
    def aai(self) -> float:
        """Average annual impact (expected annual loss) of all assets, CNY per year."""
        return float(self.eai.sum())


def _check_inputs(
    events: HazardEvents,
    value: NDArray[np.float64],
    curve_index: NDArray[np.int64],
    curves: Sequence[DamageFunction | None],
) -> None:
    problems: list[Problem] = []
    n = events.n_assets
    if value.shape != (n,):
        problems.append(
            Problem("impact", "value", f"one value per asset ({n})", found=str(value.shape))
        )
    elif (bad := ~np.isfinite(value) | (value < 0)).any():
        problems.append(
            Problem("impact", "value", "a finite value >= 0", tuple(events.asset_ids[bad]))
        )
    if curve_index.shape != (n,):
        problems.append(
            Problem(
                "impact",
                "curve_index",
                f"one curve index per asset ({n})",
                found=str(curve_index.shape),
            )
        )
    elif len(curve_index) and ((curve_index < 0) | (curve_index >= len(curves))).any():
        bad = (curve_index < 0) | (curve_index >= len(curves))
        problems.append(
            Problem(
                "impact",
                "curve_index",
                f"an index into the {len(curves)} curves",
                tuple(events.asset_ids[bad]),
            )
        )
    wrong = [c.curve_id for c in curves if c is not None and c.hazard != events.kind]
    if wrong:
        problems.append(Problem("impact", "curves", f"{events.kind} curves", tuple(wrong)))
    if problems:
        raise ValidationError(problems, what="impact inputs")


def damage_ratio(
    intensity: sp.csr_array, curve_index: NDArray[np.int64], curves: Sequence[DamageFunction | None]
) -> sp.csr_array:
    """Mean damage ratio on the stored entries of an ``events × assets`` intensity matrix.

    Entries of assets whose curve is ``None`` (no damage) become 0 and are dropped.
    """
    data = intensity.data
    entry_curve = curve_index[intensity.indices]
    ratio = np.zeros_like(data)
    for c, curve in enumerate(curves):
        if curve is None:
            continue
        mask = entry_curve == c
        if mask.any():
            ratio[mask] = curve.mean_damage_ratio(data[mask])
    out = sp.csr_array((ratio, intensity.indices, intensity.indptr), shape=intensity.shape)
    out.eliminate_zeros()
    return out


def damage_function_impact(
    events: HazardEvents,
    value: ArrayLike,
    curve_index: ArrayLike,
    curves: Sequence[DamageFunction | None],
    groups: Mapping[str, pd.Series] | None = None,
    chunk_events: int = CHUNK_EVENTS,
    keep_matrix: bool = False,
) -> ImpactResult:
    """Losses of every event at every asset, from damage functions.

    Parameters
    ----------
    events
        Hazard events (``events × assets`` intensities).
    value
        Value exposed of each asset (CNY), in the events' asset order.
    curve_index
        Per asset, the index of its curve in ``curves`` (see
        :meth:`~resilientcity.vulnerability.VulnerabilityLibrary.assign`).
    curves
        Damage functions; ``None`` for classes that take no damage.
    groups
        Optional groupings of the assets (name → Series of group labels, one per asset, e.g.
        ``{"zone": assets.zone_id, "sector": assets.sector}``) to sum losses by.
    chunk_events
        Events per chunk (memory bound); results do not depend on it.
    keep_matrix
        Keep the full ``events × assets`` loss matrix (sparse).

    Returns
    -------
    ImpactResult
    """
    values = np.asarray(value, dtype=np.float64)
    index = np.asarray(curve_index, dtype=np.int64)
    _check_inputs(events, values, index, curves)
    if chunk_events < 1:
        raise ValueError(f"chunk_events: expected a positive number of events, got {chunk_events}")
    indicators: dict[str, tuple[pd.Index, sp.csr_array]] = {}
    for name, labels in (groups or {}).items():
        codes, uniques = pd.factorize(pd.Series(labels).to_numpy(), sort=True)
        if len(codes) != events.n_assets:
            raise ValidationError(
                [
                    Problem(
                        "impact",
                        f"groups.{name}",
                        f"one label per asset ({events.n_assets})",
                        found=str(len(codes)),
                    )
                ],
                what="impact inputs",
            )
        ind = sp.csr_array(
            (np.ones(len(codes)), (np.arange(len(codes)), codes)), shape=(len(codes), len(uniques))
        )
        indicators[name] = (pd.Index(uniques, name=name), ind)

    per_event = np.zeros(events.n_events)
    eai = np.zeros(events.n_assets)
    group_rows: dict[str, list[NDArray[np.float64]]] = {name: [] for name in indicators}
    kept: list[sp.csr_array] = []
    for start in range(0, events.n_events, chunk_events):
        stop = min(start + chunk_events, events.n_events)
        ratio = damage_ratio(events.intensity[start:stop], index, curves)
        loss = ratio.multiply(values[None, :]).tocsr()
        per_event[start:stop] = np.asarray(loss.sum(axis=1)).ravel()
        eai += np.asarray(events.frequency[start:stop] @ loss).ravel()
        for name, (_, ind) in indicators.items():
            group_rows[name].append(np.asarray((loss @ ind).todense()))
        if keep_matrix:
            kept.append(loss)
    group_loss = {
        name: pd.DataFrame(
            np.vstack(rows) if rows else np.zeros((0, len(indicators[name][0]))),
            index=pd.Index(events.event_ids, name="event_id"),
            columns=indicators[name][0],
        )
        for name, rows in group_rows.items()
    }
    matrix = sp.csr_array(sp.vstack(kept)) if keep_matrix and kept else None
    if keep_matrix and matrix is None:
        matrix = sp.csr_array((events.n_events, events.n_assets))
    return ImpactResult(
        events.event_ids, events.frequency, events.asset_ids, per_event, eai, group_loss, matrix
    )


def exceedance_curve(loss_per_event: ArrayLike, frequency: ArrayLike) -> pd.DataFrame:
    """Loss-exceedance curve: the loss exceeded with each annual frequency.

    Events are sorted by loss, largest first; the exceedance frequency of the ``k``-th largest
    loss is the sum of the frequencies of the ``k`` largest events, and its return period the
    inverse (as CLIMADA's ``calc_freq_curve``).

    Returns
    -------
    pandas.DataFrame
        Columns ``loss``, ``exceedance_frequency`` (per year) and ``return_period_years``, from
        the largest loss down.
    """
    loss = np.asarray(loss_per_event, dtype=np.float64)
    freq = np.asarray(frequency, dtype=np.float64)
    order = np.argsort(-loss, kind="stable")
    cumulative = np.cumsum(freq[order])
    with np.errstate(divide="ignore"):
        period = np.where(cumulative > 0, 1.0 / cumulative, np.inf)
    return pd.DataFrame(
        {"loss": loss[order], "exceedance_frequency": cumulative, "return_period_years": period}
    )
