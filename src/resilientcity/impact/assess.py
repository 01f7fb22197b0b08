"""Impact of hazard events on a city's assets: curves, consequences, engine, per-asset table.

:func:`assess_impact` picks the engine path from the curves the library assigns: damage
functions (flood, wind) or fragility curves (earthquake). Each path computes the same five
*channels* per event and asset:

``loss``
    repair cost (CNY): value × mean damage ratio (damage functions), or
    value × Σ_k P(ds = k) × repair ratio_k (fragility);
``casualties``
    people injured or killed: occupants × Σ_k P_k × casualty rate_k (fragility); for damage
    functions, occupants × mortality(intensity) where the hazard has a mortality function
    (flood), so there the casualties are the fatalities only;
``fatalities``
    people killed: occupants × Σ_k P_k × fatality rate_k, or occupants × mortality(intensity);
``displaced``
    residents (occupants of residential buildings) × Σ_k P_k × displaced share_k, or residents ×
    displaced share(intensity);
``nonfunctional``
    probability that the asset does not function: Σ_k P_k × (1 − functional_k), or
    1 − functional probability(intensity).

The per-asset table of :func:`scenario_impact` adds ``restoration_days``: Σ_k P_k × restoration
days_k for fragility curves, and the intensity consequences' restoration days (of the damage
ratio or intensity) for damage functions, for the recovery stage.

The consequence data (repair ratios, casualty rates, displacement and functionality per damage
state; mortality and thresholds per intensity) come from the vulnerability library, each with
its source. Assets without hazard, and assets whose class the class map gives no curve for the
hazard (``"none"``), keep every channel at 0 (functioning, nobody hurt).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity.errors import Problem, ValidationError
from resilientcity.hazard.events import HazardEvents
from resilientcity.impact.engine import damage_function_impact
from resilientcity.impact.fragility import fragility_impact
from resilientcity.impact.results import ImpactResult, ScenarioImpact
from resilientcity.vulnerability.consequences import DamageStateConsequences
from resilientcity.vulnerability.curves import DamageFunction, FragilityCurves
from resilientcity.vulnerability.library import VulnerabilityLibrary

__all__ = ["CHANNELS", "assess_impact", "scenario_impact"]

#: The channels every impact computes (see the module docstring).
CHANNELS = ("loss", "casualties", "fatalities", "displaced", "nonfunctional")
#: Asset columns grouped by in every impact.
GROUPS = ("zone_id", "sector")


def _residents(assets: pd.DataFrame) -> NDArray[np.float64]:
    occupants = assets["occupants"].to_numpy(dtype=np.float64)
    if "occupancy" not in assets:
        return np.where(assets["kind"].to_numpy(dtype=str) == "building", occupants, 0.0)
    return np.where(assets["occupancy"].to_numpy(dtype=str) == "residential", occupants, 0.0)


def _check_assets(assets: pd.DataFrame, events: HazardEvents) -> None:
    ids = assets["asset_id"].to_numpy(dtype=str)
    if ids.shape != events.asset_ids.shape or not np.array_equal(ids, events.asset_ids):
        raise ValidationError(
            [
                Problem(
                    "hazard",
                    "asset_ids",
                    "the city's assets in the city's order",
                    found=f"{events.n_assets:,} columns for {len(ids):,} assets",
                )
            ],
            what="impact inputs",
        )


def assess_impact(
    assets: pd.DataFrame,
    events: HazardEvents,
    library: VulnerabilityLibrary,
    *,
    groups: Sequence[str] = GROUPS,
    keep_matrix: bool = False,
    threads: int | None = None,
    evacuated_share: float = 0.0,
) -> ImpactResult:
    """Loss, casualties, fatalities, displaced and loss of function of every event and asset.

    Parameters
    ----------
    assets
        The city's assets (``asset_id``, ``vuln``, ``value``, ``occupants``, ``occupancy``
        and the ``groups`` columns), in the events' asset order.
    events
        Hazard events on these assets.
    library
        Curves, class map and consequence data.
    groups
        Asset columns to sum every channel by (per event).
    keep_matrix, threads
        Passed to the engine.
    evacuated_share
        Share of the occupants evacuated before the hazard strikes (0–1): casualties and
        fatalities are computed for the others, ``N = (1 − F_E) × F_D × N_PAR`` as in Jonkman,
        Vrijling & Vrouwenvelder (2008). Default 0: nobody evacuated.

    Raises
    ------
    ValidationError
        Assets whose class has no curve or no consequence data for the hazard, a class map that
        mixes damage functions and fragility curves for one hazard, or events that are not on
        these assets.
    """
    _check_assets(assets, events)
    if not 0.0 <= evacuated_share <= 1.0:
        raise ValidationError(
            [
                Problem(
                    "impact",
                    "evacuated_share",
                    "a share within [0, 1]",
                    found=f"{evacuated_share!r}",
                )
            ],
            what="impact inputs",
        )
    index, curves = library.assign(events.kind, assets["vuln"].astype(str))
    labels = {g: assets[g].astype(str).reset_index(drop=True) for g in groups}
    value = assets["value"].to_numpy(dtype=np.float64)
    occupants = assets["occupants"].to_numpy(dtype=np.float64) * (1.0 - evacuated_share)
    residents = _residents(assets)  # displacement does not depend on evacuation
    kinds = {type(c) for c in curves if c is not None}
    if kinds <= {DamageFunction}:
        ic = library.intensity_consequences(events.kind)
        # Classes mapped to "none" take no damage from the hazard, and no consequences either
        # (a bridge deck above the water whose DEM cell is the river bed).
        exposed = np.array([c is not None for c in curves], dtype=np.float64)[index]
        extra = {
            "casualties": (occupants * exposed, lambda x, _a: ic.fatality_rate(x)),
            "fatalities": (occupants * exposed, lambda x, _a: ic.fatality_rate(x)),
            "displaced": (residents * exposed, lambda x, _a: ic.displaced_share(x)),
            "nonfunctional": (exposed, lambda x, _a: 1.0 - ic.functional_probability(x)),
        }
        return damage_function_impact(
            events,
            value,
            index,
            [c if isinstance(c, DamageFunction) else None for c in curves],
            groups=labels,
            keep_matrix=keep_matrix,
            threads=threads,
            extra_channels=extra,
        )
    if kinds <= {FragilityCurves}:
        fragility = [c if isinstance(c, FragilityCurves) else None for c in curves]
        consequences = library.assign_consequences(events.kind, assets["vuln"].astype(str))
        weights = _state_weights(fragility, consequences)
        scale = {
            "restoration_days": np.ones(len(assets)),
            "loss": value,
            "casualties": occupants,
            "fatalities": occupants,
            "displaced": residents,
            "nonfunctional": np.ones(len(assets)),
        }
        return fragility_impact(
            events,
            index,
            fragility,
            weights,
            scale,
            groups=labels,
            keep_matrix=keep_matrix,
            threads=threads,
        )
    raise ValidationError(
        [
            Problem(
                "class_map",
                events.kind,
                "damage functions only or fragility curves only for one hazard",
                found="both",
            )
        ],
        what=f"vulnerability for {events.kind}",
    )


def _state_weights(
    curves: Sequence[FragilityCurves | None],
    consequences: Sequence[DamageStateConsequences | None],
) -> dict[str, NDArray[np.float64]]:
    """Per channel, a ``curves × (states + 1)`` weight table (state ``none`` first, weight 0)."""
    width = 1 + max((len(c.damage_states) for c in curves if c is not None), default=0)
    tables = {name: np.zeros((len(curves), width)) for name in (*CHANNELS, "restoration_days")}
    for k, (curve, cons) in enumerate(zip(curves, consequences, strict=True)):
        if curve is None or cons is None:
            continue
        n = len(curve.damage_states)
        tables["loss"][k, 1 : n + 1] = cons.repair_ratio
        tables["casualties"][k, 1 : n + 1] = cons.casualty_rate
        tables["fatalities"][k, 1 : n + 1] = cons.fatality_rate
        tables["displaced"][k, 1 : n + 1] = cons.displaced_rate
        tables["nonfunctional"][k, 1 : n + 1] = 1.0 - cons.functional
        tables["restoration_days"][k, 1 : n + 1] = cons.restoration_days
    return tables


#: Asset kinds whose restoration follows the Hazus lifeline restoration data, not buildings'.
LIFELINE_KINDS = frozenset(
    {"substation", "feeder", "power_plant", "water_plant", "pump_station", "telecom"}
)


def _lifeline_days(
    assets: pd.DataFrame,
    library: VulnerabilityLibrary,
    ratio: NDArray[np.float64],
    days: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Restoration days of lifeline facilities under a damage function (flood, wind).

    Hazus has no flood restoration functions for utility facilities, so the damage ratio is
    placed on the facility's Hazus damage-ratio scale (its repair ratio per damage state) and
    the days interpolated between the states' Hazus restoration days (the earthquake lifeline
    data of the library, ``hazus_eq_consequences.json``). Assumption: a facility with the
    repair cost of a damage state takes that state's restoration time, whatever the hazard.
    Buildings keep the intensity consequences' days.
    """
    lifeline = assets["kind"].isin(LIFELINE_KINDS).to_numpy() & (ratio > 0)
    if not lifeline.any():
        return days
    vuln = assets["vuln"].astype(str).to_numpy()[lifeline]
    index, _ = library.assign("earthquake", vuln)
    consequences = library.assign_consequences("earthquake", vuln)
    out = days.copy()
    rows = np.flatnonzero(lifeline)
    for k, cons in enumerate(consequences):
        if cons is None:
            continue
        members = rows[index == k]
        xp = np.r_[0.0, cons.repair_ratio]
        fp = np.r_[0.0, cons.restoration_days]
        out[members] = np.interp(ratio[members], xp, fp)
    return out


