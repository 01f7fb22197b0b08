"""The column-mapping file of ``twin merge``: which source column or constant fills each column.

A mapping is a YAML (or JSON) object::

    layer: assets                 # assets, sensors or dependencies (the --layer option wins)
    crs: EPSG:3067                # the source's CRS when the file has none (CSV x/y)
    coordinates: {x: E, y: N}     # CSV only: {lon: …, lat: …} (WGS 84) or {x: …, y: …} + crs
    columns:
      asset_id: ID                # a plain string: that source column, as it is
      name: {source: NIMI}
      kind: {source: TYPE, values: {Sairaala: hospital, Terveysasema: clinic}}
      capacity: {source: BEDS}
      floor_area_m2: {source: AREA_HA, factor: 10000}
      storeys: {value: 3}         # a constant for every row

Per contract column: ``source`` (a column of the file) with an optional ``values`` map (source
value → contract value; values not in it pass through unchanged) and ``factor`` (numbers are
multiplied by it: a unit conversion), or ``value`` (a constant). Columns left out take the
documented defaults (:mod:`resilientcity.twin.merge_defaults`); the location columns
(``zone_id``, ``cell_id``, ``node_id``) are always set from the geometry.
"""

from __future__ import annotations

import math
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import pydantic

from resilientcity._files import read_data_file
from resilientcity._pydantic import pydantic_problems
from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.twin.schema import LAYERS

__all__ = ["LOCATION_COLUMNS", "ColumnRule", "Coordinates", "Mapping", "MergeLayer", "read_mapping"]

MergeLayer = Literal["assets", "sensors", "dependencies"]
Scalar = str | int | float | bool
#: Columns set from the location, never from the file.
LOCATION_COLUMNS = frozenset({"zone_id", "cell_id", "node_id"})


class ColumnRule(pydantic.BaseModel, extra="forbid"):
    """How one contract column is filled: a source column (values map, factor) or a constant."""

    source: str | None = None
    value: Scalar | None = None
    values: dict[str, Scalar] | None = None
    factor: float | None = None

    @pydantic.field_validator("values", mode="before")
    @classmethod
    def _keys_as_text(cls, values: Any) -> Any:
        if isinstance(values, dict):
            return {source_text(k): v for k, v in values.items()}
        return values

    @pydantic.field_validator("factor")
    @classmethod
    def _finite_positive(cls, factor: float | None) -> float | None:
        if factor is not None and not (math.isfinite(factor) and factor > 0):
            raise ValueError("a finite number > 0")
        return factor

    @pydantic.model_validator(mode="after")
    def _one_of(self) -> ColumnRule:
        if (self.source is None) == (self.value is None):
            raise ValueError("exactly one of source (a column of the file) or value (a constant)")
        if self.value is not None and (self.values is not None or self.factor is not None):
            raise ValueError("values and factor go with source, not with a constant value")
        return self


class Coordinates(pydantic.BaseModel, extra="forbid"):
    """The coordinate columns of a CSV: ``lon`` and ``lat`` (WGS 84) or ``x`` and ``y``."""

    lon: str | None = None
    lat: str | None = None
    x: str | None = None
    y: str | None = None

    @pydantic.model_validator(mode="after")
    def _a_pair(self) -> Coordinates:
        lonlat = self.lon is not None and self.lat is not None
        xy = self.x is not None and self.y is not None
        if lonlat == xy or (lonlat and (self.x or self.y)) or (xy and (self.lon or self.lat)):
            raise ValueError("either lon and lat (WGS 84) or x and y (with crs)")
        return self

    def columns(self) -> tuple[str, str]:
        """The (easting or longitude, northing or latitude) column names."""
        if self.lon is not None and self.lat is not None:
            return self.lon, self.lat
        assert self.x is not None and self.y is not None
        return self.x, self.y


class Mapping(pydantic.BaseModel, extra="forbid"):
    """A column-mapping file (see the module docs)."""

    layer: MergeLayer | None = None
    crs: str | None = None
    coordinates: Coordinates | None = None
    columns: dict[str, str | ColumnRule] = pydantic.Field(default_factory=dict)

    def rules(self) -> dict[str, ColumnRule]:
        """Every mapped contract column with its rule (a plain string is a ``source``)."""
        return {
            name: ColumnRule(source=rule) if isinstance(rule, str) else rule
            for name, rule in self.columns.items()
        }


def source_text(value: Any) -> str:
    """A source value as the text a ``values`` map is keyed by (``5.0`` → ``"5"``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_mapping(path: str | PathLike[str], layer: MergeLayer | None = None) -> Mapping:
    """Read and check a mapping file against the contract of its layer.

    Parameters
    ----------
    path
        YAML or JSON file.
    layer
        The layer merged into (default: the mapping's ``layer``, else ``assets``); the mapping
        is checked against it.

    Returns
    -------
    Mapping
        With ``layer`` set.

    Raises
    ------
    DataFileError
        The file is missing, unreadable or not a mapping object.
    ValidationError
        A field is unknown or malformed, or a column is not one of the layer's (each named).
    """
    source = Path(path)
    raw = read_data_file(source, "column mapping", as_yaml=True)
    if not isinstance(raw, dict):
        raise DataFileError(f"{source}: expected a mapping object, found {type(raw).__name__}")
    try:
        mapping = Mapping.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            pydantic_problems(exc, source.name), what=f"mapping {source}"
        ) from None
    chosen: MergeLayer = layer or mapping.layer or "assets"
    schema = LAYERS[chosen]
    known = [c.name for c in schema.columns if c.name not in LOCATION_COLUMNS]
    problems = []
    for name, rule in mapping.rules().items():
        if name in LOCATION_COLUMNS and chosen == "assets":
            problems.append(
                Problem(
                    source.name,
                    f"columns.{name}",
                    "a column the file may fill",
                    found=f"{name} (set from the location)",
                )
            )
        elif name not in known:
            problems.append(
                Problem(
                    source.name,
                    f"columns.{name}",
                    f"a column of the {chosen} layer ({', '.join(known)})",
                    found=repr(name),
                )
            )
        elif rule.factor is not None and schema.column(name).dtype not in ("int", "float"):
            problems.append(
                Problem(
                    source.name,
                    f"columns.{name}.factor",
                    "no factor on a text column",
                    found=str(rule.factor),
                )
            )
    if problems:
        raise ValidationError(problems, what=f"mapping {source}")
    return mapping.model_copy(update={"layer": chosen})
