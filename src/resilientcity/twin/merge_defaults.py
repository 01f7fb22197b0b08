"""What ``twin merge`` and ``twin add`` assume for the asset columns the user leaves out.

The kinds the OpenStreetMap importer builds take its defaults
(:class:`~resilientcity.twin.osm_defaults.OsmDefaults`, ``data/osm_defaults.json``) and its
formulas; the other kinds take ``data/merge_defaults.json``. In order, each from the columns
before it (a value the user gives always wins):

* ``occupancy``: ``default_occupancy`` for a building, ``infrastructure`` for lifelines
  (substations, pumps, plants, telecom, feeders, bridges …), ``public`` for the others.
* ``storeys``: ``default_storeys`` of the occupancy; 0 for lifelines and shelters (open space).
* ``floor_area_m2``: a polygon's footprint × storeys; for a point or line,
  ``site_floor_area_m2`` (hospital, clinic, fire station) or the kind's ``floor_area_m2``; 0
  for lifelines and shelters.
* ``value``: a lifeline's value (``facilities``, or the kind's ``value``); for a shelter
  its open area (the polygon's, else ``site_floor_area_m2.shelter``) ×
  ``open_space_cost_cny_per_m2``; otherwise floor area × structure cost × (1 + contents ratio)
  as the importer's.
* ``occupants``: a lifeline's; 0 for shelters; residents (floor / ``floor_area_per_resident_m2``
  × ``residential_occupancy_rate``) in housing; floor / ``floor_area_per_worker_m2`` otherwise.
* ``capacity``: a lifeline's; beds (floor / ``floor_area_per_bed_m2``) of hospitals and clinics;
  ``fire_station_engines``; shelter places (open area × ``shelter_usable_share.open_space`` /
  ``shelter_m2_per_person``); for buildings residents' or workers' places as the importer; the
  kind's ``capacity`` else 0.
* ``vuln``: a lifeline's class; the importer's rule for buildings, hospitals, clinics and fire
  stations; ``OPEN/PARK`` for shelters; else the kind's ``vuln``.
* ``sector``: the occupancy's sector for a building, else the kind's usual sector
  (:data:`~resilientcity.twin.schema.ASSET_KINDS`).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from resilientcity.twin.osm_assets import _SECTOR_BY_USE, _unit_value, _vuln
from resilientcity.twin.osm_defaults import SITE_KINDS, OsmDefaults
from resilientcity.twin.schema import ASSET_KINDS

__all__ = ["DEFAULTED_COLUMNS", "fill_asset_defaults", "kind_table"]

#: The asset columns this module can fill (every contract column but ids and locations).
DEFAULTED_COLUMNS = (
    "occupancy",
    "storeys",
    "floor_area_m2",
    "value",
    "occupants",
    "capacity",
    "vuln",
    "sector",
)
#: Kinds whose defaults follow the importer's building formulas and Hazus rule.
_IMPORTER_RULE = ("building", "hospital", "clinic", "fire_station")


@cache
def kind_table() -> dict[str, dict[str, Any]]:
    """Per kind the importer does not build: ``data/merge_defaults.json``'s ``kinds`` values."""
    text = resources.files("resilientcity").joinpath("data/merge_defaults.json").read_text("utf-8")
    return dict(json.loads(text)["kinds"]["value"])


def _per_kind(
    kind: NDArray[np.object_], key: str, d: OsmDefaults, value_factor: float = 1.0
) -> NDArray[np.float64]:
    """``key`` of each kind (importer facilities first, then the table); NaN where none.

    The importer's facilities carry their values in the profile's currency already
    (:meth:`OsmDefaults.for_region`); the table's values are the demo's CNY and are multiplied
    by ``value_factor`` (the profile's ``reference_value_factor``).
    """
    field = "value_cny" if key == "value" else key
    values: dict[str, float] = {
        k: getattr(f, field) for k, f in d.facilities.items() if field in type(f).model_fields
    }
    scale = value_factor if key == "value" else 1.0
    values |= {k: spec[key] * scale for k, spec in kind_table().items() if key in spec}
    return np.asarray(pd.Series(kind).map(values), dtype=np.float64)


def _given(frame: pd.DataFrame, column: str) -> NDArray[np.bool_]:
    """Rows where the user gave ``column``."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].notna().to_numpy(dtype=bool)


def _keep(frame: pd.DataFrame, column: str, default: NDArray[Any]) -> NDArray[Any]:
    """The user's values of ``column`` where given, ``default`` elsewhere."""
    given = _given(frame, column)
    if not given.any():
        return np.asarray(default)
    out = np.asarray(default, dtype=object).copy()
    out[given] = frame[column].to_numpy(dtype=object)[given]
    return out


