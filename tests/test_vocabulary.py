"""The shared vocabulary: each tuple lists its ``Literal``'s members, in order."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from resilientcity import vocabulary


@pytest.mark.parametrize(
    ("literal", "members"),
    [
        (vocabulary.Level, vocabulary.LEVELS),
        (vocabulary.WarningLevel, vocabulary.WARNING_LEVELS),
        (vocabulary.HazardKind, vocabulary.HAZARD_KINDS),
        (vocabulary.RecoveryPolicy, vocabulary.RECOVERY_POLICIES),
        (vocabulary.DamageMode, vocabulary.DAMAGE_MODES),
        (vocabulary.CitySize, vocabulary.CITY_SIZES),
        (vocabulary.Role, vocabulary.ROLES),
        (vocabulary.TaskStatus, vocabulary.TASK_STATES),
        (vocabulary.IncidentStatus, vocabulary.INCIDENT_STATES),
    ],
)
def test_each_tuple_lists_its_literal_in_order(literal: Any, members: tuple[str, ...]) -> None:
    assert get_args(literal) == members


def test_levels_are_the_warning_levels_after_none() -> None:
    assert vocabulary.LEVELS == ("none", *vocabulary.WARNING_LEVELS)
