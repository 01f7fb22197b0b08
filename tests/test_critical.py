"""The critical-facility assumptions and the down threshold: one data file, checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import resilientcity
from resilientcity.critical import critical_facilities
from resilientcity.errors import DataFileError, ValidationError
from resilientcity.twin.schema import ASSET_KINDS

PACKAGED = Path(resilientcity.__file__).parent / "data" / "critical_facilities.json"


def test_packaged_assumptions() -> None:
    found = critical_facilities()
    assert found.down_below == 0.5
    assert found.repair_priority[0] == "hospital" and found.repair_priority[-1] == "building"
    # The indicator's definition (data/assessment/indicators.json) and the named facilities.
    assert found.power_redundancy_kinds == (
        "hospital", "shelter", "pump_station", "water_plant", "telecom"
    )  # fmt: skip
    assert set(found.power_redundancy_kinds) <= set(found.facility_kinds)
    assert set(found.repair_priority) <= set(ASSET_KINDS)
    assert critical_facilities(PACKAGED) == found


def _write(tmp_path: Path, **changes: Any) -> Path:
    raw = json.loads(PACKAGED.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            del raw[key]
        else:
            raw[key]["value"] = value
    path = tmp_path / "critical.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_every_broken_rule_is_named_at_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        down_below=1.5,
        repair_priority=["hospital", "hospital", "castle"],
        facility_kinds=["hospital", "school"],
        power_redundancy_kinds="hospital",
    )
    with pytest.raises(ValidationError) as caught:
        critical_facilities(path)
    text = str(caught.value)
    assert str(path) in text
    assert "down_below: expected a probability in (0, 1), found 1.5" in text
    assert "repair_priority: expected asset kinds of the twin" in text and "castle" in text
    assert "repair_priority: expected each kind once" in text
    assert "facility_kinds: expected kinds that repair_priority also lists, found school" in text
    assert "power_redundancy_kinds: expected a non-empty list of asset kinds" in text


@pytest.mark.parametrize("value", [0, 1, True, "0.5"])
def test_down_below_must_be_a_probability_strictly_inside(tmp_path: Path, value: Any) -> None:
    with pytest.raises(ValidationError, match="down_below"):
        critical_facilities(_write(tmp_path, down_below=value))


def test_a_missing_entry_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"facility_kinds: expected an entry with a 'value'"):
        critical_facilities(_write(tmp_path, facility_kinds=None))


def test_a_missing_file_is_a_data_file_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such critical facilities file"):
        critical_facilities(tmp_path / "nothing.json")
