"""Write a city twin as an OpenStreetMap extract (``.osm.pbf``) with pyosmium, for benchmarks.

The demo city has no footprints, so each asset becomes what OSM would map for it:

* a **building** (kinds ``building``, ``hospital``, ``fire_station``, ``warehouse``): a closed way,
  a square of area ``floor_area_m2 / storeys`` centred on the asset's point (in the city's CRS),
  with ``building=*`` after its use (``apartments`` for housing of 4 storeys or more, ``house``
  below, ``commercial``, ``industrial``, ``public``; ``hospital``, ``fire_station``,
  ``warehouse`` for those kinds), ``building:levels`` and ``name``; hospitals and fire stations
  also carry ``amenity=hospital|fire_station``;
* a **shelter** (open space in the demo): a closed way ``leisure=park`` whose area gives the
  importer the same shelter capacity (capacity × ``shelter_m2_per_person`` / usable share);
* a **lifeline** (``substation``, ``pump_station``, ``water_plant``, ``telecom``): a node with
  ``power=substation``, ``man_made=pumping_station|water_works`` or ``telecom=exchange``;
* feeders and bridges are not written as assets (OSM maps neither as a point; bridges come back
  from the roads' ``bridge=yes``).

Roads: every road node is an OSM node, every edge a way from ``u`` to ``v`` through its
geometry's inner vertices, tagged ``highway`` (the road class), ``maxspeed``, ``lanes``,
``oneway=yes`` where one-way, ``bridge=yes`` on bridge edges and ``name``. Coordinates are
transformed from the city's CRS to WGS 84 with pyproj. Ids: road nodes ``node_id + 1``, then
inner vertices, then building corners and lifeline nodes; road ways from 1, then buildings.

:func:`cached_extract` writes the extract of a demo size once under a cache folder and reuses it.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

__all__ = ["cache_dir", "cached_extract", "write_osm_extract"]

#: Bump when the written file changes, so cached extracts are rewritten.
WRITER_VERSION = 1
#: Importer defaults the shelter parks are sized for (data/osm_defaults.json).
SHELTER_M2_PER_PERSON = 2.0
SHELTER_OPEN_SHARE = 0.5
_BUILDING_KINDS = {
    "hospital": "hospital",
    "fire_station": "fire_station",
    "warehouse": "warehouse",
}
_LIFELINE_TAGS = {
    "substation": ("power", "substation"),
    "pump_station": ("man_made", "pumping_station"),
    "water_plant": ("man_made", "water_works"),
    "telecom": ("telecom", "exchange"),
}


def cache_dir() -> Path:
    """The folder of cached extracts: ``$RC_BENCH_CACHE``, else ``<tmp>/resilientcity-bench``."""
    folder = os.environ.get("RC_BENCH_CACHE") or Path(tempfile.gettempdir()) / "resilientcity-bench"
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _building_tag(kind: np.ndarray, occupancy: np.ndarray, storeys: np.ndarray) -> np.ndarray:
    housing = np.where(storeys >= 4, "apartments", "house")
    by_use = np.where(occupancy == "residential", housing, occupancy).astype(object)
    for k, tag in _BUILDING_KINDS.items():
        by_use[kind == k] = tag
    return by_use


def _squares(x: np.ndarray, y: np.ndarray, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Corner coordinates (n, 4) of squares of ``area`` centred on (x, y), counter-clockwise."""
    h = np.sqrt(area)[:, None] / 2.0
    dx = np.array([-1.0, 1.0, 1.0, -1.0])[None, :]
    dy = np.array([-1.0, -1.0, 1.0, 1.0])[None, :]
    return x[:, None] + dx * h, y[:, None] + dy * h


