"""The operations centre's backend: page and static files, base and live maps, scenario runs
over HTTP, asset details with the cascade chain, resilience scores."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from api_support import TestClient, api_service, auth, client, observations, tokens
from ops_support import postgres_database
from resilientcity.api.app import create_app
from resilientcity.api.static_files import maplibre_dist, maplibre_version, static_folder
from resilientcity.operations.access import create_token
from resilientcity.operations.service import Service, ServiceSettings

__all__ = ["api_service", "client", "tokens"]

STAGE = "RG002:river_stage"
#: Ten-minute river stages rising past the orange threshold.
RISE = [34.0] * 6 + [36.5] * 6 + [39.0] * 6
LAYERS = {"zones", "rivers", "roads", "buildings", "facilities", "sensors"}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """These endpoints read the store like the others: SQLite here, PostgreSQL in one test."""
    return f"sqlite:///{tmp_path / 'ops.db'}"


@pytest.fixture
def api_app(api_service: Service, small_city: Any) -> FastAPI:
    """The application with the operations centre installed."""
    return create_app(service=api_service, city=small_city)


def _post_rise(client: TestClient, token: str) -> None:
    posted = client.post(
        "/v1.1/CreateObservations", json=[observations(STAGE, RISE)], headers=auth(token)
    )
    assert posted.status_code == 201, posted.text


def _stream(live: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    sensor = next(s for s in live["sensors"] if s["name"] == name.split(":")[0])
    return sensor, next(d for d in sensor["datastreams"] if d["name"] == name)


def test_page_and_static_files(client):
    import plotly

    versioned = f"/static/vendor/plotly-{plotly.__version__}.min.js"
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache" and "{{" not in page.text
    assert f'<meta name="rc-plotly" content="{versioned}">' in page.text
    plotly_js = client.get(versioned)
    assert plotly_js.status_code == 200 and "javascript" in plotly_js.headers["content-type"]
    assert "immutable" in plotly_js.headers["cache-control"]
    assert len(plotly_js.content) > 1_000_000 and b"plotly" in plotly_js.content[:2000].lower()
    assert client.get("/static/vendor/plotly-0.0.1.min.js").status_code == 404
    # the page's own files are revalidated by ETag: a reload costs a 304 without a body
    app_js = client.get("/static/app.js")
    assert app_js.headers["cache-control"] == "no-cache"
    again = client.get("/static/app.js", headers={"If-None-Match": app_js.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/static/no-such-file.js").status_code == 404
    # every module of the page is preloaded (no request waterfall through the imports)
    for module in sorted((static_folder()).glob("*.js")):
        assert f'<link rel="modulepreload" href="/static/{module.name}">' in page.text, module


def test_maplibre_is_served_from_its_npm_package(client):
    version = maplibre_version()
    if version is None:
        page = client.get("/").text
        assert '<meta name="rc-maplibre" content="">' in page
        missing = client.get("/static/vendor/maplibre-gl-6.20.0/maplibre-gl.mjs")
        assert missing.status_code == 404 and "make setup" in missing.json()["detail"]
        if os.environ.get("CI") == "true":
            pytest.fail("MapLibre GL JS is not installed: `make setup` runs npm ci")
        pytest.skip("MapLibre GL JS is not installed (make setup)")
    folder = f"/static/vendor/maplibre-gl-{version}/"
    page = client.get("/").text
    assert f'<meta name="rc-maplibre" content="{folder}maplibre-gl.mjs">' in page
    assert f'<link rel="modulepreload" href="{folder}maplibre-gl.mjs">' in page
    for name in ("maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"):
        answer = client.get(folder + name + "?v=" + version)
        assert answer.status_code == 200, name
        assert "immutable" in answer.headers["cache-control"]
        assert answer.content == (maplibre_dist() / name).read_bytes()
    # another version, or a file the page does not use, is not served
    assert client.get("/static/vendor/maplibre-gl-0.1.0/maplibre-gl.mjs").status_code == 404
    assert client.get(folder + "maplibre-gl.mjs.map").status_code == 404
    assert client.get(folder + "../package.json").status_code == 404


def _coordinates(geometry: dict[str, Any]) -> list[list[float]]:
    if geometry["type"] == "Point":
        return [geometry["coordinates"]]
    return [c for line in geometry["coordinates"] for c in line]


def test_base_map_contract(client, small_city):
    raw = client.get("/api/map/base", headers={"Accept-Encoding": "identity"})
    assert raw.status_code == 200 and "content-encoding" not in raw.headers
    zipped = client.get("/api/map/base", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.content == raw.content
    assert zipped.num_bytes_downloaded < len(raw.content) / 3
    body = raw.json()
    assert set(body) == {
        "crs", "currency", "bounds", "aggregated", "layers", "districts", "to_lonlat", "features"
    }  # fmt: skip
    assert body["currency"] == "CNY"  # the demo city's regional profile
    assert body["crs"] == small_city.crs.to_string() and body["aggregated"] is False
    west, south, east, north = body["bounds"]
    assert 100 < west < east < 120 and 20 < south < north < 35  # the demo city is in Hunan
    features = body["features"]["features"]
    assert {f["properties"]["layer"] for f in features} == LAYERS
    for feature in features:
        for lon, lat in _coordinates(feature["geometry"]):
            assert west - 0.01 <= lon <= east + 0.01 and south - 0.01 <= lat <= north + 0.01
            assert round(lon, 5) == lon and round(lat, 5) == lat
    # every asset once, at its place (within the rounding of 1e-5 degrees)
    assets = small_city.assets
    drawn = {
        f["properties"]["id"]: f["geometry"]["coordinates"]
        for f in features
        if f["properties"]["layer"] in ("buildings", "facilities")
    }
    assert len(drawn) == len(assets) and set(drawn) == set(assets["asset_id"].astype(str))
    hospital = assets[assets["kind"] == "hospital"].iloc[0]
    lon, lat = _lonlat(small_city, hospital.geometry.x, hospital.geometry.y)
    assert drawn[str(hospital["asset_id"])] == pytest.approx([lon, lat], abs=6e-6)
    # districts with their names in both languages
    districts = {d["id"]: d for d in body["districts"]}
    zones = small_city.zones[small_city.zones["zone_type"] == "district"]
    assert set(districts) == set(zones["zone_id"].astype(str))
    assert districts["430104"]["name_zh"] == "岳麓区" and districts["430104"]["name_en"] == "Yuelu"
    # the fit from the twin's x/y to lon/lat is good to well under a metre
    fit = body["to_lonlat"]
    assert fit["max_error_m"] < 0.5
    u = (hospital.geometry.x - fit["x0"]) / fit["scale"]
    v = (hospital.geometry.y - fit["y0"]) / fit["scale"]
    terms = [1, u, v, u * u, u * v, v * v]
    fitted = [sum(c * t for c, t in zip(fit[k], terms, strict=True)) for k in ("lon", "lat")]
    assert fitted == pytest.approx([lon, lat], abs=1e-5)


def test_aggregated_cells_and_their_counts(client, small_city):
    """Above the building limit the map draws cells; a cell's counts add up to the city's."""
    from resilientcity.web.map_layers import base_geojson

    body = base_geojson(small_city, max_buildings=1000)
    assert body["aggregated"] is True
    cells = [f["properties"] for f in body["features"]["features"] if "cell" in f["properties"]]
    buildings = small_city.assets[small_city.assets["kind"] == "building"]
    assert sum(c["buildings"] for c in cells) == len(buildings)
    assert all("id" not in c for c in cells)
    biggest = max(cells, key=lambda c: c["buildings"])
    answer = client.get(f"/api/map/cells/{biggest['cell']}")
    assert answer.status_code == 200, answer.text
    cell = answer.json()
    inside = buildings[buildings["cell_id"] == biggest["cell"]]
    assert cell["kind"] == "h3" and cell["buildings"] == biggest["buildings"] == len(inside)
    assert cell["occupants"] == pytest.approx(inside["occupants"].sum(), abs=0.1)
    assert cell["by_occupancy"] == inside["occupancy"].value_counts().to_dict()
    assert sum(cell["by_occupancy"].values()) == cell["buildings"]
    assert cell["population"] >= 0
    missing = client.get("/api/map/cells/8f0000000000000")
    assert missing.status_code == 404 and "8f0000000000000" in missing.json()["detail"]


def test_live_map_shows_latest_values_and_warning_levels(client, tokens):
    before = client.get("/api/map/live").json()
    assert set(before) == {"sensors", "warnings", "incidents"}
    sensor, stream = _stream(before, STAGE)
    assert stream["latest"] is None and stream["warning_level"] == "none"
    assert sensor["level"] == "none" and before["warnings"] == []
    assert isinstance(sensor["x"], int) and isinstance(sensor["y"], int)
    assert {"id", "kind", "lon", "lat", "agency"} <= set(sensor)
    _post_rise(client, tokens["operator"])
    staff = client.get("/api/map/live", headers=auth(tokens["analyst"])).json()
    sensor, stream = _stream(staff, STAGE)
    assert stream["latest"] == {"time": "2026-07-01T02:50:00Z", "result": 39.0}
    assert (
        stream["warning_level"] in ("orange", "red") and sensor["level"] == stream["warning_level"]
    )
    others = [d for s in staff["sensors"] for d in s["datastreams"] if d["name"] != STAGE]
    assert all(d["latest"] is None and d["warning_level"] == "none" for d in others)
    (warning,) = staff["warnings"]
    assert warning["datastream"] == STAGE and warning["level"] == stream["warning_level"]
    assert (warning["x"], warning["y"]) == (sensor["x"], sensor["y"])
    # the public sees the warning colour but not the values of the agency's datastreams
    public = client.get("/api/map/live").json()
    _, hidden = _stream(public, STAGE)
    assert hidden["latest"] is None and hidden["warning_level"] == stream["warning_level"]

    # the same warnings (the background nowcast may finish between the two requests)
    def settled(warnings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in w.items() if k != "nowcast_status"} for w in warnings]

    assert settled(public["warnings"]) == settled(staff["warnings"])


def test_incidents_only_for_staff(client, tokens, small_city):
    facility = small_city.assets[small_city.assets["kind"] == "hospital"].iloc[0]
    x, y = float(facility.geometry.x), float(facility.geometry.y)
    lon, lat = _lonlat(small_city, x, y)
    posted = client.post(
        "/api/incidents", json={"category": "waterlogging", "lon": lon, "lat": lat, "people": 3}
    )
    assert posted.status_code == 201, posted.text
    for viewer in (None, tokens["public"]):
        assert client.get("/api/map/live", headers=auth(viewer)).json()["incidents"] == []
    for role in ("admin", "analyst", "operator"):
        (incident,) = client.get("/api/map/live", headers=auth(tokens[role])).json()["incidents"]
        assert incident["id"] == posted.json()["id"] and incident["people"] == 3
        assert incident["status"] == "new" and incident["reported_at"].endswith("Z")
        assert abs(incident["x"] - x) <= 1 and abs(incident["y"] - y) <= 1
    assert client.get("/api/map/live", headers=auth("rc_not-a-token")).status_code == 401


def _lonlat(city: Any, x: float, y: float) -> tuple[float, float]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(city.crs, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def test_live_map_on_postgresql(small_city):
    with postgres_database() as url:
        service = Service(ServiceSettings(db_url=url, sse_poll_s=0.2))
        try:
            app = create_app(service=service, city=small_city)
            with TestClient(app) as pg:
                with service.db.write() as session:
                    admin, _ = create_token(session, "pg-admin", "admin")
                _post_rise(pg, admin)
                live = pg.get("/api/map/live", headers=auth(admin)).json()
        finally:
            service.db.dispose()
    sensor, stream = _stream(live, STAGE)
    assert stream["latest"] == {"time": "2026-07-01T02:50:00Z", "result": 39.0}
    assert sensor["level"] in ("orange", "red") and len(live["warnings"]) == 1


def _wait_done(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = client.get(f"/api/scenarios/{job_id}", headers=headers).json()
        assert 0 <= state["progress"] <= 1
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    pytest.fail(f"scenario run {job_id} did not finish within 90 s")


def test_scenario_requests_are_checked(client, tokens):
    body = {"hazard": "river_flood", "stage_m": 39.5}
    assert client.post("/api/scenarios", json=body).status_code == 401
    assert (
        client.post("/api/scenarios", json=body, headers=auth(tokens["public"])).status_code == 403
    )
    h = auth(tokens["analyst"])
    high = client.post("/api/scenarios", json={**body, "stage_m": 300}, headers=h)
    assert high.status_code == 422 and high.json()["detail"][0]["loc"][-1] == "stage_m"
    assert "the ground elevations of" in high.json()["detail"][0]["msg"]  # the demo DEM's range
    unknown = client.post("/api/scenarios", json={"hazard": "meteor"}, headers=h)
    assert unknown.status_code == 422 and "'hazard'" in unknown.json()["detail"][0]["msg"]
    far = {"hazard": "earthquake", "magnitude": 6.0, "x": 0.0, "y": 0.0}
    refused = client.post("/api/scenarios", json=far, headers=h)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "x"]
    assert client.get("/api/scenarios", headers=h).json() == []
    assert client.get("/api/scenarios/nope", headers=h).status_code == 404


def test_scenario_run_asset_chain_and_resilience(client, tokens, api_app, small_city):
    h = auth(tokens["operator"])
    started = time.perf_counter()
    posted = client.post(
        "/api/scenarios", json={"hazard": "river_flood", "stage_m": 39.5}, headers=h
    )
    assert posted.status_code == 202 and posted.json()["status"] == "queued"
    job_id = posted.json()["id"]
    state = _wait_done(client, job_id, h)
    elapsed = time.perf_counter() - started
    assert state["status"] == "done", state["error"]
    assert state["progress"] == 1 and state["request"] == {"hazard": "river_flood", "stage_m": 39.5}
    result = state["result"]
    assert set(result["layers"]) == {"damage", "service_loss", "closed_roads"}
    assert {"days", "sectors"} <= set(result["recovery"]) and "city" in result["recovery"][
        "sectors"
    ]
    listed = client.get("/api/scenarios", headers=auth(tokens["analyst"])).json()
    assert [r["id"] for r in listed] == [job_id] and "result" not in listed[0]
    # an asset down through its dependencies: the chain goes down to a damaged asset
    _, run = api_app.state.scenario_jobs.latest_run()
    frame = run.network.cascade.frame()
    chained = frame[frame["cause"].str.contains("←") & ~frame["functional"]]
    asset_id = str(chained["asset_id"].iloc[0])
    assert client.get(f"/api/assets/{asset_id}").status_code == 401
    detail = client.get(f"/api/assets/{asset_id}", headers=auth(tokens["analyst"])).json()
    asset = detail["asset"]
    assert asset["id"] == asset_id and {
        "kind",
        "sector",
        "name",
        "x",
        "y",
        "occupants",
        "value",
    } <= set(asset)
    scenario = detail["scenario"]
    assert scenario["scenario_id"] == job_id and scenario["down"] is True
    chain = scenario["chain"]
    assert len(chain) >= 3 and chain[0]["asset_id"] == asset_id
    assert chain[-1]["reason"] in ("damaged", "no road access")
    assert all(link["reason"].startswith("no ") for link in chain[:-1])
    assert [link["asset_id"] for link in chain[1:]] == [
        part.split(" down")[0].split(": ")[-1].strip()
        for part in scenario["cause"].split("(")[0].split("←")
    ]
    working = frame[frame["functional"] & (small_city.assets["kind"] != "building").to_numpy()]
    working_id = str(working["asset_id"].iloc[0])
    intact = client.get(f"/api/assets/{working_id}", headers=auth(tokens["analyst"])).json()
    assert intact["scenario"]["down"] is False and intact["scenario"]["chain"] == []
    assert client.get("/api/assets/NO-SUCH", headers=auth(tokens["analyst"])).status_code == 404
    # the resilience assessment of the city with that run
    assert client.get("/api/resilience").status_code == 401
    scores = client.get("/api/resilience", headers=auth(tokens["analyst"])).json()
    assert {"city", "units", "dimensions", "weak_spots", "trend"} <= set(scores)
    assert scores["run"]["scenario_id"] == job_id
    city = scores["city"]
    assert 0 <= city["score"] <= 1 and city["weakest_dimension"] in scores["dimensions"]
    assert city["maturity_level"] in (0, 1, 2, 3, 4) and city["maturity_name"]
    units = scores["units"]
    assert [u["rank"] for u in units] == sorted(u["rank"] for u in units) and len(units) == 6
    assert all(set(u["dimensions"]) == set(scores["dimensions"]) for u in units)
    assert all(set(d) == {"zh", "en"} for d in scores["dimensions"].values())
    # the city's profile lies within its districts' range on every dimension
    for dim, value in city["dimensions"].items():
        values = [u["dimensions"][dim] for u in units]
        assert min(values) - 1e-9 <= value <= max(values) + 1e-9
    spot = scores["weak_spots"][0]
    assert {"unit", "indicator", "dimension", "obstacle"} <= set(spot) and 0 < spot["obstacle"] <= 1
    years = sorted({t["year"] for t in scores["trend"]})
    assert len(years) >= 2 and len(scores["trend"]) == len(years) * len(units)
    print(f"river flood run over HTTP: {elapsed:.1f} s")


def test_resilience_before_any_run_uses_the_demo_scenario(client, tokens):
    started = time.perf_counter()
    scores = client.get("/api/resilience", headers=auth(tokens["analyst"])).json()
    elapsed = time.perf_counter() - started
    assert scores["run"] == {"scenario_id": None, "name": "100-year river flood with its rainstorm"}
    assert len(scores["units"]) == 6 and scores["city"]["maturity_name"]
    again = client.get("/api/resilience", headers=auth(tokens["admin"])).json()
    assert again == scores
    print(f"resilience with the demo scenario's run: {elapsed:.1f} s")


def test_city_cache_builds_once_per_city_and_key_and_drops_the_oldest(small_city: Any) -> None:
    import copy

    from resilientcity.api.city_cache import CityCache

    built: list[tuple[int, object]] = []

    def build(key: object) -> Any:
        def make(city: Any) -> int:
            built.append((id(city), key))
            return len(built)

        return make

    cache: CityCache[int] = CityCache(size=2)
    other = copy.copy(small_city)  # equal content, another object: its own entry
    assert cache.get(small_city, build("a"), key="a") == 1
    assert cache.get(small_city, build("a"), key="a") == 1
    assert cache.get(other, build("a"), key="a") == 2
    assert cache.get(small_city, build("b"), key="b") == 3  # full: the first entry is dropped
    assert len(cache) == 2
    assert cache.get(small_city, build("a"), key="a") == 4
    assert cache.get(small_city, build("b"), key="b") == 3
    with pytest.raises(ValueError, match="size must be at least 1"):
        CityCache(size=0)
