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
  ``shop=*`` commercial, ``office=government`` public, other ``office=*`` commercial, else the
  ``landuse`` of the smallest landuse area the building lies in through ``occupancy_by_landuse``
  (residential, commercial and retail, industrial, institutional areas; in a city centre mapped
  as ``landuse=commercial`` an untagged ``building=yes`` is not housing), else
  ``default_occupancy``. Storeys: ``building:levels``, else ``height`` / ``storey_height_m``,
  else ``default_storeys`` (1 for ``unoccupied_building_tags``); floor area = projected
  footprint × storeys. Occupants, capacity and value follow the demo city's formulas:
  residents = floor / ``floor_area_per_resident_m2`` × ``residential_occupancy_rate``, other
  occupants = floor / ``floor_area_per_worker_m2``, value = floor × structure cost ×
  (1 + contents ratio).
* **Facilities**, from the building's own tags or from POIs (``osm.get_pois()``; a POI that
  is also a building is kept once, as the building); the first rule of
  ``osm_assets.KIND_RULES`` a feature matches gives its kind:

  - ``amenity=hospital`` → hospital, ``amenity=clinic`` → clinic (capacity: numeric ``beds``,
    else floor area / ``floor_area_per_bed_m2``); ``amenity=fire_station`` → fire_station
    (``fire_station_engines``); ``amenity=police`` → police_station (capacity: officers, floor
    area / the public ``floor_area_per_worker_m2``).
  - Shelters (capacity: floor area × usable share / ``shelter_m2_per_person``; open space, with
    no floor area: its area less the footprints of the buildings on it):
    ``amenity=school|university|college`` and ``leisure=park`` (as the demo city),
    ``emergency=assembly_point`` (open space: people gather there after an earthquake or a
    fire), and ``amenity=shelter`` only with ``shelter_type=bomb_shelter`` (a civil-defence
    shelter, roofed). Bus stops, picnic and weather shelters (the other ``shelter_type``
    values) hold a handful of people for minutes and are not emergency shelters. Assembly
    points and civil-defence shelters with a numeric ``capacity=*`` (persons) take it.
  - ``emergency=disaster_response`` (a civil-protection station) → warehouse, a relief depot
    holding floor area × ``relief_stock_m3_per_m2`` m³ of stock. ``building=warehouse`` and
    ``landuse=industrial`` sites are commercial stores, not relief reserves: they stay
    industrial buildings, so a city whose map tags no disaster-response station has no relief
    stock until the user adds its depots.
  - Lifelines, valued from ``facilities``: ``power=plant`` → power_plant (capacity from
    ``plant:output:electricity`` in MW, kW or GW where tagged); ``power=substation`` →
    substation, every one (its Hazus class by the highest ``voltage=*`` value through
    ``substation_classes_kv``: below 150 kV ESS1, to 350 kV ESS3, above ESS5; the voltages
    are kept in its name, ``Name (110/20 kV)``); ``man_made=water_works`` → water_plant,
    ``man_made=pumping_station`` → pump_station, ``man_made=water_tower|reservoir_covered`` →
    water_storage, ``man_made=wastewater_plant`` → wastewater_plant; ``telecom=exchange`` →
    telecom, and ``man_made=mast|tower`` with ``tower:type=communication`` or any
    ``telecom=*`` → telecom (valued as ``telecom_mast``).
  - Power lines (``power=line|minor_line``) are not imported: OSM maps them as long ways that
    say nothing of which buildings they feed (the low-voltage network is rarely mapped), and a
    line asset would need per-span damage the models do not compute. Dependencies come from
    the nearest substation instead (below).

  A facility mapped as a point or as grounds is a *site*: its capacity comes from the floor
  area of the buildings on its grounds, else from ``site_floor_area_m2``; when it lies in or on
  mapped buildings they hold its value and occupants (no double counting), otherwise the
  assumed floor area does.
* **Vulnerability classes** (Hazus-style ``OCCUPANCY/TYPE`` ids, as the demo city): housing
  RES1/URML (1–3 storeys), RES3/C2M (4–7), RES3/C2H (8+); commercial COM1/C1L, COM4/C2M,
  COM4/C2H; industrial IND2/S3; public GOV1/C2M; hospital COM6, clinic COM7, fire and police
  stations GOV2, relief warehouse COM2, school EDU1, university or college EDU2, civil-defence
  shelter GOV1, each with C2L/C2M/C2H by the same storey bands; open space OPEN/PARK;
  lifelines as in ``facilities`` (substations by voltage); bridges HWB5, or HWB10 when longer
  than 300 m.
