"""Sensitivity of the ranking to the weights: Monte Carlo over weight vectors.

Weight vectors are drawn from a Dirichlet distribution centred on the given weights,
``Dirichlet(κ w)``: its mean is ``w`` and the variance of component j is
``w_j (1 − w_j) / (κ + 1)``, so the concentration κ sets how far the samples stray (κ = 100:
a weight of 0.2 has a standard deviation of 0.04). Every sample sums to 1. The scores of all
samples come from one matrix product (weighted sum) or two (TOPSIS); the ranks from one
``argsort`` over the samples × units array.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from resilientcity.assessment.aggregate import rank, topsis_closeness, weight_vector
from resilientcity.assessment.normalise import check_matrix
from resilientcity.errors import Problem, ValidationError

__all__ = ["SensitivityResult", "sample_weights", "weight_sensitivity"]


@dataclass(frozen=True)
class SensitivityResult:
    """Rank distribution of every unit under perturbed weights.

    Attributes
    ----------
    base_rank
        Rank per unit with the given weights (:func:`~.aggregate.rank`).
    rank_probability
        Units × ranks (columns 1 … m): share of samples in which the unit takes that rank.
    summary
        Per unit: ``base_rank``, ``mean_rank``, ``rank_p05``, ``rank_p95``, ``p_base_rank``
        (share of samples keeping the base rank).
    reversal_rate
        Mean over samples of the share of unit pairs whose order differs from the base
        ranking, ``(1 − τ_b) / 2`` with Kendall's τ_b.
    top_change_rate
        Share of samples whose first-ranked unit is not the base one.
    weights
        The sampled weights, samples × indicators.
    """

    base_rank: pd.Series
    rank_probability: pd.DataFrame
    summary: pd.DataFrame
    reversal_rate: float
    top_change_rate: float
    weights: pd.DataFrame


def sample_weights(
    weights: Mapping[str, float] | pd.Series,
    n_samples: int,
    rng: np.random.Generator,
    concentration: float = 100.0,
) -> pd.DataFrame:
    """Weight vectors drawn from ``Dirichlet(concentration × w)``.

    Parameters
    ----------
    weights
        Base weights per indicator, all > 0 (a zero weight would stay zero).
    n_samples
        Number of weight vectors, ≥ 1.
    rng
        The random generator (seeded by the caller for reproducible runs).
    concentration
        κ > 0; larger keeps the samples closer to ``weights``.

    Returns
    -------
    pandas.DataFrame
        Samples × indicators, each row summing to 1.

    Raises
    ------
    ValidationError
        A weight ≤ 0, ``n_samples < 1`` or ``concentration ≤ 0``.
    """
    w = pd.Series(weights, dtype=np.float64)
    problems = []
    if (w.to_numpy() <= 0).any() or not np.isfinite(w.to_numpy()).all():
        bad = tuple(str(i) for i in w.index[~(w.to_numpy() > 0)])
        problems.append(Problem("weights", "", "weights > 0 for Dirichlet sampling", bad))
    if n_samples < 1:
        problems.append(Problem("sensitivity", "n_samples", ">= 1", found=str(n_samples)))
    if not concentration > 0:
        problems.append(Problem("sensitivity", "concentration", "> 0", found=str(concentration)))
    if problems:
        raise ValidationError(problems, what="sensitivity input")
    alpha = concentration * w.to_numpy() / w.sum()
    return pd.DataFrame(rng.dirichlet(alpha, size=n_samples), columns=w.index.copy())


def _ordinal_ranks(scores: NDArray[np.float64]) -> NDArray[np.int64]:
    """Rank 1 = largest score along the last axis; ties by unit order (stable)."""
    order = np.argsort(-scores, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, scores.shape[-1] + 1), axis=-1)
    return ranks


def weight_sensitivity(
    normalised: pd.DataFrame,
    weights: Mapping[str, float] | pd.Series,
    rng: np.random.Generator,
    n_samples: int = 1000,
    concentration: float = 100.0,
    method: Literal["weighted_sum", "topsis"] = "weighted_sum",
) -> SensitivityResult:
    """Monte Carlo of the ranking over Dirichlet-perturbed weights.

    Parameters
    ----------
    normalised
        Units × indicators, larger is better (for ``topsis``: vector- or min-max normalised).
    weights
        Base weight per indicator, all > 0.
    rng
        Random generator.
    n_samples
        Number of weight samples.
    concentration
        Dirichlet concentration κ (see the module docstring).
    method
        ``weighted_sum`` or ``topsis`` (closeness).

    Returns
    -------
    SensitivityResult
        Rank distribution and reversal rates. Sampled ranks are ordinal (ties, which have
        probability 0 for continuous data, go to the unit listed first).

    Raises
    ------
    ValidationError
        As :func:`sample_weights` and :func:`~.aggregate.weighted_sum`; unknown method.
    """
    r = check_matrix(normalised)
    base_w = weight_vector(weights, normalised.columns)
    base_series = pd.Series(base_w, index=normalised.columns)
    w = sample_weights(base_series, n_samples, rng, concentration).to_numpy()
    if method == "weighted_sum":
        base_scores, scores = r @ base_w, w @ r.T
    elif method == "topsis":
        base_scores, scores = topsis_closeness(r, base_w), topsis_closeness(r, w)
    else:
        raise ValidationError(
            [Problem("sensitivity", "method", "weighted_sum or topsis", found=str(method))],
            what="sensitivity input",
        )
    units = normalised.index
    m = len(units)
    base = rank(pd.Series(base_scores, index=units.copy()))
    ranks = _ordinal_ranks(scores)
    flat = np.arange(m)[None, :] * m + (ranks - 1)
    counts = np.bincount(flat.ravel(), minlength=m * m).reshape(m, m)
    prob = pd.DataFrame(counts / n_samples, index=units.copy(), columns=np.arange(1, m + 1))
    base_ordinal = _ordinal_ranks(base_scores[None, :])[0]
    summary = pd.DataFrame(
        {
            "base_rank": base.to_numpy(),
            "mean_rank": ranks.mean(axis=0),
            "rank_p05": np.percentile(ranks, 5, axis=0),
            "rank_p95": np.percentile(ranks, 95, axis=0),
            "p_base_rank": (ranks == base_ordinal[None, :]).mean(axis=0),
        },
        index=units.copy(),
    )
    taus = np.array([stats.kendalltau(base_scores, s).statistic for s in scores])
    reversal = float(np.mean((1.0 - np.nan_to_num(taus, nan=1.0)) / 2.0))
    top = float(np.mean(np.argmax(scores, axis=1) != np.argmax(base_scores)))
    return SensitivityResult(
        base, prob, summary, reversal, top, pd.DataFrame(w, columns=normalised.columns.copy())
    )
