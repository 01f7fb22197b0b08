"""Indicator data: a table of units (districts, cities) × years × indicators, read and validated.

Two layouts are accepted, in CSV or Excel (``.xlsx``/``.xlsm``, needs ``openpyxl``), and in a
:class:`pandas.DataFrame` for :func:`validate_indicator_table`:

* **long**: the columns ``unit``, ``year``, ``indicator``, ``value`` — one row per cell;
* **wide**: the columns ``unit``, ``year`` and one column per indicator id — one row per unit
  and year.

The column names ``unit``, ``year``, ``indicator`` and ``value`` are matched without regard to
case or surrounding spaces; indicator ids are matched exactly. In CSV files, lines starting with
``#`` are comments. Empty cells and the usual NA spellings (``NA``, ``NaN``, ``n/a``, …) are
missing values.

Every value must lie in its indicator's valid range (``min_value`` and ``max_value`` of the
library, inclusive, either open): a percentage of 150 or −3 doctors per 1,000 people is refused,
each cell named (``unit/year``) under its indicator with the range allowed, every such cell at
once.

The table is a full grid: every unit × every year × every indicator that occurs in it. A cell
that is empty, or absent from a long table, is missing and is handled by the imputation policy:

* ``none``: missing values are refused, every missing cell listed;
* ``unit_mean``: the mean of the same unit's values of that indicator in the other years;
* ``indicator_median``: the median of that indicator over the other units in the same year;
* ``previous_year``: the unit's value of that indicator in the latest earlier year (carried
  forward).

A cell the policy cannot fill (e.g. no earlier year) is refused with the policy named. A unit
whose values are all missing is refused under every policy. An indicator whose value is the same
for every unit in a year (zero variance) is reported, not refused: normalisation and objective
weights cannot use it, and the methods module refuses it there.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Literal, NamedTuple, cast, get_args

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity._compat import import_optional_dependency
from resilientcity.assessment.indicators import IndicatorLibrary
from resilientcity.errors import DataFileError, Problem, ValidationError

__all__ = [
    "ImputationPolicy",
    "ImputationReport",
    "IndicatorData",
    "range_problems",
    "read_indicator_table",
    "validate_indicator_table",
]

ImputationPolicy = Literal["none", "unit_mean", "indicator_median", "previous_year"]

_LAYER = "indicator table"
_KEYS = ("unit", "year", "indicator")
_COLUMNS = (*_KEYS, "value", "imputed")
_EXCEL = {".xlsx", ".xlsm"}
_NA_TEXT = frozenset({"nan", "<na>", "none"})


@dataclass(frozen=True)
class ImputationReport:
    """What :func:`validate_indicator_table` filled in and what it noticed.

    Attributes
    ----------
    policy
        The imputation policy applied.
    imputed
        One row per filled cell: ``unit``, ``year``, ``indicator``, ``value`` (the filled value).
    zero_variance
        One row per indicator and year whose value is the same for every unit (only with two
        units or more): ``indicator``, ``year``, ``value``.
    """

    policy: ImputationPolicy
    imputed: pd.DataFrame
    zero_variance: pd.DataFrame

    @property
    def n_imputed(self) -> int:
        """The number of cells filled in."""
        return len(self.imputed)

    def describe(self) -> str:
        """A short text for a report: how many cells were filled, which indicators are constant."""
        lines = [f"imputation policy {self.policy}: {self.n_imputed:,} cell(s) filled in"]
        lines += [
            f"  {r.unit} {r.year} {r.indicator} = {r.value:g}"
            for r in self.imputed.itertuples(index=False)
        ]
        lines += [
            f"zero variance: {r.indicator} in {r.year} is {r.value:g} for every unit"
            for r in self.zero_variance.itertuples(index=False)
        ]
        return "\n".join(lines)


class IndicatorData(NamedTuple):
    """A validated indicator table and the report of what was imputed.

    Attributes
    ----------
    frame
        Tidy (long) frame, one row per unit × year × indicator, sorted by unit, year and
        library order of the indicators, default index: ``unit`` (str), ``year`` (int),
        ``indicator`` (str, an id of the library), ``value`` (float, finite, in the
        indicator's unit), ``imputed`` (bool, True where the policy filled the value).
    report
        The :class:`ImputationReport`.
    """

    frame: pd.DataFrame
    report: ImputationReport


def _cell_names(frame: pd.DataFrame) -> tuple[str, ...]:
    """``unit/year/indicator`` for each row of a long frame."""
    return tuple(f"{u}/{y}/{i}" for u, y, i in frame[list(_KEYS)].itertuples(index=False))


def _to_long(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    """The table in long form with text keys and raw values, or the layout problems."""
    names = {c: str(c).strip() for c in raw.columns}
    renamed = raw.rename(
        columns={c: n.lower() if n.lower() in (*_KEYS, "value") else n for c, n in names.items()}
    )
    columns = list(renamed.columns)
    missing = [c for c in ("unit", "year") if c not in columns]
    if missing:
        expected = (
            "the columns unit, year and either indicator, value (long) or one per indicator (wide)"
        )
        return renamed, [Problem(_LAYER, ", ".join(missing), expected, found=f"{columns}")]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        return renamed, [Problem(_LAYER, ", ".join(duplicated), "each column once", (), "twice")]
    if "indicator" in columns or "value" in columns:
        extra = [c for c in columns if c not in (*_KEYS, "value")]
        if extra or not {"indicator", "value"} <= set(columns):
            expected = "a long table with exactly the columns unit, year, indicator, value"
            return renamed, [Problem(_LAYER, ", ".join(extra), expected, found=f"{columns}")]
        long = renamed[[*_KEYS, "value"]].copy()
    else:
        long = renamed.melt(id_vars=["unit", "year"], var_name="indicator", value_name="value")
    long["unit"] = _key_texts(long["unit"])
    long["indicator"] = _key_texts(long["indicator"])
    return long, []


def _key_text(value: object) -> str:
    """A unit or indicator key as text; missing becomes ``""``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip()
    return "" if text.lower() in _NA_TEXT else text


def _key_texts(series: pd.Series) -> pd.Series:
    """:func:`_key_text` of every element, computed once per distinct value."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    if pd.api.types.infer_dtype(distinct, skipna=False) == "string":
        stripped = distinct.str.strip()
        texts = stripped.where(~stripped.str.lower().isin(_NA_TEXT), "")
    else:
        texts = distinct.map(_key_text)
    table = np.append(texts.to_numpy(dtype=object), "")
    return pd.Series(table[codes], index=series.index, dtype=object)


def _numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Values as floats, and the mask of values present but not finite numbers."""
    present = series.notna()
    if not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)):
        present &= _key_texts(series) != ""
    numbers = pd.to_numeric(series.where(present), errors="coerce").astype(np.float64)
    bad = present & ~np.isfinite(numbers)
    return numbers.where(present & ~bad), bad


