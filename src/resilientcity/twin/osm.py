"""Build a city twin from a local OpenStreetMap extract (``.osm.pbf``), read with pyrosm.

Map data © OpenStreetMap contributors, available under the Open Database Licence (ODbL 1.0);
every imported city carries this attribution in its metadata. What OSM does not say (floor
area per person, costs, default storeys, speeds …) comes from :class:`OsmDefaults`, whose
values and sources are in ``data/osm_defaults.json``.

How the layers are built (all in the extract's UTM zone, metres; the buildings and facilities
by :mod:`resilientcity.twin.osm_assets`):

* **Buildings** (``osm.get_buildings()``): one asset per polygonal footprint (invalid ones
  repaired) with an area > 0; others are dropped and counted in ``metadata["dropped"]``. The id
  is the OSM element (``w123`` way, ``r123`` relation, ``n123`` node). Use: ``building=*`` through
  ``occupancy_by_building``, else ``amenity=*`` through ``occupancy_by_amenity``, else
  ``shop=*`` commercial, ``office=government`` public, other ``office=*`` commercial, else
  ``default_occupancy``. Storeys: ``building:levels``, else ``height`` / ``storey_height_m``,
  else ``default_storeys`` (1 for ``unoccupied_building_tags``); floor area = projected
  footprint × storeys. Occupants, capacity and value follow the demo city's formulas:
  residents = floor / ``floor_area_per_resident_m2`` × ``residential_occupancy_rate``, other
  occupants = floor / ``floor_area_per_worker_m2``, value = floor × structure cost ×
  (1 + contents ratio).
* **Facilities**, from the building's own tags or from POIs (``osm.get_pois()``; a POI that
  is also a building is kept once, as the building): ``amenity=hospital`` → hospital,
  ``amenity=clinic`` → clinic (capacity: numeric ``beds``, else floor area /
  ``floor_area_per_bed_m2``), ``amenity=fire_station`` → fire_station,
  ``amenity=school|university|college`` and ``leisure=park`` → shelter (capacity: floor area ×
  usable share / ``shelter_m2_per_person``; parks and school grounds are open space with no
  floor area: their area less the footprints of the buildings on them), ``power=substation``,
  ``man_made=pumping_station|water_works`` and ``telecom=exchange`` → substation, pump_station,
  water_plant, telecom (values from ``facilities``). A facility mapped as a point or as
  grounds is a *site*: its capacity comes from the floor area of the buildings on its grounds,
  else from ``site_floor_area_m2``; when it lies in or on mapped buildings they hold its value
  and occupants (no double counting), otherwise the assumed floor area does.
* **Vulnerability classes** (Hazus-style ``OCCUPANCY/TYPE`` ids, as the demo city): housing
  RES1/URML (1–3 storeys), RES3/C2M (4–7), RES3/C2H (8+); commercial COM1/C1L, COM4/C2M,
  COM4/C2H; industrial IND2/S3; public GOV1/C2M; hospital COM6, clinic COM7, fire station GOV2,
  school EDU1 and university or college EDU2, each with C2L/C2M/C2H by the same storey bands;
  open space OPEN/PARK; lifelines as in ``facilities``; bridges HWB5, or HWB10 when longer than
  300 m.
* **Roads** (``osm.get_network("driving", nodes=True)``): nodes keep their OSM ids; edges with
  a missing node, self-loops and zero-length edges are dropped. ``highway`` maps to the schema's
  classes (``*_link`` to its road, ``living_street`` to residential, anything else to
  unclassified); speed from a numeric ``maxspeed`` (``mph`` converted), else
  ``road_speed_kph``; lanes from ``lanes``, else ``road_lanes`` (halved, rounded up, on one-way
  ways); ``oneway=yes|true|1``, ``-1|reverse`` (u and v swapped) and the implied one-ways
  ``highway=motorway`` and ``junction=roundabout`` (OSM wiki Key:oneway). Ways tagged
  ``bridge`` (any value but ``no``) become one bridge asset each, a Point at their middle, valued
  at length × lanes × ``lane_width_m`` × ``bridge_deck_cost_cny_per_m2``.
* **Links and zones**: each asset's ``node_id`` is its nearest road node (-1 without roads); one
  district zone ``osm-extract`` (the convex hull of everything, buffered 100 m) and H3 cells,
  with residents as population. When substations exist, every hospital, pump station, water
  plant and fire station depends on its nearest one for power: an inferred approximation, as
  OSM does not map feeders. ``rivers`` holds ``waterway`` lines of ``river_waterways``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from resilientcity._compat import import_optional_dependency
from resilientcity.errors import CRSMismatch, DataFileError
from resilientcity.twin._osm_tags import element_ids, leading_number, tag_values
from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM
from resilientcity.twin.osm_assets import EXTRA_TAGS, KIND_RULES, building_features, feature_assets
from resilientcity.twin.osm_defaults import OsmDefaults
from resilientcity.twin.roads import RoadNetwork
from resilientcity.twin.schema import (
    ASSETS,
    DEPENDENCIES,
    PANDAS_DTYPES,
    RIVERS,
    ROAD_CLASSES,
    ROAD_EDGES,
    ROAD_NODES,
    ZONES,
    LayerSchema,
)
from resilientcity.twin.spatial import convex_hull, h3_cells, nearest

__all__ = ["ATTRIBUTION", "DISTRICT_ID", "OsmDefaults", "import_osm"]

logger = logging.getLogger(__name__)

ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"
#: ``zone_id`` of the one district zone covering the extract.
DISTRICT_ID = "osm-extract"
#: Bridges longer than this (m) get the long-span Hazus class HWB10, others HWB5.
LONG_BRIDGE_M = 300.0
#: Buffer (m) around the convex hull of assets and roads that makes the district zone.
ZONE_BUFFER_M = 100.0


def _roads(
    nodes: gpd.GeoDataFrame | None, edges: gpd.GeoDataFrame | None, crs: CRS, d: OsmDefaults
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, int]:
    """Road nodes and edges (``osm_id``: the way), bridge assets, and the count of dropped edges."""
    if nodes is None or edges is None or len(edges) == 0:
        road_edges = ROAD_EDGES.empty(crs)
        road_edges.insert(len(road_edges.columns) - 1, "osm_id", pd.Series([], dtype="int64"))
        return ROAD_NODES.empty(crs), road_edges, pd.DataFrame(), 0
    nodes, edges = nodes.to_crs(crs), edges.to_crs(crs)
    node_ids = pd.Index(nodes["id"].to_numpy(dtype=np.int64))
    u, v = edges["u"].to_numpy(dtype=np.int64), edges["v"].to_numpy(dtype=np.int64)
    length = edges["length"].to_numpy(dtype=np.float64)
    known = (node_ids.get_indexer(pd.Index(u)) >= 0) & (node_ids.get_indexer(pd.Index(v)) >= 0)
    keep = known & (u != v) & (length > 0)
    e, u, v, length = edges[keep], u[keep], v[keep], length[keep]

    highway = tag_values(e, "highway")
    base = highway.str.removesuffix("_link").replace({"living_street": "residential"})
    road_class = np.where(base.isin(ROAD_CLASSES), base, "unclassified").astype(object)
    speed = leading_number(tag_values(e, "maxspeed"), "mph", 1.609344)
    default_speed = pd.Series(road_class).map(d.road_speed_kph).to_numpy(dtype=np.float64)
    speed = np.where(np.isfinite(speed) & (speed > 0), speed, default_speed)
    tag = tag_values(e, "oneway").str.lower()
    reverse = tag.isin(("-1", "reverse")).to_numpy()
    implied = (tag == "") & ((highway == "motorway") | (tag_values(e, "junction") == "roundabout"))
    oneway = (tag.isin(("yes", "true", "1")) | implied).to_numpy() | reverse
    lanes = leading_number(tag_values(e, "lanes"))
    default_lanes = pd.Series(road_class).map(d.road_lanes).to_numpy(dtype=np.float64)
    default_lanes = np.where(oneway, np.ceil(default_lanes / 2), default_lanes)
    lanes = np.where(np.isfinite(lanes), lanes, default_lanes)
    lanes = np.maximum(np.floor(lanes + 0.5), 1).astype(np.int64)
    geometry = e.geometry.to_numpy()
    geometry = np.where(reverse, shapely.reverse(geometry), geometry)
    u, v = np.where(reverse, v, u), np.where(reverse, u, v)
    way = e["id"].to_numpy(dtype=np.int64)
    bridge_tag = tag_values(e, "bridge").str.lower()
    bridge = ((bridge_tag != "") & ~bridge_tag.isin(("no", "false", "0"))).to_numpy()
    asset_id = ("bridge-w" + pd.Series(way).astype("str")).where(bridge, "").to_numpy(dtype=object)
    names = tag_values(e, "name").to_numpy(dtype=object)

    road_edges = pd.DataFrame(
        {
            "edge_id": np.arange(1, len(u) + 1, dtype=np.int64),
            "u": u,
            "v": v,
            "road_class": road_class,
            "length_m": length,
            "speed_kph": speed,
            "travel_min": length / 1000.0 / speed * 60.0,
            "lanes": lanes,
            "oneway": oneway,
            "asset_id": asset_id,
            "name": names,
            "osm_id": way,
            "geometry": geometry,
        }
    )
    used = node_ids.isin(np.concatenate([u, v]))
    geometry_used = nodes.geometry.to_numpy()[used]
    road_nodes = pd.DataFrame({"node_id": node_ids[used], "geometry": geometry_used})
    nodes_layer = _layer(road_nodes, ROAD_NODES, crs)
    edge_layer = _layer(road_edges, ROAD_EDGES, crs, extra=("osm_id",))
    dropped = int((~keep).sum())
    if not bridge.any():
        return nodes_layer, edge_layer, pd.DataFrame(), dropped
    spans = gpd.GeoDataFrame(
        {"asset_id": asset_id[bridge], "length": length[bridge], "lanes": lanes[bridge]}
        | {"name": names[bridge]},
        geometry=geometry[bridge],
        crs=crs,
    ).dissolve(by="asset_id", aggfunc={"length": "sum", "lanes": "max", "name": "first"})
    span_m = spans["length"].to_numpy(dtype=np.float64)
    span_lanes = spans["lanes"].to_numpy(dtype=np.float64)
    middle = shapely.line_interpolate_point(
        shapely.line_merge(spans.geometry.to_numpy()), 0.5, normalized=True
    )
    bridges = pd.DataFrame(
        {
            "asset_id": spans.index.to_numpy(dtype=object),
            "kind": "bridge",
            "sector": "transport",
            "name": spans["name"].to_numpy(dtype=object),
            "occupancy": "infrastructure",
            "storeys": 0,
            "floor_area_m2": 0.0,
            "value": span_m * span_lanes * d.lane_width_m * d.bridge_deck_cost_cny_per_m2,
            "occupants": 0.0,
            "capacity": span_lanes,
            "vuln": np.where(span_m > LONG_BRIDGE_M, "HWB10", "HWB5"),
            "geometry": middle,
        }
    )
    return nodes_layer, edge_layer, bridges, dropped


def _layer(
    data: pd.DataFrame, schema: LayerSchema, crs: CRS | None, extra: tuple[str, ...] = ()
) -> gpd.GeoDataFrame:
    """``data`` in the schema's column order and dtypes (then ``extra``), with a RangeIndex."""
    data = data.reset_index(drop=True)
    dtypes: dict[str, Any] = {c.name: PANDAS_DTYPES[c.dtype] for c in schema.columns}
    columns = {name: data[name].astype(dtype) for name, dtype in dtypes.items()}
    frame = pd.DataFrame(columns | {name: data[name] for name in extra})
    if not schema.spatial:
        return frame
    return gpd.GeoDataFrame(frame, geometry=data["geometry"].to_numpy(), crs=crs)


