"""The assessment run: twin indicators, assess(), the CLI, the report section and the demo."""

from __future__ import annotations

import dataclasses
import json
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from resilientcity._schema import to_json
from resilientcity.assessment.data import IndicatorData, range_problems, validate_indicator_table
from resilientcity.assessment.districts import demo_assessment
from resilientcity.assessment.from_twin import (
    RUN_INDICATORS,
    STATIC_INDICATORS,
    twin_indicators,
)
from resilientcity.assessment.indicators import IndicatorLibrary
from resilientcity.assessment.run import assess, read_ahp_matrix
from resilientcity.cli.assess import assess as assess_command
from resilientcity.errors import ValidationError
from resilientcity.pipeline import demo_scenario
from resilientcity.recovery.metrics import ServiceCurve
from resilientcity.report.assessment import assessment_section, render_assessment_page
from resilientcity.scenario.run import ScenarioRun, run_scenario
from resilientcity.twin.assessment_units import assessment_units
from resilientcity.twin.city import City


@pytest.fixture(scope="module")
def small_run(small_city: City) -> ScenarioRun:
    return run_scenario(demo_scenario("small"), city=small_city)


def _curve(run: ScenarioRun) -> ServiceCurve:
    assert run.network is not None
    return run.network.curve


def _wide(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.pivot(index="unit", columns="indicator", values="value")


# --- twin indicators ------------------------------------------------------------------------


def test_static_twin_indicators_by_hand(small_city: City) -> None:
    got = twin_indicators(small_city)
    assert set(got["indicator"]) == set(STATIC_INDICATORS)  # run indicators left out, not NaN
    assert np.isfinite(got["value"]).all()
    wide = _wide(got)
    # District 430102: one hospital HOS001 with 196 beds; shelters SHL009 2,938, SHL013 6,012 and
    # SHL023 5,827 places; 59,653.58 residents.
    assert wide.loc["430102", "soc_hospital_beds"] == pytest.approx(196 / 59_653.58 * 1000)
    assert wide.loc["430102", "soc_hospital_beds"] == pytest.approx(3.2856, abs=1e-4)
    shelters = 2938 + 6012 + 5827  # 14,777
    assert wide.loc["430102", "soc_shelter_places"] == pytest.approx(shelters / 59.65358)
    assert wide.loc["430102", "soc_shelter_places"] == pytest.approx(247.71, abs=0.01)


def test_power_redundancy_counted_by_hand(small_city: City) -> None:
    assets, deps = small_city.assets, small_city.dependencies
    critical = {"hospital", "shelter", "pump_station", "water_plant", "telecom"}
    counts: dict[str, list[int]] = {}
    for asset_id, kind, zone in zip(
        assets["asset_id"], assets["kind"], assets["zone_id"], strict=True
    ):
        if kind not in critical:
            continue
        links = deps[(deps["dependent_id"] == asset_id) & (deps["service"] == "power")]
        groups = links.groupby("group")["supplier_id"].nunique()
        redundant = (len(groups) > 0 and bool((groups >= 2).all())) or bool(
            (links["backup_hours"] > 0).any()
        )
        counts.setdefault(str(zone), [0, 0])
        counts[str(zone)][0] += int(redundant)
        counts[str(zone)][1] += 1
    wide = _wide(twin_indicators(small_city))
    for zone, (hits, total) in counts.items():
        assert wide.loc[zone, "inf_critical_power_redundancy"] == pytest.approx(100 * hits / total)


def test_run_twin_indicators_by_hand(small_city: City, small_run: ScenarioRun) -> None:
    wide = _wide(twin_indicators(small_city, small_run.event_sets, _curve(small_run)))
    assert set(wide.columns) == set(STATIC_INDICATORS) | set(RUN_INDICATORS)
    zone_of = dict(zip(small_city.assets["asset_id"], small_city.assets["zone_id"], strict=True))
    pop = small_city.zones.set_index("zone_id")["population"]
    loss = 0.0
    for event_set in small_run.event_sets:
        for asset_id, eai in zip(event_set.result.asset_ids, event_set.result.eai, strict=True):
            loss += eai if zone_of[str(asset_id)] == "430103" else 0.0
    assert wide.loc["430103", "eco_eal_per_capita"] == pytest.approx(loss / pop["430103"])
    # The district's curve: mean over its sectors; index = trapezoid ∫Q dt / T.
    assert small_run.network is not None
    curve = small_run.network.curve
    cols = [c for c in curve.levels.columns if c[1] == "430102"]
    q = curve.levels[cols].to_numpy().mean(axis=1)
    t = curve.times
    area = sum((t[k + 1] - t[k]) * (q[k + 1] + q[k]) / 2 for k in range(len(t) - 1))
    assert wide.loc["430102", "inf_resilience_index"] == pytest.approx(area / (t[-1] - t[0]))
    # A curve that does not reach 0.95 in time gets the simulated span (180 days).
    span = t[-1] - t[0]
    assert (wide["inf_recovery_time"] <= span).all()
    minimum = int(np.argmin(q))
    if (q[minimum:] >= 0.95).any():
        assert wide.loc["430102", "inf_recovery_time"] < span
    else:
        assert wide.loc["430102", "inf_recovery_time"] == span


def test_a_district_without_residents_is_left_out_of_the_units(small_city: City) -> None:
    zones = small_city.zones.copy()
    zones.loc[zones["zone_id"] == "430112", "population"] = 0.0
    city = dataclasses.replace(small_city, zones=zones)
    got = twin_indicators(city)
    assert "430112" not in set(got["unit"]) and np.isfinite(got["value"]).all()
    units = assessment_units(city)
    assert units.zone_type == "district" and units.without_residents == ("430112",)
    assert (units.asset_unit[small_city.assets["zone_id"].to_numpy() == "430112"] == "").all()


def test_fewer_than_two_units_with_residents_are_refused(small_city: City) -> None:
    zones = small_city.zones.copy()
    zones["population"] = 0.0
    zones.loc[zones["zone_id"] == "430112", "population"] = 10.0
    city = dataclasses.replace(small_city, zones=zones)
    with pytest.raises(ValidationError, match="two districts or two H3 cells"):
        twin_indicators(city)


# --- assess() -------------------------------------------------------------------------------


def _library() -> IndicatorLibrary:
    common = {"name_zh": "x", "unit": "-", "direction": "benefit", "sub_dimension": "s"}
    return IndicatorLibrary.from_records(
        [
            {**common, "id": "x1", "name_en": "x1", "dimension": "organisation"},
            {**common, "id": "x2", "name_en": "x2", "dimension": "infrastructure"},
            {**common, "id": "x3", "name_en": "x3", "dimension": "infrastructure"},
        ]
    )


def _table(x1: list[float], x2: list[float], year: int = 2023) -> pd.DataFrame:
    return pd.DataFrame({"unit": ["A", "B", "C"], "year": year, "x1": x1, "x2": x2})


def test_entropy_topsis_on_three_units_by_hand() -> None:
    result = assess(_table([1, 2, 3], [2, 1, 2]), _library(), samples=0)
    # Min-max: x1 → (0, 0.5, 1), shares (0, 1/3, 2/3); x2 → (1, 0, 1), shares (1/2, 0, 1/2).
    e1 = -(1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3)) / math.log(3)  # 0.579380
    e2 = -(2 * 0.5 * math.log(0.5)) / math.log(3)  # 0.630930
    w1, w2 = (1 - e1) / (2 - e1 - e2), (1 - e2) / (2 - e1 - e2)  # 0.532639, 0.467361
    assert w1 == pytest.approx(0.532639, abs=1e-6)
    assert result.weights["x1"] == pytest.approx(w1)
    assert result.weights["x2"] == pytest.approx(w2)
    # TOPSIS, vector normalisation: x1 / √14, x2 / 3; weighted, ideal = max, anti-ideal = min.
    v1 = [w1 * x / math.sqrt(14) for x in (1, 2, 3)]
    v2 = [w2 * x / 3 for x in (2, 1, 2)]
    closeness = []
    for a, b in zip(v1, v2, strict=True):
        d_plus = math.hypot(a - max(v1), b - max(v2))
        d_minus = math.hypot(a - min(v1), b - min(v2))
        closeness.append(d_minus / (d_plus + d_minus))
    assert result.scores["score"].to_list() == pytest.approx(closeness)
    # A: D+ = w1·2/√14 = 0.2847, D− = w2/3 = 0.1558 → 0.3537; B: 0.1424 / (0.2110 + 0.1424)
    # = 0.4028; C is at the ideal (1.0), A the worst.
    assert closeness[0] == pytest.approx((w2 / 3) / (w1 * 2 / math.sqrt(14) + w2 / 3))
    assert result.scores["rank"].to_list() == [3, 2, 1]
    assert closeness == pytest.approx([0.3537, 0.4028, 1.0], abs=1e-4)
    assert result.city_score == pytest.approx(sum(closeness) / 3)
    assert result.trend is None and result.changes is None


