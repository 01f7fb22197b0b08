"""The web operations centre in a real browser: map, live warnings, tasks, incidents, scenarios,
languages (Playwright driving Debian's headless Chromium against uvicorn)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from web_support import Web, browser, page, web

__all__ = ["browser", "page", "web"]

STATIC = Path(__file__).parents[1] / "src" / "resilientcity" / "web" / "static"
#: Base-map layers the contract promises (GET /api/map/base, meta.layer).
BASE_LAYERS = {"zones", "rivers", "roads", "buildings", "facilities"}


def _open(page: Any, web: Web, token: str | None = None) -> None:
    """Load the page, wait until it has drawn everything, log in with ``token``."""
    page.goto(web.url + "/")
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=60_000)
    if token is not None:
        page.fill("#token-input", token)
        page.click("#login-form button[type=submit]")
        page.wait_for_selector("#whoami:not([hidden])")


def _rising_stage(datastream: str, values: list[float]) -> list[dict[str, Any]]:
    """A CreateObservations body: ``values`` every 10 minutes, the last one a minute ago."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    rows = [
        [
            (end - timedelta(minutes=10 * (len(values) - 1 - i)))
            .isoformat()
            .replace("+00:00", "Z"),
            v,
        ]
        for i, v in enumerate(values)
    ]
    return [
        {
            "Datastream": {"name": datastream},
            "components": ["phenomenonTime", "result"],
            "dataArray": rows,
        }
    ]


