"""Relief distribution from warehouses to shelters over several days, solved with HiGHS.

Warehouses hold stocks of several commodities (water, food, medical kits, tents); shelters need
them day by day. Over days ``d = 0 … D − 1``:

* ``x[w, s, c, d] ≥ 0`` units of commodity ``c`` shipped from warehouse ``w`` to shelter ``s`` on
  day ``d``, only where the damaged roads connect ``w`` to ``s`` (finite cost) and ``s`` needs
  ``c`` that day;
* ``inv[w, c, d] ≥ 0`` units left at the warehouse at the end of day ``d`` (carried over);
* ``unmet[s, c, d] ∈ [0, demand]``: demand of the day not served. A day's unmet demand is lost,
  not carried to the next day (assumption: the need of a day is consumed that day);
* ``warehouse_stock`` (conservation per warehouse, commodity and day):
  ``inv[w, c, d] = inv[w, c, d − 1] + arrivals[w, c, d] − Σ_s x[w, s, c, d]`` with
  ``inv[w, c, −1] = stock``; with ``inv ≥ 0`` no stock is ever exceeded;
* ``demand``: ``Σ_w x[w, s, c, d] + unmet[s, c, d] = demand[s, c, d]`` (never over-served);
* ``vehicle_capacity`` (optional): ``Σ_{s, c} load[c] · x[w, s, c, d] ≤ capacity[w]`` per day.

Objectives, lexicographically: the least total unmet demand, then the least cost ``Σ cost[w, s] · x`` (unit-minutes when the cost
is travel minutes). With ``fair=True`` the first objective is to *maximise the minimum fill
rate* ``z`` over every (shelter, commodity, day) with demand — ``unmet ≤ (1 − z) · demand`` —
then the least unmet demand, then the cost. Without vehicle capacities the unmet-then-cost
stages are one solve of ``M · unmet + cost`` with the weight of :func:`unmet_weight` (proved
lexicographic there); with vehicle capacities they are two stages of
:func:`~resilientcity.decision.lp.solve_lexicographic`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity._files import read_data_file
from resilientcity.decision.lp import LinearModel, Objective, solve_lexicographic
from resilientcity.errors import DataFileError, Problem, ValidationError, fail

__all__ = ["ReliefPlan", "plan_relief", "relief_needs", "shelter_needs", "unmet_weight"]

_NEEDS_FILE = "data/decision/relief_needs.json"


_fail = partial(fail, what="relief input")


@dataclass(frozen=True, eq=False)
class ReliefPlan:
    """An optimal relief distribution.

    Attributes
    ----------
    shipments
        One row per shipment with units > 0: ``warehouse_id``, ``shelter_id``, ``commodity``,
        ``day``, ``units``, ``cost`` (per unit).
    fill
        One row per (shelter, commodity, day) of the demand table, its order: ``shelter_id``,
        ``commodity``, ``day``, ``demand_units``, ``delivered_units``, ``unmet_units``,
        ``fill_rate`` (delivered / demand; NaN for zero demand).
    inventory
        ``warehouse_id``, ``commodity``, ``day``, ``end_units`` (stock left at the end of the day).
    totals
        ``demand_units``, ``delivered_units``, ``unmet_units``, ``fill_rate`` (delivered /
        demand), ``min_fill_rate`` (over rows with demand), ``cost``.
    """

    shipments: pd.DataFrame
    fill: pd.DataFrame
    inventory: pd.DataFrame
    totals: dict[str, float]


# ---------------------------------------------------------------------------------------------
# Needs from population


def relief_needs() -> pd.DataFrame:
    """Packaged needs per sheltered person (``data/decision/relief_needs.json``, with sources).

    Returns
    -------
    pandas.DataFrame
        Index ``commodity``; columns ``unit``, ``schedule`` (``daily`` or ``once``),
        ``per_person``.

    Raises
    ------
    DataFileError
        The packaged file lacks a value.
    """
    with resources.as_file(resources.files("resilientcity").joinpath(_NEEDS_FILE)) as path:
        spec = read_data_file(path, "relief needs")
        try:
            rows = {
                name: (str(v["unit"]), str(v["schedule"]), float(v["per_person"]))
                for name, v in spec["commodities"].items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise DataFileError(f"{path}: missing or invalid value {exc}") from exc
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["unit", "schedule", "per_person"])
    return frame.rename_axis("commodity")


def shelter_needs(people: pd.Series, days: int, needs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Demand per shelter, commodity and day from the people in each shelter.

    Daily needs recur every day; ``once`` needs (tents) fall on day 0.

    Parameters
    ----------
    people
        Sheltered people, indexed by ``shelter_id``.
    days
        Days of the horizon (≥ 1).
    needs
        Needs per person as :func:`relief_needs` returns (the default).

    Returns
    -------
    pandas.DataFrame
        ``shelter_id``, ``commodity``, ``day``, ``demand_units``: shelters × commodities × days
        (``once`` needs only on day 0).

    Raises
    ------
    ValidationError
        Negative or non-finite people; ``days < 1``.
    """
    needs = needs if needs is not None else relief_needs()
    values = people.to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        _fail("people", "people", "a finite number >= 0 per shelter", people.index[bad])
    if days < 1:
        _fail("days", "", "at least one day", found=str(days))
    parts = []
    for commodity, row in needs.iterrows():
        span = range(days) if row["schedule"] == "daily" else range(1)
        for day in span:
            parts.append(
                pd.DataFrame(
                    {
                        "shelter_id": people.index.astype(str),
                        "commodity": str(commodity),
                        "day": day,
                        "demand_units": values * float(row["per_person"]),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Checks


def _columns(frame: pd.DataFrame, layer: str, cols: tuple[str, ...]) -> list[Problem]:
    missing = [c for c in cols if c not in frame.columns]
    return [Problem(layer, ", ".join(missing), "the column")] if missing else []


def _nonneg(frame: pd.DataFrame, layer: str, col: str, keys: list[str]) -> list[Problem]:
    values = frame[col].to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(values) & (values >= 0))
    if not bad.any():
        return []
    rows = frame.loc[bad, keys].astype(str).agg("/".join, axis=1)
    return [Problem(layer, col, "a finite number >= 0", tuple(rows))]


def _unique(frame: pd.DataFrame, layer: str, keys: list[str]) -> list[Problem]:
    dup = frame.duplicated(keys)
    if not dup.any():
        return []
    rows = frame.loc[dup, keys].astype(str).agg("/".join, axis=1)
    return [Problem(layer, "/".join(keys), "one row per key", tuple(rows))]


def _check(
    stocks: pd.DataFrame,
    demand: pd.DataFrame,
    cost: pd.DataFrame,
    arrivals: pd.DataFrame | None,
) -> None:
    problems = _columns(stocks, "stocks", ("warehouse_id", "commodity", "stock_units"))
    problems += _columns(demand, "demand", ("shelter_id", "commodity", "day", "demand_units"))
    if arrivals is not None:
        problems += _columns(arrivals, "arrivals", ("warehouse_id", "commodity", "day", "units"))
    if problems:
        raise ValidationError(problems, what="relief input")
    problems += _unique(stocks, "stocks", ["warehouse_id", "commodity"])
    problems += _nonneg(stocks, "stocks", "stock_units", ["warehouse_id", "commodity"])
    problems += _unique(demand, "demand", ["shelter_id", "commodity", "day"])
    problems += _nonneg(demand, "demand", "demand_units", ["shelter_id", "commodity", "day"])
    for layer, frame in (("demand", demand), ("arrivals", arrivals)):
        if frame is None:
            continue
        day = frame["day"].to_numpy()
        if not (np.issubdtype(day.dtype, np.integer) and (day >= 0).all()):
            problems.append(Problem(layer, "day", "whole days >= 0 (integer dtype)"))
    if arrivals is not None:
        problems += _nonneg(arrivals, "arrivals", "units", ["warehouse_id", "commodity", "day"])
    values = cost.to_numpy(dtype=np.float64)
    if (np.isnan(values) | (values < 0)).any():
        problems.append(Problem("cost", "", "a cost >= 0 or inf (not connected), no NaN"))
    if cost.index.has_duplicates or cost.columns.has_duplicates:
        problems.append(Problem("cost", "", "unique warehouse rows and shelter columns"))
    if not problems:
        problems += _unknown(stocks, demand, cost, arrivals)
    if problems:
        raise ValidationError(problems, what="relief input")


def _unknown(
    stocks: pd.DataFrame, demand: pd.DataFrame, cost: pd.DataFrame, arrivals: pd.DataFrame | None
) -> list[Problem]:
    problems = []
    rows = pd.Index(cost.index.astype(str))
    cols = pd.Index(cost.columns.astype(str))
    for layer, frame in (("stocks", stocks), ("arrivals", arrivals)):
        if frame is not None:
            ids = pd.Index(frame["warehouse_id"].astype(str).unique())
            if len(lost := ids.difference(rows)):
                expected = "warehouses that have a row in cost"
                problems.append(Problem(layer, "warehouse_id", expected, tuple(lost)))
    ids = pd.Index(demand["shelter_id"].astype(str).unique())
    if len(lost := ids.difference(cols)):
        expected = "shelters that have a column in cost"
        problems.append(Problem("demand", "shelter_id", expected, tuple(lost)))
    return problems


# ---------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class _Sets:
    warehouses: NDArray[Any]
    commodities: NDArray[Any]
    days: int
    k_shelter: NDArray[np.int64]  # demand row → shelter column of cost
    k_comm: NDArray[np.int64]
    k_day: NDArray[np.int64]
    demand: NDArray[np.float64]
    stock: NDArray[np.float64]  # warehouses × commodities × days: stock + arrivals of the day

    def inv_index(self, w: NDArray[np.int64], c: NDArray[np.int64], d: NDArray[np.int64]) -> Any:
        return (w * self.commodities.size + c) * self.days + d


def _sets(
    stocks: pd.DataFrame, demand: pd.DataFrame, cost: pd.DataFrame, arrivals: pd.DataFrame | None
) -> _Sets:
    warehouses = cost.index.astype(str).to_numpy()
    shelters = pd.Index(cost.columns.astype(str))
    names = [stocks["commodity"], demand["commodity"]]
    if arrivals is not None:
        names.append(arrivals["commodity"])
    commodities = np.unique(pd.concat(names).astype(str).to_numpy())
    comm = pd.Index(commodities)
    days = int(demand["day"].max()) + 1 if len(demand) else 1
    supply = np.zeros((warehouses.size, commodities.size, days))
    w_index = pd.Index(warehouses)
    w = w_index.get_indexer(stocks["warehouse_id"].astype(str))
    np.add.at(
        supply,
        (w, comm.get_indexer(stocks["commodity"].astype(str)), 0),
        stocks["stock_units"].to_numpy(np.float64),
    )
    if arrivals is not None:
        inside = arrivals["day"].to_numpy() < days
        a = arrivals[inside]
        w = w_index.get_indexer(a["warehouse_id"].astype(str))
        c = comm.get_indexer(a["commodity"].astype(str))
        np.add.at(supply, (w, c, a["day"].to_numpy(np.int64)), a["units"].to_numpy(np.float64))
    return _Sets(
        warehouses,
        commodities,
        days,
        shelters.get_indexer(demand["shelter_id"].astype(str)).astype(np.int64),
        comm.get_indexer(demand["commodity"].astype(str)).astype(np.int64),
        demand["day"].to_numpy(np.int64),
        demand["demand_units"].to_numpy(np.float64),
        supply,
    )


def _vehicle_rows(
    sets: _Sets,
    vehicle_capacity: pd.Series,
    unit_load: Mapping[str, float] | None,
    arc_w: NDArray[np.int64],
    arc_k: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], list[str]]:
    """Rows, coefficients, bounds and labels of the vehicle capacity family (warehouse × day)."""
    cap = vehicle_capacity.copy()
    cap.index = cap.index.astype(str)
    values = cap.reindex(sets.warehouses).to_numpy(dtype=np.float64)
    if (unknown := cap.index.difference(pd.Index(sets.warehouses))).size:
        _fail("vehicle_capacity", "warehouse_id", "warehouses of the cost table", unknown)
    if (values < 0).any():
        _fail("vehicle_capacity", "", "a capacity >= 0 per day", sets.warehouses[values < 0])
    values = np.where(np.isnan(values), np.inf, values)
    loads = np.ones(sets.commodities.size)
    if unit_load is not None:
        missing = [c for c in sets.commodities if c not in unit_load]
        if missing:
            _fail("unit_load", "", "a load per unit of every commodity", missing)
        loads = np.array([float(unit_load[c]) for c in sets.commodities])
        if not (np.isfinite(loads) & (loads >= 0)).all():
            _fail("unit_load", "", "finite loads >= 0")
    rows = arc_w * sets.days + sets.k_day[arc_k]
    upper = np.repeat(values, sets.days)
    labels = [f"{w}/day {d}" for w in sets.warehouses for d in range(sets.days)]
    return rows, loads[sets.k_comm[arc_k]], upper, labels


def plan_relief(
    stocks: pd.DataFrame,
    demand: pd.DataFrame,
    cost: pd.DataFrame,
    arrivals: pd.DataFrame | None = None,
    vehicle_capacity: pd.Series | None = None,
    unit_load: Mapping[str, float] | None = None,
    fair: bool = False,
    time_limit_s: float | None = None,
) -> ReliefPlan:
    """Distribute relief: least unmet demand first, then least cost (or max-min fill first).

    Parameters
    ----------
    stocks
        ``warehouse_id``, ``commodity``, ``stock_units`` at the start of day 0 (one row per
        warehouse and commodity; missing pairs hold 0).
    demand
        ``shelter_id``, ``commodity``, ``day`` (integer ≥ 0), ``demand_units``; days run from 0
        to the largest day given (e.g. :func:`shelter_needs`).
    cost
        Cost per unit shipped, warehouses (index, ``warehouse_id``) × shelters (columns,
        ``shelter_id``): e.g. travel minutes on the damaged roads; ``inf`` where not connected.
    arrivals
        Optional resupply: ``warehouse_id``, ``commodity``, ``day``, ``units`` arriving at the
        start of that day.
    vehicle_capacity
        Optional load a warehouse can dispatch per day, by ``warehouse_id`` (missing: no limit).
    unit_load
        Load per unit of each commodity for ``vehicle_capacity`` (default 1 per unit).
    fair
        Maximise the minimum fill rate first (see the module docstring).
    time_limit_s
        HiGHS time limit per stage.

    Returns
    -------
    ReliefPlan

    Raises
    ------
    ValidationError
        Missing columns, repeated keys, negative or non-finite amounts, non-integer days, ids
        not in ``cost``, NaN or negative costs, bad vehicle capacities or loads.
    SolverTimeLimit, SolverNumericalTrouble
        From HiGHS (the model is always feasible: unmet demand absorbs any shortage).
    """
    _check(stocks, demand, cost, arrivals)
    sets = _sets(stocks, demand, cost, arrivals)
    costs = cost.to_numpy(dtype=np.float64)
    reach = np.isfinite(costs)  # warehouses × shelters
    need = sets.demand > 0
    arc_k, arc_w = np.nonzero(reach[:, sets.k_shelter].T & need[:, None])
    arc_cost = costs[arc_w, sets.k_shelter[arc_k]]
    n_w, n_c, n_d, n_k = sets.warehouses.size, sets.commodities.size, sets.days, sets.demand.size
    model = LinearModel()
    x = model.add_variables("ship", arc_k.size)
    inv = model.add_variables("inventory", n_w * n_c * n_d)
    unmet = model.add_variables("unmet", n_k, upper=sets.demand)
    k_labels = [
        f"{s}/{sets.commodities[c]}/day {d}"
        for s, c, d in zip(
            cost.columns.astype(str).to_numpy()[sets.k_shelter],
            sets.k_comm,
            sets.k_day,
            strict=True,
        )
    ]
    model.add_constraints(
        "demand",
        np.concatenate([arc_k, np.arange(n_k)]),
        np.concatenate([x.index(), unmet.index()]),
        1.0,
        lower=sets.demand,
        upper=sets.demand,
        labels=k_labels,
        meaning="delivered + unmet = demand",
    )
    _stock_family(model, sets, arc_w, arc_k, x.index(), inv.start)
    if vehicle_capacity is not None:
        rows, coef, upper, labels = _vehicle_rows(sets, vehicle_capacity, unit_load, arc_w, arc_k)
        model.add_constraints(
            "vehicle_capacity",
            rows,
            x.index(),
            coef,
            upper=upper,
            labels=labels,
            meaning="load dispatched per day <= vehicle capacity",
        )
    objectives = [Objective("unmet", {"unmet": 1.0}), Objective("cost", {"ship": arc_cost})]
    if vehicle_capacity is None:
        weight = unmet_weight(arc_cost, n_w * n_d + n_k)
        objectives[:] = [Objective("weighted", {"unmet": weight, "ship": arc_cost})]
    if fair:
        z = model.add_variables("min_fill", 1, upper=1.0)
        at = np.flatnonzero(need)
        model.add_constraints(
            "fill_rate",
            np.concatenate([np.arange(at.size), np.arange(at.size)]),
            np.concatenate([unmet.index(at), np.full(at.size, z.start)]),
            np.concatenate([np.ones(at.size), sets.demand[at]]),
            upper=sets.demand[at],
            labels=[k_labels[i] for i in at],
            meaning="unmet <= (1 - min_fill) x demand",
        )
        objectives.insert(0, Objective("min_fill", {"min_fill": 1.0}, sense="max"))
    solution = solve_lexicographic(model, objectives, time_limit_s)
    ship = np.maximum(solution.value("ship"), 0.0)
    left = np.maximum(solution.value("inventory"), 0.0)
    return _plan(sets, cost, demand, arc_w, arc_k, arc_cost, ship, left)


def unmet_weight(arc_cost: NDArray[np.float64], n_nodes: int) -> float:
    """A weight ``M`` on unmet units that makes ``M · unmet + cost`` lexicographic.

    Without vehicle capacities the model is, per commodity, a minimum-cost flow on a
    time-expanded network: a source ``Σ`` (supply of every warehouse and day; and the unmet arcs
    ``Σ → (s, d)``, cost ``M``), warehouse-day nodes linked by inventory arcs (cost 0), shipment
    arcs ``(w, d) → (s, d)`` (cost ≥ 0), shelter-day nodes draining their demand. Let ``f``
    minimise ``M · unmet + cost`` and suppose a feasible ``g`` has less unmet. ``g − f`` is a
    circulation in the residual network of ``f`` and splits into simple cycles; one of them
    lowers the unmet by one unit per unit of flow. It passes ``Σ`` once, so it holds one
    backward unmet arc (cost ``−M``) and fewer than ``n_nodes`` other arcs, each of cost at most
    ``c_max`` in absolute value: its cost is below ``−M + n_nodes · c_max < 0`` when
    ``M > n_nodes · c_max``, and a negative residual cycle contradicts the optimality of ``f``.
    So ``f`` has the least unmet, and among those the least cost. Commodities are independent
    (no vehicle capacity couples them), so this holds for their sum. With vehicle capacities
    the model is solved in two stages instead.

    Parameters
    ----------
    arc_cost
        Cost per unit of every shipment arc.
    n_nodes
        An upper bound on the number of nodes of one commodity's network besides ``Σ``
        (warehouses × days + shelter-day demands).

    Returns
    -------
    float
        ``(n_nodes + 1) · c_max``, or 1 when every cost is 0.
    """
    c_max = float(np.max(np.abs(arc_cost))) if arc_cost.size else 0.0
    return (n_nodes + 1) * c_max if c_max > 0 else 1.0


def _stock_family(
    model: LinearModel,
    sets: _Sets,
    arc_w: NDArray[np.int64],
    arc_k: NDArray[np.int64],
    x_index: NDArray[np.int64],
    inv_start: int,
) -> None:
    """``inv[d] − inv[d − 1] + Σ_s x = supply[d]`` per warehouse, commodity and day."""
    n_w, n_c, n_d = sets.warehouses.size, sets.commodities.size, sets.days
    w, c, d = (
        a.ravel()
        for a in np.meshgrid(np.arange(n_w), np.arange(n_c), np.arange(n_d), indexing="ij")
    )
    rows_inv = sets.inv_index(w, c, d)
    prev = d > 0
    rows = np.concatenate(
        [rows_inv, rows_inv[prev], sets.inv_index(arc_w, sets.k_comm[arc_k], sets.k_day[arc_k])]
    )
    cols = np.concatenate([inv_start + rows_inv, inv_start + rows_inv[prev] - 1, x_index])
    vals = np.concatenate([np.ones(rows_inv.size), -np.ones(int(prev.sum())), np.ones(arc_w.size)])
    supply = sets.stock[w, c, d]
    labels = [
        f"{sets.warehouses[i]}/{sets.commodities[j]}/day {k}"
        for i, j, k in zip(w, c, d, strict=True)
    ]
    model.add_constraints(
        "warehouse_stock",
        rows,
        cols,
        vals,
        lower=supply,
        upper=supply,
        labels=labels,
        meaning="stock carried + arrivals - shipped = stock left >= 0",
    )


def _plan(
    sets: _Sets,
    cost: pd.DataFrame,
    demand: pd.DataFrame,
    arc_w: NDArray[np.int64],
    arc_k: NDArray[np.int64],
    arc_cost: NDArray[np.float64],
    ship: NDArray[np.float64],
    left: NDArray[np.float64],
) -> ReliefPlan:
    shelters = cost.columns.astype(str).to_numpy()
    used = ship > 1e-9
    k = arc_k[used]
    shipments = pd.DataFrame(
        {
            "warehouse_id": pd.array(sets.warehouses[arc_w[used]], dtype="str"),
            "shelter_id": pd.array(shelters[sets.k_shelter[k]], dtype="str"),
            "commodity": pd.array(sets.commodities[sets.k_comm[k]], dtype="str"),
            "day": sets.k_day[k],
            "units": ship[used],
            "cost": arc_cost[used],
        }
    )
    delivered = np.minimum(np.bincount(arc_k, ship, minlength=sets.demand.size), sets.demand)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(sets.demand > 0, delivered / sets.demand, np.nan)
    fill = pd.DataFrame(
        {
            "shelter_id": pd.array(demand["shelter_id"].astype(str).to_numpy(), dtype="str"),
            "commodity": pd.array(demand["commodity"].astype(str).to_numpy(), dtype="str"),
            "day": sets.k_day,
            "demand_units": sets.demand,
            "delivered_units": delivered,
            "unmet_units": sets.demand - delivered,
            "fill_rate": rate,
        }
    )
    n_w, n_c, n_d = sets.warehouses.size, sets.commodities.size, sets.days
    inventory = pd.DataFrame(
        {
            "warehouse_id": pd.array(np.repeat(sets.warehouses, n_c * n_d), dtype="str"),
            "commodity": pd.array(np.tile(np.repeat(sets.commodities, n_d), n_w), dtype="str"),
            "day": np.tile(np.arange(n_d), n_w * n_c),
            "end_units": left,
        }
    )
    total = float(sets.demand.sum())
    got = float(delivered.sum())
    totals = {
        "demand_units": total,
        "delivered_units": got,
        "unmet_units": total - got,
        "fill_rate": got / total if total > 0 else float("nan"),
        "min_fill_rate": float(np.nanmin(rate)) if np.isfinite(rate).any() else float("nan"),
        "cost": float(ship @ arc_cost),
    }
    return ReliefPlan(shipments, fill, inventory, totals)
