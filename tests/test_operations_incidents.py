"""Incidents: public reports (validation, rate limit, de-duplication), sensors, triage, dispatch."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from ops_support import seeded_service
from resilientcity.decision.dispatch import rescue_stations
from resilientcity.errors import ValidationError
from resilientcity.operations.access import Principal, authenticate, create_token
from resilientcity.operations.incident_dispatch import dispatch_incidents
from resilientcity.operations.incidents import (
    DUPLICATE_RADIUS_M,
    RateLimited,
    city_bounds,
    incident_by_id,
    incidents,
    report_incident,
    sensor_incidents,
    triage_incident,
)
from resilientcity.operations.models import AuditEntry, Incident, Sensor
from resilientcity.operations.response import Conflict, Forbidden, NotFound
from resilientcity.operations.service import Service

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
KEY = hashlib.sha256(b"203.0.113.7").hexdigest()
#: Metres per degree of latitude (mean Earth radius).
M_PER_DEG = 6_371_008.8 * np.pi / 180


@pytest.fixture
def service(db_url: str, small_city) -> Iterator[Service]:
    with seeded_service(db_url, small_city) as svc:
        svc.warning_hooks.append(sensor_incidents)
        yield svc


@pytest.fixture(scope="module")
def places(small_city) -> pd.DataFrame:
    """WGS84 points of the small city's buildings."""
    b = small_city.assets[small_city.assets["kind"] == "building"].geometry.centroid.to_crs(4326)
    return pd.DataFrame({"lon": b.x.to_numpy(), "lat": b.y.to_numpy()})


def principal(service: Service, name: str, role: str, agency: str | None = None) -> Principal:
    with service.db.write() as session:
        token, _ = create_token(session, name, role, agency)
        found = authenticate(session, token)
    assert found is not None
    return found


def report(service, bounds, now=T0, key=KEY, limit=20, **fields):
    body = {"category": "flooding", "description": "water", "people": 3, **fields}
    with service.db.write() as session:
        incident = report_incident(session, body, key, now, bounds, limit)
        return incident.id, incident.status, incident.duplicate_of


def test_city_bounds_hold_the_small_city(small_city):
    lon0, lat0, lon1, lat1 = city_bounds(small_city)
    assert 112.9 < lon0 < lon1 < 113.05 and 28.1 < lat0 < lat1 < 28.3  # Changsha


def test_each_bad_field_is_named(service: Service, small_city):
    bounds = city_bounds(small_city)
    body = {
        "category": "meteor",
        "description": "x" * 2001,
        "lon": 121.47,
        "lat": None,
        "people": -1,
        "phone": "123",
    }
    with service.db.write() as session, pytest.raises(ValidationError) as caught:
        report_incident(session, body, KEY, T0, bounds, 20)
    problems = {p.column: p for p in caught.value.problems}
    assert set(problems) == {"category", "description", "lon", "lat", "people", "phone"}
    assert f"{bounds[0]:.5f} to {bounds[2]:.5f}" in problems["lon"].expected
    assert "2001 characters" in problems["description"].found
    with service.db.write() as session, pytest.raises(ValidationError, match="people"):
        report_incident(
            session,
            {"category": "fire", "lon": bounds[0], "lat": bounds[1], "people": True},
            KEY,
            T0,
            bounds,
            20,
        )


def test_rate_limit_counts_the_last_hour(service: Service, small_city, places):
    bounds = city_bounds(small_city)
    for k in range(3):
        p = places.iloc[k * 500]
        report(service, bounds, T0 + timedelta(minutes=k), limit=3, lon=p.lon, lat=p.lat)
    p = places.iloc[2000]
    with pytest.raises(RateLimited) as caught:
        report(service, bounds, T0 + timedelta(minutes=10), limit=3, lon=p.lon, lat=p.lat)
    assert caught.value.retry_after_s == 50 * 60  # the first report leaves the window at 09:00
    other = hashlib.sha256(b"198.51.100.1").hexdigest()
    report(service, bounds, T0 + timedelta(minutes=10), key=other, limit=3, lon=p.lon, lat=p.lat)
    report(service, bounds, T0 + timedelta(minutes=61), limit=3, lon=p.lon, lat=p.lat)


