"""Roads after damage: edge states, shortest paths, accessibility, isolation (issue 4)."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from resilientcity.errors import ValidationError
from resilientcity.hazard.flood import flood_depth
from resilientcity.network import (
    PassabilityRules,
    accessibility,
    check_edge_state,
    damaged_graph,
    edge_flood_depth,
    edge_state,
    has_road_access,
    reversed_graph,
    road_network_problems,
    travel_minutes_to_nearest,
    zone_accessibility,
)
from resilientcity.twin import DEM, City, RoadNetwork

CRS = "EPSG:32649"
Edge = tuple[int, int, int, float, bool, str]  # edge_id, u, v, travel_min, oneway, asset_id
Asset = tuple[str, str, int, float, str]  # asset_id, kind, node_id, occupants, zone_id


def text(values: list[str]) -> pd.arrays.StringArray:
    return pd.array(values, dtype="str")


def make_city(xy: dict[int, tuple[float, float]], edges: list[Edge], assets: list[Asset]) -> City:
    """A city of the given road nodes (id → x, y), edges and assets, 1 km per edge.

    Each edge is 1 km long, so its free-flow speed is ``60 / travel_min`` km/h.
    """
    node_ids = list(xy)
    nodes = gpd.GeoDataFrame(
        {"node_id": np.array(node_ids, dtype="int64")},
        geometry=shapely.points([xy[n] for n in node_ids]),
        crs=CRS,
    )
    minutes = np.array([e[3] for e in edges], dtype=np.float64)
    road = gpd.GeoDataFrame(
        {
            "edge_id": np.array([e[0] for e in edges], dtype="int64"),
            "u": np.array([e[1] for e in edges], dtype="int64"),
            "v": np.array([e[2] for e in edges], dtype="int64"),
            "road_class": text(["primary"] * len(edges)),
            "length_m": np.full(len(edges), 1000.0),
            "speed_kph": 60.0 / minutes,
            "travel_min": minutes,
            "lanes": np.full(len(edges), 2, dtype="int64"),
            "oneway": np.array([e[4] for e in edges], dtype=bool),
            "asset_id": text([e[5] for e in edges]),
            "name": text([""] * len(edges)),
        },
        geometry=shapely.linestrings([[xy[e[1]], xy[e[2]]] for e in edges]),
        crs=CRS,
    )
    n = len(assets)
    frame = gpd.GeoDataFrame(
        {
            "asset_id": text([a[0] for a in assets]),
            "kind": text([a[1] for a in assets]),
            "sector": text(["housing"] * n),
            "name": text([""] * n),
            "occupancy": text(["residential"] * n),
            "storeys": np.ones(n, dtype="int64"),
            "floor_area_m2": np.full(n, 100.0),
            "value": np.full(n, 1e6),
            "occupants": np.array([a[3] for a in assets], dtype=np.float64),
            "capacity": np.zeros(n),
            "vuln": text(["RES1"] * n),
            "zone_id": text([a[4] for a in assets]),
            "cell_id": text([""] * n),
            "node_id": np.array([a[2] for a in assets], dtype="int64"),
        },
        geometry=shapely.points([xy[a[2]] if a[2] in xy else (0.0, 0.0) for a in assets]),
        crs=CRS,
    )
    zones = gpd.GeoDataFrame(
        {
            "zone_id": text(["D1", "D2"]),
            "zone_type": text(["district", "district"]),
            "name": text(["One", "Two"]),
            "parent_id": text(["", ""]),
            "population": [0.0, 0.0],
        },
        geometry=[shapely.box(-5000, -5000, 0, 5000), shapely.box(0, -5000, 5000, 5000)],
        crs=CRS,
    )
    return City("hand", CRS, frame, RoadNetwork(nodes, road), zones=zones)


def behind_bridge() -> City:
    """0 — 1 — 2 =BR1= 3 — 4; buildings at 0 and 1, the hospital at 4, a shelter at 1.

    Minutes: 0–1 2, 1–2 1, 2–3 (bridge BR1) 1, 3–4 1 (all two-way).
    """
    xy = {0: (-2000.0, 0.0), 1: (-1000.0, 0.0), 2: (0.0, 0.0), 3: (1000.0, 0.0), 4: (2000.0, 0.0)}
    edges: list[Edge] = [
        (10, 0, 1, 2.0, False, ""),
        (11, 1, 2, 1.0, False, ""),
        (12, 2, 3, 1.0, False, "BR1"),
        (13, 3, 4, 1.0, False, ""),
    ]
    assets: list[Asset] = [
        ("B0", "building", 0, 10.0, "D1"),
        ("B1", "building", 1, 30.0, "D1"),
        ("BR1", "bridge", 2, 0.0, "D2"),
        ("H1", "hospital", 4, 0.0, "D2"),
        ("S1", "shelter", 1, 0.0, "D1"),
    ]
    return make_city(xy, edges, assets)


def with_detour() -> City:
    """1 — 2 =BR1= 4 and the detour 2 — 5 — 4; a second hospital H2 at 6 behind 4.

    Minutes: 1–2 1, 2–4 (bridge) 1, 2–5 2, 5–4 2, 4–6 3. Building B1 at 1 and B2 (district D2)
    at 5; hospital H1 at 4.
    """
    xy = {1: (-1000.0, 0.0), 2: (0.0, 0.0), 4: (1000.0, 0.0), 5: (500.0, 800.0), 6: (2000.0, 0.0)}
    edges: list[Edge] = [
        (1, 1, 2, 1.0, False, ""),
        (2, 2, 4, 1.0, False, "BR1"),
        (3, 2, 5, 2.0, False, ""),
        (4, 5, 4, 2.0, False, ""),
        (5, 4, 6, 3.0, False, ""),
    ]
    assets: list[Asset] = [
        ("B1", "building", 1, 100.0, "D1"),
        ("B2", "building", 5, 50.0, "D2"),
        ("BR1", "bridge", 2, 0.0, "D1"),
        ("H1", "hospital", 4, 0.0, "D2"),
        ("H2", "hospital", 6, 0.0, "D2"),
        ("S1", "shelter", 6, 0.0, "D2"),
        ("F1", "fire_station", 2, 0.0, "D1"),
    ]
    return make_city(xy, edges, assets)


# ---------------------------------------------------------------------------------------------
# Rules and edge states


def test_packaged_rules_are_pregnolato_2017() -> None:
    rules = PassabilityRules.default()
    assert (rules.speed_a, rules.speed_b, rules.speed_c) == (0.0009, -0.5529, 86.9448)
    assert rules.closure_depth_m == 0.3
    assert rules.functional_threshold == 0.5
    # dry: 86.9448 km/h; 300 mm: 0.0009 × 90000 − 0.5529 × 300 + 86.9448 = 81 − 165.87 + 86.9448
    speeds = rules.safe_speed_kph([0.0, 0.3])
    np.testing.assert_allclose(speeds, [86.9448, 2.0748], rtol=1e-12)


def test_flooded_edge_is_slowed_by_the_pregnolato_speed() -> None:
    city = behind_bridge()
    # 100 mm on edge 11 (60 km/h): v = 0.0009 × 100² − 0.5529 × 100 + 86.9448 = 40.6548 km/h,
    # factor 40.6548 / 60 = 0.67758; 50 mm on edge 10 (30 km/h): v = 2.25 − 27.645 + 86.9448 =
    # 61.5498 km/h > 30 km/h, so no slowdown.
    state = edge_state(city, [0.05, 0.10, 0.0, 0.0])
    factor_11 = 40.6548 / 60.0
    np.testing.assert_allclose(state["speed_factor"], [1.0, factor_11, 1.0, 1.0], rtol=1e-12)
    assert state["open"].all()
    assert (state["reason"] == "").all()
    minutes, nearest = travel_minutes_to_nearest(city, state, ["H1"])
    # node 1 → 4: edge 11 at 1 / 0.67758 = 1.47584 min, then 1 + 1 min
    expected_1 = 1.0 / factor_11 + 2.0
    np.testing.assert_allclose(minutes, [2.0 + expected_1, expected_1, 2.0, 1.0, 0.0])
    assert nearest.tolist() == [0, 0, 0, 0, 0]


def test_edges_close_at_the_closure_depth_and_when_their_asset_is_down() -> None:
    city = behind_bridge()
    depth = [0.45, 0.30, 0.2999, 0.0]
    state = edge_state(city, depth, pd.Series({"BR1": False}))
    assert state["open"].tolist() == [False, False, False, True]
    assert state["reason"].tolist() == [
        "flood 0.45 m ≥ 0.30 m",
        "flood 0.30 m ≥ 0.30 m",
        "bridge BR1 down",
        "",
    ]
    assert state["speed_factor"].tolist()[:3] == [0.0, 0.0, 0.0]
    both = edge_state(city, [0.0, 0.0, 0.5, 0.0], pd.Series({"BR1": 0.2}))
    assert both["reason"][2] == "flood 0.50 m ≥ 0.30 m; bridge BR1 down"


@pytest.mark.parametrize(("p", "is_open"), [(0.49, False), (0.5, True), (1.0, True)])
def test_a_probability_below_one_half_counts_as_down(p: float, is_open: bool) -> None:
    state = edge_state(behind_bridge(), asset_functional=pd.Series({"BR1": p}))
    assert bool(state["open"][2]) is is_open


# ---------------------------------------------------------------------------------------------
# A hospital behind one bridge


def test_hospital_behind_a_bridge_that_is_down_is_out_of_reach() -> None:
    city = behind_bridge()
    up = accessibility(city, edge_state(city), kinds=("hospital", "shelter"))
    assert up["hospital_min"].tolist() == [5.0, 3.0]  # 2 + 1 + 1 + 1, 1 + 1 + 1
    assert up["hospital_id"].tolist() == ["H1", "H1"]
    assert up["shelter_min"].tolist() == [2.0, 0.0]
    assert not up["isolated"].any()
    assert up["hospital_detour"].tolist() == [1.0, 1.0]
    assert up["shelter_detour"].tolist() == [1.0, 1.0]  # B1 sits on the shelter's node: 0 / 0

    down = edge_state(city, asset_functional=pd.Series({"BR1": False}))
    cut = accessibility(city, down, kinds=("hospital", "shelter"))
    assert cut["hospital_min"].tolist() == [np.inf, np.inf]
    assert cut["hospital_id"].tolist() == ["", ""]
    assert cut["hospital_detour"].tolist() == [np.inf, np.inf]
    assert cut["isolated"].tolist() == [True, True]
    assert cut["shelter_min"].tolist() == [2.0, 0.0]  # the shelter is on this side
    # nodes {0, 1, 2} stay together (the largest part); the hospital's {3, 4} is cut off
    access = has_road_access(city, down)
    assert dict(zip(city.assets["asset_id"], access, strict=True)) == {
        "B0": True,
        "B1": True,
        "BR1": True,
        "H1": False,
        "S1": True,
    }
    assert has_road_access(city, edge_state(city)).all()


def test_detour_and_facility_loss_are_measured_apart() -> None:
    city = with_detour()
    down = edge_state(city, asset_functional=pd.Series({"BR1": False}))
    access = accessibility(city, down).set_index("asset_id")
    # B1: intact 1 + 1 = 2 min to H1; bridge down: 1 + 2 + 2 = 5 min; detour 5 / 2 = 2.5
    assert access.loc["B1", "hospital_min"] == 5.0
    assert access.loc["B1", "hospital_detour"] == 2.5
    # B2 (node 5): 2 min to H1 either way
    assert access.loc["B2", "hospital_min"] == 2.0
    assert access.loc["B2", "hospital_detour"] == 1.0
    # fire station F1 at node 2: B1 1 min, B2 2 min, unchanged by the bridge
    assert access["fire_station_min"].tolist() == [1.0, 2.0]

    h1_down = pd.Series({"BR1": False, "H1": False})
    lost = accessibility(city, down, h1_down).set_index("asset_id")
    # H1 down: the nearest functioning hospital is H2 at 6, 3 min past node 4
    assert lost.loc["B1", "hospital_min"] == 8.0
    assert lost.loc["B1", "hospital_id"] == "H2"
    assert lost.loc["B2", "hospital_min"] == 5.0
    # the detour compares roads only (to every hospital of before the event): unchanged
    assert lost["hospital_detour"].tolist() == [2.5, 1.0]
    assert not lost["isolated"].any()

    zones = zone_accessibility(city, lost.reset_index()).set_index("zone_id")
    assert zones.loc["D1", "hospital_min"] == 8.0
    assert zones.loc["D2", "hospital_min"] == 5.0
    assert zones["occupants"].tolist() == [100.0, 50.0]


def test_zone_accessibility_weights_by_occupants_and_counts_the_isolated() -> None:
    city = behind_bridge()
    access = pd.DataFrame(
        {
            "asset_id": ["B0", "B1", "B2"],
            "zone_id": ["D1", "D1", "D2"],
            "occupants": [10.0, 30.0, 5.0],
            "hospital_min": [4.0, 8.0, np.inf],
            "isolated": [False, False, True],
        }
    )
    zones = zone_accessibility(city, access).set_index("zone_id")
    # D1: (10 × 4 + 30 × 8) / 40 = 7; D2: nobody reaches, 5 isolated of 5
    assert zones.loc["D1", "hospital_min"] == 7.0
    assert np.isnan(zones.loc["D2", "hospital_min"])
    assert zones["isolated_occupants"].tolist() == [0.0, 5.0]
    assert zones["isolated_share"].tolist() == [0.0, 1.0]
    assert zones["hospital_unreachable_occupants"].tolist() == [0.0, 5.0]


def test_one_way_edges_are_driven_only_forwards() -> None:
    xy = {1: (0.0, 0.0), 2: (1000.0, 0.0), 3: (2000.0, 0.0)}
    edges: list[Edge] = [
        (1, 1, 2, 1.0, True, ""),  # 1 → 2 only
        (2, 2, 3, 1.0, False, ""),
        (3, 3, 1, 5.0, True, ""),  # 3 → 1 only
    ]
    assets: list[Asset] = [("H1", "hospital", 2, 0.0, "D1"), ("H2", "hospital", 1, 0.0, "D1")]
    city = make_city(xy, edges, assets)
    minutes, nearest = travel_minutes_to_nearest(city, edge_state(city), ["H1"])
    # to node 2: from 1 directly 1 min; from 3 over the two-way edge 1 min
    assert minutes.tolist() == [1.0, 0.0, 1.0]
    minutes, nearest = travel_minutes_to_nearest(city, edge_state(city), ["H2"])
    # to node 1: from 2 only around 2 → 3 → 1 (1 + 5), from 3 directly 5 min
    assert minutes.tolist() == [0.0, 6.0, 5.0]
    closed = edge_state(city, [0.0, 0.0, 1.0])
    minutes, nearest = travel_minutes_to_nearest(city, closed, ["H1", "H2"])
    assert minutes.tolist() == [0.0, 0.0, 1.0]
    assert nearest.tolist() == [1, 0, 0]
    minutes, nearest = travel_minutes_to_nearest(city, closed, ["H2"])
    assert minutes.tolist() == [0.0, np.inf, np.inf]
    assert nearest.tolist() == [0, -1, -1]


def test_public_damaged_and_reversed_graphs_by_hand() -> None:
    xy = {1: (0.0, 0.0), 2: (1000.0, 0.0), 3: (2000.0, 0.0)}
    edges: list[Edge] = [
        (1, 1, 2, 1.0, True, ""),  # 1 → 2 only
        (2, 2, 3, 1.0, False, ""),  # two-way, 60 km/h
        (3, 3, 1, 5.0, True, ""),  # 3 → 1 only
    ]
    city = make_city(xy, edges, [("H1", "hospital", 2, 0.0, "D1")])
    # 100 mm on edge 2: v = 0.0009 × 100² − 0.5529 × 100 + 86.9448 = 40.6548 km/h, factor
    # 40.6548 / 60, so 1 / (40.6548 / 60) = 1.47584 min; 1 m on edge 3 closes it.
    state = edge_state(city, [0.0, 0.1, 1.0])
    is_open, factor = check_edge_state(city, state)
    assert is_open.tolist() == [True, True, False]
    np.testing.assert_allclose(factor, [1.0, 40.6548 / 60.0, 0.0], rtol=1e-12)
    slowed = 60.0 / 40.6548
    graph = damaged_graph(city, state)
    expected = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, slowed], [0.0, slowed, 0.0]])
    np.testing.assert_allclose(graph.toarray(), expected, rtol=1e-12)
    np.testing.assert_allclose(reversed_graph(graph).toarray(), expected.T, rtol=1e-12)
    with pytest.raises(ValidationError, match=r"\(0, 1\] on every open edge \(row 2\)"):
        damaged_graph(city, state.assign(speed_factor=[1.0, 1.5, 0.0]))


# ---------------------------------------------------------------------------------------------
# Against networkx


def random_city(seed: int) -> tuple[City, pd.DataFrame, list[str]]:
    """A random road graph (parallel edges, loops of one-way streets) with random damage."""
    rng = np.random.default_rng(seed)
    n, m = 40, 90
    xy = {i: (float(x), float(y)) for i, (x, y) in enumerate(rng.uniform(0, 4000, (n, 2)))}
    u = rng.integers(0, n, m)
    v = (u + rng.integers(1, n, m)) % n  # never a self-loop
    edges: list[Edge] = [
        (k, int(u[k]), int(v[k]), float(rng.uniform(0.1, 5.0)), bool(rng.random() < 0.3), "")
        for k in range(m)
    ]
    targets = [f"T{k}" for k in range(int(rng.integers(1, 5)))]
    assets: list[Asset] = [(t, "hospital", int(rng.integers(0, n)), 0.0, "D1") for t in targets]
    city = make_city(xy, edges, assets)
    depth = np.where(rng.random(m) < 0.5, rng.uniform(0.0, 0.4, m), 0.0)
    return city, edge_state(city, depth), targets


def networkx_minutes(
    city: City, state: pd.DataFrame, targets: list[str]
) -> tuple[dict[int, float], dict[int, list[int]]]:
    """networkx multi-source Dijkstra on the reversed open graph: minutes and paths by node id."""
    graph = nx.DiGraph()
    graph.add_nodes_from(city.roads.nodes["node_id"])
    edges = city.roads.edges.assign(minutes=city.roads.edges["travel_min"] / state["speed_factor"])
    for e in edges[state["open"].to_numpy()].itertuples():
        directions = [(e.u, e.v)] if e.oneway else [(e.u, e.v), (e.v, e.u)]
        for a, b in directions:  # reversed: b → a; of parallel edges the lightest
            if not graph.has_edge(b, a) or graph[b][a]["weight"] > e.minutes:
                graph.add_edge(b, a, weight=e.minutes)
    assets = city.assets.set_index("asset_id")
    sources = {int(assets.loc[t, "node_id"]) for t in targets}
    distance, paths = nx.multi_source_dijkstra(graph, sources)
    return {int(node): float(d) for node, d in distance.items()}, paths


@pytest.mark.parametrize("seed", range(12))
def test_shortest_paths_agree_with_networkx(seed: int) -> None:
    city, state, targets = random_city(seed)
    minutes, nearest = travel_minutes_to_nearest(city, state, targets)
    distance, paths = networkx_minutes(city, state, targets)
    node_ids = city.roads.nodes["node_id"].to_numpy()
    expected = np.array([distance.get(int(i), np.inf) for i in node_ids])
    np.testing.assert_allclose(minutes, expected, rtol=1e-12)
    target_nodes = city.assets.set_index("asset_id").loc[targets, "node_id"].to_numpy()
    for pos, node in enumerate(node_ids):
        if np.isfinite(expected[pos]):
            assert target_nodes[nearest[pos]] == paths[int(node)][0]
        else:
            assert nearest[pos] == -1


# ---------------------------------------------------------------------------------------------
# Flood depth along edges


def test_edge_flood_depth_takes_the_deepest_vertex_or_midpoint_and_skips_bridges() -> None:
    xy = {0: (-450.0, 50.0), 1: (-250.0, 50.0), 2: (150.0, 50.0), 3: (450.0, 50.0)}
    edges: list[Edge] = [
        (1, 0, 1, 1.0, False, ""),
        (2, 1, 2, 1.0, False, ""),  # midpoint (-50, 50) lies in the deep cell
        (3, 2, 3, 1.0, False, "BR1"),  # over the deep water, but a bridge
    ]
    assets: list[Asset] = [("BR1", "bridge", 2, 0.0, "D1"), ("H1", "hospital", 3, 0.0, "D1")]
    city = make_city(xy, edges, assets)
    # 100 m cells, x from -300 to 300 (6 columns), y from -100 to 100 (2 rows, north first)
    dem = DEM(np.zeros((2, 6), np.float32), Affine(100.0, 0, -300.0, 0, -100.0, 100.0), CRS)
    grid = np.zeros((2, 6))
    grid[0, 2] = 1.5  # x −100…0: edge 2's midpoint (−50, 50)
    grid[0, 4] = 3.0  # x 100…200: edge 2's end vertex (150, 50) and edge 3 (a bridge)
    grid[0, 0] = 0.1  # x −300…−200: edge 1's end vertex (−250, 50); its start is off the grid
    depth = edge_flood_depth(city, grid, dem)
    np.testing.assert_allclose(depth, [0.1, 3.0, 0.0])
    grid[0, 4] = 0.0
    np.testing.assert_allclose(edge_flood_depth(city, grid, dem), [0.1, 1.5, 0.0])


def test_record_flood_on_the_small_demo_city(small_city: City) -> None:
    depth_grid = flood_depth(small_city.dem, small_city.rivers, 39.51)
    depth = edge_flood_depth(small_city, depth_grid)
    bridges = small_city.assets.loc[small_city.assets["kind"] == "bridge", "asset_id"]
    state = edge_state(small_city, depth, pd.Series(False, index=bridges[:3].to_numpy()))
    assert (~state["open"]).sum() > 3
    access = accessibility(small_city, state)
    assert len(access) == (small_city.assets["kind"] == "building").sum()
    assert (access["isolated"] == ~np.isfinite(access["hospital_min"])).all()
    detour = access["hospital_detour"].to_numpy()
    assert (detour[np.isfinite(detour)] >= 1.0 - 1e-12).all()
    assert (np.isfinite(access["hospital_min"]) == np.isfinite(detour)).all()
    intact = accessibility(small_city, edge_state(small_city))
    assert not intact["isolated"].any()
    np.testing.assert_allclose(intact["hospital_detour"], 1.0)
    assert (access["hospital_min"] >= intact["hospital_min"] - 1e-9).all()
    zones = zone_accessibility(small_city, access)
    assert zones["isolated_occupants"].sum() == pytest.approx(
        access.loc[access["isolated"], "occupants"].sum()
    )


# ---------------------------------------------------------------------------------------------
# Bad input


def test_a_disconnected_road_network_is_reported() -> None:
    xy = {1: (0.0, 0.0), 2: (1000.0, 0.0), 3: (5000.0, 0.0), 4: (6000.0, 0.0), 5: (7000.0, 0.0)}
    edges: list[Edge] = [
        (1, 1, 2, 1.0, False, ""),
        (2, 3, 4, 1.0, False, ""),
        (3, 4, 5, 1.0, True, ""),
    ]
    assets: list[Asset] = [("B1", "building", 1, 1.0, "D1"), ("H1", "hospital", 4, 0.0, "D1")]
    city = make_city(xy, edges, assets)
    (problem,) = road_network_problems(city)
    # strongly connected parts: {1, 2}, {3, 4} and {5} (5 cannot drive back to 4)
    assert problem.found == "3 components; 3 nodes outside the largest"
    with pytest.raises(ValidationError, match="3 components") as info:
        accessibility(city, edge_state(city))
    assert info.value.problems[0].rows == ("3", "4", "5")
    with pytest.raises(ValidationError, match="strongly connected"):
        has_road_access(city, edge_state(city))
    access = accessibility(city, edge_state(city), kinds=("hospital",), allow_disconnected=True)
    assert access["isolated"].tolist() == [True]


def test_bad_depths_are_named() -> None:
    city = behind_bridge()
    with pytest.raises(ValidationError, match=r"one depth per road edge \(4"):
        edge_state(city, [0.1, 0.2])
    with pytest.raises(ValidationError, match=r"rows 11, 13"):
        edge_state(city, [0.0, -0.1, 0.0, np.nan])
    dem = DEM(np.zeros((2, 6), np.float32), Affine(100.0, 0, -300.0, 0, -100.0, 100.0), CRS)
    with pytest.raises(ValidationError, match=r"a 2 × 6 grid"):
        edge_flood_depth(city, np.zeros((3, 6)), dem)


def test_bad_functionality_is_named() -> None:
    city = behind_bridge()
    with pytest.raises(ValidationError, match="row XX") as info:
        edge_state(city, asset_functional=pd.Series({"BR1": True, "XX": False}))
    assert info.value.problems[0].column == "asset_id"
    with pytest.raises(ValidationError, match=r"probability of being functional in \[0, 1\]"):
        accessibility(city, edge_state(city), pd.Series({"H1": 1.5}))
    with pytest.raises(ValidationError, match="a pandas Series"):
        edge_state(city, asset_functional={"BR1": False})  # type: ignore[arg-type]


def test_bad_state_and_kinds_are_named() -> None:
    city = behind_bridge()
    state = edge_state(city)
    with pytest.raises(ValidationError, match=r"one row per road edge \(4"):
        travel_minutes_to_nearest(city, state.iloc[:3], ["H1"])
    slowed = state.assign(speed_factor=[1.0, 0.0, 1.0, 1.0])
    with pytest.raises(ValidationError, match=r"\(0, 1\] on every open edge \(row 11\)"):
        travel_minutes_to_nearest(city, slowed, ["H1"])
    with pytest.raises(ValidationError, match="row NOPE"):
        travel_minutes_to_nearest(city, state, ["NOPE"])
    with pytest.raises(ValidationError, match="row fire_station"):
        accessibility(city, state)  # the hand-made city has no fire station


def test_edge_flood_depth_of_a_city_without_roads_is_empty(small_city: City) -> None:
    city = City(
        name="no roads",
        crs=small_city.crs,
        assets=small_city.assets.assign(node_id=-1),
        zones=small_city.zones,
        dem=small_city.dem,
    )
    bridges = int((city.assets["kind"] == "bridge").sum())
    assert bridges and len(city.roads.edges) == 0  # a bridge to look for, no edge to look at
    depth = np.ones(city.dem.shape, dtype=np.float32)
    assert edge_flood_depth(city, depth).shape == (0,)
