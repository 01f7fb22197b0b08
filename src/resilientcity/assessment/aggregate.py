"""Aggregation of a normalised decision matrix into scores, rankings and dimension scores.

Inputs follow :mod:`resilientcity.assessment.normalise`: a units × indicators frame in which
larger is better for every indicator, and weights per indicator (a Series or mapping over the
same indicator ids, normalised to sum 1 here). TOPSIS and VIKOR take the *raw* matrix and the
directions, as their published definitions do.

Why not call pymcdm here: the sensitivity analysis scores thousands of weight vectors at once
as matrix products (:func:`topsis_closeness`), which pymcdm's one-weight-vector-per-call API
does not offer; pymcdm is the reference the tests compare TOPSIS and VIKOR with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity.assessment.normalise import (
    Direction,
    NormalisationMethod,
    check_matrix,
    normalise,
)
from resilientcity.errors import Problem, ValidationError

__all__ = [
    "dimension_scores",
    "rank",
    "topsis",
    "topsis_closeness",
    "vikor",
    "weight_vector",
    "weighted_geometric",
    "weighted_sum",
]


def _fail(problems: list[Problem], what: str = "aggregation input") -> NoReturn:
    raise ValidationError(problems, what=what)


def weight_vector(
    weights: Mapping[str, float] | pd.Series, columns: pd.Index
) -> NDArray[np.float64]:
    """Weights aligned on ``columns``, checked and normalised to sum 1.

    Raises
    ------
    ValidationError
        An indicator without a weight, a weight for an unknown indicator, a weight that is not
        finite or is negative, or weights summing to 0 (each naming the indicators).
    """
    w = pd.Series(weights, dtype=np.float64)
    problems = []
    missing = tuple(str(c) for c in columns if c not in w.index)
    extra = tuple(str(i) for i in w.index if i not in columns)
    if missing:
        problems.append(Problem("weights", "", "a weight for every indicator", missing))
    if extra:
        problems.append(Problem("weights", "", "weights only for indicators of the matrix", extra))
    if problems:
        _fail(problems)
    values = w.reindex(columns).to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any() or values.sum() <= 0:
        rows = tuple(str(c) for c in columns[bad])
        _fail([Problem("weights", "", "finite weights >= 0 with a positive sum", rows)])
    return values / values.sum()


def weighted_sum(normalised: pd.DataFrame, weights: Mapping[str, float] | pd.Series) -> pd.Series:
    """Simple additive weighting: ``score_i = Σ_j w_j r_ij``.

    Parameters
    ----------
    normalised
        Units × indicators, larger is better.
    weights
        Weight per indicator.

    Returns
    -------
    pandas.Series
        Score per unit (index: unit ids), named ``score``; in [0, 1] for min-max data.
    """
    values = check_matrix(normalised, min_units=1)
    w = weight_vector(weights, normalised.columns)
    return pd.Series(values @ w, index=normalised.index.copy(), name="score")


def weighted_geometric(
    normalised: pd.DataFrame, weights: Mapping[str, float] | pd.Series
) -> pd.Series:
    """Weighted geometric mean: ``score_i = Π_j r_ij ^ w_j`` (less compensatory than the sum).

    A zero on an indicator with positive weight gives the unit a score of 0 (no compensation);
    min-max normalised data has a 0 for the worst unit of every indicator, so the target-based
    or vector normalisation usually suits this aggregation better.

    Returns
    -------
    pandas.Series
        Score per unit, named ``score``.

    Raises
    ------
    ValidationError
        Negative values (named units), bad weights.
    """
    values = check_matrix(normalised, min_units=1)
    neg = np.asarray((values < 0).any(axis=1), dtype=bool)
    if neg.any():
        rows = tuple(str(u) for u in normalised.index[neg])
        _fail([Problem("matrix", "", "values >= 0 for the geometric mean", rows)])
    w = weight_vector(weights, normalised.columns)
    with np.errstate(divide="ignore"):
        logs = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), -np.inf)
    masked = np.where(w[None, :] > 0, logs * w[None, :], 0.0)
    return pd.Series(np.exp(masked.sum(axis=1)), index=normalised.index.copy(), name="score")


def topsis_closeness(
    normalised: NDArray[np.float64], weights: NDArray[np.float64]
) -> NDArray[np.float64]:
    """TOPSIS relative closeness for one or many weight vectors (vectorised core).

    With ``v_ij = w_j r_ij`` and ``w_j ≥ 0`` the ideal is ``w_j max_i r_ij``, so
    ``D+_i² = Σ_j w_j² (r_ij − max_j)²`` is one matrix product for all weight vectors.

    Parameters
    ----------
    normalised
        m units × n indicators, larger is better.
    weights
        n weights, or S × n weight samples (rows summing to 1).

    Returns
    -------
    numpy.ndarray
        m closeness values, or S × m; ``D− / (D+ + D−)`` in [0, 1]. A unit at both the ideal
        and the anti-ideal (only when every weighted indicator is constant) gets 0.5.
    """
    w2 = np.atleast_2d(weights) ** 2
    to_best = (normalised - normalised.max(axis=0)) ** 2
    to_worst = (normalised - normalised.min(axis=0)) ** 2
    d_plus = np.sqrt(w2 @ to_best.T)
    d_minus = np.sqrt(w2 @ to_worst.T)
    total = d_plus + d_minus
    safe = np.where(total > 0, total, 1.0)
    out = np.where(total > 0, d_minus / safe, 0.5)
    return out if np.ndim(weights) == 2 else out[0]


def topsis(
    matrix: pd.DataFrame,
    weights: Mapping[str, float] | pd.Series,
    directions: Mapping[str, Direction],
    normalisation: NormalisationMethod = "vector",
) -> pd.DataFrame:
    """TOPSIS: closeness to the ideal and distance from the anti-ideal unit.

    Hwang & Yoon (1981), *Multiple Attribute Decision Making*, Springer, pp. 128–140: vector
    normalisation ``r_ij = x_ij / sqrt(Σ_i x_ij²)``, weighted ``v_ij = w_j r_ij``, ideal ``A+``
    (best per indicator) and anti-ideal ``A−``, Euclidean distances ``D+``, ``D−`` and the
    relative closeness ``C_i = D−_i / (D+_i + D−_i)``.

    Parameters
    ----------
    matrix
        Raw units × indicators.
    weights
        Weight per indicator.
    directions
        ``benefit`` or ``cost`` per indicator.
    normalisation
        ``vector`` (the original) or ``minmax`` (pymcdm's default) and the others of
        :func:`~resilientcity.assessment.normalise.normalise` (``target`` is not offered here).

    Returns
    -------
    pandas.DataFrame
        Index: unit ids; columns ``d_plus``, ``d_minus``, ``closeness`` (in [0, 1], larger is
        better) and ``rank`` (see :func:`rank`).

    Raises
    ------
    ValidationError
        Bad matrix, directions or weights; an indicator with zero variance.
    """
    r = normalise(matrix, directions, normalisation).to_numpy()
    w = weight_vector(weights, matrix.columns)
    v = r * w
    d_plus = np.sqrt(((v - v.max(axis=0)) ** 2).sum(axis=1))
    d_minus = np.sqrt(((v - v.min(axis=0)) ** 2).sum(axis=1))
    closeness = topsis_closeness(r, w)
    out = pd.DataFrame(
        {"d_plus": d_plus, "d_minus": d_minus, "closeness": closeness},
        index=matrix.index.copy(),
    )
    out["rank"] = rank(out["closeness"])
    return out


def _spread(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(x − min) / (max − min)``, 0 everywhere when all equal."""
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def vikor(
    matrix: pd.DataFrame,
    weights: Mapping[str, float] | pd.Series,
    directions: Mapping[str, Direction],
    v: float = 0.5,
) -> pd.DataFrame:
    """VIKOR compromise ranking: group utility S, individual regret R and their mix Q.

    Opricovic & Tzeng (2004), "Compromise solution by MCDM methods: A comparative analysis of
    VIKOR and TOPSIS", *European Journal of Operational Research* 156(2): 445–455:
    ``S_i = Σ_j w_j (f*_j − f_ij) / (f*_j − f−_j)``, ``R_i = max_j`` of the same terms,
    ``Q_i = v (S_i − S*) / (S− − S*) + (1 − v) (R_i − R*) / (R− − R*)`` with ``v = 0.5``
    (consensus). f* is the best value (max for benefit, min for cost), f− the worst.
    Smaller Q is better. When all S (or all R) are equal that term is 0 (pymcdm divides by
    zero there).

    Returns
    -------
    pandas.DataFrame
        Index: unit ids; columns ``S``, ``R``, ``Q`` (in [0, 1]) and ``rank`` (1 = smallest Q).

    Raises
    ------
    ValidationError
        Bad matrix, directions or weights; an indicator with zero variance; ``v`` outside [0, 1].
    """
    if not 0.0 <= v <= 1.0:
        _fail([Problem("vikor", "v", "0 <= v <= 1", found=f"{v}")])
    gap = normalise(matrix, directions, "minmax").to_numpy()
    w = weight_vector(weights, matrix.columns)
    terms = w * (1.0 - gap)  # (f* − f) / (f* − f−) is 1 − min-max normalised value
    s, r = terms.sum(axis=1), terms.max(axis=1)
    q = v * _spread(s) + (1.0 - v) * _spread(r)
    out = pd.DataFrame({"S": s, "R": r, "Q": q}, index=matrix.index.copy())
    out["rank"] = rank(out["Q"], ascending=True)
    return out


def rank(scores: pd.Series, ascending: bool = False) -> pd.Series:
    """Rank units by score; 1 is the best.

    Ties share the best (smallest) rank of their group and the next rank is skipped
    ("competition ranking", 1-2-2-4), so equal scores are never ordered arbitrarily. Scores
    equal to within 1e-12 (relative) count as ties, so round-off does not split them.

    Parameters
    ----------
    scores
        Score per unit, finite.
    ascending
        False (default): larger is better (weighted sum, TOPSIS); True: smaller is better
        (VIKOR's Q).

    Returns
    -------
    pandas.Series
        Integer rank per unit, named ``rank``.
    """
    values = scores.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        rows = tuple(str(u) for u in scores.index[~np.isfinite(values)])
        _fail([Problem("scores", "", "finite scores", rows)])
    key = values if ascending else -values
    scale = max(float(np.abs(values).max(initial=0.0)), 1.0)
    rounded = np.round(key / (scale * 1e-12)) if values.size else key
    ranks = pd.Series(rounded).rank(method="min").to_numpy(dtype=np.int64)
    return pd.Series(ranks, index=scores.index.copy(), name="rank")


def dimension_scores(
    normalised: pd.DataFrame,
    weights: Mapping[str, float] | pd.Series,
    dimensions: Mapping[str, str],
) -> pd.DataFrame:
    """Weighted-sum score of each unit on each dimension.

    Within a dimension the indicators' weights are renormalised to sum 1, so a dimension score
    is on the scale of the normalised data (in [0, 1] for min-max). The overall weighted sum
    equals ``Σ_d W_d · score_d`` with ``W_d`` the dimension's total weight.

    Parameters
    ----------
    normalised
        Units × indicators, larger is better.
    weights
        Weight per indicator.
    dimensions
        Dimension id per indicator (e.g. ``organisation``, ``economy_society``,
        ``infrastructure``, ``institutions_culture``).

    Returns
    -------
    pandas.DataFrame
        Index: unit ids; one column per dimension (order of first appearance).

    Raises
    ------
    ValidationError
        An indicator without a dimension; a dimension whose weights are all zero (named).
    """
    values = check_matrix(normalised, min_units=1)
    w = weight_vector(weights, normalised.columns)
    missing = tuple(str(c) for c in normalised.columns if c not in dimensions)
    if missing:
        _fail([Problem("dimensions", "", "a dimension for every indicator", missing)])
    dims = pd.Index([dimensions[c] for c in normalised.columns])
    out = {}
    for dim in dims.unique():
        mask = np.asarray(dims == dim)
        total = w[mask].sum()
        if total <= 0:
            _fail([Problem("weights", "", "a positive weight in every dimension", (str(dim),))])
        out[dim] = values[:, mask] @ (w[mask] / total)
    return pd.DataFrame(out, index=normalised.index.copy())
