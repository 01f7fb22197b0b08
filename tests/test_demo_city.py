"""The built-in demo city: deterministic, valid, and shaped like a Changsha-like river city."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from scipy.sparse import csgraph

import resilientcity as rc
from resilientcity.twin import City
from resilientcity.twin.demo import SIZES
from resilientcity.twin.demo.assets import assumptions

HYDROLOGY = Path(__file__).parent / "data" / "reference" / "changsha-hydrology.json"


def test_same_seed_same_city_bit_for_bit(small_city: City) -> None:
    again = rc.demo_city("small")
    for name, frame in small_city.layers().items():
        other = again.layers()[name]
        if hasattr(frame, "geometry"):
            assert_geodataframe_equal(frame, other)
        else:
            assert_frame_equal(frame, other)
    assert small_city.dem is not None and again.dem is not None
    assert small_city.dem.equals(again.dem)


def test_other_seed_other_city(small_city: City) -> None:
    other = rc.demo_city("small", seed=7)
    assert not np.array_equal(
        small_city.assets.geometry.x.to_numpy()[:100], other.assets.geometry.x.to_numpy()[:100]
    )


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="size: expected one of small, default, large"):
        rc.demo_city("huge")


def test_every_layer_and_kind_is_there(small_city: City) -> None:
    kinds = set(small_city.assets["kind"])
    assert {
        "building",
        "hospital",
        "shelter",
        "fire_station",
        "warehouse",
        "substation",
        "feeder",
        "water_plant",
        "pump_station",
        "telecom",
        "bridge",
    } <= kinds
    assert (small_city.assets["kind"] == "building").sum() == SIZES["small"].n_buildings
    assert set(small_city.assets.loc[small_city.assets["kind"] == "building", "occupancy"]) == {
        "residential",
        "commercial",
        "industrial",
        "public",
    }
    assert set(small_city.zones["zone_type"]) == {"district", "h3"}
    assert (small_city.zones["zone_type"] == "district").sum() == 6
    assert set(small_city.sensors["kind"]) == {
        "river_gauge",
        "rain_gauge",
        "underpass_level",
        "substation_monitor",
    }
    assert len(small_city.rivers) == 2
    assert small_city.crs.to_epsg() == 32649


def test_road_network_is_connected_with_bridges_over_the_river(small_city: City) -> None:
    graph = small_city.roads.csr()
    n_comp, _ = csgraph.connected_components(graph, directed=True, connection="strong")
    assert n_comp == 1
    edges = small_city.roads.edges
    bridge_ids = set(small_city.assets.loc[small_city.assets["kind"] == "bridge", "asset_id"])
    on_bridge = edges["asset_id"] != ""
    assert set(edges.loc[on_bridge, "asset_id"]) == bridge_ids
    crosses = edges.loc[on_bridge].geometry.intersects(small_city.rivers.geometry.iloc[0])
    assert crosses.sum() >= 3
    others = edges.loc[~on_bridge].geometry.intersects(small_city.rivers.geometry.iloc[0])
    assert others.sum() == 0
    assert set(edges["road_class"]) == {"motorway", "primary", "secondary", "residential"}
    expected_min = edges["length_m"] / 1000 / edges["speed_kph"] * 60
    np.testing.assert_allclose(edges["travel_min"], expected_min)


def test_floodplain_lies_between_published_stages(small_city: City) -> None:
    stations = json.loads(HYDROLOGY.read_text("utf-8"))["stations"]  # the published figures
    stages = stations["Xiang River, Changsha station (湘江长沙站)"]
    a = small_city.assets
    ground = small_city.dem.sample(a.geometry.x, a.geometry.y)
    buildings = (a["kind"] == "building").to_numpy()
    below_record = (ground[buildings] < stages["record_m"]).mean()
    below_warning = (ground[buildings] < stages["warning_stage_m"]).mean()
    assert 0.05 < below_record < 0.5  # a real flood risk, not a drowned city
    assert below_warning < below_record
    river = small_city.rivers.geometry.iloc[0]
    channel = river.interpolate(0.2, normalized=True)  # south of the island
    assert small_city.dem.sample([channel.x], [channel.y])[0] < 30.0  # the channel bed
    island = river.interpolate(0.5, normalized=True)  # a Juzizhou-like island mid-river
    assert 35.0 < small_city.dem.sample([island.x], [island.y])[0] < 36.0


def test_buildings_have_plausible_numbers(small_city: City) -> None:
    a = small_city.assets
    b = a[a["kind"] == "building"]
    res = b[b["occupancy"] == "residential"]
    ratio = (
        assumptions()["floor_area_per_resident_m2"] / assumptions()["residential_occupancy_rate"]
    )
    np.testing.assert_allclose(res["occupants"], res["floor_area_m2"] / ratio, rtol=1e-3, atol=0.01)
    assert (b["floor_area_m2"] >= 60).all() and (b["storeys"] >= 1).all()
    assert (b["value"] > 0).all()
    per_m2 = b["value"] / b["floor_area_m2"]
    assert per_m2.between(2000, 12000).all()
    hospitals = a[a["kind"] == "hospital"]
    beds_per_1000 = hospitals["capacity"].sum() / small_city.population * 1000
    assert beds_per_1000 == pytest.approx(assumptions()["hospital_beds_per_1000"], rel=0.05)
    districts = small_city.zones[small_city.zones["zone_type"] == "district"]
    assert districts["population"].sum() == pytest.approx(small_city.population)


def test_dependencies_wire_the_city(small_city: City) -> None:
    a = small_city.assets
    d = small_city.dependencies
    buildings = set(a.loc[a["kind"] == "building", "asset_id"])
    for service in ("power", "water"):
        assert set(d.loc[d["service"] == service, "dependent_id"]) >= buildings
    hosp = d[d["dependent_id"].str.startswith("HOS") & (d["service"] == "power")]
    feeds = hosp.groupby("dependent_id").size()
    assert feeds.max() == 2 and feeds.min() == 1  # some hospitals have a second feed …
    assert (hosp["backup_hours"] > 0).all()  # … and every hospital a generator
    kind = a.set_index("asset_id")["kind"]
    pumps = d[d["dependent_id"].map(kind) == "pump_station"]
    assert set(pumps["service"]) == {"power", "water"}
    assert (pumps.loc[pumps["service"] == "water", "supplier_id"].map(kind) == "water_plant").all()
    feeders = d[d["dependent_id"].map(kind) == "feeder"]
    assert (feeders["supplier_id"].map(kind) == "substation").all()


def test_sensors_sit_where_they_measure(small_city: City) -> None:
    s = small_city.sensors
    monitors = s[s["kind"] == "substation_monitor"]
    subs = small_city.assets.set_index("asset_id").loc[monitors["asset_id"]]
    assert (subs["kind"] == "substation").all()
    assert s.loc[s["kind"] == "river_gauge", "name"].str.contains("Changsha station").any()
    gauges = s[s["kind"] == "river_gauge"]
    assert (gauges.distance(small_city.rivers.union_all()) < 1.0).all()


def test_default_size_counts() -> None:
    city = rc.demo_city("default")
    n = (city.assets["kind"] == "building").sum()
    assert n == SIZES["default"].n_buildings
    assert 1_000_000 < city.population < 6_000_000


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_any_seed_gives_a_valid_connected_city(seed: int) -> None:
    city = rc.demo_city("small", seed=seed)  # the constructor validates every rule
    n_comp, _ = csgraph.connected_components(city.roads.csr(), directed=True, connection="strong")
    assert n_comp == 1
    assert (city.assets["node_id"] >= 0).all()
    assert (city.assets["kind"] == "bridge").sum() >= 3
    assert 0 < city.population
