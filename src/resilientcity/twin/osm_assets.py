"""OpenStreetMap buildings and facility POIs → the twin's assets.

The rules (use, storeys, floor area, occupants, capacity, value, facility kinds, sites and
vulnerability classes) are described in :mod:`resilientcity.twin.osm`; the numbers come from
:class:`~resilientcity.twin.osm_defaults.OsmDefaults`.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from resilientcity.twin._osm_tags import element_ids, leading_number, tag_values
from resilientcity.twin.osm_defaults import FACILITY_KINDS, SITE_KINDS, OsmDefaults
from resilientcity.twin.schema import ASSET_KINDS

__all__ = ["EXTRA_TAGS", "KIND_RULES", "building_features", "feature_assets"]

#: (tag, values, asset kind): the first rule a feature matches gives its kind.
KIND_RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("amenity", ("hospital",), "hospital"),
    ("amenity", ("clinic",), "clinic"),
    ("amenity", ("fire_station",), "fire_station"),
    ("amenity", ("school", "university", "college"), "shelter"),
    ("leisure", ("park",), "shelter"),
    ("power", ("substation",), "substation"),
    ("man_made", ("water_works",), "water_plant"),
    ("man_made", ("pumping_station",), "pump_station"),
    ("telecom", ("exchange",), "telecom"),
)
#: Tags read with every building and POI besides pyrosm's defaults.
EXTRA_TAGS = ["beds", "leisure", "power", "man_made", "telecom"]
_HAZUS = {"hospital": "COM6", "clinic": "COM7", "fire_station": "GOV2"}
_SECTOR_BY_USE = {
    "residential": "housing",
    "commercial": "economy",
    "industrial": "economy",
    "public": "public_services",
}


def _select(rules: list[tuple[Any, Any]], default: Any) -> NDArray[np.object_]:
    """``np.select`` over (condition, choice) pairs: the first true condition's choice."""
    choice = np.select([c for c, _ in rules], [v for _, v in rules], default)
    return np.asarray(choice, dtype=object)


def _classify(frame: pd.DataFrame) -> NDArray[np.object_]:
    return _select(
        [(tag_values(frame, k).isin(v).to_numpy(), kind) for k, v, kind in KIND_RULES], "building"
    )


def _occupancy(frame: pd.DataFrame, d: OsmDefaults) -> NDArray[np.object_]:
    by_building = tag_values(frame, "building").map(d.occupancy_by_building).to_numpy(dtype=object)
    by_amenity = tag_values(frame, "amenity").map(d.occupancy_by_amenity).to_numpy(dtype=object)
    office = tag_values(frame, "office").to_numpy(dtype=object)
    rules: list[tuple[Any, Any]] = [
        (pd.notna(by_building), by_building),
        (pd.notna(by_amenity), by_amenity),
        ((tag_values(frame, "shop") != "").to_numpy(), "commercial"),
        (office == "government", "public"),
        (office != "", "commercial"),
    ]
    return _select(rules, d.default_occupancy)


def _clean(frame: gpd.GeoDataFrame, crs: CRS, points: bool) -> tuple[gpd.GeoDataFrame, int]:
    """Projected, invalid polygons repaired; keeps areas > 0 (and points); counts the rest."""
    f = frame.to_crs(crs)
    g = np.array(f.geometry.to_numpy(), dtype=object)
    bad = ~shapely.is_valid(g)
    g[bad] = shapely.make_valid(g[bad], method="structure", keep_collapsed=False)
    kind = shapely.get_type_id(g)
    keep = (np.isin(kind, [3, 6]) & (shapely.area(g) > 0)) | (points & (kind == 0))
    keep &= ~shapely.is_empty(g)
    f = f[keep].copy()
    f["geometry"] = g[keep]
    return f, int((~keep).sum())


