"""OpenStreetMap buildings and facility POIs → the twin's assets.

The rules (use, storeys, floor area, occupants, capacity, value, facility kinds, sites and
vulnerability classes) are described in :mod:`resilientcity.twin.osm`; the numbers come from
:class:`~resilientcity.twin.osm_defaults.OsmDefaults`.
"""

from __future__ import annotations

import re
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

__all__ = [
    "EXTRA_TAGS",
    "KIND_OF_LABEL",
    "KIND_RULES",
    "LANDUSE_COLUMN",
    "building_features",
    "clean_features",
    "feature_assets",
    "landuse_of",
    "poi_filter",
]

Rule = tuple[str, tuple[str, ...], str, tuple[str, tuple[str, ...]] | None]
#: (tag, values, label, condition): the first rule a feature matches gives its label; the
#: optional condition is a second (tag, values) it must also have (values ``()``: any value).
#: The label is the asset kind, but for those of :data:`KIND_OF_LABEL`.
KIND_RULES: tuple[Rule, ...] = (
    ("amenity", ("hospital",), "hospital", None),
    ("amenity", ("clinic",), "clinic", None),
    ("amenity", ("fire_station",), "fire_station", None),
    ("amenity", ("police",), "police_station", None),
    ("amenity", ("school", "university", "college"), "shelter", None),
    ("leisure", ("park",), "shelter", None),
    ("emergency", ("assembly_point",), "shelter", None),
    ("amenity", ("shelter",), "shelter", ("shelter_type", ("bomb_shelter",))),
    ("emergency", ("disaster_response",), "warehouse", None),
    ("power", ("plant",), "power_plant", None),
    ("power", ("substation",), "substation", None),
    ("man_made", ("water_works",), "water_plant", None),
    ("man_made", ("pumping_station",), "pump_station", None),
    ("man_made", ("water_tower", "reservoir_covered"), "water_storage", None),
    ("man_made", ("wastewater_plant",), "wastewater_plant", None),
    ("telecom", ("exchange",), "telecom", None),
    ("man_made", ("mast", "tower"), "telecom_mast", ("tower:type", ("communication",))),
    ("man_made", ("mast", "tower"), "telecom_mast", ("telecom", ())),
)
#: Rule labels that are not asset kinds: the kind they import as.
KIND_OF_LABEL = {"telecom_mast": "telecom"}
#: Column of the building features holding the landuse of the area they lie in (:func:`landuse_of`).
LANDUSE_COLUMN = "_landuse"
#: Tags read with every building and POI besides pyrosm's defaults.
EXTRA_TAGS = [
    "beds", "capacity", "leisure", "power", "man_made", "telecom", "emergency", "shelter_type",
    "tower:type", "voltage", "plant:output:electricity", "building:material", "start_date",
]  # fmt: skip
#: ``building:material`` values (OSM wiki Key:building:material) by Hazus structural family.
_TIMBER = ("wood", "timber_framing", "log", "timber")
_MASONRY = ("brick", "stone", "masonry", "sandstone", "limestone", "cement_block", "adobe",
            "mud", "clay", "granite")  # fmt: skip
_CONCRETE = ("concrete", "reinforced_concrete", "precast_concrete")
_STEEL = ("steel", "metal")
_HAZUS = {
    "hospital": "COM6",
    "clinic": "COM7",
    "fire_station": "GOV2",
    "police_station": "GOV2",
    "warehouse": "COM2",
}
_POWER_UNITS = {"kw": 1e-3, "mw": 1.0, "gw": 1e3}
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


def _has(frame: pd.DataFrame, key: str, values: tuple[str, ...]) -> NDArray[np.bool_]:
    """Whether each feature's ``key`` is one of ``values`` (any non-empty value for ``()``)."""
    tag = tag_values(frame, key)
    return (tag.isin(values) if values else tag != "").to_numpy(dtype=bool)


def _classify(frame: pd.DataFrame) -> NDArray[np.object_]:
    """The label of each feature: of the first rule of :data:`KIND_RULES` it matches."""
    rules: list[tuple[Any, Any]] = []
    for key, values, label, condition in KIND_RULES:
        match = _has(frame, key, values)
        if condition is not None:
            match &= _has(frame, *condition)
        rules.append((match, label))
    return _select(rules, "building")


def poi_filter() -> dict[str, list[str]]:
    """The pyrosm ``custom_filter`` of the facility POIs: every tag value of :data:`KIND_RULES`."""
    wanted: dict[str, list[str]] = {}
    for key, values, _, _ in KIND_RULES:
        wanted.setdefault(key, [])
        wanted[key] += [v for v in values if v not in wanted[key]]
    return wanted


