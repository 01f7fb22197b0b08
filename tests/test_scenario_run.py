"""Scenario runs end to end on the small demo city: numbers checked against the parts."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cli_runner import run_cli
from resilientcity._schema import check_json
from resilientcity.hazard.flood import StageFrequency, river_flood_scenario
from resilientcity.hazard.rainstorm import pluvial_flood_scenario
from resilientcity.impact.assess import LIFELINE_KINDS, assess_impact, scenario_impact
from resilientcity.pipeline import demo_scenario
from resilientcity.scenario.config import scenario_from_dict
from resilientcity.scenario.hazards import compound_floods
from resilientcity.scenario.run import ScenarioRun, run_scenario, write_outputs
from resilientcity.summary import SummaryFile
from resilientcity.twin import City
from resilientcity.vulnerability import DamageFunction, VulnerabilityLibrary

DOCS = Path(__file__).parents[1] / "docs" / "scenarios"


def _dense(matrix: object) -> np.ndarray:
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def demo_run(small_city: City) -> ScenarioRun:
    return run_scenario(demo_scenario("small"), city=small_city)


def test_demo_scenario_is_the_100_year_flood_with_its_rainstorm(demo_run: ScenarioRun) -> None:
    kinds = [h.kind for h in demo_run.scenario.hazards]
    assert kinds == ["river_flood", "pluvial_flood"]
    assert len(demo_run.impacts) == 1  # one compound flood
    impact = demo_run.impacts[0]
    assert impact.name.startswith("compound flood: 100-year river flood, stage 39.51 m")
    assert {s.kind for s in demo_run.event_sets} == {"river_flood", "pluvial_flood"}


def test_compound_depth_is_the_larger_of_river_and_rain(
    demo_run: ScenarioRun, small_city: City
) -> None:
    river = _dense(river_flood_scenario(small_city, 39.51).intensity)[0]
    rain = _dense(pluvial_flood_scenario(small_city, 100, 120).intensity)[0]
    compound = demo_run.impacts[0].assets["intensity"].to_numpy()
    np.testing.assert_allclose(compound, np.maximum(river, rain), rtol=1e-12)
    assert (rain > river).any() and (river > rain).any()  # both hazards matter somewhere


def test_flood_losses_equal_value_times_curve_by_hand(
    demo_run: ScenarioRun, small_city: City
) -> None:
    library = VulnerabilityLibrary.default()
    table = demo_run.impacts[0].assets
    assets = small_city.assets.reset_index(drop=True)
    for vuln in ("RES3/C2H", "COM4/C2M", "RES1/URML"):
        curve = library.curves[library.curve_id_for("river_flood", vuln) or ""]
        assert isinstance(curve, DamageFunction)
        rows = np.flatnonzero((assets["vuln"] == vuln).to_numpy() & (table["intensity"] > 0))
        assert rows.size
        depth = table["intensity"].to_numpy()[rows]
        expected = (
            assets["value"].to_numpy()[rows]
            * np.interp(depth, curve.intensity, curve.mdd)
            * np.interp(depth, curve.intensity, curve.paa)
        )
        np.testing.assert_allclose(table["loss"].to_numpy()[rows], expected, rtol=1e-9)


def test_flood_fatalities_follow_the_jonkman_mortality_function(demo_run: ScenarioRun) -> None:
    table = demo_run.impacts[0].assets
    occupants = demo_run.city.assets["occupants"].to_numpy()
    depth = table["intensity"].to_numpy()
    wet = depth > 0
    # Jonkman et al. (2008): F_D(h) = Φ((ln h − 7.60) / 2.75)
    phi = np.array(
        [0.5 * math.erfc(-((math.log(h) - 7.60) / 2.75) / math.sqrt(2)) for h in depth[wet]]
    )
    np.testing.assert_allclose(table["fatalities"].to_numpy()[wet], occupants[wet] * phi, rtol=1e-9)
    assert (table["fatalities"].to_numpy()[~wet] == 0).all()


def test_totals_add_up_and_summary_has_the_issue_keys(demo_run: ScenarioRun) -> None:
    impact = demo_run.impacts[0]
    block = demo_run.summary["impact"]
    assert block["total_loss"] == pytest.approx(impact.assets["loss"].sum(), rel=1e-12)
    assert block["casualties"] == pytest.approx(impact.assets["casualties"].sum(), rel=1e-12)
    assert block["displaced"] == pytest.approx(impact.assets["displaced"].sum(), rel=1e-12)
    assert block["total_loss"] > 0 and block["displaced"] > 0
    eal = sum(
        float(np.dot(s.events.frequency, s.result.loss_per_event)) for s in demo_run.event_sets
    )
    assert block["expected_annual_loss"] == pytest.approx(eal, rel=1e-12)
    assert (impact.assets["loss"] <= demo_run.city.assets["value"].to_numpy() + 1e-6).all()
    p = impact.assets["p_functional"]
    assert ((p >= 0) & (p <= 1)).all()


def test_river_event_set_eal_by_hand(small_city: City) -> None:
    library = VulnerabilityLibrary.default()
    table = StageFrequency.default()
    f = table.event_frequency()
    losses = []
    for stage in table.stages_m:
        ev = river_flood_scenario(small_city, float(stage))
        losses.append(assess_impact(small_city.assets, ev, library).loss_per_event[0])
    scenario = scenario_from_dict(
        {
            "name": "t",
            "city": {"demo": "small"},
            "hazards": [{"kind": "river_flood", "stage_m": 36.0}],
            "event_sets": [{"kind": "river_flood"}],
        }
    )
    run = run_scenario(scenario, city=small_city)
    assert run.summary["impact"]["expected_annual_loss"] == pytest.approx(
        float(np.dot(f, losses)), rel=1e-9
    )
    curve = run.event_sets[0].exceedance
    assert curve["return_period_years"].iloc[0] == pytest.approx(100.0)


def test_earthquake_scenario_uses_fragility_and_consequences(small_city: City) -> None:
    scenario = scenario_from_dict(
        {
            "name": "eq",
            "city": {"demo": "small"},
            "hazards": [
                {
                    "kind": "earthquake",
                    "magnitude": 6.5,
                    "epicentre_lonlat": [113.10, 28.10],
                    "realisations": 4,
                    "seed": 3,
                    "region": "china_turkey",
                }
            ],
        }
    )
    run = run_scenario(scenario, city=small_city)
    impact = run.impacts[0]
    assert impact.kind == "earthquake" and impact.events.n_events == 4
    totals = impact.totals
    assert totals["loss"] > 0 and totals["casualties"] > 0
    assert totals["fatalities"] <= totals["casualties"]
    assert totals["assets_exposed"] == len(small_city.assets)  # PGA > 0 everywhere
    days = impact.assets["restoration_days"]
    assert days.max() > 0 and (days >= 0).all()
    # The network stage draws one realisation of who is down: about the expected number.
    assert run.network is not None
    q = 1 - impact.assets["p_functional"].to_numpy()
    spread = 4 * math.sqrt(float(np.sum(q * (1 - q)))) + 1
    assert abs(int(run.network.damaged.sum()) - q.sum()) < spread
    # The per-asset table is the mean of the realisations.
    per_event = impact.result.channels["loss"].per_event
    assert totals["loss"] == pytest.approx(per_event.mean(), rel=1e-9)


def test_typhoon_example_runs(small_city: City) -> None:
    from resilientcity.scenario.config import load_scenario

    scenario = load_scenario(DOCS / "typhoon.yaml")
    run = run_scenario(scenario, city=small_city)
    impact = run.impacts[0]
    assert impact.kind == "wind" and impact.unit == "m/s"
    assert impact.assets["intensity"].min() > 0
    assert impact.totals["fatalities"] == 0  # no sourced wind mortality function


def test_scenario_impact_of_no_hazard_is_zero(small_city: City) -> None:
    ev = river_flood_scenario(small_city, 20.0)  # below the river bed: nothing floods
    impact = scenario_impact("dry", small_city.assets, ev, VulnerabilityLibrary.default())
    assert impact.totals["loss"] == 0 and impact.totals["assets_exposed"] == 0
    assert (impact.assets["p_functional"] == 1).all()


def test_compound_of_one_flood_is_unchanged(small_city: City) -> None:
    from resilientcity.scenario.hazards import NamedEvents

    one = [NamedEvents("river", river_flood_scenario(small_city, 39.0))]
    assert compound_floods(one) == one


def test_write_outputs_and_report(demo_run: ScenarioRun, tmp_path: Path) -> None:
    written = write_outputs(demo_run, tmp_path / "out", job={"kind": "test"})
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    for key in ("total_loss", "casualties", "displaced", "expected_annual_loss"):
        assert isinstance(summary["impact"][key], float)
    table = pd.read_parquet(written.outputs["impact"])
    assert len(table) == len(demo_run.city.assets)
    assert table["loss"].sum() == pytest.approx(summary["impact"]["total_loss"], rel=1e-12)
    page = (tmp_path / "out" / "report.html").read_text("utf-8")
    assert "Impact: damage and loss" in page
    assert 'id="damage-map-0"' in page and 'id="exceedance"' in page
    assert 'id="service-loss-map"' in page and 'id="recovery-curves"' in page
    assert "Why is it down?" in page and 'id="shelter-fill"' in page
    curves = pd.read_csv(written.outputs["service_curves"], index_col="day")
    assert "city:all" in curves.columns and len(curves) == 181
    assert summary["resilience"]["index"] == pytest.approx(demo_run.summary["resilience"]["index"])
    assert page.count("Plotly.newPlot") >= 6


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _complete_set(folder: Path) -> dict:
    """The summary of ``folder``, checked to list exactly the files of the set beside it."""
    summary = json.loads((folder / "summary.json").read_text("utf-8"))
    listed = set(summary["outputs"].values())
    assert listed <= {p.name for p in folder.iterdir()}, (listed, list(folder.iterdir()))
    return summary


def test_write_outputs_failing_part_way_leaves_the_previous_set(
    demo_run: ScenarioRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import resilientcity.report

    out = tmp_path / "out"
    write_outputs(demo_run, out, job={"kind": "first"})
    (out / "notes.txt").write_text("the user's")
    before = _files(out)

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    # report.html is the last file: summary.json, the tables and the curves are written by then
    monkeypatch.setattr(resilientcity.report, "write_report", fail)
    with pytest.raises(RuntimeError, match="the disk is full"):
        write_outputs(demo_run, out, job={"kind": "second"})
    assert _files(out) == before
    assert _complete_set(out)["job"]["kind"] == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left
    monkeypatch.undo()
    written = write_outputs(demo_run, out, job={"kind": "third"})
    assert _complete_set(out)["job"]["kind"] == "third"
    assert (out / "notes.txt").read_text() == "the user's"
    assert set(written.outputs) == {"report", "summary", "impact", "service_curves"}
    assert all(path.parent == out and path.is_file() for path in written.outputs.values())


_cli = run_cli


def test_cli_run_writes_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(["run", str(DOCS / "river-flood.yaml"), "--out", str(tmp_path)], capsys)
    assert code == 0, out
    text = " ".join(out.split())  # the console wraps long lines
    assert "assets exposed" in text and "expected annual loss" in text
    assert (tmp_path / "report.html").is_file() and (tmp_path / "summary.json").is_file()


def test_cli_run_refuses_the_current_folder_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["run", str(DOCS / "river-flood.yaml"), "--out", "."], capsys)
    assert code == 1 and "is or holds the current folder" in err
    assert list(tmp_path.iterdir()) == []


def test_cli_run_bad_scenario_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncity: {demo: small}\nhazards: [{kind: river_flood}]\n", "utf-8")
    code, _, err = _cli(["run", str(bad), "--out", str(tmp_path / "o")], capsys)
    assert code == 1
    assert "bad.yaml.hazards[0].river_flood" in err
    assert not (tmp_path / "o").exists()


def test_evacuation_scales_casualties_not_displacement(small_city: City) -> None:
    library = VulnerabilityLibrary.default()
    ev = river_flood_scenario(small_city, 39.51)
    none = scenario_impact("a", small_city.assets, ev, library)
    most = scenario_impact("b", small_city.assets, ev, library, evacuated_share=0.9)
    assert most.totals["fatalities"] == pytest.approx(0.1 * none.totals["fatalities"], rel=1e-9)
    assert most.totals["displaced"] == pytest.approx(none.totals["displaced"], rel=1e-12)
    from resilientcity.errors import ValidationError

    with pytest.raises(ValidationError, match="evacuated_share"):
        scenario_impact("c", small_city.assets, ev, library, evacuated_share=1.5)


def test_classes_without_damage_have_no_consequences(demo_run: ScenarioRun) -> None:
    """Bridges map to 'none' for floods: the river under the deck does not close them."""
    table = demo_run.impacts[0].assets
    bridges = (demo_run.city.assets["kind"] == "bridge").to_numpy()
    assert (table["intensity"].to_numpy()[bridges] > 0).any()
    assert (table["p_functional"].to_numpy()[bridges] == 1).all()
    assert (table["loss"].to_numpy()[bridges] == 0).all()


def test_scenario_storm_intensity_file_is_used(small_city: City, tmp_path: Path) -> None:
    from resilientcity.hazard.rainstorm import StormIntensityFormula

    default = StormIntensityFormula.default()
    wetter = tmp_path / "idf.json"
    wetter.write_text(
        json.dumps(
            {"coefficients": {"A1": 2 * default.a1, "C": default.c, "b": default.b, "n": default.n}}
        ),
        "utf-8",
    )
    data = {
        "name": "rain",
        "city": {"demo": "small"},
        "hazards": [{"kind": "pluvial_flood", "return_period_years": 20}],
    }
    base = run_scenario(scenario_from_dict(data), city=small_city)
    data["hazards"][0]["storm_intensity"] = "idf.json"  # type: ignore[index]
    more = run_scenario(scenario_from_dict(data, base_dir=tmp_path), city=small_city)
    assert more.impacts[0].totals["loss"] > base.impacts[0].totals["loss"]


def test_restoration_days_per_asset(demo_run: ScenarioRun, small_city: City) -> None:
    table = demo_run.impacts[0].assets
    library = VulnerabilityLibrary.default()
    ic = library.intensity_consequences("river_flood")
    lifeline = small_city.assets["kind"].isin(LIFELINE_KINDS).to_numpy()
    damaged = (table["loss"].to_numpy() > 0) & ~lifeline
    expected = ic.restoration_days(
        table["intensity"].to_numpy()[damaged], table["damage_ratio"].to_numpy()[damaged]
    )
    np.testing.assert_allclose(table["restoration_days"].to_numpy()[damaged], expected)
    assert (table["restoration_days"].to_numpy()[table["loss"].to_numpy() == 0] == 0).all()
    assert expected.max() > 0


def test_flooded_lifelines_take_hazus_lifeline_restoration_days(demo_run: ScenarioRun) -> None:
    """The water plant (PWT3): its damage ratio on the Hazus scale 0.08/0.40/0.77/1.0 →
    restoration 0.9/1.9/32/95 days (hazus_eq_consequences.json), interpolated."""
    table = demo_run.impacts[0].assets.set_index("asset_id")
    library = VulnerabilityLibrary.default()
    cons = library.assign_consequences("earthquake", ["PWT3"])[0]
    assert cons is not None
    ratio = table.loc["WP001", "damage_ratio"]
    assert ratio > 0
    expected = np.interp(ratio, np.r_[0.0, cons.repair_ratio], np.r_[0.0, cons.restoration_days])
    assert table.loc["WP001", "restoration_days"] == pytest.approx(expected, rel=1e-12)
    assert expected < 95  # at most the complete state's days


def test_network_stage_and_resilience_summary(demo_run: ScenarioRun, small_city: City) -> None:
    stage = demo_run.network
    assert stage is not None
    summary = demo_run.summary
    res = summary["resilience"]
    for key in ("robustness", "rapidity_days", "loss", "index"):
        assert key in res
    assert 0 <= res["robustness"] <= res["index"] <= 1
    curve = stage.curve.city.to_numpy()
    t = stage.curve.times
    # loss = ∫(1 − Q) dt and index = ∫Q dt / T, by the trapezoid rule on the curve itself.
    integral = float(np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(t)))
    assert res["loss"] == pytest.approx(t[-1] - integral, rel=1e-9)
    assert res["index"] == pytest.approx(integral / t[-1], rel=1e-9)
    assert set(res["sectors"]) >= {"energy", "water", "medical", "transport"}
    # Every damaged asset is down at t = 0, and the cascade adds more (buildings lose water).
    frame = stage.cascade.frame()
    assert not frame["functional"].to_numpy()[stage.damaged].any()
    assert summary["network"]["assets_down"] > summary["network"]["assets_damaged"]
    # A flooded hospital's chain names its own damage.
    hospitals = frame[(small_city.assets["kind"] == "hospital").to_numpy() & frame["damaged"]]
    assert len(hospitals) and (hospitals["cause"] == "damaged").all()


def test_recovery_can_be_switched_off(small_city: City) -> None:
    data = {
        "name": "no recovery",
        "city": {"demo": "small"},
        "hazards": [{"kind": "river_flood", "stage_m": 38.0}],
        "recovery": {"enabled": False},
    }
    run = run_scenario(scenario_from_dict(data), city=small_city)
    assert run.network is None and "resilience" not in run.summary


def test_sampled_repair_durations_are_reproducible(small_city: City) -> None:
    data = {
        "name": "sampled",
        "city": {"demo": "small"},
        "hazards": [{"kind": "river_flood", "stage_m": 39.0}],
        "recovery": {"sampled": True, "seed": 5, "days": 60},
    }
    a = run_scenario(scenario_from_dict(data), city=small_city)
    b = run_scenario(scenario_from_dict(data), city=small_city)
    assert a.network is not None and b.network is not None
    np.testing.assert_array_equal(a.network.restoration_days, b.network.restoration_days)
    data["recovery"] = {"days": 60}
    c = run_scenario(scenario_from_dict(data), city=small_city)
    assert c.network is not None
    assert not np.array_equal(a.network.restoration_days, c.network.restoration_days)
    assert a.summary["network"]["road_network_problems"] == []


def test_evacuation_of_the_displaced(demo_run: ScenarioRun, small_city: City) -> None:
    plan = demo_run.evacuation
    assert plan is not None
    block = demo_run.summary["decision"]
    people = demo_run.impacts[0].assets["displaced"].sum()
    assert block["evacuated"] + block["unsheltered"] == pytest.approx(people, rel=1e-6)
    assert block["evacuated"] > 0
    s = plan.shelters
    assert (s["assigned_people"] <= s["capacity_people"] + 1e-6).all()
    # Damaged shelters take nobody.
    damaged = set(small_city.assets["asset_id"].to_numpy(dtype=str)[demo_run.network.damaged])  # type: ignore[union-attr]
    assert not (s["shelter_id"].isin(damaged) & (s["assigned_people"] > 0)).any()


def test_demo_writes_every_summary_block(tmp_path: Path) -> None:
    from resilientcity.pipeline import run_demo

    out = tmp_path / "demo"
    out.mkdir()  # a previous set, and a file of the user's
    (out / "stale.csv").write_text("of the previous run")
    (out / "summary.json").write_text(json.dumps({"outputs": {"stale": "stale.csv"}}))
    (out / "notes.txt").write_text("the user's")
    result = run_demo(out, size="small")
    summary = _complete_set(out)
    assert set(summary["outputs"]) == {"report", "summary", "impact", "service_curves", "city"}
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*summary["outputs"].values(), "notes.txt"]
    )
    assert City.read(result.outputs["city"]).name == result.city.name
    for block, keys in {
        "impact": ("total_loss", "casualties", "displaced", "expected_annual_loss"),
        "resilience": ("robustness", "rapidity_days", "loss", "index"),
        "decision": (
            "evacuated",
            "unsheltered",
            "mean_response_min",
            "relief_fill_rate",
            "plans_fired",
            "tasks",
            "repair_policies",
        ),
        "assessment": ("city_score", "weakest_dimension", "maturity_level"),
    }.items():
        for key in keys:
            assert key in summary[block], (block, key)
    page = result.outputs["report"].read_text("utf-8")
    assert "assessment" in page.lower() and page.count("<script") >= 2
    assert "Decisions: contingency plans" in page and "Repair priorities compared" in page
    assert "Evacuation flows" in page and "Dispatch assignments" in page
    assert "flood_shelter_shortfall" in summary["decision"]["plans_fired"]  # people unsheltered
    # every number the demo reports is the stored copy's (refactoring changes none of them)
    stored = json.loads((DATA / "demo-small-summary.json").read_text("utf-8"))
    kept = {k: v for k, v in summary.items() if k not in VOLATILE}
    assert _differences(stored, kept) == []
    # every key of the file is in its documented schema (docs/summary.md), with its type
    assert check_json(SummaryFile, summary) == []
    assert result.results.to_json() == {k: summary[k] for k in result.results.to_json()}


def test_the_summary_check_names_unknown_keys_and_wrong_types() -> None:
    stored = json.loads((DATA / "demo-small-summary.json").read_text("utf-8"))
    summary = {"resilientcity_version": "0", "generated_at": "now", **stored, "timings_s": {}}
    assert check_json(SummaryFile, summary) == []
    summary["impact"] = {**summary["impact"], "total_los": 1.0}
    summary["network"] = {**summary["network"], "assets_down": "many"}
    summary["decision"] = {**summary["decision"], "tasks": None}
    del summary["resilience"]["days"]
    summary["city"] = {**summary["city"], "roads": {**summary["city"]["roads"], "bridges": 1.5}}
    assert sorted(check_json(SummaryFile, summary)) == [
        "city.roads.bridges: 1.5, expected integer",
        "decision.tasks: null, expected integer",
        "impact.total_los: not in the schema",
        "network.assets_down: 'many', expected integer",
        "resilience.days: missing",
    ]


def test_decision_options_of_the_scenario(small_city: City) -> None:
    data: dict[str, Any] = {
        "name": "first wave of 50",
        "city": {"demo": "small"},
        "hazards": [{"kind": "river_flood", "stage_m": 39.51}],
        "recovery": {"days": 30},
        "decisions": {"max_dispatch_incidents": 50, "relief_days": 2},
    }
    run = run_scenario(scenario_from_dict(data), city=small_city)
    block = run.summary["decision"]
    assert block["incidents"] > 50 and block["incidents_planned"] == 50
    assert run.relief is not None and run.relief.fill["day"].nunique() == 2
    data["decisions"] = {"enabled": False}
    off = run_scenario(scenario_from_dict(data), city=small_city)
    assert off.network is not None  # the network stage still runs
    assert off.evacuation is None and off.dispatch is None and off.relief is None
    assert off.summary["decision"]["evacuated"] is None
    assert "tasks" in off.summary["decision"]  # the plans are still evaluated


def test_assessment_stage_of_a_scenario_file(small_city: City) -> None:
    from importlib import resources

    table = resources.files("resilientcity").joinpath("data/assessment/demo_districts.csv")
    with resources.as_file(table) as path:
        data = {
            "name": "assessed without recovery",
            "city": {"demo": "small"},
            "hazards": [{"kind": "river_flood", "stage_m": 39.0}],
            "recovery": {"enabled": False},
            "assessment": {"table": str(path), "weights": "critic", "method": "vikor"},
        }
        run = run_scenario(scenario_from_dict(data), city=small_city)
    assert run.assessment is not None
    result, maturity = run.assessment
    assert maturity is None and (result.method, result.weight_scheme) == ("vikor", "critic")
    # without the network stage the recovery indicators are not computed
    assert "inf_resilience_index" not in result.weights.index
    block = run.summary["assessment"]
    assert block["maturity_level"] is None and block["city_score"] == result.city_score
    header = {
        "resilientcity_version": "0",
        "generated_at": "now",
        "job": {},
        "city": small_city.summary(),
        "timings_s": {},
        "outputs": {},
    }
    assert check_json(SummaryFile, json.loads(json.dumps({**header, **run.summary}))) == []


#: Summary keys that differ from run to run (the version, the time, the steps' durations).
VOLATILE = ("resilientcity_version", "generated_at", "timings_s")
#: ``data/demo-small-summary.json`` is ``summary.json`` of ``resilientcity demo --size small``
#: without the :data:`VOLATILE` keys. After a change meant to move the demo's numbers, write it
#: anew from such a run and say in the commit which numbers moved and why.
DATA = Path(__file__).parent / "data"


def _differences(expected: Any, found: Any, where: str = "summary") -> list[str]:
    """Where ``found`` differs from ``expected`` (numbers within 1e-12, relative)."""
    if isinstance(expected, dict) and isinstance(found, dict):
        keys = sorted(set(expected) | set(found))
        return [
            d
            for k in keys
            for d in _differences(
                expected.get(k, "<missing>"), found.get(k, "<missing>"), f"{where}.{k}"
            )
        ]
    if isinstance(expected, list) and isinstance(found, list):
        if len(expected) != len(found):
            return [f"{where}: {len(found)} items, stored {len(expected)}"]
        return [
            d
            for i, (e, f) in enumerate(zip(expected, found, strict=True))
            for d in _differences(e, f, f"{where}[{i}]")
        ]
    numbers = (int, float)
    if (
        isinstance(expected, numbers)
        and isinstance(found, numbers)
        and not isinstance(expected, bool)
    ):
        if math.isclose(expected, found, rel_tol=1e-12, abs_tol=1e-12):
            return []
    elif expected == found:
        return []
    return [f"{where}: {found!r}, stored {expected!r}"]


def test_demo_failing_part_way_leaves_the_previous_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import resilientcity.report
    from resilientcity.pipeline import run_demo

    out = tmp_path / "demo"
    out.mkdir()
    (out / "report.html").write_text("the previous report")
    (out / "summary.json").write_text(json.dumps({"outputs": {"report": "report.html"}}))
    before = _files(out)

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(resilientcity.report, "write_report", fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        run_demo(out, size="small")  # city.gpkg and summary.json were written by then
    assert _files(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_rescue_dispatch_and_repair_policy_comparison(small_city: City) -> None:
    data = {
        "name": "flood with policy comparison",
        "city": {"demo": "small"},
        "hazards": [{"kind": "river_flood", "stage_m": 39.51}],
        "recovery": {"compare_policies": True, "days": 60},
    }
    run = run_scenario(scenario_from_dict(data), city=small_city)
    block = run.summary["decision"]
    assert run.dispatch is not None
    assert block["incidents"] == len(run.dispatch.incidents) == block["incidents_planned"] > 0
    assert block["mean_response_min"] is None or block["mean_response_min"] >= 0
    policies = {p["policy"]: p for p in block["repair_policies"]}
    assert set(policies) == {"naive", "critical_first", "population", "greedy"}
    assert policies["greedy"]["resilience_loss"] <= policies["naive"]["resilience_loss"] + 1e-9


def test_dispatch_plans_the_first_wave_only(demo_run: ScenarioRun, small_city: City) -> None:
    from resilientcity.scenario.decision_stage import dispatch_stage

    assert demo_run.network is not None
    plan, total = dispatch_stage(small_city, demo_run.impacts, demo_run.network, max_incidents=50)
    assert total > 50 and len(plan.incidents) == 50
    # The 50 planned are the highest priorities.
    all_plan, _ = dispatch_stage(small_city, demo_run.impacts, demo_run.network)
    top = all_plan.incidents.sort_values("priority", ascending=False)["priority"].head(50)
    assert plan.incidents["priority"].min() >= top.min() - 1e-9
