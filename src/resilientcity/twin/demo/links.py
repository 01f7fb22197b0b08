"""What ties the demo city together: feeders, bridges, dependencies, zones and sensors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine
from numpy.typing import NDArray
from pyproj import CRS

from resilientcity.twin.demo.assets import assumptions
from resilientcity.twin.demo.roads import BRIDGE_NAMES, DemoRoads
from resilientcity.twin.demo.terrain import DISTRICTS, Terrain
from resilientcity.twin.spatial import nearest


def make_feeders(
    buildings: pd.DataFrame, facilities: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """10 kV feeders: points among the buildings, each fed by its nearest 110 kV substation."""
    spec = assumptions()["facilities"]["feeder"]
    subs = facilities[facilities["asset_id"].str.startswith("SS110-")]
    n = len(subs) * int(assumptions()["feeders_per_110kv_substation"])
    pick = rng.choice(len(buildings), size=min(n, len(buildings)), replace=False)
    xy = buildings[["x", "y"]].to_numpy()[np.sort(pick)]
    sub = subs["asset_id"].to_numpy()[nearest(xy, subs[["x", "y"]].to_numpy())]
    return pd.DataFrame(
        {
            "asset_id": [f"FD{i + 1:04d}" for i in range(len(xy))],
            "x": xy[:, 0],
            "y": xy[:, 1],
            "kind": "feeder",
            "sector": "energy",
            "name": [f"10 kV feeder {i + 1} ({s})" for i, s in enumerate(sub)],
            "occupancy": "infrastructure",
            "storeys": 0,
            "floor_area_m2": 0.0,
            "value": spec["value_cny"],
            "occupants": 0.0,
            "capacity": spec["capacity_mva"],
            "vuln": spec["vuln"],
            "substation": sub,
        }
    )


def make_bridges(roads: DemoRoads, terrain: Terrain) -> tuple[pd.DataFrame, NDArray[np.object_]]:
    """One bridge asset per bridge edge; returns the assets and the ``asset_id`` of every edge."""
    spec = assumptions()["facilities"]["bridge"]
    index = pd.Index(roads.node_id)

    def pos(ids: NDArray[np.int64]) -> NDArray[np.intp]:
        return index.get_indexer(pd.Index(ids))

    a = roads.node_xy[pos(roads.u)]
    b = roads.node_xy[pos(roads.v)]
    mid = (a + b) / 2
    idx = np.flatnonzero(roads.bridge)
    length = np.linalg.norm(b[idx] - a[idx], axis=1)
    over_main = shapely.intersects(
        shapely.linestrings(np.stack([a[idx], b[idx]], axis=1)), terrain.main_river
    )
    order = np.argsort(-mid[idx, 1])  # north to south
    names = np.empty(idx.size, dtype=object)
    main_names = iter(BRIDGE_NAMES)
    for k, i in enumerate(order):
        default = f"Bridge {k + 1} ({roads.line_name[idx[i]]})"
        names[i] = next(main_names, default) if over_main[i] else default
    lanes = np.where(roads.rank[idx] >= 2, 6, 4)
    ids = np.array([f"BR{k + 1:03d}" for k in range(idx.size)], dtype=object)
    frame = pd.DataFrame(
        {
            "asset_id": ids,
            "x": mid[idx, 0],
            "y": mid[idx, 1],
            "kind": "bridge",
            "sector": "transport",
            "name": names,
            "occupancy": "infrastructure",
            "storeys": 0,
            "floor_area_m2": 0.0,
            "value": np.round(
                length * lanes * spec["lane_width_m"] * spec["deck_cost_cny_per_m2"], -3
            ),
            "occupants": 0.0,
            "capacity": lanes.astype(float),
            "vuln": np.where(length > spec["long_span_m"], spec["vuln_long"], spec["vuln_short"]),
        }
    )
    edge_asset = np.full(roads.u.size, "", dtype=object)
    edge_asset[idx] = ids
    return frame, edge_asset


def make_dependencies(assets: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Service links.

    Buildings on feeders and pumps, feeders on substations, critical facilities on power (some with
    two independent feeds, some with backup), water and telecom.

    ``assets`` holds every asset with ``x``, ``y`` and, for feeders, ``substation``.
    """
    a = assumptions()
    xy = assets[["x", "y"]].to_numpy()
    kind = assets["kind"].to_numpy()
    ids = assets["asset_id"].to_numpy()
    is110 = assets["asset_id"].str.startswith("SS110-").to_numpy()
    is220 = assets["asset_id"].str.startswith("SS220-").to_numpy()
    rows: list[pd.DataFrame] = []

    def link(
        dep: NDArray[np.bool_],
        sup: NDArray[np.bool_],
        service: str,
        k: int = 1,
        backup: float | NDArray[np.float64] = 0.0,
    ) -> None:
        d = np.flatnonzero(dep)
        s = np.flatnonzero(sup)
        if d.size == 0 or s.size == 0:
            return
        k = min(k, s.size)
        near = nearest(xy[d], xy[s], k=k).reshape(d.size, k)
        for j in range(k):
            rows.append(
                pd.DataFrame(
                    {
                        "dependent_id": ids[d],
                        "supplier_id": ids[s[near[:, j]]],
                        "service": service,
                        "group": service,
                        "backup_hours": np.broadcast_to(
                            np.asarray(backup, dtype=np.float64), d.shape
                        ),
                    }
                )
            )

    feeder = kind == "feeder"
    pump = kind == "pump_station"
    hospital = kind == "hospital"
    link(kind == "building", feeder, "power")
    link(kind == "building", pump, "water")
    sub_of_feeder = assets.loc[feeder, "substation"].to_numpy()
    rows.append(
        pd.DataFrame(
            {
                "dependent_id": ids[feeder],
                "supplier_id": sub_of_feeder,
                "service": "power",
                "group": "power",
                "backup_hours": 0.0,
            }
        )
    )
    link(is110, is220, "power", k=2)  # N-1: either of the two nearest 220 kV substations
    backup = a["hospital_backup_hours"]
    beds = assets.loc[hospital, "capacity"].to_numpy()
    hours = np.where(beds >= backup["large_beds"], backup["large"], backup["small"])
    dual = rng.random(hospital.sum()) < a["dual_feed_hospital_share"]
    hosp_idx = np.flatnonzero(hospital)
    f_idx = np.flatnonzero(feeder)
    near2 = nearest(xy[hosp_idx], xy[f_idx], k=min(8, f_idx.size)).reshape(hosp_idx.size, -1)
    for h, row, hrs, two in zip(hosp_idx, near2, hours, dual, strict=True):
        chosen = [row[0]]
        if two:  # a second feed from another substation: either feed suffices
            chosen += [c for c in row[1:] if sub_of_feeder[c] != sub_of_feeder[row[0]]][:1]
        rows.append(
            pd.DataFrame(
                {
                    "dependent_id": ids[h],
                    "supplier_id": ids[f_idx[chosen]],
                    "service": "power",
                    "group": "power",
                    "backup_hours": hrs,
                }
            )
        )
    link(hospital, pump, "water")
    link(hospital, kind == "telecom", "communications")
    pump_backup = np.where(rng.random(pump.sum()) < a["pump_backup_share"], 12.0, 0.0)
    link(pump, is110, "power", backup=pump_backup)
    link(pump, kind == "water_plant", "water")
    link(kind == "water_plant", is110, "power", k=2)
    link(kind == "telecom", feeder, "power", backup=float(a["telecom_battery_hours"]))
    link(kind == "fire_station", feeder, "power", backup=24.0)
    link(kind == "shelter", feeder, "power")
    link(kind == "shelter", pump, "water")
    link(kind == "warehouse", feeder, "power")
    deps = pd.concat(rows, ignore_index=True)
    for col in ("dependent_id", "supplier_id", "service", "group"):
        deps[col] = deps[col].astype("str")
    return deps


