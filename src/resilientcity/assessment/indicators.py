"""The indicator library of the resilience assessment (智慧韧性城市评估指标体系).

The seed paper (徐雪松 et al., 2022, section 四(四) and figure 6) builds the evaluation of a smart
resilient city on four dimensions, each with sub-dimensions:

* ``organisation`` 组织管理 — planning, collaborative governance, leadership and management;
* ``economy_society`` 经济社会 — supplies, flexible supply, industry and finance, public
  services, social stability;
* ``infrastructure`` 基础设施 — engineered facilities, transport, communications, water and
  power, ecological barrier, environmental restoration;
* ``institutions_culture`` 制度文化 — education, social support, operating mechanisms.

The default library (``data/assessment/indicators.json``) holds about fifty indicators under
them, with their counterpart in ISO 37123:2019 where a verified clause exists; the file records
its sources and which choices are assumptions. Indicators marked ``source = "twin"`` are computed
from the digital twin and the scenario results rather than typed in.

Every indicator carries its valid range, ``min_value`` and ``max_value`` (inclusive; either may
be open), derived from its unit and meaning: a percentage lies in [0, 100], an index or ratio in
[0, 1], counts, durations and per-capita figures are >= 0. Values outside the range are refused
by :func:`~resilientcity.assessment.data.validate_indicator_table`, the cell named.

Users extend or replace the library with a CSV, YAML or JSON file of indicator records
(:meth:`IndicatorLibrary.from_file`), validated with every problem named by row and field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from resilientcity._files import read_data_file
from resilientcity.errors import DataFileError, Problem, ValidationError

__all__ = [
    "BOUNDS",
    "DIMENSIONS",
    "FIELDS",
    "Dimension",
    "DimensionId",
    "Direction",
    "IndicatorLibrary",
    "IndicatorSource",
    "dimensions",
    "range_text",
]

Direction = Literal["benefit", "cost"]
DimensionId = Literal["organisation", "economy_society", "infrastructure", "institutions_culture"]
#: The seed's four dimensions' ids, in its order (names and sub-dimensions: :func:`dimensions`).
DIMENSIONS: tuple[str, ...] = get_args(DimensionId)
IndicatorSource = Literal["twin", "input"]

#: Every field of an indicator record, in the order of :attr:`IndicatorLibrary.table`.
FIELDS: tuple[str, ...] = (
    "id",
    "name_zh",
    "name_en",
    "dimension",
    "sub_dimension",
    "unit",
    "min_value",
    "max_value",
    "direction",
    "definition",
    "iso37123",
    "gbt40947",
    "source",
)
#: Fields that must be present and non-empty in every record.
_REQUIRED: tuple[str, ...] = (
    "id",
    "name_zh",
    "name_en",
    "dimension",
    "sub_dimension",
    "unit",
    "direction",
)
#: The fields of the valid range (numbers; empty or absent: an open bound).
BOUNDS: tuple[str, str] = ("min_value", "max_value")
_DEFAULT_FILE = "data/assessment/indicators.json"
_LAYER = "indicators"
_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]+$")


@dataclass(frozen=True)
class Dimension:
    """One of the seed's four dimensions of the evaluation.

    Attributes
    ----------
    id
        One of :data:`DIMENSIONS`.
    name_zh, name_en
        The name in Chinese (as in the seed) and in English.
    sub_dimensions
        Sub-dimension id → ``(name_zh, name_en)``, in the seed's order.
    """

    id: str
    name_zh: str
    name_en: str
    sub_dimensions: Mapping[str, tuple[str, str]]


def _default_document() -> dict[str, Any]:
    """The parsed default library file."""
    path = resources.files("resilientcity").joinpath(_DEFAULT_FILE)
    with resources.as_file(path) as file:
        document = read_data_file(file, "indicator library")
    if not isinstance(document, dict):
        raise DataFileError(f"{_DEFAULT_FILE} is not an indicator library document")
    return document


def _dimensions(document: Mapping[str, Any]) -> tuple[Dimension, ...]:
    """The dimensions of the default library document."""
    return tuple(
        Dimension(
            id=d["id"],
            name_zh=d["name_zh"],
            name_en=d["name_en"],
            sub_dimensions={s["id"]: (s["name_zh"], s["name_en"]) for s in d["sub_dimensions"]},
        )
        for d in document["dimensions"]
    )


@cache
def dimensions() -> tuple[Dimension, ...]:
    """The seed's four dimensions with their names and sub-dimensions, in :data:`DIMENSIONS` order."""
    return _dimensions(_default_document())


