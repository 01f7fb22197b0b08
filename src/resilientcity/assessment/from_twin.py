"""Indicators computed from the digital twin and the scenario results (``source = "twin"``).

The seven ``twin`` indicators of the default library, per assessment unit
(:func:`~resilientcity.twin.assessment_units.assessment_units`: the city's districts with
residents, or its H3 cells with residents when it has fewer than two districts; a unit's
``population`` is its resident count, an asset's unit its ``zone_id`` or ``cell_id``):

* ``soc_hospital_beds``: Σ ``capacity`` (beds) of the unit's ``hospital`` assets per
  1,000 residents (clinics are not counted: the indicator counts hospital beds);
* ``soc_shelter_places``: Σ ``capacity`` (persons) of its ``shelter`` assets per 1,000
  residents;
* ``soc_hospital_access_15min``: share (%) of the occupants of the unit's buildings whose
  drive to the nearest hospital on the *intact* road network (free-flow, every edge open,
  :func:`~resilientcity.network.road_state.edge_state` without damage and
  :func:`~resilientcity.network.road_access.accessibility`) takes at most 15 minutes. Building
  occupants stand for the residents here (the twin places people in buildings); a road network
  that is not strongly connected is accepted, its cut-off buildings counting as not reached.
  A city without any hospital leaves it out (no hospital to reach: not measured);
* ``inf_critical_power_redundancy``: share (%) of the unit's critical facilities
  (``power_redundancy_kinds`` of :func:`~resilientcity.critical.critical_facilities`, the
  kinds the indicator's definition names) with redundant power: every ``power`` group of the facility has two
  or more distinct suppliers (any one of a group suffices, so N-1 holds), or one of its ``power``
  links carries ``backup_hours > 0`` (its own backup). A critical facility without any power
  link has no redundancy the twin can show, and counts as not redundant;
* ``eco_eal_per_capita`` (needs a run with event sets): Σ over the run's event sets of the
  expected annual loss of each asset (``result.eai``, currency units per year), summed over the
  unit's assets, divided by its population (currency units per resident per year). A
  scenario's hazards alone (without ``event_sets:``) carry no frequency: no EAL;
* ``inf_resilience_index`` and ``inf_recovery_time`` (need a run with its network stage): the
  unit's service curve is the mean over the sectors of the levels of the columns
  ``(sector, unit)`` of the run's :class:`~resilientcity.recovery.metrics.ServiceCurve`
  (each sector counting equally, an **assumption**: the curve keeps no weights per zone);
  the resilience index is ∫Q dt / T and the recovery time the rapidity (days back to the
  rapidity threshold of ``data/recovery/recovery_defaults.json``, 0.95). A unit whose
  curve does not get back within the simulated span gets the span (a lower bound: the
  indicator must be finite to be compared).

Units: each unit's values are rows of a long frame (``unit``, ``indicator``, ``value``) that
:func:`~resilientcity.assessment.data.validate_indicator_table` accepts once a ``year`` is added.
A value that cannot be defined (a unit without critical facilities, without buildings or
without a service curve) is left out, not NaN, so the indicator table's imputation policy
decides about it; :func:`not_computed` names the indicators left out altogether and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from resilientcity.critical import critical_facilities
from resilientcity.impact.results import EventSetImpact
from resilientcity.network import accessibility, edge_state
from resilientcity.network.service import recovery_defaults
from resilientcity.recovery.metrics import ServiceCurve, rapidity, resilience_index
from resilientcity.twin.assessment_units import AssessmentUnits, assessment_units
from resilientcity.twin.city import City

__all__ = [
    "ACCESS_MINUTES",
    "RUN_INDICATORS",
    "STATIC_INDICATORS",
    "TWIN_INDICATORS",
    "not_computed",
    "twin_indicators",
    "unit_population",
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


def unit_population(city: City) -> pd.Series:
    """Residents per assessment unit (:func:`~resilientcity.twin.assessment_units.assessment_units`).

    Returns
    -------
    pandas.Series
        Population (> 0) indexed by the unit's ``zone_id`` (text), in ``city.zones`` order.

    Raises
    ------
    ValidationError
        Fewer than two districts and fewer than two H3 cells with residents.
    """
    return assessment_units(city).population


def _per_unit(values: pd.Series, unit_of: pd.Series, units: pd.Index) -> pd.Series:
    """Sum of ``values`` per unit (0 where none), assets outside the units left out."""
    return values.groupby(unit_of.to_numpy(dtype=str)).sum().reindex(units, fill_value=0.0)


def _capacity_per_1000(city: City, units: AssessmentUnits, kind: str) -> pd.Series:
    """Σ capacity of the assets of ``kind`` per unit per 1,000 residents."""
    of_kind = (city.assets["kind"] == kind).to_numpy(dtype=bool)
    capacity = pd.Series(city.assets["capacity"].to_numpy(dtype=np.float64)[of_kind])
    total = _per_unit(capacity, units.asset_unit[of_kind], units.population.index)
    return total / units.population * 1000.0


def _hospital_access(city: City, units: AssessmentUnits) -> pd.Series | None:
    """Share (%) of building occupants within :data:`ACCESS_MINUTES` of a hospital, intact roads.

    ``None`` in a city without any hospital.
    """
    if not (city.assets["kind"] == "hospital").any():
        return None
    access = accessibility(city, edge_state(city), kinds=("hospital",), allow_disconnected=True)
    unit_of = pd.Series(
        units.asset_unit.to_numpy(dtype=str), index=city.assets["asset_id"].to_numpy(dtype=str)
    )
    building_unit = unit_of.reindex(access["asset_id"].to_numpy(dtype=str)).fillna("")
    people = pd.Series(access["occupants"].to_numpy(dtype=np.float64))
    near = people * (access["hospital_min"].to_numpy(dtype=np.float64) <= ACCESS_MINUTES)
    total = _per_unit(people, building_unit, units.population.index)
    reached = _per_unit(near, building_unit, units.population.index)
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


def _power_redundancy(city: City, units: AssessmentUnits) -> pd.Series:
    """Share (%) of the critical facilities with redundant power, per unit that has some."""
    assets = city.assets
    critical = assets["kind"].isin(critical_facilities().power_redundancy_kinds).to_numpy(bool)
    ids = pd.Index(assets["asset_id"].to_numpy(dtype=str)[critical])
    redundant = _power_redundant(city, ids).to_numpy(dtype=np.float64)
    unit = units.asset_unit[critical]
    count = _per_unit(pd.Series(np.ones(len(ids))), unit, units.population.index)
    hits = _per_unit(pd.Series(redundant), unit, units.population.index)
    return (hits / count * 100.0)[count > 0]


def _eal_per_capita(
    city: City, event_sets: Sequence[EventSetImpact], units: AssessmentUnits
) -> pd.Series | None:
    """Expected annual loss per resident (currency units per year), ``None`` without event sets."""
    if not event_sets:
        return None
    unit_of = pd.Series(
        units.asset_unit.to_numpy(dtype=str), index=city.assets["asset_id"].to_numpy(dtype=str)
    )
    population = units.population
    total = pd.Series(0.0, index=population.index)
    for event_set in event_sets:
        result = event_set.result
        eai = pd.Series(result.eai, dtype=np.float64)
        unit = unit_of.reindex(np.asarray(result.asset_ids, dtype=str)).fillna("")
        total = total + _per_unit(eai, unit, population.index)
    return total / population


def _recovery(curve: ServiceCurve | None, units: pd.Index) -> tuple[pd.Series, pd.Series] | None:
    """Resilience index and recovery time (days) per unit; ``None`` without a curve."""
    if curve is None:
        return None
    levels, times = curve.levels, curve.times
    threshold = float(recovery_defaults()["rapidity_threshold"])
    span = float(times[-1] - times[0])
    index, days = {}, {}
    for unit in units:
        columns = [c for c in levels.columns if c[1] == unit and c[0] != "city"]
        if not columns:
            continue
        q = levels[columns].to_numpy(dtype=np.float64).mean(axis=1)
        index[unit] = resilience_index(times, q)
        back = rapidity(times, q, threshold)
        days[unit] = back if np.isfinite(back) else span
    return pd.Series(index, dtype=np.float64), pd.Series(days, dtype=np.float64)


def _long(indicator: str, values: pd.Series) -> pd.DataFrame:
    """One indicator's values per unit as long rows."""
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
    """The twin indicators of every assessment unit, from the city and a scenario's results.

    Parameters
    ----------
    city
        The city twin (district or H3 zones with population, assets, roads, dependencies).
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
        Long frame with the columns ``unit`` (the unit's ``zone_id``), ``indicator`` (an id of
        :data:`TWIN_INDICATORS`) and ``value`` (float, finite, in the indicator's unit of the
        library), ordered by indicator then unit (see the module docstring for the
        definitions and what is left out).

    Raises
    ------
    ValidationError
        Fewer than two districts and fewer than two H3 cells with residents.
    """
    units = assessment_units(city)
    parts = {
        "soc_hospital_beds": _capacity_per_1000(city, units, "hospital"),
        "soc_shelter_places": _capacity_per_1000(city, units, "shelter"),
    }
    access = _hospital_access(city, units)
    if access is not None:
        parts["soc_hospital_access_15min"] = access
    parts["inf_critical_power_redundancy"] = _power_redundancy(city, units)
    eal = _eal_per_capita(city, event_sets, units)
    if eal is not None:
        parts["eco_eal_per_capita"] = eal
    recovery = _recovery(curve, units.population.index)
    if recovery is not None:
        parts["inf_resilience_index"], parts["inf_recovery_time"] = recovery
    frames = [_long(k, v) for k, v in parts.items()]
    return pd.concat(frames, ignore_index=True)


