"""Evacuation to shelters on the damaged road network, solved to optimality with HiGHS.

People to evacuate are aggregated to their buildings' road nodes (the *origins*); they go to
functioning shelters within each shelter's capacity. The model is a transportation problem:

* ``x[o, s] ≥ 0`` people from origin ``o`` to shelter ``s``, only on the pairs that the damaged
  roads connect (and within ``max_minutes`` when given);
* ``u[o] ≥ 0`` people of origin ``o`` left unsheltered;
* ``origin_people``: ``Σ_s x[o, s] + u[o] = people[o]`` (conservation: every person is sheltered
  or reported, nobody is counted twice);
* ``shelter_capacity``: ``Σ_o x[o, s] ≤ capacity_people[s]``.

Objectives, lexicographically (:func:`~resilientcity.decision.lp.solve_lexicographic`): first the
fewest unsheltered people, then the least person-travel-time ``Σ minutes[o, s] · x[o, s]``. The
constraint matrix is totally unimodular (a bipartite transportation matrix), so with whole
numbers of people and capacities the optimal vertex HiGHS's simplex returns is in whole people.

Travel minutes are those of :mod:`resilientcity.network.road_routing` (free-flow minutes divided
by the flood speed factor, closed edges removed): one Dijkstra run per shelter road node on the reversed
graph gives the minutes from every origin to every shelter. Unsheltered people are explained per
origin: ``isolated`` (no functioning shelter reachable at all), ``beyond_max_time`` (reachable,
but not within ``max_minutes``) or ``capacity`` (every shelter it can reach is full).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse import csgraph

from resilientcity.decision.lp import LinearModel, Objective, SolverInfeasible, solve_lexicographic
from resilientcity.errors import Problem, ValidationError, fail
from resilientcity.network import PassabilityRules, damaged_graph, reversed_graph
from resilientcity.twin.city import City

__all__ = [
    "EvacuationPlan",
    "evacuate",
    "evacuation_origins",
    "functioning_shelters",
    "plan_evacuation",
    "shelter_travel_minutes",
]


_fail = partial(fail, what="evacuation input")


@dataclass(frozen=True, eq=False)
class EvacuationPlan:
    """An optimal evacuation.

    Attributes
    ----------
    flows
        One row per used (origin, shelter) pair: ``origin_id``, ``shelter_id``, ``people``,
        ``travel_min`` (minutes of the trip on the damaged roads).
    origins
        One row per origin, input order: ``origin_id``, ``people``, ``sheltered``,
        ``unsheltered``, ``reason`` (``""``, ``isolated``, ``beyond_max_time`` or ``capacity``),
        ``mean_travel_min`` (over its sheltered people; NaN when none).
    shelters
        One row per shelter, input order: ``shelter_id``, ``capacity_people``,
        ``assigned_people``, ``fill_rate`` (assigned / capacity; NaN for capacity 0).
    totals
        ``people``, ``sheltered``, ``unsheltered``, ``unsheltered_isolated``,
        ``unsheltered_beyond_max_time``, ``unsheltered_capacity``, ``person_minutes``,
        ``mean_travel_min``.
    """

    flows: pd.DataFrame
    origins: pd.DataFrame
    shelters: pd.DataFrame
    totals: dict[str, float]


# ---------------------------------------------------------------------------------------------
# Inputs from a city


def evacuation_origins(city: City, people: pd.Series) -> pd.DataFrame:
    """People to evacuate, aggregated to their buildings' road nodes.

    Parameters
    ----------
    city
        The city (its assets' ``node_id``).
    people
        People to evacuate per asset, indexed by ``asset_id`` (e.g. the occupants of buildings
        with flood depth > 0); zeros are dropped.

    Returns
    -------
    pandas.DataFrame
        One row per road node with people (ascending ``node_id``): ``origin_id`` (``"node:<id>"``,
        or ``"asset:<asset_id>"`` for an asset without a road node, which is its own origin and
        cannot reach any shelter), ``node_id``, ``people``, ``assets`` (how many assets).

    Raises
    ------
    ValidationError
        Unknown asset ids; people that are negative or not finite.
    """
    values = people.to_numpy(dtype=np.float64)
    ids = people.index.astype(str)
    bad = ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        _fail("people", "people", "a finite number >= 0 per asset", ids[bad])
    where = pd.Index(city.assets["asset_id"].astype(str)).get_indexer(ids)
    if (where < 0).any():
        _fail("people", "asset_id", "ids of assets of the city", ids[where < 0])
    keep = values > 0
    node = city.assets["node_id"].to_numpy(dtype=np.int64)[where[keep]]
    key = np.where(node >= 0, "node:" + node.astype(str), "asset:" + ids[keep].to_numpy(str))
    frame = pd.DataFrame({"origin_id": key, "node_id": node, "people": values[keep]})
    out = frame.groupby("origin_id", sort=False).agg(
        node_id=("node_id", "first"), people=("people", "sum"), assets=("people", "size")
    )
    out = out.reset_index().sort_values(["node_id", "origin_id"], kind="stable")
    out["origin_id"] = out["origin_id"].astype("str")
    return out.reset_index(drop=True)


def functioning_shelters(city: City, functional: pd.Series | None = None) -> pd.DataFrame:
    """The city's shelters that function, with their capacity.

    Parameters
    ----------
    city
        The city (assets of kind ``shelter``; ``capacity`` is people).
    functional
        Functionality by ``asset_id`` (booleans, or probabilities of functioning where below
        :attr:`~resilientcity.network.road_state.PassabilityRules.functional_threshold` counts as
        down); shelters left out function. Default: every shelter functions.

    Returns
    -------
    pandas.DataFrame
        ``shelter_id``, ``node_id``, ``capacity_people``; in ``city.assets`` order.

    Raises
    ------
    ValidationError
        A shelter capacity that is negative or not finite.
    """
    assets = city.assets
    shelters = assets[(assets["kind"] == "shelter").to_numpy(dtype=bool)]
    ids = shelters["asset_id"].astype(str)
    capacity = shelters["capacity"].to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(capacity) & (capacity >= 0))
    if bad.any():
        _fail("assets", "capacity", "a finite shelter capacity >= 0 (people)", ids[bad])
    up = np.ones(len(shelters), dtype=bool)
    if functional is not None:
        threshold = PassabilityRules.default().functional_threshold
        state = functional.copy()
        state.index = state.index.astype(str)
        given = state.reindex(ids.to_numpy())
        p = given.astype(np.float64).to_numpy()
        up = np.isnan(p) | (p >= threshold)
    return pd.DataFrame(
        {
            "shelter_id": pd.array(ids.to_numpy()[up], dtype="str"),
            "node_id": shelters["node_id"].to_numpy(dtype=np.int64)[up],
            "capacity_people": capacity[up],
        }
    )


def shelter_travel_minutes(
    city: City,
    state: pd.DataFrame,
    origin_nodes: NDArray[np.int64],
    shelter_nodes: NDArray[np.int64],
    max_minutes: float | None = None,
) -> NDArray[np.float64]:
    """Minutes from every origin node to every shelter node on the damaged roads.

    One Dijkstra run (``scipy.sparse.csgraph.dijkstra``) from each distinct shelter node on the
    reversed damaged graph of :mod:`resilientcity.network.road_routing` (edge minutes
    ``travel_min / speed_factor``, closed edges removed, one-way edges in their direction).

    Parameters
    ----------
    city
        The city.
    state
        Edge states from :func:`~resilientcity.network.road_state.edge_state`.
    origin_nodes, shelter_nodes
        Road ``node_id`` of each origin and of each shelter; ``-1`` (no node) reaches nothing.
    max_minutes
        Stop the searches at this many minutes (longer trips come out ``inf``).

    Returns
    -------
    numpy.ndarray of float64
        ``n_origins × n_shelters`` minutes; ``inf`` where the damaged roads do not connect them.

    Raises
    ------
    ValidationError
        Node ids that are not road nodes; a state that does not match the edges.
    """
    reverse = reversed_graph(damaged_graph(city, state))
    o_pos = _node_positions(city, np.asarray(origin_nodes, dtype=np.int64), "origin_nodes")
    s_pos = _node_positions(city, np.asarray(shelter_nodes, dtype=np.int64), "shelter_nodes")
    out = np.full((o_pos.size, s_pos.size), np.inf)
    sources, which = np.unique(s_pos[s_pos >= 0], return_inverse=True)
    if sources.size == 0 or o_pos.size == 0:
        return out
    limit = np.inf if max_minutes is None else float(max_minutes)
    dist = csgraph.dijkstra(reverse, directed=True, indices=sources, limit=limit)
    has_node = s_pos >= 0
    reach = dist[:, np.maximum(o_pos, 0)].T  # origins × distinct shelter nodes
    out[:, has_node] = reach[:, which]
    out[o_pos < 0, :] = np.inf
    return out


def _node_positions(city: City, nodes: NDArray[np.int64], what: str) -> NDArray[np.int64]:
    pos = city.roads.node_positions(nodes).astype(np.int64)
    dangling = (pos < 0) & (nodes >= 0)
    if dangling.any():
        _fail(what, "node_id", "a road node (road_nodes.node_id) or -1", nodes[dangling])
    return pos


# ---------------------------------------------------------------------------------------------
# The model


def _check_frames(origins: pd.DataFrame, shelters: pd.DataFrame, minutes: NDArray[Any]) -> None:
    problems = []
    for name, frame, cols in (
        ("origins", origins, ("origin_id", "people")),
        ("shelters", shelters, ("shelter_id", "capacity_people")),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            problems.append(Problem(name, ", ".join(missing), "the column"))
            continue
        ids = frame[cols[0]].astype(str)
        dup = ids[ids.duplicated()]
        if len(dup):
            problems.append(Problem(name, cols[0], "unique ids", tuple(dup)))
        values = frame[cols[1]].to_numpy(dtype=np.float64)
        bad = ~(np.isfinite(values) & (values >= 0))
        if bad.any():
            problems.append(Problem(name, cols[1], "a finite number >= 0", tuple(ids[bad])))
    if not problems:
        shape = (len(origins), len(shelters))
        if minutes.shape != shape:
            expected = f"an origins × shelters matrix {shape}"
            problems.append(Problem("minutes", "", expected, found=str(minutes.shape)))
        elif (np.isnan(minutes) | (minutes < 0)).any():
            problems.append(Problem("minutes", "", "minutes >= 0 or inf (no NaN)"))
    if problems:
        raise ValidationError(problems, what="evacuation input")


def _shortfall_problems(
    origins: pd.DataFrame, shelters: pd.DataFrame, reachable: NDArray[np.bool_]
) -> list[Problem]:
    """Data that make sheltering everyone impossible: isolated origins, too little capacity."""
    problems = []
    people = origins["people"].to_numpy(dtype=np.float64)
    cut = (people > 0) & ~reachable.any(axis=1)
    if cut.any():
        problems.append(
            Problem(
                "origins",
                "people",
                "a functioning shelter reachable on the damaged roads (within max_minutes)",
                tuple(origins["origin_id"].astype(str)[cut]),
                f"{people[cut].sum():,.0f} people with no reachable shelter",
            )
        )
    total = float(people.sum())
    capacity = float(shelters["capacity_people"].sum())
    if total > capacity:
        problems.append(
            Problem(
                "shelters",
                "capacity_people",
                f"total capacity >= the {total:,.0f} people to shelter",
                found=f"{capacity:,.0f}",
            )
        )
    return problems


def plan_evacuation(
    origins: pd.DataFrame,
    shelters: pd.DataFrame,
    minutes: NDArray[np.float64],
    max_minutes: float | None = None,
    require_all: bool = False,
    time_limit_s: float | None = None,
) -> EvacuationPlan:
    """Send people to shelters: fewest unsheltered first, then least person-travel-time.

    Parameters
    ----------
    origins
        ``origin_id`` (unique), ``people`` (≥ 0).
    shelters
        ``shelter_id`` (unique), ``capacity_people`` (≥ 0); functioning shelters only.
    minutes
        ``n_origins × n_shelters`` travel minutes; ``inf`` where not connected.
    max_minutes
        Longest trip allowed (minutes); ``None`` for no limit.
    require_all
        Every person must be sheltered: the model then has no unsheltered variables, and when that
        is impossible :class:`~resilientcity.decision.lp.SolverInfeasible` names the isolated
        origins, the capacity shortfall, or the constraint rows (origins, shelters) at fault.
    time_limit_s
        HiGHS time limit per stage.

    Returns
    -------
    EvacuationPlan

    Raises
    ------
    ValidationError
        Missing columns, repeated ids, negative or non-finite people or capacity, a matrix of
        the wrong shape or with NaN or negative minutes.
    SolverInfeasible
        Only with ``require_all``.
    SolverTimeLimit, SolverNumericalTrouble
        From HiGHS.
    """
    minutes = np.asarray(minutes, dtype=np.float64)
    _check_frames(origins, shelters, minutes)
    reachable = np.isfinite(minutes)
    if max_minutes is not None:
        reachable &= minutes <= max_minutes
    if require_all:
        problems = _shortfall_problems(origins, shelters, reachable)
        if problems:
            raise SolverInfeasible("not everyone can be sheltered", problems)
    o_ids = origins["origin_id"].astype(str).to_numpy()
    s_ids = shelters["shelter_id"].astype(str).to_numpy()
    people = origins["people"].to_numpy(dtype=np.float64)
    capacity = shelters["capacity_people"].to_numpy(dtype=np.float64)
    arc_o, arc_s = np.nonzero(reachable & (people[:, None] > 0))
    arc_min = minutes[arc_o, arc_s]
    model = LinearModel()
    labels = [f"{o_ids[o]}→{s_ids[s]}" for o, s in zip(arc_o, arc_s, strict=True)]
    x = model.add_variables("flow", arc_o.size, labels=labels)
    u = model.add_variables(
        "unsheltered", o_ids.size, upper=0.0 if require_all else people, labels=list(o_ids)
    )
    n_o = o_ids.size
    model.add_constraints(
        "origin_people",
        np.concatenate([arc_o, np.arange(n_o)]),
        np.concatenate([x.index(), u.index()]),
        1.0,
        lower=people,
        upper=people,
        labels=list(o_ids),
        meaning="every person of the origin sheltered"
        + ("" if require_all else " or counted unsheltered"),
    )
    model.add_constraints(
        "shelter_capacity",
        arc_s,
        x.index(),
        1.0,
        upper=capacity,
        labels=list(s_ids),
        meaning="people sent to the shelter <= capacity_people",
    )
    solution = solve_lexicographic(
        model,
        [
            Objective("unsheltered", {"unsheltered": 1.0}),
            Objective("person_minutes", {"flow": arc_min}),
        ],
        time_limit_s,
    )
    flow = np.maximum(solution.value("flow"), 0.0)
    unsheltered = np.maximum(solution.value("unsheltered"), 0.0)
    return _plan(origins, shelters, minutes, reachable, arc_o, arc_s, flow, unsheltered)


def _plan(
    origins: pd.DataFrame,
    shelters: pd.DataFrame,
    minutes: NDArray[np.float64],
    reachable: NDArray[np.bool_],
    arc_o: NDArray[np.int64],
    arc_s: NDArray[np.int64],
    flow: NDArray[np.float64],
    unsheltered: NDArray[np.float64],
) -> EvacuationPlan:
    o_ids = origins["origin_id"].astype(str).to_numpy()
    s_ids = shelters["shelter_id"].astype(str).to_numpy()
    people = origins["people"].to_numpy(dtype=np.float64)
    capacity = shelters["capacity_people"].to_numpy(dtype=np.float64)
    used = flow > 1e-9
    arc_min = minutes[arc_o, arc_s]
    flows = pd.DataFrame(
        {
            "origin_id": pd.array(o_ids[arc_o[used]], dtype="str"),
            "shelter_id": pd.array(s_ids[arc_s[used]], dtype="str"),
            "people": flow[used],
            "travel_min": arc_min[used],
        }
    )
    sheltered = np.bincount(arc_o, flow, minlength=o_ids.size)
    person_min = np.bincount(arc_o, flow * arc_min, minlength=o_ids.size)
    connected = np.isfinite(minutes).any(axis=1)
    reason = np.where(
        unsheltered <= 1e-9,
        "",
        np.where(
            ~connected, "isolated", np.where(~reachable.any(axis=1), "beyond_max_time", "capacity")
        ),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_min = np.where(sheltered > 0, person_min / sheltered, np.nan)
        assigned = np.bincount(arc_s, flow, minlength=s_ids.size)
        fill = np.where(capacity > 0, assigned / capacity, np.nan)
    table = pd.DataFrame(
        {
            "origin_id": pd.array(o_ids, dtype="str"),
            "people": people,
            "sheltered": sheltered,
            "unsheltered": unsheltered,
            "reason": pd.array(reason, dtype="str"),
            "mean_travel_min": mean_min,
        }
    )
    shelter_table = pd.DataFrame(
        {
            "shelter_id": pd.array(s_ids, dtype="str"),
            "capacity_people": capacity,
            "assigned_people": assigned,
            "fill_rate": fill,
        }
    )
    total_sheltered = float(sheltered.sum())
    totals = {
        "people": float(people.sum()),
        "sheltered": total_sheltered,
        "unsheltered": float(unsheltered.sum()),
        **{
            f"unsheltered_{r}": float(unsheltered[reason == r].sum())
            for r in ("isolated", "beyond_max_time", "capacity")
        },
        "person_minutes": float(person_min.sum()),
        "mean_travel_min": float(person_min.sum() / total_sheltered)
        if total_sheltered > 0
        else float("nan"),
    }
    return EvacuationPlan(flows, table, shelter_table, totals)


def evacuate(
    city: City,
    state: pd.DataFrame,
    people: pd.Series,
    functional: pd.Series | None = None,
    max_minutes: float | None = None,
    require_all: bool = False,
    time_limit_s: float | None = None,
) -> EvacuationPlan:
    """Evacuate ``people`` of a city to its functioning shelters on the damaged roads.

    :func:`evacuation_origins` → :func:`functioning_shelters` → :func:`shelter_travel_minutes`
    → :func:`plan_evacuation`; see those for the parameters. Origins are ``"node:<node_id>"``.

    Raises
    ------
    ValidationError, SolverInfeasible, SolverTimeLimit, SolverNumericalTrouble
        See the functions above.
    """
    origins = evacuation_origins(city, people)
    shelters = functioning_shelters(city, functional)
    minutes = shelter_travel_minutes(
        city,
        state,
        origins["node_id"].to_numpy(dtype=np.int64),
        shelters["node_id"].to_numpy(dtype=np.int64),
        max_minutes,
    )
    return plan_evacuation(origins, shelters, minutes, max_minutes, require_all, time_limit_s)
