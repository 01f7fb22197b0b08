"""Roads after damage: closures, travel times to the nearest functioning facility, isolation.

The chain is

1. :func:`edge_flood_depth` — the deepest water along each road edge from a flood depth grid;
2. :func:`edge_state` — each edge open or closed, with a speed factor and the reason of a
   closure, from the water on it (Pregnolato et al. 2017 depth–speed function) and from the
   functionality of the road asset (bridge, …) it runs on;
3. :func:`travel_minutes_to_nearest` — minutes from every road node to the nearest of a set of
   target assets over the open edges (one multi-source Dijkstra on the reversed graph; the
   graphs are public for other modules: :func:`check_edge_state`, :func:`damaged_graph`,
   :func:`reversed_graph`);
4. :func:`accessibility` and :func:`zone_accessibility` — minutes from every building to the
   nearest functioning hospital, shelter, fire station …, isolation and detour factors, per
   building and per district; :func:`has_road_access` — whether an asset is still connected to
   the main road network (used by the interdependency cascade).

Every number of the rules (depth–speed coefficients, closure depth, the threshold that turns a
probability of functionality into up/down) lives in ``data/network/road_passability.json`` with
its source; :class:`PassabilityRules` reads it.

Travel times are free-flow times (``road_edges.travel_min``) divided by the speed factor: no
congestion, no turn penalties, a vehicle at every building. An intact road network that is not
strongly connected (a node that cannot reach, or be reached from, the rest) is reported as an
error by :func:`accessibility` and :func:`has_road_access` instead of being silently counted as
isolation caused by the hazard (see :func:`road_network_problems`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csgraph

from resilientcity._files import read_data_file
from resilientcity.errors import DataFileError, Problem, ValidationError, fail
from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM
from resilientcity.twin.roads import RoadNetwork

__all__ = [
    "DEFAULT_KINDS",
    "PassabilityRules",
    "accessibility",
    "check_edge_state",
    "damaged_graph",
    "edge_flood_depth",
    "edge_state",
    "has_road_access",
    "reversed_graph",
    "road_network_problems",
    "travel_minutes_to_nearest",
    "zone_accessibility",
]

_RULES_FILE = "data/network/road_passability.json"
#: Facility kinds :func:`accessibility` measures by default.
DEFAULT_KINDS: tuple[str, ...] = ("hospital", "shelter", "fire_station")
#: The kind whose loss of access makes a building isolated.
_ISOLATING_KIND = "hospital"


_fail = partial(fail, what="road input")


# ---------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True)
class PassabilityRules:
    """When a road edge closes or slows, and when an asset counts as down.

    Parameters
    ----------
    speed_a, speed_b, speed_c
        Coefficients of the safe speed in standing water, ``v(w) = a w² + b w + c`` (km/h, ``w``
        in mm): Pregnolato, Ford, Wilkinson & Dawson (2017), Transportation Research Part D
        55:67-81, doi:10.1016/j.trd.2017.06.020.
    closure_depth_m
        Depth (m) from which an edge is impassable (0.30 m, same source).
    functional_threshold
        A probability of functionality below this counts as down (0.5, an assumption: more likely
        down than up).
    """

    speed_a: float
    speed_b: float
    speed_c: float
    closure_depth_m: float
    functional_threshold: float

    def safe_speed_kph(self, depth_m: ArrayLike) -> NDArray[np.float64]:
        """Safe speed (km/h) through standing water of the given depth (m), ``v(1000 × depth)``."""
        w = np.asarray(depth_m, dtype=np.float64) * 1000.0
        return (self.speed_a * w + self.speed_b) * w + self.speed_c

    @classmethod
    def default(cls) -> PassabilityRules:
        """The packaged rules (``data/network/road_passability.json``, with sources).

        Raises
        ------
        DataFileError
            The packaged file lacks a value.
        """
        with resources.as_file(resources.files("resilientcity").joinpath(_RULES_FILE)) as path:
            spec = read_data_file(path, "road passability")
            try:
                speed = spec["flood_safe_speed"]
                return cls(
                    float(speed["a"]),
                    float(speed["b"]),
                    float(speed["c"]),
                    float(spec["flood_closure_depth_m"]["value"]),
                    float(spec["functional_threshold"]["value"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise DataFileError(f"{path}: missing or invalid value {exc}") from exc


# ---------------------------------------------------------------------------------------------
# Ids


def _text(values: Any) -> pa.Array | pa.ChunkedArray:
    """Ids as Arrow strings (``str`` columns convert without a copy)."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if not isinstance(values, pd.api.extensions.ExtensionArray):
        values = pd.array(np.asarray(values, dtype=object).astype(str), dtype="str")
    elif not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("str")
    return pa.array(values)