def test_population_weighted_city_score_and_weak_spots() -> None:
    result = assess(
        _table([1, 2, 3], [2, 1, 2]),
        _library(),
        weights="equal",
        method="weighted_sum",
        population={"A": 1, "B": 1, "C": 2},
        samples=50,
    )
    # Equal weights on min-max values: A (0 + 1)/2, B (0.5 + 0)/2, C (1 + 1)/2.
    assert result.scores["score"].to_list() == pytest.approx([0.5, 0.25, 1.0])
    assert result.city_score == pytest.approx((0.5 + 0.25 + 2 * 1.0) / 4)
    # Obstacles of B: x1 0.5·0.5 = 0.25, x2 0.5·1 = 0.5 → shares 1/3 and 2/3.
    assert list(result.obstacles.to_numpy()[1]) == pytest.approx([1 / 3, 2 / 3])
    # Obstacles (x1, x2): A (1, 0), B (1/3, 2/3), C (0, 0); mean per dimension: organisation
    # (1 + 1/3 + 0)/3 = 4/9, infrastructure (0 + 2/3 + 0)/3 = 2/9.
    assert result.weakest_dimension == "organisation"
    assert result.sensitivity is not None
    assert len(result.sensitivity.weights) == 50
    # The city's dimension scores are weighted like its score: organisation (x1 min-max
    # 0, 0.5, 1) → (0 + 0.5 + 2·1)/4; infrastructure (x2: 1, 0, 1) → (1 + 0 + 2·1)/4.
    city = result.city_dimensions()
    assert city["organisation"] == pytest.approx(2.5 / 4)
    assert city["infrastructure"] == pytest.approx(3 / 4)


