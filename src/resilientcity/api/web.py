"""The web operations centre: the page, its static files and the JSON it draws.

:func:`install_web` adds to the application

* ``/`` (the page, ``resilientcity/web/static/index.html`` with the versioned URLs of the two
  vendor scripts filled in) and ``/static/...`` (the package folder
  ``resilientcity/web/static``, revalidated by ETag: ``Cache-Control: no-cache``);
* the vendor scripts, never from a CDN, at URLs that carry their version (cached for a year,
  ``immutable``): MapLibre GL JS at ``/static/vendor/maplibre-gl-<version>/<file>`` from
  ``resilientcity/web/node_modules/maplibre-gl/dist`` (installed by ``make setup``: ``npm ci``
  of ``resilientcity/web/package.json``; a clear 404 when it is missing) and Plotly's
  JavaScript at ``/static/vendor/plotly-<version>.min.js`` from the installed plotly wheel;
* ``GET /api/map/base`` (anyone): the twin's base map as GeoJSON in lon/lat
  (:func:`resilientcity.web.map_layers.base_geojson`), built once per process and city (gzip
  when the client accepts it);
* ``GET /api/map/cells/{key}`` (anyone): what one cell of the aggregated buildings holds
  (:func:`resilientcity.web.map_layers.cell_summary`);
* ``GET /api/map/live`` (anyone): sensors with their latest values (only those of datastreams
  the caller may read; ``null`` otherwise) and warning levels, the active warnings and, for
  staff (admin, analyst, operator), the open incidents, all with ``lon``/``lat`` and
  ``x``/``y`` in the twin's CRS;
* ``GET /api/assets/{asset_id}`` (any token): an asset and what the latest finished scenario
  run did to it, with the chain of causes when it is down;
* ``GET /api/resilience`` (any token): the assessment of the city and its districts
  (:func:`~resilientcity.assessment.run.demo_assessment` of the latest finished scenario run,
  or of the demo's default scenario run once on the city when none has finished yet), cached;
* the scenario runs of :mod:`resilientcity.api.scenarios`.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

import numpy as np
import orjson
import pandas as pd
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from pyproj import Transformer
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from resilientcity.api import scenarios
from resilientcity.api.auth import Authenticated, CurrentPrincipal, ServiceDep
from resilientcity.api.middleware import page_csp
from resilientcity.api.scenarios import Jobs, ServiceCity
from resilientcity.api.warnings import list_warnings
from resilientcity.operations.access import Principal, readable_datastreams
from resilientcity.operations.incidents import OPEN_STATES
from resilientcity.operations.models import Datastream, Incident, LiveWarning, Observation, Sensor
from resilientcity.operations.scenario_jobs import ScenarioJobs, remove_orphaned_roots
from resilientcity.report.figures import MAX_BUILDINGS, _points_xy
from resilientcity.report.web_layers import cascade_chain, json_ready, resilience_json
from resilientcity.scenario.run import ScenarioRun
from resilientcity.twin.city import City
from resilientcity.vocabulary import LEVELS
from resilientcity.web.map_layers import BuildingCells, base_geojson, building_cells, cell_summary

__all__ = [
    "install_web",
    "maplibre_dist",
    "maplibre_version",
    "plotly_js",
    "router",
    "static_folder",
    "vendor_urls",
]

router = APIRouter(tags=["web"])

#: Roles that see incidents on the live map.
STAFF = ("admin", "analyst", "operator")
#: Cities whose derived data are cached at a time.
_CACHED_CITIES = 4

T = TypeVar("T")


def static_folder() -> Path:
    """The folder of the page's static files (``resilientcity/web/static``)."""
    return Path(str(resources.files("resilientcity.web").joinpath("static")))


def plotly_js() -> Path:
    """Plotly's JavaScript bundle inside the installed plotly wheel."""
    return Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))


def maplibre_dist() -> Path:
    """The folder of MapLibre GL JS's files, installed by ``make setup`` (``npm ci`` in the
    package folder ``resilientcity/web``); it may be missing."""
    web = Path(str(resources.files("resilientcity.web")))
    return web / "node_modules" / "maplibre-gl" / "dist"