def _text(value: Any) -> str:
    """A field value as stripped text (``None`` and NaN become ``""``)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _row_name(record: Mapping[str, str], position: int) -> str:
    """How a problem names a record: its id, or its 1-based position when it has none."""
    return record.get("id") or str(position + 1)


def _problems(records: Sequence[Mapping[str, str]]) -> list[Problem]:
    """Every broken rule of the indicator records (fields already text)."""
    problems: list[Problem] = []
    names = [_row_name(r, i) for i, r in enumerate(records)]

    def rows_where(test: Any) -> tuple[str, ...]:
        return tuple(n for n, r in zip(names, records, strict=True) if test(r))

    unknown = sorted({k for r in records for k in r} - set(FIELDS))
    if unknown:
        problems.append(
            Problem(_LAYER, ", ".join(unknown), f"only the fields {', '.join(FIELDS)}", (), "")
        )
    for field in _REQUIRED:
        empty = rows_where(lambda r, f=field: not r.get(f))
        if empty:
            problems.append(Problem(_LAYER, field, "a non-empty value", empty))
    bad_ids = rows_where(lambda r: r.get("id") and not _ID_PATTERN.match(r["id"]))
    if bad_ids:
        problems.append(
            Problem(_LAYER, "id", "letters, digits, '_', '.' or '-' only (no spaces)", bad_ids)
        )
    ids = pd.Series([r.get("id", "") for r in records], dtype=object)
    duplicated = tuple(sorted(set(ids[ids.duplicated() & (ids != "")])))
    if duplicated:
        problems.append(Problem(_LAYER, "id", "unique ids", duplicated, "duplicates"))
    problems += _choice(records, names, "dimension", DIMENSIONS)
    problems += _choice(records, names, "direction", list(get_args(Direction)))
    problems += _choice(records, names, "source", list(get_args(IndicatorSource)))
    problems += _bound_problems(records, names)
    return problems


def _bound(text: str) -> float | None:
    """A bound's value: NaN when open (empty), ``None`` when not a finite number."""
    if not text:
        return math.nan
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _bound_problems(records: Sequence[Mapping[str, str]], names: Sequence[str]) -> list[Problem]:
    """Bounds that are not finite numbers, and ranges whose minimum is not below the maximum."""
    problems: list[Problem] = []
    for field in BOUNDS:
        bad = [(n, r[field]) for n, r in zip(names, records, strict=True) if r.get(field)]
        bad = [(n, v) for n, v in bad if _bound(v) is None]
        if bad:
            expected = "a finite number, or empty for an open bound"
            found = ", ".join(dict.fromkeys(v for _, v in bad))
            problems.append(Problem(_LAYER, field, expected, tuple(n for n, _ in bad), found))
    inverted = []
    for name, record in zip(names, records, strict=True):
        low, high = (_bound(record.get(f, "")) for f in BOUNDS)
        if low is not None and high is not None and low >= high:
            inverted.append((name, f"{low:g} >= {high:g}"))
    if inverted:
        problems.append(
            Problem(
                _LAYER,
                "min_value, max_value",
                "min_value < max_value",
                tuple(n for n, _ in inverted),
                ", ".join(f for _, f in inverted),
            )
        )
    return problems