def test_zero_variance_is_refused_by_name_or_dropped() -> None:
    table = _table([1, 2, 3], [2, 2, 2])
    with pytest.raises(ValidationError, match=r"x2 in 2023"):
        assess(table, _library(), samples=0)
    result = assess(table, _library(), samples=0, drop_constant=True)
    assert result.dropped == ("x2",)
    assert list(result.weights.index) == ["x1"]


def test_ahp_weights_over_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "ahp.csv"
    path.write_text(",organisation,infrastructure\norganisation,1,3\ninfrastructure,1/3,1\n")
    matrix = read_ahp_matrix(path)
    assert matrix.loc["infrastructure", "organisation"] == pytest.approx(1 / 3)
    table = _table([1, 2, 3], [2, 1, 2]).assign(x3=[5.0, 4.0, 1.0])
    result = assess(table, _library(), weights=("ahp", path), samples=0)
    # A 2 × 2 reciprocal matrix gives 3/4 and 1/4; infrastructure's 1/4 is shared by x2 and x3.
    assert result.weights.to_dict() == pytest.approx({"x1": 0.75, "x2": 0.125, "x3": 0.125})
    bad = tmp_path / "bad.csv"
    bad.write_text(",organisation,infrastructure\norganisation,1,3\ninfrastructure,2,1\n")
    with pytest.raises(ValidationError, match=r"\(infrastructure, organisation\)"):
        assess(table, _library(), weights=("ahp", bad), samples=0)


def test_year_on_year_on_a_pooled_scale() -> None:
    table = pd.concat([_table([1, 2, 3], [2, 1, 2], 2022), _table([2, 2, 4], [3, 1, 2], 2023)])
    result = assess(table, _library(), weights="equal", method="weighted_sum", samples=0)
    assert result.year == 2023
    assert result.trend is not None and result.changes is not None
    # Pooled min-max: x1 over (1, 2, 3, 2, 2, 4) → span 3; x2 over (2, 1, 2, 3, 1, 2) → span 2.
    # A 2022: (0/3 + 1/2)/2 = 0.25; A 2023: (1/3 + 2/2)/2 = 0.6667.
    assert result.trend.loc["A", 2022] == pytest.approx(0.25)
    assert result.trend.loc["A", 2023] == pytest.approx(2 / 3)
    change = result.changes.set_index("unit").loc["A", "change"]
    assert change == pytest.approx(2 / 3 - 0.25)
    older = assess(table, _library(), year=2022, samples=0)
    assert older.year == 2022
    with pytest.raises(ValidationError, match="year"):
        assess(table, _library(), year=2030, samples=0)


