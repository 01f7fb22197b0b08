"""Indicator weights: AHP (with its consistency ratio), entropy, CRITIC, equal and combined.

Every function returns a :class:`pandas.Series` indexed by indicator id, non-negative, summing
to 1. The objective methods (entropy, CRITIC) take a *normalised* matrix (units × indicators,
larger is better, see :mod:`resilientcity.assessment.normalise`); pymcdm's
``entropy_weights``/``critic_weights`` give the same numbers and the tests check it.

Why not call pymcdm here: the methods are a few lines of NumPy each, pymcdm 1.4's entropy sets
a column's entropy to 0 when it holds a zero (instead of 0 ln 0 = 0), and the sensitivity
analysis needs the same code on many weight vectors at once; pymcdm stays the reference the
tests compare with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NoReturn

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from resilientcity.assessment.normalise import check_matrix
from resilientcity.errors import Problem, ValidationError

__all__ = [
    "RANDOM_INDEX",
    "AHPResult",
    "ahp_weights",
    "combine_weights",
    "critic_weights",
    "entropy_weights",
    "equal_weights",
]

#: Saaty's random consistency index RI by matrix order n: the mean CI of random reciprocal
#: matrices with entries from the 1–9 scale. Source: Saaty, T. L. (1980), *The Analytic
#: Hierarchy Process*, McGraw-Hill, New York, p. 21 (n = 1…15).
RANDOM_INDEX: dict[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
    11: 1.51,
    12: 1.48,
    13: 1.56,
    14: 1.57,
    15: 1.59,
}

#: Saaty's acceptance threshold of the consistency ratio (Saaty 1980, p. 21: CR ≤ 0.10).
MAX_CR = 0.1

#: Tolerance of the reciprocal check: |a_ij · a_ji − 1| ≤ this, so that judgements typed as
#: rounded decimals (1/3 as 0.333) pass. An assumption of this package (3 significant digits).
_RECIPROCAL_TOL = 5e-3


def _fail(problems: Sequence[Problem], what: str) -> NoReturn:
    raise ValidationError(problems, what=what)


@dataclass(frozen=True)
class AHPResult:
    """The priorities of one AHP pairwise comparison matrix and its consistency.

    Attributes
    ----------
    weights
        Principal right eigenvector normalised to sum 1, indexed by the criteria labels.
    lambda_max
        Principal eigenvalue λmax (≥ n for a positive reciprocal matrix).
    ci
        Consistency index ``(λmax − n) / (n − 1)`` (0 for n ≤ 2).
    ri
        Saaty's random index for n (:data:`RANDOM_INDEX`).
    cr
        Consistency ratio ``CI / RI`` (0 for n ≤ 2, where every matrix is consistent).
    """

    weights: pd.Series
    lambda_max: float
    ci: float
    ri: float
    cr: float


def _pairwise(
    matrix: pd.DataFrame | ArrayLike, labels: Sequence[str] | None
) -> tuple[NDArray[np.float64], list[str]]:
    """The comparison matrix as a float array and its labels, after shape checks."""
    if isinstance(matrix, pd.DataFrame):
        names = [str(c) for c in matrix.columns] if labels is None else list(labels)
        values = matrix.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(matrix, dtype=np.float64)
        n = values.shape[0] if values.ndim == 2 else 0
        names = [f"c{i + 1}" for i in range(n)] if labels is None else list(labels)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] == 0:
        _fail([Problem("ahp", "", "a square n × n matrix", found=str(values.shape))], "AHP")
    n = values.shape[0]
    if len(names) != n:
        _fail([Problem("ahp", "labels", f"{n} labels", found=str(len(names)))], "AHP")
    if n > max(RANDOM_INDEX):
        _fail([Problem("ahp", "", f"at most {max(RANDOM_INDEX)} criteria", found=f"{n}")], "AHP")
    return values, names


def _check_reciprocal(a: NDArray[np.float64], names: list[str]) -> None:
    """Every cell positive and finite, 1 on the diagonal, a_ji = 1 / a_ij."""
    problems: list[Problem] = []
    bad = ~(np.isfinite(a) & (a > 0))
    for i, j in zip(*np.nonzero(bad), strict=True):
        problems.append(
            Problem(
                "ahp",
                f"({names[i]}, {names[j]})",
                "a positive finite judgement",
                found=f"{a[i, j]!r}",
            )
        )
    if problems:
        _fail(problems, "AHP pairwise comparison matrix")
    diag = np.flatnonzero(np.abs(np.diag(a) - 1.0) > _RECIPROCAL_TOL)
    for i in diag:
        problems.append(
            Problem("ahp", f"({names[i]}, {names[i]})", "1 on the diagonal", found=f"{a[i, i]}")
        )
    off = np.abs(a * a.T - 1.0) > _RECIPROCAL_TOL
    for i, j in zip(*np.nonzero(np.triu(off, k=1)), strict=True):
        problems.append(
            Problem(
                "ahp",
                f"({names[j]}, {names[i]})",
                f"a_ji = 1 / a_ij = 1 / {a[i, j]:g} = {1.0 / a[i, j]:.4g}",
                found=f"{a[j, i]:g}",
            )
        )
    if problems:
        _fail(problems, "AHP pairwise comparison matrix")


def ahp_weights(
    matrix: pd.DataFrame | ArrayLike,
    labels: Sequence[str] | None = None,
    max_cr: float = MAX_CR,
) -> AHPResult:
    """AHP priorities by the principal eigenvector method, with the consistency ratio.

    Saaty (1977), "A scaling method for priorities in hierarchical structures", *J. Math.
    Psychol.* 15: 234–281; Saaty (1980), *The Analytic Hierarchy Process*: ``A w = λmax w``,
    ``CI = (λmax − n) / (n − 1)``, ``CR = CI / RI(n)``; a matrix with ``CR > 0.1`` is refused.

    Parameters
    ----------
    matrix
        n × n positive reciprocal matrix of judgements on Saaty's 1–9 scale: ``a_ij`` is how
        much more important criterion i is than j. A DataFrame's columns give the labels.
    labels
        Criteria ids (indicator or dimension ids); default: the DataFrame's columns or
        ``c1 … cn``.
    max_cr
        The largest acceptable consistency ratio (Saaty's 0.1 by default).

    Returns
    -------
    AHPResult
        Weights, λmax, CI, RI and CR.

    Raises
    ------
    ValidationError
        Not square; more than 15 criteria; a cell not positive and finite, a diagonal cell not 1
        or a pair breaking ``a_ji = 1 / a_ij`` (each named as ``(row, column)``); ``CR > max_cr``
        (the message gives CR, λmax, CI and the most inconsistent judgement).
    """
    a, names = _pairwise(matrix, labels)
    _check_reciprocal(a, names)
    n = a.shape[0]
    eigvals, eigvecs = np.linalg.eig(a)
    k = int(np.argmax(eigvals.real))
    lam = float(eigvals[k].real)
    w = np.abs(eigvecs[:, k].real)
    w = w / w.sum()
    ci = max((lam - n) / (n - 1), 0.0) if n > 2 else 0.0
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri > 0 else 0.0
    if cr > max_cr:
        ratio = a * w[None, :] / w[:, None]
        i, j = np.unravel_index(np.argmax(ratio + 1.0 / ratio), ratio.shape)
        _fail(
            [
                Problem(
                    "ahp",
                    "",
                    f"a consistency ratio CR <= {max_cr:g}: revise the judgements",
                    found=(
                        f"CR = {cr:.3f} (λmax = {lam:.3f}, CI = {ci:.3f}, RI = {ri:.2f}); most"
                        f" inconsistent judgement ({names[i]}, {names[j]}) = {a[i, j]:g},"
                        f" the priorities imply {w[i] / w[j]:.2f}"
                    ),
                )
            ],
            "AHP pairwise comparison matrix",
        )
    return AHPResult(pd.Series(w, index=pd.Index(names), name="weight"), lam, ci, ri, cr)


def _objective_input(normalised: pd.DataFrame) -> NDArray[np.float64]:
    values = check_matrix(normalised)
    flat = np.ptp(values, axis=0) == 0
    if flat.any():
        names = tuple(str(c) for c in normalised.columns[flat])
        _fail(
            [Problem("matrix", "", "indicators whose values differ", names, "zero variance")],
            "decision matrix",
        )
    return values


def entropy_weights(normalised: pd.DataFrame) -> pd.Series:
    """Entropy weights (Shannon entropy of each indicator's shares).

    ``p_ij = x_ij / Σ_i x_ij``, ``e_j = −Σ_i p_ij ln p_ij / ln m`` (``0 ln 0 = 0``),
    ``d_j = 1 − e_j``, ``w_j = d_j / Σ d_j`` (Zeleny, 1982, *Multiple Criteria Decision Making*,
    McGraw-Hill; Hwang & Yoon, 1981, §2.3.2 "Entropy method").

    Parameters
    ----------
    normalised
        Units × indicators, non-negative, larger is better (e.g. :func:`~.normalise.minmax`).

    Returns
    -------
    pandas.Series
        Weight per indicator, summing to 1.

    Raises
    ------
    ValidationError
        Fewer than 2 units, values not finite or negative (named), an indicator with zero
        variance.

    Notes
    -----
    pymcdm 1.4 sets ``e_j = 0`` for a column holding any zero instead of using ``0 ln 0 = 0``;
    the two agree on strictly positive data.
    """
    x = _objective_input(normalised)
    neg = np.asarray((x < 0).any(axis=1), dtype=bool)
    if neg.any():
        rows = tuple(str(u) for u in normalised.index[neg])
        _fail([Problem("matrix", "", "values >= 0 (normalise first)", rows)], "decision matrix")
    p = x / x.sum(axis=0)
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    e = -plogp.sum(axis=0) / np.log(x.shape[0])
    d = 1.0 - e
    return pd.Series(d / d.sum(), index=normalised.columns.copy(), name="weight")


def critic_weights(normalised: pd.DataFrame) -> pd.Series:
    """CRITIC weights: contrast (standard deviation) times conflict (1 − correlation).

    ``C_j = σ_j Σ_k (1 − r_jk)``, ``w_j = C_j / Σ C`` with σ the sample standard deviation
    (``ddof=1``) and r Pearson's correlation between indicators (Diakoulaki, Mavrotas &
    Papayannakis, 1995, "Determining objective weights in multiple criteria problems: the
    CRITIC method", *Computers & Operations Research* 22(7): 763–770).

    Parameters
    ----------
    normalised
        Units × indicators on a common scale, larger is better (the paper uses min-max).

    Returns
    -------
    pandas.Series
        Weight per indicator, summing to 1.

    Raises
    ------
    ValidationError
        Fewer than 2 units, values not finite, an indicator with zero variance; only one
        indicator, or every pair of indicators perfectly correlated (no conflict to measure).
    """
    x = _objective_input(normalised)
    if x.shape[1] < 2:
        _fail([Problem("matrix", "", "at least 2 indicators for CRITIC")], "decision matrix")
    sigma = x.std(axis=0, ddof=1)
    corr = np.corrcoef(x, rowvar=False)
    # a correlation within rounding of 1 is 1 (corrcoef can give 0.9999999999999998)
    corr = np.where(np.isclose(corr, 1.0, rtol=0.0, atol=1e-9), 1.0, corr)
    c = sigma * (1.0 - corr).sum(axis=0)
    if not c.sum() > 0:  # every pair perfectly correlated: no conflict, CRITIC is undefined
        expected = "indicators that are not all perfectly correlated (CRITIC measures conflict)"
        _fail(
            [Problem("matrix", "", expected, found="correlation 1 between every pair")],
            "decision matrix",
        )
    return pd.Series(c / c.sum(), index=normalised.columns.copy(), name="weight")


def equal_weights(indicators: Sequence[str] | pd.Index) -> pd.Series:
    """``1 / n`` for each of ``n`` indicators.

    Raises
    ------
    ValidationError
        No indicators, or duplicate ids.
    """
    index = pd.Index(indicators)
    if len(index) == 0 or index.has_duplicates:
        _fail([Problem("weights", "", "at least one indicator, ids unique")], "weights")
    return pd.Series(1.0 / len(index), index=index, name="weight")


def _as_weights(weights: Mapping[str, float] | pd.Series, what: str) -> pd.Series:
    w = pd.Series(weights, dtype=np.float64)
    bad = ~np.isfinite(w.to_numpy()) | (w.to_numpy() < 0)
    if bad.any() or w.sum() <= 0:
        rows = tuple(str(i) for i in w.index[bad])
        _fail([Problem(what, "", "finite weights >= 0 with a positive sum", rows)], "weights")
    return w / w.sum()


def combine_weights(
    subjective: Mapping[str, float] | pd.Series,
    objective: Mapping[str, float] | pd.Series,
    method: Literal["linear", "multiplicative"] = "linear",
    alpha: float = 0.5,
) -> pd.Series:
    """Combined subjective-objective weights.

    * ``linear``: ``w = α s + (1 − α) o`` — the linear combination of subjective (AHP) and
      objective (entropy, CRITIC) weights, as in Ma, Fan & Huang (1999), "A subjective and
      objective integrated approach to determine attribute weights", *European Journal of
      Operational Research* 112(2): 397–404. ``α = 0.5`` (equal trust in the experts and in
      the data) is an **assumption** of this package, to be set by the user.
    * ``multiplicative``: ``w_j = s_j o_j / Σ_k s_k o_k`` (multiplicative synthesis; an
      indicator gets weight only if both sources give it some; ``alpha`` is unused).

    Parameters
    ----------
    subjective, objective
        Weights per indicator over the same indicators (each normalised to sum 1 first).
    method
        ``linear`` or ``multiplicative``.
    alpha
        Share of the subjective weights, in [0, 1] (``linear`` only).

    Returns
    -------
    pandas.Series
        Weight per indicator (order of ``subjective``), summing to 1.

    Raises
    ------
    ValidationError
        Different indicator sets, negative or non-finite weights, ``alpha`` outside [0, 1],
        an unknown method, or a multiplicative product that is zero everywhere.
    """
    s, o = _as_weights(subjective, "subjective"), _as_weights(objective, "objective")
    if set(s.index) != set(o.index):
        diff = tuple(str(i) for i in s.index.symmetric_difference(o.index))
        _fail([Problem("weights", "", "the same indicators in both", diff)], "weights")
    o = o.reindex(s.index)
    if method == "linear":
        if not 0.0 <= alpha <= 1.0:
            _fail([Problem("weights", "alpha", "0 <= alpha <= 1", found=f"{alpha}")], "weights")
        out = alpha * s + (1.0 - alpha) * o
    elif method == "multiplicative":
        prod = s * o
        if prod.sum() <= 0:
            _fail([Problem("weights", "", "some indicator weighted by both")], "weights")
        out = prod / prod.sum()
    else:
        _fail([Problem("weights", "method", "linear or multiplicative", found=method)], "weights")
    return out.rename("weight")
