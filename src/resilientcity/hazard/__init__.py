"""Hazards: event sets and the intensity they put on every asset of a city.

Every hazard returns :class:`HazardEvents` (kind, unit, event ids, annual frequencies, an
events × assets intensity matrix):

* river flood from a stage and the DEM (:mod:`~resilientcity.hazard.flood`);
* rainstorm ponding from the storm intensity formula, or a SWMM model
  (:mod:`~resilientcity.hazard.rainstorm`, :mod:`~resilientcity.hazard.swmm`);
* earthquake ground motion, BSSA14 with a Vs30 site term and correlated residuals
  (:mod:`~resilientcity.hazard.earthquake`, :mod:`~resilientcity.hazard.correlation`,
  :mod:`~resilientcity.hazard.vs30`);
* typhoon wind, Holland (1980) along a track (:mod:`~resilientcity.hazard.wind`; the vortex
  in :mod:`~resilientcity.hazard.holland`);
* any GeoTIFF sampled at the assets (:mod:`~resilientcity.hazard.raster_layer`).
"""

from resilientcity.hazard.correlation import correlated_normal_field, jayaram_baker_range_km
from resilientcity.hazard.earthquake import (
    GroundMotion,
    bssa14,
    earthquake_scenario,
    vs30_at_assets,
)
from resilientcity.hazard.events import HAZARD_UNITS, HazardEvents
from resilientcity.hazard.flood import (
    StageFrequency,
    channel_mask,
    flood_depth,
    river_flood_events,
    river_flood_scenario,
)
from resilientcity.hazard.holland import holland_gradient_wind
from resilientcity.hazard.ponding import fill_depressions, ponding_depth
from resilientcity.hazard.rainstorm import (
    StormIntensityFormula,
    design_storm,
    pluvial_flood_events,
    pluvial_flood_scenario,
    rainfall_excess_mm,
)
from resilientcity.hazard.raster_layer import RasterLayer, raster_hazard_events
from resilientcity.hazard.swmm import swmm_flood_events
from resilientcity.hazard.vs30 import SlopeVs30Table, dem_slope, vs30_from_slope
from resilientcity.hazard.wind import (
    TyphoonTrack,
    max_surface_wind,
    typhoon_wind_events,
    typhoon_wind_scenario,
)

__all__ = [
    "HAZARD_UNITS",
    "GroundMotion",
    "HazardEvents",
    "RasterLayer",
    "SlopeVs30Table",
    "StageFrequency",
    "StormIntensityFormula",
    "TyphoonTrack",
    "bssa14",
    "channel_mask",
    "correlated_normal_field",
    "dem_slope",
    "design_storm",
    "earthquake_scenario",
    "fill_depressions",
    "flood_depth",
    "holland_gradient_wind",
    "jayaram_baker_range_km",
    "max_surface_wind",
    "pluvial_flood_events",
    "pluvial_flood_scenario",
    "ponding_depth",
    "rainfall_excess_mm",
    "raster_hazard_events",
    "river_flood_events",
    "river_flood_scenario",
    "swmm_flood_events",
    "typhoon_wind_events",
    "typhoon_wind_scenario",
    "vs30_at_assets",
    "vs30_from_slope",
]
