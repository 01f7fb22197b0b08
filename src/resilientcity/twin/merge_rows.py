"""The user's rows as contract columns: parsed, value-mapped, scaled and checked.

:class:`SourceRows` collects every problem (naming the file, its column and the rows, numbered
from 1) and raises them together; :mod:`resilientcity.twin.merge` builds layers from it.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from resilientcity.errors import Problem, ValidationError
from resilientcity.twin.city import City
from resilientcity.twin.mapping import ColumnRule, source_text
from resilientcity.twin.merge_source import SourceTable, row_labels
from resilientcity.twin.schema import Column, LayerSchema

__all__ = ["SourceRows", "check_asset_ids", "check_mapped_columns", "require"]


def _missing(values: pd.Series) -> NDArray[np.bool_]:
    text = values.map(lambda v: isinstance(v, str) and v.strip() == "")
    return (values.isna() | text).to_numpy(dtype=bool)


def _sample(values: pd.Series, mask: NDArray[np.bool_]) -> str:
    shown = list(dict.fromkeys(repr(v) for v in values[mask].tolist()))
    return ", ".join(shown[:5]) + (" …" if len(shown) > 5 else "")


class SourceRows:
    """Turns a source table into contract columns, collecting every problem."""

    def __init__(self, table: SourceTable, mapping_name: str) -> None:
        self.table = table
        self.mapping_name = mapping_name
        self.problems: list[Problem] = []

    def where(self, rule: ColumnRule, column: str) -> str:
        """What a problem names: the file's column, or the mapping's constant."""
        if rule.source is not None:
            return rule.source
        return f"{column} (constant in {self.mapping_name})"

    def values(self, rule: ColumnRule, col: Column) -> pd.Series:
        """The contract column ``col`` by ``rule``: NaN/None where the source is empty."""
        n = len(self.table.frame)
        name, label = self.table.name, self.where(rule, col.name)
        if rule.source is None:
            raw = pd.Series([rule.value] * n, dtype=object)
        else:
            raw = self.table.frame[rule.source].astype(object)
        missing = _missing(raw)
        if rule.values is not None:
            keys = raw.map(source_text)
            raw = keys.map(rule.values).where(keys.isin(list(rule.values)), raw)
        if col.dtype == "str":
            text = raw.map(source_text).where(~missing, None)
            if col.allowed is not None:
                bad = ~missing & ~text.isin(sorted(col.allowed)).to_numpy()
                if bad.any():
                    hint = " (or a key of the mapping's values)" if rule.values is not None else ""
                    self.problems.append(
                        Problem(
                            name,
                            label,
                            f"one of {', '.join(sorted(col.allowed))}{hint}",
                            row_labels(bad),
                            _sample(text, bad),
                        )
                    )
            return text
        number = pd.to_numeric(
            raw.where(~missing, None).map(lambda v: v.strip() if isinstance(v, str) else v),
            errors="coerce",
        )
        number = number.astype(np.float64)
        bad = ~missing & number.isna().to_numpy()
        if bad.any():
            self.problems.append(
                Problem(name, label, "a number", row_labels(bad), _sample(raw, bad))
            )
        if rule.factor is not None:
            number = number * rule.factor
        finite = number.notna().to_numpy()
        values = number.to_numpy(dtype=np.float64)
        wrong = np.zeros(n, dtype=bool)
        if col.check:
            wrong = finite & ~np.isfinite(values)
            if col.check in ("nonneg", "positive"):
                wrong |= finite & (values < 0 if col.check == "nonneg" else values <= 0)
        if col.dtype == "int":
            fraction = finite & np.isfinite(values) & (values != np.round(values))
            if fraction.any():
                self.problems.append(
                    Problem(
                        name,
                        label,
                        "a whole number",
                        row_labels(fraction),
                        _sample(number, fraction),
                    )
                )
        if wrong.any():
            self.problems.append(
                Problem(name, label, col.expected, row_labels(wrong), _sample(number, wrong))
            )
        return number

    def ids(
        self, rule: ColumnRule | None, id_column: str, existing: pd.Index, replace: bool, layer: str
    ) -> pd.Series:
        """Ids from ``rule`` (default ``<file stem>-<row>``): non-empty, unique, new unless replaced."""
        name, n = self.table.name, len(self.table.frame)
        if rule is None:
            stem = Path(name).stem
            return pd.Series([f"{stem}-{i + 1}" for i in range(n)], dtype=object)
        label = self.where(rule, id_column)
        ids = self.values(rule, Column(id_column, "str", ""))
        empty = ids.isna().to_numpy()
        if empty.any():
            self.problems.append(
                Problem(name, label, f"a non-empty {id_column}", row_labels(empty))
            )
        dup = ids.duplicated(keep=False).to_numpy() & ~empty
        if dup.any():
            self.problems.append(
                Problem(name, label, f"unique {id_column}s", row_labels(dup), _sample(ids, dup))
            )
        taken = ids.isin(existing).to_numpy() & ~empty
        if taken.any() and not replace:
            self.problems.append(
                Problem(
                    name,
                    label,
                    f"an {id_column} not yet in the city's {layer} (or --replace to replace those rows)",
                    row_labels(taken),
                    _sample(ids, taken),
                )
            )
        return ids

    def with_ids(
        self, rules: dict[str, ColumnRule], schema: LayerSchema, existing: pd.Index, replace: bool
    ) -> tuple[dict[str, pd.Series], pd.Series]:
        """The mapped columns of ``schema`` but its id column, and the rows' ids (:meth:`ids`)."""
        id_column = schema.id_column
        assert id_column is not None
        given = {
            name: self.values(rule, schema.column(name))
            for name, rule in rules.items()
            if name != id_column
        }
        return given, self.ids(rules.get(id_column), id_column, existing, replace, schema.name)

    def locations(self, city: City, schema: LayerSchema) -> NDArray[np.object_]:
        """The shapes in the city's CRS, each checked for type, extent and DEM."""
        name, geometry = self.table.name, self.table.geometry
        assert geometry is not None
        empty = shapely.is_missing(geometry) | shapely.is_empty(geometry)
        if empty.any():
            self.problems.append(
                Problem(name, "geometry", "a non-empty geometry", row_labels(empty))
            )
        allowed = [shapely.GeometryType[t.upper()].value for t in schema.geometry_types]
        wrong = ~empty & ~np.isin(shapely.get_type_id(geometry), allowed)
        if wrong.any():
            found = ", ".join(sorted({g.geom_type for g in geometry[wrong]}))
            self.problems.append(
                Problem(
                    name, "geometry", " or ".join(schema.geometry_types), row_labels(wrong), found
                )
            )
        shapes = gpd.GeoSeries(geometry, crs=self.table.crs).to_crs(city.crs).to_numpy()
        where = np.asarray(shapes, dtype=object).copy()
        ok = ~empty & ~wrong
        points = shapely.point_on_surface(where[ok]) if ok.any() else np.array([], dtype=object)
        x, y = shapely.get_x(points), shapely.get_y(points)
        box = city.extent()
        outside = np.zeros(len(geometry), dtype=bool)
        if box is not None:
            xmin, ymin, xmax, ymax = box
            inside = (
                np.isfinite(x)
                & np.isfinite(y)
                & (x >= xmin)
                & (x <= xmax)
                & (y >= ymin)
                & (y <= ymax)
            )
            outside[ok] = ~inside
            if outside.any():
                extent = f"({xmin:.0f}, {ymin:.0f}) to ({xmax:.0f}, {ymax:.0f}) in {city.crs.to_string()}"
                self.problems.append(
                    Problem(
                        name,
                        "geometry",
                        f"a location within the city's extent {extent}",
                        row_labels(outside),
                    )
                )
        if city.dem is not None and ok.any():
            off = np.zeros(len(geometry), dtype=bool)
            off[ok] = ~city.dem.inside(x, y) & ~outside[ok]
            if off.any():
                self.problems.append(
                    Problem(
                        name,
                        "geometry",
                        "a location on the city's DEM (a cell with data)",
                        row_labels(off),
                    )
                )
        return where

    def raise_if_any(self) -> None:
        """Raise every problem collected so far as one error."""
        if self.problems:
            through = f" (merged through {self.mapping_name})"
            what = self.table.name + (through if self.mapping_name != self.table.name else "")
            raise ValidationError(self.problems, what=what)


