"""The road network: nodes and edges frames with a compressed sparse row (CSR) view."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray


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