def range_text(min_value: float, max_value: float, unit: str = "") -> str:
    """The valid range in words, for messages: ``from 0 to 100 %``, ``>= 0 count``, ``any number``.

    Parameters
    ----------
    min_value, max_value
        The inclusive bounds; NaN for an open bound.
    unit
        The indicator's unit, appended when given.
    """
    low, high = not math.isnan(min_value), not math.isnan(max_value)
    if low and high:
        text = f"from {min_value:g} to {max_value:g}"
    elif low:
        text = f">= {min_value:g}"
    elif high:
        text = f"<= {max_value:g}"
    else:
        return "any number"
    return f"{text} {unit}" if unit else text


def _choice(
    records: Sequence[Mapping[str, str]], names: Sequence[str], field: str, allowed: Sequence[str]
) -> list[Problem]:
    """A problem for the records whose non-empty ``field`` is not one of ``allowed``."""
    bad = [(n, r[field]) for n, r in zip(names, records, strict=True) if r.get(field)]
    bad = [(n, v) for n, v in bad if v not in allowed]
    if not bad:
        return []
    found = ", ".join(sorted({v for _, v in bad}))
    return [Problem(_LAYER, field, f"one of {', '.join(allowed)}", tuple(n for n, _ in bad), found)]


def _table(records: Sequence[Mapping[str, Any]], what: str) -> pd.DataFrame:
    """Validated records as the library table (index ``id``, the other :data:`FIELDS`)."""
    texts = [{str(k).strip(): _text(v) for k, v in r.items()} for r in records]
    if not texts:
        raise ValidationError([Problem(_LAYER, "", "at least one indicator")], what=what)
    problems = _problems(texts)
    if problems:
        raise ValidationError(problems, what=what)
    table = pd.DataFrame([{f: r.get(f, "") for f in FIELDS} for r in texts], columns=list(FIELDS))
    table["source"] = table["source"].replace("", "input")
    for field in BOUNDS:
        table[field] = [_bound(v) for v in table[field]]
        table[field] = table[field].astype(np.float64)
    return table.set_index("id")


def _records_from_file(path: Path) -> list[Mapping[str, Any]]:
    """Indicator records of a CSV, YAML or JSON file."""
    if path.suffix.lower() == ".csv":
        if not path.is_file():
            raise DataFileError(f"no such indicator library file: {path}")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DataFileError(f"{path} is not a readable CSV file: {exc}") from exc
        return [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]
    document = read_data_file(path, "indicator library", as_yaml=True)
    if isinstance(document, dict):
        document = document.get("indicators")
    if not isinstance(document, list) or not all(isinstance(r, dict) for r in document):
        raise DataFileError(
            f"{path}: expected a list of indicator records, or a mapping whose 'indicators' "
            "key holds that list"
        )
    return document