def _substation_class(frame: pd.DataFrame, d: OsmDefaults) -> NDArray[np.object_]:
    """Hazus class by the highest ``voltage`` (V, ``;``-separated) in ``substation_classes_kv``."""
    parts = tag_values(frame, "voltage").str.split(";", expand=True)
    kv = np.full(len(frame), np.nan)
    for col in parts.columns:
        kv = np.fmax(kv, leading_number(parts[col].fillna("").str.strip()) / 1000.0)
    bands = sorted(d.substation_classes_kv.items(), key=lambda item: -item[1])
    return _select([(kv >= low, cls) for cls, low in bands], d.facilities["substation"].vuln)


def _with_voltage(name: NDArray[np.object_], voltage: NDArray[np.object_]) -> NDArray[np.object_]:
    """``Name (110 kV)`` from the ``voltage`` tag (volts, ``;``-separated): the name keeps it."""
    kv = (
        pd.Series(voltage)
        .str.split(";")
        .map(lambda parts: "/".join(f"{float(p) / 1000:g}" for p in parts if _is_number(p)))
    )
    label = pd.Series(np.where(kv != "", "(" + kv + " kV)", ""), dtype="str")
    joined = pd.Series(name, dtype="str").str.cat(label, sep=" ").str.strip()
    return joined.to_numpy(dtype=object)


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"\s*\d+(\.\d+)?\s*", text))


def _output_mw(frame: pd.DataFrame) -> NDArray[np.float64]:
    """``plant:output:electricity`` in MW (``kW``, ``MW``, ``GW``; a bare number is MW)."""
    parts = tag_values(frame, "plant:output:electricity").str.extract(
        r"^(\d+(?:\.\d+)?)\s*([kMG]W)?", flags=re.IGNORECASE
    )
    number = pd.to_numeric(parts[0], errors="coerce").to_numpy(dtype=np.float64)
    factor = parts[1].fillna("MW").str.lower().map(_POWER_UNITS).to_numpy(dtype=np.float64)
    return number * factor


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
    by_landuse = tag_values(frame, LANDUSE_COLUMN).map(d.occupancy_by_landuse)
    rules.append((by_landuse.notna().to_numpy(), by_landuse.to_numpy(dtype=object)))
    return _select(rules, d.default_occupancy)


def landuse_of(geometry: NDArray[np.object_], landuse: gpd.GeoDataFrame | None) -> NDArray[Any]:
    """The ``landuse`` of the smallest landuse area each feature's point on surface lies in.

    ``""`` outside every area (or without landuse areas). Both in the same projected CRS.
    """
    out = np.full(len(geometry), "", dtype=object)
    if landuse is None or len(landuse) == 0 or len(geometry) == 0:
        return out
    areas = landuse.geometry.to_numpy()
    where = shapely.point_on_surface(geometry)
    feature, area = shapely.STRtree(areas).query(where, "within")
    if feature.size == 0:
        return out
    pairs = pd.DataFrame({"feature": feature, "size": shapely.area(areas[area]), "area": area})
    smallest = pairs.sort_values(["feature", "size"], kind="stable").drop_duplicates("feature")
    values = tag_values(landuse, "landuse").to_numpy(dtype=object)
    out[smallest["feature"].to_numpy()] = values[smallest["area"].to_numpy()]
    return out


def clean_features(frame: gpd.GeoDataFrame, crs: CRS, points: bool) -> tuple[gpd.GeoDataFrame, int]:
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
    b, dropped = clean_features(buildings, crs, points=False)
    drops = {"buildings": dropped, "pois": 0}
    frames = [b.assign(_building=True)]
    if pois is not None and len(pois):
        p = pois[~element_ids(pois).isin(element_ids(buildings)).to_numpy()]
        p, drops["pois"] = clean_features(p[_classify(p) != "building"], crs, points=True)
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


def _height_band(storeys: NDArray[np.int64]) -> NDArray[np.object_]:
    """The Hazus height class of each building: ``L`` (1–3 storeys), ``M`` (4–7), ``H`` (8+)."""
    return _select([(storeys >= 8, "H"), (storeys >= 4, "M")], "L")