def _raise_river_warning(web: Web) -> None:
    """Post a rising river stage on RG001 (by its operator) unless a warning is active."""
    if httpx.get(web.url + "/api/warnings", timeout=30).json():
        return
    body = _rising_stage("RG001:river_stage", [36.0, 36.6, 37.3, 38.0, 38.8, 39.6])
    answer = httpx.post(
        web.url + "/v1.1/CreateObservations",
        json=body,
        headers=web.headers("operator:water_resources"),
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["warning_events"], "the observations raise no warning"


def _map_traces(page: Any) -> list[dict[str, Any]]:
    script = """() => document.getElementById('map').data.map((t) => ({
        layer: t.meta && t.meta.layer, overlay: t.meta && t.meta.overlay,
        n: t.x ? t.x.length : 0, visible: t.visible,
        ids: Array.isArray(t.customdata) ? t.customdata.map(String) : []}))"""
    traces: list[dict[str, Any]] = page.evaluate(script)
    return traces


def test_page_loads_and_draws_the_city(page: Any, web: Web, tmp_path: Path) -> None:
    _open(page, web)
    traces = _map_traces(page)
    layers = {t["layer"] for t in traces}
    assert BASE_LAYERS <= layers
    assert {"sensors", "warnings", "incidents", "damage", "closed_roads"} <= layers
    assets = web.city.assets
    facilities = set(assets.loc[assets["kind"] != "building", "asset_id"].astype(str))
    drawn = {i for t in traces if t["layer"] == "facilities" for i in t["ids"]}
    assert drawn == facilities
    live = next(t for t in traces if t["overlay"] == "live_sensors")
    assert live["n"] == len(web.city.sensors)
    assert page.evaluate("typeof window.__mapPaintedAt") == "number"
    # switching a layer off hides every trace of that layer, and only those
    page.uncheck("#layer-toggles input[data-layer=roads]")
    after = _map_traces(page)
    assert all(t["visible"] is False for t in after if t["layer"] == "roads")
    assert all(t["visible"] is not False for t in after if t["layer"] == "rivers")
    page.screenshot(path=tmp_path / "map.png")
    assert page.errors == []


def test_clicked_facility_shows_its_details(page: Any, web: Web) -> None:
    _open(page, web, web.tokens["analyst"])
    hospital = web.city.assets.loc[web.city.assets["kind"] == "hospital"].iloc[0]
    place = page.evaluate(
        """([x, y]) => {
            const layout = document.getElementById('map')._fullLayout;
            const box = document.querySelector('#map .nsewdrag').getBoundingClientRect();
            return [box.left + layout.xaxis.l2p(x), box.top + layout.yaxis.l2p(y)];
        }""",
        [float(hospital.geometry.x), float(hospital.geometry.y)],
    )
    page.mouse.move(place[0], place[1])
    page.mouse.click(place[0], place[1])
    page.wait_for_selector("#asset-panel:not([hidden])", timeout=5_000)
    body = page.inner_text("#asset-body")
    assert str(hospital["asset_id"]) in body
    assert "医院" in body
    assert page.errors == []


def test_new_warning_appears_live_within_two_seconds(page: Any, web: Web, tmp_path: Path) -> None:
    _open(page, web)
    page.wait_for_selector("#sse-state[data-state=open]")
    page.evaluate("window.__noReload = true")
    assert page.locator(".warning-card").count() == 0
    _raise_river_warning(web)
    posted = time.monotonic()
    page.wait_for_selector(".warning-card", timeout=2_000)
    shown_after = time.monotonic() - posted
    assert shown_after < 2.0
    assert page.evaluate("window.__noReload") is True
    card = page.locator(".warning-card").first
    level = card.get_attribute("data-level")
    assert level in {"blue", "yellow", "orange", "red"}
    colour = {
        "blue": "rgb(30, 111, 217)",
        "yellow": "rgb(242, 194, 0)",
        "orange": "rgb(242, 140, 0)",
        "red": "rgb(215, 25, 28)",
    }
    border = page.evaluate(
        "getComputedStyle(document.querySelector('.warning-card')).borderLeftColor"
    )
    assert border == colour[level]
    assert "RG001" in card.inner_text()
    assert page.inner_text("#warning-count") == "1"
    # the map marks the warning and colours the gauge
    page.wait_for_function(
        "document.getElementById('map').data.find((t) => t.meta && t.meta.overlay === 'warnings').x.length === 1",
        timeout=5_000,
    )
    card.click()
    page.wait_for_selector("#warning-detail:not([hidden]) table tbody tr")
    page.screenshot(path=tmp_path / "warnings.png")
    assert page.errors == []


def _activate(web: Web) -> list[dict[str, Any]]:
    """Activate by hand (admin) a plan not in force whose tasks are for water_resources and
    other agencies; its tasks."""
    with httpx.Client(base_url=web.url, headers=web.headers("admin"), timeout=30) as client:
        active = {a["plan_id"] for a in client.get("/api/activations?status=active").json()}
        for plan in client.get("/api/plans").json():
            agencies = {t["agency"] for t in plan["spec"].get("tasks", [])}
            if plan["id"] in active or "water_resources" not in agencies or len(agencies) < 2:
                continue
            made = client.post(
                "/api/activations", json={"plan_id": plan["id"], "reason": "web test"}
            )
            assert made.status_code == 201, made.text
            tasks: list[dict[str, Any]] = made.json()["tasks"]
            return tasks
    pytest.fail("no plan to activate with tasks for water_resources and another agency")


def _complete(web: Web, task_id: int) -> None:
    with httpx.Client(base_url=web.url, headers=web.headers("admin"), timeout=30) as client:
        for status in ("acknowledged", "completed"):
            answer = client.patch(f"/api/tasks/{task_id}", json={"status": status})
            assert answer.status_code == 200, answer.text


def _task_status(web: Web, task_id: int) -> str:
    tasks = httpx.get(web.url + "/api/tasks", headers=web.headers("admin"), timeout=30).json()
    return str(next(t["status"] for t in tasks if t["id"] == task_id))


def test_operator_completes_own_tasks_only(page: Any, web: Web, tmp_path: Path) -> None:
    tasks = _activate(web)
    agencies = {t["agency"] for t in tasks}
    mine = next(t for t in tasks if t["agency"] == "water_resources")
    other = next(
        t for t in tasks if t["agency"] != "water_resources" and t["task"] not in mine["depends_on"]
    )
    assert len(agencies) > 1
    by_name = {t["task"]: t for t in tasks}
    for name in mine["depends_on"]:
        _complete(web, by_name[name]["id"])
    _open(page, web, web.tokens["operator:water_resources"])
    page.click("[data-tab=tasks]")
    row = page.locator(f".task[data-task-id='{mine['id']}']")
    row.locator("button[data-action=acknowledged]").click()
    row = page.locator(f".task[data-task-id='{mine['id']}'][data-status=acknowledged]")
    row.locator("button[data-action=completed]").click()
    page.wait_for_selector(f".task[data-task-id='{mine['id']}'][data-status=completed]")
    assert _task_status(web, mine["id"]) == "completed"
    # another agency's tasks are listed without buttons
    foreign = page.locator(f".task[data-task-id='{other['id']}']")
    assert foreign.count() == 1
    assert foreign.locator("button").count() == 0
    assert page.locator(".task:not([data-agency=water_resources]) button").count() == 0
    # forced anyway, the API refuses and the page says why
    done = page.evaluate("([id]) => window.rc.patchTask(id, 'acknowledged')", [other["id"]])
    assert done is False
    message = page.inner_text("#tasks-message")
    assert "403" in message and other["agency"] in message
    assert _task_status(web, other["id"]) == "pending"
    page.screenshot(path=tmp_path / "tasks.png")
    assert page.errors == []


def test_public_incident_report_shows_field_errors_and_rate_limit(
    page: Any, web: Web, tmp_path: Path
) -> None:
    _open(page, web)
    page.click("[data-tab=incidents]")
    form = page.locator("#incident-form")
    form.locator("select[name=category]").select_option("waterlogging")
    form.locator("input[name=lon]").fill("112.97")
    form.locator("input[name=lat]").fill("95")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".field-error[data-field=lat]:not(:empty)")
    assert form.locator("input[name=lat]").get_attribute("class") == "invalid"
    # a click on the map fills the place
    form.locator("#pick-location").click()
    box = page.locator("#map .nsewdrag").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    lon = float(form.locator("input[name=lon]").input_value())
    lat = float(form.locator("input[name=lat]").input_value())
    west, south, east, north = _lonlat_bounds(web)
    assert west < lon < east and south < lat < north
    form.locator("textarea[name=description]").fill("water knee deep")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#incident-message.ok")
    assert "#" in page.inner_text("#incident-message")
    # the address's hourly allowance used up: the page shows the 429 message
    limit = web.service.settings.public_reports_per_hour
    for k in range(limit):
        httpx.post(
            web.url + "/api/incidents",
            json={"category": "other", "lon": lon, "lat": lat, "description": f"filler {k}"},
            timeout=30,
        )
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#incident-message.error")
    assert "分钟" in page.inner_text("#incident-message")
    page.screenshot(path=tmp_path / "incidents.png")
    assert page.errors == []


