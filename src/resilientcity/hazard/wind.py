"""Typhoon wind hazard: the Holland (1980) wind profile along a track, maximum wind per asset.

A track is a table of storm-centre positions in time with the central and environmental
pressure and the radius of maximum wind (:class:`TyphoonTrack`). It is interpolated linearly in
time to short steps (10 minutes by default); at every step the wind at every asset is the
parametric vortex of the storm, and the hazard intensity of an asset is the maximum over the
track of the wind speed there.

The vortex (the model CLIMADA calls ``H1980``, or ``H08`` when the track gives no Holland B):

* **Gradient wind** of Holland, G.J. (1980) *An analytic model of the wind and pressure profiles
  in hurricanes*, Monthly Weather Review 108:1212-1218
  (:func:`~resilientcity.hazard.holland.holland_gradient_wind`; the formulas of the vortex and
  the model's constants are in :mod:`resilientcity.hazard.holland`)::

      V_g(r) = sqrt( (B/ρ) (R_max/r)^B Δp exp(-(R_max/r)^B) + (r f/2)^2 ) - r f/2

  with ``Δp = p_env − p_c``, ``f = 2 Ω sin|φ|``, ``ρ = 1.15 kg/m³``.
* **Surface wind**: when the track gives Holland's ``B`` (a gradient-level parameter, 1 to 2.5),
  the gradient wind is reduced to a 1-minute sustained wind at 10 m by the factor 0.9 of
  Franklin et al. (2003), as CLIMADA's ``H1980`` model does. When it does not, ``B`` is the
  surface ``b_s`` of Holland (2008) eq. (11)
  (:func:`~resilientcity.hazard.holland.holland_2008_b`) and the profile is already
  the surface wind (no reduction), as CLIMADA's ``H08`` model does; since ``b_s`` was fitted to
  winds that include the storm's motion, the translation speed (times the absorbing factor
  below) is first subtracted from the profile, again as in CLIMADA.
* **Translational asymmetry** (optional, on by default): the storm's translation velocity
  ``v_t`` is added as a vector to the rotating wind (anticlockwise in the northern hemisphere,
  clockwise in the southern), scaled by the absorbing factor ``min(1, R_max / r)`` of Mouton,
  F. & Nordbeck, O. (2005) *Cyclone Database Manager*, UNEP/GRID-Geneva (Fig. 7), exactly as
  CLIMADA ``climada/hazard/trop_cyclone/trop_cyclone_windfields.py`` (``_compute_windfields``)
  does. The translation speed is capped at 30 knots (CLIMADA ``_vtrans``).

Every constant lives in ``data/hazard/wind_defaults.json`` with its source. The winds are
1-minute sustained winds at 10 m (m/s), the convention of the Emanuel (2011) damage curves in
``data/vulnerability/wind_damage.json``.

Assumptions: distances are Euclidean in the city's projected CRS (at city scale and within a UTM
zone the scale error is below 0.1 %); no terrain, roughness or land-decay correction (the wind is
that over open terrain, as in CLIMADA's parametric fields); no wind beyond ``max_distance_km``
(300 km) of the centre at a step; the track is linear in time between its points (in its own
CRS: longitude/latitude for EPSG:4326 tracks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer

from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.hazard.events import HazardEvents
from resilientcity.hazard.holland import (
    coriolis_parameter,
    holland_2008_b,
    holland_gradient_wind,
    wind_defaults,
)
from resilientcity.twin.city import City

__all__ = [
    "TRACK_COLUMNS",
    "TyphoonTrack",
    "max_surface_wind",
    "typhoon_wind_events",
    "typhoon_wind_scenario",
]

#: Required columns of a track table (``holland_b`` is optional).
TRACK_COLUMNS = (
    "time",
    "x",
    "y",
    "central_pressure_hpa",
    "environmental_pressure_hpa",
    "rmax_km",
)
_NUMERIC = TRACK_COLUMNS[1:]
_HPA = 100.0  # Pa per hPa
_DEFAULT_CHUNK = 2_000_000  # points × steps per block: a few 16 MB float64 arrays at once
_STEPS_PER_BLOCK = 32


def _fail(problems: list[Problem], what: str) -> None:
    if problems:
        raise ValidationError(problems, what=what)


def _rows(mask: NDArray[np.bool_]) -> tuple[str, ...]:
    return tuple(f"#{k}" for k in np.flatnonzero(mask))


def _crs(crs: object, layer: str) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError for anything unparsable
        problem = Problem(layer, "crs", "a CRS (EPSG code, WKT or pyproj CRS)", found=f"{crs!r}")
        raise ValidationError([problem], what=layer) from exc


@dataclass(frozen=True, eq=False)
class TyphoonTrack:
    """A storm track: centre positions in time with pressures and radius of maximum wind.

    Parameters
    ----------
    data
        One row per track point, in time order: ``time`` (datetime), ``x`` and ``y`` (the centre
        in ``crs``: longitude and latitude in degrees for EPSG:4326, metres for a projected CRS),
        ``central_pressure_hpa`` and ``environmental_pressure_hpa`` (hPa, the deficit
        ``environmental − central`` > 0), ``rmax_km`` (radius of maximum wind, km, > 0) and
        optionally ``holland_b`` (gradient-level Holland B, 1 to 2.5; without it B is estimated
        with Holland (2008), see the module docstring). Other columns are ignored.
    crs
        CRS of ``x``/``y``; default EPSG:4326 (longitude, latitude).
    track_id
        Id of the track, used as event id.

    Raises
    ------
    ValidationError
        Every problem of the table (missing columns, fewer than 2 points, times not strictly
        increasing, NaN, pressure deficit <= 0, radius <= 0, B out of range), each with its rows
        (``#0`` is the first).
    """

    data: pd.DataFrame
    crs: CRS | str = "EPSG:4326"
    track_id: str = "track"

    def __post_init__(self) -> None:
        crs = _crs(self.crs, f"track {self.track_id}")
        object.__setattr__(self, "crs", crs)
        frame = pd.DataFrame(self.data).reset_index(drop=True).copy()
        _fail(self._problems(frame, crs), f"typhoon track {self.track_id!r}")
        frame["time"] = pd.to_datetime(frame["time"])
        for column in (*_NUMERIC, *(("holland_b",) if "holland_b" in frame else ())):
            frame[column] = frame[column].astype(np.float64)
        object.__setattr__(self, "data", frame)

    @property
    def has_b(self) -> bool:
        """True when the track gives Holland's B (``H1980``), else B is estimated (``H08``)."""
        return "holland_b" in self.data

    def _problems(self, frame: pd.DataFrame, crs: CRS) -> list[Problem]:
        """Every problem of the table."""
        layer = f"track {self.track_id}"
        missing = [c for c in TRACK_COLUMNS if c not in frame]
        if missing:
            return [Problem(layer, c, "a column of the track table") for c in missing]
        if len(frame) < 2:
            return [Problem(layer, "", "at least 2 track points", found=f"{len(frame)}")]
        out: list[Problem] = []
        times = pd.to_datetime(frame["time"], errors="coerce")
        if (bad := times.isna().to_numpy()).any():
            out.append(Problem(layer, "time", "a date and time", _rows(bad)))
        else:
            t = times.to_numpy(dtype="datetime64[ns]").astype(np.int64)
            if (bad := np.r_[False, np.diff(t) <= 0]).any():
                out.append(Problem(layer, "time", "times strictly increasing", _rows(bad)))
        values: dict[str, NDArray[np.float64]] = {}
        for column in (*_NUMERIC, *(("holland_b",) if "holland_b" in frame else ())):
            col = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
            values[column] = col
            if (bad := ~np.isfinite(col)).any():
                out.append(Problem(layer, column, "a finite number", _rows(bad)))
        dp = values["environmental_pressure_hpa"] - values["central_pressure_hpa"]
        if (bad := dp <= 0).any():
            out.append(
                Problem(
                    layer,
                    "central_pressure_hpa",
                    "below environmental_pressure_hpa (a pressure deficit > 0 hPa)",
                    _rows(bad),
                )
            )
        if (bad := values["rmax_km"] <= 0).any():
            out.append(Problem(layer, "rmax_km", "a radius of maximum wind > 0 km", _rows(bad)))
        if "holland_b" in values:
            low, high = wind_defaults().holland_b_range
            b = values["holland_b"]
            if (bad := (b < low) | (b > high)).any():
                rule = f"Holland B within [{low:g}, {high:g}] (Holland 1980)"
                out.append(Problem(layer, "holland_b", rule, _rows(bad)))
        if crs.is_geographic and (bad := np.abs(values["y"]) > 90).any():
            out.append(Problem(layer, "y", "a latitude within [-90, 90] degrees", _rows(bad)))
        return out

    @classmethod
    def from_csv(
        cls,
        path: str | PathLike[str],
        crs: CRS | str | None = None,
        track_id: str | None = None,
    ) -> TyphoonTrack:
        """Read a track from a CSV file with the columns of ``data`` (see the class).

        The centre may be given as ``lon``/``lat`` columns (degrees, EPSG:4326) instead of
        ``x``/``y``. Times are parsed with :func:`pandas.to_datetime` (ISO 8601 recommended).

        Parameters
        ----------
        path
            The CSV file.
        crs
            CRS of ``x``/``y``; default EPSG:4326 (and always EPSG:4326 for ``lon``/``lat``).
        track_id
            Id of the track; default the file name without its extension.

        Raises
        ------
        DataFileError
            Missing or unreadable file, or ``lon``/``lat`` given with a non-geographic ``crs``.
        ValidationError
            A table that breaks the rules of the class (every problem with its rows).
        """
        source = Path(path)
        if not source.is_file():
            raise DataFileError(f"no such track file: {source}")
        try:
            frame = pd.read_csv(source)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DataFileError(f"{source} is not a readable CSV file: {exc}") from exc
        if {"lon", "lat"} <= set(frame.columns) and not {"x", "y"} & set(frame.columns):
            if crs is not None and not _crs(crs, "track").is_geographic:
                raise DataFileError(f"{source}: lon/lat columns need a geographic CRS")
            frame = frame.rename(columns={"lon": "x", "lat": "y"})
        return cls(frame, "EPSG:4326" if crs is None else crs, track_id or source.stem)

    def resample(self, step_minutes: float | None = None) -> TyphoonTrack:
        """The track interpolated linearly in time at ``step_minutes`` (default 10 min).

        The first point is kept; the last is added when the step does not land on it.
        """
        step = wind_defaults().time_step_minutes if step_minutes is None else float(step_minutes)
        if not (math.isfinite(step) and step > 0):
            rule = "a time step > 0 minutes"
            _fail([Problem("track", "step_minutes", rule, found=repr(step_minutes))], "track")
        seconds = self._seconds()
        grid = np.arange(0.0, seconds[-1], step * 60.0)
        grid = np.append(grid, seconds[-1])
        start = self.data["time"].iloc[0]
        out = {"time": start + pd.to_timedelta(grid, unit="s")}
        for column in self.data.columns.intersection([*_NUMERIC, "holland_b"]):
            out[column] = np.interp(grid, seconds, self.data[column].to_numpy(dtype=np.float64))
        return TyphoonTrack(pd.DataFrame(out), self.crs, self.track_id)

    def _seconds(self) -> NDArray[np.float64]:
        """Seconds since the first point."""
        t = self.data["time"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        return (t - t[0]).astype(np.float64) / 1e9


@dataclass(frozen=True)
class _Steps:
    """The vortex parameters of a resampled track at every step, in the target CRS."""

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    dp_pa: NDArray[np.float64]
    rmax_m: NDArray[np.float64]
    b: NDArray[np.float64]
    f: NDArray[np.float64]
    sign: NDArray[np.float64]  # +1 northern hemisphere (anticlockwise), −1 southern
    vt_x: NDArray[np.float64]
    vt_y: NDArray[np.float64]
    surface_factor: float
    subtract_vt: bool


def _steps(track: TyphoonTrack, crs: CRS, step_minutes: float | None) -> _Steps:
    """Resample ``track`` and derive the per-step vortex parameters in ``crs``."""
    k = wind_defaults()
    fine = track.resample(step_minutes)
    d = fine.data
    tx, ty = d["x"].to_numpy(), d["y"].to_numpy()
    x, y = Transformer.from_crs(track.crs, crs, always_xy=True).transform(tx, ty)
    _, lat = Transformer.from_crs(track.crs, "EPSG:4326", always_xy=True).transform(tx, ty)
    x, y, lat = (np.asarray(v, dtype=np.float64) for v in (x, y, lat))
    seconds = fine._seconds()
    vt_x, vt_y = np.gradient(x, seconds), np.gradient(y, seconds)
    speed = np.hypot(vt_x, vt_y)
    cap = np.minimum(1.0, k.max_translation_speed_m_s / np.fmax(speed, 1e-12))
    vt_x, vt_y, speed = vt_x * cap, vt_y * cap, speed * cap
    dp_hpa = (d["environmental_pressure_hpa"] - d["central_pressure_hpa"]).to_numpy()
    if fine.has_b:
        b = d["holland_b"].to_numpy()
        factor, subtract = k.gradient_to_surface_factor, False
    else:
        dpdt = np.gradient(d["central_pressure_hpa"].to_numpy(), seconds / 3600.0)
        b = holland_2008_b(dp_hpa, dpdt, lat, speed)
        factor, subtract = 1.0, True
    return _Steps(
        x=x,
        y=y,
        dp_pa=dp_hpa * _HPA,
        rmax_m=d["rmax_km"].to_numpy() * 1000.0,
        b=np.asarray(b, dtype=np.float64),
        f=coriolis_parameter(lat),
        sign=np.where(lat >= 0, 1.0, -1.0),
        vt_x=vt_x,
        vt_y=vt_y,
        surface_factor=factor,
        subtract_vt=subtract,
    )


def _block_max(
    s: _Steps, idx: NDArray[np.intp], px: NDArray[np.float64], py: NDArray[np.float64],
    asymmetry: bool, max_distance_m: float,
) -> NDArray[np.float64]:  # fmt: skip
    """Maximum surface wind over steps ``idx`` at points ``px, py`` (one block)."""
    col = (slice(None), None)
    dx = px[None, :] - s.x[idx][col]
    dy = py[None, :] - s.y[idx][col]
    r = np.fmax(np.hypot(dx, dy), wind_defaults().min_distance_m)
    rmax = s.rmax_m[idx][col]
    v_ang = s.surface_factor * holland_gradient_wind(
        r, s.dp_pa[idx][col], rmax, s.b[idx][col], s.f[idx][col]
    )
    if not asymmetry:
        speed = v_ang
    else:
        absorb = np.fmin(1.0, rmax / r)
        if s.subtract_vt:
            v_ang = np.fmax(v_ang - np.hypot(s.vt_x, s.vt_y)[idx][col] * absorb, 0.0)
        v_ang *= s.sign[idx][col] / r  # rotating wind per metre of radius vector
        u = -v_ang * dy + s.vt_x[idx][col] * absorb
        v = v_ang * dx + s.vt_y[idx][col] * absorb
        speed = np.hypot(u, v)
    speed[r > max_distance_m] = 0.0
    return np.asarray(speed.max(axis=0))


def _points_max(
    s: _Steps, px: NDArray[np.float64], py: NDArray[np.float64], asymmetry: bool,
    max_distance_m: float, chunk_elements: int,
) -> NDArray[np.float64]:  # fmt: skip
    """Maximum over all steps at every point, in blocks of at most ``chunk_elements``."""
    n_steps = s.x.size
    steps_per_block = min(n_steps, _STEPS_PER_BLOCK)
    points_per_block = max(1, chunk_elements // steps_per_block)
    out = np.zeros(px.size, dtype=np.float64)
    for start in range(0, px.size, points_per_block):
        bx, by = px[start : start + points_per_block], py[start : start + points_per_block]
        # steps whose centre is within reach of the block's bounding box
        gap_x = np.fmax(0.0, np.fmax(bx.min() - s.x, s.x - bx.max()))
        gap_y = np.fmax(0.0, np.fmax(by.min() - s.y, s.y - by.max()))
        near = np.flatnonzero(np.hypot(gap_x, gap_y) <= max_distance_m)
        best = out[start : start + points_per_block]
        for k in range(0, near.size, steps_per_block):
            idx = near[k : k + steps_per_block]
            np.fmax(best, _block_max(s, idx, bx, by, asymmetry, max_distance_m), out=best)
    return out


def max_surface_wind(
    track: TyphoonTrack,
    x: ArrayLike,
    y: ArrayLike,
    crs: CRS | str,
    *,
    step_minutes: float | None = None,
    asymmetry: bool = True,
    max_distance_km: float | None = None,
    chunk_elements: int = _DEFAULT_CHUNK,
) -> NDArray[np.float64]:
    """Maximum over the track of the 1-minute sustained surface wind (m/s) at points.

    Parameters
    ----------
    track
        The storm track (any CRS).
    x, y
        Point coordinates in ``crs`` (a projected, metric CRS), finite.
    crs
        CRS of the points.
    step_minutes
        Time step of the interpolated track; default 10 minutes.
    asymmetry
        Add the translation velocity with the absorbing factor (module docstring); False gives
        the symmetric vortex (for ``H08`` tracks the translation is then not subtracted either).
    max_distance_km
        No wind beyond this distance from the centre at a step; default 300 km (CLIMADA).
    chunk_elements
        Largest ``points × steps`` block computed at once (memory is about 10 float64 arrays
        of this size); the result does not depend on it.

    Returns
    -------
    numpy.ndarray
        One wind speed (m/s, >= 0) per point.
    """
    target = _crs(crs, "points")
    px = np.atleast_1d(np.asarray(x, dtype=np.float64))
    py = np.atleast_1d(np.asarray(y, dtype=np.float64))
    problems: list[Problem] = []
    if target.is_geographic:
        problems.append(Problem("points", "crs", "a projected, metric CRS", found=target.name))
    if px.shape != py.shape or px.ndim != 1:
        problems.append(Problem("points", "x", "x and y of the same 1-D shape"))
    elif (bad := ~(np.isfinite(px) & np.isfinite(py))).any():
        problems.append(Problem("points", "x", "finite coordinates", _rows(bad)))
    if int(chunk_elements) < 1:
        problems.append(Problem("options", "chunk_elements", "an integer >= 1"))
    limit = wind_defaults().max_distance_km if max_distance_km is None else max_distance_km
    if not (math.isfinite(limit) and limit > 0):
        problems.append(Problem("options", "max_distance_km", "a distance > 0 km"))
    _fail(problems, "wind input")
    if px.size == 0:
        return np.zeros(0)
    steps = _steps(track, target, step_minutes)
    return _points_max(steps, px, py, asymmetry, limit * 1000.0, int(chunk_elements))


def _asset_points(assets: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A point on the surface of every asset's geometry; missing or empty ones are refused."""
    geoms = assets.geometry.to_numpy()
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        ids = tuple(assets["asset_id"].to_numpy(dtype=str)[bad])
        rule = "a non-empty geometry (the wind is computed at a point on its surface)"
        _fail([Problem("assets", "geometry", rule, ids)], "wind input")
    points = shapely.point_on_surface(geoms)
    return shapely.get_x(points).astype(np.float64), shapely.get_y(points).astype(np.float64)


def typhoon_wind_events(
    city: City,
    tracks: Sequence[TyphoonTrack],
    frequency: ArrayLike,
    *,
    step_minutes: float | None = None,
    asymmetry: bool = True,
    max_distance_km: float | None = None,
    chunk_elements: int = _DEFAULT_CHUNK,
) -> HazardEvents:
    """A wind event set: one event per track, with its annual frequency.

    Parameters
    ----------
    city
        The city; the wind is computed at a point on the surface of every asset.
    tracks
        Storm tracks with unique ``track_id`` (the event ids).
    frequency
        Annual frequency of each track (events per year, finite and >= 0).
    step_minutes, asymmetry, max_distance_km, chunk_elements
        As :func:`max_surface_wind`.

    Returns
    -------
    HazardEvents
        Kind ``"wind"``: the maximum 1-minute sustained surface wind (m/s) of each track at
        each asset (sparse: 0 where the storm never came within ``max_distance_km``).

    Raises
    ------
    ValidationError
        No tracks, a frequency per track missing, assets without geometry, bad options;
        duplicate ids or bad frequencies (from :class:`HazardEvents`).
    """
    freq = np.atleast_1d(np.asarray(frequency, dtype=np.float64))
    if len(tracks) == 0 or freq.shape != (len(tracks),):
        rule = "at least one track and one annual frequency per track"
        found = f"{len(tracks)} tracks, {freq.size} frequencies"
        _fail([Problem("tracks", "frequency", rule, found=found)], "wind input")
    x, y = _asset_points(city.assets)
    rows = [
        max_surface_wind(
            t,
            x,
            y,
            city.crs,
            step_minutes=step_minutes,
            asymmetry=asymmetry,
            max_distance_km=max_distance_km,
            chunk_elements=chunk_elements,
        )
        for t in tracks
    ]
    matrix = sp.csr_array(np.vstack(rows)) if rows[0].size else sp.csr_array((len(rows), 0))
    matrix.eliminate_zeros()
    ids = np.array([t.track_id for t in tracks], dtype=str)
    return HazardEvents("wind", ids, freq, matrix, city.assets["asset_id"].to_numpy(dtype=str))


def typhoon_wind_scenario(
    city: City,
    track: TyphoonTrack,
    *,
    event_id: str | None = None,
    step_minutes: float | None = None,
    asymmetry: bool = True,
    max_distance_km: float | None = None,
    chunk_elements: int = _DEFAULT_CHUNK,
) -> HazardEvents:
    """One typhoon scenario: the maximum surface wind of one track at every asset.

    Parameters
    ----------
    city
        The city.
    track
        The storm track.
    event_id
        Id of the event; default the track's ``track_id``.
    step_minutes, asymmetry, max_distance_km, chunk_elements
        As :func:`max_surface_wind`.

    Returns
    -------
    HazardEvents
        Kind ``"wind"``, one event of frequency 0 (a scenario): the maximum over the track of
        the 1-minute sustained wind at 10 m (m/s) at each asset.
    """
    if event_id is not None:
        track = TyphoonTrack(track.data, track.crs, event_id)
    return typhoon_wind_events(
        city,
        [track],
        [0.0],
        step_minutes=step_minutes,
        asymmetry=asymmetry,
        max_distance_km=max_distance_km,
        chunk_elements=chunk_elements,
    )
