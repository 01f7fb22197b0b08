"""Test data made by the tests: a tiny hand-made city with every layer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine

from resilientcity.twin import DEM, RoadNetwork

CRS = "EPSG:32649"


def tiny_layers() -> dict[str, object]:
    """Every layer of a 3-asset city on a 1 km square, as keyword arguments for ``City``."""
    s = lambda values: pd.array(values, dtype="str")  # noqa: E731
    assets = gpd.GeoDataFrame(
        {
            "asset_id": s(["B1", "H1", "S1"]),
            "kind": s(["building", "hospital", "substation"]),
            "sector": s(["housing", "medical", "energy"]),
            "name": s(["", "医院 Hospital", "Substation"]),
            "occupancy": s(["residential", "public", "infrastructure"]),
            "storeys": np.array([6, 8, 0], dtype="int64"),
            "floor_area_m2": [3000.0, 20000.0, 0.0],
            "value": [1.35e7, 2.4e8, 8.0e7],
            "occupants": [74.0, 500.0, 0.0],
            "capacity": [82.0, 200.0, 100.0],
            "vuln": s(["RES3/C2M", "COM6/C2M", "ESS1"]),
            "zone_id": s(["D1", "D1", "D1"]),
            "cell_id": s(["", "", ""]),
            "node_id": np.array([1, 2, 3], dtype="int64"),
        },
        geometry=shapely.points([100.0, 500.0, 900.0], [100.0, 500.0, 900.0]),
        crs=CRS,
    )
    nodes = gpd.GeoDataFrame(
        {"node_id": np.array([1, 2, 3], dtype="int64")},
        geometry=shapely.points([0.0, 500.0, 1000.0], [0.0, 500.0, 1000.0]),
        crs=CRS,
    )
    edges = gpd.GeoDataFrame(
        {
            "edge_id": np.array([10, 11], dtype="int64"),
            "u": np.array([1, 2], dtype="int64"),
            "v": np.array([2, 3], dtype="int64"),
            "road_class": s(["primary", "residential"]),
            "length_m": [707.1, 707.1],
            "speed_kph": [50.0, 30.0],
            "travel_min": [707.1 / 1000 / 50 * 60, 707.1 / 1000 / 30 * 60],
            "lanes": np.array([4, 2], dtype="int64"),
            "oneway": [False, True],
            "asset_id": s(["", ""]),
            "name": s(["Main road", "Lane"]),
        },
        geometry=shapely.linestrings([[(0, 0), (500, 500)], [(500, 500), (1000, 1000)]]),
        crs=CRS,
    )
    deps = pd.DataFrame(
        {
            "dependent_id": s(["H1"]),
            "supplier_id": s(["S1"]),
            "service": s(["power"]),
            "group": s(["power"]),
            "backup_hours": [24.0],
        }
    )
    zones = gpd.GeoDataFrame(
        {
            "zone_id": s(["D1"]),
            "zone_type": s(["district"]),
            "name": s(["District"]),
            "parent_id": s([""]),
            "population": [74.0],
        },
        geometry=[shapely.box(0, 0, 1000, 1000)],
        crs=CRS,
    )
    sensors = gpd.GeoDataFrame(
        {
            "sensor_id": s(["SM1"]),
            "kind": s(["substation_monitor"]),
            "observed_property": s(["load"]),
            "unit": s(["MW"]),
            "asset_id": s(["S1"]),
            "name": s([""]),
        },
        geometry=[shapely.Point(900, 900)],
        crs=CRS,
    )
    rivers = gpd.GeoDataFrame(
        {"river_id": s(["r"]), "name": s(["River"]), "width_m": [50.0]},
        geometry=[shapely.LineString([(0, 800), (1000, 800)])],
        crs=CRS,
    )
    dem = DEM(
        np.linspace(30, 50, 100, dtype=np.float32).reshape(10, 10),
        Affine(100.0, 0, 0, 0, -100.0, 1000.0),
        CRS,
    )
    return {
        "name": "tiny",
        "crs": CRS,
        "assets": assets,
        "roads": RoadNetwork(nodes, edges),
        "dependencies": deps,
        "zones": zones,
        "sensors": sensors,
        "rivers": rivers,
        "dem": dem,
    }