def _material_type(material: NDArray[np.object_], storeys: NDArray[np.int64]) -> NDArray[Any]:
    """Hazus structural type from ``building:material`` (``""`` where the tag says nothing).

    OSM wiki Key:building:material values grouped by Hazus model building type (Hazus
    Earthquake Technical Manual, table of model building types): timber → ``W1`` (wood light
    frame); brick, stone, blocks, adobe → ``URML`` (1–2 storeys) or ``URMM`` (3+, unreinforced
    masonry); concrete → ``C2L/C2M/C2H`` (concrete shear walls; 1–3, 4–7, 8+ storeys); steel
    and metal → ``S1L/S1M/S1H`` (steel moment frame; same bands). Other values say nothing.
    """
    m = pd.Series(material).str.lower().to_numpy(dtype=object)
    band = _height_band(storeys)
    masonry = np.isin(m, _MASONRY)
    return _select(
        [
            (np.isin(m, _TIMBER), "W1"),
            (masonry & (storeys >= 3), "URMM"),
            (masonry, "URML"),
            (np.isin(m, _CONCRETE), "C2" + band),
            (np.isin(m, _STEEL), "S1" + band),
        ],
        "",
    )


def _vuln(
    kind: NDArray[np.object_],
    occ: NDArray[np.object_],
    storeys: NDArray[np.int64],
    open_space: NDArray[np.bool_],
    amenity: NDArray[np.object_],
    material: NDArray[np.object_],
    low_rise_type: str,
) -> NDArray[np.object_]:
    """Hazus-style ``OCCUPANCY/TYPE`` ids (see the module docs); C2L/C2M/C2H: 1–3, 4–7, 8+.

    A building's ``building:material`` gives its type (:func:`_material_type`); without it,
    low-rise housing takes ``low_rise_type`` (the regional profile's) and the other uses the
    types of the storey bands.
    """
    band = "C2" + _height_band(storeys)
    house, low = (kind == "building") & (occ == "residential"), storeys < 4
    shop = (kind == "building") & (occ == "commercial")
    special = pd.Series(kind).map(_HAZUS).fillna("").to_numpy(dtype=object) + "/" + band
    rules: list[tuple[Any, Any]] = [
        (house & low, "RES1/" + low_rise_type),
        (house, "RES3/" + band),
        (shop & low, "COM1/C1L"),
        (shop, "COM4/" + band),
        ((kind == "building") & (occ == "industrial"), "IND2/S3"),
        (kind == "building", "GOV1/C2M"),
        (open_space, "OPEN/PARK"),
        (
            kind == "shelter",
            _select([(amenity == "school", "EDU1/"), (amenity == "shelter", "GOV1/")], "EDU2/")
            + band,
        ),
    ]
    vuln = _select(rules, special)
    typed = _material_type(material, storeys)
    use = (
        ~open_space
        & (typed != "")
        & np.isin(
            kind,
            (
                "building",
                "hospital",
                "clinic",
                "fire_station",
                "police_station",
                "shelter",
                "warehouse",
            ),
        )
    )
    prefix = pd.Series(vuln).str.split("/").str[0].to_numpy(dtype=object)
    return np.where(use, prefix + "/" + typed, vuln)


def start_year(values: pd.Series) -> NDArray[np.float64]:
    """The year of OSM ``start_date`` values (``1975``, ``1975-06-01``, ``~1900``); NaN if none.

    OSM wiki Key:start_date: a date or year, optionally approximate (``~``, ``before``,
    ``after``); the first four-digit year is taken.
    """
    year = values.str.extract(r"(\d{4})", expand=False)
    return pd.to_numeric(year, errors="coerce").to_numpy(dtype=np.float64)


def pre_code(vuln: NDArray[np.object_], year: NDArray[np.float64], before: int | None) -> Any:
    """``vuln`` with ``-PC`` on the type of the buildings begun before ``before``.

    Only ``OCCUPANCY/TYPE`` classes (buildings and facilities in buildings) change; open space
    and lifeline classes keep theirs. The class map gives ``*/TYPE-PC`` the Hazus Pre-Code
    curve (:func:`resilientcity.region.vulnerability.library_for`).
    """
    if before is None:
        return vuln
    building = pd.Series(vuln).str.contains("/", regex=False).to_numpy()
    old = building & np.isfinite(year) & (year < before) & ~np.isin(vuln, ["OPEN/PARK"])
    return np.where(old, vuln + "-PC", vuln)


