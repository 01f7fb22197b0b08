"""The shared vocabulary: the categories that more than one layer names, each in one place.

Every layer may import this module (it imports nothing of the package): the computation
packages type their arguments with these ``Literal`` types, the scenario file, the plans and the
API validate against them, and each tuple lists the members in their order for the code that
ranks or checks them (``typing.get_args`` of the ``Literal`` gives the same members).

* :data:`Level` / :data:`LEVELS` — warning levels lowest first, with ``none`` (no warning in
  force); :data:`WarningLevel` / :data:`WARNING_LEVELS` — the levels a warning can be issued
  at (CMA Order No. 16, 2007: blue IV … red I).
* :data:`HazardKind` / :data:`HAZARD_KINDS` — the hazards the engines model.
* :data:`RecoveryPolicy` / :data:`RECOVERY_POLICIES` — the recovery simulation's repair
  priority policies (:mod:`resilientcity.recovery.policies`).
* :data:`DamageMode` / :data:`DAMAGE_MODES` — how the network stage decides that an asset is
  damaged: one seeded draw, or its probability of functioning below ``down_below`` of
  :func:`resilientcity.critical.critical_facilities`.
* :data:`CitySize` / :data:`CITY_SIZES` — the sizes of the built-in demo city.
* :data:`Role` / :data:`ROLES`, :data:`TaskStatus` / :data:`TASK_STATES`,
  :data:`IncidentStatus` / :data:`INCIDENT_STATES` — the operations service's roles and the
  states of its tasks and incidents (the store's check constraints and the API's parameters).
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "CITY_SIZES",
    "DAMAGE_MODES",
    "HAZARD_KINDS",
    "INCIDENT_STATES",
    "LEVELS",
    "RECOVERY_POLICIES",
    "ROLES",
    "TASK_STATES",
    "WARNING_LEVELS",
    "CitySize",
    "DamageMode",
    "HazardKind",
    "IncidentStatus",
    "Level",
    "RecoveryPolicy",
    "Role",
    "TaskStatus",
    "WarningLevel",
]

#: Warning levels, lowest first; ``none`` means no warning in force.
Level = Literal["none", "blue", "yellow", "orange", "red"]
#: A level that can be issued (every level but ``none``).
WarningLevel = Literal["blue", "yellow", "orange", "red"]
#: :data:`Level` members, lowest first.
LEVELS: tuple[Level, ...] = ("none", "blue", "yellow", "orange", "red")
#: :data:`WarningLevel` members, lowest first (CMA Order No. 16, 2007: blue IV … red I).
WARNING_LEVELS: tuple[WarningLevel, ...] = ("blue", "yellow", "orange", "red")

#: The hazards the engines model.
HazardKind = Literal["river_flood", "pluvial_flood", "earthquake", "wind"]
#: :data:`HazardKind` members.
HAZARD_KINDS: tuple[HazardKind, ...] = ("river_flood", "pluvial_flood", "earthquake", "wind")

#: Repair priority policies of the recovery simulation.
RecoveryPolicy = Literal["critical_first", "population", "given"]
#: :data:`RecoveryPolicy` members.
RECOVERY_POLICIES: tuple[RecoveryPolicy, ...] = ("critical_first", "population", "given")

#: How the network stage decides that an asset is down after the hazards.
DamageMode = Literal["sampled", "threshold"]
#: :data:`DamageMode` members.
DAMAGE_MODES: tuple[DamageMode, ...] = ("sampled", "threshold")

#: Sizes of the built-in demo city.
CitySize = Literal["small", "default", "large"]
#: :data:`CitySize` members, smallest first.
CITY_SIZES: tuple[CitySize, ...] = ("small", "default", "large")

#: Roles of the operations service's users, from most to least powerful.
Role = Literal["admin", "operator", "analyst", "public"]
#: :data:`Role` members, most powerful first.
ROLES: tuple[Role, ...] = ("admin", "operator", "analyst", "public")
#: States of a task of a contingency plan.
TaskStatus = Literal["pending", "acknowledged", "in_progress", "completed", "cancelled"]
#: :data:`TaskStatus` members, in the order they are normally reached.
TASK_STATES: tuple[TaskStatus, ...] = (
    "pending",
    "acknowledged",
    "in_progress",
    "completed",
    "cancelled",
)
#: States of an incident.
IncidentStatus = Literal["new", "triaged", "duplicate", "dispatched", "resolved", "rejected"]
#: :data:`IncidentStatus` members.
INCIDENT_STATES: tuple[IncidentStatus, ...] = (
    "new",
    "triaged",
    "duplicate",
    "dispatched",
    "resolved",
    "rejected",
)
