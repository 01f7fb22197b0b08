"""Request and response bodies of the API core (sensing, warnings, administration).

Times are ISO 8601 in UTC with ``Z``. Sensing resources follow the entity names of OGC
SensorThings API Part 1 v1.1 (``@iot.id``, ``@iot.selfLink``, ``value`` arrays,
``@iot.nextLink``); FastAPI serialises response models by alias, so the ``@iot.*`` names are
what clients see.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from resilientcity.vocabulary import Role
from resilientcity.warning.rules import OBSERVED_PROPERTY_PATTERN

__all__ = [
    "MAX_ID",
    "MAX_PROPERTIES_CHARS",
    "MAX_PROPERTIES_DEPTH",
    "OBSERVED_PROPERTY_PATTERN",
    "AgencyOut",
    "AuditOut",
    "DatastreamIn",
    "DatastreamOut",
    "DatastreamPage",
    "GrantIn",
    "GrantOut",
    "Health",
    "IngestOut",
    "IngestProblem",
    "MeOut",
    "ObservationOut",
    "ObservationPage",
    "PathId",
    "PointIn",
    "QuarantineOut",
    "QuarantineSummary",
    "RuleOut",
    "ThingIn",
    "ThingOut",
    "ThingPage",
    "TokenCreated",
    "TokenIn",
    "TokenOut",
    "UtcTime",
    "WarningDetail",
    "WarningEventOut",
    "WarningOut",
]

#: Largest id of a row (ids are 32-bit integers on PostgreSQL).
MAX_ID = 2**31 - 1
#: An id in a path: ``/v1.1/Things(12)``.
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="Id")]
#: Levels of nesting of a thing's free-form ``properties`` (``{"a": {"b": 1}}`` has 2).
MAX_PROPERTIES_DEPTH = 8
#: Characters of a thing's ``properties`` written as JSON.
MAX_PROPERTIES_CHARS = 10_000


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is in year 0 in UTC
        raise ValueError("a time between years 1 and 9999 in UTC") from None


#: A time with a UTC offset (``2026-07-01T08:00:00+08:00`` or ``…Z``), converted to UTC; a
#: time without an offset is ambiguous and refused, as one beyond the calendar in UTC is.
UtcTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class _Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Health(_Out):
    """Whether the service and its store answer."""

    status: Literal["ok"]
    database: str
    sensors: int
    datastreams: int
    rules: int = Field(
        description="Enabled warning rules; 0: none for the city's region (nothing can warn "
        "until rules are given: `serve --rules FILE`, `PUT /api/rules/{id}`)."
    )


class IotRef(_Out):
    """A reference to another entity: its id, name and link."""

    iot_id: int = Field(serialization_alias="@iot.id")
    name: str
    self_link: str = Field(serialization_alias="@iot.selfLink")


class ThingOut(_Out):
    """A sensor (SensorThings *Thing*) with its location."""

    iot_id: int = Field(serialization_alias="@iot.id")
    self_link: str = Field(serialization_alias="@iot.selfLink")
    name: str
    description: str
    properties: dict[str, Any]
    location: dict[str, Any] | None = Field(
        description="GeoJSON point (WGS 84 longitude, latitude), null when unknown"
    )
    datastreams: list[IotRef] = Field(serialization_alias="Datastreams")


class ThingPage(_Out):
    """One page of things."""

    count: int = Field(serialization_alias="@iot.count")
    value: list[ThingOut]
    next_link: str | None = Field(default=None, serialization_alias="@iot.nextLink")


class PointIn(_In):
    """A GeoJSON point in WGS 84: ``{"type": "Point", "coordinates": [lon, lat]}``."""

    type: Literal["Point"]
    coordinates: tuple[StrictFloat, StrictFloat]

    @field_validator("coordinates")
    @classmethod
    def _on_earth(cls, value: tuple[float, float]) -> tuple[float, float]:
        lon, lat = value
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            raise ValueError("longitude in [-180, 180] and latitude in [-90, 90]")
        return value


class ThingIn(_In):
    """A new sensor."""

    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\s:]+$")
    kind: str = Field(min_length=1, max_length=64)
    agency: str = Field(min_length=1, max_length=64, description="Owner agency id")
    description: str = ""
    asset_id: str = Field(default="", max_length=200)
    location: PointIn | None = None
    properties: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Free-form JSON: at most {MAX_PROPERTIES_DEPTH} levels deep and "
        f"{MAX_PROPERTIES_CHARS:,} characters",
    )

    @field_validator("properties")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        stack: list[tuple[int, Any]] = [(1, value)]
        while stack:
            level, item = stack.pop()
            if level > MAX_PROPERTIES_DEPTH:
                raise ValueError(f"at most {MAX_PROPERTIES_DEPTH} levels of nesting")
            inner = item.values() if isinstance(item, dict) else item
            stack.extend((level + 1, v) for v in inner if isinstance(v, (dict, list)))
        try:
            size = len(json.dumps(value, allow_nan=False, ensure_ascii=False))
        except ValueError:
            raise ValueError("finite numbers (no NaN or Infinity)") from None
        if size > MAX_PROPERTIES_CHARS:
            raise ValueError(f"at most {MAX_PROPERTIES_CHARS:,} characters of JSON, found {size:,}")
        return value


class DatastreamOut(_Out):
    """One observed property of one sensor, in one unit."""

    iot_id: int = Field(serialization_alias="@iot.id")
    self_link: str = Field(serialization_alias="@iot.selfLink")
    name: str
    description: str
    observation_type: str = Field(serialization_alias="observationType")
    unit_of_measurement: dict[str, str] = Field(serialization_alias="unitOfMeasurement")
    observed_property: dict[str, str] = Field(serialization_alias="ObservedProperty")
    thing: IotRef = Field(serialization_alias="Thing")
    agency: str
    properties: dict[str, Any]
    observations_link: str = Field(serialization_alias="Observations@iot.navigationLink")


class DatastreamPage(_Out):
    """One page of datastreams."""

    count: int = Field(serialization_alias="@iot.count")
    value: list[DatastreamOut]
    next_link: str | None = Field(default=None, serialization_alias="@iot.nextLink")


class DatastreamIn(_In):
    """A new datastream of an existing thing."""

    thing_id: StrictInt = Field(ge=1, le=MAX_ID, description="@iot.id of the thing (sensor)")
    observed_property: str = Field(pattern=OBSERVED_PROPERTY_PATTERN)
    unit: str = Field(min_length=1, max_length=32)
    min_value: StrictFloat = Field(
        allow_inf_nan=False, description="Lowest physically possible value"
    )
    max_value: StrictFloat = Field(
        allow_inf_nan=False, description="Highest physically possible value"
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Default: THING:OBSERVED_PROPERTY",
    )
    description: str = ""

    @model_validator(mode="after")
    def _range(self) -> DatastreamIn:
        if not self.min_value < self.max_value:
            raise ValueError("min_value < max_value")
        return self


class ObservationOut(_Out):
    """One stored observation."""

    phenomenon_time: datetime = Field(serialization_alias="phenomenonTime")
    result: float
    result_time: datetime = Field(
        serialization_alias="resultTime", description="When the service received it"
    )


class ObservationPage(_Out):
    """One page of a datastream's observations, newest first."""

    value: list[ObservationOut]
    next_link: str | None = Field(default=None, serialization_alias="@iot.nextLink")


