"""Residents from a population raster: the rule by hand, the real extract in three CRSs, bad input.

The rasters are written by the tests with rasterio; the Kouvola extract ships inside pyrosm
(© OpenStreetMap contributors, ODbL 1.0).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pyproj import CRS
from rasterio.warp import transform_bounds

from cli_runner import run_cli
from resilientcity.errors import DataFileError
from resilientcity.twin import City
from resilientcity.twin.city_rasters import attach_dem, attach_population
from resilientcity.twin.osm import DISTRICT_ID
from resilientcity.twin.population import (
    PopulationGrid,
    city_area,
    disaggregate,
    zone_population,
)

UTM = "EPSG:32635"
X0, Y0 = 500_000.0, 6_700_000.0  # upper-left corner of the hand-made grid
CELL = Affine(100.0, 0.0, X0, 0.0, -100.0, Y0)


def write_tif(
    path: Path, values: np.ndarray, transform: Affine, crs: str | None, nodata: float | None = None
) -> Path:
    with rasterio.open(
        path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
        dtype="float32", crs=crs, transform=transform, nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(values.astype("float32"), 1)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    """A footprint ``x``..``x+w`` east of the grid's left edge, ``y``..``y+h`` south of its top."""
    return shapely.box(X0 + x, Y0 - y - h, X0 + x + w, Y0 - y)


def hand_assets() -> gpd.GeoDataFrame:
    """Six residential buildings and a shop on (or off) the 2 × 3 grid of 100 m cells."""
    rows = [  # id, occupancy, floor m², occupants (floor-area estimate), footprint
        ("A", "residential", 800.0, 20.0, box(10, 10, 20, 20)),  # cell (0, 0)
        ("B", "residential", 1200.0, 30.0, box(50, 50, 20, 20)),  # cell (0, 0)
        ("C", "residential", 1000.0, 25.0, box(190, 40, 20, 20)),  # half in (0, 1), half in (0, 2)
        ("D", "commercial", 500.0, 9.0, box(40, 140, 20, 20)),  # cell (1, 0): no homes there
        ("E", "residential", 300.0, 12.0, box(350, 40, 20, 20)),  # east of the raster
        ("F", "residential", 200.0, 7.0, box(140, 140, 20, 20)),  # cell (1, 1): no data
        ("G", "residential", 600.0, 20.0, box(290, 140, 20, 20)),  # half on (1, 2), half off
    ]
    ids, occ, floor, people, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"asset_id": ids, "occupancy": occ, "floor_area_m2": floor, "occupants": people},
        geometry=list(geoms),
        crs=UTM,
    )


#: People per cell: row 0 north, row 1 south; NaN is a cell without data.
HAND_PEOPLE = np.array([[100.0, 40.0, 60.0], [30.0, np.nan, 0.0]])
#: An area that holds every cell whole.
HAND_AREA = shapely.box(X0 - 500, Y0 - 700, X0 + 900, Y0 + 500)


def test_hand_made_city_every_number() -> None:
    grid = PopulationGrid(HAND_PEOPLE, CELL, UTM, source="hand.tif")
    occupants, report = disaggregate(hand_assets(), grid, HAND_AREA)
    # (0, 0): 100 people over A 800 + B 1200 m²; C gets all of (0, 1) and of (0, 2) (its only
    # home); D is a shop: (1, 0)'s 30 are unplaced; E is off the raster and F on no data, so
    # both keep their estimate; G keeps half its estimate and gets 0 from its empty cell.
    by_id = dict(zip(hand_assets()["asset_id"], occupants, strict=True))
    assert by_id == pytest.approx(
        {"A": 40.0, "B": 60.0, "C": 100.0, "D": 9.0, "E": 12.0, "F": 7.0, "G": 10.0}
    )
    assert report["raster_total"] == pytest.approx(230.0)
    assert report["placed"] == pytest.approx(200.0)
    assert report["unplaced"] == pytest.approx(30.0)
    assert report["unplaced_share"] == pytest.approx(30.0 / 230.0)
    assert report["unplaced_cells"] == 1 and report["nodata_cells"] == 1
    assert report["residents_before"] == pytest.approx(114.0)
    assert report["residents_after"] == pytest.approx(229.0)
    assert report["buildings"] == 6 and report["buildings_outside"] == 2
    assert report["residents_outside"] == pytest.approx(12.0 + 7.0 + 10.0)
    assert report["floor_outside_share"] == pytest.approx((300 + 200 + 300) / 4100)
    assert report["source"] == "hand.tif" and report["crs"] == UTM


