"""The operations store: SQLAlchemy 2 models of the live city brain.

One module for every table, so that Alembic (``operations/migrations``) sees the whole schema.
Times are UTC: :class:`UTCDateTime` stores timezone-aware values on PostgreSQL and naive UTC
strings on SQLite, and always gives back timezone-aware UTC datetimes.

The sensing tables follow the entities of OGC SensorThings API Part 1 (Sensing) v1.1: a *thing*
(here a fixed sensor with its location) has *datastreams* (one observed property in one unit)
that carry *observations* (a phenomenon time and a result). Observations are keyed by
``(datastream_id, phenomenon_time)``, which makes ingestion idempotent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from resilientcity.vocabulary import INCIDENT_STATES, ROLES, TASK_STATES

__all__ = [
    "Agency",
    "ApiToken",
    "AuditEntry",
    "Base",
    "DataGrant",
    "Datastream",
    "Incident",
    "LiveWarning",
    "Observation",
    "Plan",
    "PlanActivation",
    "Quarantined",
    "Sensor",
    "Task",
    "UTCDateTime",
    "User",
    "WarningEvent",
    "WarningRuleRow",
    "WarningStateRow",
    "iso_utc",
    "utcnow",
]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def iso_utc(value: datetime | None) -> str | None:
    """An ISO 8601 time in UTC ending in ``Z``, as the API writes times (naive: taken as UTC)."""
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as UTC and read back timezone-aware (naive input is taken as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The time as stored: in UTC (naive input taken as UTC; without a zone on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The time as read: aware, in UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the operations store."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Agency(Base):
    """An agency that owns sensors and receives tasks (ids as in the decision module's plans)."""

    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))


class User(Base):
    """A person or system that holds API tokens, with one role and (operators) one agency."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="ck_users_role"),
        CheckConstraint("role != 'operator' OR agency_id IS NOT NULL", name="ck_users_agency"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """An API token; only its SHA-256 digest is stored (the token itself is shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class Sensor(Base):
    """A fixed sensor (a SensorThings *Thing* with its location), owned by an agency."""

    __tablename__ = "sensors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    asset_id: Mapped[str] = mapped_column(String(200), default="")
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Datastream(Base):
    """One observed property of one sensor, in one unit, with its physically possible range."""

    __tablename__ = "datastreams"
    __table_args__ = (
        UniqueConstraint("sensor_id", "observed_property", name="uq_datastreams_property"),
        CheckConstraint("min_value < max_value", name="ck_datastreams_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sensors.id"))
    observed_property: Mapped[str] = mapped_column(String(100), index=True)
    unit: Mapped[str] = mapped_column(String(32))
    min_value: Mapped[float] = mapped_column(Float)
    max_value: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, default="")

    sensor: Mapped[Sensor] = relationship(lazy="joined")


class Observation(Base):
    """One accepted observation; ``(datastream_id, phenomenon_time)`` is unique."""

    __tablename__ = "observations"

    datastream_id: Mapped[int] = mapped_column(ForeignKey("datastreams.id"), primary_key=True)
    phenomenon_time: Mapped[datetime] = mapped_column(primary_key=True)
    result: Mapped[float] = mapped_column(Float)
    received_at: Mapped[datetime]


class Quarantined(Base):
    """A rejected observation, kept with the reason it was rejected."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    datastream: Mapped[str] = mapped_column(String(200), default="")
    payload: Mapped[str] = mapped_column(Text)


class WarningRuleRow(Base):
    """A warning rule (:class:`resilientcity.warning.WarningRule`, kept as its JSON)."""

    __tablename__ = "warning_rules"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    observed_property: Mapped[str] = mapped_column(String(100), index=True)
    unit: Mapped[str] = mapped_column(String(32))
    spec: Mapped[dict[str, Any]]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WarningStateRow(Base):
    """The warning engine's memory for one rule on one datastream (JSON text, may hold -inf)."""

    __tablename__ = "warning_states"

    rule_id: Mapped[str] = mapped_column(ForeignKey("warning_rules.id"), primary_key=True)
    datastream_id: Mapped[int] = mapped_column(ForeignKey("datastreams.id"), primary_key=True)
    state: Mapped[str] = mapped_column(Text, default="")


class LiveWarning(Base):
    """One warning, from issued to lifted, for one rule on one datastream."""

    __tablename__ = "warnings"
    __table_args__ = (Index("ix_warnings_active", "status", "rule_id", "datastream_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(ForeignKey("warning_rules.id"))
    datastream_id: Mapped[int] = mapped_column(ForeignKey("datastreams.id"))
    level: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="active")
    issued_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    lifted_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)
    nowcast_status: Mapped[str] = mapped_column(String(16), default="none")
    nowcast: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class WarningEvent(Base):
    """One change of a warning (its history; the SSE stream reads this table in id order)."""

    __tablename__ = "warning_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    warning_id: Mapped[int] = mapped_column(ForeignKey("warnings.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(100))
    datastream_id: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime]
    recorded_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(16))
    from_level: Mapped[str] = mapped_column(String(8))
    to_level: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(16))
    value: Mapped[float] = mapped_column(Float)


class Plan(Base):
    """A contingency plan (预案) of the decision module (kept as its JSON)."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    family: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(4))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]]


class PlanActivation(Base):
    """A plan put into force (by a warning, an incident or a person) until stood down."""

    __tablename__ = "plan_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("warnings.id"))
    activated_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active")
    stood_down_at: Mapped[datetime | None]


class Task(Base):
    """A task of an activated plan, for one agency, with a deadline."""

    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(f"status IN {TASK_STATES!r}", name="ck_tasks_status"),
        UniqueConstraint("activation_id", "plan_task", name="uq_tasks_activation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    activation_id: Mapped[int] = mapped_column(ForeignKey("plan_activations.id"), index=True)
    plan_task: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    depends_on: Mapped[list[Any]] = mapped_column(default=list)
    deadline: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    note: Mapped[str] = mapped_column(Text, default="")
    escalated_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Incident(Base):
    """An incident reported by a citizen, raised by a sensor or entered by an operator."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(f"status IN {INCIDENT_STATES!r}", name="ck_incidents_status"),
        Index("ix_incidents_place_time", "category", "reported_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    people: Mapped[int] = mapped_column(Integer, default=0)
    reported_at: Mapped[datetime]
    client_key: Mapped[str] = mapped_column(String(64), default="", index=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    reports: Mapped[int] = mapped_column(Integer, default=1)
    datastream_id: Mapped[int | None] = mapped_column(ForeignKey("datastreams.id"))
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))
    dispatch: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime]


class DataGrant(Base):
    """One agency shares its datastreams (one, or all when ``datastream_id`` is null) with another."""

    __tablename__ = "data_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    grantee_agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    datastream_id: Mapped[int | None] = mapped_column(ForeignKey("datastreams.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One write: who (user and role), when, what (action and entity) and the details."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
