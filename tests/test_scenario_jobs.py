"""The scenario job queue: requests to scenarios, one worker, progress, results, failures."""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError

from resilientcity.errors import ValidationError
from resilientcity.operations import scenario_jobs
from resilientcity.operations.scenario_jobs import (
    ROOT_PREFIX,
    QueueFull,
    ScenarioJobs,
    remove_orphaned_roots,
)
from resilientcity.operations.scenario_requests import (
    EarthquakeRequest,
    RainstormRequest,
    RiverFloodRequest,
    ScenarioRequest,
    TyphoonRequest,
    scenario_for,
)
from resilientcity.pipeline import demo_scenario
from resilientcity.report.web_layers import cascade_chain
from resilientcity.scenario.config import EarthquakeSpec, PluvialFloodSpec, WindSpec
from resilientcity.scenario.run import steps_of

REQUEST: TypeAdapter[Any] = TypeAdapter(ScenarioRequest)
TRACK = [
    [114.60, 26.60, "2026-07-20T00:00:00Z", 970, 1008, 40],
    [113.40, 27.80, "2026-07-20T12:00:00Z", 975, 1008, 45],
    [112.40, 28.80, "2026-07-21T00:00:00Z", 982],
]


@pytest.fixture
def jobs(tmp_path: Path):
    queue = ScenarioJobs(tmp_path / "runs")
    yield queue
    queue.close()


def _locs(exc: PydanticError) -> list[tuple[Any, ...]]:
    return [tuple(e["loc"]) for e in exc.errors()]


def test_requests_are_validated_field_by_field():
    # what holds for any city here; the city's own ranges: test_requests_outside_the_city...
    with pytest.raises(PydanticError) as stage:
        REQUEST.validate_python({"hazard": "river_flood", "stage_m": float("nan")})
    assert _locs(stage.value) == [("river_flood", "stage_m")]
    with pytest.raises(PydanticError) as period:
        REQUEST.validate_python({"hazard": "rainstorm", "return_period": 1.0})
    assert _locs(period.value) == [("rainstorm", "return_period")]
    with pytest.raises(PydanticError) as magnitude:
        REQUEST.validate_python({"hazard": "earthquake", "magnitude": 9, "lon": 113, "lat": 28})
    assert _locs(magnitude.value) == [("earthquake", "magnitude")]
    with pytest.raises(PydanticError) as both:
        REQUEST.validate_python(
            {"hazard": "earthquake", "magnitude": 6, "lon": 113, "lat": 28, "x": 1, "y": 2}
        )
    assert "both x and y, or as both lon and lat" in str(both.value)
    with pytest.raises(PydanticError) as unknown:
        REQUEST.validate_python({"hazard": "meteor"})
    assert "'hazard'" in str(unknown.value)
    with pytest.raises(PydanticError) as short:
        REQUEST.validate_python({"hazard": "typhoon", "track": [TRACK[0]]})
    assert _locs(short.value) == [("typhoon", "track")]
    with pytest.raises(PydanticError) as values:
        REQUEST.validate_python({"hazard": "typhoon", "track": [TRACK[0], [114.6, 26.6]]})
    assert _locs(values.value) == [("typhoon", "track", 1)]
    with pytest.raises(PydanticError) as point:
        REQUEST.validate_python({"hazard": "typhoon", "track": [TRACK[0], [114, 99, "x", 970]]})
    assert {("typhoon", "track", 1, "lat"), ("typhoon", "track", 1, "time")} <= set(
        _locs(point.value)
    )


def test_requests_become_the_demo_scenario_with_one_hazard(small_city, tmp_path):
    base = demo_scenario("small")
    rain = scenario_for(
        RainstormRequest(hazard="rainstorm", return_period=50, duration_h=3),
        base,
        small_city,
        tmp_path,
    )
    assert rain.hazards == [
        PluvialFloodSpec(kind="pluvial_flood", return_period_years=50, duration_min=180)
    ]
    assert rain.event_sets == [] and rain.recovery == base.recovery and rain.impact == base.impact
    extent = small_city.extent()
    assert extent is not None
    xmin, ymin, xmax, _ = extent
    quake = scenario_for(
        EarthquakeRequest(hazard="earthquake", magnitude=6.5, lon=113.1, lat=28.1),
        base,
        small_city,
        tmp_path,
    )
    spec = quake.hazards[0]
    assert isinstance(spec, EarthquakeSpec) and spec.epicentre_xy is not None
    assert xmin - 100_000 < spec.epicentre_xy[0] < xmax + 100_000
    far = EarthquakeRequest(hazard="earthquake", magnitude=6, x=xmax + 150_000, y=ymin)
    with pytest.raises(ValidationError) as refused:
        scenario_for(far, base, small_city, tmp_path)
    assert [(p.layer, p.column) for p in refused.value.problems] == [("body", "x")]
    typhoon = scenario_for(TyphoonRequest.model_validate({"hazard": "typhoon", "track": TRACK}),
                           base, small_city, tmp_path / "t")  # fmt: skip
    wind = typhoon.hazards[0]
    assert isinstance(wind, WindSpec) and wind.track.is_file()
    assert wind.track.read_text().splitlines()[0] == (
        "lon,lat,time,central_pressure_hpa,environmental_pressure_hpa,rmax_km"
    )
    backwards = {"hazard": "typhoon", "track": [TRACK[1], TRACK[0]]}
    with pytest.raises(ValidationError) as order:
        scenario_for(TyphoonRequest.model_validate(backwards), base, small_city, tmp_path / "b")
    assert [(p.layer, p.column, p.rows) for p in order.value.problems] == [
        ("body", "track.time", ("#1",))
    ]