def test_cells_count_with_their_share_inside_the_city() -> None:
    """One home in cell 0 of a row of three; the area ends halfway through cell 2."""
    assets = gpd.GeoDataFrame(
        {"occupancy": ["residential"], "floor_area_m2": [100.0], "occupants": [3.0]},
        geometry=[box(40, 40, 20, 20)],
        crs=UTM,
    )
    grid = PopulationGrid(np.array([[10.0, 20.0, 40.0]]), CELL, UTM)
    area = shapely.box(X0, Y0 - 100, X0 + 250, Y0)
    occupants, report = disaggregate(assets, grid, area)
    assert occupants.tolist() == pytest.approx([10.0])
    assert report["raster_total"] == pytest.approx(10 + 20 + 40 / 2)
    assert report["unplaced"] == pytest.approx(20 + 40 / 2) and report["unplaced_cells"] == 2


def test_a_point_asset_lies_wholly_in_its_cell() -> None:
    assets = gpd.GeoDataFrame(
        {"occupancy": ["residential"] * 2, "floor_area_m2": [100.0, 300.0], "occupants": [1.0, 1]},
        geometry=[shapely.Point(X0 + 20, Y0 - 20), shapely.Point(X0 + 80, Y0 - 70)],
        crs=UTM,
    )
    grid = PopulationGrid(np.array([[8.0]]), CELL, UTM)
    occupants, report = disaggregate(assets, grid, shapely.box(X0, Y0 - 100, X0 + 100, Y0))
    assert occupants.tolist() == pytest.approx([2.0, 6.0]) and report["unplaced"] == 0


@settings(max_examples=40, deadline=None)
@given(
    people=st.lists(st.one_of(st.floats(0, 1e4), st.just(float("nan"))), min_size=12, max_size=12),
    corners=st.lists(
        st.tuples(st.floats(-150, 450), st.floats(-150, 350), st.floats(1, 180), st.floats(1, 80)),
        min_size=1,
        max_size=25,
    ),
    residential=st.lists(st.booleans(), min_size=25, max_size=25),
)
def test_every_person_is_placed_or_reported(
    people: list[float], corners: list[tuple[float, ...]], residential: list[bool]
) -> None:
    """placed + unplaced == raster total; a home's residents come from the raster or stay."""
    n = len(corners)
    assets = gpd.GeoDataFrame(
        {
            "occupancy": np.where(residential[:n], "residential", "commercial"),
            "floor_area_m2": [w * h for _, _, w, h in corners],
            "occupants": np.arange(n, dtype=float),
        },
        geometry=[box(*c) for c in corners],
        crs=UTM,
    )
    grid = PopulationGrid(np.array(people).reshape(3, 4), CELL, UTM)
    try:
        occupants, r = disaggregate(assets, grid)
    except DataFileError as exc:  # no home on a cell with data: the one refusal
        assert "no residential floor area lies on a cell with data" in str(exc)
        assume(False)
    assert r["placed"] + r["unplaced"] == pytest.approx(r["raster_total"], rel=1e-9, abs=1e-6)
    homes = assets["occupancy"].to_numpy() == "residential"
    assert occupants[homes].sum() == pytest.approx(r["placed"] + r["residents_outside"], abs=1e-6)
    assert (occupants[~homes] == assets["occupants"].to_numpy()[~homes]).all()
    assert (occupants >= 0).all() and 0 <= r["floor_outside_share"] <= 1


