"""The network stage of a scenario: roads, cascade and recovery after the impact stage.

From the scenario impacts to what the damage does to the city:

1. an asset is *damaged* (down) in one seeded realisation drawn from its probability of
   functioning under all the scenario's hazards (they strike together; independent damage), or,
   on request, when that probability is below ``down_below`` (0.5,
   ``data/critical_facilities.json``); its repair takes the longest of the hazards'
   expected restoration times;
2. roads: flooded edges are slowed or closed by the compound flood depth, and road assets
   (bridges) that are damaged close their edges; travel minutes from every building to the
   nearest functioning hospital, shelter and fire station (the kinds the city has), isolated
   population (no hospital reachable; in a city without hospitals, cut off from the main part
   of the open roads), detours;
3. the interdependency cascade at the moment of the event (backups still running), with road
   access: which assets stop and why;
4. recovery: repairs with the crews and priority policy of the scenario, the cascade re-run at
   every daily step, service curves per sector and zone and the resilience metrics. The zones
   are the assets' districts, or their H3 cells in a city whose assessment units are its cells
   (:func:`~resilientcity.twin.assessment_units.service_zone_of`), so the assessment has a
   curve per unit.

Assumption (documented in the report): the flood water on the roads recedes before repairs
start, so the recovery simulation closes only the edges of damaged road assets; the depth
closures describe the emergency (accessibility at t = 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity.critical import critical_facilities
from resilientcity.impact.results import ScenarioImpact
from resilientcity.network import (
    accessibility,
    edge_flood_depth,
    edge_state,
    has_road_access,
    road_network_problems,
    zone_accessibility,
)
from resilientcity.network.cascade import CascadeResult, DependencyGraph
from resilientcity.network.service import ServiceModel, sectors_without_assets
from resilientcity.recovery.metrics import ServiceCurve
from resilientcity.recovery.simulation import (
    RecoveryResult,
    sample_restoration_days,
    simulate_recovery,
)
from resilientcity.twin.assessment_units import service_zone_of
from resilientcity.twin.city import City
from resilientcity.vocabulary import DamageMode, RecoveryPolicy

__all__ = [
    "NetworkStage",
    "NetworkSummary",
    "ResilienceMetrics",
    "ResilienceSummary",
    "network_stage",
    "resilience_summary",
]


@dataclass(frozen=True, eq=False)
class NetworkStage:
    """What the damage does: roads, cascade at t = 0, recovery over time.

    Attributes
    ----------
    damaged, restoration_days
        Per asset (city order): down after the event; days of repair work.
    edges
        :func:`~resilientcity.network.road_state.edge_state` at t = 0 (flood and damaged bridges).
    access
        :func:`~resilientcity.network.road_access.accessibility` per building at t = 0.
    zones
        :func:`~resilientcity.network.road_access.zone_accessibility` per district.
    cascade
        The cascade at the moment of the event (hours = 0).
    levels
        Service level per sector and zone at t = 0 (``sector``, ``zone``, ``level``).
    recovery
        The recovery simulation (service curves, schedule).
    metrics
        Resilience metrics per (sector, zone) of the recovery curves.
    road_problems
        Problems of the intact road network (e.g. assets attached outside its largest strongly
        connected part: they count as isolated and without road access, hazard or not),
        reported, not hidden.
    """

    damaged: NDArray[np.bool_]
    restoration_days: NDArray[np.float64]
    edges: pd.DataFrame
    access: pd.DataFrame
    zones: pd.DataFrame
    cascade: CascadeResult
    levels: pd.DataFrame
    recovery: RecoveryResult
    metrics: pd.DataFrame
    road_problems: tuple[str, ...] = ()

    @property
    def curve(self) -> ServiceCurve:
        """The recovery's service curves."""
        return self.recovery.curve


