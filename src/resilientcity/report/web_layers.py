"""Scenario results as plain JSON for the web operations centre.

Pure functions from the twin and a scenario run to JSON-ready dicts (lists, numbers, strings,
``None``), coordinates in the twin's CRS rounded to 1 m: damage and service loss aggregated to
square cells, closed roads as line arrays with ``None`` separators, losses by sector and zone,
evacuation and relief summaries, recovery curves, and the chain of causes of an asset that is
down. The base map itself is :mod:`resilientcity.web.map_layers` (GeoJSON for MapLibre).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity.assessment.indicators import dimensions
from resilientcity.assessment.maturity import MaturityResult
from resilientcity.assessment.run import AssessmentResult
from resilientcity.decision.evacuation import EvacuationPlan
from resilientcity.decision.relief import ReliefPlan
from resilientcity.impact.results import ScenarioImpact
from resilientcity.network.cascade import CascadeResult
from resilientcity.recovery.stage import NetworkStage
from resilientcity.report.assessment import TOP_OBSTACLES
from resilientcity.report.figures import (
    _lines_xy,
    points_xy,
)
from resilientcity.report.recovery import _building_loss
from resilientcity.twin.city import City

__all__ = [
    "CELL_M",
    "TOP_SHELTERS",
    "cascade_chain",
    "cell_layer",
    "closed_roads_layer",
    "damage_layer",
    "evacuation_block",
    "json_ready",
    "losses_block",
    "recovery_block",
    "relief_block",
    "resilience_json",
    "service_loss_layer",
]

#: Side (m) of the square cells that the damage and service-loss layers are aggregated to.
CELL_M = 250.0
#: Shelters listed in the evacuation block (the fullest first).
TOP_SHELTERS = 20
#: Decimals kept for values other than coordinates.
_DECIMALS = 4
#: ``no power: FD0008 down …``: the service lacking and the supplier blamed for it.
_LINK = re.compile(r"^no ([a-z_]+): (\S+) down")
#: The reason of the asset where a chain comes back on itself.
_LOOP = "loop without outside supply"

FloatArray = NDArray[np.float64]


def json_ready(value: Any, decimals: int = _DECIMALS) -> Any:
    """``value`` with numpy arrays and scalars as lists and numbers, NaN and infinity as ``None``.

    Parameters
    ----------
    value
        Nested dicts, lists, tuples, numpy arrays and scalars.
    decimals
        Floats are rounded to this many decimals.

    Returns
    -------
    Any
        The same structure made of JSON types only.
    """
    if isinstance(value, dict):
        return {str(k): json_ready(v, decimals) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist(), decimals)
    if isinstance(value, list | tuple):
        return [json_ready(v, decimals) for v in value]
    if isinstance(value, np.generic):
        return json_ready(value.item(), decimals)
    if isinstance(value, float):
        return round(value, decimals) if math.isfinite(value) else None
    return value


def _metres(values: Any) -> list[int | None]:
    """Coordinates rounded to whole metres (``None`` for NaN: a gap between lines)."""
    arr = np.asarray(values, dtype=np.float64)
    return [int(v) if math.isfinite(v) else None for v in np.round(arr).tolist()]


def cell_layer(
    x: FloatArray,
    y: FloatArray,
    values: FloatArray,
    weights: FloatArray | None = None,
    label: str = "",
    cell_m: float = CELL_M,
) -> dict[str, Any]:
    """Values averaged over square cells: the cells' centres and their (weighted) means.

    Parameters
    ----------
    x, y
        Points (m).
    values
        A value per point.
    weights
        A weight per point (default 1); cells with zero total weight are left out.
    label
        What the value is, for the legend.
    cell_m
        Side of the cells (m).

    Returns
    -------
    dict
        ``x``, ``y`` (cell centres, whole metres), ``value`` (weighted mean), ``count`` (points
        in the cell) and ``label``; only cells with a mean above zero.
    """
    w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(values) & (w > 0)
    frame = pd.DataFrame(
        {
            "i": np.floor(x[keep] / cell_m).astype(np.int64),
            "j": np.floor(y[keep] / cell_m).astype(np.int64),
            "wv": values[keep] * w[keep],
            "w": w[keep],
            "n": 1,
        }
    )
    cells = frame.groupby(["i", "j"], sort=True)[["wv", "w", "n"]].sum()
    cells = cells[cells["wv"] > 0]
    i = cells.index.get_level_values("i").to_numpy()
    j = cells.index.get_level_values("j").to_numpy()
    return {
        "x": _metres((i + 0.5) * cell_m),
        "y": _metres((j + 0.5) * cell_m),
        "value": json_ready(cells["wv"].to_numpy() / cells["w"].to_numpy()),
        "count": cells["n"].astype(int).tolist(),
        "label": label,
    }


def _combined_impacts(city: City, impacts: Sequence[ScenarioImpact]) -> pd.DataFrame:
    """Per asset (city order): largest damage ratio, summed loss, product of P(functional)."""
    ids = city.assets["asset_id"].to_numpy()
    n = len(ids)
    damage, loss, p_up = np.zeros(n), np.zeros(n), np.ones(n)
    for impact in impacts:
        per = impact.assets.set_index("asset_id").reindex(ids)
        damage = np.fmax(damage, per["damage_ratio"].fillna(0.0).to_numpy())
        loss += per["loss"].fillna(0.0).to_numpy()
        p_up *= per["p_functional"].fillna(1.0).to_numpy()
    return pd.DataFrame({"damage_ratio": damage, "loss": loss, "p_functional": p_up}, ids)


def damage_layer(city: City, impacts: Sequence[ScenarioImpact]) -> dict[str, Any]:
    """Mean damage ratio of the buildings of each cell (cells with damage only)."""
    combined = _combined_impacts(city, impacts)
    is_building = (city.assets["kind"] == "building").to_numpy()
    x, y = points_xy(city.assets.geometry[is_building])
    values = combined["damage_ratio"].to_numpy()[is_building]
    return cell_layer(x, y, values, label="mean damage ratio")


def service_loss_layer(city: City, stage: NetworkStage) -> dict[str, Any]:
    """Share of each cell's occupants without power, water or a reachable hospital at t = 0."""
    is_building = (city.assets["kind"] == "building").to_numpy()
    lost = (_building_loss(city, stage).to_numpy() != "")[is_building].astype(np.float64)
    occupants = city.assets["occupants"].to_numpy(dtype=np.float64)[is_building]
    x, y = points_xy(city.assets.geometry[is_building])
    label = "share of occupants without power, water or hospital access"
    return cell_layer(x, y, lost, weights=occupants, label=label)