def maplibre_version() -> str | None:
    """The installed MapLibre GL JS version, or ``None`` when it is not installed."""
    manifest = maplibre_dist().parent / "package.json"
    if not (manifest.is_file() and (maplibre_dist() / "maplibre-gl.mjs").is_file()):
        return None
    return str(orjson.loads(manifest.read_bytes())["version"])


#: MapLibre's files that the page loads (the module, its worker and its style sheet).
MAPLIBRE_FILES = ("maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css")
#: Cache-Control of files whose URL carries their version.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Cache-Control of the page's own files: kept, revalidated by ETag on every use.
REVALIDATE = "no-cache"
#: Said when MapLibre is missing (the page shows it too).
MAPLIBRE_MISSING = (
    "MapLibre GL JS is not installed: run `make setup` (npm ci --prefix src/resilientcity/web)"
)


def vendor_urls() -> dict[str, str]:
    """What the page's placeholders become: the vendor files' versioned URLs, and the tags that
    load MapLibre's style sheet and preload its module (``""`` when MapLibre is missing)."""
    import plotly

    version = maplibre_version()
    js = "" if version is None else f"/static/vendor/maplibre-gl-{version}/maplibre-gl.mjs"
    head = ""
    if version is not None:
        css = f"/static/vendor/maplibre-gl-{version}/maplibre-gl.css"
        head = f'<link rel="stylesheet" href="{css}">\n<link rel="modulepreload" href="{js}">'
    return {
        "{{PLOTLY_JS}}": f"/static/vendor/plotly-{plotly.__version__}.min.js",
        "{{MAPLIBRE_JS}}": js,
        "{{MAPLIBRE_HEAD}}": head,
    }


class _RevalidatedFiles(StaticFiles):
    """Static files with ``Cache-Control: no-cache`` (Starlette answers 304 to a matching
    ``If-None-Match``, so a reload costs a request per file and no bytes)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = REVALIDATE
        return response


class _PerCity(Generic[T]):
    """Values derived from a city, built once per city (concurrent callers wait)."""

    def __init__(self, build: Callable[[City], T]) -> None:
        self._build = build
        self._items: dict[int, tuple[City, T]] = {}
        self._lock = threading.Lock()

    def get(self, city: City) -> T:
        with self._lock:
            known = self._items.get(id(city))
            if known is not None and known[0] is city:
                return known[1]
            value = self._build(city)
            if len(self._items) >= _CACHED_CITIES:
                self._items.clear()
            self._items[id(city)] = (city, value)
            return value


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- page and static files --------------------------------------------------------------------


@router.get("/", include_in_schema=False)
def index() -> HTMLResponse:
    """The operations centre's page, with the vendor scripts' versioned URLs filled in."""
    page = static_folder() / "index.html"
    if not page.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the web page is not installed")
    text = page.read_text(encoding="utf-8")
    for placeholder, url in vendor_urls().items():
        text = text.replace(placeholder, url)
    headers = {"Cache-Control": REVALIDATE, "Content-Security-Policy": page_csp(text)}
    return HTMLResponse(text, headers=headers)


VendorName = Annotated[str, PathParam(min_length=1, max_length=200)]


@router.get("/static/vendor/{name:path}", include_in_schema=False)
def vendor_file(name: VendorName) -> FileResponse:
    """A vendor file: ``plotly-<version>.min.js`` (or ``plotly.min.js``, cached a day) from the
    plotly wheel, ``maplibre-gl-<version>/<file>`` from MapLibre's npm package."""
    import plotly

    if name in (f"plotly-{plotly.__version__}.min.js", "plotly.min.js"):
        cache = IMMUTABLE if name != "plotly.min.js" else "public, max-age=86400"
        return FileResponse(
            plotly_js(), media_type="text/javascript", headers={"Cache-Control": cache}
        )
    folder, _, file = name.partition("/")
    if folder.startswith("maplibre-gl-") and file in MAPLIBRE_FILES:
        version = maplibre_version()
        if version is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, MAPLIBRE_MISSING)
        if folder == f"maplibre-gl-{version}":
            kind = "text/css" if file.endswith(".css") else "text/javascript"
            path = maplibre_dist() / file
            return FileResponse(path, media_type=kind, headers={"Cache-Control": IMMUTABLE})
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no vendor file {name}")


