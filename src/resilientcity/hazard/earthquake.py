"""Earthquake scenario hazard: BSSA14 ground motion, V_S30 site term, correlated residuals.

The ground-motion model is Boore, Stewart, Seyhan & Atkinson (2014), *NGA-West2 equations for
predicting PGA, PGV and 5%-damped PSA for shallow crustal earthquakes*, Earthquake Spectra
30(3):1057-1085 (BSSA14): magnitude scaling by mechanism, geometric spreading and anelastic
attenuation in the Joyner-Boore distance R_JB, a linear and a nonlinear V_S30 site term, and the
between-event (tau) and within-event (phi) standard deviations of ln Y. The coefficients and the
equations are in ``data/hazard/gmpe_bssa14.json``. The basin-depth term is left out (equivalent
to a depth to the 1 km/s horizon equal to the V_S30-based mean, dz1 = 0), as BSSA14 recommend when
that depth is unknown; it only concerns periods >= 0.65 s.

Ensembles of realisations draw ``ln Y = ln median + tau·eta + phi·eps(x)`` with one standard
normal ``eta`` per realisation and a spatially correlated standard-normal field ``eps`` with the
exponential correlation of Jayaram & Baker (2009)
(:mod:`resilientcity.hazard.correlation`).

Source geometry is a point: R_JB is the horizontal (epicentral) distance from the epicentre to
each asset, which is exact for the surface projection of a point rupture and underestimates the
ground motion near a large finite rupture (whose R_JB is smaller than the epicentral distance).
BSSA14 has no depth term (its residuals show no trend with source depth), so the hypocentral
depth is checked and recorded but does not change the ground motion.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache, partial
from importlib import resources
from typing import Any, Literal, get_args

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

from resilientcity.errors import DataFileError, Problem, ValidationError, fail
from resilientcity.hazard.correlation import (
    correlated_normal_field,
    jayaram_baker_range_km,
)
from resilientcity.hazard.events import HazardEvents
from resilientcity.hazard.vs30 import dem_slope, vs30_from_slope
from resilientcity.twin.city import City

__all__ = [
    "GroundMotion",
    "Mechanism",
    "Region",
    "bssa14",
    "bssa14_limits",
    "earthquake_scenario",
    "vs30_at_assets",
]

Mechanism = Literal["unspecified", "strike_slip", "normal", "reverse"]
Region = Literal["global", "china_turkey", "italy_japan"]

_TABLE = "data/hazard/gmpe_bssa14.json"
_MECH_COEFF = {"unspecified": "e0", "strike_slip": "e1", "normal": "e2", "reverse": "e3"}
_WHAT = "earthquake scenario input"


_fail = partial(fail, "earthquake", what=_WHAT)


@cache
def _spec() -> dict[str, Any]:
    """The packaged BSSA14 table (read once)."""
    text = resources.files("resilientcity").joinpath(_TABLE).read_text("utf-8")
    spec: dict[str, Any] = json.loads(text)
    if not {"coefficients", "limits"} <= spec.keys():
        raise DataFileError(f"{_TABLE}: no 'coefficients' or 'limits' (broken installation)")
    return spec


def bssa14_limits() -> dict[str, Any]:
    """BSSA14's range of applicability: ``magnitude`` per mechanism, ``rjb_km``, ``vs30_m_s``."""
    limits: dict[str, Any] = _spec()["limits"]
    return limits


@dataclass(frozen=True, eq=False)
class GroundMotion:
    """BSSA14 prediction of one intensity measure for one earthquake at many sites.

    Parameters
    ----------
    imt
        Intensity measure: ``"PGA"`` (g), ``"PGV"`` (cm/s) or ``"SA(T)"`` (g, 5 % damping).
    unit
        ``"g"`` or ``"cm/s"``.
    ln_median
        Natural log of the median per site (in ``unit``).
    tau
        Between-event standard deviation of ln Y (the same at every site).
    phi
        Within-event standard deviation of ln Y per site.
    """

    imt: str
    unit: str
    ln_median: NDArray[np.float64]
    tau: float
    phi: NDArray[np.float64]

    @property
    def median(self) -> NDArray[np.float64]:
        """Median per site, in ``unit``."""
        return np.exp(self.ln_median)

    @property
    def sigma(self) -> NDArray[np.float64]:
        """Total standard deviation of ln Y per site, ``sqrt(tau² + phi²)``."""
        return np.sqrt(self.tau**2 + self.phi**2)


