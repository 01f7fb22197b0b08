"""Nowcast of river warnings: the flood impact at the observed or forecast stage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from factories import tiny_layers
from ops_support import seeded_service
from resilientcity.hazard.flood import flood_depth, river_flood_scenario
from resilientcity.impact.assess import scenario_impact
from resilientcity.network import edge_flood_depth, edge_state
from resilientcity.operations.models import LiveWarning, Observation, WarningRuleRow
from resilientcity.operations.nowcast import (
    live_road_state,
    mark_nowcasts,
    nowcast_for_stage,
    run_pending_nowcasts,
)
from resilientcity.operations.service import Service
from resilientcity.twin import DEM, City
from resilientcity.vulnerability.library import VulnerabilityLibrary
from resilientcity.warning import example_rules

T0 = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)


def flat_city(metadata: dict | None = None) -> City:
    """The tiny city on flat ground at 34 m, the hospital's cell raised to 45 m."""
    layers = tiny_layers()
    ground = np.full((10, 10), 34.0, dtype=np.float32)
    ground[5, 5] = 45.0  # under H1 at (500, 500)
    old = layers["dem"]
    layers["dem"] = DEM(ground, old.transform, old.crs)
    layers["metadata"] = metadata or {}
    return City(**layers)  # type: ignore[arg-type]


def test_nowcast_on_flat_ground_matches_a_hand_count():
    at = nowcast_for_stage(flat_city(), 36.0)
    # B1 (74 residents) and the substation stand in 2 m of water; the hospital is dry.
    assert at["buildings_flooded"] == 1
    assert at["people_at_risk"] == 74.0
    assert at["critical_facilities"] == [
        {"asset_id": "S1", "name": "Substation", "kind": "substation", "depth_m": 2.0}
    ]
    assert (at["stage_m"], at["dem_stage_m"], at["stage_source"]) == (36.0, 36.0, "observed")
    dry = nowcast_for_stage(flat_city(), 33.9)
    assert dry["buildings_flooded"] == dry["people_at_risk"] == 0
    # A DEM in another datum: the stage is shifted by the stated offset.
    shifted = nowcast_for_stage(flat_city({"stage_datum_offset_m": -1.0}), 36.0, "forecast")
    assert shifted["dem_stage_m"] == 35.0 and shifted["stage_source"] == "forecast"
    assert shifted["critical_facilities"][0]["depth_m"] == 1.0


def test_nowcast_totals_are_the_impact_engines(small_city):
    library = VulnerabilityLibrary.default()
    at = nowcast_for_stage(small_city, 37.0, library=library)
    direct = scenario_impact(
        "direct", small_city.assets, river_flood_scenario(small_city, 37.0), library
    )
    wet = direct.assets["intensity"].to_numpy() > 0
    buildings = (small_city.assets["kind"] == "building").to_numpy()
    residents = (small_city.assets["occupancy"] == "residential").to_numpy()
    assert at["buildings_flooded"] == int((wet & buildings).sum()) > 0
    assert at["people_at_risk"] == pytest.approx(
        small_city.assets["occupants"].to_numpy()[wet & residents].sum()
    )
    assert at["expected_displaced"] == pytest.approx(direct.totals["displaced"], abs=0.1)
    depths = [f["depth_m"] for f in at["critical_facilities"]]
    assert depths == sorted(depths, reverse=True) and all(d > 0 for d in depths)
    # The demo DEM and the rule thresholds share the Changsha station datum: no offset.
    assert "station datum" in small_city.metadata["vertical_datum"]
    assert at["dem_stage_m"] == at["stage_m"] == 37.0


@pytest.fixture
def service(db_url: str, small_city) -> Iterator[Service]:
    with seeded_service(db_url, small_city) as svc:
        svc.warning_hooks.append(mark_nowcasts)
        yield svc


def batch(stream: str, values: list[float], start: datetime) -> pd.DataFrame:
    times = [(start + timedelta(minutes=10 * i)).isoformat() for i in range(len(values))]
    return pd.DataFrame({"datastream": stream, "phenomenon_time": times, "result": values})


