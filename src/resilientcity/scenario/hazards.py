"""From a scenario's hazard specs to hazard events on the city.

One builder per hazard kind, each a thin call into :mod:`resilientcity.hazard`. Flood hazards
that strike together (a river flood and its rainstorm, flood-depth rasters) are combined into one
*compound flood* event: at every asset the depth is the larger of the river and rain depths (the
water does not add up: the river level and the ponding fill the same low ground; the larger depth
is the one that reaches the asset). The compound takes the river-flood vulnerability curves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from resilientcity.errors import DataFileError
from resilientcity.hazard.earthquake import earthquake_scenario
from resilientcity.hazard.events import HAZARD_UNITS, HazardEvents
from resilientcity.hazard.flood import (
    StageFrequency,
    flood_depth,
    grid_events,
    river_flood_events,
    river_flood_scenario,
)
from resilientcity.hazard.rainfall_table import packaged_table_path
from resilientcity.hazard.rainstorm import (
    Rainfall,
    StormIntensityFormula,
    packaged_rainfall,
    pluvial_flood_events,
    ponding_grids,
)
from resilientcity.hazard.raster_layer import raster_hazard_events
from resilientcity.hazard.swmm import swmm_flood_events
from resilientcity.hazard.wind import TyphoonTrack, typhoon_wind_scenario
from resilientcity.scenario.config import (
    EarthquakeSpec,
    EventSetSpec,
    HazardSpec,
    PluvialFloodSpec,
    RasterSpec,
    RiverFloodSpec,
    Scenario,
    WindSpec,
)
from resilientcity.twin.city import City

__all__ = [
    "FLOOD_KINDS",
    "NamedEvents",
    "build_event_set",
    "build_hazard",
    "compound_floods",
    "missing_table",
]

#: Hazard kinds whose intensity is a water depth (m) and that combine into a compound flood.
FLOOD_KINDS = ("river_flood", "pluvial_flood")


@dataclass(frozen=True, eq=False)
class NamedEvents:
    """Hazard events with a name in words for the report."""

    name: str
    events: HazardEvents
    depth_grid: NDArray[Any] | None = None


def _stage_table(
    city: City, scenario: Scenario, spec: RiverFloodSpec | EventSetSpec
) -> StageFrequency:
    """The scenario's stage-frequency table, else the city's regional profile's.

    Raises
    ------
    DataFileError
        Neither gives one (the message says what to give).
    """
    path = scenario.resolve(spec.stage_frequency)
    if path is not None:
        return StageFrequency.from_file(path)
    missing = missing_table(city, scenario, spec)
    if missing is not None or city.profile.stage_frequency is None:
        raise DataFileError(missing or "no stage-frequency table")
    return StageFrequency.from_file(packaged_table_path(city.profile.stage_frequency))


def _river(city: City, scenario: Scenario, spec: RiverFloodSpec) -> NamedEvents:
    if spec.stage_m is not None:
        stage = spec.stage_m
        name = f"river flood, stage {stage:.2f} m"
    else:
        table = _stage_table(city, scenario, spec)
        period = float(spec.return_period_years or 0.0)
        stage = table.stage_for(period)
        name = f"{period:g}-year river flood, stage {stage:.2f} m"
    if city.dem is None:  # river_flood_scenario names the missing DEM
        return NamedEvents(name, river_flood_scenario(city, stage))
    grid = flood_depth(city.dem, city.rivers, stage)
    events = grid_events(city, "river_flood", grid[None], [f"stage-{stage:.2f}m"], [0.0])
    return NamedEvents(name, events, grid)


def missing_table(city: City, scenario: Scenario, spec: HazardSpec | EventSetSpec) -> str | None:
    """Why a flood hazard or event set lacks its table (``None``: it has what it needs).

    A river flood of a return period (and the river event set) needs a stage-frequency table,
    a rainstorm (without a SWMM model) a storm formula or rainfall table: the scenario's own
    file, else the city's regional profile's.
    """
    profile = city.profile
    where = f"region {profile.id} ({profile.country_name})"
    river = spec.kind == "river_flood" and getattr(spec, "stage_m", None) is None
    if river and spec.stage_frequency is None and profile.stage_frequency is None:  # type: ignore[union-attr]
        return (
            f"no river stage-frequency table for {where}: give the river's own with "
            "stage_frequency: (a JSON table like data/hazard/changsha_stage_frequency.json) "
            "or a stage_m"
        )
    pluvial = spec.kind == "pluvial_flood" and getattr(spec, "swmm_model", None) is None
    if pluvial and spec.storm_intensity is None and profile.rainfall is None:  # type: ignore[union-attr]
        return (
            f"no design rainfall for {where}: give the city's storm intensity formula with "
            "storm_intensity: (a JSON formula like data/hazard/storm_intensity.json)"
        )
    return None


def _formula(city: City, scenario: Scenario, spec: PluvialFloodSpec | EventSetSpec) -> Rainfall:
    """The scenario's storm intensity formula, else the rainfall of the city's regional profile.

    A packaged rainfall file is a storm intensity formula, or a table of stations, of which
    the one nearest to the city's centre is taken
    (:func:`~resilientcity.hazard.rainfall_table.station_table`).

    Raises
    ------
    DataFileError
        Neither gives one (the message says what to give).
    """
    path = scenario.resolve(spec.storm_intensity)
    if path is not None:
        return StormIntensityFormula.from_file(path)
    missing = missing_table(city, scenario, spec)
    if missing is not None or city.profile.rainfall is None:
        raise DataFileError(missing or "no design rainfall")
    return packaged_rainfall(city.profile.rainfall, *city.centre_lonlat())


def _pluvial(city: City, scenario: Scenario, spec: PluvialFloodSpec) -> NamedEvents:
    name = f"{spec.return_period_years:g}-year rainstorm, {spec.duration_min:g} min"
    swmm = scenario.resolve(spec.swmm_model)
    if swmm is not None:
        return NamedEvents(f"{name} (SWMM {swmm.name})", swmm_flood_events(swmm, city))
    formula = _formula(city, scenario, spec)
    grids = ponding_grids(city, [spec.return_period_years], spec.duration_min, formula)
    event_id = f"rain-T{spec.return_period_years:g}-{spec.duration_min:g}min"
    events = grid_events(city, "pluvial_flood", grids, [event_id], [0.0])
    return NamedEvents(name, events, grids[0])


def _earthquake(city: City, scenario: Scenario, spec: EarthquakeSpec) -> NamedEvents:
    events = earthquake_scenario(
        city,
        magnitude=spec.magnitude,
        epicentre_xy=spec.epicentre_xy,
        epicentre_lonlat=spec.epicentre_lonlat,
        depth_km=spec.depth_km,
        mechanism=spec.mechanism,
        vs30=spec.vs30,
        region=spec.region,
        n_realisations=spec.realisations,
        seed=spec.seed,
    )
    where = spec.epicentre_xy or spec.epicentre_lonlat
    realisations = f", {spec.realisations} realisations" if spec.realisations else ""
    return NamedEvents(f"M{spec.magnitude:g} earthquake at {where}{realisations}", events)


def _wind(city: City, scenario: Scenario, spec: WindSpec) -> NamedEvents:
    path = scenario.resolve(spec.track)
    assert path is not None  # a required field
    track = TyphoonTrack.from_csv(path)
    return NamedEvents(
        f"wind storm (Holland 1980 cyclone model), track {path.name}",
        typhoon_wind_scenario(city, track),
    )


def _raster(city: City, scenario: Scenario, spec: RasterSpec) -> NamedEvents:
    layers = [
        (scenario.resolve(layer.path), layer.event_id, layer.frequency) for layer in spec.layers
    ]
    events = raster_hazard_events(
        city, layers, spec.hazard, band=spec.band, scale=spec.scale, outside=spec.outside
    )
    files = ", ".join(layer.path.name for layer in spec.layers)
    return NamedEvents(f"{spec.hazard.replace('_', ' ')} from {files}", events)


_BUILDERS: dict[str, Callable[[City, Scenario, object], NamedEvents]] = {
    "river_flood": _river,  # type: ignore[dict-item]
    "pluvial_flood": _pluvial,  # type: ignore[dict-item]
    "earthquake": _earthquake,  # type: ignore[dict-item]
    "wind": _wind,  # type: ignore[dict-item]
    "raster": _raster,  # type: ignore[dict-item]
}


def build_hazard(city: City, scenario: Scenario, spec: HazardSpec) -> NamedEvents:
    """The events of one hazard of the scenario on ``city``."""
    return _BUILDERS[spec.kind](city, scenario, spec)


def compound_floods(hazards: list[NamedEvents]) -> list[NamedEvents]:
    """Merge the single-event flood hazards into one compound flood (max depth per asset).

    Hazards that are not floods, or have several events, pass through unchanged; one flood
    passes through as it is.
    """
    floods = [h for h in hazards if h.events.kind in FLOOD_KINDS and h.events.n_events == 1]
    if len(floods) < 2:
        return hazards
    depth = np.max([_row(h.events) for h in floods], axis=0)
    grids = [h.depth_grid for h in floods if h.depth_grid is not None]
    grid = np.fmax.reduce(grids) if grids else None
    first = floods[0].events
    name = "compound flood: " + " + ".join(h.name for h in floods)
    merged = HazardEvents(
        "river_flood",
        np.array(["compound-flood"]),
        np.zeros(1),
        sp.csr_array(depth[None, :]),
        first.asset_ids,
    )
    rest = [h for h in hazards if h not in floods]
    return [NamedEvents(name, merged, grid), *rest]


def _row(events: HazardEvents) -> np.ndarray:
    """The intensities of a one-event set as a dense 1-D array (sparse or dense storage)."""
    return events.to_csr().toarray().reshape(-1)


def build_event_set(city: City, scenario: Scenario, spec: EventSetSpec) -> NamedEvents:
    """The probabilistic event set of ``spec`` (for the expected annual loss)."""
    if spec.kind == "river_flood":
        table = _stage_table(city, scenario, spec)
        label = f"river flood event set, {table.station or 'stage-frequency table'}"
        return NamedEvents(label, river_flood_events(city, table))
    periods = tuple(spec.return_periods_years)
    label = (
        f"rainstorm event set, {spec.duration_min:g} min, "
        f"T = {', '.join(f'{t:g}' for t in periods)} years"
    )
    formula = _formula(city, scenario, spec)
    events = pluvial_flood_events(
        city, return_periods=periods, duration_min=spec.duration_min, formula=formula
    )
    return NamedEvents(label, events)


def unit_of(kind: str) -> str:
    """Unit of the intensity of a hazard kind."""
    return HAZARD_UNITS[kind][1]