def _positions(mask: pd.Series) -> tuple[str, ...]:
    """The 1-based row numbers where ``mask`` is true, as text."""
    return tuple(str(i + 1) for i in np.flatnonzero(mask.to_numpy(dtype=bool)))


def _key_problems(
    long: pd.DataFrame, library: IndicatorLibrary, units: Collection[str] | None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Checks of the keys and values: empty keys, years, unknown ids, duplicates, non-numbers."""
    problems: list[Problem] = []
    for key in ("unit", "indicator"):
        empty = long[key] == ""
        if empty.any():
            problems.append(Problem(_LAYER, key, "a non-empty id", _positions(empty)))
    years = pd.to_numeric(long["year"], errors="coerce")
    bad_year = ~(np.isfinite(years) & (years == np.round(years)))
    if bad_year.any():
        found = ", ".join(sorted({str(v) for v in long.loc[bad_year, "year"]})[:5])
        rows = _positions(bad_year)
        problems.append(Problem(_LAYER, "year", "a whole number (e.g. 2023)", rows, found))
    unknown = sorted({i for i in long["indicator"].unique() if i and i not in library})
    if unknown:
        problems.append(
            Problem(_LAYER, "indicator", "an indicator id of the library", tuple(unknown))
        )
    if units is not None:
        allowed = {str(u) for u in units}
        strangers = sorted({u for u in long["unit"].unique() if u and u not in allowed})
        if strangers:
            problems.append(Problem(_LAYER, "unit", "one of the given units", tuple(strangers)))
    if problems:
        return long, problems
    long = long.assign(year=years.astype(np.int64))
    doubled = pd.Series(_Cells.of(long, library).flat).duplicated(keep=False).to_numpy()
    if doubled.any():
        cells = tuple(dict.fromkeys(_cell_names(long.loc[doubled])))
        problems.append(Problem(_LAYER, "unit, year, indicator", "one value per cell", cells))
    values, bad = _numbers(long["value"])
    if bad.any():
        found = ", ".join(sorted({str(v) for v in long.loc[bad, "value"]})[:5])
        rows = _cell_names(long.loc[bad])
        problems.append(Problem(_LAYER, "value", "a finite number or an empty cell", rows, found))
    long = long.assign(value=values)
    return long, problems + range_problems(long, library)


def range_problems(
    frame: pd.DataFrame, library: IndicatorLibrary, layer: str = _LAYER
) -> list[Problem]:
    """One problem per indicator with values outside its valid range, in library order.

    Parameters
    ----------
    frame
        Long frame with the columns ``unit``, ``year``, ``indicator`` (ids of ``library``) and
        ``value`` (float; NaN, a missing value, is not checked).
    library
        The indicators and their ranges (``min_value``, ``max_value``, inclusive, NaN: open).
    layer
        The name of the table in the problems.

    Returns
    -------
    list of Problem
        Column: the indicator; rows: the cells ``unit/year`` out of range; expected: the range
        with the indicator's unit; found: the values of those cells, in the same order.
    """
    bounds = library.bounds
    low = frame["indicator"].map(bounds["min_value"]).to_numpy(dtype=np.float64)
    high = frame["indicator"].map(bounds["max_value"]).to_numpy(dtype=np.float64)
    value = frame["value"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        outside = (value < low) | (value > high)  # NaN (missing, open) compares False
    if not outside.any():
        return []
    bad = frame.loc[outside]
    problems = []
    for indicator in (i for i in library.ids if i in set(bad["indicator"])):
        cells = bad[(bad["indicator"] == indicator).to_numpy()]
        rows = tuple(f"{u}/{y}" for u, y in zip(cells["unit"], cells["year"], strict=True))
        found = ", ".join(f"{v:g}" for v in cells["value"].iloc[:10])
        if len(cells) > 10:
            found += ", …"
        expected = f"a value {library.range_text(indicator)}"
        problems.append(Problem(layer, indicator, expected, rows, found))
    return problems


class _Cells(NamedTuple):
    """Grid positions of a long frame's rows: sorted units, sorted years, library-ordered ids."""

    units: list[str]
    years: list[int]
    indicators: list[str]
    row: NDArray[np.int64]
    column: NDArray[np.int64]

    @classmethod
    def of(cls, long: pd.DataFrame, library: IndicatorLibrary) -> _Cells:
        """The positions of ``long``'s rows (keys checked, years whole numbers)."""
        unit_codes, units = pd.factorize(long["unit"], sort=True)
        year_codes, years = pd.factorize(long["year"], sort=True)
        present = set(long["indicator"].unique())
        indicators = [i for i in library.ids if i in present]
        column = pd.Index(indicators).get_indexer(pd.Index(long["indicator"])).astype(np.int64)
        row = unit_codes.astype(np.int64) * len(years) + year_codes
        return cls(list(units), [int(y) for y in years], indicators, row, column)

    @property
    def flat(self) -> NDArray[np.int64]:
        """One integer per cell: equal for rows naming the same unit, year and indicator."""
        return self.row * len(self.indicators) + self.column


def _grid(long: pd.DataFrame, library: IndicatorLibrary) -> pd.DataFrame:
    """Values as a wide frame: index (unit, year) over every unit × year, one column per indicator."""
    cells = _Cells.of(long, library)
    values = np.full((len(cells.units) * len(cells.years), len(cells.indicators)), np.nan)
    values[cells.row, cells.column] = long["value"].to_numpy(dtype=np.float64)
    full = pd.MultiIndex.from_product([cells.units, cells.years], names=["unit", "year"])
    return pd.DataFrame(
        values, index=full, columns=pd.Index(cells.indicators, name="indicator", dtype=object)
    )


def _missing_cells(wide: pd.DataFrame) -> tuple[str, ...]:
    """``unit/year/indicator`` of every missing cell of a wide frame."""
    stacked = cast(pd.Series, wide.isna().stack())
    cells = stacked.index[stacked.to_numpy(dtype=bool)]
    return tuple(f"{u}/{y}/{i}" for u, y, i in cells.to_list())


def _impute(wide: pd.DataFrame, policy: ImputationPolicy) -> pd.DataFrame:
    """``wide`` with its missing cells filled by ``policy`` (cells it cannot fill stay NaN)."""
    if policy == "unit_mean":
        return wide.fillna(wide.groupby(level="unit").transform("mean"))
    if policy == "indicator_median":
        return wide.fillna(wide.groupby(level="year").transform("median"))
    if policy == "previous_year":
        return wide.groupby(level="unit").ffill()
    return wide


def _zero_variance(wide: pd.DataFrame) -> pd.DataFrame:
    """Indicator and year pairs whose value is the same for every unit (two units or more)."""
    columns = ["indicator", "year", "value"]
    if wide.index.get_level_values("unit").nunique() < 2:
        return pd.DataFrame(columns=columns)
    by_year = wide.groupby(level="year")
    constant = cast(pd.Series, (by_year.max() == by_year.min()).stack())
    first = cast(pd.Series, by_year.first().stack())
    hits = constant.index[constant.to_numpy(dtype=bool)]
    return pd.DataFrame(
        {
            "indicator": hits.get_level_values("indicator").astype(str),
            "year": hits.get_level_values("year").astype(np.int64),
            "value": first.reindex(hits).to_numpy(dtype=np.float64),
        },
        columns=columns,
    )


def validate_indicator_table(
    raw: pd.DataFrame,
    library: IndicatorLibrary,
    imputation: ImputationPolicy = "none",
    units: Collection[str] | None = None,
) -> IndicatorData:
    """Validate a units × years × indicators table (long or wide) and impute missing values.

    Parameters
    ----------
    raw
        The table in long or wide layout (see the module docstring); values as numbers or text.
    library
        The indicators the table may hold.
    imputation
        How missing cells are filled: ``none`` (refused), ``unit_mean``, ``indicator_median``
        or ``previous_year`` (see the module docstring).
    units
        The unit ids allowed (e.g. a city's district ids); ``None`` accepts any.

    Returns
    -------
    IndicatorData
        The tidy frame and the :class:`ImputationReport`.

    Raises
    ------
    ValidationError
        Listing every problem it can name at once: missing ``unit``/``year`` columns, empty
        unit or indicator ids, years that are not whole numbers, unknown indicators, unknown
        units, duplicate cells (``unit/year/indicator``), values that are not finite numbers,
        values outside their indicator's valid range (per indicator, the cells ``unit/year``,
        the range and the values found); then units whose values are all missing; then
        missing cells (policy ``none``) or cells the policy cannot fill.
    """
    return _validate(raw, library, imputation, units, _LAYER)


def _validate(
    raw: pd.DataFrame,
    library: IndicatorLibrary,
    imputation: ImputationPolicy,
    units: Collection[str] | None,
    what: str,
) -> IndicatorData:
    """:func:`validate_indicator_table`, its errors headed by ``what`` (the table or file)."""
    if imputation not in get_args(ImputationPolicy):
        policies = ", ".join(get_args(ImputationPolicy))
        problem = Problem(_LAYER, "imputation", f"one of {policies}", found=repr(imputation))
        raise ValidationError([problem], what=what)
    long, problems = _to_long(raw)
    if not problems:
        long, problems = _key_problems(long, library, units)
    if not problems and long.empty:
        problems = [Problem(_LAYER, "", "at least one unit, year and indicator", found="no rows")]
    if problems:
        raise ValidationError(problems, what=what)
    wide = _grid(long, library)
    _refuse_empty_units(wide, what)
    filled = _impute(wide, imputation)
    _refuse_missing(filled, imputation, what)
    return _result(wide, filled, imputation)


def _refuse_empty_units(wide: pd.DataFrame, what: str) -> None:
    """Raise naming every unit whose values are all missing."""
    empty = wide.isna().groupby(level="unit").all().all(axis=1)
    if empty.any():
        rows = tuple(str(u) for u in empty.index[empty])
        problem = Problem(_LAYER, "unit", "at least one value per unit", rows, "all values missing")
        raise ValidationError([problem], what=what)


def _refuse_missing(filled: pd.DataFrame, policy: ImputationPolicy, what: str) -> None:
    """Raise naming every cell still missing after imputation."""
    cells = _missing_cells(filled)
    if not cells:
        return
    expected = {
        "none": "a value in every unit × year × indicator cell (imputation 'none')",
        "unit_mean": "a value of the indicator for the unit in some other year (imputation 'unit_mean')",
        "indicator_median": "a value of the indicator for some unit in the same year (imputation 'indicator_median')",
        "previous_year": "a value of the indicator for the unit in an earlier year (imputation 'previous_year')",
    }[policy]
    raise ValidationError([Problem(_LAYER, "value", expected, cells, "missing")], what=what)


def _result(wide: pd.DataFrame, filled: pd.DataFrame, policy: ImputationPolicy) -> IndicatorData:
    """The tidy frame and report from the grid before and after imputation."""
    was_missing = cast(pd.Series, wide.isna().stack())
    frame = cast(pd.Series, filled.stack()).to_frame("value")
    frame["imputed"] = was_missing.reindex(frame.index).to_numpy(dtype=bool)
    frame = frame.reset_index()[list(_COLUMNS)]
    frame["year"] = frame["year"].astype(np.int64)
    frame["value"] = frame["value"].astype(np.float64)
    imputed = frame.loc[frame["imputed"], ["unit", "year", "indicator", "value"]]
    report = ImputationReport(policy, imputed.reset_index(drop=True), _zero_variance(filled))
    return IndicatorData(frame, report)


def read_indicator_table(
    path: str | PathLike[str],
    library: IndicatorLibrary,
    imputation: ImputationPolicy = "none",
    units: Collection[str] | None = None,
    sheet: str | int = 0,
) -> IndicatorData:
    """Read and validate a units × years × indicators table from a CSV or Excel file.

    Parameters
    ----------
    path
        ``.csv`` (UTF-8, ``#`` comment lines) or ``.xlsx``/``.xlsm`` (needs
        ``openpyxl``), in long or wide layout (see the module docstring).
    library, imputation, units
        As :func:`validate_indicator_table`.
    sheet
        The Excel sheet, by name or position.

    Returns
    -------
    IndicatorData
        As :func:`validate_indicator_table`.

    Raises
    ------
    DataFileError
        The file is missing, unreadable, or of another kind.
    MissingDependency
        An Excel file without ``openpyxl`` installed.
    ValidationError
        As :func:`validate_indicator_table`, headed ``indicator table PATH``.
    """
    source = Path(path)
    return _validate(_read(source, sheet), library, imputation, units, f"{_LAYER} {source}")


def _read(source: Path, sheet: str | int) -> pd.DataFrame:
    """The raw table of a CSV or Excel file, every cell as text or missing."""
    suffix = source.suffix.lower()
    if suffix not in {".csv", *_EXCEL}:
        raise DataFileError(f"{source}: an indicator table must be .csv, .xlsx or .xlsm")
    if not source.is_file():
        raise DataFileError(f"no such indicator table file: {source}")
    try:
        if suffix == ".csv":
            return pd.read_csv(source, dtype=str, comment="#", skipinitialspace=True)
        import_optional_dependency("openpyxl", "reading Excel indicator tables")
        return pd.read_excel(source, sheet_name=sheet, dtype=str)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataFileError(f"{source} is not a readable indicator table: {exc}") from exc