def _zones(
    assets: pd.DataFrame, cells: pd.DataFrame, edges: gpd.GeoDataFrame, name: str, crs: CRS
) -> gpd.GeoDataFrame:
    """The district (hull of assets and roads, buffered) and the H3 cells, with residents."""
    everything = np.concatenate([assets["geometry"].to_numpy(), edges.geometry.to_numpy()])
    hull = convex_hull(shapely.get_coordinates(everything)).buffer(ZONE_BUFFER_M)
    residents = assets["occupants"].where(assets["occupancy"] == "residential", 0.0)
    district = pd.DataFrame(
        {
            "zone_id": [DISTRICT_ID],
            "zone_type": ["district"],
            "name": [name],
            "parent_id": [""],
            "population": [float(residents.sum())],
            "geometry": [hull],
        }
    )
    by_cell = residents.groupby(assets["cell_id"]).sum()
    cells = cells.assign(
        parent_id=DISTRICT_ID, population=cells["zone_id"].map(by_cell).fillna(0.0)
    )
    return _layer(pd.concat([district, cells], ignore_index=True), ZONES, crs)


def _dependencies(assets: pd.DataFrame, xy: NDArray[np.float64], d: OsmDefaults) -> pd.DataFrame:
    """Power from the nearest substation for hospitals, pumps, water plants and fire stations."""
    kind = assets["kind"].to_numpy(dtype=object)
    subs = np.flatnonzero(kind == "substation")
    dep = np.flatnonzero(np.isin(kind, ("hospital", "pump_station", "water_plant", "fire_station")))
    if subs.size == 0 or dep.size == 0:
        return DEPENDENCIES.empty()
    supplier = subs[nearest(xy[dep], xy[subs])]
    beds = assets["capacity"].to_numpy(dtype=np.float64)[dep]
    hb = d.hospital_backup_hours
    other = pd.Series(kind[dep]).map(d.backup_hours).fillna(0.0).to_numpy(dtype=np.float64)
    hospital = np.where(beds >= hb.large_beds, hb.large, hb.small)
    ids = assets["asset_id"].to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "dependent_id": ids[dep],
            "supplier_id": ids[supplier],
            "service": "power",
            "group": "power",
            "backup_hours": np.where(kind[dep] == "hospital", hospital, other),
        }
    )
    return _layer(frame, DEPENDENCIES, None)