def _coefficients(imt: str) -> dict[str, float]:
    table: dict[str, dict[str, float]] = _spec()["coefficients"]
    if imt not in table:
        _fail("imt", f"one of {', '.join(table)}", found=repr(imt))
    return table[imt]


def _ln_rock(c: dict[str, float], m: float, rjb: NDArray[Any], mech: str, region: str) -> Any:
    """F_E + F_P: ln Y on the reference site (V_S30 = Vref, F_S = 0)."""
    dm = m - c["Mh"]
    event = c[_MECH_COEFF[mech]] + (
        c["e4"] * dm + c["e5"] * dm**2 if m <= c["Mh"] else c["e6"] * dm
    )
    r = np.sqrt(rjb**2 + c["h"] ** 2)
    spreading = (c["c1"] + c["c2"] * (m - c["Mref"])) * np.log(r / c["Rref"])
    return event + spreading + (c["c3"] + c[f"dc3_{region}"]) * (r - c["Rref"])


def _site_term(c: dict[str, float], vs30: NDArray[Any], pga_rock: NDArray[Any]) -> Any:
    """F_lin + F_nl (BSSA14 eqs. 6-8); the basin term is left out (dz1 = 0)."""
    f_lin = c["c"] * np.log(np.minimum(vs30, c["Vc"]) / c["Vref"])
    f2 = c["f4"] * (
        np.exp(c["f5"] * (np.minimum(vs30, 760.0) - 360.0)) - np.exp(c["f5"] * (760.0 - 360.0))
    )
    return f_lin + c["f1"] + f2 * np.log((pga_rock + c["f3"]) / c["f3"])


def _tau_phi(
    c: dict[str, float], m: float, rjb: NDArray[Any], vs30: NDArray[Any]
) -> tuple[float, NDArray[np.float64]]:
    """tau(M) and phi(M, R_JB, V_S30) (BSSA14 eqs. 13-17)."""
    w = min(max(m, 4.5), 5.5) - 4.5
    tau = c["tau1"] + (c["tau2"] - c["tau1"]) * w
    phi_m = c["phi1"] + (c["phi2"] - c["phi1"]) * w
    r = np.maximum(rjb, c["R1"])  # below R1 the distance adjustment is 0: avoids log(0)
    dist = np.clip(np.log(r / c["R1"]) / np.log(c["R2"] / c["R1"]), 0.0, 1.0)
    site = np.clip(np.log(c["V2"] / vs30) / np.log(c["V2"] / c["V1"]), 0.0, 1.0)
    return float(tau), phi_m + c["dphi_R"] * dist - c["dphi_V"] * site


def bssa14(
    magnitude: float,
    rjb_km: ArrayLike,
    vs30_m_s: ArrayLike,
    mechanism: Mechanism = "unspecified",
    imt: str = "PGA",
    region: Region = "global",
) -> GroundMotion:
    """Median and standard deviations of one intensity measure from BSSA14.

    ``ln Y = F_E(M, mechanism) + F_P(R_JB, M, region) + F_lin(V_S30) + F_nl(V_S30, PGA_r)``,
    where ``PGA_r`` is the median PGA on the reference site (V_S30 = 760 m/s); the equations are
    in ``data/hazard/gmpe_bssa14.json``. No range checks here (see :func:`bssa14_limits`; the
    scenario function checks them).

    Parameters
    ----------
    magnitude
        Moment magnitude.
    rjb_km
        Joyner-Boore distance (km) of each site, >= 0.
    vs30_m_s
        V_S30 (m/s) of each site (scalar or one per site), > 0.
    mechanism
        ``"unspecified"``, ``"strike_slip"``, ``"normal"`` or ``"reverse"``.
    imt
        ``"PGA"``, ``"PGV"`` or ``"SA(T)"`` for T in 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0 s.
    region
        Regional anelastic attenuation: ``"global"`` (California, Taiwan, New Zealand and
        elsewhere), ``"china_turkey"`` or ``"italy_japan"``.

    Returns
    -------
    GroundMotion
        ``ln_median`` and ``phi`` with the broadcast shape of ``rjb_km`` and ``vs30_m_s``.
    """
    if mechanism not in _MECH_COEFF:
        _fail("mechanism", f"one of {', '.join(_MECH_COEFF)}", found=repr(mechanism))
    if region not in get_args(Region):
        _fail("region", f"one of {', '.join(get_args(Region))}", found=repr(region))
    c = _coefficients(imt)
    pga = _coefficients("PGA")
    rjb, vs30 = np.broadcast_arrays(
        np.asarray(rjb_km, dtype=np.float64), np.asarray(vs30_m_s, dtype=np.float64)
    )
    m = float(magnitude)
    pga_rock = np.exp(_ln_rock(pga, m, rjb, mechanism, region))
    ln_median = _ln_rock(c, m, rjb, mechanism, region) + _site_term(c, vs30, pga_rock)
    tau, phi = _tau_phi(c, m, rjb, vs30)
    unit = "cm/s" if imt == "PGV" else "g"
    return GroundMotion(imt, unit, np.asarray(ln_median, dtype=np.float64), tau, phi)