def test_requests_outside_the_citys_ranges_are_refused_by_scenario_for(small_city, tmp_path):
    base = demo_scenario("small")
    dem = small_city.dem.elevation_m
    low, high = math.floor(float(dem.min()) * 100) / 100, math.ceil(float(dem.max()) * 100) / 100
    with pytest.raises(ValidationError) as stage:
        scenario_for(RiverFloodRequest(hazard="river_flood", stage_m=high + 1), base, small_city,
                     tmp_path)  # fmt: skip
    [problem] = stage.value.problems
    assert (problem.layer, problem.column) == ("body", "stage_m")
    assert f"from {low:g} to {high:g} m" in problem.expected
    # the demo's storm intensity formula: 2 to 1,000 years, 0.25 to 24 hours
    with pytest.raises(ValidationError) as period:
        scenario_for(RainstormRequest(hazard="rainstorm", return_period=1.5), base, small_city,
                     tmp_path)  # fmt: skip
    assert [p.column for p in period.value.problems] == ["return_period"]
    assert "from 2 to 1000 years" in period.value.problems[0].expected
    default = scenario_for(RainstormRequest(hazard="rainstorm", return_period=10), base,
                           small_city, tmp_path)  # fmt: skip
    assert default.hazards[0].duration_min == 120.0  # the form's default, 2 h


def test_a_river_flood_runs_to_done_with_layers_and_recovery(small_city, jobs):
    request = RiverFloodRequest(hazard="river_flood", stage_m=39.5)
    started = time.perf_counter()
    job = jobs.submit(request, demo_scenario("small"), small_city)
    assert job.request == {"hazard": "river_flood", "stage_m": 39.5}
    assert job.steps == steps_of(job.scenario) + 1
    seen = set()
    while job.status not in ("done", "failed"):
        seen.add((job.status, job.progress))
        assert time.perf_counter() - started < 60, "the run did not finish within 60 s"
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    assert job.status == "done", job.error
    assert job.progress == 1.0 and job.step == "done" and job.error is None
    assert all(0 <= p < 1 for _, p in seen)
    # every step of the run was counted: the last one started was the results step
    assert job.done_steps == job.steps
    assert {p.name for p in job.folder.iterdir()} >= {
        "summary.json",
        "impact_assets.parquet",
        "service_curves.csv",
        "report.html",
    }
    result = job.result
    assert result is not None
    assert set(result) == {"summary", "layers", "losses", "evacuation", "relief", "recovery"}
    assert result["summary"]["impact"]["total_loss"] > 0
    damage = result["layers"]["damage"]
    assert damage["label"] == "mean damage ratio"
    assert len(damage["x"]) == len(damage["y"]) == len(damage["value"]) > 0
    assert all(0 < v <= 1 for v in damage["value"])
    loss = result["layers"]["service_loss"]
    assert len(loss["x"]) == len(loss["value"]) and all(0 < v <= 1 for v in loss["value"])
    roads = result["layers"]["closed_roads"]
    assert len(roads["x"]) == len(roads["y"]) and roads["x"].count(None) == roads["edges"] > 0
    assert sum(result["losses"]["by_sector"].values()) == pytest.approx(
        result["summary"]["impact"]["total_loss"], rel=1e-6
    )
    assert len(result["evacuation"]["shelters"]) <= 20
    recovery = result["recovery"]
    assert recovery["days"][0] == 0 and recovery["days"][-1] == 180
    assert {"city", "energy", "water", "medical"} <= set(recovery["sectors"])
    city_curve = np.array(recovery["sectors"]["city"])
    assert len(city_curve) == len(recovery["days"]) and city_curve[0] < 1
    assert city_curve[-1] > city_curve[0]
    latest = jobs.latest_run()
    assert latest is not None and latest[0] == job.id
    print(f"river flood job on the small city: {elapsed:.1f} s")


