"""The scenario's relief stage: warehouse stocks to the people in the shelters, day by day.

Supply: every warehouse the event leaves undamaged (not ``stage.damaged``) holds its
``capacity`` (m³ of relief stock) split into water, food, medical kits and tents by the shares
and units per m³ of ``data/decision/warehouse_stock.json`` (with sources and labelled
assumptions). Demand: the people the evacuation assigns to each shelter, times the needs per
person of ``data/decision/relief_needs.json``, over ``days`` days
(:func:`~resilientcity.decision.relief.shelter_needs`). Cost: minutes from warehouse to shelter on
the damaged roads (``stage.edges``); pairs the roads do not connect get no shipments. The plan
(:func:`~resilientcity.decision.relief.plan_relief`, HiGHS) serves the least unmet demand first,
then the least unit-minutes.

Fill rates: the commodities are counted in different units (litres, rations, modules, tents),
so units are not added across commodities. A commodity's fill rate is its delivered over its
needed units, over every shelter and day; the overall ``relief_fill_rate`` is the unweighted
mean of the commodities' fill rates (each commodity counts equally), over the commodities that
have any demand.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from resilientcity._files import read_data_file
from resilientcity.decision.evacuation import EvacuationPlan, shelter_travel_minutes
from resilientcity.decision.relief import ReliefPlan, plan_relief, shelter_needs
from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.recovery.stage import NetworkStage
from resilientcity.scenario.config import DecisionOptions
from resilientcity.twin.city import City

__all__ = [
    "relief_stage",
    "relief_summary",
    "relief_travel_minutes",
    "warehouse_stock_spec",
    "warehouse_stocks",
]

_STOCK_FILE = "data/decision/warehouse_stock.json"


def warehouse_stock_spec() -> pd.DataFrame:
    """Packaged split of a warehouse's m³ into commodities (``warehouse_stock.json``).

    Returns
    -------
    pandas.DataFrame
        Index ``commodity``; columns ``unit``, ``share`` (of the stored volume), ``units_per_m3``.

    Raises
    ------
    DataFileError
        The packaged file lacks a value, a value is negative or the shares do not sum to 1.
    """
    with resources.as_file(resources.files("resilientcity").joinpath(_STOCK_FILE)) as path:
        spec = read_data_file(path, "warehouse stock")
        try:
            rows = {
                name: (str(v["unit"]), float(v["share"]), float(v["units_per_m3"]))
                for name, v in spec["commodities"].items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFileError(f"{path}: missing or invalid value {exc}") from exc
        frame = pd.DataFrame.from_dict(
            rows, orient="index", columns=["unit", "share", "units_per_m3"]
        )
        values = frame[["share", "units_per_m3"]].to_numpy()
        if not (np.isfinite(values).all() and (values >= 0).all()):
            raise DataFileError(f"{path}: shares and units per m3 must be finite and >= 0")
        if not np.isclose(frame["share"].sum(), 1.0, atol=1e-9):
            raise DataFileError(f"{path}: the shares sum to {frame['share'].sum()}, not 1")
    return frame.rename_axis("commodity")


def warehouse_stocks(
    city: City, damaged: Any = None, spec: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Stock per undamaged warehouse and commodity: ``capacity × share × units_per_m3``.

    Parameters
    ----------
    city
        The city; warehouses are its assets of kind ``warehouse``, ``capacity`` in m³.
    damaged
        Optional booleans per asset (city order): damaged warehouses hold no usable stock.
    spec
        The split as :func:`warehouse_stock_spec` returns it (the default).

    Returns
    -------
    pandas.DataFrame
        ``warehouse_id``, ``node_id``, ``commodity``, ``stock_units``.

    Raises
    ------
    ValidationError
        A warehouse capacity that is missing, negative or not finite; ``damaged`` of the wrong
        length.
    """
    spec = spec if spec is not None else warehouse_stock_spec()
    assets = city.assets
    keep = (assets["kind"] == "warehouse").to_numpy(dtype=bool)
    if damaged is not None:
        down = np.asarray(damaged, dtype=bool)
        if down.shape != keep.shape:
            expected = f"one value per asset ({keep.size})"
            problem = Problem("damaged", "", expected, found=str(down.shape))
            raise ValidationError([problem], what="relief stage input")
        keep = keep & ~down
    w = assets[keep]
    m3 = pd.to_numeric(w["capacity"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(m3) & (m3 >= 0))
    if bad.any():
        rows = tuple(w["asset_id"].astype(str).to_numpy()[bad])
        problem = Problem("assets", "capacity", "m3 of relief stock, finite and >= 0", rows)
        raise ValidationError([problem], what="relief stage input")
    per_m3 = (spec["share"] * spec["units_per_m3"]).to_numpy(dtype=np.float64)
    n_c = per_m3.size
    return pd.DataFrame(
        {
            "warehouse_id": np.repeat(w["asset_id"].astype(str).to_numpy(), n_c),
            "node_id": np.repeat(w["node_id"].to_numpy(dtype=np.int64), n_c),
            "commodity": np.tile(spec.index.astype(str).to_numpy(), len(w)),
            "stock_units": np.outer(m3, per_m3).ravel(),
        }
    )


def relief_travel_minutes(
    city: City, edges: pd.DataFrame, warehouses: pd.DataFrame, shelter_ids: pd.Index
) -> pd.DataFrame:
    """Minutes from every warehouse to every shelter on the damaged roads.

    Parameters
    ----------
    city
        The city (shelters are its assets; their road ``node_id`` is taken from there).
    edges
        Edge states on the damaged roads (``NetworkStage.edges``).
    warehouses
        ``warehouse_id`` and ``node_id`` (repeated rows are fine).
    shelter_ids
        Asset ids of the shelters.

    Returns
    -------
    pandas.DataFrame
        Index ``warehouse_id``, columns ``shelter_id``; ``inf`` where the roads do not connect.

    Raises
    ------
    ValidationError
        Shelter ids that are not assets of the city.
    """
    w = warehouses.drop_duplicates("warehouse_id")
    nodes = city.assets.set_index(city.assets["asset_id"].astype(str))["node_id"]
    ids = pd.Index(shelter_ids.astype(str))
    lost = ids.difference(nodes.index)
    if len(lost):
        problem = Problem("evacuation", "shelter_id", "asset ids of the city", tuple(lost))
        raise ValidationError([problem], what="relief stage input")
    minutes = shelter_travel_minutes(
        city,
        edges,
        w["node_id"].to_numpy(dtype=np.int64),
        nodes.loc[ids].to_numpy(dtype=np.int64),
    )
    return pd.DataFrame(
        minutes,
        index=pd.Index(w["warehouse_id"].astype(str), name="warehouse_id"),
        columns=pd.Index(ids, name="shelter_id"),
    )


def relief_stage(
    city: City,
    stage: NetworkStage,
    evacuation: EvacuationPlan,
    days: int = DecisionOptions().relief_days,
) -> ReliefPlan:
    """The optimal relief distribution to the sheltered people (see the module).

    Parameters
    ----------
    city
        The city.
    stage
        The network stage: which assets are down (``damaged``) and the damaged roads
        (``edges``).
    evacuation
        The evacuation: ``shelters`` with ``shelter_id`` and ``assigned_people``.
    days
        Days of relief to plan (≥ 1).

    Returns
    -------
    ReliefPlan
        With no one sheltered, an empty plan; with no usable warehouse, all demand unmet.

    Raises
    ------
    ValidationError
        ``days < 1``; bad warehouse capacities; shelters that are not assets of the city.
    """
    shelters = evacuation.shelters
    people = pd.Series(
        shelters["assigned_people"].to_numpy(dtype=np.float64),
        index=shelters["shelter_id"].astype(str).to_numpy(),
    )
    people = people[people > 0]
    demand = shelter_needs(people, days)
    stocks = warehouse_stocks(city, stage.damaged)
    cost = relief_travel_minutes(city, stage.edges, stocks, people.index)
    return plan_relief(stocks.drop(columns="node_id"), demand, cost)


def relief_summary(plan: ReliefPlan) -> dict[str, Any]:
    """The relief keys of the ``decision`` block of ``summary.json``.

    Keyword arguments of :class:`~resilientcity.decision.summary.DecisionSummary`.

    Returns
    -------
    dict
        ``relief_fill_rate``: the unweighted mean over commodities with demand of each
        commodity's delivered / needed units (``None`` when no one needs relief);
        ``relief_fill_by_commodity``: that fill rate per commodity (``None`` without demand);
        ``relief_unmet``: unmet units per commodity (in the commodity's own unit).
    """
    by = plan.fill.groupby("commodity", sort=True)[["demand_units", "delivered_units"]].sum()
    unmet = by["demand_units"] - by["delivered_units"]
    rates: dict[str, float | None] = {
        str(c): float(got / need) if need > 0 else None
        for c, need, got in zip(by.index, by["demand_units"], by["delivered_units"], strict=True)
    }
    known = [r for r in rates.values() if r is not None]
    return {
        "relief_fill_rate": float(np.mean(known)) if known else None,
        "relief_fill_by_commodity": rates,
        "relief_unmet": {str(c): float(u) for c, u in unmet.items()},
    }