def test_forecast_warning_nowcast_pending_then_done(service: Service, small_city):
    gauge = "RG002:river_stage"
    later = T0 + timedelta(hours=8)
    service.ingest(batch(gauge, [35.0] * 12, T0), "test", now=later)
    service.ingest(batch(gauge, [35.7] * 6, T0 + timedelta(hours=2)), "test", now=later)
    with service.db.read() as session:
        warning = session.scalars(select(LiveWarning)).one()
        rule = example_rules()[warning.rule_id].forecast
        t = warning.updated_at
        points = session.execute(
            select(Observation.phenomenon_time, Observation.result).where(
                Observation.datastream_id == warning.datastream_id,
                Observation.phenomenon_time > t - timedelta(minutes=rule.window_min),
                Observation.phenomenon_time <= t,
            )
        ).all()
    assert (warning.reason, warning.nowcast_status) == ("forecast", "pending")
    x = np.array([(p - t).total_seconds() / 60 for p, _ in points])
    slope, intercept = np.polyfit(x, [v for _, v in points], 1)
    trend = intercept + slope * rule.horizon_h * 60
    level = example_rules()[warning.rule_id].thresholds.as_tuple()
    warned = dict(zip(("blue", "yellow", "orange", "red"), level, strict=True))[warning.level]
    # the warned level's stage, unless the trend itself stays below it; at least the observed
    expected = max(warning.value, min(trend, warned))

    assert run_pending_nowcasts(service.db, small_city, later) == 1
    assert run_pending_nowcasts(service.db, small_city, later) == 0
    with service.db.read() as session:
        warning = session.get(LiveWarning, warning.id)
    result = warning.nowcast
    assert warning.nowcast_status == "done"
    assert result["stage_source"] == "forecast"
    assert result["stage_unrounded_m"] == pytest.approx(expected)
    assert result["stage_m"] == round(expected, 1) != 35.7
    assert result == {
        **nowcast_for_stage(small_city, round(expected, 1), "forecast"),
        "stage_unrounded_m": result["stage_unrounded_m"],
        "computed_at": later.isoformat(),
    }


def test_threshold_warning_uses_the_observed_stage_and_failures_are_stored(
    service: Service, small_city
):
    with service.db.write() as session:
        row = session.get(WarningRuleRow, "xiang_river_stage_changsha")
        row.spec = {**row.spec, "rate": [], "forecast": None}
    later = T0 + timedelta(hours=8)
    service.ingest(batch("RG001:river_stage", [36.44] * 6, T0), "test", now=later)
    service.ingest(batch("RN001:rainfall_1h", [35.0] * 6, T0), "test", now=later)
    with service.db.read() as session:
        states = dict(
            session.execute(select(LiveWarning.rule_id, LiveWarning.nowcast_status)).all()
        )
    assert states == {"xiang_river_stage_changsha": "pending", "rainfall_1h": "none"}
    no_dem = City(**{**tiny_layers(), "dem": None})  # type: ignore[arg-type]
    assert run_pending_nowcasts(service.db, no_dem, later) == 1
    with service.db.read() as session:
        failed = session.scalars(
            select(LiveWarning).where(LiveWarning.nowcast_status != "none")
        ).one()
    assert failed.nowcast_status == "failed" and "dem" in failed.nowcast["error"].lower()

    with service.db.write() as session:
        session.get(LiveWarning, failed.id).nowcast_status = "pending"
    assert run_pending_nowcasts(service.db, small_city, later) == 1
    with service.db.read() as session:
        done = session.get(LiveWarning, failed.id)
    assert done.nowcast_status == "done"
    assert (done.nowcast["stage_source"], done.nowcast["stage_m"]) == ("observed", 36.4)


def test_live_roads_are_flooded_at_the_highest_active_river_stage(service: Service, small_city):
    with service.db.read() as session:
        intact, info = live_road_state(session, small_city)
    assert info == {"stage_m": None, "warning_ids": [], "closed_edges": 0}
    assert intact["open"].all()
    with service.db.write() as session:
        row = session.get(WarningRuleRow, "xiang_river_stage_changsha")
        row.spec = {**row.spec, "rate": [], "forecast": None}
    later = T0 + timedelta(hours=8)
    # issued at 38.5 m (orange), then the gauge reads 39.2 m, still orange: the roads flood at
    # the latest reading, not at the stage the warning changed at
    service.ingest(batch("RG001:river_stage", [38.5] * 6, T0), "test", now=later)
    service.ingest(batch("RG001:river_stage", [39.2], T0 + timedelta(hours=1)), "test", now=later)
    with service.db.read() as session:
        roads, info = live_road_state(session, small_city)
        warning = session.scalars(select(LiveWarning)).one()
    assert (warning.level, warning.value) == ("orange", 38.5)
    assert info["stage_m"] == 39.2 and info["warning_ids"] == [warning.id]
    depth = edge_flood_depth(small_city, flood_depth(small_city.dem, small_city.rivers, 39.2))
    expected = edge_state(small_city, depth)
    assert info["closed_edges"] == int((~expected["open"]).sum()) > 0
    pd.testing.assert_frame_equal(roads, expected)
    # a lifted warning leaves the roads intact again
    with service.db.write() as session:
        session.get(LiveWarning, warning.id).status = "lifted"
    with service.db.read() as session:
        assert live_road_state(session, small_city)[1]["stage_m"] is None