def _lonlat_bounds(web: Web) -> tuple[float, float, float, float]:
    west, south, east, north = web.city.assets.to_crs(4326).total_bounds
    return float(west), float(south), float(east), float(north)


def test_scenario_run_from_the_page_draws_recovery(page: Any, web: Web, tmp_path: Path) -> None:
    _open(page, web, web.tokens["analyst"])
    page.click("[data-tab=scenarios]")
    page.select_option("#scenario-hazard", "river_flood")
    page.fill("input[name=stage_m]", "39.5")
    page.click("#scenario-run")
    page.wait_for_selector("#scenario-progress:not([hidden])")
    page.wait_for_function(
        "(document.getElementById('recovery-chart').data || []).length > 0", timeout=60_000
    )
    curves = page.evaluate(
        "document.getElementById('recovery-chart').data.map((t) => ({sector: t.meta.sector, y: t.y}))"
    )
    runs = httpx.get(web.url + "/api/scenarios", headers=web.headers("analyst"), timeout=30).json()
    result = httpx.get(
        f"{web.url}/api/scenarios/{runs[0]['id']}", headers=web.headers("analyst"), timeout=30
    ).json()["result"]
    assert {c["sector"] for c in curves} == set(result["recovery"]["sectors"])
    assert all(0 <= v <= 1 for c in curves for v in c["y"] if v is not None)
    damage = next(t for t in _map_traces(page) if t["overlay"] == "damage")
    assert damage["n"] == len(result["layers"]["damage"]["x"]) > 0
    assert page.locator("#scenario-summary .kpi").count() >= 3
    page.screenshot(path=tmp_path / "scenario.png")
    assert page.errors == []


def test_language_switch(page: Any, web: Web, tmp_path: Path) -> None:
    _raise_river_warning(web)
    _open(page, web)
    # the nowcast of the river warning, worked out in the background, in Chinese
    page.wait_for_function(
        "[...document.querySelectorAll('.warning-card .nowcast')].some((e) => e.textContent.includes('处于风险中'))",
        timeout=60_000,
    )
    assert page.inner_text(".topbar h1") == "城市韧性运行中心"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.select_option("#lang-select", "en")
    page.wait_for_function("document.documentElement.lang === 'en-GB'")
    assert page.inner_text(".topbar h1") == "City Resilience Operations Centre"
    assert page.inner_text("[data-tab=incidents]") == "Incidents"
    assert "Roads" in page.inner_text("#layer-toggles")
    nowcast = page.inner_text(".warning-card .nowcast")
    assert re.search(
        r"^[\d,]+ (person|people)\b.* at risk at the (forecast|observed) stage [\d.]+ m$", nowcast
    ), nowcast
    untranslated = page.evaluate(
        "[...document.querySelectorAll('[data-i18n]')].filter((e) => e.textContent === e.dataset.i18n).map((e) => e.dataset.i18n)"
    )
    assert untranslated == []
    # the longer English layer names wrap the toolbar: the map follows its smaller box
    page.wait_for_function(
        "document.querySelector('#map .main-svg').getBoundingClientRect().height"
        " <= document.getElementById('map').getBoundingClientRect().height + 1"
    )
    page.screenshot(path=tmp_path / "english.png")
    page.reload()
    page.wait_for_function("document.body.dataset.ready === 'true'", timeout=60_000)
    assert page.inner_text(".topbar h1") == "City Resilience Operations Centre"
    page.select_option("#lang-select", "zh")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert page.inner_text("[data-tab=incidents]") == "事件"
    assert page.errors == []


def _keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in tree.items():
        if isinstance(value, dict):
            out |= _keys(value, f"{prefix}{key}.")
        else:
            out.add(f"{prefix}{key}")
    return out


def _plural_stems(keys: set[str]) -> set[str]:
    """Keys without their plural form (``kinds_count.hospital.one`` → ``kinds_count.hospital``)."""
    forms = (".zero", ".one", ".two", ".few", ".many", ".other")
    return {next((k[: -len(f)] for f in forms if k.endswith(f)), k) for k in keys}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_string_is_in_both_languages(lang: str) -> None:
    zh = _keys(json.loads((STATIC / "i18n" / "zh.json").read_text(encoding="utf-8")))
    other = _keys(json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8")))
    assert _plural_stems(zh) == _plural_stems(other)
    keys = _plural_stems(other)
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    for used in _used_keys(html):
        assert used in keys, f"{used} is not in {lang}.json"


def _used_keys(html: str) -> set[str]:
    return set(re.findall(r'data-i18n(?:-placeholder|-title)?="([^"]+)"', html))
