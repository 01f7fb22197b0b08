"""The operations service on a user's twin (``serve --twin``): the Kouvola extract, region FI.

The scenario options come from the twin's own data and are checked by hand against the DEM
made by :func:`user_twin_support.kouvola_twin` (a plane from 70 m rising 0.5 m per 50 m cell
eastwards, a river along column 4): stage range = the lowest and highest cell, default = the
ground under the river + 3 m; the rainstorm range is that of the Finnish 6-hour rainfall table
(10–100 years, 6 h only). A twin without a DEM offers neither flood and says why.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_support import TestClient, auth
from resilientcity.api.app import create_app
from resilientcity.operations.access import create_token
from resilientcity.operations.service import Service, ServiceSettings
from resilientcity.twin import City
from user_twin_support import LOWEST_M, RIVER_COLUMN, SLOPE_M_PER_CELL, kouvola_twin


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kouvola_twin(tmp_path_factory.mktemp("kouvola"))


@pytest.fixture(scope="module")
def bare_twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extract as imported: no DEM, no river, no hospital."""
    return kouvola_twin(tmp_path_factory.mktemp("bare"), dem=False, facilities=False)


def _client(path: Path, folder: Path) -> Iterator[tuple[TestClient, dict[str, str], City]]:
    settings = ServiceSettings(db_url=f"sqlite:///{folder / 'ops.db'}", twin=path)
    service = Service(settings)
    city = City.read(path)
    try:
        with TestClient(create_app(service=service, city=city)) as client:
            with service.db.write() as session:
                token, _ = create_token(session, "test-analyst", "analyst")
            yield client, auth(token), city
    finally:
        service.db.dispose()


@pytest.fixture
def user(twin: Path, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], City]]:
    yield from _client(twin, tmp_path)


@pytest.fixture
def bare(bare_twin: Path, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], City]]:
    yield from _client(bare_twin, tmp_path)


