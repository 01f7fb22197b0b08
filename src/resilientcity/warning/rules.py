"""Warning rules: four-level thresholds per observed property, validated with pydantic.

A rule says, for one observed property (river stage in m, hourly rainfall in mm, …), at which
values the blue, yellow, orange and red levels of the Chinese four-level warning scheme are
reached (blue IV lowest … red I highest; China Meteorological Administration Order No. 16,
2007), how long a value must stay past a threshold before the level is issued, how far it must
fall back before the level is lowered (hysteresis), and the optional rate-of-change and
forecast triggers. ``direction`` is ``rising`` when high values are bad (thresholds ascend) and
``falling`` when low values are bad (thresholds descend). A level may be left out (``null``)
when the published scheme has no such level for the property: a region with a three-level
scheme uses yellow, orange and red only (``data/warning/fi_rules.yaml``: the Finnish
Meteorological Institute's levels).

Every problem in a rule file is reported at once, named by its field path
(``rules[0].thresholds``).
"""

from __future__ import annotations

from importlib import resources
from itertools import pairwise
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic import ValidationError as PydanticError

from resilientcity._files import read_data_file
from resilientcity._pydantic import pydantic_problems
from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.vocabulary import LEVELS, Level, WarningLevel

__all__ = [
    "OBSERVED_PROPERTY_PATTERN",
    "Direction",
    "ForecastTrigger",
    "RateTrigger",
    "Thresholds",
    "WarningRule",
    "example_rules",
    "load_rules",
    "packaged_rules",
    "rules_from_dict",
]

#: ``rising``: high values are bad; ``falling``: low values are bad.
Direction = Literal["rising", "falling"]
#: Observed properties are lower-case identifiers (``river_stage``, ``rainfall_1h``), as the
#: datastreams a rule watches name them.
OBSERVED_PROPERTY_PATTERN = r"^[a-z][a-z0-9_]{0,99}$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Thresholds(_Spec):
    """The value at which each level is reached, in the rule's unit; ``None`` = level not used."""

    blue: float | None = None
    yellow: float | None = None
    orange: float | None = None
    red: float | None = None

    def as_tuple(self) -> tuple[float | None, ...]:
        """Thresholds for blue, yellow, orange, red (index 0 → level 1)."""
        return (self.blue, self.yellow, self.orange, self.red)

    @model_validator(mode="after")
    def _at_least_one(self) -> Thresholds:
        if all(v is None for v in self.as_tuple()):
            raise ValueError("at least one of blue, yellow, orange, red")
        return self


class RateTrigger(_Spec):
    """Raise to at least ``level`` when the value changes by ``change_per_hour`` or more.

    The change is measured in the bad direction (a rise for ``rising`` rules, a fall for
    ``falling`` rules) between the oldest observation in the last ``window_min`` minutes and the
    newest, per hour. The level is held for ``hold_min`` minutes after the trigger last fired.
    """

    change_per_hour: float = Field(gt=0)
    level: WarningLevel
    window_min: float = Field(default=60.0, gt=0)
    hold_min: float = Field(default=60.0, ge=0)


class ForecastTrigger(_Spec):
    """Issue the level a forecast predicts within ``horizon_h`` hours, with reason ``forecast``.

    The forecast is a straight line fitted by least squares to the observations of the last
    ``window_min`` minutes (at least ``min_points`` of them), or a forecast series given to the
    engine. The level is held for ``hold_min`` minutes after the forecast last predicted it.
    """

    horizon_h: float = Field(gt=0)
    window_min: float = Field(default=180.0, gt=0)
    min_points: int = Field(default=3, ge=2)
    hold_min: float = Field(default=60.0, ge=0)