def _with_weights(events: HazardEvents, weights: NDArray[np.float64]) -> HazardEvents:
    return HazardEvents(events.kind, events.event_ids, weights, events.intensity, events.asset_ids)


def scenario_impact(
    name: str,
    assets: pd.DataFrame,
    events: HazardEvents,
    library: VulnerabilityLibrary,
    *,
    keep_matrix: bool = False,
    threads: int | None = None,
    evacuated_share: float = 0.0,
    notes: Sequence[str] = (),
) -> ScenarioImpact:
    """The impact of a scenario hazard: every channel, and its mean over the events per asset.

    The events of a scenario are equally likely realisations (or one event), so the per-asset
    table is their plain mean: the engine runs with weight ``1 / n`` per event, and its
    frequency-weighted sums are the means.
    """
    n = max(events.n_events, 1)
    weighted = _with_weights(events, np.full(events.n_events, 1.0 / n))
    result = assess_impact(
        assets,
        weighted,
        library,
        keep_matrix=keep_matrix,
        threads=threads,
        evacuated_share=evacuated_share,
    )
    value = assets["value"].to_numpy(dtype=np.float64)
    ch = result.channels
    loss = ch["loss"].annual
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(value > 0, loss / value, 0.0)
    intensity = np.asarray(events.to_csr().sum(axis=0)).ravel() / n
    if "restoration_days" in ch:  # fragility: Σ_k P_k × days_k, mean over the events
        days = ch["restoration_days"].annual
    else:  # damage functions: the intensity consequences' restoration of the mean event
        ic = library.intensity_consequences(events.kind)
        days = np.where(loss > 0, ic.restoration_days(intensity, ratio), 0.0)
        days = _lifeline_days(assets, library, ratio, days)
    table = pd.DataFrame(
        {
            "asset_id": events.asset_ids,
            "intensity": intensity,
            "damage_ratio": ratio,
            "loss": loss,
            "casualties": ch["casualties"].annual,
            "fatalities": ch["fatalities"].annual,
            "displaced": ch["displaced"].annual,
            "p_functional": 1.0 - ch["nonfunctional"].annual,
            "restoration_days": days,
        }
    )
    totals = {
        "loss": float(loss.sum()),
        "casualties": float(ch["casualties"].annual.sum()),
        "fatalities": float(ch["fatalities"].annual.sum()),
        "displaced": float(ch["displaced"].annual.sum()),
        "assets_exposed": float(np.count_nonzero(intensity > 0)),
        "assets_nonfunctional": float(ch["nonfunctional"].annual.sum()),
    }
    return ScenarioImpact(
        name, events.kind, events.unit, events, result, table, totals, tuple(notes)
    )