def write_osm_extract(city: Any, path: str | os.PathLike[str]) -> dict[str, int]:
    """Write ``city`` (a :class:`~resilientcity.twin.city.City`) as an ``.osm.pbf`` at ``path``.

    The file is written under a temporary name and renamed, so an interrupted run leaves no
    partial extract at ``path``. Returns the counts of written nodes, ways and assets by form.
    """
    import osmium
    from osmium.osm.mutable import Node, Way

    to_wgs84 = Transformer.from_crs(city.crs, "EPSG:4326", always_xy=True)
    target = Path(path)
    partial = target.with_name(f".{target.name.removesuffix('.osm.pbf')}.partial.osm.pbf")
    partial.unlink(missing_ok=True)

    # Roads: node ids node_id + 1; inner vertices get ids after the largest road node.
    nodes, edges = city.roads.nodes, city.roads.edges
    node_id = nodes["node_id"].to_numpy(dtype=np.int64) + 1
    nlon, nlat = to_wgs84.transform(*shapely.get_coordinates(nodes.geometry.to_numpy()).T)
    coords, which = shapely.get_coordinates(edges.geometry.to_numpy(), return_index=True)
    counts = np.bincount(which, minlength=len(edges))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    inner = np.ones(len(coords), dtype=bool)
    inner[starts] = False
    inner[starts + counts - 1] = False
    next_id = int(node_id.max()) + 1
    vertex_id = np.zeros(len(coords), dtype=np.int64)
    vertex_id[inner] = np.arange(next_id, next_id + int(inner.sum()))
    vertex_id[starts] = edges["u"].to_numpy(dtype=np.int64) + 1
    vertex_id[starts + counts - 1] = edges["v"].to_numpy(dtype=np.int64) + 1
    next_id += int(inner.sum())
    vlon, vlat = to_wgs84.transform(coords[inner, 0], coords[inner, 1])

    a = city.assets
    kind = a["kind"].to_numpy(dtype=object)
    xy = shapely.get_coordinates(a.geometry.to_numpy())
    storeys = a["storeys"].to_numpy(dtype=np.int64)
    floor = a["floor_area_m2"].to_numpy(dtype=np.float64)
    names = a["name"].fillna("").to_numpy(dtype=object)
    building = np.isin(kind, ["building", *_BUILDING_KINDS]) & (floor > 0) & (storeys > 0)
    park = (kind == "shelter") & (floor <= 0)
    footprint = np.zeros(len(a))
    footprint[building] = floor[building] / storeys[building]
    capacity = a["capacity"].to_numpy(dtype=np.float64)
    footprint[park] = capacity[park] * SHELTER_M2_PER_PERSON / SHELTER_OPEN_SHARE
    polygon = np.flatnonzero(building | park)
    cx, cy = _squares(xy[polygon, 0], xy[polygon, 1], footprint[polygon])
    clon, clat = to_wgs84.transform(cx.ravel(), cy.ravel())
    corner_ids = np.arange(next_id, next_id + clon.size, dtype=np.int64).reshape(-1, 4)
    next_id += clon.size
    lifeline = np.flatnonzero(np.isin(kind, list(_LIFELINE_TAGS)))
    llon, llat = to_wgs84.transform(xy[lifeline, 0], xy[lifeline, 1])
    btag = _building_tag(kind, a["occupancy"].to_numpy(dtype=object), storeys)

    def tags(**kw: Any) -> dict[str, str]:
        return {k.replace("__", ":"): str(v) for k, v in kw.items() if v not in ("", None)}

    with osmium.SimpleWriter(str(partial)) as writer:
        for i, lon, lat in zip(node_id.tolist(), nlon.tolist(), nlat.tolist(), strict=True):
            writer.add_node(Node(id=i, location=(lon, lat), version=1))
        ids = vertex_id[inner].tolist()
        for i, lon, lat in zip(ids, vlon.tolist(), vlat.tolist(), strict=True):
            writer.add_node(Node(id=i, location=(lon, lat), version=1))
        flat_ids = corner_ids.ravel().tolist()
        for i, lon, lat in zip(flat_ids, clon.tolist(), clat.tolist(), strict=True):
            writer.add_node(Node(id=i, location=(lon, lat), version=1))
        for j, i in enumerate(lifeline.tolist()):
            key, value = _LIFELINE_TAGS[kind[i]]
            writer.add_node(
                Node(
                    id=next_id + j,
                    location=(llon[j], llat[j]),
                    version=1,
                    tags=tags(**{key: value}, name=names[i]),
                )
            )

        road_class = edges["road_class"].to_numpy(dtype=object)
        speed = np.rint(edges["speed_kph"].to_numpy(dtype=np.float64)).astype(np.int64)
        lanes = edges["lanes"].to_numpy(dtype=np.int64)
        oneway = edges["oneway"].to_numpy(dtype=bool)
        bridge = edges["asset_id"].fillna("").to_numpy(dtype=object) != ""
        road_names = edges["name"].fillna("").to_numpy(dtype=object)
        ends = (starts + counts).tolist()
        for e, (s, t) in enumerate(zip(starts.tolist(), ends, strict=True)):
            t_ = tags(
                highway=road_class[e],
                maxspeed=speed[e],
                lanes=lanes[e],
                oneway="yes" if oneway[e] else "",
                bridge="yes" if bridge[e] else "",
                name=road_names[e],
            )
            writer.add_way(Way(id=e + 1, nodes=vertex_id[s:t].tolist(), version=1, tags=t_))
        first_way = len(edges) + 1
        rings = np.concatenate([corner_ids, corner_ids[:, :1]], axis=1).tolist()
        for j, (i, ring) in enumerate(zip(polygon.tolist(), rings, strict=True)):
            if park[i]:
                t_ = tags(leisure="park", name=names[i])
            else:
                amenity = kind[i] if kind[i] in ("hospital", "fire_station") else ""
                t_ = tags(
                    building=btag[i],
                    building__levels=storeys[i],
                    amenity=amenity,
                    name=names[i],
                )
            writer.add_way(Way(id=first_way + j, nodes=ring, version=1, tags=t_))
    os.replace(partial, target)
    return {
        "nodes": int(len(node_id) + inner.sum() + clon.size + lifeline.size),
        "ways": int(len(edges) + polygon.size),
        "buildings": int(building.sum()),
        "parks": int(park.sum()),
        "lifeline_nodes": int(lifeline.size),
        "road_ways": len(edges),
    }


def cached_extract(size: str, seed: int | None = None, *, log: Any = print) -> Path:
    """The extract of ``demo_city(size, seed)``, written under :func:`cache_dir` if not there yet."""
    from resilientcity.twin.demo import DEFAULT_SEED, demo_city

    seed = DEFAULT_SEED if seed is None else seed
    path = cache_dir() / f"demo-{size}-{seed}-v{WRITER_VERSION}.osm.pbf"
    if path.is_file():
        log(f"reusing {path}")
        return path
    log(f"writing {path} (demo city {size!r}, seed {seed}) ...")
    t0 = time.perf_counter()
    city = demo_city(size, seed=seed)
    t1 = time.perf_counter()
    counts = write_osm_extract(city, path)
    log(
        f"  generated in {t1 - t0:.1f} s, written in {time.perf_counter() - t1:.1f} s: "
        f"{counts}, {path.stat().st_size / 2**20:.1f} MB"
    )
    return path
