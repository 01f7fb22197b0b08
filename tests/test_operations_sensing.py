"""Things, datastreams and observations read within reach and added by admins; the quarantine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from ops_support import seeded_service
from resilientcity.errors import ValidationError
from resilientcity.operations.access import Principal, authenticate, create_token
from resilientcity.operations.ingest import quarantine_counts, quarantined
from resilientcity.operations.models import AuditEntry, DataGrant, Datastream, Sensor
from resilientcity.operations.response import Conflict, Forbidden, NotFound
from resilientcity.operations.sensing import (
    add_datastream,
    add_thing,
    datastream_in_reach,
    datastreams_page,
    observations_of,
    thing_in_reach,
    things_page,
)
from resilientcity.operations.service import Service

T0 = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
STAGE = "RG002:river_stage"  # water_resources
ADMIN = Principal(1, "admin", "admin")
ANALYST = Principal(2, "analyst", "analyst")
WATER = Principal(3, "op-wr", "operator", "water_resources")
TRANSPORT = Principal(4, "op-tr", "operator", "transport")


@pytest.fixture
def service(db_url: str, small_city) -> Iterator[Service]:
    with seeded_service(db_url, small_city) as svc:
        yield svc


def stage(service: Service) -> Datastream:
    with service.db.read() as session:
        return session.scalars(select(Datastream).where(Datastream.name == STAGE)).one()


def test_readers_see_their_agencys_things_and_datastreams(service: Service):
    with service.db.read() as session:
        everything = session.scalars(select(Datastream.id)).all()
        total, sensors, streams = things_page(session, ANALYST, 0, 1000)
        assert total == len(sensors) == session.query(Sensor).count()
        assert sum(len(s) for s in streams.values()) == len(everything)
        total, sensors, streams = things_page(session, TRANSPORT, 0, 1000)
        assert total == len(sensors) > 0 and {s.agency_id for s in sensors} == {"transport"}
        assert all(streams[s.id] for s in sensors)
        total, page, _ = things_page(session, ANALYST, 2, 3)
        assert total > 5 and [s.id for s in page] == sorted(s.id for s in page) and len(page) == 3
        total, rows = datastreams_page(session, TRANSPORT, 0, 1000)
        assert total == len(rows) and {d.sensor.agency_id for d in rows} == {"transport"}
        assert datastreams_page(session, ADMIN, 0, 1)[0] == len(everything)


def test_another_agencys_datastream_is_forbidden_until_granted(service: Service):
    gauge = stage(service)
    with service.db.read() as session:
        assert datastream_in_reach(session, WATER, gauge.id).name == STAGE
        with pytest.raises(Forbidden, match=r"belongs to agency water_resources.*grant"):
            datastream_in_reach(session, TRANSPORT, gauge.id)
        with pytest.raises(Forbidden, match="data grant from water_resources"):
            thing_in_reach(session, TRANSPORT, gauge.sensor_id)
        with pytest.raises(Forbidden):
            observations_of(session, TRANSPORT, gauge.id)
        with pytest.raises(NotFound, match=r"no datastream with @iot\.id 999999"):
            datastream_in_reach(session, ADMIN, 999_999)
        with pytest.raises(NotFound, match=r"no thing with @iot\.id 999999"):
            thing_in_reach(session, ADMIN, 999_999)
    with service.db.write() as session:
        session.add(
            DataGrant(
                owner_agency_id="water_resources",
                grantee_agency_id="transport",
                datastream_id=gauge.id,
            )
        )
    with service.db.read() as session:
        assert datastream_in_reach(session, TRANSPORT, gauge.id).id == gauge.id
        sensor, streams = thing_in_reach(session, TRANSPORT, gauge.sensor_id)
        assert sensor.id == gauge.sensor_id and streams == [(gauge.id, STAGE)]


def test_observations_newest_first_within_a_time_window(service: Service):
    times = [(T0 + timedelta(minutes=10 * i)).isoformat() for i in range(6)]
    frame = pd.DataFrame({"datastream": STAGE, "phenomenon_time": times, "result": 30.0})
    assert service.ingest(frame, "test", now=T0 + timedelta(hours=2)).stored == 6
    gauge = stage(service).id
    with service.db.read() as session:
        every = [o.phenomenon_time for o in observations_of(session, WATER, gauge)]
        assert every == sorted(every, reverse=True) and len(every) == 6
        window = observations_of(
            session, WATER, gauge, T0 + timedelta(minutes=10), T0 + timedelta(minutes=40)
        )
        assert [o.phenomenon_time for o in window] == every[2:5]
        page = observations_of(session, WATER, gauge, skip=1, limit=2)
        assert [o.phenomenon_time for o in page] == every[1:3]


def test_admin_adds_things_and_datastreams_once(service: Service):
    with service.db.write() as session:
        token, _ = create_token(session, "admin", "admin")
        admin = authenticate(session, token)
    assert admin is not None
    with service.db.write() as session:
        thing = add_thing(session, admin, name="RG900", kind="river_gauge", agency="emergency")
        thing_id = thing.id
    with service.db.write() as session, pytest.raises(Conflict, match="a thing named RG900"):
        add_thing(session, admin, name="RG900", kind="river_gauge", agency="emergency")
    with service.db.write() as session, pytest.raises(ValidationError) as caught:
        add_thing(session, admin, name="RG901", kind="river_gauge", agency="nobody")
    assert caught.value.problems[0].column == "agency"
    assert "water_resources" in caught.value.problems[0].expected
    spec = {"observed_property": "river_stage", "unit": "m", "min_value": 0.0, "max_value": 9.0}
    with service.db.write() as session:
        made = add_datastream(session, admin, thing_id=thing_id, **spec)
        assert made.name == "RG900:river_stage"
    with service.db.write() as session, pytest.raises(Conflict, match="one datastream per thing"):
        add_datastream(session, admin, thing_id=thing_id, name="other", **spec)
    with service.db.write() as session, pytest.raises(Conflict, match="RG900:river_stage exists"):
        add_datastream(
            session,
            admin,
            thing_id=thing_id,
            name="RG900:river_stage",
            **spec | {"observed_property": "rainfall_1h"},
        )
    with service.db.write() as session, pytest.raises(ValidationError, match="thing"):
        add_datastream(session, admin, thing_id=999_999, **spec)
    with service.db.read() as session:
        audited = session.execute(
            select(AuditEntry.entity, AuditEntry.detail).where(AuditEntry.action == "create")
        ).all()
    assert [(e, d["name"]) for e, d in audited] == [
        ("thing", "RG900"),
        ("datastream", "RG900:river_stage"),
    ]


def test_quarantine_newest_first_and_counted_by_reason(service: Service):
    frame = pd.DataFrame(
        {
            "datastream": [STAGE, STAGE, "nowhere:river_stage"],
            "phenomenon_time": [T0.isoformat(), "yesterday", T0.isoformat()],
            "result": [1e9, 30.0, 30.0],
        }
    )
    result = service.ingest(frame, "test", now=T0 + timedelta(hours=1))
    assert sum(result.rejected.values()) == 3
    with service.db.read() as session:
        counts = quarantine_counts(session)
        assert counts == dict(sorted(result.rejected.items()))
        rows = quarantined(session)
        assert [q.id for q in rows] == sorted((q.id for q in rows), reverse=True)
        reason = next(iter(counts))
        assert {q.reason for q in quarantined(session, reason)} == {reason}
        assert [q.id for q in quarantined(session, offset=1, limit=1)] == [rows[1].id]