def _isin(values: Any, value_set: Any) -> NDArray[np.bool_]:
    """Whether each id is in ``value_set``, hashed by Arrow.

    ``pandas`` ``str`` ``isin`` converts every value of the set to a Python object first, which
    takes seconds for the million ids of a large city.
    """
    if len(value_set) == 0 or len(values) == 0:  # Arrow cannot cast to an empty array's type
        return np.zeros(len(values), dtype=bool)
    text = _text(values)
    chosen = _text(value_set)
    if isinstance(chosen, pa.ChunkedArray):
        chosen = chosen.combine_chunks()
    found = pc.is_in(text, value_set=chosen.cast(text.type))
    return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _positions(values: Any, value_set: Any) -> NDArray[np.int64]:
    """Index of each id in ``value_set`` (the first when repeated); ``-1`` when absent.

    Only the few ``values`` are hashed: the (large) ``value_set`` is scanned against them.
    """
    candidates = np.flatnonzero(_isin(value_set, values))
    if candidates.size == 0:
        return np.full(len(values), -1, dtype=np.int64)
    chosen = _text(value_set)
    text = _text(values)
    subset = chosen.take(pa.array(candidates))
    if isinstance(subset, pa.ChunkedArray):
        subset = subset.combine_chunks()
    where = pc.index_in(text, value_set=subset.cast(text.type))
    local = np.asarray(where.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.where(local >= 0, candidates[np.maximum(local, 0)], -1)


# ---------------------------------------------------------------------------------------------
# Edge states


def _edge_assets(city: City) -> NDArray[np.str_]:
    """``asset_id`` of each road edge as text (``""`` for none)."""
    return city.roads.edges["asset_id"].fillna("").to_numpy(dtype=str)


def _bridge_edges(city: City) -> NDArray[np.bool_]:
    """Edges that run on an asset of kind ``bridge``."""
    assets = city.assets
    bridges = assets.loc[assets["kind"] == "bridge", "asset_id"].to_numpy(dtype=str)
    return _isin(_edge_assets(city), bridges)


def _sample_points(
    geometry: NDArray[Any],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Vertices and segment midpoints of line geometries: ``xy`` and the geometry of each."""
    parts, part_of = shapely.get_parts(geometry, return_index=True)
    xy, coord_of = shapely.get_coordinates(parts, return_index=True)
    same = coord_of[1:] == coord_of[:-1]  # consecutive vertices of one part: a segment
    mid = (xy[1:][same] + xy[:-1][same]) / 2.0
    points = np.concatenate([xy, mid])
    owner = np.concatenate([part_of[coord_of], part_of[coord_of[1:][same]]])
    return points, owner


def edge_flood_depth(
    city: City, depth_grid: NDArray[Any], dem: DEM | None = None
) -> NDArray[np.float64]:
    """The deepest water (m) along each road edge, from a flood depth grid on the DEM's grid.

    Each edge is sampled at its vertices and at the midpoint of each of its segments; a sample
    takes the depth of the DEM cell it falls in (:meth:`DEM.rowcol`), 0 off the grid. Edges
    running on a bridge (``asset_id`` of an asset of kind ``bridge``) get 0 without sampling:
    a bridge deck is above the water, so the depth of the valley under it does not close it (a
    bridge fails through its own asset's functionality, see :func:`edge_state`).

    Parameters
    ----------
    city
        The city (its road edges and assets).
    depth_grid
        Flood depth (m, ≥ 0) per DEM cell, ``rows × cols`` of the DEM (e.g. the output of
        :func:`resilientcity.hazard.flood.flood_depth` for one stage).
    dem
        The grid's DEM; default ``city.dem``.

    Returns
    -------
    numpy.ndarray of float64
        Depth (m) per road edge, in ``city.roads.edges`` order.

    Raises
    ------
    ValidationError
        No DEM; a grid of another shape than the DEM; a negative or non-finite depth sampled on
        an edge (the edges are named).
    """
    dem = dem if dem is not None else city.dem
    if dem is None:
        _fail("city", "dem", "a DEM to locate the depth grid's cells", found="none")
    grid = np.asarray(depth_grid)
    if grid.shape != dem.shape:
        rows, cols = dem.shape
        _fail("depth_grid", "", f"a {rows} × {cols} grid (the DEM's shape)", found=str(grid.shape))
    edges = city.roads.edges
    out = np.zeros(len(edges), dtype=np.float64)
    sampled = np.flatnonzero(~_bridge_edges(city))
    points, owner = _sample_points(edges.geometry.to_numpy()[sampled])
    row, col = dem.rowcol(points[:, 0], points[:, 1])
    on_grid = (row >= 0) & (row < dem.shape[0]) & (col >= 0) & (col < dem.shape[1])
    values = grid[row[on_grid], col[on_grid]].astype(np.float64)
    owner = sampled[owner[on_grid]]
    bad = ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        ids = np.unique(edges["edge_id"].to_numpy()[owner[bad]])
        _fail("depth_grid", "depth_m", "a finite depth >= 0 under every road edge", ids)
    np.maximum.at(out, owner, values)
    return out


def _edge_depths(city: City, edge_depth_m: ArrayLike | None) -> NDArray[np.float64]:
    """Per-edge depths after checks (zeros when not given)."""
    edges = city.roads.edges
    if edge_depth_m is None:
        return np.zeros(len(edges), dtype=np.float64)
    depth = np.asarray(edge_depth_m, dtype=np.float64)
    if depth.shape != (len(edges),):
        expected = f"one depth per road edge ({len(edges)}, in road_edges order)"
        _fail("edge_depth_m", "", expected, found=f"shape {depth.shape}")
    bad = ~(np.isfinite(depth) & (depth >= 0))
    if bad.any():
        _fail(
            "edge_depth_m", "depth_m", "a finite depth >= 0 (m)", edges["edge_id"].to_numpy()[bad]
        )
    return depth


def _down_assets(city: City, functional: pd.Series | None, threshold: float, what: str) -> pd.Index:
    """Ids of the assets given as down: ``False``, or a probability below ``threshold``.

    Raises
    ------
    ValidationError
        Not a Series; ids that are no asset of the city or repeated; values that are not a
        boolean or a probability in [0, 1].
    """
    if functional is None:
        return pd.Index([], dtype="str")
    if not isinstance(functional, pd.Series):
        _fail(what, "", "a pandas Series indexed by asset_id", found=type(functional).__name__)
    ids = functional.index.astype(str)
    problems = []
    unknown = ids[_positions(ids, city.assets["asset_id"]) < 0]
    if len(unknown):
        problems.append(Problem(what, "asset_id", "ids of assets of the city", tuple(unknown)))
    repeated = ids[ids.duplicated()].unique()
    if len(repeated):
        problems.append(Problem(what, "asset_id", "each asset once", tuple(repeated)))
    if pd.api.types.is_bool_dtype(functional.dtype):
        down = ~functional.to_numpy(dtype=bool)
    elif pd.api.types.is_numeric_dtype(functional.dtype):
        p = functional.to_numpy(dtype=np.float64)
        bad = ~((p >= 0) & (p <= 1))  # NaN fails too
        if bad.any():
            expected = "True/False or a probability of being functional in [0, 1]"
            problems.append(Problem(what, "functional", expected, tuple(ids[bad])))
        down = p < threshold
    else:
        expected = "booleans or probabilities in [0, 1]"
        problems.append(Problem(what, "functional", expected, found=f"dtype {functional.dtype}"))
        down = np.zeros(len(ids), dtype=bool)
    if problems:
        raise ValidationError(problems, what=what)
    return ids[down]


def edge_state(
    city: City,
    edge_depth_m: ArrayLike | None = None,
    asset_functional: pd.Series | None = None,
    rules: PassabilityRules | None = None,
) -> pd.DataFrame:
    """Open or closed, speed factor and reason of every road edge after a hazard.

    Flood: an edge with water of depth ``d ≥ closure_depth_m`` (0.30 m) is closed; with
    ``0 < d < closure_depth_m`` its speed is ``min(speed_kph, v(1000 d))`` where ``v`` is the
    Pregnolato et al. (2017) safe speed (km/h), so ``speed_factor = min(1, v / speed_kph)``; a
    dry edge keeps its free-flow speed. Assets: an edge whose ``asset_id`` (bridge, tunnel,
    segment …) is down in ``asset_functional`` is closed.

    Parameters
    ----------
    city
        The city (road edges and assets).
    edge_depth_m
        Water depth (m) per road edge in ``city.roads.edges`` order (e.g. from
        :func:`edge_flood_depth`); default no water.
    asset_functional
        Functionality of assets, a Series indexed by ``asset_id``: booleans, or probabilities of
        being functional in [0, 1] (``impact`` ``p_functional``), where a probability below
        ``rules.functional_threshold`` (0.5) counts as down. Assets left out count as
        functional; default every asset functional.
    rules
        Closure and speed rules; default :meth:`PassabilityRules.default`.

    Returns
    -------
    pandas.DataFrame
        One row per road edge, in ``city.roads.edges`` order (``RangeIndex``): ``edge_id``,
        ``depth_m`` (the water used), ``open`` (bool), ``speed_factor`` (in (0, 1] on open
        edges, 0 on closed ones), ``reason`` (``""`` when open, else e.g. ``"flood 0.45 m ≥
        0.30 m"``, ``"bridge BR012 down"``, both joined by ``"; "``).

    Raises
    ------
    ValidationError
        Depths of another length than the edges, negative or not finite (edges named);
        ``asset_functional`` not a Series, with unknown or repeated asset ids, or values that are
        not booleans or probabilities in [0, 1] (ids named).
    """
    rules = rules if rules is not None else PassabilityRules.default()
    edges = city.roads.edges
    depth = _edge_depths(city, edge_depth_m)
    down = _down_assets(city, asset_functional, rules.functional_threshold, "asset_functional")
    speed = edges["speed_kph"].to_numpy(dtype=np.float64)
    flooded = depth >= rules.closure_depth_m
    wet = (depth > 0) & ~flooded
    factor = np.ones(len(edges), dtype=np.float64)
    factor[wet] = np.minimum(1.0, rules.safe_speed_kph(depth[wet]) / speed[wet])
    edge_assets = _edge_assets(city)
    broken = (edge_assets != "") & _isin(edge_assets, down)
    is_open = ~(flooded | broken)
    factor[~is_open] = 0.0
    named = city.assets[_isin(city.assets["asset_id"], edge_assets[broken])]
    kind_of = dict(zip(named["asset_id"], named["kind"], strict=True))
    reason = np.full(len(edges), "", dtype=object)
    for k in np.flatnonzero(~is_open):
        why = []
        if flooded[k]:
            why.append(f"flood {depth[k]:.2f} m ≥ {rules.closure_depth_m:.2f} m")
        if broken[k]:
            why.append(f"{kind_of[edge_assets[k]]} {edge_assets[k]} down")
        reason[k] = "; ".join(why)
    return pd.DataFrame(
        {
            "edge_id": edges["edge_id"].to_numpy(),
            "depth_m": depth,
            "open": is_open,
            "speed_factor": factor,
            "reason": pd.array(reason, dtype="str"),
        }
    )


# ---------------------------------------------------------------------------------------------
# Shortest paths


def check_edge_state(
    city: City, state: pd.DataFrame
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """``open`` and ``speed_factor`` of an :func:`edge_state` frame, after checks.

    Parameters
    ----------
    city
        The city (its road edges).
    state
        Edge states from :func:`edge_state`: columns ``open`` and ``speed_factor``, one row per
        road edge in ``city.roads.edges`` order (an ``edge_id`` column, when present, must match
        that order).

    Returns
    -------
    is_open : numpy.ndarray of bool
        Per road edge, whether it is open.
    speed_factor : numpy.ndarray of float64
        Per road edge, the speed factor (in (0, 1] on open edges).

    Raises
    ------
    ValidationError
        Missing columns; another number of rows than edges; edges out of order (named); an open
        edge whose speed factor is not in (0, 1] (named).
    """
    edges = city.roads.edges
    missing = [c for c in ("open", "speed_factor") if c not in state.columns]
    if missing:
        _fail("state", ", ".join(missing), "the columns of edge_state(): open, speed_factor")
    if len(state) != len(edges):
        expected = f"one row per road edge ({len(edges)}, in road_edges order)"
        _fail("state", "", expected, found=f"{len(state)} rows")
    ids = edges["edge_id"].to_numpy()
    if "edge_id" in state.columns:
        moved = state["edge_id"].to_numpy() != ids
        if moved.any():
            _fail("state", "edge_id", "the edges in road_edges order", ids[moved])
    is_open = state["open"].to_numpy(dtype=bool)
    factor = state["speed_factor"].to_numpy(dtype=np.float64)
    bad = is_open & ~((factor > 0) & (factor <= 1))
    if bad.any():
        _fail("state", "speed_factor", "a factor in (0, 1] on every open edge", ids[bad])
    return is_open, factor


def damaged_graph(city: City, state: pd.DataFrame) -> sp.csr_array:
    """Directed travel-time graph (minutes) of the roads after damage.

    Edge weights are ``travel_min / speed_factor`` on the open edges; closed edges are left out;
    one-way edges run only from ``u`` to ``v``. Row and column positions are those of
    :attr:`RoadNetwork.node_index`.

    Parameters
    ----------
    city
        The city (its roads).
    state
        Edge states from :func:`edge_state` (checked by :func:`check_edge_state`).

    Returns
    -------
    scipy.sparse.csr_array
        ``n_nodes × n_nodes`` minutes from row node to column node.

    Raises
    ------
    ValidationError
        A state that does not match the edges (see :func:`check_edge_state`).
    """
    roads = city.roads
    is_open, factor = check_edge_state(city, state)
    minutes = roads.edges["travel_min"].to_numpy(dtype=np.float64) / np.where(is_open, factor, 1.0)
    edges = roads.edges.assign(travel_min_damaged=minutes)
    return RoadNetwork(roads.nodes, edges).csr("travel_min_damaged", closed=~is_open)


def _intact_graph(city: City) -> sp.csr_array:
    """Directed free-flow travel-time graph (minutes) of every edge."""
    return city.roads.csr("travel_min")


def _nearest(
    reversed_graph: sp.csr_array, target_nodes: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Minutes from every node to the nearest target node, and that target's node position.

    ``reversed_graph`` is the transposed travel graph: a path from a target to a node in it is a
    path from the node to the target on the roads. Unreachable nodes get ``inf`` and ``-1``.
    """
    n = reversed_graph.shape[0]
    targets = np.unique(target_nodes[target_nodes >= 0])
    if targets.size == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    minutes, _, source = csgraph.dijkstra(
        reversed_graph, directed=True, indices=targets, min_only=True, return_predecessors=True
    )
    source = np.where(np.isfinite(minutes), source, -1).astype(np.int64)
    return minutes, source


def reversed_graph(graph: sp.csr_array) -> sp.csr_array:
    """The graph with every edge turned around (CSR).

    A shortest-path search from a set of nodes on the reversed graph gives the minutes *to*
    those nodes on the roads (e.g. ``reversed_graph(damaged_graph(city, state))``).

    Parameters
    ----------
    graph
        A directed graph, e.g. from :func:`damaged_graph`.

    Returns
    -------
    scipy.sparse.csr_array
        The transpose of ``graph``.
    """
    return sp.csr_array(graph.T)


def _target_positions(
    city: City, targets: Sequence[str] | ArrayLike, what: str
) -> NDArray[np.int64]:
    """Road node position (CSR index) of each target asset; ``-1`` for assets without a node."""
    ids = pd.Index(np.asarray(targets, dtype=str).ravel())
    assets = city.assets
    where = _positions(ids, assets["asset_id"])
    if (where < 0).any():
        _fail(what, "asset_id", "ids of assets of the city", ids[where < 0])
    return _node_positions(city, assets.iloc[where])


def _node_positions(city: City, assets: pd.DataFrame) -> NDArray[np.int64]:
    """CSR positions of assets' road nodes; ``-1`` (no node) stays ``-1``; dangling ids raise."""
    node_ids = assets["node_id"].to_numpy(dtype=np.int64)
    pos = city.roads.node_positions(node_ids)
    dangling = (pos < 0) & (node_ids >= 0)
    if dangling.any():
        ids = assets["asset_id"].to_numpy()[dangling]
        _fail("assets", "node_id", "a road node (road_nodes.node_id) or -1", ids)
    return pos.astype(np.int64)


def _first_index(positions: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """For each node position, the first index into ``positions`` that sits there (or -1)."""
    out = np.full(n, -1, dtype=np.int64)
    order = np.arange(positions.size - 1, -1, -1)
    placed = positions[order] >= 0
    out[positions[order][placed]] = order[placed]  # the last write (the first index) wins
    return out


def travel_minutes_to_nearest(
    city: City, state: pd.DataFrame, targets: Sequence[str] | ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Minutes from every road node to the nearest target asset, over the open edges.

    Edge times are ``travel_min / speed_factor``; closed edges are left out; one-way edges are
    driven only from ``u`` to ``v``. One multi-source Dijkstra
    (``scipy.sparse.csgraph.dijkstra(..., min_only=True)``) runs from the targets' road nodes on
    the reversed graph, which gives the time *from* each node *to* its nearest target.

    Parameters
    ----------
    city
        The city (roads; the targets' ``assets.node_id``).
    state
        Edge states from :func:`edge_state` (``open``, ``speed_factor``; road_edges order).
    targets
        ``asset_id`` of the target assets; a target whose ``node_id`` is ``-1`` (no road node)
        is never reached.

    Returns
    -------
    minutes : numpy.ndarray of float64
        Per road node (positions of :attr:`RoadNetwork.node_index`): minutes to the nearest
        target, ``inf`` when no target can be reached.
    nearest : numpy.ndarray of int64
        Per road node: index into ``targets`` of the nearest target (the first of the targets on
        its node), ``-1`` when none can be reached.

    Raises
    ------
    ValidationError
        A state frame that does not match the edges (rows named); unknown target ids; targets
        whose ``node_id`` is no road node.
    """
    reverse = reversed_graph(damaged_graph(city, state))
    positions = _target_positions(city, targets, "targets")
    n = len(city.roads.nodes)
    minutes, source = _nearest(reverse, positions)
    first = _first_index(positions, n)
    nearest = np.where(source >= 0, first[np.maximum(source, 0)], -1)
    return minutes, nearest


# ---------------------------------------------------------------------------------------------
# Connectivity


def road_network_problems(city: City) -> list[Problem]:
    """Problems of the intact road network for accessibility: empty, or not strongly connected.

    The intact network must let every node reach every other (one strongly connected component
    over all edges, one-way edges in their direction); otherwise a building could be "isolated"
    before any hazard. The problem names the number of components and the nodes outside the
    largest one.
    """
    nodes = city.roads.nodes
    if len(nodes) == 0:
        return [Problem("road_nodes", "", "at least one road node", found="none")]
    count, labels = csgraph.connected_components(
        _intact_graph(city), directed=True, connection="strong"
    )
    if count == 1:
        return []
    outside = labels != np.argmax(np.bincount(labels))
    expected = (
        "one strongly connected road network (every node reaches, and is reached from, every "
        "other over the intact roads)"
    )
    ids = nodes["node_id"].to_numpy()[outside]
    found = f"{count} components; {outside.sum():,} nodes outside the largest"
    return [Problem("road_nodes", "node_id", expected, tuple(str(i) for i in ids), found)]


def _require_connected(city: City, allow_disconnected: bool) -> None:
    if allow_disconnected:
        return
    problems = road_network_problems(city)
    if problems:
        raise ValidationError(problems, what=f"road network of city {city.name!r}")


def has_road_access(
    city: City, state: pd.DataFrame, allow_disconnected: bool = False
) -> NDArray[np.bool_]:
    """Whether each asset's road node is in the largest strongly connected part of the open roads.

    Strongly connected: from the asset's node one can drive to every node of that part *and*
    be driven to from every one of them (one-way edges count in their direction), so supplies
    and people can both get in and out. When the open network falls apart, the largest part (by
    nodes) stands for "the city"; assets in smaller parts lose road access (a hospital there stops
    serving, in the cascade). Assets without a road node (``node_id`` −1) have no access.

    Parameters
    ----------
    city
        The city.
    state
        Edge states from :func:`edge_state`.
    allow_disconnected
        Accept an intact network that is already disconnected (then assets outside its largest
        part have no access, hazard or not); by default that raises.

    Returns
    -------
    numpy.ndarray of bool
        One value per asset, in ``city.assets`` order.

    Raises
    ------
    ValidationError
        The intact network is not strongly connected (unless allowed: components and nodes
        outside the main one named); a state that does not match the edges; dangling node ids.
    """
    _require_connected(city, allow_disconnected)
    _, labels = csgraph.connected_components(
        damaged_graph(city, state), directed=True, connection="strong"
    )
    main = labels == np.argmax(np.bincount(labels))
    assets = city.assets
    pos = _node_positions(city, assets)
    return (pos >= 0) & main[np.maximum(pos, 0)]


# ---------------------------------------------------------------------------------------------
# Accessibility


def _at(per_node: NDArray[Any], pos: NDArray[np.int64], missing: float | str) -> NDArray[Any]:
    """Per-node values at assets' node positions, ``missing`` where the position is ``-1``."""
    out = per_node[np.maximum(pos, 0)]
    return np.where(pos >= 0, out, missing)


def _detour(damaged: NDArray[np.float64], intact: NDArray[np.float64]) -> NDArray[np.float64]:
    """``damaged / intact``; 1 where both are 0 (at the facility), NaN where intact is inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = damaged / intact
    ratio[(damaged == 0) & (intact == 0)] = 1.0
    ratio[~np.isfinite(intact)] = np.nan
    return ratio


def accessibility(
    city: City,
    state: pd.DataFrame,
    functional: pd.Series | None = None,
    kinds: Sequence[str] = DEFAULT_KINDS,
    rules: PassabilityRules | None = None,
    allow_disconnected: bool = False,
) -> pd.DataFrame:
    """Minutes from every building to the nearest functioning facility of each kind.

    Buildings (assets of kind ``building``) reach the roads at their ``node_id``. For each kind
    three multi-source shortest-path runs give, per road node:

    * ``<kind>_min``: minutes on the damaged network (``state``) to the nearest facility of the
      kind that is functioning (``functional``), ``inf`` when none can be reached;
    * the minutes on the damaged network and on the intact network (free-flow, every edge open)
      to the nearest facility of the kind *that functioned before the event* (every one), whose
      ratio is ``<kind>_detour = damaged / intact``: the lengthening of the trip by the road
      closures and slowdowns alone (facility losses excluded). It is ≥ 1, ``inf`` when the
      closures cut the building off from every facility, 1 for a building at a facility's node
      (0 / 0) and NaN when even the intact network reaches none.

    A building is ``isolated`` when no functioning hospital can be reached (``hospital_min`` is
    ``inf``); hospitals are searched for that even when ``kinds`` leaves them out.

    Parameters
    ----------
    city
        The city.
    state
        Edge states from :func:`edge_state`.
    functional
        Functionality of assets by ``asset_id`` (booleans, or probabilities in [0, 1] where below
        ``rules.functional_threshold`` counts as down); facilities left out count as
        functioning. Default: every facility functioning.
    kinds
        Facility kinds (``assets.kind``) to measure; each must have at least one asset.
    rules
        Rules (only the functional threshold is used here); default
        :meth:`PassabilityRules.default`.
    allow_disconnected
        Accept an intact road network that is not strongly connected (see
        :func:`road_network_problems`); by default that raises.

    Returns
    -------
    pandas.DataFrame
        One row per building, in ``city.assets`` order (``RangeIndex``): ``asset_id``,
        ``zone_id`` (district), ``occupants``, then per kind ``<kind>_min`` (float minutes),
        ``<kind>_id`` (``asset_id`` of the nearest functioning facility, ``""`` when none) and
        ``<kind>_detour``; then ``isolated`` (bool).

    Raises
    ------
    ValidationError
        The intact network is not strongly connected (unless allowed); a kind without any asset;
        ``functional`` with unknown ids or values that are not booleans or probabilities; a state
        that does not match the edges; dangling ``node_id``.
    """
    rules = rules if rules is not None else PassabilityRules.default()
    _require_connected(city, allow_disconnected)
    damaged = reversed_graph(damaged_graph(city, state))
    down = _down_assets(city, functional, rules.functional_threshold, "functional")
    assets = city.assets
    present = set(assets["kind"].unique())
    wanted = list(dict.fromkeys([*kinds, _ISOLATING_KIND]))
    absent = [k for k in wanted if k not in present]
    if absent:
        _fail("assets", "kind", "at least one asset of each facility kind", absent, "none")
    intact = reversed_graph(_intact_graph(city))
    buildings = assets[(assets["kind"] == "building").to_numpy(dtype=bool)]
    b_pos = _node_positions(city, buildings)
    out: dict[str, Any] = {
        "asset_id": buildings["asset_id"].array.astype("str"),
        "zone_id": buildings["zone_id"].array.astype("str"),
        "occupants": buildings["occupants"].to_numpy(dtype=np.float64),
    }
    n = len(city.roads.nodes)
    for k in wanted:
        facilities = assets[(assets["kind"] == k).to_numpy(dtype=bool)]
        fac_ids = facilities["asset_id"].to_numpy(dtype=str)
        fac_pos = _node_positions(city, facilities)
        alive_pos = np.where(_isin(fac_ids, down), -1, fac_pos)
        minutes, source = _nearest(damaged, alive_pos)
        first = _first_index(alive_pos, n)
        nearest = np.where(source >= 0, first[np.maximum(source, 0)], -1)
        if k in kinds:
            cut, _ = _nearest(damaged, fac_pos)
            before, _ = _nearest(intact, fac_pos)
            names = pd.array([*fac_ids, ""], dtype="str")  # position -1: the appended ""
            out[f"{k}_min"] = _at(minutes, b_pos, np.inf).astype(np.float64)
            out[f"{k}_id"] = names.take(_at(nearest, b_pos, -1).astype(np.int64))
            out[f"{k}_detour"] = _detour(_at(cut, b_pos, np.inf), _at(before, b_pos, np.inf))
        if k == _ISOLATING_KIND:
            out["isolated"] = ~np.isfinite(_at(minutes, b_pos, np.inf).astype(np.float64))
    return pd.DataFrame(out)


def zone_accessibility(city: City, access: pd.DataFrame) -> pd.DataFrame:
    """Accessibility per district, weighted by the buildings' occupants.

    Parameters
    ----------
    city
        The city (its district zones).
    access
        The output of :func:`accessibility`.

    Returns
    -------
    pandas.DataFrame
        One row per district (zones of type ``district``, in ``city.zones`` order, then any other
        ``zone_id`` the buildings carry): ``zone_id``, ``occupants`` (sum over its buildings),
        ``isolated_occupants`` and ``isolated_share`` (of the occupants; NaN for a district
        without occupants); per kind measured, ``<kind>_min`` (occupant-weighted mean minutes over
        the occupants that can reach one; NaN when none can) and ``<kind>_unreachable_occupants``.

    Raises
    ------
    ValidationError
        ``access`` lacks the columns of :func:`accessibility`.
    """
    needed = ["zone_id", "occupants", "isolated"]
    missing = [c for c in needed if c not in access.columns]
    if missing:
        _fail("access", ", ".join(missing), "the columns of accessibility()")
    zones = city.zones
    districts = zones.loc[zones["zone_type"] == "district", "zone_id"].to_numpy(dtype=str)
    zone_of = access["zone_id"].to_numpy(dtype=str)
    index = pd.Index(districts).append(pd.Index(np.setdiff1d(zone_of, districts)))
    code = index.get_indexer(zone_of)
    m = len(index)
    people = access["occupants"].to_numpy(dtype=np.float64)
    total = np.bincount(code, people, minlength=m)
    isolated = np.bincount(code, people * access["isolated"].to_numpy(dtype=bool), minlength=m)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: dict[str, Any] = {
            "zone_id": pd.array(index.to_numpy(), dtype="str"),
            "occupants": total,
            "isolated_occupants": isolated,
            "isolated_share": np.where(total > 0, isolated / total, np.nan),
        }
        kinds = [c.removesuffix("_min") for c in access.columns if c.endswith("_min")]
        for k in kinds:
            minutes = access[f"{k}_min"].to_numpy(dtype=np.float64)
            reach = np.isfinite(minutes)
            w = np.bincount(code, people * reach, minlength=m)
            wt = np.bincount(code, np.where(reach, people * minutes, 0.0), minlength=m)
            out[f"{k}_min"] = np.where(w > 0, wt / w, np.nan)
            out[f"{k}_unreachable_occupants"] = np.bincount(code, people * ~reach, minlength=m)
    return pd.DataFrame(out)