class IngestProblem(_Out):
    """Why one observation of a batch was rejected."""

    index: int = Field(description="Position in the batch, all entities' rows one after another")
    entity: int = Field(description="Position of the entity in the request body")
    row: int = Field(description="Row of the entity's dataArray")
    datastream: str
    reason: str
    detail: str


class IngestOut(_Out):
    """What became of a batch (sent after it is committed)."""

    received: int
    stored: int
    duplicates: int
    rejected: dict[str, int]
    problems: list[IngestProblem]
    warning_events: list[int]


class QuarantineOut(_Out):
    """A rejected observation kept with its reason."""

    id: int
    received_at: datetime
    source: str
    reason: str
    detail: str
    datastream: str
    payload: str


class QuarantineSummary(_Out):
    """Rejected observations by reason."""

    total: int
    by_reason: dict[str, int]


class WarningOut(_Out):
    """A warning from issued to lifted, with where it is."""

    id: int
    rule_id: str
    level: str
    status: str
    reason: str
    value: float
    issued_at: datetime
    updated_at: datetime
    lifted_at: datetime | None
    datastream_id: int
    datastream: str
    sensor: str
    lon: float | None
    lat: float | None
    nowcast_status: str


class WarningEventOut(_Out):
    """One change of a warning."""

    id: int
    warning_id: int
    kind: str
    from_level: str
    to_level: str
    reason: str
    value: float
    time: datetime
    recorded_at: datetime


class WarningDetail(WarningOut):
    """A warning with its history, its rule and its nowcast."""

    events: list[WarningEventOut]
    rule: dict[str, Any]
    nowcast: dict[str, Any] | None


class RuleOut(_Out):
    """A warning rule of the store."""

    id: str
    enabled: bool
    updated_at: datetime
    rule: dict[str, Any]


class MeOut(_Out):
    """The caller."""

    user_id: int | None
    name: str
    role: str
    agency: str | None


class AgencyOut(_Out):
    """An agency."""

    id: str
    name_zh: str
    name_en: str


class TokenIn(_In):
    """A new API token (for a new user, or an existing user with the same role and agency)."""

    name: str = Field(min_length=1, max_length=200)
    role: Role
    agency: str | None = Field(default=None, min_length=1, max_length=64)
    label: str = Field(default="", max_length=200)
    expires_at: UtcTime | None = Field(default=None, description="A time in the future")


class TokenOut(_Out):
    """An API token, without its secret."""

    id: int
    user: str
    role: str
    agency: str | None
    prefix: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    """A new API token with its secret (shown this once)."""

    token: str


class GrantIn(_In):
    """Share an agency's datastreams (all, or one) with another agency."""

    owner_agency: str = Field(min_length=1, max_length=64)
    grantee_agency: str = Field(min_length=1, max_length=64)
    datastream_id: StrictInt | None = Field(default=None, ge=1, le=MAX_ID)


class GrantOut(_Out):
    """A data-sharing grant."""

    id: int
    owner_agency: str
    grantee_agency: str
    datastream_id: int | None
    created_at: datetime
    created_by: int | None
    revoked_at: datetime | None


class AuditOut(_Out):
    """One entry of the audit log."""

    id: int
    at: datetime
    user_id: int | None
    user: str | None
    role: str
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any]
