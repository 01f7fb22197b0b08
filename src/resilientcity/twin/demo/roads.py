"""Road network of the demo city: a perturbed hierarchical grid, bridges over the rivers.

Every ``EXPRESSWAY_EVERY``-th grid line is an expressway, every ``ARTERIAL_EVERY``-th an
arterial, every ``COLLECTOR_EVERY``-th a collector; the rest are local streets, thinned where
the city is sparse. Lines of arterial class or above cross the main river on bridges; collectors
also cross the narrow tributary. Speeds follow the design-speed ranges of China's urban road
design code CJJ 37-2012 (expressway 60–100, arterial 40–60, collector 30–50, local 20–40 km/h).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse import csgraph

from resilientcity.twin.demo.terrain import Terrain

EXPRESSWAY_EVERY = 16
ARTERIAL_EVERY = 6
COLLECTOR_EVERY = 3

#: class rank → (OSM-style class, speed km/h, lanes)
CLASSES: dict[int, tuple[str, float, int]] = {
    3: ("motorway", 80.0, 6),
    2: ("primary", 50.0, 6),
    1: ("secondary", 40.0, 4),
    0: ("residential", 30.0, 2),
}

#: Real bridges over the Xiang River at Changsha, north to south, to name the demo's bridges.
BRIDGE_NAMES = (
    "月亮岛大桥 Yueliangdao Bridge",
    "三汊矶大桥 Sanchaji Bridge",
    "银盆岭大桥 Yinpenling Bridge",
    "福元路大桥 Fuyuan Road Bridge",
    "橘子洲大桥 Juzizhou Bridge",
    "猴子石大桥 Houzishi Bridge",
    "湘府路大桥 Xiangfu Road Bridge",
    "黑石铺大桥 Heishipu Bridge",
)


@dataclass(frozen=True)
class DemoRoads:
    """Nodes and edges in local metres, before ids and CRS are attached."""

    node_id: NDArray[np.int64]
    node_xy: NDArray[np.float64]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    rank: NDArray[np.int8]
    bridge: NDArray[np.bool_]
    line_name: NDArray[np.object_]


def _line_rank(index: NDArray[np.int64]) -> NDArray[np.int8]:
    rank = np.zeros(index.shape, dtype=np.int8)
    rank[index % COLLECTOR_EVERY == 0] = 1
    rank[index % ARTERIAL_EVERY == 0] = 2
    rank[index % EXPRESSWAY_EVERY == 0] = 3
    return rank


def build_roads(
    terrain: Terrain, extent_m: float, spacing_m: float, rng: np.random.Generator
) -> DemoRoads:
    """Generate the road network over ``terrain``.

    Parameters
    ----------
    terrain
        The demo terrain (water, elevation and density rasters).
    extent_m
        Side of the city, metres.
    spacing_m
        Spacing of the local street grid, metres.
    rng
        Random generator.
    """
    n = int(extent_m // spacing_m) + 1
    grid_i, grid_j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    ii = grid_i.ravel()  # i: column (x)
    jj = grid_j.ravel()  # j: row (y)
    jitter = rng.uniform(-0.18, 0.18, size=(ii.size, 2)) * spacing_m
    on_major_x = _line_rank(ii) >= 2
    on_major_y = _line_rank(jj) >= 2
    jitter[on_major_x, 0] = 0.0  # major lines stay straight
    jitter[on_major_y, 1] = 0.0
    xy = np.column_stack([ii * spacing_m, jj * spacing_m]).astype(np.float64) + jitter
    xy = np.clip(xy, 1.0, extent_m - 1.0)
    node = (ii * n + jj).astype(np.int64)
    wet = terrain.at(terrain.water, xy).astype(bool)
    elev = terrain.at(terrain.elevation_m, xy).astype(np.float64)
    dens = terrain.at(terrain.density, xy).astype(np.float64)
    dens_rel = dens / max(dens.max(), 1e-9)

    edges_u: list[NDArray[np.int64]] = []
    edges_v: list[NDArray[np.int64]] = []
    ranks: list[NDArray[np.int8]] = []
    bridges: list[NDArray[np.bool_]] = []
    names: list[NDArray[np.object_]] = []
    pos = np.arange(node.size).reshape(n, n)  # pos[i, j]
    for axis in (0, 1):  # 0: east-west lines (fixed j), 1: north-south lines (fixed i)
        for line in range(n):
            idx = pos[:, line] if axis == 0 else pos[line, :]
            rank = int(_line_rank(np.array([line]))[0])
            label = f"{'EW' if axis == 0 else 'NS'} road {line}"
            w = wet[idx]
            land = np.flatnonzero(~w)
            if land.size < 2:
                continue
            a, b = land[:-1], land[1:]
            gap = b - a
            mid_wet = terrain.at(terrain.water, (xy[idx[a]] + xy[idx[b]]) / 2).astype(bool)
            crossing = (gap > 1) | mid_wet  # water between two land nodes
            plain = ~crossing
            span = np.linalg.norm(xy[idx[b]] - xy[idx[a]], axis=1)
            is_bridge = crossing & ((rank >= 2) | ((rank >= 1) & (span < 400.0)))
            keep = plain | is_bridge
            if rank == 0:
                d = np.minimum(dens_rel[idx[a]], dens_rel[idx[b]])
                hill = np.maximum(elev[idx[a]], elev[idx[b]]) > 100.0
                keep &= (rng.random(a.size) < np.clip(0.1 + 2.5 * d, 0.0, 0.97)) & ~hill
            edges_u.append(idx[a][keep])
            edges_v.append(idx[b][keep])
            ranks.append(np.full(int(keep.sum()), rank, dtype=np.int8))
            bridges.append(is_bridge[keep])
            names.append(np.full(int(keep.sum()), label, dtype=object))
    u = np.concatenate(edges_u)
    v = np.concatenate(edges_v)
    rank_arr = np.concatenate(ranks)
    bridge = np.concatenate(bridges)
    line_name = np.concatenate(names)

    # Keep the largest connected component: every building must reach every facility.
    adj = sparse.coo_array((np.ones(u.size), (u, v)), shape=(node.size, node.size))
    _, label = csgraph.connected_components(adj, directed=False)
    used = np.zeros(node.size, dtype=bool)
    used[u] = True
    used[v] = True
    counts = np.bincount(label[used])
    main = int(np.argmax(counts))
    keep_edge = label[u] == main
    keep_node = used & (label == main)
    return DemoRoads(
        node_id=node[keep_node],
        node_xy=xy[keep_node],
        u=node[u[keep_edge]],
        v=node[v[keep_edge]],
        rank=rank_arr[keep_edge],
        bridge=bridge[keep_edge],
        line_name=line_name[keep_edge],
    )


def road_frames(roads: DemoRoads, offset: tuple[float, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and edges as plain frames (projected coordinates = local + ``offset``)."""
    ox, oy = offset
    nodes = pd.DataFrame({"node_id": roads.node_id})
    nodes["geometry"] = shapely.points(roads.node_xy[:, 0] + ox, roads.node_xy[:, 1] + oy)
    index = pd.Index(roads.node_id)

    def posn(ids: NDArray[np.int64]) -> NDArray[np.intp]:
        return index.get_indexer(pd.Index(ids))

    a = roads.node_xy[posn(roads.u)]
    b = roads.node_xy[posn(roads.v)]
    length = np.linalg.norm(b - a, axis=1)
    cls = np.array([CLASSES[int(r)][0] for r in range(4)], dtype=object)[roads.rank]
    speed = np.array([CLASSES[int(r)][1] for r in range(4)])[roads.rank]
    lanes = np.array([CLASSES[int(r)][2] for r in range(4)], dtype=np.int64)[roads.rank]
    coords = np.stack([a + (ox, oy), b + (ox, oy)], axis=1)
    edges = pd.DataFrame(
        {
            "edge_id": np.arange(1, roads.u.size + 1, dtype=np.int64),
            "u": roads.u,
            "v": roads.v,
            "road_class": pd.array(cls, dtype="str"),
            "length_m": length,
            "speed_kph": speed.astype(np.float64),
            "travel_min": length / 1000.0 / speed * 60.0,
            "lanes": lanes,
            "oneway": np.zeros(roads.u.size, dtype=bool),
            "asset_id": pd.array(np.full(roads.u.size, "", dtype=object), dtype="str"),
            "name": pd.array(roads.line_name, dtype="str"),
        }
    )
    edges["geometry"] = shapely.linestrings(coords)
    return nodes, edges