@dataclass(frozen=True)
class IndicatorLibrary:
    """A validated set of indicators.

    Attributes
    ----------
    table
        One row per indicator, index ``id`` (str, unique) and the columns ``name_zh``,
        ``name_en``, ``dimension`` (one of :data:`DIMENSIONS`), ``sub_dimension``, ``unit``,
        ``min_value`` and ``max_value`` (float, the inclusive valid range in ``unit``, NaN
        where open), ``direction`` (``benefit``: higher is more resilient; ``cost``: lower
        is), ``definition``, ``iso37123`` and ``gbt40947`` (the counterpart clause, ``""`` when
        none) and ``source`` (``twin``: computed from the twin and scenarios; ``input``:
        typed in). All text but the bounds.
    """

    table: pd.DataFrame

    @classmethod
    def default(cls) -> IndicatorLibrary:
        """The built-in library (``data/assessment/indicators.json``, sources in the file)."""
        return cls.from_records(_default_document()["indicators"], what="default indicator library")

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], what: str = "indicator library"
    ) -> IndicatorLibrary:
        """A library from indicator records (mappings of :data:`FIELDS`).

        ``id``, ``name_zh``, ``name_en``, ``dimension``, ``sub_dimension``, ``unit`` and
        ``direction`` are required; ``definition``, ``iso37123``, ``gbt40947`` are optional;
        ``source`` defaults to ``input``; ``min_value`` and ``max_value`` give the valid range
        (inclusive, in ``unit``; empty, absent or null: open on that side).

        Raises
        ------
        ValidationError
            Listing every problem: unknown fields, empty required fields, duplicate or
            malformed ids, unknown dimensions, a direction other than ``benefit``/``cost``, a
            source other than ``twin``/``input``, a bound that is not a finite number, a
            ``min_value`` not below the ``max_value`` — each naming the rows (ids, or ``row N``).
        """
        return cls(_table(list(records), what))

    @classmethod
    def from_file(
        cls,
        path: str | PathLike[str],
        mode: Literal["extend", "replace"] = "extend",
    ) -> IndicatorLibrary:
        """A library from a CSV, YAML or JSON file of indicator records.

        Parameters
        ----------
        path
            ``.csv`` with one column per field (lines starting with ``#`` are comments), or
            ``.yaml``/``.yml``/``.json`` holding a list of records or a mapping with the key
            ``indicators`` holding it.
        mode
            ``extend``: the default library plus the file's indicators, a file record
            replacing the default one with the same id; ``replace``: the file's indicators only.

        Raises
        ------
        DataFileError
            The file is missing, unreadable or not a list of records.
        ValidationError
            As :meth:`from_records`, for the file's records.
        """
        source = Path(path)
        if mode not in ("extend", "replace"):
            raise ValueError(f"mode must be 'extend' or 'replace', not {mode!r}")
        added = cls.from_records(_records_from_file(source), what=f"indicator library {source}")
        return cls.default().extend(added) if mode == "extend" else added

    def extend(self, other: IndicatorLibrary) -> IndicatorLibrary:
        """The library plus ``other``'s indicators; ``other`` wins where the ids are the same."""
        kept = self.table.loc[~self.table.index.isin(other.table.index)]
        return IndicatorLibrary(pd.concat([kept, other.table]))

    def subset(self, ids: Iterable[str]) -> IndicatorLibrary:
        """The library restricted to ``ids`` (in their order); unknown ids raise."""
        wanted = list(ids)
        unknown = tuple(i for i in wanted if i not in self.table.index)
        if unknown:
            raise ValidationError(
                [Problem(_LAYER, "id", "an indicator of the library", unknown)],
                what="indicator selection",
            )
        return IndicatorLibrary(self.table.loc[wanted])

    @property
    def ids(self) -> tuple[str, ...]:
        """Indicator ids in library order."""
        return tuple(self.table.index)

    @property
    def bounds(self) -> pd.DataFrame:
        """``min_value`` and ``max_value`` per indicator id (float, NaN where open)."""
        return self.table[list(BOUNDS)]

    def range_text(self, indicator_id: str) -> str:
        """The valid range of ``indicator_id`` in words, with its unit (see :func:`range_text`)."""
        low, high = self.bounds.loc[indicator_id].to_numpy(dtype=np.float64)
        return range_text(float(low), float(high), str(self.table.at[indicator_id, "unit"]))

    @property
    def directions(self) -> pd.Series:
        """``benefit`` or ``cost`` per indicator id."""
        return self.table["direction"]

    @property
    def dimension_of(self) -> pd.Series:
        """The dimension id per indicator id."""
        return self.table["dimension"]

    @property
    def twin_ids(self) -> tuple[str, ...]:
        """Ids of the indicators computed from the twin and scenario results."""
        return tuple(self.table.index[self.table["source"] == "twin"])

    def __len__(self) -> int:
        return len(self.table)

    def __contains__(self, indicator_id: object) -> bool:
        return indicator_id in self.table.index