def test_trend_uses_the_indicators_recorded_in_every_year() -> None:
    lib = _library()
    older = validate_indicator_table(_table([1, 2, 3], [2, 1, 2], 2022), lib)
    latest = validate_indicator_table(
        _table([2, 2, 4], [3, 1, 2], 2023).assign(x3=[1.0, 5.0, 3.0]), lib
    )
    frame = pd.concat([older.frame, latest.frame], ignore_index=True)
    result = assess(
        IndicatorData(frame, latest.report), lib, weights="equal", method="weighted_sum", samples=0
    )
    assert set(result.weights.index) == {"x1", "x2", "x3"}
    assert result.trend_indicators == ("x1", "x2")
    assert result.trend is not None
    # x3 exists in 2023 only: the trend is the two-indicator one of the pooled test above,
    # weights 1/3 and 1/3 rescaled to 1/2 each.
    assert result.trend.loc["A", 2022] == pytest.approx(0.25)
    assert result.trend.loc["A", 2023] == pytest.approx(2 / 3)
    city = result.city_trend()
    assert city is not None
    assert city[2022] == pytest.approx(result.trend[2022].mean())
    assert result.summary()["trend"]["indicators"] == ["x1", "x2"]


def test_unknown_scheme_and_method_are_refused() -> None:
    with pytest.raises(ValidationError, match="weights"):
        assess(_table([1, 2, 3], [2, 1, 2]), _library(), weights="magic", samples=0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="method"):
        assess(_table([1, 2, 3], [2, 1, 2]), _library(), method="best", samples=0)  # type: ignore[arg-type]


# --- CLI and report ------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(assess_command)
    return app


def _demo_csv() -> Path:
    return Path(
        str(resources.files("resilientcity").joinpath("data/assessment/demo_districts.csv"))
    )


def test_cli_writes_the_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(_app(), [str(_demo_csv()), "--out", str(out), "--samples", "100"])
    assert result.exit_code == 0, result.output
    for name in ("scores.csv", "weak_spots.csv", "summary.json", "report.html"):
        assert (out / name).is_file()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    block = summary["assessment"]
    assert block["year"] == 2023 and block["method"] == "topsis"
    assert set(block["units"]) == {"430102", "430103", "430104", "430105", "430111", "430112"}
    scores = pd.read_csv(out / "scores.csv", dtype={"unit": str})
    assert sorted(scores["rank"]) == [1, 2, 3, 4, 5, 6]
    assert "score_organisation" in scores.columns
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "scatterpolar" in html and "heatmap" in html and "Score trends" in html


def test_cli_refuses_a_bad_cell_by_name(tmp_path: Path) -> None:
    text = _demo_csv().read_text(encoding="utf-8").replace("430102,2021,83.1", "430102,2021,abc")
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(_app(), [str(bad), "--out", str(tmp_path / "o")])
    assert isinstance(result.exception, ValidationError)
    assert "430102/2021/org_plan_coverage" in str(result.exception)
    weights = CliRunner().invoke(_app(), [str(_demo_csv()), "--weights", "magic"])
    assert isinstance(weights.exception, ValidationError)
    assert "--weights" in str(weights.exception)


def test_cli_refuses_values_out_of_range_naming_the_cells(tmp_path: Path) -> None:
    # issue 15 item 18: 150 % plan coverage and -3 doctors ranked that unit first
    text = _demo_csv().read_text(encoding="utf-8")
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("unit,"))
    columns = header.split(",")
    plans, doctors = columns.index("org_plan_coverage"), columns.index("soc_doctors")
    out = []
    for line in lines:
        cells = line.split(",")
        if line.startswith("430105,2023,"):
            cells[plans], cells[doctors] = "150", "-3"
        out.append(",".join(cells))
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(out) + "\n", encoding="utf-8")
    result = CliRunner().invoke(_app(), [str(bad), "--out", str(tmp_path / "o")])
    assert isinstance(result.exception, ValidationError), result.output
    message = str(result.exception)
    assert f"indicator table {bad} is invalid: 2 problems" in message
    assert "org_plan_coverage: expected a value from 0 to 100 %, found 150 (row 430105/2023)" in (
        message
    )
    assert (
        "soc_doctors: expected a value >= 0 doctors/1,000 people, found -3 (row 430105/2023)"
        in (message)
    )
    assert not (tmp_path / "o").exists()


def test_report_section_and_page() -> None:
    table = pd.concat([_table([1, 2, 3], [2, 1, 2], 2022), _table([2, 2, 4], [3, 1, 2], 2023)])
    result = assess(table, _library(), samples=20)
    section = assessment_section(result)
    assert section.title == "Resilience assessment"
    assert "Main obstacles" in section.html and "assessment-radar" in section.html
    page = render_assessment_page(result)
    assert page.count("<script") >= 3 and "assessment-heatmap" in page


# --- the demo ------------------------------------------------------------------------------