def _site_points(city: City) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """x, y (m) of every asset (a point on its surface); missing geometry is an error."""
    geometry = city.assets.geometry.to_numpy()
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    x, y = np.full(geometry.size, np.nan), np.full(geometry.size, np.nan)
    points = shapely.point_on_surface(geometry[~missing])
    x[~missing], y[~missing] = shapely.get_x(points), shapely.get_y(points)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        ids = tuple(city.assets["asset_id"].to_numpy(dtype=str)[bad])
        raise ValidationError(
            [Problem("assets", "geometry", "a non-empty geometry (a site for ground motion)", ids)],
            what=_WHAT,
        )
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def vs30_at_assets(city: City, vs30: float | ArrayLike | Literal["slope"]) -> NDArray[np.float64]:
    """V_S30 (m/s) of every asset from a scalar, one value per asset, or the slope proxy.

    Parameters
    ----------
    city
        The city (assets; with ``"slope"`` also its DEM).
    vs30
        A number (every asset), an array with one value per asset in the order of
        ``city.assets``, or ``"slope"``: the topographic-slope proxy
        (:func:`resilientcity.hazard.vs30.vs30_from_slope`) of the DEM cell under each asset.

    Returns
    -------
    numpy.ndarray of float64
        One V_S30 per asset, checked against BSSA14's range (150–1500 m/s).

    Raises
    ------
    ValidationError
        A wrong number of values, values that are not finite or out of range (naming the asset
        ids), ``"slope"`` without a DEM or for assets off the DEM or on no-data cells.
    """
    ids = city.assets["asset_id"].to_numpy(dtype=str)
    if isinstance(vs30, str):
        if vs30 != "slope":
            _fail("vs30", "a number, one number per asset, or 'slope'", found=repr(vs30))
        values = _slope_vs30(city, ids)
    else:
        values = np.asarray(vs30, dtype=np.float64)
        if values.ndim == 0:
            values = np.full(ids.size, float(values))
        elif values.shape != ids.shape:
            _fail("vs30", f"one V_S30 per asset ({ids.size})", found=f"shape {values.shape}")
    low, high = bssa14_limits()["vs30_m_s"]
    bad = ~(np.isfinite(values) & (values >= low) & (values <= high))
    if bad.any():
        found = ", ".join(f"{v:g}" for v in values[bad][:5])
        _fail("vs30", f"a V_S30 within BSSA14's range {low:g}–{high:g} m/s", tuple(ids[bad]), found)
    return values


def _slope_vs30(city: City, ids: NDArray[np.str_]) -> NDArray[np.float64]:
    """Slope-proxy V_S30 of the DEM cell under each asset."""
    dem = city.dem
    if dem is None:
        _fail("vs30", f"a DEM in city {city.name!r} for vs30='slope'", found="no DEM")
    x, y = _site_points(city)
    row, col = dem.rowcol(x, y)
    rows, cols = dem.shape
    ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    slope = np.full(x.shape, np.nan)
    slope[ok] = dem_slope(dem)[row[ok], col[ok]]
    if np.isnan(slope).any():
        expected = "a site on a DEM cell with data (and data around it) for vs30='slope'"
        _fail("vs30", expected, tuple(ids[np.isnan(slope)]))
    return vs30_from_slope(slope)


