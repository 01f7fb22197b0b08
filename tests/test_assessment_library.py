"""Indicator library and indicator data tables (issue 7 items 1 and 2)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resilientcity.assessment.data import (
    IndicatorData,
    range_problems,
    read_indicator_table,
    validate_indicator_table,
)
from resilientcity.assessment.indicators import DIMENSIONS, IndicatorLibrary, dimensions
from resilientcity.assessment.run import assess
from resilientcity.errors import DataFileError, ValidationError

TWIN = {
    "soc_hospital_beds",
    "soc_shelter_places",
    "soc_hospital_access_15min",
    "inf_critical_power_redundancy",
    "eco_eal_per_capita",
    "inf_resilience_index",
    "inf_recovery_time",
}


@pytest.fixture(scope="module")
def library() -> IndicatorLibrary:
    return IndicatorLibrary.default()


def _messages(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return "\n".join(str(p) for p in exc.value.problems)


# ---- the default library -------------------------------------------------------------------


def test_default_library_covers_the_four_dimensions(library: IndicatorLibrary) -> None:
    assert 30 <= len(library) <= 50
    assert set(library.dimension_of) == set(DIMENSIONS)
    assert [d.id for d in dimensions()] == list(DIMENSIONS)
    subs = {d.id: set(d.sub_dimensions) for d in dimensions()}
    for ind_id, row in library.table.iterrows():
        assert row["sub_dimension"] in subs[row["dimension"]], ind_id
        assert row["name_zh"] and row["name_en"] and row["unit"] and row["definition"]
    assert set(library.directions) == {"benefit", "cost"}


def test_every_default_indicator_has_a_range_from_its_unit(library: IndicatorLibrary) -> None:
    bounds = library.bounds
    assert list(bounds.columns) == ["min_value", "max_value"]
    assert bounds.dtypes.tolist() == [np.float64, np.float64]
    # nothing the library measures can be negative: every range is closed below at 0
    assert (bounds["min_value"] == 0.0).all()
    units = library.table["unit"]
    assert (bounds.loc[units == "%", "max_value"] == 100.0).all()
    assert (bounds.loc[units == "score 0-100", "max_value"] == 100.0).all()
    assert (bounds.loc[units == "index 0-1", "max_value"] == 1.0).all()
    assert len(bounds.loc[units == "%"]) >= 20
    # counts and per-capita figures have no upper bound a source could give
    unbounded = ["org_mutual_aid", "soc_doctors", "eco_gdp_per_capita", "eco_eal_gdp_share"]
    assert bounds.loc[unbounded, "max_value"].isna().all()
    assert library.range_text("org_plan_coverage") == "from 0 to 100 %"
    assert library.range_text("soc_doctors") == ">= 0 doctors/1,000 people"


def test_twin_indicators_are_marked(library: IndicatorLibrary) -> None:
    assert set(library.twin_ids) == TWIN


def test_iso_counterparts_cite_only_verified_clauses(library: IndicatorLibrary) -> None:
    reference = Path(__file__).parent / "data/reference/resilience-indicator-standards.json"
    cited = [c for c in library.table["iso37123"] if c]
    assert len(cited) >= 5
    verified = json.loads(reference.read_text(encoding="utf-8"))["ISO 37123:2019"]
    names = {f"{v['clause']} {v['name']}" for v in verified["indicators_verified"]}
    assert all(any(n in c for n in names) for c in cited)
    # GB/T 40947-2021's list was not found: no counterpart is invented
    assert (library.table["gbt40947"] == "").all()


def test_default_file_cites_its_sources() -> None:
    path = resources.files("resilientcity").joinpath("data/assessment/indicators.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert {"dimensions", "iso37123", "gbt40947"} <= set(doc["sources"])
    assert "assumption" in doc["selection"]


# ---- user files ------------------------------------------------------------------------------

_CSV_HEADER = "id,name_zh,name_en,dimension,sub_dimension,unit,direction,definition,source\n"


def test_from_csv_extends_and_overrides(tmp_path: Path, library: IndicatorLibrary) -> None:
    path = tmp_path / "extra.csv"
    path.write_text(
        "# my additions\n"
        + _CSV_HEADER
        + "x_cameras,摄像头密度,Camera density,infrastructure,communications,per km²,benefit,,\n"
        + "soc_doctors,医师,Doctors,economy_society,public_services,per 1000,benefit,new def,\n",
        encoding="utf-8",
    )
    extended = IndicatorLibrary.from_file(path)
    assert len(extended) == len(library) + 1
    assert extended.table.loc["soc_doctors", "definition"] == "new def"
    assert extended.table.loc["x_cameras", "source"] == "input"
    replaced = IndicatorLibrary.from_file(path, mode="replace")
    assert replaced.ids == ("x_cameras", "soc_doctors")


def test_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "lib.yaml"
    path.write_text(
        "indicators:\n"
        "  - {id: a, name_zh: 甲, name_en: A, dimension: organisation, sub_dimension: planning,\n"
        "     unit: '%', direction: cost, source: twin}\n",
        encoding="utf-8",
    )
    lib = IndicatorLibrary.from_file(path, mode="replace")
    assert lib.ids == ("a",) and lib.twin_ids == ("a",) and lib.directions["a"] == "cost"


def test_bad_library_names_every_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        _CSV_HEADER
        + "a,甲,A,organisation,planning,%,benefit,,\n"
        + "a,甲,A2,organisation,planning,%,benefit,,\n"
        + "b,乙,B,culture,planning,%,higher,,remote\n"
        + "c,,C,organisation,planning,%,cost,,\n"
        + "d e,丁,D,organisation,planning,%,cost,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as exc:
        IndicatorLibrary.from_file(path)
    text = _messages(exc)
    assert "indicators.id: expected unique ids, found duplicates (row a)" in text
    assert "indicators.dimension: expected one of organisation" in text and "(row b)" in text
    assert "indicators.direction: expected one of benefit, cost, found higher (row b)" in text
    assert "indicators.source: expected one of twin, input, found remote (row b)" in text
    assert "indicators.name_zh: expected a non-empty value (row c)" in text
    assert "indicators.id: expected letters" in text and "(row d e)" in text


def test_user_files_set_ranges(tmp_path: Path) -> None:
    path = tmp_path / "ranged.yaml"
    path.write_text(
        "indicators:\n"
        "  - {id: a, name_zh: 甲, name_en: A, dimension: organisation, sub_dimension: planning,\n"
        "     unit: '%', direction: benefit, min_value: 0, max_value: 100}\n"
        "  - {id: b, name_zh: 乙, name_en: B, dimension: organisation, sub_dimension: planning,\n"
        "     unit: degC, direction: cost, min_value: -40.5, max_value: null}\n"
        "  - {id: c, name_zh: 丙, name_en: C, dimension: organisation, sub_dimension: planning,\n"
        "     unit: '-', direction: cost, max_value: 3}\n",
        encoding="utf-8",
    )
    lib = IndicatorLibrary.from_file(path, mode="replace")
    assert lib.bounds.loc["a"].tolist() == [0.0, 100.0]
    assert lib.bounds.loc["b", "min_value"] == -40.5 and np.isnan(lib.bounds.loc["b", "max_value"])
    assert np.isnan(lib.bounds.loc["c", "min_value"]) and lib.bounds.loc["c", "max_value"] == 3
    assert (lib.range_text("b"), lib.range_text("c")) == (">= -40.5 degC", "<= 3 -")
    csv = tmp_path / "ranged.csv"
    csv.write_text(
        "id,name_zh,name_en,dimension,sub_dimension,unit,min_value,max_value,direction\n"
        "soc_doctors,医师,Doctors,economy_society,public_services,per 1000,0.5,,benefit\n",
        encoding="utf-8",
    )
    extended = IndicatorLibrary.from_file(csv)
    assert extended.bounds.loc["soc_doctors", "min_value"] == 0.5
    assert extended.bounds.loc["org_plan_coverage"].tolist() == [0.0, 100.0]  # default kept
    # a record without bounds is open on both sides
    open_lib = IndicatorLibrary.from_records(
        [{"id": "x", "name_zh": "x", "name_en": "x", "dimension": "organisation",
          "sub_dimension": "s", "unit": "-", "direction": "benefit"}]
    )  # fmt: skip
    assert np.isnan(open_lib.bounds.loc["x"]).all() and open_lib.range_text("x") == "any number"


def test_bad_ranges_are_named_by_row_and_field() -> None:
    common = {"name_zh": "x", "name_en": "x", "dimension": "organisation", "sub_dimension": "s",
              "unit": "%", "direction": "benefit"}  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        IndicatorLibrary.from_records(
            [
                {**common, "id": "words", "min_value": "low", "max_value": 100},
                {**common, "id": "infinite", "min_value": 0, "max_value": float("inf")},
                {**common, "id": "flag", "min_value": True},
                {**common, "id": "inverted", "min_value": 100, "max_value": 0},
                {**common, "id": "empty", "min_value": 5, "max_value": 5},
                {**common, "id": "fine", "min_value": 0, "max_value": 100},
            ]
        )
    text = _messages(exc)
    assert len(exc.value.problems) == 3
    assert (
        "indicators.min_value: expected a finite number, or empty for an open bound, "
        "found low, True (rows words, flag)"
    ) in text
    assert "indicators.max_value: expected a finite number" in text and "(row infinite)" in text
    assert (
        "indicators.min_value, max_value: expected min_value < max_value, found 100 >= 0, "
        "5 >= 5 (rows inverted, empty)"
    ) in text
    assert "fine" not in text


def test_unknown_field_and_missing_id(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as exc:
        IndicatorLibrary.from_records(
            [{"name_zh": "甲", "name_en": "A", "dimension": "organisation", "unit": "%",
              "sub_dimension": "planning", "direction": "cost", "directon": "x"}]
        )  # fmt: skip
    text = _messages(exc)
    assert "indicators.directon: expected only the fields" in text
    assert "indicators.id: expected a non-empty value (row 1)" in text


def test_unreadable_library_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such"):
        IndicatorLibrary.from_file(tmp_path / "missing.csv")
    path = tmp_path / "scalar.yaml"
    path.write_text("42\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="list of indicator records"):
        IndicatorLibrary.from_file(path)


def test_subset_refuses_unknown_ids(library: IndicatorLibrary) -> None:
    assert library.subset(["soc_doctors", "org_drills"]).ids == ("soc_doctors", "org_drills")
    with pytest.raises(ValidationError, match="nope"):
        library.subset(["nope"])


# ---- indicator tables ------------------------------------------------------------------------


def _wide() -> pd.DataFrame:
    """2 units × 2 years × 2 indicators, one missing cell (A 2021 soc_doctors)."""
    return pd.DataFrame(
        {
            "unit": ["A", "A", "B", "B"],
            "year": [2020, 2021, 2020, 2021],
            "soc_doctors": [1.0, None, 3.0, 4.0],
            "inf_road_density": [5.0, 7.0, 6.0, 8.0],
        }
    )


def test_wide_and_long_give_the_same_frame(library: IndicatorLibrary) -> None:
    wide = _wide().fillna({"soc_doctors": 2.0})
    long = wide.melt(id_vars=["unit", "year"], var_name="indicator", value_name="value")
    a = validate_indicator_table(wide, library).frame
    b = validate_indicator_table(long.sample(frac=1.0, random_state=1), library).frame
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["unit", "year", "indicator", "value", "imputed"]
    # library order: soc_doctors (economy_society) before inf_road_density (infrastructure)
    assert list(a["indicator"][:2]) == ["soc_doctors", "inf_road_density"]
    assert len(a) == 8 and not a["imputed"].any()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("unit_mean", 1.0),  # A's only other year: 1.0
        ("indicator_median", 4.0),  # median over the other units in 2021: B = 4.0
        ("previous_year", 1.0),  # A in 2020
    ],
)
def test_imputation_policies(library: IndicatorLibrary, policy: str, expected: float) -> None:
    data = validate_indicator_table(_wide(), library, imputation=policy)  # type: ignore[arg-type]
    cell = data.frame.query("unit == 'A' and year == 2021 and indicator == 'soc_doctors'")
    assert cell["value"].item() == expected and cell["imputed"].item()
    assert data.report.n_imputed == 1 and data.report.policy == policy
    assert data.report.imputed.iloc[0].to_dict() == {
        "unit": "A", "year": 2021, "indicator": "soc_doctors", "value": expected,
    }  # fmt: skip
    assert "A 2021 soc_doctors" in data.report.describe()


def test_unit_mean_over_three_years(library: IndicatorLibrary) -> None:
    raw = pd.DataFrame(
        {"unit": ["A"] * 3 + ["B"] * 3, "year": [1, 2, 3] * 2,
         "org_drills": [2.0, None, 5.0, 1.0, 1.0, 2.0]}
    )  # fmt: skip
    data = validate_indicator_table(raw, library, imputation="unit_mean")
    assert data.report.imputed["value"].item() == pytest.approx((2.0 + 5.0) / 2)


def test_missing_refused_without_policy(library: IndicatorLibrary) -> None:
    with pytest.raises(ValidationError) as exc:
        validate_indicator_table(_wide(), library)
    assert "imputation 'none'" in str(exc.value) and "A/2021/soc_doctors" in str(exc.value)


def test_absent_long_rows_are_missing(library: IndicatorLibrary) -> None:
    long = pd.DataFrame(
        {"unit": ["A", "A", "B"], "year": [2020, 2021, 2020],
         "indicator": ["org_drills"] * 3, "value": [1, 2, 3]}
    )  # fmt: skip
    with pytest.raises(ValidationError, match="B/2021/org_drills"):
        validate_indicator_table(long, library)
    data = validate_indicator_table(long, library, imputation="previous_year")
    assert data.report.imputed[["unit", "year", "value"]].values.tolist() == [["B", 2021, 3.0]]


def test_policy_that_cannot_fill_names_the_cell(library: IndicatorLibrary) -> None:
    raw = pd.DataFrame(
        {"unit": ["A", "A", "B", "B"], "year": [2020, 2021] * 2,
         "org_drills": [None, 2.0, 1.0, 1.0], "soc_doctors": [1.0, 1.0, 2.0, 2.0]}
    )  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        validate_indicator_table(raw, library, imputation="previous_year")
    assert "earlier year" in str(exc.value) and "A/2020/org_drills" in str(exc.value)


def test_unit_with_all_values_missing_is_refused(library: IndicatorLibrary) -> None:
    raw = _wide()
    raw.loc[raw["unit"] == "B", ["soc_doctors", "inf_road_density"]] = np.nan
    for policy in ("none", "unit_mean", "indicator_median", "previous_year"):
        with pytest.raises(ValidationError) as exc:
            validate_indicator_table(raw, library, imputation=policy)  # type: ignore[arg-type]
        assert "unit: expected at least one value per unit, found all values missing (row B)" in (
            _messages(exc)
        )


def test_zero_variance_is_reported(library: IndicatorLibrary) -> None:
    raw = _wide().fillna(2.0)
    raw.loc[raw["year"] == 2020, "inf_road_density"] = 5.0
    report = validate_indicator_table(raw, library).report
    assert report.zero_variance.values.tolist() == [["inf_road_density", 2020, 5.0]]
    assert "zero variance: inf_road_density in 2020" in report.describe()


def test_bad_table_names_every_problem(library: IndicatorLibrary) -> None:
    long = pd.DataFrame(
        {
            "Unit ": ["A", "A", "A", "Z", "A", ""],
            "YEAR": ["2020", "2020", "2020", "2020", "20.5", "2020"],
            "indicator": [
                "org_drills",
                "org_drills",
                "nope",
                "org_drills",
                "org_drills",
                "org_drills",
            ],
            "value": ["1", "2", "3", "4", "5", "6"],
        }
    )
    with pytest.raises(ValidationError) as exc:
        validate_indicator_table(long, library, units=["A", "B"])
    text = _messages(exc)
    assert "indicator table.indicator: expected an indicator id of the library (row nope)" in text
    assert "indicator table.unit: expected one of the given units (row Z)" in text
    assert "indicator table.year: expected a whole number (e.g. 2023), found 20.5 (row 5)" in text
    assert "indicator table.unit: expected a non-empty id (row 6)" in text
    # duplicates and values are checked once the keys are sound
    long = long.iloc[[0, 1]]
    with pytest.raises(ValidationError, match=r"one value per cell \(row A/2020/org_drills\)"):
        validate_indicator_table(long, library)


def test_non_numeric_values_are_named(library: IndicatorLibrary) -> None:
    raw = _wide().astype({"soc_doctors": object})
    raw.loc[1, "soc_doctors"] = "many"
    raw.loc[2, "inf_road_density"] = np.inf
    with pytest.raises(ValidationError) as exc:
        validate_indicator_table(raw, library, imputation="unit_mean")
    text = _messages(exc)
    assert "value: expected a finite number or an empty cell" in text
    assert "A/2021/soc_doctors" in text and "B/2020/inf_road_density" in text


def test_values_outside_their_range_are_refused_cell_by_cell(library: IndicatorLibrary) -> None:
    raw = pd.DataFrame(
        {
            "unit": ["A", "B", "C", "A", "B", "C"],
            "year": [2022, 2022, 2022, 2023, 2023, 2023],
            "org_plan_coverage": [100.0, 0.0, 55.0, 150.0, 101.0, 80.0],  # bounds inclusive
            "soc_doctors": [2.0, 3.0, 1.0, -3.0, 2.5, None],  # missing: not a range problem
            "inf_resilience_index": [0.5, 1.0, 0.0, 0.7, 0.8, 1.2],
            "soc_unemployment": [4.0, "x", 5.0, 5.0, 3.0, 6.0],
        }
    )
    with pytest.raises(ValidationError) as exc:
        validate_indicator_table(raw, library, imputation="unit_mean")
    text = _messages(exc)
    assert (
        "indicator table.org_plan_coverage: expected a value from 0 to 100 %, "
        "found 150, 101 (rows A/2023, B/2023)"
    ) in text
    assert (
        "indicator table.soc_doctors: expected a value >= 0 doctors/1,000 people, "
        "found -3 (row A/2023)"
    ) in text
    assert (
        "indicator table.inf_resilience_index: expected a value from 0 to 1 index 0-1, "
        "found 1.2 (row C/2023)"
    ) in text
    # every problem at once: the non-number too, and nothing about the in-range cells
    assert "found x (row B/2022/soc_unemployment)" in text
    assert len(exc.value.problems) == 4
    # the same in the long layout, problems in library order
    long = raw.drop(columns="soc_unemployment").melt(id_vars=["unit", "year"], var_name="indicator")
    with pytest.raises(ValidationError) as again:
        validate_indicator_table(long.iloc[::-1], library, imputation="unit_mean")
    assert [p.column for p in again.value.problems] == [
        "org_plan_coverage",
        "soc_doctors",
        "inf_resilience_index",
    ]
    # within range everywhere: accepted, bounds included
    fine = raw.drop(columns="soc_unemployment")
    fine.loc[3:4, "org_plan_coverage"] = [100.0, 0.0]
    fine.loc[3, "soc_doctors"] = 0.0
    fine.loc[5, "inf_resilience_index"] = 1.0
    data = validate_indicator_table(fine, library, imputation="unit_mean")
    assert range_problems(data.frame, library) == []


def test_a_user_range_is_applied(tmp_path: Path, library: IndicatorLibrary) -> None:
    custom = IndicatorLibrary.from_records(
        [{"id": "soc_doctors", "name_zh": "医师", "name_en": "Doctors", "unit": "per 1000",
          "dimension": "economy_society", "sub_dimension": "public_services",
          "direction": "benefit", "min_value": 1, "max_value": 10}]
    )  # fmt: skip
    raw = pd.DataFrame({"unit": ["A", "B", "C"], "year": 2023, "soc_doctors": [0.5, 5.0, 12.0]})
    validate_indicator_table(raw, library)  # the default library: >= 0, accepted
    with pytest.raises(ValidationError, match=r"from 1 to 10 per 1000, found 0.5, 12 \(rows A/20"):
        validate_indicator_table(raw, custom)


def test_a_file_out_of_range_is_named(tmp_path: Path, library: IndicatorLibrary) -> None:
    path = tmp_path / "districts.csv"
    path.write_text(
        "unit,year,org_plan_coverage,soc_doctors\nA,2023,150,-3\nB,2023,60,2\n", encoding="utf-8"
    )
    with pytest.raises(ValidationError) as exc:
        read_indicator_table(path, library)
    assert str(exc.value).startswith(f"indicator table {path} is invalid: 2 problems")
    assert "org_plan_coverage: expected a value from 0 to 100 %, found 150 (row A/2023)" in (
        str(exc.value)
    )


def test_assess_checks_validated_data_against_its_library(library: IndicatorLibrary) -> None:
    wide_open = IndicatorLibrary.from_records(
        [{"id": "org_plan_coverage", "name_zh": "预案", "name_en": "Plans", "unit": "%",
          "dimension": "organisation", "sub_dimension": "planning", "direction": "benefit"},
         {"id": "soc_doctors", "name_zh": "医师", "name_en": "Doctors", "unit": "per 1000",
          "dimension": "economy_society", "sub_dimension": "public_services",
          "direction": "benefit"}]
    )  # fmt: skip
    raw = pd.DataFrame(
        {"unit": ["A", "B", "C"], "year": 2023, "org_plan_coverage": [150.0, 60.0, 70.0],
         "soc_doctors": [-3.0, 2.0, 2.5]}
    )  # fmt: skip
    data = validate_indicator_table(raw, wide_open)  # no ranges: accepted
    with pytest.raises(ValidationError) as exc:
        assess(data, library, samples=0)
    assert [p.column for p in exc.value.problems] == ["org_plan_coverage", "soc_doctors"]
    assert exc.value.problems[0].rows == ("A/2023",)
    hand_made = IndicatorData(data.frame, data.report)
    with pytest.raises(ValidationError, match="soc_doctors"):
        assess(hand_made, library, samples=0)
    with pytest.raises(ValidationError, match=r"found 150 \(row A/2023\)"):
        assess(raw, library, samples=0)  # a raw table is validated with the library


def test_layout_problems(library: IndicatorLibrary) -> None:
    with pytest.raises(ValidationError, match="unit, year"):
        validate_indicator_table(pd.DataFrame({"district": ["A"], "org_drills": [1]}), library)
    with pytest.raises(ValidationError, match="exactly the columns"):
        validate_indicator_table(
            pd.DataFrame({"unit": ["A"], "year": [1], "indicator": ["org_drills"],
                          "value": [1], "org_drills": [1]}),
            library,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="imputation"):
        validate_indicator_table(_wide(), library, imputation="mean")  # type: ignore[arg-type]


def test_read_csv_files(tmp_path: Path, library: IndicatorLibrary) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "# synthetic\nunit,year,soc_doctors,inf_road_density\n"
        "430102,2020,1.5,3\n430102,2021,2,NA\n430103,2020,4,5\n430103,2021,,6\n",
        encoding="utf-8",
    )
    data = read_indicator_table(
        path, library, imputation="previous_year", units=["430102", "430103"]
    )
    assert data.frame["unit"].unique().tolist() == ["430102", "430103"]  # codes stay text
    assert data.report.imputed[["unit", "year", "indicator", "value"]].values.tolist() == [
        ["430102", 2021, "inf_road_density", 3.0],
        ["430103", 2021, "soc_doctors", 4.0],
    ]
    with pytest.raises(ValidationError, match="rows 430102/2021/inf_road_density, 430103/2021/soc"):
        read_indicator_table(path, library)


def test_read_excel(tmp_path: Path, library: IndicatorLibrary) -> None:
    pytest.importorskip("openpyxl")
    path = tmp_path / "t.xlsx"
    _wide().fillna(2.0).to_excel(path, index=False, sheet_name="data")
    data = read_indicator_table(path, library, sheet="data")
    assert data.frame["value"].sum() == pytest.approx(1 + 2 + 3 + 4 + 5 + 7 + 6 + 8)


def test_unreadable_tables(tmp_path: Path, library: IndicatorLibrary) -> None:
    with pytest.raises(DataFileError, match="no such"):
        read_indicator_table(tmp_path / "missing.csv", library)
    with pytest.raises(DataFileError, match=r"\.csv, \.xlsx"):
        read_indicator_table(tmp_path / "table.json", library)


def test_example_district_data_is_valid(library: IndicatorLibrary) -> None:
    path = resources.files("resilientcity").joinpath("data/assessment/demo_districts.csv")
    with resources.as_file(path) as file:
        assert "SYNTHETIC" in file.read_text(encoding="utf-8").splitlines()[0]
        districts = ["430102", "430103", "430104", "430105", "430111", "430112"]
        data = read_indicator_table(file, library, units=districts)
    assert sorted(data.frame["unit"].unique()) == districts
    assert sorted(data.frame["year"].unique()) == [2021, 2022, 2023]
    assert data.report.n_imputed == 0 and data.report.zero_variance.empty


@settings(max_examples=30, deadline=None)
@given(st.permutations(range(8)))
def test_row_order_does_not_matter(order: list[int]) -> None:
    library = IndicatorLibrary.default()
    long = _wide().fillna(2.0).melt(id_vars=["unit", "year"], var_name="indicator")
    base = validate_indicator_table(long, library).frame
    shuffled = validate_indicator_table(long.iloc[order], library).frame
    pd.testing.assert_frame_equal(base, shuffled)
