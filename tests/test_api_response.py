"""The plans, tasks and incidents endpoints (a minimal app with the router only)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from resilientcity.api.response import router
from resilientcity.decision.plans import load_plans
from resilientcity.operations.access import create_token
from resilientcity.operations.incidents import city_bounds
from resilientcity.operations.seed import seed_store
from resilientcity.operations.service import Service, ServiceSettings
from resilientcity.warning import example_rules

with warnings.catch_warnings():
    # starlette asks for httpx2 instead of httpx; TestClient works the same with httpx
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ROLES = {
    "admin": ("admin", None),
    "analyst": ("analyst", None),
    "emergency": ("operator", "emergency"),
    "water": ("operator", "water_resources"),
    "public": ("public", None),
}


@pytest.fixture
def api(db_url: str, small_city):
    service = Service(ServiceSettings(db_url=db_url, public_reports_per_hour=3))
    service.db.upgrade()
    headers = {}
    with service.db.write() as session:
        seed_store(session, small_city.sensors, example_rules(), load_plans())
        for name, (role, agency) in ROLES.items():
            token, _ = create_token(session, name, role, agency)
            headers[name] = {"Authorization": f"Bearer {token}"}
    app = FastAPI()
    app.include_router(router)
    app.state.service = service
    app.state.city = small_city
    with TestClient(app) as client:
        yield client, headers
    service.db.dispose()


def test_plans_activations_and_tasks(api):
    client, h = api
    assert client.get("/api/plans").status_code == 401
    assert client.get("/api/plans", headers=h["public"]).status_code == 403  # staff only
    plans = client.get("/api/plans", headers=h["analyst"]).json()
    assert {p["id"] for p in plans} >= {"flood_iv", "flood_i", "earthquake_iv"}

    body = {"plan_id": "flood_iv", "reason": "drill"}
    assert client.post("/api/activations", json=body, headers=h["emergency"]).status_code == 403
    bad = client.post("/api/activations", json={"plan_id": "x", "reason": "d"}, headers=h["admin"])
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["activation", "plan_id"]
    made = client.post("/api/activations", json=body, headers=h["admin"])
    assert made.status_code == 201
    activation = made.json()
    assert activation["status"] == "active" and len(activation["tasks"]) == 4
    assert activation["activated_at"].endswith("Z")
    assert client.post("/api/activations", json=body, headers=h["admin"]).status_code == 409
    listed = client.get("/api/activations?status=active", headers=h["analyst"]).json()
    assert [a["id"] for a in listed] == [activation["id"]]

    own = client.get("/api/tasks", headers=h["emergency"]).json()
    assert {t["agency"] for t in own} == {"emergency"} and len(own) == 1
    assert client.get("/api/tasks?agency=transport", headers=h["emergency"]).status_code == 403
    assert len(client.get("/api/tasks", headers=h["analyst"]).json()) == 4
    assert client.get("/api/tasks?overdue=true", headers=h["admin"]).json() == []
    assert client.get("/api/tasks", headers=h["public"]).status_code == 403

    duty = own[0]["id"]
    patrol = next(t["id"] for t in activation["tasks"] if t["task"] == "embankment_patrol")
    ack = {"status": "acknowledged"}
    assert client.patch(f"/api/tasks/{duty}", json=ack, headers=h["water"]).status_code == 403
    assert client.patch(f"/api/tasks/{duty}", json=ack, headers=h["analyst"]).status_code == 403
    done = {"status": "completed"}
    assert client.patch(f"/api/tasks/{duty}", json=done, headers=h["emergency"]).status_code == 409
    assert (
        client.patch(f"/api/tasks/{duty}", json={"status": "x"}, headers=h["admin"]).status_code
        == 422
    )
    assert client.patch("/api/tasks/99999", json=ack, headers=h["admin"]).status_code == 404
    updated = client.patch(f"/api/tasks/{duty}", json=ack, headers=h["emergency"])
    assert updated.status_code == 200 and updated.json()["status"] == "acknowledged"
    client.patch(f"/api/tasks/{patrol}", json=ack, headers=h["water"])
    blocked = client.patch(f"/api/tasks/{patrol}", json=done, headers=h["water"])
    assert blocked.status_code == 409 and "duty" in blocked.json()["detail"]

    url = f"/api/activations/{activation['id']}/stand-down"
    assert client.post(url, headers=h["emergency"]).status_code == 403
    stood = client.post(url, headers=h["admin"])
    assert stood.status_code == 200 and stood.json()["status"] == "stood_down"
    assert {t["status"] for t in stood.json()["tasks"]} == {"cancelled"}
    assert client.post(url, headers=h["admin"]).status_code == 409


def test_public_reports_triage_and_dispatch(api, small_city):
    client, h = api
    lon0, lat0, lon1, lat1 = city_bounds(small_city)
    mid = {"lon": (lon0 + lon1) / 2, "lat": (lat0 + lat1) / 2}
    first = client.post("/api/incidents", json={"category": "waterlogging", **mid, "people": 2})
    assert first.status_code == 201
    assert first.json()["status"] == "new" and first.json()["duplicate_of"] is None
    again = client.post("/api/incidents", json={"category": "waterlogging", **mid})
    assert again.json() == {
        "id": again.json()["id"],
        "status": "duplicate",
        "duplicate_of": first.json()["id"],
    }

    bad = client.post("/api/incidents", json={"category": "meteor", "lon": 500, "people": -1})
    assert bad.status_code == 422
    named = {tuple(d["loc"])[-1] for d in bad.json()["detail"]}
    assert {"category", "lon", "lat", "people"} <= named
    outside = client.post("/api/incidents", json={"category": "fire", "lon": 121.47, "lat": 31.23})
    assert outside.status_code == 422
    assert {d["loc"][1] for d in outside.json()["detail"]} == {"lon", "lat"}
    assert f"{lon0:.5f}" in outside.json()["detail"][0]["msg"]

    third = client.post("/api/incidents", json={"category": "fire", **mid})
    assert third.status_code == 201
    limited = client.post("/api/incidents", json={"category": "fire", **mid})
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 3600

    assert client.get("/api/incidents").status_code == 401
    assert client.get("/api/incidents", headers=h["public"]).status_code == 403
    listed = client.get("/api/incidents?status=new", headers=h["water"]).json()
    assert [i["category"] for i in listed] == ["fire", "waterlogging"]
    since = datetime(2100, 1, 1, tzinfo=UTC).isoformat()
    assert client.get("/api/incidents", params={"since": since}, headers=h["admin"]).json() == []
    one = client.get(f"/api/incidents/{first.json()['id']}", headers=h["analyst"]).json()
    assert one["reports"] == 2 and one["category_zh"] == "内涝积水"
    assert client.get("/api/incidents/99999", headers=h["analyst"]).status_code == 404

    triage = {"status": "triaged", "priority": 3, "agency": "fire_rescue"}
    url = f"/api/incidents/{first.json()['id']}"
    assert client.patch(url, json=triage, headers=h["analyst"]).status_code == 403
    assert client.patch(url, json={"agency": "nobody"}, headers=h["water"]).status_code == 422
    assert client.patch(url, json=triage, headers=h["water"]).json()["status"] == "triaged"

    assert client.post("/api/incidents/dispatch", headers=h["analyst"]).status_code == 403
    sent = client.post("/api/incidents/dispatch", headers=h["emergency"])
    assert sent.status_code == 200
    assert (sent.json()["planned"], sent.json()["served"]) == (1, 1)
    dispatched = client.get(url, headers=h["admin"]).json()
    assert dispatched["status"] == "dispatched"
    assert dispatched["dispatch"]["stations"][0]["teams"] == 1