def building_features(
    buildings: gpd.GeoDataFrame, pois: gpd.GeoDataFrame | None, crs: CRS
) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Buildings, then the facility POIs that are not buildings, projected and cleaned.

    Parameters
    ----------
    buildings
        ``osm.get_buildings()`` of the extract (WGS 84).
    pois
        The facility POIs (``osm.get_pois()`` filtered by :data:`KIND_RULES`), or ``None``.
    crs
        The twin's projected CRS (the extract's UTM zone).

    Returns
    -------
    features : geopandas.GeoDataFrame
        The features in ``crs``; column ``_building`` tells buildings from POIs.
    dropped : dict[str, int]
        Features dropped per source (``buildings``, ``pois``): neither a polygon with an area
        nor (for POIs) a point. POIs that are also buildings are left out, not counted.
    """
    b, dropped = _clean(buildings, crs, points=False)
    drops = {"buildings": dropped, "pois": 0}
    frames = [b.assign(_building=True)]
    if pois is not None and len(pois):
        p = pois[~element_ids(pois).isin(element_ids(buildings)).to_numpy()]
        p, drops["pois"] = _clean(p[_classify(p) != "building"], crs, points=True)
        frames.append(p.assign(_building=False))
    return pd.concat(frames, ignore_index=True), drops


def _storeys(
    f: pd.DataFrame, occ: NDArray[np.object_], unoccupied: NDArray[np.bool_], d: OsmDefaults
) -> NDArray[np.int64]:
    """``building:levels``, else ``height`` / storey height, else the default of the use."""
    levels = leading_number(tag_values(f, "building:levels"))
    height = leading_number(tag_values(f, "height"), r"ft|'", 0.3048) / d.storey_height_m
    default = pd.Series(occ).map(d.default_storeys).to_numpy(dtype=np.float64)
    default = np.where(unoccupied, 1.0, default)
    storeys = np.where(np.isfinite(levels), levels, np.where(np.isfinite(height), height, default))
    return np.maximum(np.floor(storeys + 0.5), 1).astype(np.int64)


def _hosting(
    geom: NDArray[np.object_],
    is_bldg: NDArray[np.bool_],
    floor: NDArray[np.float64],
    grounds: NDArray[np.bool_],
    points: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Floor area and footprint of the buildings on each ground; points inside a building."""
    n, bi, gi, pi = len(geom), *(np.flatnonzero(m) for m in (is_bldg, grounds, points))
    on, under = shapely.STRtree(shapely.point_on_surface(geom[bi])).query(geom[gi], "contains")
    floor_on = np.bincount(gi[on], floor[bi[under]], minlength=n).astype(np.float64)
    area_on = np.bincount(gi[on], shapely.area(geom[bi[under]]), minlength=n).astype(np.float64)
    inside = np.zeros(n, dtype=bool)
    inside[pi[shapely.STRtree(geom[bi]).query(geom[pi], "within")[0]]] = True
    return floor_on, area_on, inside


def _unit_value(
    kind: NDArray[np.object_], occ: NDArray[np.object_], storeys: NDArray[np.int64], d: OsmDefaults
) -> NDArray[np.float64]:
    """Replacement value of structure and contents per m² of floor, CNY."""
    bands = [storeys >= d.residential_high_min_storeys, storeys >= d.residential_mid_min_storeys]
    height = np.select(bands, ["residential_high", "residential_mid"], "residential_low")
    medical = np.isin(kind, ("hospital", "clinic"))
    cls = np.where(occ == "residential", height, np.where(medical, "medical", occ))
    cost = pd.Series(cls).map(d.structure_cost_cny_per_m2).fillna(0.0)
    contents = pd.Series(occ).map(d.contents_to_structure_ratio).fillna(0.0)
    return (cost * (1 + contents)).to_numpy(dtype=np.float64)


def _vuln(
    kind: NDArray[np.object_],
    occ: NDArray[np.object_],
    storeys: NDArray[np.int64],
    open_space: NDArray[np.bool_],
    amenity: NDArray[np.object_],
) -> NDArray[np.object_]:
    """Hazus-style ``OCCUPANCY/TYPE`` ids (see the module docs); C2L/C2M/C2H: 1–3, 4–7, 8+."""
    band = _select([(storeys >= 8, "C2H"), (storeys >= 4, "C2M")], "C2L")
    house, low = (kind == "building") & (occ == "residential"), storeys < 4
    shop = (kind == "building") & (occ == "commercial")
    special = pd.Series(kind).map(_HAZUS).fillna("").to_numpy(dtype=object) + "/" + band
    rules: list[tuple[Any, Any]] = [
        (house & low, "RES1/URML"),
        (house, "RES3/" + band),
        (shop & low, "COM1/C1L"),
        (shop, "COM4/" + band),
        ((kind == "building") & (occ == "industrial"), "IND2/S3"),
        (kind == "building", "GOV1/C2M"),
        (open_space, "OPEN/PARK"),
        (kind == "shelter", np.where(amenity == "school", "EDU1/", "EDU2/") + band),
    ]
    return _select(rules, special)