def _wait_done(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = client.get(f"/api/scenarios/{job_id}", headers=headers).json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    pytest.fail(f"scenario run {job_id} did not finish within 120 s")


def test_options_come_from_the_twins_own_data(user) -> None:
    client, h, city = user
    assert client.get("/api/scenarios/options").status_code == 401
    options = client.get("/api/scenarios/options", headers=h).json()
    columns = city.dem.shape[1]
    highest = LOWEST_M + SLOPE_M_PER_CELL * (columns - 1)  # the easternmost column
    under_river = LOWEST_M + SLOPE_M_PER_CELL * RIVER_COLUMN
    hazards = options["hazards"]
    assert hazards["river_flood"]["stage_m"] == {
        "min": LOWEST_M,
        "max": highest,
        "default": under_river + 3.0,
    }
    # the Finnish table: 6-hour depths of 10 to 100 years (data/hazard/fi_rainfall_6h.json)
    assert hazards["rainstorm"]["return_period"] == {"min": 10.0, "max": 100.0, "default": 100.0}
    assert hazards["rainstorm"]["duration_h"] == {"min": 6.0, "max": 6.0, "default": 6.0}
    assert "Jokioinen" in hazards["rainstorm"]["source"]  # the station nearest to Kouvola
    lon, lat = city.centre_lonlat()
    quake = hazards["earthquake"]
    assert (quake["lon"], quake["lat"]) == (round(lon, 4), round(lat, 4))
    assert quake["vs30"] == "slope"
    track = hazards["typhoon"]["track"]
    assert track[1][:2] == [round(lon, 2), round(lat, 2)]  # the track crosses the centre
    assert track[0][0] > track[1][0] > track[2][0] and track[0][1] < track[1][1] < track[2][1]
    assert options["currency"] == "EUR" and options["city"] == "Kouvola"
    assert all(h["available"] for h in hazards.values())


def test_requests_outside_the_citys_range_are_refused_naming_it(user) -> None:
    client, h, city = user
    highest = LOWEST_M + SLOPE_M_PER_CELL * (city.dem.shape[1] - 1)
    high = client.post("/api/scenarios", json={"hazard": "river_flood", "stage_m": 200}, headers=h)
    assert high.status_code == 422
    detail = high.json()["detail"][0]
    assert detail["loc"] == ["body", "stage_m"]
    assert f"from {LOWEST_M:g} to {highest:g} m" in detail["msg"] and "Kouvola" in detail["msg"]
    rain = {"hazard": "rainstorm", "return_period": 50, "duration_h": 2}
    short = client.post("/api/scenarios", json=rain, headers=h)
    assert short.status_code == 422 and short.json()["detail"][0]["loc"] == ["body", "duration_h"]
    assert "6 h" in short.json()["detail"][0]["msg"]
    rare = client.post("/api/scenarios", json={**rain, "return_period": 500, "duration_h": 6},
                       headers=h)  # fmt: skip
    assert rare.status_code == 422 and "from 10 to 100 years" in rare.json()["detail"][0]["msg"]
    assert client.get("/api/scenarios", headers=h).json() == []


def test_a_river_flood_and_an_earthquake_run_on_the_user_twin(user) -> None:
    client, h, city = user
    options = client.get("/api/scenarios/options", headers=h).json()["hazards"]
    stage = options["river_flood"]["stage_m"]["default"]
    quake = options["earthquake"]
    requests = [
        {"hazard": "river_flood", "stage_m": stage},
        {"hazard": "earthquake", "magnitude": 6.0, "lon": quake["lon"], "lat": quake["lat"]},
        {"hazard": "rainstorm", "return_period": 100},  # the city's duration: 6 h
    ]
    for body in requests:
        posted = client.post("/api/scenarios", json=body, headers=h)
        assert posted.status_code == 202, posted.text
        state = _wait_done(client, posted.json()["id"], h)
        assert state["status"] == "done", state["error"]
        assert {"damage", "service_loss", "closed_roads"} <= set(state["result"]["layers"])
    assert state["name"] == "100-year 6-hour rainstorm"
    runs = client.app.state.scenario_jobs.jobs()
    assert all(r.scenario.city.path is not None for r in runs)
    # the twin's scenarios carry an assessment block without a table (no demo table)
    assert all(r.scenario.assessment is not None for r in runs)
    assert all(r.scenario.assessment.table is None for r in runs)  # type: ignore[union-attr]
    # the resilience tab: the latest run's assessment of the city's H3 cells
    resilience = client.get("/api/resilience", headers=h).json()
    assert resilience["available"] is True
    latest = client.app.state.scenario_jobs.latest_run()
    assert resilience["run"]["scenario_id"] == latest[0]
    cells = city.zones[(city.zones["zone_type"] == "h3") & (city.zones["population"] > 0)]
    assert {u["unit"] for u in resilience["units"]} == set(cells["zone_id"])
    assert resilience["city"]["maturity_level"] is None  # no maturity answers
    assessed = latest[1].summary["assessment"]["units"]
    scores = {u["unit"]: u["score"] for u in resilience["units"]}
    assert scores == pytest.approx({k: v["score"] for k, v in assessed.items()}, abs=5e-5)
    # the asset details give the city's currency
    asset = city.assets["asset_id"].iloc[0]
    assert client.get(f"/api/assets/{asset}", headers=h).json()["asset"]["currency"] == "EUR"
    assert client.get("/api/map/base").json()["currency"] == "EUR"


def test_the_resilience_tab_before_any_run_scores_the_twin_alone(bare) -> None:
    client, h, city = bare
    resilience = client.get("/api/resilience", headers=h).json()
    assert resilience["available"] is True and resilience["run"] is None
    assert len(resilience["units"]) >= 2
    assert {u["unit"] for u in resilience["units"]} <= set(city.zones["zone_id"])


def test_a_twin_without_dem_offers_no_flood_and_says_why(bare) -> None:
    client, h, _city = bare
    hazards = client.get("/api/scenarios/options", headers=h).json()["hazards"]
    assert {k: (v["available"], v.get("reason")) for k, v in hazards.items()} == {
        "river_flood": (False, "no_dem"),
        "rainstorm": (False, "no_dem"),
        "earthquake": (True, None),
        "typhoon": (True, None),
    }
    assert hazards["earthquake"]["vs30"] == 760.0  # the reference rock of BSSA14, no slope
    refused = client.post("/api/scenarios", json={"hazard": "river_flood", "stage_m": 80},
                          headers=h)  # fmt: skip
    assert refused.status_code == 422
    detail = refused.json()["detail"][0]
    assert detail["loc"] == ["body", "hazard"] and "(earthquake, typhoon)" in detail["msg"]
    assert "needs a DEM" in detail["msg"]
    # the store was seeded with the Finnish agencies and the Finnish plan templates
    agencies = {a["id"]: a["name_en"] for a in client.get("/api/agencies", headers=h).json()}
    assert agencies["emergency"].startswith("Pelastuslaitos")
    plans = client.get("/api/plans", headers=h).json()
    assert plans and all(p["id"].startswith("fi_") for p in plans)


def test_a_finnish_twin_watches_the_finnish_rules(user) -> None:
    client, h, _city = user
    rules = {r["id"]: r for r in client.get("/api/rules", headers=h).json()}
    assert set(rules) == {"fi_heavy_rain_1h", "fi_heavy_rain_24h", "fi_wind_gust_land"}
    assert all(r["enabled"] for r in rules.values())