def _check_scalars(
    magnitude: float,
    depth_km: float,
    mechanism: str,
    n_realisations: int,
    correlation_range_km: float | None,
    grid_spacing_km: float | None,
    annual_frequency: float,
) -> list[Problem]:
    """Every problem of the scalar arguments of :func:`earthquake_scenario`."""
    out: list[Problem] = []

    def bad(column: str, expected: str, value: object) -> None:
        out.append(Problem("earthquake", column, expected, found=repr(value)))

    mags = bssa14_limits()["magnitude"]
    if mechanism not in _MECH_COEFF:
        bad("mechanism", f"one of {', '.join(_MECH_COEFF)}", mechanism)
    else:
        low, high = mags[mechanism]
        if not (math.isfinite(magnitude) and low <= magnitude <= high):
            bad("magnitude", f"a moment magnitude in {low:g}–{high:g} ({mechanism})", magnitude)
    if not (math.isfinite(depth_km) and depth_km >= 0):
        bad("depth_km", "a finite hypocentral depth >= 0 km", depth_km)
    if isinstance(n_realisations, bool) or not isinstance(n_realisations, int | np.integer):
        bad("n_realisations", "an integer >= 0", n_realisations)
    elif n_realisations < 0:
        bad("n_realisations", "an integer >= 0", n_realisations)
    if correlation_range_km is not None and not (
        math.isfinite(correlation_range_km) and correlation_range_km >= 0
    ):
        bad("correlation_range_km", "None or a finite range >= 0 km", correlation_range_km)
    if grid_spacing_km is not None and not (math.isfinite(grid_spacing_km) and grid_spacing_km > 0):
        bad("grid_spacing_km", "None or a finite spacing > 0 km", grid_spacing_km)
    if not (math.isfinite(annual_frequency) and annual_frequency >= 0):
        bad("annual_frequency", "a finite annual frequency >= 0", annual_frequency)
    return out