def feature_assets(f: gpd.GeoDataFrame, d: OsmDefaults) -> pd.DataFrame:
    """Buildings and facilities with the ``assets`` attributes (no zone, cell or node yet).

    Parameters
    ----------
    f
        Features of :func:`building_features`.
    d
        The importer's defaults.

    Returns
    -------
    pandas.DataFrame
        One row per asset with the columns of the ``assets`` layer but ``zone_id``,
        ``cell_id`` and ``node_id`` (see :mod:`resilientcity.twin.osm` for the rules).
    """
    geom = f.geometry.to_numpy()
    kind = _classify(f)
    is_bldg = f["_building"].to_numpy(dtype=bool)
    is_point = shapely.get_type_id(geom) == 0
    area = shapely.area(geom)
    amenity = tag_values(f, "amenity").to_numpy(dtype=object)
    occ = _occupancy(f, d)
    unoccupied = (kind == "building") & tag_values(f, "building").isin(d.unoccupied_building_tags)
    unoccupied = unoccupied.to_numpy(dtype=bool)
    storeys = np.where(is_bldg, _storeys(f, occ, unoccupied, d), 0)
    floor = np.where(is_bldg, area * storeys, 0.0)

    # Sites: facilities mapped as points or grounds; the buildings in or on them hold their
    # value and occupants, and the floor area they serve from.
    site = ~is_bldg & np.isin(kind, SITE_KINDS)
    open_space = site & (kind == "shelter") & (~is_point | (amenity == ""))
    floor_on, area_on, inside = _hosting(geom, is_bldg, floor, site & ~is_point, site & is_point)
    hosted = inside | (site & ~is_point & ~open_space & (floor_on > 0))
    assumed = pd.Series(kind).map(d.site_floor_area_m2).fillna(0.0).to_numpy(dtype=np.float64)
    served = np.where(is_bldg, floor, np.where(floor_on > 0, floor_on, assumed))
    own = site & ~hosted & ~open_space
    floor = np.where(own, assumed, floor)
    storeys = np.where(own, d.default_storeys["public"], storeys)

    facility = np.isin(kind, FACILITY_KINDS)
    occ = np.where(facility, "infrastructure", np.where(kind == "building", occ, "public"))
    residential = occ == "residential"
    per_worker = pd.Series(occ).map(d.floor_area_per_worker_m2).fillna(np.inf).to_numpy(float)
    capacity = np.where(residential, floor / d.floor_area_per_resident_m2, floor / per_worker)
    occupants = np.where(residential, capacity * d.residential_occupancy_rate, capacity)
    capacity[unoccupied] = 0.0
    occupants[unoccupied | hosted | open_space] = 0.0
    open_area = np.where(is_point, assumed, np.maximum(area - area_on, 0.0))
    share = d.shelter_usable_share
    shelter = np.where(open_space, open_area * share["open_space"], served * share["building"])
    beds = leading_number(tag_values(f, "beds"))
    beds = np.where(np.isfinite(beds), beds, served / d.floor_area_per_bed_m2)
    capacity = np.select(
        [np.isin(kind, ("hospital", "clinic")), kind == "fire_station", kind == "shelter"],
        [beds, d.fire_station_engines, np.floor(shelter / d.shelter_m2_per_person)],
        capacity,
    )
    value = np.where(hosted, 0.0, floor * _unit_value(kind, occ, storeys, d))
    value = np.where(open_space, open_area * d.open_space_cost_cny_per_m2, value)
    vuln = _vuln(kind, occ, storeys, open_space, amenity)
    for name, spec in d.facilities.items():
        m = kind == name
        value[m], capacity[m], occupants[m], vuln[m] = (
            spec.value_cny,
            spec.capacity,
            spec.occupants,
            spec.vuln,
        )
    usual = {k: sector for k, (sector, _) in ASSET_KINDS.items()}
    sector = np.where(
        kind == "building", pd.Series(occ).map(_SECTOR_BY_USE), pd.Series(kind).map(usual)
    )
    return pd.DataFrame(
        {
            "asset_id": element_ids(f).to_numpy(dtype=object),
            "kind": kind,
            "sector": sector,
            "name": tag_values(f, "name").to_numpy(dtype=object),
            "occupancy": occ,
            "storeys": storeys,
            "floor_area_m2": floor,
            "value": value,
            "occupants": occupants,
            "capacity": capacity,
            "vuln": vuln,
            "geometry": geom,
        }
    )
