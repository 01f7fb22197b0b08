"""Critical facilities and the down threshold: one data file, read by one function.

``data/critical_facilities.json`` holds, each with its unit and source:

* ``down_below`` — below this probability of functioning an asset counts as down (the network
  stage's ``"threshold"`` damage mode; the report's damage map when no network stage ran);
* ``repair_priority`` — asset kinds most urgent first (the ``"critical_first"`` repair policy);
* ``facility_kinds`` — the critical facilities named one by one (the report's "why is it down"
  table, the flood nowcast's flooded facilities);
* ``power_redundancy_kinds`` — the facilities of the assessment indicator
  ``inf_critical_power_redundancy`` (its definition in ``data/assessment/indicators.json``).

The named sets differ on purpose: each is what "critical" means for its use, written once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from resilientcity._files import read_data_file
from resilientcity.errors import Problem, ValidationError
from resilientcity.twin.schema import ASSET_KINDS

__all__ = ["CriticalFacilities", "critical_facilities"]

_PACKAGED = "data/critical_facilities.json"
_KIND_SETS = ("repair_priority", "facility_kinds", "power_redundancy_kinds")


@dataclass(frozen=True)
class CriticalFacilities:
    """The critical kinds and the down threshold (see the module docstring).

    Attributes
    ----------
    down_below
        Probability of functioning (0–1, exclusive) below which an asset counts as down.
    repair_priority
        Asset kinds, most urgent first.
    facility_kinds
        Kinds of the facilities named one by one in the report and the nowcast.
    power_redundancy_kinds
        Kinds of the facilities of ``inf_critical_power_redundancy``.
    """

    down_below: float
    repair_priority: tuple[str, ...]
    facility_kinds: tuple[str, ...]
    power_redundancy_kinds: tuple[str, ...]


def _value(raw: dict[str, Any], key: str, problems: list[Problem]) -> Any:
    entry = raw.get(key)
    if not isinstance(entry, dict) or "value" not in entry:
        problems.append(Problem("critical facilities", key, "an entry with a 'value'"))
        return None
    return entry["value"]


def _kinds(value: Any, key: str, problems: list[Problem]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(k, str) for k in value):
        problems.append(
            Problem(
                "critical facilities", key, "a non-empty list of asset kinds", found=repr(value)
            )
        )
        return ()
    unknown = sorted(set(value) - set(ASSET_KINDS))
    if unknown:
        problems.append(
            Problem(
                "critical facilities",
                key,
                "asset kinds of the twin (resilientcity.twin.schema.ASSET_KINDS)",
                found=", ".join(unknown),
            )
        )
    if len(set(value)) != len(value):
        problems.append(Problem("critical facilities", key, "each kind once", found=repr(value)))
    return tuple(value)


def critical_facilities(path: str | os.PathLike[str] | None = None) -> CriticalFacilities:
    """The critical kinds and the down threshold, from ``path`` or the packaged data file.

    Parameters
    ----------
    path
        A JSON file laid out as ``data/critical_facilities.json`` (``None``: that file, read
        once per process).

    Returns
    -------
    CriticalFacilities
        The values of the file's entries.

    Raises
    ------
    DataFileError
        The file is missing or not JSON.
    ValidationError
        Every broken rule at once, each naming its entry: ``down_below`` not strictly between
        0 and 1, a kind that is not one of the twin's asset kinds, a kind listed twice, or a
        ``facility_kinds`` / ``power_redundancy_kinds`` member missing from
        ``repair_priority``.
    """
    if path is None:
        return _packaged()
    return _read(Path(path))


@cache
def _packaged() -> CriticalFacilities:
    with resources.as_file(resources.files("resilientcity").joinpath(_PACKAGED)) as source:
        return _read(source)


def _read(source: Path) -> CriticalFacilities:
    raw = read_data_file(source, "critical facilities")
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        raise ValidationError(
            [Problem("critical facilities", "", "a JSON object", found=type(raw).__name__)],
            what=str(source),
        )
    down = _value(raw, "down_below", problems)
    if down is not None and (
        isinstance(down, bool) or not isinstance(down, int | float) or not 0.0 < down < 1.0
    ):
        problems.append(
            Problem(
                "critical facilities", "down_below", "a probability in (0, 1)", found=repr(down)
            )
        )
    sets = {key: _kinds(_value(raw, key, problems), key, problems) for key in _KIND_SETS}
    order = set(sets["repair_priority"])
    for key in ("facility_kinds", "power_redundancy_kinds"):
        missing = [k for k in sets[key] if k not in order] if order else []
        if missing:
            problems.append(
                Problem(
                    "critical facilities",
                    key,
                    "kinds that repair_priority also lists",
                    found=", ".join(missing),
                )
            )
    if problems:
        raise ValidationError(problems, what=str(source))
    return CriticalFacilities(
        float(down),
        sets["repair_priority"],
        sets["facility_kinds"],
        sets["power_redundancy_kinds"],
    )
