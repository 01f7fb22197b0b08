"""``twin merge`` and ``twin add``: the user's own files onto the data contract.

Sources are written here from one small table of facilities, in every format, around the
centre of the Kouvola import (pyrosm's test.osm.pbf, © OpenStreetMap contributors, ODbL 1.0)
and of the small demo city.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pyrosm
import pytest
import shapely
from pyproj import Transformer

from cli_runner import run_cli
from resilientcity.errors import DataFileError, ValidationError
from resilientcity.twin import City
from resilientcity.twin.merge import add_asset, merge_file
from resilientcity.twin.osm import import_osm

MAPPING = """\
columns:
  asset_id: ID
  name: {source: NIMI}
  kind: {source: TYYPPI, values: {Sairaala: hospital, Terveysasema: clinic}}
  capacity: PAIKAT
  floor_area_m2: {source: ALA_HA, factor: 10000}
  storeys: {value: 4}
"""

#: JRC construction costs of Finland (2010 EUR per m², Huizinga et al. 2017), the FI profile's.
RESIDENTIAL_FI = 1508.166341
MEDICAL_FI = 1563.266288 * 6000.0 / 4500.0


@pytest.fixture(scope="module")
def kouvola() -> City:
    return import_osm(pyrosm.get_data("test_pbf"), region="FI")


def centre_lonlat(city: City) -> tuple[float, float]:
    xmin, ymin, xmax, ymax = city.extent()  # type: ignore[misc]
    to_ll = Transformer.from_crs(city.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform((xmin + xmax) / 2, (ymin + ymax) / 2)
    return float(lon), float(lat)


def facilities(city: City) -> gpd.GeoDataFrame:
    """Three facilities near the city's centre, in WGS 84, as an agency might publish them."""
    lon, lat = centre_lonlat(city)
    return gpd.GeoDataFrame(
        {
            "ID": ["H1", "H2", "H3"],
            "NIMI": ["Keskussairaala", "Terveysasema", "Lastensairaala"],
            "TYYPPI": ["Sairaala", "Terveysasema", "Sairaala"],
            "PAIKAT": [250.0, np.nan, 40.0],
            "ALA_HA": [0.8, 0.2, 0.5],
        },
        geometry=shapely.points([lon, lon + 0.001, lon - 0.001], [lat, lat + 0.001, lat]),
        crs="EPSG:4326",
    )


def write_source(frame: gpd.GeoDataFrame, folder: Path, fmt: str) -> Path:
    """``frame`` written as ``fmt`` (CSV ``csv-lonlat`` in degrees, ``csv-xy`` in EPSG:3857)."""
    if fmt == "csv-lonlat":
        path = folder / "h.csv"
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["lon"], table["lat"] = frame.geometry.x, frame.geometry.y
        table.to_csv(path, index=False)
    elif fmt == "csv-xy":
        path = folder / "h.csv"
        merc = frame.to_crs(3857)
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["E"], table["N"] = merc.geometry.x, merc.geometry.y
        table.to_csv(path, index=False)
    elif fmt == "parquet":
        path = folder / "h.parquet"
        frame.to_crs(3857).to_parquet(path)
    else:
        path = folder / f"h.{fmt}"
        frame.to_crs(3857).to_file(
            path, driver={"gpkg": "GPKG", "shp": "ESRI Shapefile", "geojson": "GeoJSON"}[fmt]
        )
    return path