* **Roads** (``osm.get_network("driving", nodes=True)``): nodes keep their OSM ids; edges with
  a missing node, self-loops and zero-length edges are dropped. ``highway`` maps to the schema's
  classes (``*_link`` to its road, ``living_street`` to residential, anything else to
  unclassified); speed from a numeric ``maxspeed`` (``mph`` converted), else
  ``road_speed_kph``; lanes from ``lanes``, else ``road_lanes`` (halved, rounded up, on one-way
  ways); ``oneway=yes|true|1``, ``-1|reverse`` (u and v swapped) and the implied one-ways
  ``highway=motorway`` and ``junction=roundabout`` (OSM wiki Key:oneway). Ways tagged
  ``bridge`` (any value but ``no``) become one bridge asset each, a Point at their middle, valued
  at length × lanes × ``lane_width_m`` × ``bridge_deck_cost_cny_per_m2``.
* **Links and zones**: each asset's ``node_id`` is the nearest road node of the largest strongly
  connected component of the driving network (:func:`~resilientcity.twin.roads.attach_to_network`;
  -1 without roads). An extract is clipped at its edge: one-way roads leaving it become dead ends
  and streets joined only outside it form pieces of their own (pyrosm's Kouvola extract: 63
  strongly connected components), so the nearest node overall could leave an asset cut off
  before any hazard. The nodes and edges outside the largest component are kept (they are
  roads, shown and counted); no asset hangs on them. One
  district zone ``osm-extract`` (the convex hull of everything, buffered 100 m) and H3 cells,
  with residents as population.
* **Dependencies**: inferred, as OSM maps no feeders, mains or cells, by the rules of
  :mod:`resilientcity.twin.inferred_dependencies` (the demo city's, with the nearest
  substation for its feeders): every building and facility that uses power on its nearest
  substation, water users on the nearest pump station or water storage (else water plant),
  emergency services on the nearest telecom site, substations on higher-voltage ones. Each
  link's ``origin`` names its rule (``inferred: nearest substation`` …); a city without
  substations gets no power links. Backup power: hospitals by ``hospital_backup_hours``,
  others by ``backup_hours``.
* **Water**: ``rivers`` holds the ``waterway`` lines of ``river_waterways`` (rivers and canals
  by default; ``width`` else ``river_width_m``; column ``waterway``), the centrelines the flood
  models buffer into channels. ``water_bodies`` holds the water areas as polygons:
  ``natural=water`` (kind from ``water=lake|oxbow|lagoon`` lake, ``pond``, ``reservoir``,
  ``basin``, ``river``, ``canal``, else ``landuse=pond|reservoir|basin``, else ``water``),
  ``landuse=reservoir|basin`` and ``waterway=riverbank`` (river); and ``natural=coastline``
  ways as lines (kind coastline, land on the left). Water mapped only as a point (a label)
  is left out; areas and coastlines of the wrong geometry are counted in
  ``metadata["dropped"]["water_bodies"]``.

A population raster replaces the floor-area estimate of residents afterwards
(:func:`resilientcity.twin.city_rasters.attach_population`, ``twin import-osm --population``):
see :mod:`resilientcity.twin.population` for the rule.
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
from resilientcity.region.profile import RegionProfile, region_profile
from resilientcity.twin._osm_tags import leading_number, tag_values
from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM
from resilientcity.twin.inferred_dependencies import infer_dependencies
from resilientcity.twin.osm_assets import (
    EXTRA_TAGS,
    LANDUSE_COLUMN,
    building_features,
    clean_features,
    feature_assets,
    landuse_of,
    poi_filter,
)
from resilientcity.twin.osm_defaults import OsmDefaults
from resilientcity.twin.osm_water import WATER_FILTER, WATER_TAGS, river_lines, water_bodies
from resilientcity.twin.roads import RoadNetwork, attach_to_network
from resilientcity.twin.schema import (
    ASSETS,
    PANDAS_DTYPES,
    RIVERS,
    ROAD_CLASSES,
    ROAD_EDGES,
    ROAD_NODES,
    WATER_BODIES,
    ZONES,
    LayerSchema,
)
from resilientcity.twin.spatial import convex_hull, h3_cells

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


def _backup_hours(assets: pd.DataFrame, d: OsmDefaults) -> NDArray[np.float64]:
    """Hours of own backup power: hospitals by beds, other kinds by ``backup_hours``."""
    kind = assets["kind"]
    hb = d.hospital_backup_hours
    beds = assets["capacity"].to_numpy(dtype=np.float64)
    hospital = np.where(beds >= hb.large_beds, hb.large, hb.small)
    other = kind.map(d.backup_hours).fillna(0.0).to_numpy(dtype=np.float64)
    return np.where((kind == "hospital").to_numpy(), hospital, other)