def test_reports_close_in_place_and_time_are_duplicates(service: Service, small_city, places):
    bounds = city_bounds(small_city)
    lon, lat = float(places.lon.iloc[100]), float(places.lat.iloc[100])
    step = 100 / M_PER_DEG  # 100 m north
    first, status, _ = report(service, bounds, lon=lon, lat=lat)
    assert status == "new"
    near = report(service, bounds, T0 + timedelta(minutes=30), lon=lon, lat=lat + step)
    assert near[1:] == ("duplicate", first)
    # Another category, farther than the radius, or later than the window: new incidents.
    assert report(service, bounds, category="fire", lon=lon, lat=lat)[1] == "new"
    far = (DUPLICATE_RADIUS_M + 50) / M_PER_DEG
    assert report(service, bounds, lon=lon, lat=lat + far)[1] == "new"
    late = report(service, bounds, T0 + timedelta(hours=2, minutes=1), lon=lon, lat=lat)
    assert late[1] == "new"
    with service.db.read() as session:
        assert session.get(Incident, first).reports == 2
        assert session.get(Incident, late[0]).reports == 1
        assert (
            session.scalars(select(AuditEntry.role).where(AuditEntry.action == "report")).all()
            == ["public"] * 5
        )


def test_orange_and_red_warnings_open_one_incident_per_sensor(service: Service):
    def depth(values, start):
        times = [(start + timedelta(minutes=i)).isoformat() for i in range(len(values))]
        return pd.DataFrame(
            {
                "datastream": "UP001:underpass_water_depth",
                "phenomenon_time": times,
                "result": values,
            }
        )

    service.ingest(depth([0.2] * 10, T0), "test", now=T0 + timedelta(hours=1))  # yellow only
    with service.db.read() as session:
        assert session.scalars(select(Incident)).all() == []
    service.ingest(
        depth([0.3] * 10, T0 + timedelta(minutes=10)), "test", now=T0 + timedelta(hours=1)
    )
    service.ingest(
        depth([0.6] * 10, T0 + timedelta(minutes=20)), "test", now=T0 + timedelta(hours=1)
    )
    with service.db.read() as session:
        incident = session.scalars(select(Incident)).one()
        sensor = session.scalars(select(Sensor).where(Sensor.name == "UP001")).one()
    assert (incident.source, incident.category, incident.status) == (
        "sensor",
        "waterlogging",
        "new",
    )
    assert (incident.lon, incident.lat) == (sensor.lon, sensor.lat)
    assert incident.reports == 2  # opened at orange, updated at red
    assert "orange" in incident.description and "red" in incident.description


def test_triage_rules(service: Service, small_city, places):
    bounds = city_bounds(small_city)
    incident_id = report(service, bounds, lon=places.lon.iloc[0], lat=places.lat.iloc[0])[0]
    operator = principal(service, "op", "operator", "fire_rescue")
    analyst = principal(service, "an", "analyst")
    with service.db.write() as session, pytest.raises(Forbidden):
        triage_incident(session, incident_id, analyst, "triaged", now=T0)
    with service.db.write() as session, pytest.raises(ValidationError) as caught:
        triage_incident(session, incident_id, operator, "dispatched", -1.0, "nobody", now=T0)
    assert {p.column for p in caught.value.problems} == {"status", "priority", "agency"}
    with service.db.write() as session:
        done = triage_incident(session, incident_id, operator, "triaged", 5.0, "fire_rescue", T0)
        assert (done.status, done.priority, done.agency_id) == ("triaged", 5.0, "fire_rescue")
    with service.db.write() as session:
        triage_incident(session, incident_id, operator, "resolved", now=T0)
    with service.db.write() as session, pytest.raises(Conflict, match="resolved"):
        triage_incident(session, incident_id, operator, "triaged", now=T0)


