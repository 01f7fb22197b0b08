"""Indicators computed from the digital twin and the scenario results (``source = "twin"``).

The seven ``twin`` indicators of the default library, per district (zones of type
``district``; their ``population`` is the resident count):

* ``soc_hospital_beds``: Σ ``capacity`` (beds) of the district's ``hospital`` assets per
  1,000 residents (clinics are not counted: the indicator counts hospital beds);
* ``soc_shelter_places``: Σ ``capacity`` (persons) of its ``shelter`` assets per 1,000
  residents;
* ``soc_hospital_access_15min``: share (%) of the occupants of the district's buildings whose
  drive to the nearest hospital on the *intact* road network (free-flow, every edge open,
  :func:`~resilientcity.network.road_state.edge_state` without damage and
  :func:`~resilientcity.network.road_access.accessibility`) takes at most 15 minutes. Building
  occupants stand for the residents here (the twin places people in buildings); a road network
  that is not strongly connected is accepted, its cut-off buildings counting as not reached;
* ``inf_critical_power_redundancy``: share (%) of the district's critical facilities
  (``power_redundancy_kinds`` of :func:`~resilientcity.critical.critical_facilities`, the
  kinds the indicator's definition names) with redundant power: every ``power`` group of the facility has two
  or more distinct suppliers (any one of a group suffices, so N-1 holds), or one of its ``power``
  links carries ``backup_hours > 0`` (its own backup). A critical facility without any power
  link has no redundancy the twin can show, and counts as not redundant;
* ``eco_eal_per_capita`` (needs a run): Σ over the run's event sets of the expected annual
  loss of each asset (``result.eai``, currency units per year), summed over the district's assets, divided by
  its population (currency units per resident per year);
* ``inf_resilience_index`` and ``inf_recovery_time`` (need a run with its network stage): the
  district's service curve is the mean over the sectors of the levels of the columns
  ``(sector, district)`` of the run's :class:`~resilientcity.recovery.metrics.ServiceCurve`
  (each sector counting equally, an **assumption**: the curve keeps no weights per zone);
  the resilience index is ∫Q dt / T and the recovery time the rapidity (days back to the
  rapidity threshold of ``data/recovery/recovery_defaults.json``, 0.95). A district whose
  curve does not get back within the simulated span gets the span (a lower bound: the
  indicator must be finite to be compared).

Units: each district's values are rows of a long frame (``unit``, ``indicator``, ``value``) that
:func:`~resilientcity.assessment.data.validate_indicator_table` accepts once a ``year`` is added.
A value that cannot be defined (a district without critical facilities, without buildings or
without a service curve) is left out, not NaN, so the indicator table's imputation policy
decides about it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from resilientcity.critical import critical_facilities
from resilientcity.errors import Problem, ValidationError
from resilientcity.impact.results import EventSetImpact
from resilientcity.network import accessibility, edge_state
from resilientcity.network.service import recovery_defaults
from resilientcity.recovery.metrics import ServiceCurve, rapidity, resilience_index
from resilientcity.twin.city import City

__all__ = [
    "ACCESS_MINUTES",
    "RUN_INDICATORS",
    "STATIC_INDICATORS",
    "TWIN_INDICATORS",
    "district_population",
    "twin_indicators",
]

#: The travel time of ``soc_hospital_access_15min``, minutes (the indicator's definition).
ACCESS_MINUTES = 15.0
#: Twin indicators computed from the city alone.
STATIC_INDICATORS: tuple[str, ...] = (
    "soc_hospital_beds",
    "soc_shelter_places",
    "soc_hospital_access_15min",
    "inf_critical_power_redundancy",
)
#: Twin indicators that need a scenario run.
RUN_INDICATORS: tuple[str, ...] = (
    "eco_eal_per_capita",
    "inf_resilience_index",
    "inf_recovery_time",
)
#: Every twin indicator of the default library.
TWIN_INDICATORS: tuple[str, ...] = STATIC_INDICATORS + RUN_INDICATORS

_COLUMNS = ["unit", "indicator", "value"]


def district_population(city: City) -> pd.Series:
    """Residents per district (``zones.population`` of the zones of type ``district``).

    Returns
    -------
    pandas.Series
        Population indexed by district ``zone_id`` (text), in ``city.zones`` order.

    Raises
    ------
    ValidationError
        The city has no district zone, or a district's population is not positive (named).
    """
    zones = city.zones
    districts = zones[(zones["zone_type"] == "district").to_numpy(dtype=bool)]
    if districts.empty:
        problem = Problem("zones", "zone_type", "at least one zone of type district", found="none")
        raise ValidationError([problem], what="twin indicators")
    population = pd.Series(
        districts["population"].to_numpy(dtype=np.float64),
        index=pd.Index(districts["zone_id"].to_numpy(dtype=str), name="unit"),
        name="population",
    )
    bad = ~(population > 0)
    if bad.any():
        rows = tuple(population.index[bad.to_numpy()])
        problem = Problem("zones", "population", "residents > 0 in every district", rows)
        raise ValidationError([problem], what="twin indicators")
    return population


def _per_district(values: pd.Series, zone_of: pd.Series, districts: pd.Index) -> pd.Series:
    """Sum of ``values`` per district (0 where none), assets outside the districts left out."""
    return values.groupby(zone_of.to_numpy(dtype=str)).sum().reindex(districts, fill_value=0.0)


def _capacity_per_1000(city: City, kind: str, population: pd.Series) -> pd.Series:
    """Σ capacity of the assets of ``kind`` per district per 1,000 residents."""
    assets = city.assets[(city.assets["kind"] == kind).to_numpy(dtype=bool)]
    capacity = pd.Series(assets["capacity"].to_numpy(dtype=np.float64))
    total = _per_district(capacity, assets["zone_id"], population.index)
    return total / population * 1000.0


def _hospital_access(city: City, districts: pd.Index) -> pd.Series:
    """Share (%) of building occupants within :data:`ACCESS_MINUTES` of a hospital, intact roads."""
    access = accessibility(city, edge_state(city), kinds=("hospital",), allow_disconnected=True)
    people = pd.Series(access["occupants"].to_numpy(dtype=np.float64))
    near = people * (access["hospital_min"].to_numpy(dtype=np.float64) <= ACCESS_MINUTES)
    total = _per_district(people, access["zone_id"], districts)
    reached = _per_district(near, access["zone_id"], districts)
    return (reached / total * 100.0)[total > 0]


def _power_redundant(city: City, facility_ids: pd.Index) -> pd.Series:
    """True per critical facility whose power is redundant (see the module docstring)."""
    deps = city.dependencies
    power = deps[(deps["service"] == "power").to_numpy(dtype=bool)]
    power = power[power["dependent_id"].isin(facility_ids)]
    dependent = power["dependent_id"].to_numpy(dtype=str)
    suppliers = power.groupby([dependent, power["group"].to_numpy(dtype=str)])["supplier_id"]
    n_suppliers = suppliers.nunique()
    every_group = (n_suppliers >= 2).groupby(level=0).all()
    backup = pd.Series(power["backup_hours"].to_numpy(dtype=np.float64) > 0)
    has_backup = backup.groupby(dependent).any()
    redundant = every_group.reindex(facility_ids, fill_value=False) | has_backup.reindex(
        facility_ids, fill_value=False
    )
    return redundant.astype(bool)


def _power_redundancy(city: City, districts: pd.Index) -> pd.Series:
    """Share (%) of the critical facilities with redundant power, per district that has some."""
    assets = city.assets
    critical = assets[
        assets["kind"].isin(critical_facilities().power_redundancy_kinds).to_numpy(dtype=bool)
    ]
    ids = pd.Index(critical["asset_id"].to_numpy(dtype=str))
    redundant = _power_redundant(city, ids).to_numpy(dtype=np.float64)
    zone = critical["zone_id"]
    count = _per_district(pd.Series(np.ones(len(ids))), zone, districts)
    hits = _per_district(pd.Series(redundant), zone, districts)
    return (hits / count * 100.0)[count > 0]


def _eal_per_capita(
    city: City, event_sets: Sequence[EventSetImpact], population: pd.Series
) -> pd.Series | None:
    """Expected annual loss per resident (currency units per year), ``None`` without event sets."""
    if not event_sets:
        return None
    zone_of = pd.Series(
        city.assets["zone_id"].to_numpy(dtype=str),
        index=city.assets["asset_id"].to_numpy(dtype=str),
    )
    total = pd.Series(0.0, index=population.index)
    for event_set in event_sets:
        result = event_set.result
        eai = pd.Series(result.eai, dtype=np.float64)
        zones = zone_of.reindex(np.asarray(result.asset_ids, dtype=str)).fillna("")
        total = total + _per_district(eai, zones, population.index)
    return total / population


def _recovery(
    curve: ServiceCurve | None, districts: pd.Index
) -> tuple[pd.Series, pd.Series] | None:
    """Resilience index and recovery time (days) per district; ``None`` without a curve."""
    if curve is None:
        return None
    levels, times = curve.levels, curve.times
    threshold = float(recovery_defaults()["rapidity_threshold"])
    span = float(times[-1] - times[0])
    index, days = {}, {}
    for district in districts:
        columns = [c for c in levels.columns if c[1] == district and c[0] != "city"]
        if not columns:
            continue
        q = levels[columns].to_numpy(dtype=np.float64).mean(axis=1)
        index[district] = resilience_index(times, q)
        back = rapidity(times, q, threshold)
        days[district] = back if np.isfinite(back) else span
    return pd.Series(index, dtype=np.float64), pd.Series(days, dtype=np.float64)


def _long(indicator: str, values: pd.Series) -> pd.DataFrame:
    """One indicator's values per district as long rows."""
    return pd.DataFrame(
        {
            "unit": values.index.astype(str),
            "indicator": indicator,
            "value": values.to_numpy(dtype=np.float64),
        },
        columns=_COLUMNS,
    )


