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
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "CITY_SIZES",
    "DAMAGE_MODES",
    "HAZARD_KINDS",
    "LEVELS",
    "RECOVERY_POLICIES",
    "WARNING_LEVELS",
    "CitySize",
    "DamageMode",
    "HazardKind",
    "Level",
    "RecoveryPolicy",
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
