"""The warning rules a store is seeded with come from the city's region, or the user's file.

A Finnish twin (the Kouvola extract, region FI, with a rain gauge and a wind gauge added) gets
the Finnish Meteorological Institute's limits (data/warning/fi_rules.yaml), never the Chinese
rules of the demo; the demo city keeps its example rules; a region without packaged rules
(DE) seeds none and the log says so; ``settings.rules`` (``serve --rules``) seeds the user's.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import select

from api_support import TestClient
from resilientcity.api.app import create_app, prepare_store
from resilientcity.errors import DataFileError, ValidationError
from resilientcity.operations.models import LiveWarning, WarningRuleRow
from resilientcity.operations.seed import region_rules
from resilientcity.operations.service import Service, ServiceSettings
from resilientcity.region import region_profile
from resilientcity.twin import City
from resilientcity.warning import example_rules, packaged_rules

T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
FI_RULES = {"fi_heavy_rain_1h", "fi_heavy_rain_24h", "fi_wind_gust_land"}


def _with_gauges(city: City) -> City:
    """``city`` with a rain gauge and a wind gauge at the centre of its buildings."""
    centre = city.assets.geometry.union_all().centroid
    sensors = gpd.GeoDataFrame(
        {
            "sensor_id": ["FI-RG1", "FI-WG1"],
            "kind": ["rain_gauge", "wind_gauge"],
            "observed_property": ["rainfall_1h", "wind_speed"],
            "unit": ["mm", "m/s"],
            "asset_id": ["", ""],
            "name": ["rain gauge", "wind gauge"],
        },
        geometry=[centre, centre],
        crs=city.assets.crs,
    )
    return dataclasses.replace(city, sensors=sensors)


@pytest.fixture(scope="module")
def kouvola() -> City:
    pyrosm = pytest.importorskip("pyrosm")
    from resilientcity.twin.osm import import_osm

    city = import_osm(pyrosm.get_data("test_pbf"), region="FI", name="Kouvola")
    return _with_gauges(city)


def _in_region(city: City, spec: str) -> City:
    return dataclasses.replace(
        city, metadata={**city.metadata, "region": region_profile(spec).summary()}
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Service]:
    service = Service(ServiceSettings(db_url=f"sqlite:///{tmp_path / 'ops.db'}"))
    try:
        yield service
    finally:
        service.db.dispose()


def _rule_ids(service: Service) -> set[str]:
    with service.db.read() as session:
        return set(session.scalars(select(WarningRuleRow.id)))


def _levels(service: Service) -> dict[str, str]:
    with service.db.read() as session:
        return {w.rule_id: w.level for w in session.scalars(select(LiveWarning))}


def _ingest(service: Service, stream: str, values: list[float]) -> None:
    times = [(T0 + timedelta(minutes=10 * i)).isoformat() for i in range(len(values))]
    frame = pd.DataFrame({"datastream": stream, "phenomenon_time": times, "result": values})
    result = service.ingest(frame, "test", now=T0 + timedelta(hours=2))
    assert result.stored == len(values)


def test_a_finnish_twin_gets_the_finnish_rules_and_their_levels(kouvola, store, caplog):
    with caplog.at_level(logging.INFO, logger="resilientcity.api.app"):
        prepare_store(store, kouvola)
    assert _rule_ids(store) == FI_RULES  # not one of the Chinese rules
    assert not _rule_ids(store) & set(example_rules())
    assert "3 from data/warning/fi_rules.yaml, the rules of the region FI" in caplog.text
    # 32 mm in an hour: past FMI's orange limit (30 mm/h), below red (45 mm/h)
    _ingest(store, "FI-RG1:rainfall_1h", [5.0, 32.0])
    assert _levels(store) == {"fi_heavy_rain_1h": "orange"}
    # 20 m/s gusts: FMI's yellow limit on land (winter limits, 20/25/30 m/s)
    _ingest(store, "FI-WG1:wind_speed", [12.0, 20.0])
    assert _levels(store) == {"fi_heavy_rain_1h": "orange", "fi_wind_gust_land": "yellow"}


def test_the_finnish_limits_are_fmis_and_never_blue() -> None:
    rules = packaged_rules("fi_rules.yaml")
    assert set(rules) == FI_RULES
    limits = {rid: r.thresholds.as_tuple() for rid, r in rules.items()}
    assert limits == {
        "fi_heavy_rain_1h": (None, 20.0, 30.0, 45.0),
        "fi_heavy_rain_24h": (None, 50.0, 70.0, 120.0),
        "fi_wind_gust_land": (None, 20.0, 25.0, 30.0),
    }
    hourly = rules["fi_heavy_rain_1h"]
    assert [hourly.level_of(v) for v in (19.9, 20.0, 44.9, 45.0)] == [
        "none", "yellow", "orange", "red"
    ]  # fmt: skip
    assert all("ilmatieteenlaitos.fi" in r.source for r in rules.values())
    assert all("Assumption" in r.source for r in rules.values())


def test_the_demo_city_keeps_its_example_rules(small_city, store) -> None:
    prepare_store(store, small_city)
    assert _rule_ids(store) == set(example_rules())
    with store.db.read() as session:
        specs = {r.id: r.spec for r in session.scalars(select(WarningRuleRow))}
    assert specs == {rid: r.model_dump(mode="json") for rid, r in example_rules().items()}


def test_a_region_without_rules_seeds_none_and_says_so(kouvola, store, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="resilientcity.api.app"):
        prepare_store(store, _in_region(kouvola, "DE"))
    assert _rule_ids(store) == set()
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1
    assert warned[0].getMessage() == (
        "warning rules: none seeded: the region DE has no packaged warning rules; give them "
        "with `resilientcity serve --rules FILE`"
    )
    # the sensors are there and store observations; nothing warns
    _ingest(store, "FI-RG1:rainfall_1h", [80.0, 90.0])
    assert _levels(store) == {}


RULE_FILE = """
rules:
  - id: kymijoki_stage
    observed_property: river_stage
    unit: m
    thresholds: {yellow: 51.0, orange: 52.0}
    source: "assumption: a test's"