class WarningRule(_Spec):
    """A warning rule for one observed property.

    Attributes
    ----------
    id
        Rule id, unique in a rule file.
    observed_property
        What is observed (``river_stage``, ``rainfall_1h`` …): a lower-case identifier
        (:data:`OBSERVED_PROPERTY_PATTERN`).
    unit
        Unit of the observed values and of every threshold and margin (``m``, ``mm``).
    direction
        ``rising`` (thresholds ascend) or ``falling`` (thresholds descend).
    thresholds
        Value at which each level is reached (value ≥ threshold for ``rising``, ≤ for
        ``falling``).
    min_duration_min
        Minutes a value must stay past a threshold before its level is issued, and below
        threshold − margin before the level is lowered.
    hysteresis_margin
        A level is lowered only when the value is past ``threshold - margin`` (``+ margin`` for
        ``falling`` rules), in the rule's unit.
    rate
        Rate-of-change triggers.
    forecast
        The forecast trigger, or ``None``.
    source
        Where the thresholds come from, and which of them are assumptions.
    """

    id: str = Field(min_length=1)
    observed_property: str = Field(pattern=OBSERVED_PROPERTY_PATTERN)
    unit: str = Field(min_length=1)
    direction: Direction = "rising"
    thresholds: Thresholds
    min_duration_min: float = Field(default=0.0, ge=0)
    hysteresis_margin: float = Field(default=0.0, ge=0)
    rate: tuple[RateTrigger, ...] = ()
    forecast: ForecastTrigger | None = None
    source: str = ""

    @field_validator("thresholds")
    @classmethod
    def _ordered(cls, thresholds: Thresholds, info: ValidationInfo) -> Thresholds:
        direction = info.data.get("direction", "rising")
        given = [v for v in thresholds.as_tuple() if v is not None]
        sign = 1.0 if direction == "rising" else -1.0
        if any(sign * (b - a) <= 0 for a, b in pairwise(given)):
            order = "ascending" if direction == "rising" else "descending"
            raise ValueError(f"thresholds strictly {order} from blue to red for a {direction} rule")
        return thresholds

    def level_of(self, value: float) -> Level:
        """The highest level whose threshold ``value`` reaches (no duration, no hysteresis)."""
        sign = 1.0 if self.direction == "rising" else -1.0
        out: Level = "none"
        for level, thr in zip(LEVELS[1:], self.thresholds.as_tuple(), strict=True):
            if thr is not None and sign * (value - thr) >= 0:
                out = level
        return out


class _RuleFile(_Spec):
    rules: tuple[WarningRule, ...]

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: tuple[WarningRule, ...]) -> tuple[WarningRule, ...]:
        if not rules:
            raise ValueError("at least one rule")
        ids = [r.id for r in rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"unique rule ids, found duplicates {dup}")
        return rules


def rules_from_dict(data: Any, source: str = "rules") -> dict[str, WarningRule]:
    """Validate a parsed rule file (``{"rules": [...]}``) and return the rules by id.

    Raises
    ------
    ValidationError
        Every problem, each naming its field (``rules[0].thresholds``) and what is expected.
    """
    if not isinstance(data, dict):
        found = type(data).__name__
        problem = Problem(source, "", "a mapping with a 'rules' list", found=found)
        raise ValidationError([problem], what="warning rules")
    try:
        parsed = _RuleFile.model_validate(data)
    except PydanticError as exc:
        raise ValidationError(pydantic_problems(exc, source), what="warning rules") from None
    return {rule.id: rule for rule in parsed.rules}


def load_rules(path: str | PathLike[str]) -> dict[str, WarningRule]:
    """Read and validate a YAML (or JSON) rule file; the rules by id.

    Raises
    ------
    DataFileError
        Missing or unreadable file.
    ValidationError
        A rule that breaks the schema, every problem named by its field.
    """
    source = Path(path)
    return rules_from_dict(read_data_file(source, "warning rules", as_yaml=True), source.name)


def packaged_rules(name: str) -> dict[str, WarningRule]:
    """The rules of a packaged rule file (``data/warning/<name>``: a region's), by id.

    Raises
    ------
    DataFileError
        No packaged rule file has this name (the packaged ones are listed).
    """
    folder = resources.files("resilientcity").joinpath("data/warning")
    packaged = sorted(p.name for p in folder.iterdir() if p.name.endswith((".yaml", ".yml")))
    if name not in packaged:
        raise DataFileError(
            f"no packaged warning rule file {name!r} (packaged: {', '.join(packaged)})"
        )
    with resources.as_file(folder.joinpath(name)) as path:
        return load_rules(path)


def example_rules() -> dict[str, WarningRule]:
    """The demo city's rules (``data/warning/example_rules.yaml``), by id."""
    return packaged_rules("example_rules.yaml")