def test_zones_sum_the_residents_of_their_assets_and_ancestors() -> None:
    zones = pd.DataFrame(
        {
            "zone_id": ["D", "C", "H1", "H2", "Z"],
            "parent_id": ["", "D", "D", "D", ""],
            "population": [0.0, 0.0, 0.0, 0.0, 42.0],
        }
    )
    assets = pd.DataFrame(
        {
            "occupancy": ["residential", "residential", "commercial", "residential"],
            "occupants": [10.0, 5.0, 100.0, 2.0],
            "zone_id": ["C", "C", "C", "D"],
            "cell_id": ["H1", "H2", "H2", "H2"],
        }
    )
    # D: every resident (its community C too); C: 15; H1: 10; H2: 5 + 2; Z has no asset.
    assert zone_population(assets, zones).tolist() == [17.0, 15.0, 10.0, 7.0, 42.0]


# --- The Kouvola extract, with rasters in three CRSs ----------------------------------------


@pytest.fixture(scope="module")
def kouvola() -> City:
    pyrosm = pytest.importorskip("pyrosm")
    from resilientcity.twin.osm import import_osm

    return import_osm(pyrosm.get_data("test_pbf"), region="FI")


@pytest.fixture(scope="module")
def kouvola_file(kouvola: City, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kouvola") / "kouvola.gpkg"
    kouvola.write(path)
    return path


def covering(city: City, crs: str, res: float, margin: int = 3) -> tuple[Affine, tuple[int, int]]:
    """A north-up grid in ``crs`` with cells of ``res`` over the city's area and a margin."""
    left, bottom, right, top = transform_bounds(
        city.crs, crs, *shapely.bounds(city_area(city.assets, city.zones))
    )
    cols = int(np.ceil((right - left) / res)) + 2 * margin
    rows = int(np.ceil((top - bottom) / res)) + 2 * margin
    return Affine(res, 0.0, left - margin * res, 0.0, -res, top + margin * res), (rows, cols)


#: Cell sizes of the rasters: 3 arc-seconds (as WorldPop), 100 m, 250 m, and 100 m in World
#: Mollweide (as GHS-POP, a CRS without an EPSG code).
RASTERS = {"EPSG:4326": 3 / 3600, UTM: 100.0, "EPSG:3067": 250.0, "ESRI:54009": 100.0}


def test_kouvola_is_in_the_utm_zone_of_the_rasters(kouvola: City) -> None:
    assert kouvola.crs == CRS.from_user_input(UTM)


@pytest.mark.parametrize("crs", RASTERS)
def test_uniform_density_gives_the_same_people_in_every_crs(
    kouvola: City, tmp_path: Path, crs: str
) -> None:
    """1,000 people per km² everywhere: the city's area in km² × 1,000 whatever the grid's CRS."""
    transform, shape = covering(kouvola, crs, RASTERS[crs])
    path = write_tif(tmp_path / "density.tif", np.full(shape, 1000.0), transform, crs, -1.0)
    city, report = attach_population(kouvola, path, "per_km2")
    area_km2 = city_area(kouvola.assets, kouvola.zones).area / 1e6  # UTM: within 0.1 % here
    assert report["raster_total"] == pytest.approx(1000 * area_km2, rel=5e-3)
    assert report["placed"] + report["unplaced"] == pytest.approx(report["raster_total"])
    assert report["buildings_outside"] == 0 and report["floor_outside_share"] == 0
    assert city.population == pytest.approx(report["placed"])
    homes = city.assets[city.assets["occupancy"] == "residential"]
    assert (homes.loc[homes["floor_area_m2"] > 0, "occupants"] > 0).all()


@pytest.mark.parametrize("crs", RASTERS)
def test_counts_in_any_crs_are_conserved_and_zones_follow(
    kouvola: City, tmp_path: Path, crs: str
) -> None:
    transform, shape = covering(kouvola, crs, RASTERS[crs])
    counts = np.random.default_rng(7).uniform(0, 30, shape)
    counts[0, 0] = -9999.0  # the no-data value, in the margin
    path = write_tif(tmp_path / "people.tif", counts, transform, crs, -9999.0)
    city, report = attach_population(kouvola, path)
    assert report["placed"] + report["unplaced"] == pytest.approx(report["raster_total"])
    assert report["unplaced_share"] == pytest.approx(report["unplaced"] / report["raster_total"])
    assert report["residents_before"] == pytest.approx(kouvola.population)
    assert city.population == pytest.approx(report["residents_after"])
    zones = city.zones.set_index("zone_id")
    assert zones.loc[DISTRICT_ID, "population"] == pytest.approx(city.population)
    cells = zones[zones["zone_type"] == "h3"]
    assert cells["population"].sum() == pytest.approx(city.population)
    others = city.assets["occupancy"] != "residential"
    assert city.assets.loc[others, "occupants"].equals(kouvola.assets.loc[others, "occupants"])
    meta = city.metadata["population"]
    assert meta["source"] == "people.tif" and CRS.from_user_input(meta["crs"]) == CRS(crs)
    assert "dasymetric" in meta["rule"] and meta["unit"] == "count"


def test_a_raster_over_half_the_city_warns_and_keeps_the_estimate(
    kouvola: City, tmp_path: Path, capsys: pytest.CaptureFixture[str], kouvola_file: Path
) -> None:
    transform, (rows, cols) = covering(kouvola, UTM, 100.0)
    path = write_tif(tmp_path / "west.tif", np.full((rows, cols // 2), 5.0), transform, UTM)
    city, report = attach_population(kouvola, path)
    assert 0 < report["floor_outside_share"] < 1 and report["buildings_outside"] > 0
    homes = (city.assets["occupancy"] == "residential").to_numpy()
    east = shapely.get_x(city.assets.geometry.centroid.to_numpy()) > transform.c + cols // 2 * 100
    wholly_east = (
        homes
        & east
        & (shapely.bounds(city.assets.geometry.to_numpy())[:, 0] > transform.c + cols // 2 * 100)
    )
    np.testing.assert_allclose(
        city.assets["occupants"].to_numpy()[wholly_east],
        kouvola.assets["occupants"].to_numpy()[wholly_east],
    )
    out = tmp_path / "out.gpkg"
    code, _, err = run_cli(
        ["twin", "population", str(kouvola_file), str(path), "-o", str(out)], capsys
    )
    assert code == 0 and "covers the city only in part" in err and "west.tif" in err
    assert f"{report['floor_outside_share']:.1%} of the residential floor area" in err


# --- Bad rasters: one line naming the file, the twin on disk unchanged ----------------------


def bad_rasters(city: City, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Broken population rasters and the words their error must hold."""
    transform, shape = covering(city, UTM, 100.0)
    ones = np.ones(shape)
    negative = ones.copy()
    negative[shape[0] // 2, shape[1] // 2] = -3.0
    far = Affine(100.0, 0.0, transform.c + 500_000.0, 0.0, -100.0, transform.f)  # 500 km east
    not_tif = tmp_path / "text.tif"
    not_tif.write_text("people: many")
    return {
        "no CRS": (
            write_tif(tmp_path / "nocrs.tif", ones, transform, None),
            "no coordinate reference system",
        ),
        "elsewhere": (write_tif(tmp_path / "far.tif", ones, far, UTM), "does not cover the city"),
        "negative": (write_tif(tmp_path / "neg.tif", negative, transform, UTM), "-3.0 at row"),
        "all no data": (
            write_tif(tmp_path / "empty.tif", np.full(shape, -1.0), transform, UTM, -1.0),
            "no residential floor area lies on a cell with data",
        ),
        "infinite": (
            write_tif(tmp_path / "inf.tif", np.where(negative < 0, np.inf, ones), transform, UTM),
            "negative or infinite",
        ),
        "not a raster": (not_tif, "not a readable raster"),
        "missing": (tmp_path / "nowhere.tif", "no such file"),
    }


@pytest.mark.parametrize(
    "case",
    ["no CRS", "elsewhere", "negative", "all no data", "infinite", "not a raster", "missing"],
)
def test_bad_raster_is_one_line_and_the_twin_is_unchanged(
    kouvola: City,
    kouvola_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    path, words = bad_rasters(kouvola, tmp_path)[case]
    with pytest.raises(DataFileError, match=words):
        attach_population(kouvola, path)
    before = sha(kouvola_file)
    code, _, err = run_cli(["twin", "population", str(kouvola_file), str(path)], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert str(path) in err and words in err.replace("\n", "")
    assert sha(kouvola_file) == before


def test_nan_cells_are_no_data(kouvola: City, tmp_path: Path) -> None:
    transform, shape = covering(kouvola, UTM, 100.0)
    values = np.full(shape, 2.0)
    values[:, : shape[1] // 3] = np.nan  # no declared no-data value: NaN still means none
    city, report = attach_population(
        kouvola, write_tif(tmp_path / "nan.tif", values, transform, UTM)
    )
    assert report["nodata_cells"] > 0 and 0 < report["floor_outside_share"] < 1
    assert np.isfinite(city.assets["occupants"]).all()


def test_unknown_unit_is_a_usage_error(
    kouvola_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        ["twin", "population", str(kouvola_file), str(tmp_path / "x.tif"), "--unit", "people"],
        capsys,
    )
    assert code == 2 and "count or per_km2" in err


# --- The command line ------------------------------------------------------------------------


def test_import_osm_with_population_and_a_dem_in_other_crss(
    kouvola: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyrosm = pytest.importorskip("pyrosm")
    transform, shape = covering(kouvola, "EPSG:4326", 3 / 3600)
    people = write_tif(tmp_path / "ppp.tif", np.full(shape, 4.0), transform, "EPSG:4326")
    dem_t, dem_shape = covering(kouvola, "EPSG:3067", 50.0)
    dem = write_tif(tmp_path / "dem.tif", np.full(dem_shape, 80.0), dem_t, "EPSG:3067", -9999.0)
    out = tmp_path / "k.gpkg"
    argv = ["twin", "import-osm", pyrosm.get_data("test_pbf"), "--region", "FI", "-o", str(out)]
    code, stdout, err = run_cli([*argv, "--dem", str(dem), "--population", str(people)], capsys)
    assert code == 0, err
    city = City.read(out)
    assert city.dem is not None and city.dem.crs == city.crs
    meta = city.metadata["population"]
    assert meta["source"] == "ppp.tif" and meta["crs"] == "EPSG:4326"
    assert city.population == pytest.approx(meta["residents_after"])
    assert "residents from ppp.tif" in stdout and f"{city.population:,.0f}" in stdout


def test_a_dem_that_misses_part_of_the_city_is_refused(
    kouvola: City, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyrosm = pytest.importorskip("pyrosm")
    transform, (rows, cols) = covering(kouvola, "EPSG:4326", 1 / 3600)
    dem = write_tif(tmp_path / "half.tif", np.full((rows, cols // 2), 80.0), transform, "EPSG:4326")
    with pytest.raises(DataFileError, match=r"half\.tif does not cover the city: [\d,]+ of its"):
        attach_dem(kouvola, dem)
    out = tmp_path / "k.gpkg"
    argv = [
        "twin",
        "import-osm",
        pyrosm.get_data("test_pbf"),
        "--region",
        "FI",
        "-o",
        str(out),
        "--dem",
        str(dem),
    ]
    code, _, err = run_cli(argv, capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "half.tif" in err
    assert "%" in err and not out.exists()


def test_population_command_rewrites_the_twin(
    kouvola: City, kouvola_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "k.gpkg"
    copy.write_bytes(kouvola_file.read_bytes())
    transform, shape = covering(kouvola, "EPSG:3067", 250.0)
    path = write_tif(tmp_path / "grid.tif", np.full(shape, 50.0), transform, "EPSG:3067")
    code, _, err = run_cli(["twin", "population", str(copy), str(path)], capsys)
    assert code == 0, err
    city = City.read(copy)
    assert city.metadata["population"]["source"] == "grid.tif"
    assert city.population == pytest.approx(city.metadata["population"]["residents_after"])
    assert city.population != pytest.approx(kouvola.population)
