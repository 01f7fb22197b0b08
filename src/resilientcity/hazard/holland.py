"""The Holland parametric vortex: gradient wind profile, Holland's B, Coriolis, the constants.

* :func:`holland_gradient_wind`: Holland, G.J. (1980) *An analytic model of the wind and
  pressure profiles in hurricanes*, Monthly Weather Review 108:1212-1218::

      V_g(r) = sqrt( (B/ρ) (R_max/r)^B Δp exp(-(R_max/r)^B) + (r f/2)^2 ) - r f/2

  with ``Δp = p_env − p_c``, ``f = 2 Ω sin|φ|`` (:func:`coriolis_parameter`), ``ρ = 1.15 kg/m³``;
* :func:`holland_2008_b`: the surface ``b_s`` of Holland (2008) eq. (11), for tracks that give
  no Holland B;
* :func:`wind_defaults`: every constant of the wind model, from
  ``data/hazard/wind_defaults.json`` with its source.

The wind field along a track that uses them is :mod:`resilientcity.hazard.wind`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "WindDefaults",
    "coriolis_parameter",
    "holland_2008_b",
    "holland_gradient_wind",
    "wind_defaults",
]

_DEFAULTS = "data/hazard/wind_defaults.json"


@dataclass(frozen=True)
class WindDefaults:
    """The constants of the wind model (``data/hazard/wind_defaults.json``, with sources).

    Attributes
    ----------
    air_density_kg_m3, earth_angular_velocity_rad_s, gradient_to_surface_factor
        ρ, Ω and the gradient-to-surface reduction factor.
    holland_b_range
        Accepted range of a track's (gradient-level) Holland B.
    holland_2008
        Coefficients of Holland (2008) eq. (11): ``a, b, c, d, e, x0, dp_ref_hpa`` and ``clip``.
    max_translation_speed_m_s, max_distance_km, time_step_minutes, min_distance_m
        Translation speed cap, no-wind distance, default time step, distance floor.
    """

    air_density_kg_m3: float
    earth_angular_velocity_rad_s: float
    gradient_to_surface_factor: float
    holland_b_range: tuple[float, float]
    holland_2008: dict[str, Any]
    max_translation_speed_m_s: float
    max_distance_km: float
    time_step_minutes: float
    min_distance_m: float


@cache
def wind_defaults() -> WindDefaults:
    """The packaged constants of the wind model (read once)."""
    text = resources.files("resilientcity").joinpath(_DEFAULTS).read_text("utf-8")
    spec = json.loads(text)
    value = {k: v["value"] for k, v in spec.items() if isinstance(v, dict) and "value" in v}
    h08 = spec["holland_2008_bs"]
    return WindDefaults(
        air_density_kg_m3=float(value["air_density_kg_m3"]),
        earth_angular_velocity_rad_s=float(value["earth_angular_velocity_rad_s"]),
        gradient_to_surface_factor=float(value["gradient_to_surface_factor"]),
        holland_b_range=(float(value["holland_b_range"][0]), float(value["holland_b_range"][1])),
        holland_2008={k: h08[k] for k in ("a", "b", "c", "d", "e", "x0", "dp_ref_hpa", "clip")},
        max_translation_speed_m_s=float(value["max_translation_speed_m_s"]),
        max_distance_km=float(value["max_distance_km"]),
        time_step_minutes=float(value["time_step_minutes"]),
        min_distance_m=float(value["min_distance_m"]),
    )


def coriolis_parameter(lat_deg: ArrayLike) -> NDArray[np.float64]:
    """Magnitude of the Coriolis parameter ``f = 2 Ω sin|φ|`` (1/s) at latitudes ``φ`` (degrees)."""
    omega = wind_defaults().earth_angular_velocity_rad_s
    return 2.0 * omega * np.sin(np.radians(np.abs(np.asarray(lat_deg, dtype=np.float64))))


def holland_gradient_wind(
    r_m: ArrayLike,
    dp_pa: ArrayLike,
    rmax_m: ArrayLike,
    b: ArrayLike,
    f: ArrayLike,
    rho: float | None = None,
) -> NDArray[np.float64]:
    """Holland (1980) gradient wind speed (m/s) at distances ``r`` from the storm centre.

    ``V_g(r) = sqrt((B/ρ) (R_max/r)^B Δp exp(-(R_max/r)^B) + (r f/2)^2) − r f/2``
    (Holland 1980, eq. 4 with eq. 6; shared/reference/holland-1980-wind-profile.json). All
    arguments broadcast against each other.

    Parameters
    ----------
    r_m
        Distance from the centre (m), > 0.
    dp_pa
        Pressure deficit ``p_env − p_c`` (Pa), > 0.
    rmax_m
        Radius of maximum wind (m), > 0.
    b
        Holland's shape parameter B (dimensionless).
    f
        Coriolis parameter (1/s), its magnitude (see :func:`coriolis_parameter`); 0 gives the
        cyclostrophic wind, whose maximum is ``sqrt(B Δp / (ρ e))`` at ``r = R_max``.
    rho
        Air density (kg/m³); default 1.15 (Holland 1980).

    Returns
    -------
    numpy.ndarray
        Gradient wind speed (m/s), >= 0, the broadcast shape of the arguments.
    """
    density = wind_defaults().air_density_kg_m3 if rho is None else float(rho)
    r = np.asarray(r_m, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scaled = (np.asarray(rmax_m, dtype=np.float64) / r) ** b
    half_rf = 0.5 * r * np.asarray(f, dtype=np.float64)
    pressure_term = (b / density) * scaled * np.asarray(dp_pa, dtype=np.float64) * np.exp(-scaled)
    return np.asarray(np.sqrt(np.fmax(pressure_term + half_rf**2, 0.0)) - half_rf)


def holland_2008_b(
    dp_hpa: ArrayLike, dpdt_hpa_h: ArrayLike, lat_deg: ArrayLike, vt_m_s: ArrayLike
) -> NDArray[np.float64]:
    """Holland (2008) eq. (11): the surface ``b_s`` from pressure, its trend, latitude and motion.

    ``b_s = −4.4e-5 Δp² + 0.01 Δp + 0.03 ∂p_c/∂t − 0.014 |φ| + 0.15 v_t^x + 1`` with
    ``x = 0.6 (1 − Δp/215)``, clipped to [0.81, 2.025] (CLIMADA's interval); Holland, G.J. (2008)
    *A revised hurricane pressure-wind model*, Monthly Weather Review 136:3432-3445.

    Parameters
    ----------
    dp_hpa
        Pressure deficit ``p_env − p_c`` (hPa).
    dpdt_hpa_h
        Rate of change of the central pressure (hPa/h; negative while the storm deepens).
    lat_deg
        Latitude of the centre (degrees).
    vt_m_s
        Translation speed of the storm (m/s).

    Returns
    -------
    numpy.ndarray
        ``b_s`` (dimensionless) for 1-minute sustained surface winds.
    """
    k = wind_defaults().holland_2008
    dp = np.asarray(dp_hpa, dtype=np.float64)
    x = k["x0"] * (1.0 - dp / k["dp_ref_hpa"])
    vt = np.asarray(vt_m_s, dtype=np.float64)
    with np.errstate(divide="ignore"):  # a storm at rest has no motion term, whatever x
        motion = np.where(vt > 0, np.fmax(vt, 1e-300) ** x, 0.0)
    bs = (
        k["a"] * dp**2
        + k["b"] * dp
        + k["c"] * np.asarray(dpdt_hpa_h, dtype=np.float64)
        + k["d"] * np.abs(np.asarray(lat_deg, dtype=np.float64))
        + k["e"] * motion
        + 1.0
    )
    return np.clip(bs, *k["clip"])