def test_demo_assessment_gives_the_summary_keys(small_city: City, small_run: ScenarioRun) -> None:
    result, maturity, summary = demo_assessment(small_city, small_run.event_sets, _curve(small_run))
    block = to_json(summary)
    assert set(block) == {
        "city_score",
        "weakest_dimension",
        "maturity_level",
        "maturity_name",
        "units",
        "trend",
    }
    assert 0.0 <= block["city_score"] <= 1.0
    assert block["weakest_dimension"] in result.dimension_scores.columns
    assert block["maturity_level"] == maturity.level
    assert set(block["units"]) == set(small_city.zones.query("zone_type == 'district'")["zone_id"])
    assert {"eco_eal_per_capita", "inf_resilience_index"} <= set(result.weights.index)
    assert sorted(u["rank"] for u in block["units"].values()) == [1, 2, 3, 4, 5, 6]
    # the typed-in indicators give a trend over their years; the twin's are the latest year's
    assert result.trend is not None and list(result.trend.columns) == [2021, 2022, 2023]
    assert "eco_eal_per_capita" not in result.trend_indicators
    assert "org_plan_coverage" in result.trend_indicators
    json.dumps(block)  # JSON-ready
    section = assessment_section(result, maturity)
    assert "Roadmap" in section.html or "Every criterion" in section.html


def test_twin_indicators_stay_within_their_ranges_on_the_demo_city(
    small_city: City, small_run: ScenarioRun
) -> None:
    library = IndicatorLibrary.default()
    rows = twin_indicators(small_city, small_run.event_sets, _curve(small_run)).assign(year=2023)
    assert set(rows["indicator"]) == set(STATIC_INDICATORS) | set(RUN_INDICATORS)
    assert range_problems(rows, library) == []
    bounds = library.bounds.loc[rows["indicator"]].to_numpy()
    values = rows["value"].to_numpy()
    assert (values >= bounds[:, 0]).all()
    assert ((values <= bounds[:, 1]) | np.isnan(bounds[:, 1])).all()
    # the percentages and the resilience index are closed ranges
    closed = rows[rows["indicator"].isin(["soc_hospital_access_15min", "inf_resilience_index"])]
    assert len(closed) == 2 * 6


def test_validated_twin_rows_fit_the_indicator_table(small_city: City) -> None:
    rows = twin_indicators(small_city).assign(year=2023)
    data = validate_indicator_table(rows, IndicatorLibrary.default())
    assert data.report.n_imputed == 0


def test_service_assessment_is_the_runs_stage_or_the_default_block(
    small_city: City, small_run: ScenarioRun
) -> None:
    from resilientcity.scenario.assessment_stage import run_assessment, typed_trend

    default = demo_scenario("small")
    assert small_run.assessment is not None  # the demo scenario has an assessment: block
    result, maturity, used = run_assessment(small_run, default)
    assert result is small_run.assessment[0] and used is small_run.scenario
    bare = dataclasses.replace(small_run, assessment=None)
    again, maturity_again, used_again = run_assessment(bare, default)
    assert used_again is default and again is not result
    assert again.city_score == pytest.approx(result.city_score, rel=1e-12)
    assert maturity_again.level == maturity.level
    trend = typed_trend(small_city, used_again)
    assert trend is not None and list(trend.columns) == [2021, 2022, 2023]
    with pytest.raises(ValidationError, match="assessment"):
        run_assessment(bare, default.model_copy(update={"assessment": None}))


def test_assessment_block_with_ahp_weights_resolves_its_files(
    small_city: City, tmp_path: Path
) -> None:
    from resilientcity.assessment.indicators import DIMENSIONS
    from resilientcity.scenario.assessment_stage import assessment_stage
    from resilientcity.scenario.config import scenario_from_dict

    dims = list(DIMENSIONS)
    rows = [",".join(["", *dims])] + [",".join([d, *("1" for _ in dims)]) for d in dims]
    (tmp_path / "ahp.csv").write_text("\n".join(rows) + "\n")
    table = resources.files("resilientcity").joinpath("data/assessment/demo_districts.csv")
    with resources.as_file(table) as path:
        data = {
            "name": "ahp",
            "city": {"demo": "small"},
            "hazards": [{"kind": "river_flood", "stage_m": 39.0}],
            "assessment": {"table": str(path), "weights": "ahp", "ahp_matrix": "ahp.csv"},
        }
        scenario = scenario_from_dict(data, base_dir=tmp_path)  # ahp.csv is beside the file
        result, maturity, block, limits = assessment_stage(small_city, scenario)
    assert maturity is None and block.maturity_level is None
    assert "assessment.maturity" not in limits  # no answers: no level, nothing missing
    assert result.weight_scheme.startswith("ahp")
    # equal priorities per dimension, shared equally within it
    per_dimension = result.weights.groupby(result.library.dimension_of).sum()
    assert per_dimension.to_numpy() == pytest.approx(1 / len(per_dimension))
