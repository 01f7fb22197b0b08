"""Scenario runs as requested over the API: one hazard, checked, turned into a scenario.

A request names one hazard (``river_flood`` at a stage, a ``rainstorm`` of a return period and
duration, an ``earthquake`` of a magnitude at an epicentre, a ``typhoon`` along a track). The
models here check what holds for any city (types, magnitudes); what depends on the city (the
hazards it can run, the stage range of its DEM, the return periods and durations of its
rainfall) is checked by :func:`~resilientcity.operations.scenario_options.check_request` against
the same options the form is built from (``GET /api/scenarios/options``).

:func:`scenario_for` turns a request into a :class:`~resilientcity.scenario.config.Scenario`:
on the demo city, the demo's scenario (:func:`resilientcity.pipeline.demo_scenario`, with its
impact, recovery, decision and assessment options) with its hazards replaced by the requested
one and without the demo's probabilistic event sets (they give the expected annual loss of the
city, not of the requested event); on a user's twin, :func:`resilientcity.pipeline.twin_scenario`
(no demo assessment table). The queue that runs them is
:mod:`resilientcity.operations.scenario_jobs`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyproj import Transformer

from resilientcity.errors import Problem, ValidationError
from resilientcity.hazard.wind import TyphoonTrack
from resilientcity.operations.scenario_options import (
    DEPTH_RANGE_KM,
    MAGNITUDE_RANGE,
    check_request,
    refuse_request,
    scenario_options,
)
from resilientcity.pipeline import twin_scenario
from resilientcity.scenario.config import (
    EarthquakeSpec,
    HazardSpec,
    PluvialFloodSpec,
    RiverFloodSpec,
    Scenario,
    WindSpec,
)
from resilientcity.twin.city import City

__all__ = [
    "EPICENTRE_MARGIN_M",
    "TRACK_FIELDS",
    "EarthquakeRequest",
    "RainstormRequest",
    "RiverFloodRequest",
    "ScenarioRequest",
    "TrackPoint",
    "TyphoonRequest",
    "scenario_for",
]

#: An epicentre may lie this far (m) outside the city's bounding box.
EPICENTRE_MARGIN_M = 100_000.0
#: The order of the values of a track point given as a list.
TRACK_FIELDS = (
    "lon",
    "lat",
    "time",
    "central_pressure_hpa",
    "environmental_pressure_hpa",
    "rmax_km",
    "holland_b",
)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RiverFloodRequest(_Request):
    """A river flood at a given stage (m, the DEM's datum)."""

    hazard: Literal["river_flood"]
    stage_m: float = Field(
        allow_inf_nan=False,
        description="river stage (m, the DEM's datum), within the city's range "
        "(GET /api/scenarios/options)",
    )


class RainstormRequest(_Request):
    """The design rainstorm of a return period and duration."""

    hazard: Literal["rainstorm"]
    return_period: float = Field(
        gt=1.0,
        allow_inf_nan=False,
        description="return period (years), within the city's rainfall range "
        "(GET /api/scenarios/options)",
    )
    duration_h: float | None = Field(
        default=None,
        gt=0.0,
        allow_inf_nan=False,
        description="duration (h), within the city's rainfall range; default: the city's",
    )


class EarthquakeRequest(_Request):
    """An earthquake: magnitude and epicentre (``x``/``y`` in the city's CRS, or ``lon``/``lat``)."""

    hazard: Literal["earthquake"]
    magnitude: float = Field(
        ge=MAGNITUDE_RANGE[0],
        le=MAGNITUDE_RANGE[1],
        description=f"moment magnitude, {MAGNITUDE_RANGE[0]:g}–{MAGNITUDE_RANGE[1]:g}",
    )
    x: float | None = Field(default=None, description="epicentre x (m, the city's CRS)")
    y: float | None = Field(default=None, description="epicentre y (m, the city's CRS)")
    lon: float | None = Field(default=None, ge=-180.0, le=180.0)
    lat: float | None = Field(default=None, ge=-90.0, le=90.0)
    depth_km: float = Field(
        default=10.0,
        ge=DEPTH_RANGE_KM[0],
        le=DEPTH_RANGE_KM[1],
        description="hypocentre depth (km)",
    )

    @model_validator(mode="after")
    def _one_epicentre(self) -> EarthquakeRequest:
        xy = (self.x is not None, self.y is not None)
        lonlat = (self.lon is not None, self.lat is not None)
        if len(set(xy)) > 1 or len(set(lonlat)) > 1 or all(xy) == all(lonlat):
            raise ValueError("give the epicentre as both x and y, or as both lon and lat")
        return self


class TrackPoint(_Request):
    """One point of a typhoon track.

    As a list: ``[lon, lat, time, central_pressure_hpa, environmental_pressure_hpa, rmax_km,
    holland_b]`` (the last three may be left out).
    """

    lon: float = Field(ge=-180.0, le=180.0)
    lat: float = Field(ge=-90.0, le=90.0)
    time: datetime
    central_pressure_hpa: float = Field(ge=850.0, le=1020.0)
    environmental_pressure_hpa: float = Field(default=1008.0, ge=950.0, le=1030.0)
    rmax_km: float = Field(default=40.0, gt=0.0, le=500.0)
    holland_b: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            if not 4 <= len(data) <= len(TRACK_FIELDS):
                raise ValueError(f"a list of 4 to 7 values: {', '.join(TRACK_FIELDS)}")
            return dict(zip(TRACK_FIELDS, data, strict=False))
        return data


class TyphoonRequest(_Request):
    """A typhoon along a track (at least two points, in time order)."""

    hazard: Literal["typhoon"]
    track: list[TrackPoint] = Field(min_length=2, max_length=1000)


#: The body of ``POST /api/scenarios``: one hazard, told apart by ``hazard``.
ScenarioRequest = Annotated[
    RiverFloodRequest | RainstormRequest | EarthquakeRequest | TyphoonRequest,
    Field(discriminator="hazard"),
]


def _check_epicentre(request: EarthquakeRequest, city: City) -> tuple[float, float]:
    """The epicentre in the city's CRS, refused when farther than the margin from the city."""
    if request.x is not None and request.y is not None:
        x, y, names = request.x, request.y, ("x", "y")
    else:
        to_city = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
        x, y = to_city.transform(request.lon, request.lat)
        names = ("lon", "lat")
    xmin, ymin, xmax, ymax = city.extent() or (0.0, 0.0, 0.0, 0.0)
    m = EPICENTRE_MARGIN_M
    rule = f"an epicentre within {m / 1000:g} km of the city's bounds"
    if not xmin - m <= x <= xmax + m:
        refuse_request(names[0], f"{rule} (x {xmin - m:,.0f} to {xmax + m:,.0f} m)", f"{x:,.0f}")
    if not ymin - m <= y <= ymax + m:
        refuse_request(names[1], f"{rule} (y {ymin - m:,.0f} to {ymax + m:,.0f} m)", f"{y:,.0f}")
    return float(x), float(y)


def _track_file(request: TyphoonRequest, folder: Path) -> Path:
    """The track checked (:class:`TyphoonTrack`) and written as CSV into ``folder``."""
    rows = [p.model_dump(exclude_none=True) for p in request.track]
    frame = pd.DataFrame(rows)
    frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_localize(None)
    try:
        TyphoonTrack(frame.rename(columns={"lon": "x", "lat": "y"}), "EPSG:4326", "request")
    except ValidationError as exc:
        names = {"x": "lon", "y": "lat"}
        problems = [
            Problem("body", f"track.{names.get(p.column, p.column)}", p.expected, p.rows, p.found)
            for p in exc.problems
        ]
        raise ValidationError(problems, what="typhoon track") from None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "track.csv"
    frame.to_csv(path, index=False)
    return path


def _hazard(request: Any, city: City, folder: Path, options: dict[str, Any]) -> HazardSpec:
    if isinstance(request, RiverFloodRequest):
        return RiverFloodSpec(kind="river_flood", stage_m=request.stage_m, stage_frequency=None)
    if isinstance(request, RainstormRequest):
        assert request.duration_h is not None  # the city's default was filled in
        return PluvialFloodSpec(
            kind="pluvial_flood",
            return_period_years=request.return_period,
            duration_min=request.duration_h * 60.0,
        )
    if isinstance(request, EarthquakeRequest):
        return EarthquakeSpec(
            kind="earthquake",
            magnitude=request.magnitude,
            epicentre_xy=_check_epicentre(request, city),
            depth_km=request.depth_km,
            vs30=options["hazards"]["earthquake"]["vs30"],
        )
    return WindSpec(kind="wind", track=_track_file(request, folder))


def _with_defaults(request: Any, options: dict[str, Any]) -> Any:
    """The request with the city's defaults for the fields it left out (a rainstorm's duration)."""
    if isinstance(request, RainstormRequest) and request.duration_h is None:
        hours = options["hazards"]["rainstorm"]["duration_h"]["default"]
        return request.model_copy(update={"duration_h": hours})
    return request


def _describe(request: Any) -> str:
    if isinstance(request, RiverFloodRequest):
        return f"river flood at stage {request.stage_m:g} m"
    if isinstance(request, RainstormRequest):
        return f"{request.return_period:g}-year {request.duration_h:g}-hour rainstorm"
    if isinstance(request, EarthquakeRequest):
        return f"M{request.magnitude:g} earthquake"
    return f"typhoon along a {len(request.track)}-point track"


def scenario_for(
    request: Any,
    base: Scenario | Path,
    city: City,
    folder: Path,
    options: dict[str, Any] | None = None,
) -> Scenario:
    """The scenario of a request: the base's options with the requested hazard, no event sets.

    Parameters
    ----------
    request
        A validated request (:data:`ScenarioRequest`).
    base
        The scenario whose options are kept (the demo's), or the path of the user's twin the
        service runs (the scenario is then :func:`resilientcity.pipeline.twin_scenario`).
    city
        The city it runs on (an epicentre must lie within :data:`EPICENTRE_MARGIN_M` of it).
    folder
        The job's folder (a typhoon's track is written there).
    options
        :func:`~resilientcity.operations.scenario_options.scenario_options` of ``city`` (made
        here when not given).

    Raises
    ------
    ValidationError
        A hazard the city cannot run, a value outside the city's range (both by
        :func:`~resilientcity.operations.scenario_options.check_request`), an epicentre too far
        from the city, or a track that breaks the track rules.
    """
    options = scenario_options(city) if options is None else options
    request = _with_defaults(request, options)
    check_request(request, options)
    hazard = _hazard(request, city, folder, options)
    if isinstance(base, Path):
        return twin_scenario(
            base, [hazard], _describe(request), "requested in the operations centre"
        )
    return base.model_copy(
        update={
            "name": _describe(request),
            "description": "requested in the operations centre",
            "hazards": [hazard],
            "event_sets": [],
        }
    )