def fill_asset_defaults(
    frame: pd.DataFrame,
    geometry: NDArray[np.object_],
    d: OsmDefaults,
    value_factor: float = 1.0,
    low_rise_type: str = "URML",
) -> pd.DataFrame:
    """Fill the columns of :data:`DEFAULTED_COLUMNS` where ``frame`` has them missing.

    Parameters
    ----------
    frame
        One row per new asset: ``kind`` (an asset kind) and any of the defaulted columns, NaN or
        ``None`` where the user gave nothing.
    geometry
        The assets' shapes in the city's (metric) CRS, in the rows' order.
    d
        The importer's defaults, in the city's regional conventions
        (:meth:`OsmDefaults.for_region`).
    value_factor
        The regional profile's ``reference_value_factor`` for the values of
        ``data/merge_defaults.json`` (the demo's CNY).
    low_rise_type
        Hazus type of low-rise housing (the profile's ``housing_low_rise_type``).

    Returns
    -------
    pandas.DataFrame
        ``frame`` with every defaulted column filled (rules in the module docs), numbers as
        floats (``storeys`` an int).
    """
    kind = frame["kind"].to_numpy(dtype=object)
    table = kind_table()
    lifeline = np.array(
        [ASSET_KINDS[k][0] not in ("housing", "medical", "public_services") for k in kind]
    )
    lifeline &= kind != "building"
    shelter = kind == "shelter"
    usual_use = pd.Series(kind).map({k: s["occupancy"] for k, s in table.items()}).fillna("public")
    use = np.where(kind == "building", d.default_occupancy, usual_use.to_numpy(dtype=object))
    occ = _keep(frame, "occupancy", np.where(lifeline, "infrastructure", use)).astype(object)

    storeys_default = pd.Series(occ).map(d.default_storeys).fillna(0).to_numpy(dtype=np.float64)
    storeys_default[lifeline | shelter] = 0
    storeys = _keep(frame, "storeys", storeys_default).astype(np.float64).astype(np.int64)

    area = shapely.area(geometry)
    polygon = np.isin(shapely.get_type_id(geometry), [3, 6])
    site = (
        pd.Series(kind).map(dict(d.site_floor_area_m2)).to_numpy(dtype=np.float64, na_value=np.nan)
    )
    site[~np.isin(kind, SITE_KINDS)] = np.nan
    point_floor = np.where(np.isnan(site), _per_kind(kind, "floor_area_m2", d), site)
    floor_default = np.where(polygon, area * np.maximum(storeys, 1), np.nan_to_num(point_floor))
    floor_default[lifeline | shelter] = 0.0
    floor = _keep(frame, "floor_area_m2", floor_default).astype(np.float64)

    open_area = np.where(polygon, area, d.site_floor_area_m2["shelter"])
    unit_value = _unit_value(kind, occ, storeys, d)
    value_default = np.where(shelter, open_area * d.open_space_cost_cny_per_m2, floor * unit_value)
    fixed_value = _per_kind(kind, "value", d, value_factor)
    value_default = np.where(np.isfinite(fixed_value), fixed_value, value_default)
    value_default[lifeline & ~np.isfinite(fixed_value)] = 0.0
    value = _keep(frame, "value", value_default).astype(np.float64)

    residential = occ == "residential"
    per_worker = (
        pd.Series(occ).map(d.floor_area_per_worker_m2).to_numpy(dtype=np.float64, na_value=np.inf)
    )
    places = np.where(residential, floor / d.floor_area_per_resident_m2, floor / per_worker)
    occupants_default = np.where(residential, places * d.residential_occupancy_rate, places)
    occupants_default[shelter] = 0.0
    fixed_occupants = _per_kind(kind, "occupants", d)
    occupants_default = np.where(np.isfinite(fixed_occupants), fixed_occupants, occupants_default)
    occupants_default[lifeline & ~np.isfinite(fixed_occupants)] = 0.0
    occupants = _keep(frame, "occupants", occupants_default).astype(np.float64)

    fixed_capacity = _per_kind(kind, "capacity", d)
    capacity_default = np.select(
        [
            np.isin(kind, ("hospital", "clinic")),
            kind == "fire_station",
            shelter,
            kind == "building",
            np.isfinite(fixed_capacity),
        ],
        [
            floor / d.floor_area_per_bed_m2,
            d.fire_station_engines,
            np.floor(open_area * d.shelter_usable_share["open_space"] / d.shelter_m2_per_person),
            places,
            fixed_capacity,
        ],
        0.0,
    )
    capacity = _keep(frame, "capacity", capacity_default).astype(np.float64)

    no = np.zeros(len(kind), dtype=bool)
    blank = np.full(len(kind), "", dtype=object)
    importer = _vuln(kind, occ, storeys, no, blank, blank, low_rise_type)
    band = np.select([storeys >= 8, storeys >= 4], ["C2H", "C2M"], "C2L")
    listed = pd.Series(kind).map({k: s["vuln"] for k, s in table.items()}).fillna("")
    own = np.array(
        [v.replace("{band}", b) for v, b in zip(listed, band, strict=True)], dtype=object
    )
    facility = pd.Series(kind).map({k: f.vuln for k, f in d.facilities.items()})
    vuln_default = np.where(np.isin(kind, _IMPORTER_RULE), importer, own)
    vuln_default = np.where(shelter, "OPEN/PARK", vuln_default)
    vuln_default = np.where(
        facility.notna().to_numpy(), facility.to_numpy(dtype=object), vuln_default
    )
    vuln = _keep(frame, "vuln", vuln_default).astype(object)

    usual = pd.Series(kind).map({k: s for k, (s, _) in ASSET_KINDS.items()}).to_numpy(dtype=object)
    by_use = pd.Series(occ).map(_SECTOR_BY_USE).fillna("housing").to_numpy(dtype=object)
    sector = _keep(frame, "sector", np.where(kind == "building", by_use, usual)).astype(object)

    return frame.assign(
        occupancy=occ,
        storeys=storeys,
        floor_area_m2=floor,
        value=value,
        occupants=occupants,
        capacity=capacity,
        vuln=vuln,
        sector=sector,
    )