"""


def test_the_users_rule_file_is_seeded_instead(kouvola, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE_FILE, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    service = Service(ServiceSettings(db_url=url, rules=rules))
    try:
        prepare_store(service, kouvola)
        assert _rule_ids(service) == {"kymijoki_stage"}
    finally:
        service.db.dispose()
    # a store seeded before (the Finnish rules) gets the file's rules added at the next start
    first = Service(ServiceSettings(db_url=f"sqlite:///{tmp_path / 'other.db'}"))
    try:
        prepare_store(first, kouvola)
    finally:
        first.db.dispose()
    again = Service(ServiceSettings(db_url=f"sqlite:///{tmp_path / 'other.db'}", rules=rules))
    try:
        prepare_store(again, kouvola)
        assert _rule_ids(again) == FI_RULES | {"kymijoki_stage"}
    finally:
        again.db.dispose()


def test_a_bad_or_missing_rule_file_is_named(kouvola, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: x\n    unit: m\n", encoding="utf-8")
    service = Service(ServiceSettings(db_url=f"sqlite:///{tmp_path / 'ops.db'}", rules=rules))
    try:
        with pytest.raises(ValidationError) as err:
            prepare_store(service, kouvola)
        assert {(p.layer, p.column) for p in err.value.problems} >= {
            ("rules.yaml", "rules[0].observed_property"),
            ("rules.yaml", "rules[0].thresholds"),
        }
        assert _rule_ids(service) == set()  # nothing seeded: the store is left empty
    finally:
        service.db.dispose()
    with pytest.raises(DataFileError, match=r"absent\.yaml"):
        region_rules(region_profile("FI"), tmp_path / "absent.yaml")


def test_an_unknown_packaged_rule_file_lists_the_packaged_ones() -> None:
    with pytest.raises(DataFileError, match=r"'nope\.yaml'.*example_rules\.yaml.*fi_rules\.yaml"):
        packaged_rules("nope.yaml")


@pytest.mark.parametrize(("region", "rules"), [("FI", 3), ("DE", 0)])
def test_health_says_how_many_rules_watch_the_city(kouvola, store, region, rules) -> None:
    with TestClient(create_app(service=store, city=_in_region(kouvola, region))) as client:
        health = client.get("/healthz").json()  # public: the page shows "no rules" from it
    assert (health["sensors"], health["rules"]) == (2, rules)