def district_zones(terrain: Terrain, transform: Affine, crs: CRS) -> pd.DataFrame:
    """District polygons from the district raster (GB/T 2260 codes as ids)."""
    codes = list(DISTRICTS)
    geoms: dict[int, list[shapely.Geometry]] = {}
    for geom, value in rasterio.features.shapes(terrain.district, transform=transform):
        geoms.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    rows = []
    for label in sorted(geoms):
        rows.append(
            {
                "zone_id": codes[label],
                "zone_type": "district",
                "name": DISTRICTS[codes[label]],
                "parent_id": "",
                "geometry": shapely.union_all(geoms[label]),
            }
        )
    return pd.DataFrame(rows)


def make_sensors(
    terrain: Terrain,
    underpasses: NDArray[np.float64],
    facilities: pd.DataFrame,
    extent_m: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """River and rain gauges, underpass water-level sensors, substation monitors (local m)."""
    rows: list[dict[str, object]] = []
    main = terrain.main_river
    for frac, name in (
        (0.15, "湘江南站 Xiang River south gauge"),
        (0.5, "湘江长沙站 Xiang River Changsha station"),
        (0.85, "湘江北站 Xiang River north gauge"),
    ):
        p = main.interpolate(frac, normalized=True)
        rows.append({"kind": "river_gauge", "name": name, "x": p.x, "y": p.y, "asset_id": ""})
    p = terrain.tributary.interpolate(0.12, normalized=True)
    rows.append(
        {
            "kind": "river_gauge",
            "name": "浏阳河㮾梨站 Liuyang River Langli station",
            "x": p.x,
            "y": p.y,
            "asset_id": "",
        }
    )

    step = max(2500.0, extent_m / 6)
    gx, gy = np.meshgrid(np.arange(step / 2, extent_m, step), np.arange(step / 2, extent_m, step))
    pts = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-0.2, 0.2, (gx.size, 2)) * step
    wet = terrain.at(terrain.water, pts)
    for i, (x, y) in enumerate(pts[~wet]):
        rows.append(
            {"kind": "rain_gauge", "name": f"Rain gauge {i + 1}", "x": x, "y": y, "asset_id": ""}
        )

    for i, (x, y) in enumerate(underpasses):
        rows.append(
            {
                "kind": "underpass_level",
                "name": f"Underpass {i + 1}",
                "x": x,
                "y": y,
                "asset_id": "",
            }
        )
    subs = facilities[facilities["kind"] == "substation"]
    for aid, name, x, y in subs[["asset_id", "name", "x", "y"]].itertuples(index=False):
        rows.append(
            {
                "kind": "substation_monitor",
                "name": f"Monitor {name}",
                "x": x,
                "y": y,
                "asset_id": aid,
            }
        )
    frame = pd.DataFrame(rows)
    prefix = {
        "river_gauge": "RG",
        "rain_gauge": "RN",
        "underpass_level": "UP",
        "substation_monitor": "SM",
    }
    frame["sensor_id"] = [
        f"{prefix[k]}{i + 1:03d}"
        for k, i in zip(frame["kind"], frame.groupby("kind").cumcount(), strict=True)
    ]
    return frame


def underpass_sites(terrain: Terrain, roads: DemoRoads) -> NDArray[np.float64]:
    """Underpasses: the lowest crossings of two major roads away from the river (local m)."""
    major = roads.rank >= 2
    deg = pd.Series(np.concatenate([roads.u[major], roads.v[major]])).value_counts()
    crossings = deg.index[deg.to_numpy() >= 3].to_numpy()
    xy = roads.node_xy[pd.Index(roads.node_id).get_indexer(pd.Index(crossings))]
    inland = terrain.at(terrain.density, xy) > 0
    elev = terrain.at(terrain.elevation_m, xy).astype(float)
    order = np.argsort(np.where(inland, elev, np.inf))
    n = max(3, int(inland.sum()) // 8)
    return xy[order[: min(n, int(inland.sum()))]]
