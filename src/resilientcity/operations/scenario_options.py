"""What a scenario request may ask of the service's city: the hazards offered, ranges, defaults.

The form of the web page and the check of ``POST /api/scenarios`` read the same limits, made
here from the city's own data by :func:`scenario_options` (``GET /api/scenarios/options``) and
applied by :func:`check_request`:

* **River flood**: offered when the city has a DEM and river centrelines. The stage ranges over
  the DEM's ground elevations (lowest to highest cell, m in the DEM's datum: a stage below the
  lowest ground floods nothing, one above the highest floods every connected cell). Default: the
  100-year stage of the region's stage-frequency table when it has one (the demo: the Xiang
  River at Changsha), else the median ground elevation along the rivers plus
  :data:`STAGE_ABOVE_RIVER_M` (an assumption).
* **Rainstorm**: offered when the city has a DEM (the ponding model) and a rainfall source (the
  region's storm intensity formula or station rainfall table,
  :func:`rainfall_of`). A table's return periods and durations
  bound the request (no extrapolation: the Finnish table has 6-hour depths of 10 to 100 years);
  a formula takes :data:`FORMULA_RETURN_PERIODS_Y` and :data:`FORMULA_DURATIONS_H`.
* **Earthquake**: always offered; default epicentre at the city's centre
  (:meth:`~resilientcity.twin.City.centre_lonlat`). Without a DEM the site condition is the
  reference rock of BSSA14 (V_S30 :data:`ROCK_VS30_M_S` m/s at every asset) instead of the
  DEM-slope proxy, and the options say so.
* **Typhoon / windstorm**: always offered; default track :func:`default_track`, crossing the
  city's centre.

The demo city (``demo=True``) keeps the demo's defaults (stage 39.5 m, epicentre 113.10 E 28.10 N,
the track from the south-east over Changsha); its limits are made by the same rules.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Literal, NoReturn

import numpy as np
import shapely

from resilientcity.errors import Problem, ValidationError
from resilientcity.hazard.flood import StageFrequency
from resilientcity.hazard.rainfall_table import RainfallTable, packaged_table_path
from resilientcity.hazard.rainstorm import Rainfall, packaged_rainfall
from resilientcity.twin.city import City

__all__ = [
    "DEFAULT_DEPTH_KM",
    "DEFAULT_MAGNITUDE",
    "DEPTH_RANGE_KM",
    "FORMULA_DURATIONS_H",
    "FORMULA_RETURN_PERIODS_Y",
    "HAZARDS",
    "MAGNITUDE_RANGE",
    "ROCK_VS30_M_S",
    "STAGE_ABOVE_RIVER_M",
    "check_request",
    "default_track",
    "rainfall_of",
    "refuse_request",
    "scenario_options",
]

HazardName = Literal["river_flood", "rainstorm", "earthquake", "typhoon"]
#: The hazards a request may name, in the order of the form.
HAZARDS: tuple[HazardName, ...] = ("river_flood", "rainstorm", "earthquake", "typhoon")

#: Moment magnitudes a request may ask for (the range of the BSSA14 ground-motion model, M 3–8.5,
#: from M 4: smaller events do not damage buildings).
MAGNITUDE_RANGE = (4.0, 8.5)
#: Hypocentre depths (km) a request may ask for (crustal events; BSSA14 is for shallow crust).
DEPTH_RANGE_KM = (0.0, 70.0)
#: Default magnitude and depth of the form (assumption: a strong, shallow crustal earthquake).
DEFAULT_MAGNITUDE, DEFAULT_DEPTH_KM = 6.5, 10.0
#: Return periods (years) asked of a storm intensity formula: GB 50014 formulas are fitted on
#: annual-maximum series of 2 years and more; beyond 1,000 years is extrapolation too far.
FORMULA_RETURN_PERIODS_Y = (2.0, 1000.0)
#: Durations (h) asked of a storm intensity formula (15 minutes to a day).
FORMULA_DURATIONS_H = (0.25, 24.0)
#: Default return period (years) and duration (h) of the rainstorm form, within the source's range.
DEFAULT_RETURN_PERIOD_Y, DEFAULT_DURATION_H = 100.0, 2.0
#: Metres above the median ground along the rivers of the default stage of a city without a
#: stage-frequency table (assumption: a flood a few metres above the river's banks).
STAGE_ABOVE_RIVER_M = 3.0
#: V_S30 (m/s) at every asset of a city without a DEM: the reference rock site of BSSA14
#: (Boore et al. 2014), the default of :func:`resilientcity.hazard.earthquake.earthquake_scenario`.
ROCK_VS30_M_S = 760.0

_DEMO_STAGE_M = 39.5
_DEMO_EPICENTRE = (113.10, 28.10)
_TRACK_START = datetime(2026, 7, 20)
#: The demo's track (lon, lat, hours after the start, central pressure hPa, environmental
#: pressure hPa, radius of maximum wind km): from the south-east over Changsha.
_DEMO_TRACK = ((114.60, 26.60, 0, 970, 1008, 40), (114.00, 27.20, 6, 972, 1008, 42),
               (113.40, 27.80, 12, 975, 1008, 45), (112.90, 28.30, 18, 978, 1008, 48),
               (112.40, 28.80, 24, 982, 1008, 50))  # fmt: skip
#: The points of the demo track that :func:`default_track` moves over a city.
_MOVED = (0, 2, 4)


def _hazard_unavailable(reason: str, detail: str) -> dict[str, Any]:
    return {"available": False, "reason": reason, "detail": detail}


def _floor(value: float) -> float:
    return math.floor(value * 100.0) / 100.0


def _ceil(value: float) -> float:
    return math.ceil(value * 100.0) / 100.0


def _river_ground_m(city: City) -> float:
    """Median ground elevation (m) of the DEM along the river centrelines (cell spacing)."""
    assert city.dem is not None
    step = float(min(city.dem.resolution_m))
    lines = shapely.segmentize(city.rivers.geometry.to_numpy(), step)
    xy = shapely.get_coordinates(lines)
    inside = city.dem.inside(xy[:, 0], xy[:, 1])
    ground = city.dem.sample(xy[inside, 0], xy[inside, 1]).astype(np.float64)
    ground = ground[np.isfinite(ground)]
    if not ground.size:
        return float(np.nanmin(city.dem.elevation_m))
    return float(np.median(ground))


def _river_flood(city: City, demo: bool) -> dict[str, Any]:
    if city.dem is None:
        return _hazard_unavailable("no_dem", f"{city.name} has no DEM (twin import-osm --dem)")
    if not len(city.rivers):
        return _hazard_unavailable("no_rivers", f"{city.name} has no river centrelines")
    low = _floor(float(np.nanmin(city.dem.elevation_m)))
    high = _ceil(float(np.nanmax(city.dem.elevation_m)))
    table = city.profile.stage_frequency
    if demo:
        default, source = _DEMO_STAGE_M, "the demo's stage (the 2017 record at Changsha, 39.51 m)"
    elif table is not None:
        default = StageFrequency.from_file(packaged_table_path(table)).stage_for(100.0)
        source = f"the 100-year stage of data/hazard/{table}"
    else:
        default = _river_ground_m(city) + STAGE_ABOVE_RIVER_M
        source = (
            f"assumption: the median ground along the rivers + {STAGE_ABOVE_RIVER_M:g} m "
            "(no stage-frequency table for the region)"
        )
    return {
        "available": True,
        "stage_m": {"min": low, "max": high, "default": round(min(max(default, low), high), 2)},
        "source": f"stage range: the lowest and highest ground of the DEM; default: {source}",
    }


def rainfall_of(city: City) -> Rainfall | None:
    """The rainfall input of the city's region (a formula or the nearest station's table), or None.

    What a scenario run takes when the scenario gives no ``storm_intensity`` file
    (:func:`~resilientcity.hazard.rainstorm.packaged_rainfall`).
    """
    name = city.profile.rainfall
    return None if name is None else packaged_rainfall(name, *city.centre_lonlat())


def _bounded(low: float, high: float, default: float) -> dict[str, float]:
    return {"min": low, "max": high, "default": min(max(default, low), high)}


def _rainstorm(city: City) -> dict[str, Any]:
    if city.dem is None:
        return _hazard_unavailable("no_dem", f"{city.name} has no DEM (twin import-osm --dem)")
    source = rainfall_of(city)
    if source is None:
        region = city.profile
        return _hazard_unavailable(
            "no_rainfall",
            f"no design rainfall for region {region.id} ({region.country_name})",
        )
    if isinstance(source, RainfallTable):
        periods = (float(source.return_periods_years[0]), float(source.return_periods_years[-1]))
        hours = (float(source.durations_min[0]) / 60.0, float(source.durations_min[-1]) / 60.0)
        where = f"the rainfall table of station {source.station} (data/hazard/"
        where += f"{city.profile.rainfall}; no extrapolation)"
    else:
        periods, hours = FORMULA_RETURN_PERIODS_Y, FORMULA_DURATIONS_H
        where = f"the storm intensity formula of data/hazard/{city.profile.rainfall}"
    return {
        "available": True,
        "return_period": _bounded(*periods, DEFAULT_RETURN_PERIOD_Y),
        "duration_h": _bounded(*hours, DEFAULT_DURATION_H),
        "source": where,
    }


def _earthquake(city: City, demo: bool) -> dict[str, Any]:
    lon, lat = _DEMO_EPICENTRE if demo else city.centre_lonlat()
    site = (
        "V_S30 from the DEM's slope (Wald and Allen 2007)"
        if city.dem is not None
        else f"no DEM: V_S30 {ROCK_VS30_M_S:g} m/s (reference rock of BSSA14) at every asset"
    )
    return {
        "available": True,
        "magnitude": _bounded(*MAGNITUDE_RANGE, DEFAULT_MAGNITUDE),
        "depth_km": _bounded(*DEPTH_RANGE_KM, DEFAULT_DEPTH_KM),
        "lon": round(lon, 4),
        "lat": round(lat, 4),
        "site": site,
        "vs30": "slope" if city.dem is not None else ROCK_VS30_M_S,
    }


def default_track(lon: float, lat: float) -> list[list[Any]]:
    """A windstorm track over ``(lon, lat)``: the demo's track moved to cross that point.

    Three points 12 hours apart from the south-east to the north-west (1.2° before and 1.0° of
    longitude and latitude after the point), with the demo track's pressures and radii (an
    assumption: a strong storm passing over the city's centre).

    Returns
    -------
    list
        ``[lon, lat, time, central_pressure_hpa, environmental_pressure_hpa, rmax_km]`` per
        point (the track format of ``POST /api/scenarios``).
    """
    steps = ((1.2, -1.2), (0.0, 0.0), (-1.0, 1.0))
    return [
        [round(lon + dx, 2), round(lat + dy, 2), _time(hours), pc, pe, rmax]
        for (dx, dy), (*_, hours, pc, pe, rmax) in zip(
            steps, (_DEMO_TRACK[k] for k in _MOVED), strict=True
        )
    ]


def _time(hours: float) -> str:
    return (_TRACK_START + timedelta(hours=hours)).isoformat() + "Z"


def _typhoon(city: City, demo: bool) -> dict[str, Any]:
    if demo:
        track = [[x, y, _time(h), pc, pe, r] for x, y, h, pc, pe, r in _DEMO_TRACK]
    else:
        track = default_track(*city.centre_lonlat())
    return {"available": True, "track": track}


def scenario_options(city: City, demo: bool = False) -> dict[str, Any]:
    """The hazards a request may ask of ``city``, with their ranges and the form's defaults.

    Parameters
    ----------
    city
        The service's city.
    demo
        The city is the built-in demo city: the demo's defaults (the limits follow the same
        rules as for any city).

    Returns
    -------
    dict
        ``city`` (name), ``currency``, ``centre`` ([lon, lat]) and ``hazards``: per hazard
        (:data:`HAZARDS`) ``available`` and either ``reason`` (``no_dem``, ``no_rivers``,
        ``no_rainfall``) and ``detail`` in words, or its fields as ``{min, max, default}``
        (``stage_m``; ``return_period``, ``duration_h``; ``magnitude``, ``depth_km``, ``lon``,
        ``lat``; ``track``) and where they come from (``source``, ``site``).
    """
    lon, lat = city.centre_lonlat()
    return {
        "city": city.name,
        "currency": city.profile.currency,
        "centre": [round(lon, 4), round(lat, 4)],
        "hazards": {
            "river_flood": _river_flood(city, demo),
            "rainstorm": _rainstorm(city),
            "earthquake": _earthquake(city, demo),
            "typhoon": _typhoon(city, demo),
        },
    }


#: What a hazard not offered lacks, by reason.
_NEEDS = {"no_dem": "a DEM", "no_rivers": "river centrelines", "no_rainfall": "a design rainfall"}


def refuse_request(column: str, expected: str, found: str) -> NoReturn:
    """Raise the :class:`~resilientcity.errors.ValidationError` of a request's field (``body``)."""
    raise ValidationError([Problem("body", column, expected, found=found)], what="scenario request")


