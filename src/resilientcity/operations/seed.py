"""Filling a new store from a city's twin: agencies, sensors, datastreams, rules and plans.

The agencies come from the contingency plans (:func:`resilientcity.decision.plans.load_plans`)
and from the city's regional profile (:func:`region_agencies`: a city without packaged plans,
such as an imported Finnish one, still has agencies that own its sensors), the warning rules
of the region (:func:`region_rules`: the profile's packaged rule file, or the user's), and one
datastream per observed property of each twin sensor from ``data/operations/
demo_datastreams.yaml`` (owner agency and physical range per sensor kind). Seeding is
idempotent: what already exists (by id or name) is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from os import PathLike
from typing import Any

import geopandas as gpd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from resilientcity._files import read_data_file
from resilientcity.decision.plans import PlanSet
from resilientcity.errors import Problem, ValidationError
from resilientcity.operations.models import (
    Agency,
    Datastream,
    Plan,
    Sensor,
    WarningRuleRow,
)
from resilientcity.region.profile import RegionProfile
from resilientcity.warning import WarningRule, load_rules, packaged_rules

__all__ = [
    "SeedCounts",
    "datastream_count",
    "datastream_kinds",
    "region_agencies",
    "region_rules",
    "rule_count",
    "seed_rules",
    "seed_sensors",
    "seed_store",
    "sensor_count",
]


@dataclass(frozen=True)
class SeedCounts:
    """How many rows of each kind seeding added."""

    agencies: int
    sensors: int
    datastreams: int
    rules: int
    plans: int


def datastream_kinds() -> dict[str, Any]:
    """Per sensor kind: ``agency``, ``datastreams`` (property, unit, min, max) and ``source``."""
    path = files("resilientcity") / "data" / "operations" / "demo_datastreams.yaml"
    return dict(read_data_file(str(path), "datastream kinds", as_yaml=True)["kinds"])


def region_agencies(profile: RegionProfile) -> dict[str, str]:
    """The agencies of a city's region, by id: the profile's, else those that own sensors.

    A profile names the agencies of its country (``agencies``: id → name in the region's
    language). A generic country profile names none: the agencies that own the datastreams of
    each sensor kind (:func:`datastream_kinds`) are then taken, named by their ids (an
    assumption, until the user names them).

    Parameters
    ----------
    profile
        The city's regional profile (:attr:`resilientcity.twin.City.profile`).

    Returns
    -------
    dict
        Agency id → name.
    """
    if profile.agencies:
        return dict(profile.agencies)
    return {str(spec["agency"]): str(spec["agency"]) for spec in datastream_kinds().values()}


def region_rules(
    profile: RegionProfile, rules_file: str | PathLike[str] | None = None
) -> tuple[dict[str, WarningRule], str]:
    """The warning rules of a city and where they come from.

    The user's rule file when given, else the packaged rule file its regional profile names
    (:attr:`RegionProfile.warning_rules`: the Chinese demo rules for ``CN``, the Finnish
    Meteorological Institute's limits for ``FI``), else none: rules of one country never reach
    a city of another.

    Parameters
    ----------
    profile
        The city's regional profile.
    rules_file
        A rule file of the user's (YAML or JSON), or ``None``.

    Returns
    -------
    tuple
        The rules by id (empty: none for this region) and a line saying where they come from.

    Raises
    ------
    DataFileError
        The rule file cannot be read, or the profile names no packaged rule file.
    ValidationError
        A rule that breaks the schema.
    """
    if rules_file is not None:
        return load_rules(rules_file), f"the rule file {rules_file}"
    if profile.warning_rules is None:
        give = "give them with `resilientcity serve --rules FILE`"
        return {}, f"the region {profile.id} has no packaged warning rules; {give}"
    name = profile.warning_rules
    return packaged_rules(name), f"data/warning/{name}, the rules of the region {profile.id}"


def sensor_count(session: Session) -> int:
    """How many sensors the store has (none: it was never seeded)."""
    return int(session.scalar(select(func.count()).select_from(Sensor)) or 0)


def rule_count(session: Session) -> int:
    """How many enabled warning rules the store has (none: nothing can warn)."""
    query = select(func.count()).select_from(WarningRuleRow).where(WarningRuleRow.enabled)
    return int(session.scalar(query) or 0)


def datastream_count(session: Session) -> int:
    """How many datastreams the store has."""
    return int(session.scalar(select(func.count()).select_from(Datastream)) or 0)


def _lon_lat(sensors: gpd.GeoDataFrame) -> list[tuple[float | None, float | None]]:
    if sensors.empty or sensors.crs is None:
        return [(None, None)] * len(sensors)
    points = sensors.geometry.to_crs(4326)
    return [(float(p.x), float(p.y)) for p in points]


def seed_rules(session: Session, rules: dict[str, WarningRule]) -> int:
    """Add the rules the store lacks (by id), enabled; a rule it has is left as it is.

    Returns
    -------
    int
        How many rules were added.
    """
    have_rules = set(session.scalars(select(WarningRuleRow.id)))
    missing = [rule for rule in rules.values() if rule.id not in have_rules]
    for rule in missing:
        session.add(
            WarningRuleRow(
                id=rule.id,
                observed_property=rule.observed_property,
                unit=rule.unit,
                spec=rule.model_dump(mode="json"),
                enabled=True,
            )
        )
    return len(missing)


def _unknown_kinds(sensors: gpd.GeoDataFrame, kinds: Mapping[str, Any]) -> list[Problem]:
    """A problem per sensor whose kind has no datastream definitions."""
    return [
        Problem("sensors", "kind", f"one of {', '.join(sorted(kinds))}", (str(sid),), str(kind))
        for sid, kind in zip(sensors["sensor_id"], sensors["kind"], strict=True)
        if kind not in kinds
    ]


def seed_sensors(session: Session, sensors: gpd.GeoDataFrame) -> tuple[int, int]:
    """Add the sensors of ``sensors`` the store lacks, with their datastreams.

    Sensors and datastreams already in the store (by name) are left as they are, so a twin's
    sensors merged after the store was first seeded (``twin merge --layer sensors``) are added
    at the next start of the service.

    Parameters
    ----------
    session
        A session in a write transaction; the agencies of the sensors' kinds
        (:func:`datastream_kinds`) must be in the store.
    sensors
        The twin's sensors layer (``sensor_id``, ``kind``, ``name``, ``asset_id``, points).

    Returns
    -------
    tuple of int
        Sensors and datastreams added.

    Raises
    ------
    ValidationError
        A sensor kind without datastream definitions, or whose agency the store lacks.
    """
    kinds = datastream_kinds()
    agencies = set(session.scalars(select(Agency.id)))
    problems = _unknown_kinds(sensors, kinds)
    problems += [
        Problem("sensors", "kind", "a kind whose agency is in the store", (str(sid),), str(kind))
        for sid, kind in zip(sensors["sensor_id"], sensors["kind"], strict=True)
        if kind in kinds and kinds[kind]["agency"] not in agencies
    ]
    if problems:
        raise ValidationError(problems, what="operations seed")
    n_sensors = n_streams = 0
    sensor_ids = {name: i for name, i in session.execute(select(Sensor.name, Sensor.id))}
    for row, (lon, lat) in zip(sensors.itertuples(), _lon_lat(sensors), strict=True):
        if row.sensor_id in sensor_ids:
            continue
        sensor = Sensor(
            name=str(row.sensor_id),
            kind=str(row.kind),
            description=str(row.name),
            agency_id=kinds[row.kind]["agency"],
            lon=lon,
            lat=lat,
            asset_id=str(row.asset_id),
            properties={},
        )
        session.add(sensor)
        session.flush()
        sensor_ids[sensor.name] = sensor.id
        n_sensors += 1

    have_streams = set(session.scalars(select(Datastream.name)))
    for row in sensors.itertuples():
        for spec in kinds[row.kind]["datastreams"]:
            name = f"{row.sensor_id}:{spec['observed_property']}"
            if name in have_streams:
                continue
            session.add(
                Datastream(
                    name=name,
                    sensor_id=sensor_ids[row.sensor_id],
                    observed_property=spec["observed_property"],
                    unit=spec["unit"],
                    min_value=float(spec["min"]),
                    max_value=float(spec["max"]),
                    description=f"{spec['observed_property']} at {row.name}",
                )
            )
            n_streams += 1

    session.flush()
    return n_sensors, n_streams


def seed_store(
    session: Session,
    sensors: gpd.GeoDataFrame,
    rules: dict[str, WarningRule],
    plans: PlanSet,
    agencies: Mapping[str, str] | None = None,
) -> SeedCounts:
    """Add what is missing of a city's sensors, rules and plans to the store.

    Parameters
    ----------
    session
        A session in a write transaction.
    sensors
        The twin's sensors layer (``sensor_id``, ``kind``, ``name``, ``asset_id``, points).
    rules
        Warning rules by id.
    plans
        Contingency plans with their agencies.
    agencies
        More agencies (id → name, the region's: :func:`region_agencies`); the plans' names of
        an agency win.

    Returns
    -------
    SeedCounts
        Rows added per table.

    Raises
    ------
    ValidationError
        A sensor kind without datastream definitions, or a sensor kind's agency that is not
        among the plans' agencies nor ``agencies``.
    """
    kinds = datastream_kinds()
    problems = _unknown_kinds(sensors, kinds)
    extra = {k: v for k, v in (agencies or {}).items() if k not in plans.agencies}
    problems += [
        Problem(
            "datastream kinds",
            "agency",
            "an agency of the plans or the region",
            (kind,),
            spec["agency"],
        )
        for kind, spec in kinds.items()
        if spec["agency"] not in plans.agencies and spec["agency"] not in extra
    ]
    if problems:
        raise ValidationError(problems, what="operations seed")

    added = {"agencies": 0, "sensors": 0, "datastreams": 0, "rules": 0, "plans": 0}
    have_agencies = set(session.scalars(select(Agency.id)))
    for agency in plans.agencies.values():
        if agency.id not in have_agencies:
            session.add(Agency(id=agency.id, name_zh=agency.name.get("zh"), name_en=agency.name.en))
            added["agencies"] += 1
    for agency_id, name in extra.items():
        if agency_id not in have_agencies:
            session.add(Agency(id=agency_id, name_zh=name, name_en=name))
            added["agencies"] += 1
    session.flush()

    added["sensors"], added["datastreams"] = seed_sensors(session, sensors)

    added["rules"] = seed_rules(session, rules)

    have_plans = set(session.scalars(select(Plan.id)))
    for plan in plans.plans:
        if plan.id not in have_plans:
            session.add(
                Plan(
                    id=plan.id,
                    family=plan.family,
                    level=plan.level,
                    name_zh=plan.name.get("zh"),
                    name_en=plan.name.en,
                    spec=plan.model_dump(mode="json"),
                )
            )
            added["plans"] += 1
    session.flush()
    return SeedCounts(**added)