def check_mapped_columns(rows: SourceRows, rules: dict[str, ColumnRule]) -> None:
    """Mapping problems: a rule's source column that the file lacks."""
    columns = [str(c) for c in rows.table.frame.columns]
    for name, rule in rules.items():
        if rule.source is not None and rule.source not in columns:
            rows.problems.append(
                Problem(
                    rows.mapping_name,
                    f"columns.{name}",
                    f"a column of {rows.table.name} ({', '.join(columns)})",
                    found=repr(rule.source),
                )
            )


def require(
    rows: SourceRows, rules: dict[str, ColumnRule], column: str, values: pd.Series | None
) -> None:
    """A problem when ``column`` (which has no default) is not mapped or is empty on a row."""
    if column not in rules:
        rows.problems.append(
            Problem(
                rows.mapping_name,
                f"columns.{column}",
                "a source column or a constant value (it has no default)",
                found="not mapped",
            )
        )
    elif values is not None and values.isna().any():
        rows.problems.append(
            Problem(
                rows.table.name,
                rows.where(rules[column], column),
                f"a {column} on every row",
                row_labels(values.isna().to_numpy()),
            )
        )


def check_asset_ids(
    rows: SourceRows,
    rules: dict[str, ColumnRule],
    given: dict[str, pd.Series],
    column: str,
    assets: pd.Index,
) -> None:
    """A problem for each row whose ``column`` names no asset of ``assets``."""
    if column not in given:
        return
    values = given[column]
    unknown = values.notna().to_numpy() & ~values.isin(assets).to_numpy()
    if unknown.any():
        label = rows.where(rules[column], column)
        rows.problems.append(
            Problem(
                rows.table.name,
                label,
                "an asset_id of the city",
                row_labels(unknown),
                _sample(values, unknown),
            )
        )