def _combined(
    city: City, impacts: Sequence[ScenarioImpact], rng: np.random.Generator | None
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Down or not per asset, and its repair days.

    The probability of functioning under all the hazards is the product of the hazards'
    (independent damage). With ``rng`` each asset is drawn down with the complement of that
    probability (one seeded realisation: the expected number of assets down is kept); without,
    an asset is down when the probability is below ``down_below`` of
    :func:`~resilientcity.critical.critical_facilities`.
    """
    n = len(city.assets)
    p_up = np.ones(n)
    days = np.zeros(n)
    for impact in impacts:
        p_up *= impact.assets["p_functional"].to_numpy()
        days = np.maximum(days, impact.assets["restoration_days"].to_numpy())
    damaged = rng.random(n) >= p_up if rng is not None else p_up < critical_facilities().down_below
    # A damaged asset takes at least one day to repair (none of the curves says less).
    days = np.where(damaged, np.maximum(days, 1.0), 0.0)
    return damaged, days


def network_stage(
    city: City,
    impacts: Sequence[ScenarioImpact],
    depth_grid: NDArray[Any] | None = None,
    *,
    days: float = 180.0,
    policy: RecoveryPolicy = "critical_first",
    given: Sequence[str] | None = None,
    crews: dict[str, int | None] | None = None,
    sample_seed: int | None = None,
    damage: DamageMode = "sampled",
    damage_seed: int = 1,
) -> NetworkStage:
    """Roads, cascade and recovery of the scenario's combined damage.

    Parameters
    ----------
    city
        The city.
    impacts
        The scenario's impacts (one per hazard that struck together).
    depth_grid
        Flood depth (m) on the city's DEM at the peak, for road closures; ``None`` without
        flooding.
    days, policy, given, crews
        Recovery span (days, daily steps), priority policy (with its asset list for
        ``"given"``) and crews per sector (default: ``data/recovery/recovery_defaults.json``).
    sample_seed
        Sample the repair durations (lognormal around their means,
        :func:`~resilientcity.recovery.simulation.sample_restoration_days`) with this seed;
        ``None``: the expected durations.
    damage, damage_seed
        ``"sampled"``: each asset is down with its probability of not functioning (one seeded
        realisation); ``"threshold"``: down when its probability of functioning is below
        ``down_below`` (:func:`~resilientcity.critical.critical_facilities`). Flood damage is
        0 or 1, so both agree there; for earthquakes the threshold would hide most damage.
    """
    assets = city.assets
    ids = assets["asset_id"].to_numpy(dtype=str)
    rng = np.random.default_rng(damage_seed) if damage == "sampled" else None
    damaged, repair_days = _combined(city, impacts, rng)
    if sample_seed is not None:
        rng = np.random.default_rng(sample_seed)
        repair_days = np.where(damaged, sample_restoration_days(repair_days, rng), 0.0)
    problems = road_network_problems(city)
    edge_depth = (
        edge_flood_depth(city, depth_grid)
        if depth_grid is not None and city.dem is not None
        else None
    )
    # Only facilities and road assets matter to roads and accessibility; leaving the (up to a
    # million) buildings out keeps the per-step lookups small.
    facility = (assets["kind"] != "building").to_numpy()
    up = pd.Series(~damaged[facility], index=ids[facility])
    edges = edge_state(city, edge_depth, up)
    access = accessibility(city, edges, up, allow_disconnected=True, absent_kinds="skip")
    zones = zone_accessibility(city, access)
    graph = DependencyGraph.build(assets, city.dependencies)
    road_access = has_road_access(city, edges, allow_disconnected=True)
    cascade = graph.cascade(damaged, hours=0.0, access=road_access)
    # service levels per assessment unit (its district, or its H3 cell: see the module)
    service_assets = assets.assign(zone_id=service_zone_of(city).to_numpy())
    model = ServiceModel.build(service_assets, city.roads.edges)
    levels = model.frame(model.levels(cascade, edge_open=edges["open"].to_numpy()))

    on_roads = np.isin(ids, city.roads.edges["asset_id"].to_numpy(dtype=str))
    road_ids = ids[on_roads]

    def access_fn(functional: NDArray[np.bool_]) -> NDArray[np.bool_]:
        state = edge_state(city, None, pd.Series(functional[on_roads], index=road_ids))
        return has_road_access(city, state, allow_disconnected=True)

    recovery = simulate_recovery(
        service_assets,
        graph,
        damaged,
        repair_days,
        days=days,
        policy=policy,
        given=given,
        crews=crews,
        access_fn=access_fn,
        edges=city.roads.edges,
    )
    return NetworkStage(
        damaged,
        repair_days,
        edges,
        access,
        zones,
        cascade,
        levels,
        recovery,
        recovery.curve.metrics(),
        tuple(p.describe() for p in problems),
    )


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@dataclass(frozen=True)
class ResilienceMetrics:
    """Resilience metrics of a recovery curve (one sector, or the city)."""

    robustness: float = field(metadata={"unit": "0–1", "doc": "lowest service level"})
    rapidity_days: float | None = field(
        metadata={"unit": "days", "doc": "days back to 95 %; null when not within the span"}
    )
    loss: float = field(metadata={"unit": "days", "doc": "resilience loss ∫(1 − Q) dt"})
    index: float = field(metadata={"unit": "0–1", "doc": "resilience index ∫Q dt / T"})

    @classmethod
    def of(cls, row: pd.Series) -> ResilienceMetrics:
        """The metrics of a row of :meth:`~resilientcity.recovery.metrics.ServiceCurve.metrics`."""
        return cls(
            robustness=float(row["robustness"]),
            rapidity_days=_finite(row["rapidity_days"]),
            loss=float(row["resilience_loss_days"]),
            index=float(row["resilience_index"]),
        )


@dataclass(frozen=True, kw_only=True)
class ResilienceSummary(ResilienceMetrics):
    """The ``resilience`` block: the city's metrics, the span and the metrics per sector."""

    days: float = field(metadata={"unit": "days", "doc": "simulated span"})
    sectors: dict[str, ResilienceMetrics] = field(
        metadata={"key": "sector", "doc": "per sector (all zones) the city has assets to measure"}
    )
    sectors_without_assets: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "key": "sector",
            "doc": "the sectors not measured, with the reason (no assets: no service level, "
            "not 100 %); absent from `sectors` and from the city's level",
        },
    )


