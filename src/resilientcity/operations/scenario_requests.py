"""Scenario runs as requested over the API: one hazard, checked, turned into a scenario.

A request names one hazard (``river_flood`` at a stage, a ``rainstorm`` of a return period and
duration, an ``earthquake`` of a magnitude at an epicentre, a ``typhoon`` along a track).
:func:`scenario_for` turns it into a :class:`~resilientcity.scenario.config.Scenario` by taking
a base scenario (the demo's: :func:`resilientcity.pipeline.demo_scenario`, with its impact,
recovery and decision options) and replacing its hazards with the requested one; the demo's
probabilistic event sets are left out (they give the expected annual loss of the city, not of
the requested event). The queue that runs them is :mod:`resilientcity.operations.scenario_jobs`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pyproj import Transformer

from resilientcity.errors import Problem, ValidationError
from resilientcity.hazard.wind import TyphoonTrack
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
    stage_m: float = Field(ge=20.0, le=60.0, description="river stage (m), 20 to 60")


class RainstormRequest(_Request):
    """The design rainstorm of a return period and duration."""

    hazard: Literal["rainstorm"]
    return_period: float = Field(ge=2.0, le=1000.0, description="return period (years), 2–1000")
    duration_h: float = Field(default=2.0, ge=0.25, le=24.0, description="duration (h)")


class EarthquakeRequest(_Request):
    """An earthquake: magnitude and epicentre (``x``/``y`` in the city's CRS, or ``lon``/``lat``)."""

    hazard: Literal["earthquake"]
    magnitude: float = Field(ge=4.0, le=8.5, description="moment magnitude, 4–8.5")
    x: float | None = Field(default=None, description="epicentre x (m, the city's CRS)")
    y: float | None = Field(default=None, description="epicentre y (m, the city's CRS)")
    lon: float | None = Field(default=None, ge=-180.0, le=180.0)
    lat: float | None = Field(default=None, ge=-90.0, le=90.0)
    depth_km: float = Field(default=10.0, ge=0.0, le=70.0, description="hypocentre depth (km)")

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


def _refuse(column: str, expected: str, found: str) -> NoReturn:
    raise ValidationError([Problem("body", column, expected, found=found)], what="scenario request")


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
        _refuse(names[0], f"{rule} (x {xmin - m:,.0f} to {xmax + m:,.0f} m)", f"{x:,.0f}")
    if not ymin - m <= y <= ymax + m:
        _refuse(names[1], f"{rule} (y {ymin - m:,.0f} to {ymax + m:,.0f} m)", f"{y:,.0f}")
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


def _hazard(request: Any, city: City, folder: Path) -> HazardSpec:
    if isinstance(request, RiverFloodRequest):
        return RiverFloodSpec(kind="river_flood", stage_m=request.stage_m, stage_frequency=None)
    if isinstance(request, RainstormRequest):
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
        )
    return WindSpec(kind="wind", track=_track_file(request, folder))


def _describe(request: Any) -> str:
    if isinstance(request, RiverFloodRequest):
        return f"river flood at stage {request.stage_m:g} m"
    if isinstance(request, RainstormRequest):
        return f"{request.return_period:g}-year {request.duration_h:g}-hour rainstorm"
    if isinstance(request, EarthquakeRequest):
        return f"M{request.magnitude:g} earthquake"
    return f"typhoon along a {len(request.track)}-point track"


def scenario_for(request: Any, base: Scenario, city: City, folder: Path) -> Scenario:
    """The scenario of a request: ``base`` with the requested hazard and no event sets.

    Parameters
    ----------
    request
        A validated request (:data:`ScenarioRequest`).
    base
        The scenario whose options are kept (the demo's).
    city
        The city it runs on (an epicentre must lie within :data:`EPICENTRE_MARGIN_M` of it).
    folder
        The job's folder (a typhoon's track is written there).

    Raises
    ------
    ValidationError
        An epicentre too far from the city, or a track that breaks the track rules.
    """
    hazard = _hazard(request, city, folder)
    return base.model_copy(
        update={
            "name": _describe(request),
            "description": "requested in the operations centre",
            "hazards": [hazard],
            "event_sets": [],
        }
    )