def closed_roads_layer(city: City, stage: NetworkStage) -> dict[str, Any]:
    """The road edges closed at t = 0 as one line array (``None`` between edges)."""
    closed = ~stage.edges["open"].to_numpy(dtype=bool)
    x, y = _lines_xy(city.roads.edges.geometry[closed])
    return {"x": _metres(x), "y": _metres(y), "edges": int(closed.sum())}


def losses_block(city: City, impacts: Sequence[ScenarioImpact]) -> dict[str, Any]:
    """Loss (the city's currency) by sector and by zone, with the zones' names."""
    combined = _combined_impacts(city, impacts)
    frame = city.assets[["sector", "zone_id"]].assign(loss=combined["loss"].to_numpy())
    by_sector = frame.groupby("sector", sort=True)["loss"].sum()
    by_zone = frame.groupby("zone_id", sort=True)["loss"].sum()
    names = city.zones.set_index("zone_id")["name"].astype(str)
    return {
        "by_sector": json_ready(by_sector.to_dict(), 0),
        "by_zone": json_ready(by_zone.to_dict(), 0),
        "zone_names": {str(z): names.get(z, "") for z in by_zone.index},
        "currency": city.profile.currency,
    }


def evacuation_block(city: City, plan: EvacuationPlan, top: int = TOP_SHELTERS) -> dict[str, Any]:
    """The evacuation's totals and the ``top`` fullest shelters (id, name, place, fill)."""
    shelters = plan.shelters.sort_values(
        ["fill_rate", "assigned_people"], ascending=False, na_position="last"
    ).head(top)
    assets = city.assets.set_index("asset_id")
    where = assets.reindex(shelters["shelter_id"])  # shelters outside the city: no geometry
    x, y = points_xy(where.geometry.to_numpy())
    rows = [
        {
            "shelter_id": str(r.shelter_id),
            "name": str(n) if isinstance(n, str) else "",
            "x": xi,
            "y": yi,
            "capacity_people": r.capacity_people,
            "assigned_people": r.assigned_people,
            "fill_rate": r.fill_rate,
        }
        for r, n, xi, yi in zip(
            shelters.itertuples(), where["name"], _metres(x), _metres(y), strict=True
        )
    ]
    return json_ready(
        {
            "totals": dict(plan.totals),
            "shelters_used": int((plan.shelters["assigned_people"] > 0).sum()),
            "shelters": rows,
        },
        2,
    )


def relief_block(plan: ReliefPlan) -> dict[str, Any]:
    """The relief plan's totals, shipments and fill per commodity."""
    by = plan.fill.groupby("commodity", sort=True)[["demand_units", "delivered_units"]].sum()
    commodities = {
        str(c): {
            "demand_units": float(need),
            "delivered_units": float(got),
            "fill_rate": float(got / need) if need > 0 else None,
        }
        for c, need, got in zip(by.index, by["demand_units"], by["delivered_units"], strict=True)
    }
    return json_ready(
        {
            "totals": dict(plan.totals),
            "shipments": len(plan.shipments),
            "warehouses": int(plan.shipments["warehouse_id"].nunique()),
            "by_commodity": commodities,
        },
        3,
    )