# --- base map ---------------------------------------------------------------------------------


#: Different building limits whose base maps are cached at a time.
_CACHED_LIMITS = 4


def _encoded_base_map(limit: int) -> Callable[[City], tuple[bytes, bytes]]:
    def build(city: City) -> tuple[bytes, bytes]:
        body = orjson.dumps(base_geojson(city, max_buildings=limit))
        return body, gzip.compress(body, compresslevel=6)

    return build


_BASE_MAPS: dict[int, _PerCity[tuple[bytes, bytes]]] = {}
_BASE_MAPS_LOCK = threading.Lock()
_BUILDING_CELLS: _PerCity[BuildingCells] = _PerCity(building_cells)

MaxBuildings = Annotated[
    int,
    Query(
        ge=0,
        le=10_000_000,
        description="buildings drawn one by one up to this many, else aggregated to cells",
    ),
]


@router.get("/api/map/base")
def map_base(
    request: Request, city: ServiceCity, max_buildings: MaxBuildings = MAX_BUILDINGS
) -> Response:
    """The twin's base map as GeoJSON in lon/lat (see :func:`~resilientcity.web.map_layers.base_geojson`).

    Layers (``properties.layer``): zones, rivers, roads, buildings (aggregated to H3 cells
    above ``max_buildings``, 20,000 by default: features with ``cell``, else with the asset
    ``id``), facilities (asset ``id``) and sensors; with ``bounds`` (degrees), ``districts``
    (names in Chinese and English) and ``to_lonlat`` (a fit from the twin's x/y to lon/lat).
    """
    with _BASE_MAPS_LOCK:
        maps = _BASE_MAPS.get(max_buildings)
        if maps is None:
            if len(_BASE_MAPS) >= _CACHED_LIMITS:
                _BASE_MAPS.clear()
            maps = _BASE_MAPS[max_buildings] = _PerCity(_encoded_base_map(max_buildings))
    body, packed = maps.get(city)
    headers = {"Cache-Control": "private, max-age=300", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type="application/json", headers=headers)
    return Response(body, media_type="application/json", headers=headers)


CellKey = Annotated[
    str, PathParam(min_length=1, max_length=64, description="an H3 index or `grid i,j`")
]


@router.get("/api/map/cells/{key}")
def map_cell(key: CellKey, city: ServiceCity) -> dict[str, Any]:
    """What one cell of the aggregated buildings holds: buildings by occupancy, occupants,
    value, facilities by kind and the cell's population (H3 cells)."""
    summary = cell_summary(city, _BUILDING_CELLS.get(city), key)
    if summary is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no buildings in cell {key}")
    return summary


# --- live map ---------------------------------------------------------------------------------


def _projector(city: City) -> Callable[[list[float | None], list[float | None]], Any]:
    """lon/lat lists to x/y lists (whole metres, ``None`` where lon or lat is missing)."""
    transformer = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)

    def project(lon: list[float | None], lat: list[float | None]) -> tuple[list[Any], list[Any]]:
        lo = np.array([np.nan if v is None else v for v in lon], dtype=np.float64)
        la = np.array([np.nan if v is None else v for v in lat], dtype=np.float64)
        x, y = transformer.transform(lo, la) if lo.size else (lo, la)
        whole = [
            [round(v) if np.isfinite(v) else None for v in np.asarray(a).tolist()] for a in (x, y)
        ]
        return whole[0], whole[1]

    return project


def _latest(session: Session, readable: set[int] | None) -> dict[int, tuple[datetime, float]]:
    """The latest observation of every datastream in ``readable`` (``None``: all)."""
    if readable is not None and not readable:
        return {}
    last = select(
        Observation.datastream_id.label("ds"), func.max(Observation.phenomenon_time).label("t")
    ).group_by(Observation.datastream_id)
    if readable is not None:
        last = last.where(Observation.datastream_id.in_(sorted(readable)))
    sub = last.subquery()
    query = select(Observation.datastream_id, Observation.phenomenon_time, Observation.result).join(
        sub, and_(Observation.datastream_id == sub.c.ds, Observation.phenomenon_time == sub.c.t)
    )
    return {int(d): (t, float(r)) for d, t, r in session.execute(query)}


