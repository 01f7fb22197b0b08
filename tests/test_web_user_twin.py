"""The web operations centre on a user's twin (``serve --twin``): the form takes the city's own
ranges and defaults (``GET /api/scenarios/options``) and disables what the city cannot run,
saying why (Playwright driving Debian's headless Chromium against uvicorn)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_support import live_server
from resilientcity.api.app import create_app
from resilientcity.operations.access import create_token
from resilientcity.operations.service import Service, ServiceSettings
from resilientcity.region import region_profile
from resilientcity.twin import City
from user_twin_support import kouvola_twin
from web_support import Web, browser, page, wait_until

__all__ = ["browser", "page"]


def _serve(path: Path, folder: Path) -> Iterator[Web]:
    service = Service(ServiceSettings(db_url=f"sqlite:///{folder / 'ops.db'}", twin=path))
    city = City.read(path)
    try:
        with live_server(create_app(service=service, city=city)) as (url, _server):
            with service.db.write() as session:
                token, _ = create_token(session, "web-analyst", "analyst")
            yield Web(url, service, city, {"analyst": token})
    finally:
        service.db.dispose()


@pytest.fixture(scope="module")
def bare_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """The service on the Kouvola extract as imported (no DEM, no river)."""
    folder = tmp_path_factory.mktemp("bare-web")
    yield from _serve(kouvola_twin(folder, dem=False, facilities=False), folder)


@pytest.fixture(scope="module")
def dem_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """The service on the Kouvola twin with a DEM and a river (user_twin_support)."""
    folder = tmp_path_factory.mktemp("dem-web")
    yield from _serve(kouvola_twin(folder), folder)


@pytest.fixture(scope="module")
def de_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """The service on the extract as imported, its region DE: no packaged warning rules."""
    folder = tmp_path_factory.mktemp("de-web")
    city = City.read(kouvola_twin(folder, dem=False, facilities=False))
    region = {**city.metadata, "region": region_profile("DE").summary()}
    dataclasses.replace(city, metadata=region).write(folder / "de.gpkg")
    yield from _serve(folder / "de.gpkg", folder)


def _scenario_form(page: Any, web: Web) -> dict[str, Any]:
    page.goto(web.url + "/")
    wait_until(page, "document.body.dataset.ready === 'true'", timeout=60_000)
    page.fill("#token-input", web.tokens["analyst"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#whoami:not([hidden])")
    page.click("[data-tab=scenarios]")
    wait_until(page, "document.querySelector('#scenario-form [name=track]').value !== ''")
    form: dict[str, Any] = page.evaluate(
        """() => {
          const f = document.getElementById('scenario-form').elements;
          const pick = (n) => ({value: f[n].value, min: f[n].min, max: f[n].max});
          return {
            disabled: [...f.hazard.options].filter((o) => o.disabled).map((o) => o.value),
            hazard: f.hazard.value,
            stage: pick('stage_m'), period: pick('return_period'), hours: pick('duration_h'),
            lon: f.eq_lon.value, lat: f.eq_lat.value, track: f.track.value,
            unavailable: document.getElementById('scenario-unavailable').innerText,
          };
        }"""
    )
    return form


def test_form_on_a_twin_without_dem_offers_what_the_city_can_run(
    page: Any, bare_web: Web, tmp_path: Path
) -> None:
    form = _scenario_form(page, bare_web)
    lon, lat = bare_web.city.centre_lonlat()
    assert form["disabled"] == ["river_flood", "rainstorm"]
    assert form["hazard"] == "earthquake"  # the first hazard the city can run
    assert "DEM" in form["unavailable"] and "Kouvola" in form["unavailable"]
    assert (float(form["lon"]), float(form["lat"])) == (round(lon, 4), round(lat, 4))
    middle = form["track"].splitlines()[1].split(",")
    assert (float(middle[1]), float(middle[2])) == (round(lon, 2), round(lat, 2))
    assert "113." not in form["track"] and "28.1" not in form["lat"]  # nothing of Changsha
    page.select_option("#lang-select", "en")
    wait_until(page, "document.getElementById('scenario-unavailable').innerText.includes('needs')")
    english = page.inner_text("#scenario-unavailable")
    assert "Not available for Kouvola" in english and "twin import-osm --dem" in english
    page.screenshot(path=tmp_path / "kouvola-form.png")
    assert page.errors == []


def test_form_on_a_twin_with_dem_takes_the_dem_range(page: Any, dem_web: Web) -> None:
    form = _scenario_form(page, dem_web)
    dem = dem_web.city.dem
    assert form["disabled"] == [] and form["unavailable"] == ""
    assert (float(form["stage"]["min"]), float(form["stage"]["max"])) == (
        float(dem.elevation_m.min()),
        float(dem.elevation_m.max()),
    )
    assert float(form["stage"]["value"]) == 75.0  # the ground under the river + 3 m
    assert (form["period"]["min"], form["period"]["max"], form["period"]["value"]) == (
        "10", "100", "100"
    )  # fmt: skip
    assert form["hours"]["min"] == form["hours"]["max"] == form["hours"]["value"] == "6"
    assert page.errors == []


def test_a_region_without_warning_rules_says_so_on_the_warnings_panel(
    page: Any, de_web: Web, tmp_path: Path
) -> None:
    page.goto(de_web.url + "/")
    wait_until(page, "document.body.dataset.ready === 'true'", timeout=60_000)
    wait_until(page, "!document.getElementById('warning-no-rules').hidden")
    assert "没有预警规则" in page.inner_text("#warning-no-rules")
    page.select_option("#lang-select", "en")
    wait_until(page, "document.getElementById('warning-no-rules').innerText.includes('No warning')")
    assert "serve --rules FILE" in page.inner_text("#warning-no-rules")
    page.screenshot(path=tmp_path / "no-rules.png")
    assert page.errors == []
