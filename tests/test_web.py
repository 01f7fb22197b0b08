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

from web_support import Web, browser, page, wait_until, web

__all__ = ["browser", "page", "web"]

STATIC = Path(__file__).parents[1] / "src" / "resilientcity" / "web" / "static"
#: Base-map layers the contract promises (GET /api/map/base, meta.layer).
BASE_LAYERS = {"zones", "rivers", "roads", "buildings", "facilities"}


def _open(page: Any, web: Web, token: str | None = None) -> None:
    """Load the page, wait until it has drawn everything, log in with ``token``."""
    page.goto(web.url + "/")
    wait_until(page, "document.body.dataset.ready === 'true'", timeout=60_000)
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


def _map(page: Any) -> dict[str, Any]:
    """What the map draws (``window.rc.mapSummary()``): base features per layer and their ids,
    features per overlay source, the style layers with their toggles, and per toggle whether the
    map draws it (read back from MapLibre's style: visibility and filters)."""
    summary: dict[str, Any] = page.evaluate("window.rc.mapSummary()")
    return summary


def _lonlat(web: Web, x: float, y: float) -> tuple[float, float]:
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(web.city.crs, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def _click_at(page: Any, lon: float, lat: float) -> None:
    """Move the pointer to a place on the map, then click it."""
    px, py = page.evaluate("([lon, lat]) => window.rc.screenPoint(lon, lat)", [lon, lat])
    page.mouse.move(px, py)
    page.mouse.click(px, py)


def test_page_loads_and_draws_the_city(page: Any, web: Web, tmp_path: Path) -> None:
    _open(page, web)
    drawn = _map(page)
    assert set(drawn["base"]) == BASE_LAYERS | {"sensors"}
    assert drawn["aggregated"] is False
    toggles = {t for layer in drawn["layers"] for t in layer["toggles"] if t}
    assert BASE_LAYERS | {"sensors", "warnings", "incidents", "damage", "closed_roads"} <= toggles
    assets = web.city.assets
    facilities = set(assets.loc[assets["kind"] != "building", "asset_id"].astype(str))
    assert set(drawn["ids"]["facilities"]) == facilities
    assert len(drawn["ids"]["buildings"]) == int((assets["kind"] == "building").sum())
    assert drawn["sources"]["live_sensors"] == len(web.city.sensors)
    assert page.evaluate("typeof window.__mapPaintedAt") == "number"
    # the map is drawn by MapLibre (WebGL); Plotly's 4.8 MB are fetched only after its paint
    assert page.locator("#map canvas.maplibregl-canvas").count() == 1
    plotly_start = page.evaluate(
        "performance.getEntriesByType('resource').find((e) => e.name.includes('/plotly-'))"
        "?.startTime ?? null"
    )
    assert plotly_start is None or plotly_start >= page.evaluate("window.__mapPaintedAt")
    wait_until(page, "typeof window.Plotly === 'object'", timeout=30_000)
    # district names on the map
    labels = page.locator(".district-label").all_inner_texts()
    assert "岳麓区" in labels and len(labels) == 6
    # switching a layer off hides every style layer of that toggle, and only those
    page.uncheck("#layer-toggles input[data-layer=roads]")
    after = _map(page)["drawn"]
    assert after["roads"] is False and after["rivers"] is True and after["facilities"] is True
    assert drawn["drawn"]["roads"] is True
    page.screenshot(path=tmp_path / "map.png")
    assert page.errors == []


def test_clicked_facility_shows_its_details(page: Any, web: Web) -> None:
    _open(page, web, web.tokens["analyst"])
    hospital = web.city.assets.loc[web.city.assets["kind"] == "hospital"].iloc[0]
    _click_at(page, *_lonlat(web, float(hospital.geometry.x), float(hospital.geometry.y)))
    page.wait_for_selector("#asset-panel:not([hidden])", timeout=5_000)
    body = page.inner_text("#asset-body")
    assert str(hospital["asset_id"]) in body
    assert "医院" in body
    assert page.errors == []


def test_clicked_cell_shows_its_counts(page: Any, web: Web, tmp_path: Path) -> None:
    """With the buildings aggregated (here above 1,000 of them), a cell's click shows what it
    holds: buildings by use and people, as counted from the twin."""
    page.goto(web.url + "/?max_buildings=1000")
    wait_until(page, "document.body.dataset.ready === 'true'", timeout=60_000)
    assert _map(page)["aggregated"] is True
    buildings = web.city.assets[web.city.assets["kind"] == "building"]
    key = buildings["cell_id"].value_counts().index[0]
    cell = web.city.zones[web.city.zones["zone_id"] == key].geometry.iloc[0].centroid
    _click_at(page, *_lonlat(web, cell.x, cell.y))
    page.wait_for_selector("#asset-panel:not([hidden]) .cell-occupancy", timeout=5_000)
    body = page.inner_text("#asset-body")
    inside = buildings[buildings["cell_id"] == key]
    assert key in body
    assert f"{len(inside):,}" in body
    shown = re.search(r"在内人员\n([\d,]+)", body)
    assert shown is not None, body
    assert abs(int(shown.group(1).replace(",", "")) - inside["occupants"].sum()) <= 1
    labels = {"residential": "住宅", "commercial": "商业", "industrial": "工业", "public": "公共"}
    for occupancy, n in inside["occupancy"].value_counts().items():
        assert f"{labels[str(occupancy)]}\n{n:,}" in body, body
    page.screenshot(path=tmp_path / "cell.png")
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
    wait_until(page, "window.rc.mapSummary().sources.warnings === 1", timeout=5_000)
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
    # another agency's tasks are not shown to an operator (the API lists its agency's only)
    assert page.locator(f".task[data-task-id='{other['id']}']").count() == 0
    assert page.locator(".task:not([data-agency=water_resources])").count() == 0
    # forced anyway, the API refuses and the page says why
    done = page.evaluate("([id]) => window.rc.patchTask(id, 'acknowledged')", [other["id"]])
    assert done is False
    message = page.inner_text("#tasks-message")
    assert "403" in message and other["agency"] in message
    assert _task_status(web, other["id"]) == "pending"
    page.screenshot(path=tmp_path / "tasks.png")
    assert page.errors == []


def _active_plans(web: Web) -> dict[int, str]:
    answer = httpx.get(
        web.url + "/api/activations?status=active", headers=web.headers("admin"), timeout=30
    )
    return {a["id"]: a["plan_id"] for a in answer.json()}


def test_admin_activates_and_stands_down_a_plan(page: Any, web: Web, tmp_path: Path) -> None:
    active = set(_active_plans(web).values())
    plans = httpx.get(web.url + "/api/plans", headers=web.headers("admin"), timeout=30).json()
    plan = next(p for p in plans if p["id"] not in active)
    # an operator sees the board without the plan form and stand-down buttons; forced, the API
    # refuses and the page says why
    _open(page, web, web.tokens["operator:water_resources"])
    page.click("[data-tab=tasks]")
    page.wait_for_selector("#task-board :is(.agency-col, .empty)")
    assert page.locator("#plan-form").is_hidden()
    assert page.locator("[data-action=stand-down]").count() == 0
    done = page.evaluate("([id]) => window.rc.activatePlan(id, 'forced by the test')", [plan["id"]])
    assert done is False and "403" in page.inner_text("#tasks-message")
    assert plan["id"] not in _active_plans(web).values()
    # the admin activates it from the page, then stands it down
    page.click("#logout")
    page.fill("#token-input", web.tokens["admin"])
    page.click("#login-form button[type=submit]")
    page.click("[data-tab=tasks]")
    page.wait_for_selector("#plan-form:not([hidden])")
    page.select_option("#plan-select", plan["id"])
    page.fill("#plan-reason", "drill from the web page")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#tasks-message.ok")
    made = {k: v for k, v in _active_plans(web).items() if v == plan["id"]}
    assert len(made) == 1
    (activation,) = made
    row = page.locator(f".activation[data-activation-id='{activation}']")
    row.wait_for()
    page.screenshot(path=tmp_path / "plan-activated.png")
    row.locator("[data-action=stand-down]").click()
    page.wait_for_selector(f".activation[data-activation-id='{activation}']", state="detached")
    assert activation not in _active_plans(web)
    assert str(activation) in page.inner_text("#tasks-message")
    assert page.errors == []


def _incident_status(web: Web, incident_id: int) -> dict[str, Any]:
    answer = httpx.get(
        f"{web.url}/api/incidents/{incident_id}", headers=web.headers("admin"), timeout=30
    )
    body: dict[str, Any] = answer.json()
    return body


def test_operator_triages_and_dispatches_incidents(page: Any, web: Web, tmp_path: Path) -> None:
    hospital = web.city.assets.loc[web.city.assets["kind"] == "hospital"].iloc[1]
    lon, lat = _lonlat(web, float(hospital.geometry.x), float(hospital.geometry.y))
    posted = httpx.post(
        web.url + "/api/incidents",
        json={"category": "trapped_people", "lon": lon, "lat": lat, "people": 4},
        timeout=30,
    )
    assert posted.status_code == 201, posted.text
    incident = posted.json()["id"]
    # an analyst reads the list without triage buttons; forced, the API refuses (403)
    _open(page, web, web.tokens["analyst"])
    page.click("[data-tab=incidents]")
    row = page.locator(f"#incident-table tr[data-incident-id='{incident}']")
    row.wait_for()
    assert row.locator("button").count() == 0 and page.locator("#incidents-dispatch").is_hidden()
    done = page.evaluate("([id]) => window.rc.triageIncident(id, {status: 'triaged'})", [incident])
    assert done is False and "403" in page.inner_text("#incident-list-message")
    assert _incident_status(web, incident)["status"] == "new"
    # an operator sets its priority, triages it and dispatches the triaged incidents
    page.click("#logout")
    page.fill("#token-input", web.tokens["operator:water_resources"])
    page.click("#login-form button[type=submit]")
    page.click("[data-tab=incidents]")
    row = page.locator(f"#incident-table tr[data-incident-id='{incident}']")
    # a priority typed but not yet set survives a refresh of the list (the table is redrawn)
    priority = f"#incident-table tr[data-incident-id='{incident}'] input.priority"
    row.locator("input.priority").fill("7")
    page.evaluate(
        "([sel]) => { document.querySelector(sel).dataset.drawn = 'before'; }", [priority]
    )
    page.click("#incidents-refresh")
    wait_until(page, f"document.querySelector({json.dumps(priority)})?.dataset.drawn !== 'before'")
    assert page.input_value(priority) == "7"
    row.locator("input.priority").fill("5")
    row.locator("button[data-action=priority]").click()
    wait_until(
        page,
        f"document.querySelector(\"#incident-table tr[data-incident-id='{incident}'] input.priority\")?.value === '5'",
    )
    assert _incident_status(web, incident)["priority"] == 5.0
    row.locator("button[data-action=triaged]").click()
    page.wait_for_selector(
        f"#incident-table tr[data-incident-id='{incident}'][data-status=triaged]"
    )
    page.click("#incidents-dispatch")
    wait_until(
        page, "document.getElementById('incident-list-message').textContent.startsWith('派遣：')"
    )
    after = _incident_status(web, incident)
    assert after["status"] == "dispatched" and after["dispatch"]["stations"]
    page.wait_for_selector(
        f"#incident-table tr[data-incident-id='{incident}'][data-status=dispatched]"
    )
    assert "平均响应" in page.inner_text("#incident-list-message")
    page.screenshot(path=tmp_path / "dispatch.png")
    assert page.errors == []


def test_resilience_names_the_districts(page: Any, web: Web, tmp_path: Path) -> None:
    _open(page, web, web.tokens["analyst"])
    page.click("[data-tab=resilience]")
    page.wait_for_selector("#resilience-table tbody tr", timeout=120_000)
    codes = page.eval_on_selector_all(
        "#resilience-table td[data-unit]",
        "(cells) => cells.map((c) => [c.dataset.unit, c.textContent])",
    )
    districts = web.city.zones[web.city.zones["zone_type"] == "district"]
    names = dict(zip(districts["zone_id"].astype(str), districts["name"].astype(str), strict=True))
    assert codes and all(code in names for code, _ in codes)
    assert all(text == names[code].split(" ")[0] for code, text in codes)
    options = page.locator("#resilience-unit option").all_inner_texts()
    assert "岳麓区" in options and "430104" not in options
    page.select_option("#lang-select", "en")
    wait_until(page, "document.documentElement.lang === 'en-GB'")
    assert "Yuelu" in page.locator("#resilience-unit option").all_inner_texts()
    page.screenshot(path=tmp_path / "resilience.png")
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
    box = page.locator("#map canvas").bounding_box()
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
    wait_until(
        page, "(document.getElementById('recovery-chart').data || []).length > 0", timeout=60_000
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
    assert _map(page)["sources"]["damage"] == len(result["layers"]["damage"]["x"]) > 0
    assert page.locator("#scenario-summary .kpi").count() >= 3
    page.screenshot(path=tmp_path / "scenario.png")
    assert page.errors == []


def test_language_switch(page: Any, web: Web, tmp_path: Path) -> None:
    _raise_river_warning(web)
    _open(page, web)
    # the nowcast of the river warning, worked out in the background, in Chinese
    wait_until(
        page,
        "[...document.querySelectorAll('.warning-card .nowcast')].some((e) => e.textContent.includes('处于风险中'))",
        timeout=60_000,
    )
    assert page.inner_text(".topbar h1") == "城市韧性运行中心"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.select_option("#lang-select", "en")
    wait_until(page, "document.documentElement.lang === 'en-GB'")
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
    assert "Yuelu" in page.locator(".district-label").all_inner_texts()
    # the longer English layer names wrap the toolbar: the map follows its smaller box
    wait_until(
        page,
        "document.querySelector('#map canvas').getBoundingClientRect().height"
        " <= document.getElementById('map').getBoundingClientRect().height + 1",
    )
    page.screenshot(path=tmp_path / "english.png")
    page.reload()
    wait_until(page, "document.body.dataset.ready === 'true'", timeout=60_000)
    assert page.inner_text(".topbar h1") == "City Resilience Operations Centre"
    page.select_option("#lang-select", "zh")
    wait_until(page, "document.documentElement.lang === 'zh-CN'")
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


def test_a_plan_without_chinese_shows_its_english_name_in_chinese(page: Any, web: Web) -> None:
    """A stored plan whose ``name_zh`` is empty (a plan file with English texts only) is listed
    by its English name while the page is in Chinese, not as a blank option."""
    from resilientcity.decision.plans import Plan as PlanSpec
    from resilientcity.operations.models import Plan

    spec = PlanSpec.model_validate(
        {
            "id": "zz_en_only",
            "family": "zz_en_only",
            "name": {"en": "English-only drill plan", "fi": "Vain englanniksi"},
            "hazards": ["wind"],
            "level": "IV",
            "trigger": {"any": [{"hazard": "wind"}]},
            "tasks": [{"id": "a", "agency": "emergency", "text": {"en": "Drill"}, "deadline_h": 1}],
        }
    )
    with web.service.db.write() as session:
        if session.get(Plan, spec.id) is None:
            session.add(
                Plan(
                    id=spec.id,
                    family=spec.family,
                    level=spec.level,
                    name_zh="",
                    name_en=spec.name.en,
                    spec=spec.model_dump(mode="json"),
                )
            )
    _open(page, web, web.tokens["admin"])
    assert page.evaluate("document.documentElement.lang").startswith("zh")
    page.click("[data-tab=tasks]")
    page.wait_for_selector("#plan-form:not([hidden])")
    option = page.locator("#plan-select option[value='zz_en_only']")
    assert option.inner_text() == "English-only drill plan"
    assert page.errors == []
