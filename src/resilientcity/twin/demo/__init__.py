"""The built-in demo city: a Changsha-like river city, generated deterministically from a seed.

The city has a Xiang-like river flowing north with an island and a tributary, a floodplain
whose ground lies between the river's warning and record stages, hills in the west, the six
central districts of Changsha (schematic boundaries), a hierarchical road network with bridges,
buildings of every use, hospitals, shelters, fire stations, relief warehouses, a power grid
(220 kV and 110 kV substations, 10 kV feeders), a water system (plant and pump stations),
telecom sites, the dependencies between them, districts and H3 cells, and sensors. It is placed
at Changsha's real location in UTM zone 49N, but it is synthetic: no real building or road is
in it. The figures behind it are in ``data/demo_assumptions.json`` with their sources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from pyproj import CRS, Transformer

from resilientcity.region.profile import region_profile
from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM
from resilientcity.twin.demo.assets import assumptions, make_buildings, make_facilities
from resilientcity.twin.demo.links import (
    district_zones,
    make_bridges,
    make_dependencies,
    make_feeders,
    make_sensors,
    underpass_sites,
)
from resilientcity.twin.demo.roads import build_roads, road_frames
from resilientcity.twin.demo.terrain import DISTRICTS, build_terrain
from resilientcity.twin.roads import RoadNetwork
from resilientcity.twin.schema import ASSETS, SENSOR_KINDS
from resilientcity.twin.spatial import h3_cells, nearest
from resilientcity.vocabulary import CitySize

__all__ = ["DEFAULT_SEED", "SIZES", "DemoSize", "demo_city"]

DEFAULT_SEED = 20170703  # the day the Xiang River set its record stage at Changsha


@dataclass(frozen=True)
class DemoSize:
    """How big a demo city is: side of the square (m), buildings, DEM cell, street spacing."""

    name: str
    extent_m: float
    n_buildings: int
    dem_res_m: float
    street_spacing_m: float
    h3_resolution: int


SIZES: dict[str, DemoSize] = {
    "small": DemoSize("small", 8_000.0, 5_000, 20.0, 250.0, 8),
    "default": DemoSize("default", 20_000.0, 50_000, 25.0, 300.0, 8),
    "large": DemoSize("large", 50_000.0, 1_000_000, 50.0, 350.0, 7),
}

Progress = Callable[[str], None]

#: Depth (m) and radius (m) of the dip carved into the DEM at each underpass.
UNDERPASS_DEPTH_M = 4.0
UNDERPASS_RADIUS_M = 45.0


def demo_city(
    size: CitySize | str = "small", seed: int = DEFAULT_SEED, progress: Progress | None = None
) -> City:
    """Generate the built-in demo city.

    Parameters
    ----------
    size
        ``"small"`` (≈5k buildings on 8 × 8 km, for tests), ``"default"`` (≈50k on 20 × 20 km)
        or ``"large"`` (≈1M on 50 × 50 km, for benchmarks).
    seed
        Random seed; the same size and seed give the same city, bit for bit.
    progress
        Called with the name of each step as it starts (the CLI shows it).

    Returns
    -------
    City
        A valid city in EPSG:32649 (UTM 49N), elevations in the Changsha station datum.
    """
    if size not in SIZES:
        raise ValueError(f"size: expected one of {', '.join(SIZES)}, got {size!r}")
    spec = SIZES[size]
    say = progress or (lambda _step: None)

    def rng(stream: int) -> np.random.Generator:
        return np.random.default_rng([seed, stream])

    crs = CRS.from_user_input(assumptions()["crs"])
    say("terrain and rivers")
    terrain = build_terrain(spec.extent_m, spec.dem_res_m, rng(1))
    lon, lat = assumptions()["city_centre_lonlat"]
    east, north = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    ox = round(east - terrain.centre_xy[0], -1)
    oy = round(north - terrain.centre_xy[1], -1)

    say("road network")
    roads = build_roads(terrain, spec.extent_m, spec.street_spacing_m, rng(2))
    underpasses = underpass_sites(terrain, roads)
    _carve_underpasses(terrain.elevation_m, terrain.transform, underpasses)

    say("buildings")
    buildings = make_buildings(terrain, spec.n_buildings, rng(3))
    buildings.insert(
        0, "asset_id", "B" + pd.Series(np.arange(1, len(buildings) + 1)).astype(str).str.zfill(7)
    )
    population = float(buildings.loc[buildings["occupancy"] == "residential", "occupants"].sum())

    say("facilities and infrastructure")
    facilities = make_facilities(terrain, population, rng(4))
    feeders = make_feeders(buildings, facilities, rng(5))
    bridges, edge_asset = make_bridges(roads, terrain)
    local = pd.concat([buildings, facilities, feeders, bridges], ignore_index=True)

    say("dependencies")
    dependencies = make_dependencies(local, rng(6))

    say("zones and sensors")
    x = local["x"].to_numpy() + ox
    y = local["y"].to_numpy() + oy
    n_rows, _ = terrain.elevation_m.shape
    transform = Affine(spec.dem_res_m, 0.0, ox, 0.0, -spec.dem_res_m, oy + n_rows * spec.dem_res_m)
    districts = district_zones(terrain, transform, crs)
    zone_id = np.array(list(DISTRICTS))[terrain.at(terrain.district, local[["x", "y"]].to_numpy())]
    cell_id, cells = h3_cells(x, y, crs, spec.h3_resolution)
    node_xy = roads.node_xy + (ox, oy)
    node_id = roads.node_id[nearest(np.column_stack([x, y]), node_xy)]

    assets = local[[c.name for c in ASSETS.columns if c.name in local.columns]].copy()
    assets["zone_id"] = zone_id
    assets["cell_id"] = cell_id
    assets["node_id"] = node_id
    for col_ in ASSETS.columns:
        if col_.dtype == "str":
            assets[col_.name] = assets[col_.name].astype("str")
        elif col_.dtype == "int":
            assets[col_.name] = assets[col_.name].astype("int64")
        elif col_.dtype == "float":
            assets[col_.name] = assets[col_.name].astype("float64")
    assets = gpd.GeoDataFrame(assets, geometry=shapely.points(x, y), crs=crs)

    residents = assets["occupants"].where(assets["occupancy"] == "residential", 0.0)
    districts["population"] = (
        districts["zone_id"].map(residents.groupby(assets["zone_id"]).sum()).fillna(0.0)
    )
    cells["population"] = (
        cells["zone_id"].map(residents.groupby(assets["cell_id"]).sum()).fillna(0.0)
    )
    cells["parent_id"] = cells["zone_id"].map(
        assets.groupby("cell_id")["zone_id"].agg(lambda s: s.mode().iloc[0])
    )
    zones = gpd.GeoDataFrame(
        pd.concat([districts, cells], ignore_index=True), geometry="geometry", crs=crs
    )
    for c in ("zone_id", "zone_type", "name", "parent_id"):
        zones[c] = zones[c].astype("str")
    zones = zones[["zone_id", "zone_type", "name", "parent_id", "population", "geometry"]]

    sensors_local = make_sensors(terrain, underpasses, local, spec.extent_m, rng(7))
    sensors = gpd.GeoDataFrame(
        {
            "sensor_id": sensors_local["sensor_id"].astype("str"),
            "kind": sensors_local["kind"].astype("str"),
            "observed_property": sensors_local["kind"]
            .map(lambda k: SENSOR_KINDS[k][0])
            .astype("str"),
            "unit": sensors_local["kind"].map(lambda k: SENSOR_KINDS[k][1]).astype("str"),
            "asset_id": sensors_local["asset_id"].astype("str"),
            "name": sensors_local["name"].astype("str"),
        },
        geometry=shapely.points(sensors_local["x"] + ox, sensors_local["y"] + oy),
        crs=crs,
    )

    nodes, edges = road_frames(roads, (ox, oy))
    edges["asset_id"] = pd.array(edge_asset, dtype="str")
    road_net = RoadNetwork(
        gpd.GeoDataFrame(nodes, geometry="geometry", crs=crs),
        gpd.GeoDataFrame(edges, geometry="geometry", crs=crs),
    )

    shift = shapely.affinity.translate
    rivers = gpd.GeoDataFrame(
        {
            "river_id": pd.array(["xiang", "liuyang"], dtype="str"),
            "name": pd.array(["湘江 Xiang River", "浏阳河 Liuyang River"], dtype="str"),
            "width_m": [terrain.river_width_m, terrain.tributary_width_m],
        },
        geometry=[shift(terrain.main_river, ox, oy), shift(terrain.tributary, ox, oy)],
        crs=crs,
    ).clip(shapely.box(*_bounds(transform, terrain.elevation_m.shape)))
    rivers = rivers.reset_index(drop=True)

    say("validation")
    return City(
        name=f"Changsha-like demo city ({size})",
        crs=crs,
        assets=assets,
        roads=road_net,
        dependencies=dependencies,
        zones=zones,
        sensors=sensors,
        rivers=rivers,
        dem=DEM(terrain.elevation_m, transform, crs),
        metadata={
            "source": "resilientcity built-in demo city (synthetic)",
            "size": size,
            "seed": seed,
            "vertical_datum": "Changsha hydrological station datum (stages in shared/reference/changsha-hydrology.json)",
            "note": "Synthetic city placed at Changsha; districts are schematic; no real building or road is represented.",
            "region": region_profile("CN-changsha").summary(),
        },
    )


def _bounds(transform: Affine, shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    rows, cols = shape[0], shape[1]
    return (
        transform.c,
        transform.f + rows * transform.e,
        transform.c + cols * transform.a,
        transform.f,
    )


def _carve_underpasses(elevation: np.ndarray, transform: Affine, sites: np.ndarray) -> None:
    """Lower the ground at underpasses, where rainstorms pond first (in place)."""
    res = transform.a
    r = int(np.ceil(UNDERPASS_RADIUS_M / res))
    for x, y in sites:
        c = int((x - transform.c) / res)
        rw = int((y - transform.f) / transform.e)
        r0, r1 = max(rw - r, 0), min(rw + r + 1, elevation.shape[0])
        c0, c1 = max(c - r, 0), min(c + r + 1, elevation.shape[1])
        elevation[r0:r1, c0:c1] -= UNDERPASS_DEPTH_M