def feature_assets(
    f: gpd.GeoDataFrame,
    d: OsmDefaults,
    low_rise_type: str = "URML",
    pre_code_before: int | None = None,
) -> pd.DataFrame:
    """Buildings and facilities with the ``assets`` attributes (no zone, cell or node yet).

    Parameters
    ----------
    f
        Features of :func:`building_features`.
    d
        The importer's defaults.
    low_rise_type
        Hazus structural type of low-rise housing without ``building:material`` (the regional
        profile's ``housing_low_rise_type``).
    pre_code_before
        Buildings with a ``start_date`` before this year take the Pre-Code design level
        (:func:`pre_code`; the profile's ``pre_code_before``).

    Returns
    -------
    pandas.DataFrame
        One row per asset with the columns of the ``assets`` layer but ``zone_id``,
        ``cell_id`` and ``node_id`` (see :mod:`resilientcity.twin.osm` for the rules).
    """
    geom = f.geometry.to_numpy()
    kind = _classify(f)  # rule labels; asset kinds at the end (KIND_OF_LABEL)
    is_bldg = f["_building"].to_numpy(dtype=bool)
    is_point = shapely.get_type_id(geom) == 0
    area = shapely.area(geom)
    amenity = tag_values(f, "amenity").to_numpy(dtype=object)
    occ = _occupancy(f, d)
    # Nobody lives or works in these structures (a bunker that is a shelter included).
    empty = tag_values(f, "building").isin(d.unoccupied_building_tags).to_numpy(dtype=bool)
    unoccupied = (kind == "building") & empty
    storeys = np.where(is_bldg, _storeys(f, occ, unoccupied, d), 0)
    floor = np.where(is_bldg, area * storeys, 0.0)

    # Sites: facilities mapped as points or grounds; the buildings in or on them hold their
    # value and occupants, and the floor area they serve from.
    site = ~is_bldg & np.isin(kind, SITE_KINDS)
    # Parks, assembly points and school grounds are open space; bomb shelters are not.
    grounds = ~is_point & (amenity != "shelter")
    open_space = site & (kind == "shelter") & (grounds | (amenity == ""))
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
    occupants[empty | hosted | open_space] = 0.0
    open_area = np.where(is_point, assumed, np.maximum(area - area_on, 0.0))
    share = d.shelter_usable_share
    shelter = np.where(open_space, open_area * share["open_space"], served * share["building"])
    shelter = np.floor(shelter / d.shelter_m2_per_person)
    tagged = leading_number(tag_values(f, "capacity"))
    emergency = (amenity == "shelter") | (tag_values(f, "emergency") == "assembly_point")
    shelter = np.where(emergency & np.isfinite(tagged), tagged, shelter)
    beds = leading_number(tag_values(f, "beds"))
    beds = np.where(np.isfinite(beds), beds, served / d.floor_area_per_bed_m2)
    capacity = np.select(
        [
            np.isin(kind, ("hospital", "clinic")),
            kind == "fire_station",
            kind == "police_station",
            kind == "shelter",
            kind == "warehouse",
        ],
        [
            beds,
            d.fire_station_engines,
            served / d.floor_area_per_worker_m2["public"],
            shelter,
            served * d.relief_stock_m3_per_m2,
        ],
        capacity,
    )
    value = np.where(hosted, 0.0, floor * _unit_value(kind, occ, storeys, d))
    value = np.where(open_space, open_area * d.open_space_cost_cny_per_m2, value)
    material = tag_values(f, "building:material").to_numpy(dtype=object)
    vuln = _vuln(kind, occ, storeys, open_space, amenity, material, low_rise_type)
    vuln = pre_code(vuln, start_year(tag_values(f, "start_date")), pre_code_before)
    for name, spec in d.facilities.items():
        m = kind == name
        value[m], capacity[m], occupants[m], vuln[m] = (
            spec.value_cny,
            spec.capacity,
            spec.occupants,
            spec.vuln,
        )
    substation = kind == "substation"
    vuln[substation] = _substation_class(f[substation], d)
    names = tag_values(f, "name").to_numpy(dtype=object)
    voltage = tag_values(f, "voltage").to_numpy(dtype=object)
    with_kv = substation & (voltage != "")
    names[with_kv] = _with_voltage(names[with_kv], voltage[with_kv])
    plant = kind == "power_plant"
    output = _output_mw(f)
    capacity[plant] = np.where(np.isfinite(output[plant]), output[plant], capacity[plant])
    kind = pd.Series(kind).replace(KIND_OF_LABEL).to_numpy(dtype=object)
    usual = {k: sector for k, (sector, _) in ASSET_KINDS.items()}
    sector = np.where(
        kind == "building", pd.Series(occ).map(_SECTOR_BY_USE), pd.Series(kind).map(usual)
    )
    return pd.DataFrame(
        {
            "asset_id": element_ids(f).to_numpy(dtype=object),
            "kind": kind,
            "sector": sector,
            "name": names,
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