def _stream_levels(session: Session) -> dict[int, str]:
    """The highest level of the active warnings of every datastream that has one."""
    rank: dict[str, int] = {level: k for k, level in enumerate(LEVELS)}
    out: dict[int, str] = {}
    query = select(LiveWarning.datastream_id, LiveWarning.level).where(
        LiveWarning.status == "active"
    )
    for stream, level in session.execute(query):
        if rank.get(level, 0) > rank.get(out.get(stream, "none"), 0):
            out[int(stream)] = level
    return out


def _sensors(session: Session, principal: Principal, city: City) -> list[dict[str, Any]]:
    readable = readable_datastreams(session, principal)
    latest = _latest(session, readable)
    levels = _stream_levels(session)
    sensors = session.scalars(select(Sensor).order_by(Sensor.id)).all()
    streams: dict[int, list[dict[str, Any]]] = {s.id: [] for s in sensors}
    for d in session.scalars(select(Datastream).order_by(Datastream.id)):
        last = latest.get(d.id)
        streams.setdefault(d.sensor_id, []).append(
            {
                "id": d.id,
                "name": d.name,
                "observed_property": d.observed_property,
                "unit": d.unit,
                "latest": None if last is None else {"time": _iso(last[0]), "result": last[1]},
                "warning_level": levels.get(d.id, "none"),
            }
        )
    x, y = _projector(city)([s.lon for s in sensors], [s.lat for s in sensors])
    rank = {level: k for k, level in enumerate(LEVELS)}
    out = []
    for s, sx, sy in zip(sensors, x, y, strict=True):
        own = streams[s.id]
        level = max((d["warning_level"] for d in own), key=rank.__getitem__, default="none")
        out.append(
            {
                "id": s.id,
                "name": s.name,
                "kind": s.kind,
                "x": sx,
                "y": sy,
                "lon": s.lon,
                "lat": s.lat,
                "agency": s.agency_id,
                "asset_id": s.asset_id,
                "datastreams": own,
                "level": level,
            }
        )
    return out


def _incidents(session: Session, city: City) -> list[dict[str, Any]]:
    query = select(Incident).where(Incident.status.in_(OPEN_STATES)).order_by(Incident.id.desc())
    rows = session.scalars(query).all()
    x, y = _projector(city)([i.lon for i in rows], [i.lat for i in rows])
    return [
        {
            "id": i.id,
            "category": i.category,
            "status": i.status,
            "x": ix,
            "y": iy,
            "lon": i.lon,
            "lat": i.lat,
            "reported_at": _iso(i.reported_at),
            "people": i.people,
            "priority": i.priority,
            "reports": i.reports,
        }
        for i, ix, iy in zip(rows, x, y, strict=True)
    ]


@router.get("/api/map/live")
def map_live(service: ServiceDep, principal: CurrentPrincipal, city: ServiceCity) -> dict[str, Any]:
    """Sensors (latest values the caller may read, warning levels), active warnings, incidents.

    Incidents only for staff (admin, analyst, operator); anonymous and public callers get an
    empty list. ``x``/``y`` are in the twin's CRS (whole metres).
    """
    warnings = list_warnings(
        service, principal, status_="active", level=None, since=None, limit=1000, offset=0
    )
    active = [w.model_dump(mode="json") for w in warnings]
    wx, wy = _projector(city)([w["lon"] for w in active], [w["lat"] for w in active])
    for w, x, y in zip(active, wx, wy, strict=True):
        w.update(x=x, y=y)
    with service.db.read() as session:
        sensors = _sensors(session, principal, city)
        incidents = _incidents(session, city) if principal.role in STAFF else []
    return {"sensors": sensors, "warnings": active, "incidents": incidents}


# --- assets -----------------------------------------------------------------------------------


def _asset_index(city: City) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    x, y = _points_xy(city.assets.geometry)
    return pd.Index(city.assets["asset_id"].astype(str)), x, y