def test_a_failed_run_keeps_its_error_and_runs_go_one_at_a_time(small_city, tmp_path, monkeypatch):
    def slow_failure(scenario, city, progress):
        progress("hazard: river flood")
        time.sleep(0.3)
        raise RuntimeError(f"no water in {scenario.name}")

    monkeypatch.setattr(scenario_jobs, "run_scenario", slow_failure)
    queue = ScenarioJobs(tmp_path / "runs", keep=2, max_per_owner=3)
    try:
        base = demo_scenario("small")
        submitted = [
            queue.submit(RiverFloodRequest(hazard="river_flood", stage_m=s), base, small_city)
            for s in (38.0, 39.0, 40.0)
        ]
        assert submitted[2].status == "queued"
        for job in submitted:
            job.folder.mkdir(parents=True, exist_ok=True)
        for job in submitted:
            queue.wait(job.id, 30)
    finally:
        queue.close()
    first, second, third = submitted
    assert [j.status for j in submitted] == ["failed"] * 3
    assert first.error == "RuntimeError: no water in river flood at stage 38 m"
    assert first.step == "failed" and first.progress < 1
    assert first.finished_at <= second.started_at and second.finished_at <= third.started_at
    assert queue.latest_run() is None
    # only the last two finished runs are kept
    assert [j.id for j in queue.jobs()] == [third.id, second.id]
    assert queue.get(first.id) is None
    assert not first.folder.exists() and second.folder.is_dir() and third.folder.is_dir()


def test_the_queue_is_bounded_per_owner_and_in_all(small_city, tmp_path, monkeypatch):
    release = threading.Event()

    def held(scenario, city, progress):
        release.wait(30)
        raise RuntimeError("released")

    monkeypatch.setattr(scenario_jobs, "run_scenario", held)
    queue = ScenarioJobs(tmp_path / "runs", max_per_owner=2, max_pending=3)
    base = demo_scenario("small")

    def submit(owner: str, stage: float = 38.0) -> Any:
        request = RiverFloodRequest(hazard="river_flood", stage_m=stage)
        return queue.submit(request, base, small_city, owner)

    try:
        first, _ = submit("ana"), submit("ana")
        with pytest.raises(QueueFull, match="you have 2 scenario runs waiting or running") as mine:
            submit("ana")
        assert mine.value.retry_after_s > 0
        submit("ben")
        with pytest.raises(QueueFull, match="3 scenario runs are waiting or running"):
            submit("cyd")
        assert len(queue.jobs()) == 3
        release.set()
        queue.wait(first.id, 30)
        assert first.status == "failed"
        submit("ana")  # room again once a run has finished
    finally:
        release.set()
        queue.close()


def test_run_folders_of_dead_servers_are_removed_at_start(tmp_path):
    dead = subprocess.Popen(["true"])  # a process that has ended: its pid is free
    dead.wait()
    gone = tmp_path / f"{ROOT_PREFIX}{dead.pid}-abc"
    mine = tmp_path / f"{ROOT_PREFIX}{os.getpid()}-def"
    other = tmp_path / f"{ROOT_PREFIX}{os.getppid()}-ghi"
    unrelated = tmp_path / f"{ROOT_PREFIX}notapid"
    for folder in (gone, mine, other, unrelated):
        (folder / "job").mkdir(parents=True)
    assert remove_orphaned_roots(tmp_path) == [gone]
    assert not gone.exists() and mine.is_dir() and other.is_dir() and unrelated.is_dir()
    queue = ScenarioJobs()
    try:
        assert queue.root.name.startswith(f"{ROOT_PREFIX}{os.getpid()}-")
    finally:
        queue.close()


def test_cascade_chain_follows_the_causes_to_the_root(small_city):
    from resilientcity.network.cascade import DependencyGraph

    assets = small_city.assets
    graph = DependencyGraph.build(assets, small_city.dependencies)
    ids = assets["asset_id"].astype(str).tolist()
    kinds = assets["kind"].astype(str).tolist()
    dependent = small_city.dependencies.iloc[0]
    supplier = ids.index(str(dependent["supplier_id"]))
    damaged = np.zeros(len(ids), dtype=bool)
    damaged[supplier] = True
    cascade = graph.cascade(damaged)
    assert cascade_chain(cascade, kinds, supplier) == [
        {"asset_id": ids[supplier], "kind": kinds[supplier], "reason": "damaged"}
    ]
    down = [k for k in range(len(ids)) if not cascade.functional[k] and k != supplier]
    assert down, "damaging a supplier takes something down"
    for k in down:
        chain = cascade_chain(cascade, kinds, k)
        assert chain[0]["asset_id"] == ids[k] and chain[0]["reason"].startswith("no ")
        assert chain[-1] == {
            "asset_id": ids[supplier],
            "kind": kinds[supplier],
            "reason": "damaged",
        }
        for link, after in itertools.pairwise(chain):
            position = ids.index(link["asset_id"])
            assert f"{after['asset_id']} down" in str(cascade.cause[position])
    working = next(k for k in range(len(ids)) if cascade.functional[k])
    assert cascade_chain(cascade, kinds, working) == []