def twin_indicators(
    city: City,
    event_sets: Sequence[EventSetImpact] = (),
    curve: ServiceCurve | None = None,
) -> pd.DataFrame:
    """The twin indicators of every district, computed from the city and a scenario's results.

    Parameters
    ----------
    city
        The city twin (district zones with population, assets, roads, dependencies).
    event_sets
        The event sets of a scenario run on the same city (``ScenarioRun.event_sets``), for
        ``eco_eal_per_capita``; empty: that indicator is left out.
    curve
        The recovery's service curves of that run (``ScenarioRun.network.curve``), for
        ``inf_resilience_index`` and ``inf_recovery_time``; ``None`` (no network stage):
        they are left out.

    Returns
    -------
    pandas.DataFrame
        Long frame with the columns ``unit`` (district ``zone_id``), ``indicator`` (an id of
        :data:`TWIN_INDICATORS`) and ``value`` (float, finite, in the indicator's unit of the
        library), ordered by indicator then district (see the module docstring for the
        definitions and what is left out).

    Raises
    ------
    ValidationError
        No district zone or a district without residents (named); the city has no hospital
        (from :func:`~resilientcity.network.road_access.accessibility`).
    """
    population = district_population(city)
    districts = population.index
    parts = {
        "soc_hospital_beds": _capacity_per_1000(city, "hospital", population),
        "soc_shelter_places": _capacity_per_1000(city, "shelter", population),
        "soc_hospital_access_15min": _hospital_access(city, districts),
        "inf_critical_power_redundancy": _power_redundancy(city, districts),
    }
    eal = _eal_per_capita(city, event_sets, population)
    if eal is not None:
        parts["eco_eal_per_capita"] = eal
    recovery = _recovery(curve, districts)
    if recovery is not None:
        parts["inf_resilience_index"], parts["inf_recovery_time"] = recovery
    frames = [_long(k, v) for k, v in parts.items()]
    return pd.concat(frames, ignore_index=True)