def write_mapping(folder: Path, text: str = MAPPING, name: str = "m.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


FORMATS = ["gpkg", "shp", "parquet", "geojson", "csv-lonlat", "csv-xy"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("which", ["kouvola", "demo"])
def test_every_format_merges_onto_the_osm_import_and_the_demo_city(
    fmt: str, which: str, kouvola: City, small_city: City, tmp_path: Path
) -> None:
    city = kouvola if which == "kouvola" else small_city
    source = write_source(facilities(city), tmp_path, fmt)
    text = MAPPING + ("crs: EPSG:3857\ncoordinates: {x: E, y: N}\n" if fmt == "csv-xy" else "")
    result = merge_file(city, source, write_mapping(tmp_path, text))
    assert (result.added, result.replaced, result.layer) == (3, 0, "assets")
    merged = result.city
    assert len(merged.assets) == len(city.assets) + 3
    assert merged.problems() == []
    new = merged.assets.set_index("asset_id").loc[["H1", "H2", "H3"]]
    assert new["kind"].tolist() == ["hospital", "clinic", "hospital"]
    assert new["name"].tolist() == ["Keskussairaala", "Terveysasema", "Lastensairaala"]
    assert new["floor_area_m2"].to_numpy() == pytest.approx([8000.0, 2000.0, 5000.0])
    # the points came back where they were (within a millimetre), whatever the format's CRS
    back = gpd.GeoSeries(new.geometry.to_numpy(), crs=merged.crs).to_crs(4326)
    want = facilities(city).geometry
    assert np.abs(back.x.to_numpy() - want.x.to_numpy()).max() < 1e-8
    assert np.abs(back.y.to_numpy() - want.y.to_numpy()).max() < 1e-8
    assert (new["node_id"] >= 0).all() and (new["zone_id"] != "").all()
    assert new["cell_id"].isin(merged.zones["zone_id"]).all()
    merged.write(tmp_path / "out.gpkg")
    assert len(City.read(tmp_path / "out.gpkg").assets) == len(merged.assets)


def test_a_hospital_row_checked_by_hand(kouvola: City, tmp_path: Path) -> None:
    source = write_source(facilities(kouvola), tmp_path, "csv-lonlat")
    merged = merge_file(kouvola, source, write_mapping(tmp_path)).city
    row = merged.assets.set_index("asset_id").loc["H1"]
    # 0.8 ha × 10,000 = 8,000 m²; 4 storeys (constant) → Hazus band C2M (4–7 storeys);
    # value 8,000 m² × the Finnish medical cost (JRC commercial 1,563.27 EUR/m² × 6,000/4,500,
    # the FI profile) × (1 + 1.0 contents, public); 8,000 / 20 m² per
    # worker = 400 occupants; beds as given
    assert row["kind"] == "hospital" and row["sector"] == "medical"
    assert row["occupancy"] == "public" and row["storeys"] == 4
    assert row["floor_area_m2"] == pytest.approx(8000.0)
    assert row["value"] == pytest.approx(8000.0 * MEDICAL_FI * 2.0)
    assert row["occupants"] == pytest.approx(400.0)
    assert row["capacity"] == pytest.approx(250.0)
    assert row["vuln"] == "COM6/C2M"
    assert row["zone_id"] == "osm-extract"
    lon, lat = facilities(kouvola).geometry.iloc[0].coords[0]
    assert row["cell_id"] == h3.latlng_to_cell(lat, lon, 8)
    nodes = kouvola.roads.nodes
    d2 = (nodes.geometry.x - row.geometry.x) ** 2 + (nodes.geometry.y - row.geometry.y) ** 2
    assert row["node_id"] == nodes["node_id"].iloc[int(np.argmin(d2.to_numpy()))]
    # the clinic without beds: floor area / 110 m² per bed
    clinic = merged.assets.set_index("asset_id").loc["H2"]
    assert clinic["capacity"] == pytest.approx(2000.0 / 110.0)
    assert clinic["vuln"] == "COM7/C2M"


BAD_CASES = {
    "mapping names an unknown column": (
        lambda t: t,
        MAPPING.replace("capacity: PAIKAT", "capacity: BEDZ"),
        "m.yaml.columns.capacity: expected a column of h.csv (ID, NIMI, TYYPPI, PAIKAT, "
        "ALA_HA, lon, lat), found 'BEDZ'",
    ),
    "CSV without coordinates": (
        lambda t: t.drop(columns=["lon", "lat"]),
        MAPPING,
        "h.csv: expected coordinate columns: lon and lat (WGS 84), or x and y with crs in the "
        "mapping (or name them under coordinates: in the mapping), found the columns ID, NIMI, "
        "TYYPPI, PAIKAT, ALA_HA",
    ),
    "value outside the contract": (
        lambda t: t.assign(PAIKAT=["250", "-5", "40"]),
        MAPPING,
        "h.csv.PAIKAT: expected a finite number >= 0, found -5.0 (row 2)",
    ),
    "unknown kind": (
        lambda t: t.assign(TYYPPI=["Sairaala", "Terveysasema", "Apteekki"]),
        MAPPING,
        "h.csv.TYYPPI: expected one of bridge, building, clinic, data_centre, feeder, "
        "fire_station, government, hospital, police_station, power_plant, pump_station, "
        "road_segment, school, shelter, substation, telecom, warehouse, wastewater_plant, "
        "water_plant, water_storage (or a key of the mapping's values), found 'Apteekki' (row 3)",
    ),
    "unparsable number": (
        lambda t: t.assign(PAIKAT=["many", "", "40"]),
        MAPPING,
        "h.csv.PAIKAT: expected a number, found 'many' (row 1)",
    ),
    "outside the extent": (
        lambda t: t.assign(lon=[t["lon"][0], str(float(t["lon"][1]) + 1.0), t["lon"][2]]),
        MAPPING,
        "h.csv.geometry: expected a location within the city's extent (495806, 6708785) to "
        "(498894, 6712313) in EPSG:32635 (row 2)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_named_and_the_twin_is_unchanged(
    case: str, kouvola: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    change, mapping_text, message = BAD_CASES[case]
    source = write_source(facilities(kouvola), tmp_path, "csv-lonlat")
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    change(table).to_csv(source, index=False)
    twin = tmp_path / "city.gpkg"
    kouvola.write(twin)
    before = sha(twin)
    mapping = write_mapping(tmp_path, mapping_text)
    code, _, err = run_cli(
        ["twin", "merge", str(twin), str(source), "--mapping", str(mapping)], capsys
    )
    assert code == 1
    assert f"  - {message}" in err.splitlines(), err
    assert sha(twin) == before


def test_a_shapefile_without_its_prj_is_refused(kouvola: City, tmp_path: Path) -> None:
    source = write_source(facilities(kouvola), tmp_path, "shp")
    source.with_suffix(".prj").unlink()
    with pytest.raises(ValidationError) as err:
        merge_file(kouvola, source, write_mapping(tmp_path))
    assert [str(p) for p in err.value.problems] == [
        "h.shp.crs: expected a coordinate reference system (a Shapefile's .prj, or crs: in the "
        "mapping), found none in the file"
    ]
    # … and taken with the CRS the mapping gives
    merged = merge_file(kouvola, source, write_mapping(tmp_path, MAPPING + "crs: EPSG:3857\n"))
    assert merged.added == 3


def test_every_problem_of_a_file_is_listed_together(kouvola: City, tmp_path: Path) -> None:
    source = write_source(facilities(kouvola), tmp_path, "csv-lonlat")
    table = pd.read_csv(source, dtype=str, keep_default_na=False)
    table.assign(PAIKAT=["many", "-1", "40"], TYYPPI=["Sairaala", "x", "Sairaala"]).to_csv(
        source, index=False
    )
    with pytest.raises(ValidationError) as err:
        merge_file(kouvola, source, write_mapping(tmp_path))
    assert sorted(p.column for p in err.value.problems) == ["PAIKAT", "PAIKAT", "TYYPPI"]
    assert str(err.value).startswith("h.csv (merged through m.yaml) is invalid: 3 problems")


def test_mapping_columns_outside_the_contract_are_refused(kouvola: City, tmp_path: Path) -> None:
    source = write_source(facilities(kouvola), tmp_path, "csv-lonlat")
    text = MAPPING + "  beds: PAIKAT\n  node_id: ID\n  name_fi: {source: NIMI, factor: 2}\n"
    with pytest.raises(ValidationError) as err:
        merge_file(kouvola, source, write_mapping(tmp_path, text))
    lines = [str(p) for p in err.value.problems]
    assert lines[0].startswith(
        "m.yaml.columns.beds: expected a column of the assets layer (asset_id, kind,"
    )
    assert (
        lines[1]
        == "m.yaml.columns.node_id: expected a column the file may fill, found node_id (set from the location)"
    )
    assert len(lines) == 3


def test_ids_already_in_the_city_are_refused_unless_replace(kouvola: City, tmp_path: Path) -> None:
    source = write_source(facilities(kouvola), tmp_path, "geojson")
    once = merge_file(kouvola, source, write_mapping(tmp_path)).city
    with pytest.raises(ValidationError, match=r"found 'H1', 'H2', 'H3' \(rows 1, 2, 3\)"):
        merge_file(once, source, write_mapping(tmp_path))
    twice = merge_file(once, source, write_mapping(tmp_path), replace=True)
    assert (twice.added, twice.replaced) == (3, 3)
    assert len(twice.city.assets) == len(once.assets)
    # an OSM building replaced by the agency's record of it
    osm_id = str(kouvola.assets["asset_id"].iloc[0])
    frame = facilities(kouvola).iloc[:1].assign(ID=osm_id)
    replaced = merge_file(
        kouvola, write_source(frame, tmp_path, "gpkg"), write_mapping(tmp_path), replace=True
    )
    row = replaced.city.assets.set_index("asset_id").loc[osm_id]
    assert row["kind"] == "hospital" and len(replaced.city.assets) == len(kouvola.assets)


def test_a_file_with_several_layers_needs_source_layer(kouvola: City, tmp_path: Path) -> None:
    path = tmp_path / "agency.gpkg"
    facilities(kouvola).to_file(path, layer="hospitals")
    facilities(kouvola).iloc[:1].to_file(path, layer="other")
    with pytest.raises(DataFileError, match="has 2 layers \\(hospitals, other\\): choose one"):
        merge_file(kouvola, path, write_mapping(tmp_path))
    assert merge_file(kouvola, path, write_mapping(tmp_path), source_layer="hospitals").added == 3


def test_dependencies_replace_the_inferred_table(small_city: City, tmp_path: Path) -> None:
    ids = small_city.assets["asset_id"]
    hospital = ids[small_city.assets["kind"] == "hospital"].iloc[0]
    substation = ids[small_city.assets["kind"] == "substation"].iloc[0]
    pd.DataFrame(
        {
            "needs": [hospital, hospital],
            "from": [substation, "NOPE"],
            "what": ["power", "power"],
            "hours": [48, 48],
        }
    ).to_csv(tmp_path / "links.csv", index=False)
    text = "layer: dependencies\ncolumns:\n  dependent_id: needs\n  supplier_id: from\n  service: what\n  backup_hours: hours\n"
    mapping = write_mapping(tmp_path, text)
    with pytest.raises(ValidationError) as err:
        merge_file(small_city, tmp_path / "links.csv", mapping)
    assert [str(p) for p in err.value.problems] == [
        "links.csv.from: expected an asset_id of the city, found 'NOPE' (row 2)"
    ]
    pd.read_csv(tmp_path / "links.csv").iloc[:1].to_csv(tmp_path / "links.csv", index=False)
    appended = merge_file(small_city, tmp_path / "links.csv", mapping)
    assert len(appended.city.dependencies) == len(small_city.dependencies) + 1
    own = merge_file(small_city, tmp_path / "links.csv", mapping, replace=True)
    assert (own.added, own.replaced) == (1, len(small_city.dependencies))
    assert own.city.dependencies.to_dict("records") == [
        {
            "dependent_id": hospital,
            "supplier_id": substation,
            "service": "power",
            "group": "power",
            "backup_hours": 48.0,
            "origin": "given",  # the user's own link, not an inferred one
        }
    ]


def test_merged_sensors_reach_the_operations_store(kouvola: City, tmp_path: Path) -> None:
    from sqlalchemy import select

    from resilientcity.api.app import prepare_store
    from resilientcity.operations.models import WarningRuleRow
    from resilientcity.operations.seed import datastream_count, sensor_count
    from resilientcity.operations.service import Service, ServiceSettings

    lon, lat = centre_lonlat(kouvola)
    gauges = gpd.GeoDataFrame(
        {
            "code": ["KV-RAIN-1", "KV-RIVER-1"],
            "type": ["rain", "river"],
            "label": ["Rain", "Kymijoki"],
        },
        geometry=shapely.points([lon, lon + 0.002], [lat, lat]),
        crs="EPSG:4326",
    )
    gauges.to_file(tmp_path / "gauges.geojson", driver="GeoJSON")
    text = (
        "layer: sensors\ncolumns:\n  sensor_id: code\n  name: label\n"
        "  kind: {source: type, values: {rain: rain_gauge, river: river_gauge}}\n"
    )
    merged = merge_file(kouvola, tmp_path / "gauges.geojson", write_mapping(tmp_path, text))
    sensors = merged.city.sensors
    assert sensors[["sensor_id", "kind", "observed_property", "unit"]].values.tolist() == [
        ["KV-RAIN-1", "rain_gauge", "rainfall_rate", "mm/h"],
        ["KV-RIVER-1", "river_gauge", "water_stage", "m"],
    ]
    twin = tmp_path / "city.gpkg"
    merged.city.write(twin)
    service = Service(ServiceSettings(db_url=f"sqlite:///{tmp_path / 'ops.db'}", twin=twin))
    try:
        prepare_store(service)
        with service.db.read() as session:
            # the rain gauge streams 1, 3, 6 and 12 h totals, the river gauge its stage
            assert (sensor_count(session), datastream_count(session)) == (2, 5)
            # and the warning rules of the region FI watch them, not the demo's Chinese ones
            rules = set(session.scalars(select(WarningRuleRow.id)))
        assert rules == {"fi_heavy_rain_1h", "fi_heavy_rain_24h", "fi_wind_gust_land"}
        # a deleted rule stays deleted; a wind gauge merged later comes in at the next start
        with service.db.write() as session:
            session.delete(session.get(WarningRuleRow, "fi_heavy_rain_24h"))
    finally:
        service.db.dispose()
    wind = gauges.iloc[:1].assign(code="KV-WIND-1", type="wind", label="Wind")
    wind.to_file(tmp_path / "wind.geojson", driver="GeoJSON")
    later = text.replace("river: river_gauge}", "river: river_gauge, wind: wind_gauge}")
    merge_file(merged.city, tmp_path / "wind.geojson", write_mapping(tmp_path, later)).city.write(
        twin
    )
    restarted = Service(ServiceSettings(db_url=f"sqlite:///{tmp_path / 'ops.db'}", twin=twin))
    try:
        prepare_store(restarted)
        with restarted.db.read() as session:
            assert (sensor_count(session), datastream_count(session)) == (3, 6)
            assert "fi_heavy_rain_24h" not in set(session.scalars(select(WarningRuleRow.id)))
    finally:
        restarted.db.dispose()


def test_twin_add_from_the_command_line(
    kouvola: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = tmp_path / "city.gpkg"
    kouvola.write(twin)
    lon, lat = centre_lonlat(kouvola)
    add = ["twin", "add", str(twin), "--kind", "hospital", "--lonlat", f"{lon},{lat}"]
    argv = [*add, "--name", "Uusi", "--capacity", "300", "--storeys", "4"]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    assert (
        f"added hospital hospital-1 (capacity 300, value {10_000 * MEDICAL_FI * 2:,.0f} EUR" in out
    )
    row = City.read(twin).assets.set_index("asset_id").loc["hospital-1"]
    # no floor area given: the importer's 10,000 m² for a hospital site; value 10,000 × 6,000 × 2
    assert (row["name"], row["capacity"], row["storeys"], row["vuln"]) == (
        "Uusi",
        300.0,
        4,
        "COM6/C2M",
    )
    assert row["floor_area_m2"] == 10000.0 and row["occupants"] == 500.0
    before = sha(twin)
    bad = [*add, "--id", "hospital-1", "--capacity", "-1"]
    code, _, err = run_cli(bad, capsys)
    assert code == 1 and sha(twin) == before
    assert (
        "  - twin add.--capacity: expected a finite number >= 0, found -1.0 (row 1)"
        in err.splitlines()
    )
    assert (
        "  - twin add.--id: expected an asset_id not yet in the city's assets (or --replace to replace those rows), found 'hospital-1' (row 1)"
        in err.splitlines()
    )
    code, _, err = run_cli(
        ["twin", "add", str(twin), "--kind", "building", "--lonlat", f"{lon},{lat}"], capsys
    )
    assert (
        code == 1
        and "twin add.--floor-area: expected a floor area for a building given as a point" in err
    )
    code, _, err = run_cli(
        ["twin", "add", str(twin), "--kind", "clinic", "--lonlat", "north"], capsys
    )
    assert code == 2 and "LON,LAT" in err and sha(twin) == before


def test_twin_merge_writes_to_out_and_leaves_the_city(
    kouvola: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twin, out = tmp_path / "city.gpkg", tmp_path / "merged.gpkg"
    kouvola.write(twin)
    before = sha(twin)
    source = write_source(facilities(kouvola), tmp_path, "gpkg")
    argv = [
        "twin",
        "merge",
        str(twin),
        str(source),
        "--mapping",
        str(write_mapping(tmp_path)),
        "--out",
        str(out),
    ]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    assert "merged 3 rows of h.gpkg into assets" in stdout
    assert sha(twin) == before
    assert len(City.read(out).assets) == len(kouvola.assets) + 3


def test_add_asset_defaults_per_kind_are_valid_everywhere(small_city: City) -> None:
    lon, lat = centre_lonlat(small_city)
    from resilientcity.twin.schema import ASSET_KINDS

    for kind in ASSET_KINDS:
        if kind in ("bridge", "road_segment"):  # valued by length and lanes: give value
            continue
        values = {"floor_area_m2": 500.0} if kind == "building" else {}
        row = add_asset(small_city, kind, lon, lat, values=values).city.assets.iloc[-1]
        assert row["vuln"] and "{" not in row["vuln"] and not row["vuln"].startswith("/"), kind
        assert row["value"] > 0, kind


def test_the_documented_example_merges_onto_the_kouvola_import(
    kouvola: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = Path(__file__).parents[1] / "docs"
    twin = tmp_path / "kouvola.gpkg"
    kouvola.write(twin)
    argv = ["twin", "merge", str(twin), str(docs / "examples" / "hospitals.csv")]
    code, out, err = run_cli(
        argv + ["--mapping", str(docs / "examples" / "hospitals-mapping.yaml")], capsys
    )
    assert code == 0, err
    assert "merged 3 rows of hospitals.csv into assets" in out
    new = City.read(twin).assets.set_index("asset_id").loc[["KV-H1", "KV-H2", "KV-F1"]]
    assert new["kind"].tolist() == ["hospital", "clinic", "fire_station"]
    assert new["storeys"].tolist() == [4, 2, 3]  # the last one empty: default_storeys.public
    assert "twin merge" in (docs / "merge.md").read_text("utf-8")


def test_building_footprints_take_the_importer_formulas(kouvola: City, tmp_path: Path) -> None:
    xmin, ymin, xmax, ymax = kouvola.extent()  # type: ignore[misc]
    x, y = (xmin + xmax) / 2, (ymin + ymax) / 2
    footprints = gpd.GeoDataFrame(
        {"rakennus": ["R1", "R2"], "kerrokset": [None, 9]},
        geometry=[shapely.box(x, y, x + 20, y + 30), shapely.box(x + 50, y, x + 60, y + 10)],
        crs=kouvola.crs,
    )
    footprints.to_file(tmp_path / "b.gpkg")
    text = "columns:\n  asset_id: rakennus\n  kind: {value: building}\n  storeys: kerrokset\n"
    merged = merge_file(kouvola, tmp_path / "b.gpkg", write_mapping(tmp_path, text)).city
    r1, r2 = (merged.assets.set_index("asset_id").loc[i] for i in ("R1", "R2"))
    # R1: 600 m² footprint × 3 storeys (default_storeys.residential) = 1,800 m² of housing:
    # 1,800 / 36.5 m² per resident × 0.9 occupied; the Finnish residential cost (JRC, 1,508.17
    # EUR/m², every storey band) × 1.5 (contents); low-rise housing in Finland: timber (W1)
    assert (r1["occupancy"], r1["sector"], r1["storeys"]) == ("residential", "housing", 3)
    assert r1["floor_area_m2"] == pytest.approx(1800.0)
    assert r1["occupants"] == pytest.approx(1800.0 / 36.5 * 0.9)
    assert r1["capacity"] == pytest.approx(1800.0 / 36.5)
    assert r1["value"] == pytest.approx(1800.0 * RESIDENTIAL_FI * 1.5)
    assert r1["vuln"] == "RES1/W1"
    # R2: 100 m² × 9 storeys, Hazus band C2H (8+)
    assert r2["floor_area_m2"] == pytest.approx(900.0)
    assert r2["value"] == pytest.approx(900.0 * RESIDENTIAL_FI * 1.5)
    # their residents count in their cells and the district (zones by hand: before + new)
    residents = r1["occupants"] + r2["occupants"]
    before = kouvola.zones.set_index("zone_id")["population"]
    after = merged.zones.set_index("zone_id")["population"]
    assert after["osm-extract"] == pytest.approx(before["osm-extract"] + residents)
    for r in (r1, r2):
        cell = r["cell_id"]
        others = sum(x["occupants"] for x in (r1, r2) if x["cell_id"] == cell)
        assert after[cell] == pytest.approx(before.get(cell, 0.0) + others)
    untouched = after.index.difference([r1["cell_id"], r2["cell_id"], "osm-extract"])
    assert (after[untouched] == before[untouched]).all()
    # replaced: R1's old residents leave, its new ones come in (R1 now 6 storeys: twice as many)
    footprints.assign(kerrokset=[6, 9]).to_file(tmp_path / "b2.gpkg")
    again = merge_file(merged, tmp_path / "b2.gpkg", write_mapping(tmp_path, text), replace=True)
    district = again.city.zones.set_index("zone_id").loc["osm-extract", "population"]
    assert district == pytest.approx(before["osm-extract"] + 2 * r1["occupants"] + r2["occupants"])
    assert r2["vuln"] == "RES3/C2H"