def _epicentre(
    city: City,
    epicentre_xy: tuple[float, float] | None,
    epicentre_lonlat: tuple[float, float] | None,
) -> tuple[float, float]:
    """Epicentre in the city's CRS (m), from exactly one of the two forms."""
    if (epicentre_xy is None) == (epicentre_lonlat is None):
        _fail("epicentre_xy", "exactly one of epicentre_xy and epicentre_lonlat")
    column = "epicentre_xy" if epicentre_xy is not None else "epicentre_lonlat"
    given = np.asarray(epicentre_xy if epicentre_xy is not None else epicentre_lonlat, dtype=float)
    if given.shape != (2,) or not np.isfinite(given).all():
        _fail(column, "two finite numbers", found=repr(given.tolist()))
    if epicentre_xy is not None:
        return float(given[0]), float(given[1])
    lon, lat = float(given[0]), float(given[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        _fail(column, "(longitude, latitude) in degrees", found=repr((lon, lat)))
    to_city = Transformer.from_crs("EPSG:4326", city.crs, always_xy=True)
    x, y = to_city.transform(lon, lat)
    return float(x), float(y)


def earthquake_scenario(
    city: City,
    magnitude: float,
    epicentre_xy: tuple[float, float] | None = None,
    depth_km: float = 10.0,
    mechanism: Mechanism = "unspecified",
    *,
    epicentre_lonlat: tuple[float, float] | None = None,
    vs30: float | ArrayLike | Literal["slope"] = 760.0,
    region: Region = "global",
    n_realisations: int = 0,
    seed: int | np.random.Generator | None = None,
    correlation_range_km: float | None = None,
    vs30_clustered: bool = False,
    grid_spacing_km: float | None = None,
    include_between_event: bool = True,
    annual_frequency: float = 0.0,
    event_id: str | None = None,
) -> HazardEvents:
    """PGA (g) at every asset of the city for a scenario earthquake (BSSA14).

    With ``n_realisations = 0`` the result is one event, the median PGA. With ``n > 0`` it is
    ``n`` equally likely realisations, each::

        ln PGA = ln median + tau·eta + phi·eps(x)

    with ``eta ~ N(0, 1)`` one per realisation (left out if ``include_between_event`` is False)
    and ``eps`` a standard-normal field over the assets with the Jayaram & Baker (2009)
    correlation ``exp(-3h/b)`` (:func:`~resilientcity.hazard.correlation.correlated_normal_field`: exact on a grid of spacing
    ``b/10``, bilinear to the assets, when there are more than :data:`~resilientcity.hazard.correlation.MAX_EXACT_SITES` distinct
    sites; exact below).

    Parameters
    ----------
    city
        The city; each asset's site is a point on the surface of its geometry.
    magnitude
        Moment magnitude, within BSSA14's range: 3.0–8.5 for unspecified, strike-slip and
        reverse mechanisms, 3.0–7.0 for normal faulting.
    epicentre_xy
        Epicentre (x, y) in the city's CRS (m). Give this or ``epicentre_lonlat``.
    depth_km
        Hypocentral depth (km, >= 0). BSSA14 has no depth term: checked, not used (default
        10 km, an assumption typical of shallow crustal events).
    mechanism
        ``"unspecified"``, ``"strike_slip"``, ``"normal"`` or ``"reverse"``.
    epicentre_lonlat
        Epicentre as (longitude, latitude) in degrees (WGS 84), instead of ``epicentre_xy``.
    vs30
        Site condition (m/s): a number, one number per asset, or ``"slope"`` for the topographic
        slope proxy on the city's DEM (:func:`vs30_at_assets`). Default 760 m/s (BSSA14's
        reference rock, NEHRP B/C boundary).
    region
        BSSA14 anelastic-attenuation region: ``"global"``, ``"china_turkey"`` or
        ``"italy_japan"``.
    n_realisations
        Number of realisations (>= 0); 0 for the median only.
    seed
        Seed or generator of the realisations (same seed, same fields).
    correlation_range_km
        Range ``b`` (km) of the within-event correlation; ``None`` for Jayaram & Baker's PGA
        value (:func:`~resilientcity.hazard.correlation.jayaram_baker_range_km`), 0 for independent residuals.
    vs30_clustered
        Whether V_S30 is clustered (Jayaram & Baker case 2, b = 40.7 km instead of 8.5 km).
    grid_spacing_km
        Spacing (km) of the grid the correlated field is drawn on, for more than
        :data:`~resilientcity.hazard.correlation.MAX_EXACT_SITES` distinct sites; default ``b/10``.
    include_between_event
        Whether realisations include the between-event term ``tau·eta``.
    annual_frequency
        Annual frequency of the scenario (default 0: a scenario outside a probabilistic set),
        split equally among the realisations.
    event_id
        Prefix of the event ids; default ``"M<magnitude>"``. Ids are ``"<prefix>-median"`` or
        ``"<prefix>-r001"``, ``"<prefix>-r002"``, ….

    Returns
    -------
    HazardEvents
        Kind ``"earthquake"``, intensity PGA in g, events × assets, given as a dense array
        (every entry > 0; :class:`HazardEvents` decides how it is stored).

    Raises
    ------
    ValidationError
        Magnitude outside BSSA14's range for the mechanism, negative or non-finite depth, an
        epicentre that is not two finite numbers, V_S30 missing or out of 150–1500 m/s (naming
        the assets), assets farther than 400 km (R_JB limit), ``n_realisations < 0``, and the
        other arguments out of their ranges; each problem names its argument.
    """
    problems = _check_scalars(
        float(magnitude),
        float(depth_km),
        mechanism,
        n_realisations,
        correlation_range_km,
        grid_spacing_km,
        float(annual_frequency),
    )
    if problems:
        raise ValidationError(problems, what=_WHAT)
    ex, ey = _epicentre(city, epicentre_xy, epicentre_lonlat)
    x, y = _site_points(city)
    ids = city.assets["asset_id"].to_numpy(dtype=str)
    site_vs30 = vs30_at_assets(city, vs30)
    rjb = np.hypot(x - ex, y - ey) / 1000.0
    far = rjb > bssa14_limits()["rjb_km"][1]
    if far.any():
        limit = bssa14_limits()["rjb_km"][1]
        _fail("epicentre_xy", f"assets within BSSA14's R_JB limit of {limit:g} km", tuple(ids[far]))
    gm = bssa14(magnitude, rjb, site_vs30, mechanism, "PGA", region)
    prefix = event_id if event_id is not None else f"M{float(magnitude):g}"
    n = int(n_realisations)
    if n == 0:
        ln_pga = gm.ln_median[None, :]
        event_ids = [f"{prefix}-median"]
    else:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        b = (
            correlation_range_km
            if correlation_range_km is not None
            else jayaram_baker_range_km(0.0, vs30_clustered)
        )
        eta = rng.standard_normal(n) if include_between_event else np.zeros(n)
        eps = correlated_normal_field(x, y, b, n, rng, grid_spacing_km)
        ln_pga = gm.ln_median[None, :] + gm.tau * eta[:, None] + gm.phi[None, :] * eps
        width = max(3, len(str(n)))
        event_ids = [f"{prefix}-r{k:0{width}d}" for k in range(1, n + 1)]
    frequency = np.full(len(event_ids), float(annual_frequency) / len(event_ids))
    return HazardEvents("earthquake", np.array(event_ids), frequency, np.exp(ln_pga), ids)