def recovery_block(stage: NetworkStage) -> dict[str, Any]:
    """Service level per sector (all zones) and of the whole city, day by day."""
    levels = stage.curve.levels
    pairs = [tuple(c) for c in levels.columns]
    sectors = {
        str(pair[0]): json_ready(levels.iloc[:, k].to_numpy())
        for k, pair in enumerate(pairs)
        if pair[1] == "all"
    }
    return {"days": json_ready(np.asarray(stage.curve.times)), "sectors": sectors}


def cascade_chain(cascade: CascadeResult, kinds: Sequence[str], asset: int) -> list[dict[str, str]]:
    """Why asset number ``asset`` is down: the assets of its chain of causes, itself first.

    Parameters
    ----------
    cascade
        The cascade at the moment of the event.
    kinds
        The kind of every asset (the cascade's asset order).
    asset
        Position of the asset in that order.

    Returns
    -------
    list of dict
        ``asset_id``, ``kind`` and ``reason`` per link: ``"no power"`` (and so on) while the
        chain passes the lack of a service on, then the root's own reason (``"damaged"``,
        ``"no road access"``) or ``"loop without outside supply"``. Empty when the asset works.
    """
    ids = cascade.graph.asset_ids
    causes = cascade.cause
    position = {str(a): k for k, a in enumerate(ids)}
    chain: list[dict[str, str]] = []
    seen: set[int] = set()
    k: int | None = asset
    while k is not None and not bool(cascade.functional[k]):
        text = str(causes[k])
        link = _LINK.match(text)
        if k in seen:
            chain.append({"asset_id": str(ids[k]), "kind": kinds[k], "reason": _LOOP})
            break
        seen.add(k)
        reason = f"no {link.group(1)}" if link else text
        chain.append({"asset_id": str(ids[k]), "kind": kinds[k], "reason": reason})
        k = position.get(link.group(2)) if link else None
    return chain


def resilience_json(
    result: AssessmentResult,
    maturity: MaturityResult | None,
    trend: pd.DataFrame | None = None,
    top: int = TOP_OBSTACLES,
) -> dict[str, Any]:
    """The assessment of the city and its units for the page.

    Parameters
    ----------
    result, maturity
        The assessment and the maturity level (e.g. of
        :func:`~resilientcity.scenario.assessment_stage.run_assessment`; ``None``: no level,
        ``maturity_level`` and ``maturity_name`` are null).
    trend
        Units × years of scores on one scale (default: ``result.trend``; none with one year).
    top
        Main obstacles listed per unit.

    Returns
    -------
    dict
        ``city`` (``score``, ``weakest_dimension``, ``maturity_level``, ``maturity_name``,
        ``dimensions``: dimension → the population-weighted score of the city),
        ``units`` (``unit``, ``score``, ``rank``, ``dimensions``: dimension → score, best rank
        first), ``dimensions`` (id → ``zh``, ``en``), ``weak_spots`` (``unit``, ``indicator``,
        ``indicator_zh``, ``indicator_en``, ``dimension``, ``obstacle``, ``position``) and
        ``trend`` (``year``, ``unit``, ``score``).
    """
    scores = result.scores.sort_values(["rank", "score"], ascending=[True, False])
    dims = result.dimension_scores
    units = [
        {
            "unit": str(unit),
            "score": float(score),
            "rank": int(rank),
            "dimensions": dict(zip(map(str, dims.columns), dims.loc[unit].tolist(), strict=True)),
        }
        for unit, score, rank in zip(
            scores.index, scores["score"].to_numpy(), scores["rank"].to_numpy(), strict=True
        )
    ]
    table = result.library.table
    zh = {str(k): str(v) for k, v in table["name_zh"].items()}
    en = {str(k): str(v) for k, v in table["name_en"].items()}
    spots = result.weak_spots[result.weak_spots["position"] <= top]
    columns = ("unit", "indicator", "dimension", "obstacle", "position")
    weak = [
        {
            "unit": str(unit),
            "indicator": str(indicator),
            "indicator_zh": zh.get(str(indicator), ""),
            "indicator_en": en.get(str(indicator), ""),
            "dimension": str(dimension),
            "obstacle": float(obstacle),
            "position": int(position),
        }
        for unit, indicator, dimension, obstacle, position in zip(
            *(spots[c].to_numpy() for c in columns), strict=True
        )
    ]
    years = result.trend if trend is None else trend
    rows = (
        []
        if years is None
        else [
            {"year": int(str(year)), "unit": str(unit), "score": float(score)}
            for unit, row in zip(years.index, years.to_numpy(), strict=True)
            for year, score in zip(years.columns, row, strict=True)
        ]
    )
    return json_ready(
        {
            "city": {
                "score": float(result.city_score),
                "weakest_dimension": result.weakest_dimension,
                "maturity_level": int(maturity.level) if maturity is not None else None,
                "maturity_name": maturity.level_name if maturity is not None else None,
                "dimensions": {str(k): float(v) for k, v in result.city_dimensions().items()},
            },
            "units": units,
            "dimensions": {d.id: {"zh": d.name_zh, "en": d.name_en} for d in dimensions()},
            "weak_spots": weak,
            "trend": rows,
        }
    )
