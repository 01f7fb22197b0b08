"""Normalisation of a decision matrix (units × indicators), aware of each indicator's direction.

Every function takes a *decision matrix*: a :class:`pandas.DataFrame` whose index holds the unit
ids (districts, cities), whose columns hold the indicator ids and whose values are finite floats,
and a *direction* per indicator: ``"benefit"`` (more is better) or ``"cost"`` (less is better).
Every function returns a frame of the same shape, index and columns in which **larger is better
for every indicator** (cost indicators are turned around), so weights and aggregation never need
the directions again.

An indicator whose values are all equal (zero variance) carries no information to compare units
and would divide by zero: it is refused with a :class:`~resilientcity.errors.ValidationError`
naming it, never turned into ``NaN``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NoReturn

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity.assessment.indicators import Direction
from resilientcity.errors import Problem, ValidationError

__all__ = [
    "Direction",
    "NormalisationMethod",
    "check_matrix",
    "direction_signs",
    "minmax",
    "normalise",
    "target_based",
    "vector",
    "zscore",
]

NormalisationMethod = Literal["minmax", "vector", "zscore", "target"]
_WHAT = "decision matrix"


def _fail(problems: list[Problem]) -> NoReturn:
    raise ValidationError(problems, what=_WHAT)


def check_matrix(matrix: pd.DataFrame, min_units: int = 2) -> NDArray[np.float64]:
    """Check a decision matrix and return its values as a float array (units × indicators).

    Parameters
    ----------
    matrix
        Units × indicators; index: unit ids (unique), columns: indicator ids (unique).
    min_units
        The fewest units the method needs.

    Raises
    ------
    ValidationError
        Not a DataFrame, duplicate unit or indicator ids, fewer than ``min_units`` units, no
        indicators, non-numeric columns, or values that are not finite (naming indicator and
        units).
    """
    if not isinstance(matrix, pd.DataFrame):
        _fail([Problem("matrix", "", "a pandas DataFrame", found=type(matrix).__name__)])
    problems: list[Problem] = []
    if matrix.index.has_duplicates:
        dup = tuple(str(u) for u in matrix.index[matrix.index.duplicated()].unique())
        problems.append(Problem("matrix", "index", "unique unit ids", dup, "duplicates"))
    if matrix.columns.has_duplicates:
        dup = tuple(str(c) for c in matrix.columns[matrix.columns.duplicated()].unique())
        problems.append(Problem("matrix", "columns", "unique indicator ids", dup, "duplicates"))
    if len(matrix) < min_units:
        problems.append(
            Problem("matrix", "", f"at least {min_units} units", found=f"{len(matrix)} units")
        )
    if matrix.shape[1] == 0:
        problems.append(Problem("matrix", "", "at least one indicator", found="no columns"))
    for col in matrix.columns:
        series = matrix[col]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            problems.append(Problem("matrix", str(col), "numbers", found=f"dtype {series.dtype}"))
            continue
        bad = ~np.isfinite(series.to_numpy(dtype=np.float64))
        if bad.any():
            rows = tuple(str(u) for u in matrix.index[bad])
            problems.append(Problem("matrix", str(col), "a finite number", rows, "NaN or inf"))
    if problems:
        _fail(problems)
    return matrix.to_numpy(dtype=np.float64)


def direction_signs(columns: pd.Index, directions: Mapping[str, Direction]) -> NDArray[np.bool_]:
    """True for benefit indicators, False for cost ones, in the order of ``columns``.

    Raises
    ------
    ValidationError
        An indicator without a direction, or a direction other than ``benefit``/``cost``.
    """
    missing = tuple(str(c) for c in columns if c not in directions)
    bad = tuple(
        f"{c}={directions[c]!r}"
        for c in columns
        if c in directions and directions[c] not in ("benefit", "cost")
    )
    problems = []
    if missing:
        problems.append(Problem("directions", "", "a direction for every indicator", missing))
    if bad:
        problems.append(Problem("directions", "", "'benefit' or 'cost'", bad))
    if problems:
        _fail(problems)
    return np.array([directions[c] == "benefit" for c in columns], dtype=bool)


def _check_variance(matrix: pd.DataFrame, values: NDArray[np.float64]) -> None:
    """Refuse indicators whose values are all equal."""
    flat = np.ptp(values, axis=0) == 0
    if flat.any():
        names = tuple(str(c) for c in matrix.columns[flat])
        _fail(
            [
                Problem(
                    "matrix",
                    names[0] if len(names) == 1 else "",
                    "an indicator whose values differ between units (zero variance carries no"
                    " information and cannot be normalised)",
                    names,
                    "all values equal",
                )
            ]
        )


def _prepare(
    matrix: pd.DataFrame, directions: Mapping[str, Direction]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    values = check_matrix(matrix)
    benefit = direction_signs(matrix.columns, directions)
    _check_variance(matrix, values)
    return values, benefit


def _frame(matrix: pd.DataFrame, values: NDArray[np.float64]) -> pd.DataFrame:
    return pd.DataFrame(values, index=matrix.index.copy(), columns=matrix.columns.copy())


def minmax(matrix: pd.DataFrame, directions: Mapping[str, Direction]) -> pd.DataFrame:
    """Min-max (linear scale) normalisation to [0, 1].

    ``r = (x − min) / (max − min)`` for benefit indicators and ``r = (max − x) / (max − min)``
    for cost ones (Hwang & Yoon, 1981, *Multiple Attribute Decision Making*, Springer, §2.2.3):
    the best unit of each indicator scores 1, the worst 0.

    Parameters
    ----------
    matrix
        Units × indicators, finite floats (see :func:`check_matrix`).
    directions
        ``benefit`` or ``cost`` for every indicator.

    Returns
    -------
    pandas.DataFrame
        Same index and columns, values in [0, 1], larger is better.

    Raises
    ------
    ValidationError
        Bad matrix or directions; an indicator with zero variance (named).
    """
    values, benefit = _prepare(matrix, directions)
    lo, hi = values.min(axis=0), values.max(axis=0)
    scaled = (values - lo) / (hi - lo)
    return _frame(matrix, np.where(benefit, scaled, 1.0 - scaled))


def vector(matrix: pd.DataFrame, directions: Mapping[str, Direction]) -> pd.DataFrame:
    """Vector (Euclidean) normalisation, the normalisation of TOPSIS.

    ``r = x / sqrt(Σ x²)`` (Hwang & Yoon, 1981, §2.2.3). For cost indicators ``1 − r`` is
    returned so that larger is better; the reflection keeps every distance between units, so
    TOPSIS closeness is the same as choosing the minimum as ideal on ``r``.

    Returns
    -------
    pandas.DataFrame
        Same index and columns; values in [−1, 1] (in [0, 1] for non-negative data).

    Raises
    ------
    ValidationError
        As :func:`minmax`.
    """
    values, benefit = _prepare(matrix, directions)
    scaled = values / np.sqrt((values**2).sum(axis=0))
    return _frame(matrix, np.where(benefit, scaled, 1.0 - scaled))


def zscore(matrix: pd.DataFrame, directions: Mapping[str, Direction]) -> pd.DataFrame:
    """Z-score standardisation: ``(x − mean) / std`` (population std, ``ddof=0``), negated for cost.

    Returns
    -------
    pandas.DataFrame
        Same index and columns; each column has mean 0 and standard deviation 1.

    Raises
    ------
    ValidationError
        As :func:`minmax`.
    """
    values, benefit = _prepare(matrix, directions)
    scaled = (values - values.mean(axis=0)) / values.std(axis=0)
    return _frame(matrix, np.where(benefit, scaled, -scaled))


def target_based(
    matrix: pd.DataFrame, directions: Mapping[str, Direction], targets: Mapping[str, float]
) -> pd.DataFrame:
    """Target-based normalisation: 1 at or beyond the target, falling linearly with the shortfall.

    After Jahan, Bahraminasab & Edwards (2012), "A target-based normalization technique for
    materials selection", *Materials & Design* 35: 647–654, whose score is
    ``1 − |x − T| / (max(x_max, T) − min(x_min, T))``. Here the deviation is one-sided by
    direction: for a benefit indicator only a shortfall below the target counts
    (``max(T − x, 0)``), for a cost indicator only an excess above it (``max(x − T, 0)``), so a
    unit that meets a standard (e.g. a GB/T 40947 threshold) scores 1.

    Parameters
    ----------
    matrix, directions
        As :func:`minmax`.
    targets
        Target value for every indicator, in the indicator's unit.

    Returns
    -------
    pandas.DataFrame
        Same index and columns, values in [0, 1], 1 where the target is met.

    Raises
    ------
    ValidationError
        As :func:`minmax`; an indicator without a finite target (named).
    """
    values, benefit = _prepare(matrix, directions)
    missing = tuple(
        str(c)
        for c in matrix.columns
        if c not in targets or not np.isfinite(np.float64(targets[c]))
    )
    if missing:
        _fail([Problem("targets", "", "a finite target for every indicator", missing)])
    target = np.array([float(targets[c]) for c in matrix.columns])
    span = np.maximum(values.max(axis=0), target) - np.minimum(values.min(axis=0), target)
    gap = np.where(benefit, np.maximum(target - values, 0.0), np.maximum(values - target, 0.0))
    return _frame(matrix, 1.0 - gap / span)


def normalise(
    matrix: pd.DataFrame,
    directions: Mapping[str, Direction],
    method: NormalisationMethod = "minmax",
    targets: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Normalise a decision matrix with the named method (see the functions of this module).

    Parameters
    ----------
    matrix
        Units × indicators, finite floats.
    directions
        ``benefit`` or ``cost`` for every indicator.
    method
        ``minmax``, ``vector``, ``zscore`` or ``target`` (needs ``targets``).
    targets
        Target per indicator, for ``method="target"``.

    Returns
    -------
    pandas.DataFrame
        Same index and columns, larger is better for every indicator.
    """
    if method == "minmax":
        return minmax(matrix, directions)
    if method == "vector":
        return vector(matrix, directions)
    if method == "zscore":
        return zscore(matrix, directions)
    if method == "target":
        if targets is None:
            _fail([Problem("targets", "", "targets for method 'target'", found="None")])
        return target_based(matrix, directions, targets)
    _fail([Problem("method", "", "minmax, vector, zscore or target", found=repr(method))])
