"""Shortest paths over the roads after damage: travel minutes to the nearest facility.

:func:`travel_minutes_to_nearest` gives the minutes from every road node to the nearest of a
set of target assets over the open edges (one multi-source Dijkstra on the reversed graph). The
graphs are public for other modules: :func:`damaged_graph` (minutes over the open edges of an
:func:`~resilientcity.network.road_state.edge_state`), :func:`intact_graph` and
:func:`reversed_graph`.

Travel times are free-flow times (``road_edges.travel_min``) divided by the speed factor: no
congestion, no turn penalties.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csgraph

from resilientcity.errors import fail
from resilientcity.network._ids import id_positions
from resilientcity.network.road_state import check_edge_state
from resilientcity.twin.city import City
from resilientcity.twin.roads import RoadNetwork

__all__ = [
    "damaged_graph",
    "first_index",
    "intact_graph",
    "nearest_target",
    "node_positions",
    "reversed_graph",
    "travel_minutes_to_nearest",
]

_fail = partial(fail, what="road input")


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


def intact_graph(city: City) -> sp.csr_array:
    """Directed free-flow travel-time graph (minutes) of every edge, before any damage.

    Parameters
    ----------
    city
        The city (its road network).

    Returns
    -------
    scipy.sparse.csr_array
        ``road_edges.travel_min`` between node positions (:attr:`RoadNetwork.node_index`).
    """
    return city.roads.csr("travel_min")


def nearest_target(
    reversed_graph: sp.csr_array, target_nodes: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Minutes from every node to the nearest target node, and that target's node position.

    Parameters
    ----------
    reversed_graph
        The transposed travel graph (:func:`reversed_graph`): a path from a target to a node in
        it is a path from the node to the target on the roads.
    target_nodes
        Node positions of the targets; ``-1`` (no node) is left out.

    Returns
    -------
    minutes : numpy.ndarray of float64
        Per node, minutes to the nearest target (``inf`` when none is reachable).
    source : numpy.ndarray of int64
        Per node, the node position of that target (``-1`` when none is reachable).
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
    where = id_positions(ids, assets["asset_id"])
    if (where < 0).any():
        _fail(what, "asset_id", "ids of assets of the city", ids[where < 0])
    return node_positions(city, assets.iloc[where])


def node_positions(city: City, assets: pd.DataFrame) -> NDArray[np.int64]:
    """CSR positions of assets' road nodes.

    Parameters
    ----------
    city
        The city (its road network).
    assets
        Rows of ``city.assets`` (``asset_id``, ``node_id``).

    Returns
    -------
    numpy.ndarray of int64
        Node position per asset; ``-1`` for an asset without a node (``node_id`` -1).

    Raises
    ------
    ValidationError
        A ``node_id`` that is no road node (the assets named).
    """
    node_ids = assets["node_id"].to_numpy(dtype=np.int64)
    pos = city.roads.node_positions(node_ids)
    dangling = (pos < 0) & (node_ids >= 0)
    if dangling.any():
        ids = assets["asset_id"].to_numpy()[dangling]
        _fail("assets", "node_id", "a road node (road_nodes.node_id) or -1", ids)
    return pos.astype(np.int64)


def first_index(positions: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """For each node position, the first index into ``positions`` that sits there.

    Parameters
    ----------
    positions
        Node positions of a list of assets (``-1``: no node).
    n
        Number of road nodes.

    Returns
    -------
    numpy.ndarray of int64
        Per node, the first index ``i`` with ``positions[i]`` at that node, ``-1`` for none.
    """
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
    minutes, source = nearest_target(reverse, positions)
    first = first_index(positions, n)
    nearest = np.where(source >= 0, first[np.maximum(source, 0)], -1)
    return minutes, nearest