def _check_range(column: str, value: float, limits: dict[str, float], unit: str, why: str) -> None:
    low, high = limits["min"], limits["max"]
    if low - 1e-9 * abs(low) <= value <= high + 1e-9 * abs(high):
        return
    span = f"{low:g} {unit}" if low == high else f"from {low:g} to {high:g} {unit}"
    refuse_request(column, f"{span} ({why})", f"{value:g}")


def check_request(request: Any, options: dict[str, Any]) -> None:
    """Refuse a request the city cannot run, or one outside the city's ranges.

    Parameters
    ----------
    request
        A validated :data:`~resilientcity.operations.scenario_requests.ScenarioRequest`.
    options
        :func:`scenario_options` of the city.

    Raises
    ------
    ValidationError
        One problem naming the field (``hazard``, ``stage_m``, ``return_period``,
        ``duration_h``) and the city's range or why the hazard is not offered.
    """
    name = options["city"]
    hazard = options["hazards"][request.hazard]
    if not hazard["available"]:
        offered = [h for h in HAZARDS if options["hazards"][h]["available"]]
        needs = f"{request.hazard} needs {_NEEDS[hazard['reason']]}"
        refuse_request(
            "hazard",
            f"a hazard {name} can run ({', '.join(offered)}): {needs}",
            f"{request.hazard} ({hazard['detail']})",
        )
    if request.hazard == "river_flood":
        why = f"the ground elevations of {name}'s DEM"
        _check_range("stage_m", request.stage_m, hazard["stage_m"], "m", why)
    elif request.hazard == "rainstorm":
        why = f"{name}'s rainfall: {hazard['source']}"
        _check_range("return_period", request.return_period, hazard["return_period"], "years", why)
        _check_range("duration_h", request.duration_h, hazard["duration_h"], "h", why)