def _read(pyrosm: Any, source: Path, d: OsmDefaults) -> tuple[gpd.GeoDataFrame | None, ...]:
    """Buildings, facility POIs, road nodes and edges, and water of the extract, in WGS 84."""
    water_filter = {**WATER_FILTER, "waterway": WATER_FILTER["waterway"] + d.river_waterways}
    try:
        with warnings.catch_warnings():
            # pyrosm warns (UserWarning) for every layer the extract does not have.
            warnings.filterwarnings("ignore", "Could not find any OSM data", UserWarning)
            osm = pyrosm.OSM(str(source), engine="in_memory", progress=False)
            buildings = osm.get_buildings(extra_attributes=EXTRA_TAGS)
            pois = osm.get_pois(custom_filter=poi_filter(), extra_attributes=EXTRA_TAGS)
            network = osm.get_network("driving", nodes=True, extra_attributes=["junction"])
            water = osm.get_data_by_custom_criteria(
                water_filter, keep_nodes=False, extra_attributes=WATER_TAGS
            )
            landuse = osm.get_data_by_custom_criteria(
                {"landuse": list(d.occupancy_by_landuse)}, keep_nodes=False, keep_ways=True
            )
    except Exception as exc:  # pyrosm raises ValueError, its PBFException, decoder errors …
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataFileError(f"cannot read OpenStreetMap extract {source}: {reason}") from exc
    nodes, edges = network if isinstance(network, tuple) else (None, network)
    return buildings, pois, nodes, edges, water, landuse


def import_osm(
    path: str | PathLike[str],
    *,
    region: str | PathLike[str] | RegionProfile,
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
    region
        The city's regional profile, or what names it (an ISO 3166 code such as ``FI``, a
        packaged profile, a profile file; see :func:`resilientcity.region.region_profile`):
        currency and costs of the values, the type of low-rise housing, and what later stages
        read (stored in ``metadata["region"]``).
    defaults
        What to assume where the map is silent (default: ``data/osm_defaults.json``), in the
        conventions of ``region`` (:meth:`OsmDefaults.for_region`).
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
        network (extra edge column ``osm_id``: the way), power, water and communications
        dependencies inferred from the nearest suppliers (``origin`` says how), one district and
        its H3 cells, rivers, water bodies, no sensors. ``metadata`` holds
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
    profile = region_profile(region)
    d = (defaults if defaults is not None else OsmDefaults()).for_region(profile)
    say = progress or (lambda _step: None)
    if not 0 <= h3_resolution <= 15:
        raise ValueError(f"h3_resolution: expected 0 to 15, got {h3_resolution}")
    source = Path(path)
    if not source.is_file():
        raise DataFileError(f"no such OpenStreetMap extract: {source}")
    pyrosm = import_optional_dependency("pyrosm", "importing OpenStreetMap extracts")
    say("reading OpenStreetMap extract")
    buildings, pois, nodes, edges, water, landuse = _read(pyrosm, source, d)
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
    areas = None if landuse is None or len(landuse) == 0 else clean_features(landuse, crs, False)[0]
    features[LANDUSE_COLUMN] = landuse_of(features.geometry.to_numpy(), areas)
    if not features["_building"].any():
        raise DataFileError(
            f"OpenStreetMap extract {source.name} contains no buildings with a polygon footprint"
        )
    assets = feature_assets(features, d, profile.housing_low_rise_type, profile.pre_code_before)
    road_nodes, road_edges, bridges, drops["road_edges"] = _roads(nodes, edges, crs, d)
    assets = pd.concat([assets, bridges], ignore_index=True)

    say("zones, dependencies and validation")
    where = shapely.point_on_surface(assets["geometry"].to_numpy())
    xy = shapely.get_coordinates(where)
    roads = RoadNetwork(road_nodes, road_edges)
    assets["node_id"] = attach_to_network(xy, roads)
    assets["zone_id"] = DISTRICT_ID
    assets["cell_id"], cells = h3_cells(xy[:, 0], xy[:, 1], crs, h3_resolution)
    city_name = name or source.name.removesuffix(".pbf").removesuffix(".osm")
    dependencies = infer_dependencies(assets, xy, _backup_hours(assets, d))
    bodies, drops["water_bodies"] = water_bodies(water, crs)
    if any(drops.values()):
        logger.info("%s: dropped %s", source.name, drops)
    metadata: dict[str, Any] = {
        "source": source.name,
        "source_format": f"OpenStreetMap PBF extract read with pyrosm {pyrosm.__version__}",
        "attribution": ATTRIBUTION,
        "license": "Open Database Licence 1.0 (https://opendatacommons.org/licenses/odbl/1-0/)",
        "dropped": drops,
        "dependencies": "inferred from the nearest suppliers (OSM does not map feeders, mains "
        "or cells): the rule of each link is in dependencies.origin",
        "osm_defaults": d.model_dump(mode="json"),
        "region": profile.summary(),
    }
    return City(
        name=city_name,
        crs=crs,
        assets=_layer(assets, ASSETS, crs),
        roads=roads,
        dependencies=dependencies,
        zones=_zones(assets, cells, road_edges, city_name, crs),
        rivers=_layer(river_lines(water, crs, d), RIVERS, crs),
        water_bodies=_layer(bodies, WATER_BODIES, crs),
        dem=dem,
        metadata=metadata,
    )
