"""Dependencies guessed from where assets are, for twins whose source maps no networks.

OpenStreetMap maps substations, pumping stations and masts, but not which feeder, main or
cell serves which building. :func:`infer_dependencies` fills the gap with the rules the demo
city's generator uses (:func:`resilientcity.twin.demo.links.make_dependencies`), with the
nearest substation in place of the demo's feeders (OSM rarely maps them), and marks every
link it makes in the ``origin`` column (``inferred: <rule>``), so that reports and users can
tell a guess from a given link. Each rule applies only when the city has the supplier kind:
a city without substations gets no power dependencies, without water assets no water ones.

Power (``service = group = "power"``; backup hours per dependent, from the caller):

* ``inferred: nearest substation``: every asset that uses power (buildings, hospitals,
  clinics, fire and police stations, roofed shelters, relief warehouses, pump stations,
  wastewater plants and telecom sites) on its nearest substation. Open-space shelters (class
  ``OPEN*``), bridges, water storage, power plants and substations use none.
* ``inferred: two nearest substations (either suffices)``: water plants, on the two nearest
  (the demo's N-1 supply of its water plants).
* ``inferred: two nearest higher-voltage substations (either suffices)``: a substation of
  Hazus class ESS1 or ESS3 on the two nearest of a higher class (ESS3/ESS5, resp. ESS5), as the
  demo's 110 kV substations hang on two 220 kV ones. Power plants supply none: OSM does not
  say which substations their lines reach.

Water (``service = group = "water"``, no backup):

* ``inferred: nearest water site``: buildings, hospitals, clinics and roofed shelters on the
  nearest pump station or water storage (tower, covered reservoir): a Voronoi partition of the
  city into service zones; when the city has neither, on the nearest water plant.
* ``inferred: nearest water plant``: pump stations and water storage on the nearest water plant.

Communications (``service = group = "communications"``, no backup):

* ``inferred: nearest telecom site``: hospitals (as the demo) and fire and police stations
  (they dispatch by radio and phone) on the nearest telecom exchange or mast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity.twin.schema import DEPENDENCIES, PANDAS_DTYPES
from resilientcity.twin.spatial import nearest

__all__ = ["POWER_USERS", "TELECOM_USERS", "WATER_USERS", "infer_dependencies"]

#: Asset kinds that draw power (open-space shelters excepted).
POWER_USERS = (
    "building", "hospital", "clinic", "fire_station", "police_station", "shelter", "warehouse",
    "pump_station", "water_plant", "wastewater_plant", "telecom",
)  # fmt: skip
#: Asset kinds that draw water from the nearest water site (open-space shelters excepted).
WATER_USERS = ("building", "hospital", "clinic", "shelter")
#: Asset kinds on the nearest telecom site.
TELECOM_USERS = ("hospital", "fire_station", "police_station")
_VOLTAGE_RANK = {"ESS1": 1, "ESS2": 1, "ESS3": 2, "ESS4": 2, "ESS5": 3, "ESS6": 3}


def _links(
    ids: NDArray[np.object_],
    xy: NDArray[np.float64],
    dependents: NDArray[np.bool_],
    suppliers: NDArray[np.bool_],
    service: str,
    origin: str,
    backup: NDArray[np.float64],
    k: int = 1,
) -> pd.DataFrame | None:
    """Each dependent on its ``k`` nearest suppliers (one group: either suffices)."""
    dep, sup = np.flatnonzero(dependents), np.flatnonzero(suppliers)
    if dep.size == 0 or sup.size == 0:
        return None
    k = min(k, sup.size)
    near = sup[nearest(xy[dep], xy[sup], k=k).reshape(dep.size, k)]
    return pd.DataFrame(
        {
            "dependent_id": np.repeat(ids[dep], k),
            "supplier_id": ids[near.ravel()],
            "service": service,
            "group": service,
            "backup_hours": np.repeat(backup[dep], k),
            "origin": origin,
        }
    )


def infer_dependencies(
    assets: pd.DataFrame, xy: NDArray[np.float64], backup_hours: NDArray[np.float64]
) -> pd.DataFrame:
    """Power, water and communications links by the rules of the module docs.

    Parameters
    ----------
    assets
        The city's assets (``asset_id``, ``kind``, ``vuln``), any index.
    xy
        One representative point (m, the city's CRS) per asset, in the order of ``assets``.
    backup_hours
        Hours each asset runs on its own power backup, in the order of ``assets``.

    Returns
    -------
    pandas.DataFrame
        The ``dependencies`` layer (column ``origin`` says which rule made each link), in the
        order power, water, communications; empty when no rule applies.
    """
    ids = assets["asset_id"].to_numpy(dtype=object)
    kind = assets["kind"].to_numpy(dtype=object)
    vuln = assets["vuln"].to_numpy(dtype=object)
    substation, plant = kind == "substation", kind == "water_plant"
    # Only shelters can be open space and only substations have a voltage: look at those.
    roofed = np.ones(len(ids), dtype=bool)
    shelter = np.flatnonzero(kind == "shelter")
    roofed[shelter] = ~pd.Series(vuln[shelter], dtype="str").str.startswith("OPEN").to_numpy()
    rank = np.ones(len(ids), dtype=np.int64)
    rank[substation] = pd.Series(vuln[substation]).map(_VOLTAGE_RANK).fillna(1).to_numpy()
    none = np.zeros(len(ids))
    water_site = np.isin(kind, ("pump_station", "water_storage"))
    power_users = np.isin(kind, POWER_USERS) & roofed
    parts = [
        _links(ids, xy, power_users & ~plant, substation, "power",
               "inferred: nearest substation", backup_hours),
        _links(ids, xy, plant, substation, "power",
               "inferred: two nearest substations (either suffices)", backup_hours, k=2),
    ]  # fmt: skip
    for level in (1, 2):
        parts.append(
            _links(ids, xy, substation & (rank == level), substation & (rank > level), "power",
                   "inferred: two nearest higher-voltage substations (either suffices)",
                   backup_hours, k=2)
        )  # fmt: skip
    water_users = np.isin(kind, WATER_USERS) & roofed
    local = water_site if water_site.any() else plant
    parts += [
        _links(ids, xy, water_users, local, "water", "inferred: nearest water site", none),
        _links(ids, xy, water_site, plant, "water", "inferred: nearest water plant", none),
        _links(ids, xy, np.isin(kind, TELECOM_USERS), kind == "telecom", "communications",
               "inferred: nearest telecom site", none),
    ]  # fmt: skip
    found = [p for p in parts if p is not None]
    if not found:
        return DEPENDENCIES.empty()
    frame = pd.concat(found, ignore_index=True)
    return frame.astype({c.name: PANDAS_DTYPES[c.dtype] for c in DEPENDENCIES.columns})