_ASSET_INDEX: _PerCity[tuple[pd.Index, np.ndarray, np.ndarray]] = _PerCity(_asset_index)
_ASSET_FIELDS = (
    "occupancy",
    "storeys",
    "floor_area_m2",
    "occupants",
    "capacity",
    "zone_id",
    "cell_id",
    "node_id",
)


def _asset(city: City, k: int, x: float, y: float) -> dict[str, Any]:
    row = city.assets.iloc[k]
    lon, lat = Transformer.from_crs(city.crs, "EPSG:4326", always_xy=True).transform(x, y)
    out: dict[str, Any] = {
        "id": str(row["asset_id"]),
        "kind": str(row["kind"]),
        "sector": str(row["sector"]),
        "name": str(row["name"]),
        "x": round(float(x), 1),
        "y": round(float(y), 1),
        "lon": round(float(lon), 6),
        "lat": round(float(lat), 6),
        "value": float(row["value_cny"]),
        "currency": "CNY",
    }
    out.update({c: row[c] for c in _ASSET_FIELDS if c in row.index})
    return dict(json_ready(out, 6))


def _scenario_state(job_id: str, run: ScenarioRun, k: int) -> dict[str, Any]:
    """What the run did to asset number ``k``: per hazard, combined, and the chain of causes."""
    hazards = []
    p_up, loss, damage = 1.0, 0.0, 0.0
    for impact in run.impacts:
        row = impact.assets.iloc[k]
        hazards.append(
            {
                "name": impact.name,
                "kind": impact.kind,
                "unit": impact.unit,
                "intensity": float(row["intensity"]),
                "damage_ratio": float(row["damage_ratio"]),
                "loss": float(row["loss_cny"]),
                "p_functional": float(row["p_functional"]),
                "restoration_days": float(row["restoration_days"]),
            }
        )
        p_up *= float(row["p_functional"])
        loss += float(row["loss_cny"])
        damage = max(damage, float(row["damage_ratio"]))
    out: dict[str, Any] = {
        "scenario_id": job_id,
        "name": run.scenario.name,
        "intensity": hazards[0]["intensity"] if hazards else None,
        "unit": hazards[0]["unit"] if hazards else None,
        "damage_ratio": damage,
        "loss": loss,
        "p_functional": p_up,
        "hazards": hazards,
        "down": False,
        "damage_state": None,
        "cause": "",
        "chain": [],
    }
    stage = run.network
    if stage is not None:
        cascade = stage.cascade
        kinds = run.city.assets["kind"].astype(str).tolist()
        out["down"] = not bool(cascade.functional[k])
        out["damage_state"] = "damaged" if bool(stage.damaged[k]) else "intact"
        out["restoration_days"] = float(stage.restoration_days[k])
        out["cause"] = str(cascade.cause[k])
        out["chain"] = cascade_chain(cascade, kinds, k)
    return dict(json_ready(out, 6))


AssetId = Annotated[str, PathParam(min_length=1, max_length=200, description="assets.asset_id")]


@router.get("/api/assets/{asset_id}")
def asset_details(
    asset_id: AssetId, principal: Authenticated, city: ServiceCity, jobs: Jobs
) -> dict[str, Any]:
    """An asset, and what the latest finished scenario run did to it (``null`` without one).

    When the asset is down, ``scenario.chain`` lists the chain of causes from the asset to the
    one that started it (``asset_id``, ``kind``, ``reason``).
    """
    ids, xs, ys = _ASSET_INDEX.get(city)
    k = int(ids.get_indexer(pd.Index([asset_id]))[0])
    if k < 0:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no asset with id {asset_id}")
    latest = jobs.latest_run()
    scenario = None
    if latest is not None and latest[1].city is city:
        scenario = _scenario_state(latest[0], latest[1], k)
    return {"asset": _asset(city, k, float(xs[k]), float(ys[k])), "scenario": scenario}


# --- resilience -------------------------------------------------------------------------------