@dataclass(frozen=True)
class NetworkSummary:
    """The ``network`` block: people and facilities affected at the moment of the event."""

    assets_damaged: int = field(metadata={"unit": "assets", "doc": "physically damaged (down)"})
    assets_down: int = field(metadata={"unit": "assets", "doc": "not functioning at t = 0"})
    assets_down_by_cascade: int = field(
        metadata={"unit": "assets", "doc": "down at t = 0 without damage of their own"}
    )
    roads_closed: int = field(metadata={"unit": "edges", "doc": "road edges closed at t = 0"})
    isolated_people: float | None = field(
        metadata={
            "unit": "people",
            "doc": "occupants of buildings with no hospital reachable (null: the city has no "
            "hospital, not measured)",
        }
    )
    hospitals_down: tuple[str, ...] = field(metadata={"doc": "asset ids of hospitals down"})
    road_network_problems: tuple[str, ...] = field(
        metadata={
            "doc": "problems of the intact road network (e.g. assets cut off before any damage)"
        }
    )


def resilience_summary(stage: NetworkStage, city: City) -> tuple[ResilienceSummary, NetworkSummary]:
    """The ``resilience`` and ``network`` blocks of ``summary.json``.

    ``resilience``: the city's robustness, rapidity (days back to 95 %; ``null`` when not
    within the simulated span), resilience loss (∫(1 − Q) dt, days) and index (∫Q dt / T), and
    the same per sector (all zones). ``network``: people and facilities affected at t = 0.
    """
    m = stage.metrics
    rows: dict[tuple[str, str], pd.Series] = {
        (str(sector), str(zone)): m.iloc[k] for k, (sector, zone) in enumerate(m.index)
    }
    city_metrics = ResilienceMetrics.of(rows[("city", "all")])
    sectors = {
        s: ResilienceMetrics.of(row) for (s, z), row in rows.items() if z == "all" and s != "city"
    }
    frame = stage.cascade.frame()
    down = ~frame["functional"].to_numpy(dtype=bool)
    hospitals = (city.assets["kind"] == "hospital").to_numpy() & down
    occupants = stage.access["occupants"].to_numpy()
    isolated = stage.access["isolated"].to_numpy(dtype=bool)
    resilience = ResilienceSummary(
        **{f.name: getattr(city_metrics, f.name) for f in fields(ResilienceMetrics)},
        days=float(stage.curve.times[-1]),
        sectors=sectors,
        sectors_without_assets=sectors_without_assets(city.assets, city.roads.edges),
    )
    network = NetworkSummary(
        assets_damaged=int(stage.damaged.sum()),
        assets_down=int((~frame["functional"]).sum()),
        assets_down_by_cascade=int((~frame["functional"] & ~frame["damaged"]).sum()),
        roads_closed=int((~stage.edges["open"]).sum()),
        isolated_people=float(occupants[isolated].sum()),
        hospitals_down=tuple(sorted(frame["asset_id"].to_numpy(dtype=str)[hospitals].tolist())),
        road_network_problems=stage.road_problems,
    )
    return resilience, network