def test_dispatch_on_the_small_demo_city(service: Service, small_city, places):
    bounds = city_bounds(small_city)
    operator = principal(service, "op", "operator", "fire_rescue")
    stations = rescue_stations(small_city, 1, 1)
    jobs = len(stations)  # one team, one job each
    picks = np.linspace(0, len(places) - 1, jobs + 2).astype(int)
    ids = []
    for k in picks:
        p = places.iloc[k]
        ids.append(
            report(service, bounds, key=str(k), lon=p.lon, lat=p.lat, category="trapped_people")[0]
        )
    with service.db.write() as session:
        for k, incident_id in enumerate(ids):
            triage_incident(session, incident_id, operator, "triaged", float(100 - k), now=T0)
    with service.db.write() as session:
        summary = dispatch_incidents(session, small_city, operator, T0, 1, 1)
    assert (summary["planned"], summary["served"], summary["unserved"]) == (jobs + 2, jobs, 2)
    assert summary["mean_response_min"] > 0
    # no active river warning: planned on the intact roads
    assert summary["roads"] == {"stage_m": None, "warning_ids": [], "closed_edges": 0}
    with service.db.read() as session:
        rows = {i.id: i for i in session.scalars(select(Incident))}
    served = [rows[i] for i in ids if rows[i].status == "dispatched"]
    waiting = [rows[i] for i in ids if rows[i].status == "triaged"]
    assert len(served) == jobs and len(waiting) == 2
    used = [s["station_id"] for i in served for s in i.dispatch["stations"]]
    assert sorted(used) == sorted(stations["station_id"])  # every team once
    assert all(i.dispatch["response_min"] >= 0 and i.dispatch["teams"] == 1 for i in served)
    # The highest priorities (the first incidents) are served first.
    assert {i.id for i in waiting} <= set(ids[-4:])
    assert {i.dispatch["reason"] for i in waiting} == {"all_teams_busy"}

    # Teams already sent stay on their incidents: a second run has no team left.
    with service.db.write() as session:
        again = dispatch_incidents(session, small_city, operator, T0 + timedelta(minutes=5), 1, 1)
    assert (again["planned"], again["served"]) == (2, 0)
    # With more teams per station the waiting incidents are served.
    with service.db.write() as session:
        more = dispatch_incidents(session, small_city, operator, T0 + timedelta(minutes=6), 2, 1)
    assert (more["planned"], more["served"]) == (2, 2)
    with service.db.read() as session:
        audit = session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "dispatch")
        ).all()
    assert [d["served"] for d in audit] == [jobs, 0, 2]


def test_two_reports_at_once_cannot_both_take_the_last_place(service: Service, small_city, places):
    # The first report's transaction is still open when the second arrives: the second must
    # wait for it and count it (on PostgreSQL both used to see one free place and pass).
    bounds = city_bounds(small_city)
    first, second = places.iloc[0], places.iloc[1000]
    outcome: list[object] = []

    def second_report() -> None:
        try:
            outcome.append(report(service, bounds, T0, limit=1, lon=second.lon, lat=second.lat))
        except RateLimited as exc:
            outcome.append(exc)

    body = {"category": "flooding", "people": 1, "lon": first.lon, "lat": first.lat}
    with service.db.write() as session:
        report_incident(session, body, KEY, T0, bounds, 1)
        racer = threading.Thread(target=second_report)
        racer.start()
        racer.join(1.0)
        assert racer.is_alive(), "the second report did not wait for the first"
    racer.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], RateLimited)
    with service.db.read() as session:
        stored = session.scalars(select(Incident).where(Incident.client_key == KEY)).all()
    assert len(stored) == 1


def test_incident_reads_filter_newest_first(service: Service, small_city, places):
    bounds = city_bounds(small_city)
    at = [(float(places.lon.iloc[i]), float(places.lat.iloc[i])) for i in (10, 200, 400)]
    first = report(service, bounds, lon=at[0][0], lat=at[0][1])[0]
    fire = report(
        service, bounds, T0 + timedelta(hours=1), category="fire", lon=at[1][0], lat=at[1][1]
    )[0]
    last = report(service, bounds, T0 + timedelta(hours=2), lon=at[2][0], lat=at[2][1])[0]
    admin = principal(service, "admin", "admin")
    with service.db.write() as session:
        triage_incident(session, first, admin, status="triaged", now=T0)
    with service.db.read() as session:
        assert [i.id for i in incidents(session)] == [last, fire, first]
        assert [i.id for i in incidents(session, category="flooding")] == [last, first]
        assert [i.id for i in incidents(session, status="triaged")] == [first]
        assert [i.id for i in incidents(session, since=T0 + timedelta(hours=1))] == [last, fire]
        assert [i.id for i in incidents(session, "new", "flooding", T0)] == [last]
        assert [i.id for i in incidents(session, limit=1)] == [last]
        assert incident_by_id(session, fire).category == "fire"
        with pytest.raises(NotFound, match=f"no incident {last + 1}"):
            incident_by_id(session, last + 1)