def _baseline_run(city: City, size: str) -> ScenarioRun:
    """The demo's default scenario on ``city`` (the assessment needs a run), without the
    repair-policy comparison (the assessment does not use it)."""
    from resilientcity.pipeline import demo_scenario
    from resilientcity.scenario.run import run_scenario

    scenario = demo_scenario(size)
    recovery = scenario.recovery.model_copy(update={"compare_policies": False})
    return run_scenario(scenario.model_copy(update={"recovery": recovery}), city=city)


def _typed_trend(city: City) -> pd.DataFrame | None:
    """Scores of every year of the demo's typed-in table on one scale (units × years)."""
    from resilientcity.assessment.data import read_indicator_table
    from resilientcity.assessment.from_twin import district_population
    from resilientcity.assessment.indicators import IndicatorLibrary
    from resilientcity.assessment.run import assess

    library = IndicatorLibrary.default()
    population = district_population(city)
    table = resources.files("resilientcity").joinpath("data", "assessment", "demo_districts.csv")
    with resources.as_file(table) as path:
        typed = read_indicator_table(path, library, units=population.index)
    result = assess(typed, library, samples=0, population=population, drop_constant=True)
    return result.trend


class _Resilience:
    """The assessment JSON per city and scenario run, computed once (callers wait)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[int, str], tuple[City, dict[str, Any]]] = {}
        self._baselines: dict[int, tuple[City, ScenarioRun]] = {}

    def _run(self, city: City, jobs: ScenarioJobs, size: str) -> tuple[str | None, ScenarioRun]:
        """The latest finished run on ``city`` and its id, or the demo scenario's (id ``None``)."""
        latest = jobs.latest_run()
        if latest is not None and latest[1].city is city:
            return latest
        known = self._baselines.get(id(city))
        if known is None or known[0] is not city:
            known = self._baselines[id(city)] = (city, _baseline_run(city, size))
        return None, known[1]

    def get(self, city: City, jobs: ScenarioJobs, size: str) -> dict[str, Any]:
        from resilientcity.assessment.run import demo_assessment

        with self._lock:
            run_id, run = self._run(city, jobs, size)
            key = (id(city), run_id or "")
            known = self._items.get(key)
            if known is not None and known[0] is city:
                return known[1]
            result, maturity, _ = demo_assessment(city, run)
            source = {"scenario_id": run_id, "name": run.scenario.name}
            value = {**resilience_json(result, maturity, _typed_trend(city)), "run": source}
            if len(self._items) >= _CACHED_CITIES:
                self._items.clear()
            self._items[key] = (city, value)
            return value


_RESILIENCE = _Resilience()


@router.get("/api/resilience")
def resilience(
    principal: Authenticated, service: ServiceDep, city: ServiceCity, jobs: Jobs
) -> dict[str, Any]:
    """Resilience scores of the city and its districts, weak spots, maturity level and trends.

    The assessment of :func:`~resilientcity.assessment.run.demo_assessment` with the latest
    finished scenario run (or, before any, the demo's default scenario run once on the city);
    ``trend`` scores the years of the typed-in district table on one scale.
    """
    return _RESILIENCE.get(city, jobs, service.settings.city_size)


# --- installation -----------------------------------------------------------------------------


def install_web(app: FastAPI, jobs: ScenarioJobs | None = None) -> ScenarioJobs:
    """Add the operations centre to ``app``: the page, static files, web and scenario endpoints.

    Parameters
    ----------
    app
        The application of :func:`resilientcity.api.app.create_app`.
    jobs
        The scenario queue (default: a new one with a temporary folder of the process); kept
        on ``app.state.scenario_jobs`` (the application's lifespan closes it at shutdown).

    Returns
    -------
    ScenarioJobs
        The scenario queue (the one already installed, when called twice).
    """
    installed: ScenarioJobs | None = getattr(app.state, "scenario_jobs", None)
    if installed is not None:  # create_app installs it already: nothing to add twice
        return installed
    if jobs is None:
        remove_orphaned_roots()  # the runs of servers that were killed
        jobs = ScenarioJobs()
    queue = jobs
    app.state.scenario_jobs = queue
    app.include_router(router)
    app.include_router(scenarios.router)
    app.mount(
        "/static", _RevalidatedFiles(directory=static_folder(), check_dir=False), name="static"
    )
    return queue