def not_computed(
    frame: pd.DataFrame, event_sets: Sequence[EventSetImpact], curve: ServiceCurve | None
) -> dict[str, str]:
    """The twin indicators :func:`twin_indicators` left out altogether, with the reason.

    Parameters
    ----------
    frame
        What :func:`twin_indicators` returned.
    event_sets, curve
        What it was given.

    Returns
    -------
    dict
        Indicator id → why it has no value for any unit, in :data:`TWIN_INDICATORS` order.
    """
    present = set(frame.loc[frame["value"].notna(), "indicator"].astype(str))
    reasons = {
        "soc_hospital_access_15min": "the city has no hospital",
        "inf_critical_power_redundancy": "the units have no critical facility ("
        + ", ".join(k.replace("_", " ") for k in critical_facilities().power_redundancy_kinds)
        + ")",
        "soc_hospital_beds": "no unit has residents",
        "soc_shelter_places": "no unit has residents",
        "eco_eal_per_capita": "the run has no event sets (event_sets:)"
        if not event_sets
        else "no event set loss in the units",
        "inf_resilience_index": "the run has no recovery curve (recovery off or skipped)"
        if curve is None
        else "no unit has a service curve",
        "inf_recovery_time": "the run has no recovery curve (recovery off or skipped)"
        if curve is None
        else "no unit has a service curve",
    }
    return {i: reasons[i] for i in TWIN_INDICATORS if i not in present}