def _rivers(rivers: gpd.GeoDataFrame | None, crs: CRS, d: OsmDefaults) -> gpd.GeoDataFrame:
    """``waterway`` lines of ``river_waterways`` with their ``width`` (else the default)."""
    if rivers is None or len(rivers) == 0:
        return RIVERS.empty(crs)
    r = rivers.to_crs(crs)
    g = r.geometry.to_numpy()
    ok = np.isin(shapely.get_type_id(g), [1, 5]) & ~shapely.is_empty(g)
    r = r[ok & tag_values(r, "waterway").isin(d.river_waterways).to_numpy()]
    width = leading_number(tag_values(r, "width"))
    frame = pd.DataFrame(
        {
            "river_id": element_ids(r).to_numpy(dtype=object),
            "name": tag_values(r, "name").to_numpy(dtype=object),
            "width_m": np.where(np.isfinite(width) & (width > 0), width, d.river_width_m),
            "geometry": r.geometry.to_numpy(),
        }
    )
    return _layer(frame, RIVERS, crs)


def _read(pyrosm: Any, source: Path, d: OsmDefaults) -> tuple[gpd.GeoDataFrame | None, ...]:
    """Buildings, facility POIs, road nodes and edges, and rivers of the extract, in WGS 84."""
    poi_filter: dict[str, list[str]] = {}
    for key, values, _ in KIND_RULES:
        poi_filter.setdefault(key, []).extend(values)
    try:
        with warnings.catch_warnings():
            # pyrosm warns (UserWarning) for every layer the extract does not have.
            warnings.filterwarnings("ignore", "Could not find any OSM data", UserWarning)
            osm = pyrosm.OSM(str(source), engine="in_memory", progress=False)
            buildings = osm.get_buildings(extra_attributes=EXTRA_TAGS)
            pois = osm.get_pois(custom_filter=poi_filter, extra_attributes=EXTRA_TAGS)
            network = osm.get_network("driving", nodes=True, extra_attributes=["junction"])
            rivers = None
            if d.river_waterways:
                rivers = osm.get_data_by_custom_criteria(
                    {"waterway": d.river_waterways},
                    keep_nodes=False,
                    keep_relations=False,
                    extra_attributes=["width"],
                )
    except Exception as exc:  # pyrosm raises ValueError, its PBFException, decoder errors …
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataFileError(f"cannot read OpenStreetMap extract {source}: {reason}") from exc
    nodes, edges = network if isinstance(network, tuple) else (None, network)
    return buildings, pois, nodes, edges, rivers


def import_osm(
    path: str | PathLike[str],
    *,
    defaults: OsmDefaults | None = None,
    dem: DEM | None = None,
    name: str | None = None,
    h3_resolution: int = 8,
    progress: Callable[[str], None] | None = None,
) -> City:
    """Build a city twin from a local OpenStreetMap extract (see the module docs for the rules).

    Parameters
    ----------
    path
        The ``.osm.pbf`` extract.
    defaults
        What to assume where the map is silent (default: ``data/osm_defaults.json``).
    dem
        Ground elevation in the city's CRS (the UTM zone of the extract: read it with
        ``read_dem(path, crs)``); every asset must lie on it. ``None``: the city has no DEM.
    name
        Name of the city (default: the file name without ``.osm.pbf``).
    h3_resolution
        Resolution (0–15) of the H3 cells in ``zones`` and ``assets.cell_id``.
    progress
        Called with the name of each of the three steps as it starts.

    Returns
    -------
    City
        A valid city in the extract's UTM zone (metres): buildings and facilities (``asset_id``
        ``w123``/``r123``/``n123`` after the OSM element, bridges ``bridge-w123``), the driving
        network (extra edge column ``osm_id``: the way), power dependencies inferred from the
        nearest substation, one district and its H3 cells, rivers, no sensors. ``metadata`` holds
        the source, the OSM attribution, the counts of dropped features and the defaults used.

    Raises
    ------
    DataFileError
        The file is missing, not an OSM PBF extract, or contains no buildings.
    CRSMismatch
        ``dem`` is not in the extract's UTM zone.
    MissingDependency
        pyrosm is not installed (``pip install 'resilientcity[osm]'``).
    ValidationError
        The city breaks the data contract, e.g. assets outside ``dem``.
    """
    d = defaults if defaults is not None else OsmDefaults()
    say = progress or (lambda _step: None)
    if not 0 <= h3_resolution <= 15:
        raise ValueError(f"h3_resolution: expected 0 to 15, got {h3_resolution}")
    source = Path(path)
    if not source.is_file():
        raise DataFileError(f"no such OpenStreetMap extract: {source}")
    pyrosm = import_optional_dependency("pyrosm", "importing OpenStreetMap extracts")
    say("reading OpenStreetMap extract")
    buildings, pois, nodes, edges, rivers = _read(pyrosm, source, d)
    if buildings is None or len(buildings) == 0:
        raise DataFileError(f"OpenStreetMap extract {source.name} contains no buildings")
    crs = CRS.from_user_input(buildings.estimate_utm_crs())
    if dem is not None and CRS.from_user_input(dem.crs) != crs:
        raise CRSMismatch(
            f"the DEM is in {dem.crs.to_string()}, the city in {crs.to_string()} (the extract's "
            "UTM zone): reproject it, e.g. read_dem(path, crs)"
        )

    say("buildings, facilities and roads")
    features, drops = building_features(buildings, pois, crs)
    if not features["_building"].any():
        raise DataFileError(
            f"OpenStreetMap extract {source.name} contains no buildings with a polygon footprint"
        )
    assets = feature_assets(features, d)
    road_nodes, road_edges, bridges, drops["road_edges"] = _roads(nodes, edges, crs, d)
    assets = pd.concat([assets, bridges], ignore_index=True)

    say("zones, dependencies and validation")
    where = shapely.point_on_surface(assets["geometry"].to_numpy())
    xy = shapely.get_coordinates(where)
    node_xy = shapely.get_coordinates(road_nodes.geometry.to_numpy())
    node_ids = road_nodes["node_id"].to_numpy(dtype=np.int64)
    assets["node_id"] = node_ids[nearest(xy, node_xy)] if len(node_ids) else -1
    assets["zone_id"] = DISTRICT_ID
    assets["cell_id"], cells = h3_cells(xy[:, 0], xy[:, 1], crs, h3_resolution)
    city_name = name or source.name.removesuffix(".pbf").removesuffix(".osm")
    dependencies = _dependencies(assets, xy, d)
    if any(drops.values()):
        logger.info("%s: dropped %s", source.name, drops)
    metadata: dict[str, Any] = {
        "source": source.name,
        "source_format": f"OpenStreetMap PBF extract read with pyrosm {pyrosm.__version__}",
        "attribution": ATTRIBUTION,
        "license": "Open Database Licence 1.0 (https://opendatacommons.org/licenses/odbl/1-0/)",
        "dropped": drops,
        "dependencies": "inferred: hospitals, pump stations, water plants and fire stations "
        "draw power from their nearest substation (OSM does not map feeders)",
        "osm_defaults": d.model_dump(mode="json"),
    }
    return City(
        name=city_name,
        crs=crs,
        assets=_layer(assets, ASSETS, crs),
        roads=RoadNetwork(road_nodes, road_edges),
        dependencies=dependencies,
        zones=_zones(assets, cells, road_edges, city_name, crs),
        rivers=_rivers(rivers, crs, d),
        dem=dem,
        metadata=metadata,
    )
