"""Weak spots (短板): the obstacle-degree model, and the year-on-year change of scores.

Obstacle-degree model (障碍度模型), as used in Chinese indicator-based resilience and
sustainability assessments: for unit i and indicator j,

* factor contribution ``F_j = w_j`` (the indicator's weight in the whole system);
* deviation degree ``I_ij = 1 − r_ij`` (the gap between the normalised value, in [0, 1], and
  the best);
* obstacle degree ``O_ij = F_j I_ij / Σ_k F_k I_ik`` (share of the unit's total shortfall);
  a dimension's obstacle degree is the sum over its indicators.

The largest ``O_ij`` are the unit's weak spots.

Sources: the model is named, with combined weights and TOPSIS, in e.g. "Comprehensive
Resilience Assessment and Obstacle Analysis of Cities Based on the
PSR-TOPSIS Model: A Case Study of Jiangsu Cities", *Land* 14(7), 1437 (2025),
doi:10.3390/land14071437, and "The Evaluation and Obstacle Identification of Urban
Infrastructure Resilience in China", doi:10.1142/S234574812350015X (CRITIC weights +
obstacle degree model). Only those papers' abstracts were read here: the three formulas above
are the model's usual statement in that literature, not checked against a printed equation;
the tests check them by hand computation.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from resilientcity.assessment.aggregate import weight_vector
from resilientcity.assessment.normalise import check_matrix
from resilientcity.errors import Problem, ValidationError

__all__ = ["dimension_obstacles", "main_obstacles", "obstacle_degree", "year_on_year"]


def obstacle_degree(
    normalised: pd.DataFrame, weights: Mapping[str, float] | pd.Series
) -> pd.DataFrame:
    """Obstacle degree of every indicator for every unit (see the module docstring).

    Parameters
    ----------
    normalised
        Units × indicators in [0, 1], larger is better (min-max or target-based).
    weights
        Weight per indicator.

    Returns
    -------
    pandas.DataFrame
        Units × indicators, each row summing to 1 (a share; × 100 for per cent). A unit with no
        shortfall at all (every indicator at 1) has 0 everywhere, never ``NaN``.

    Raises
    ------
    ValidationError
        Values outside [0, 1] (named units), bad weights.
    """
    r = check_matrix(normalised, min_units=1)
    outside = np.asarray(((r < 0) | (r > 1)).any(axis=1), dtype=bool)
    if outside.any():
        rows = tuple(str(u) for u in normalised.index[outside])
        raise ValidationError(
            [Problem("matrix", "", "normalised values in [0, 1]", rows)], what="obstacle input"
        )
    w = weight_vector(weights, normalised.columns)
    contribution = w * (1.0 - r)
    total = contribution.sum(axis=1, keepdims=True)
    share = np.where(total > 0, contribution / np.where(total > 0, total, 1.0), 0.0)
    return pd.DataFrame(share, index=normalised.index.copy(), columns=normalised.columns.copy())


def dimension_obstacles(obstacles: pd.DataFrame, dimensions: Mapping[str, str]) -> pd.DataFrame:
    """Obstacle degree per unit and dimension: the sum over the dimension's indicators.

    Parameters
    ----------
    obstacles
        Output of :func:`obstacle_degree`.
    dimensions
        Dimension id per indicator.

    Returns
    -------
    pandas.DataFrame
        Units × dimensions (order of first appearance), rows summing to 1 (or 0).

    Raises
    ------
    ValidationError
        An indicator without a dimension.
    """
    missing = tuple(str(c) for c in obstacles.columns if c not in dimensions)
    if missing:
        raise ValidationError(
            [Problem("dimensions", "", "a dimension for every indicator", missing)],
            what="obstacle input",
        )
    dims = [dimensions[c] for c in obstacles.columns]
    return obstacles.T.groupby(dims, sort=False).sum().T


def main_obstacles(obstacles: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """The ``top`` largest obstacles of every unit, in a long table.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit``, ``position`` (1 = largest), ``indicator``, ``obstacle``; ties broken by
        the indicators' column order; units with no obstacle are left out.
    """
    values = obstacles.to_numpy(dtype=np.float64)
    k = min(top, values.shape[1])
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    picked = np.take_along_axis(values, order, axis=1)
    frame = pd.DataFrame(
        {
            "unit": np.repeat(obstacles.index.to_numpy(), k),
            "position": np.tile(np.arange(1, k + 1), len(obstacles)),
            "indicator": obstacles.columns.to_numpy()[order.ravel()],
            "obstacle": picked.ravel(),
        }
    )
    return frame[frame["obstacle"] > 0].reset_index(drop=True)


def year_on_year(scores: pd.DataFrame) -> pd.DataFrame:
    """Change of each unit's score from one year to the next.

    Parameters
    ----------
    scores
        Units × years (columns: years, sorted here), scores.

    Returns
    -------
    pandas.DataFrame
        Long table with ``unit``, ``year``, ``score``, ``change`` (score − previous year's) and
        ``change_pct`` (change / |previous| × 100; ``NaN`` only when the previous score is 0),
        one row per unit and year after the first.

    Raises
    ------
    ValidationError
        Fewer than two years, or scores that are not finite (naming units).
    """
    if scores.shape[1] < 2:
        raise ValidationError(
            [Problem("scores", "", "at least two years", found=f"{scores.shape[1]}")],
            what="score table",
        )
    ordered = scores.sort_index(axis=1)
    values = check_matrix(ordered, min_units=1)
    prev, cur = values[:, :-1], values[:, 1:]
    change = cur - prev
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(prev != 0, change / np.abs(prev) * 100.0, np.nan)
    n_units, n_years = cur.shape
    return pd.DataFrame(
        {
            "unit": np.repeat(ordered.index.to_numpy(), n_years),
            "year": np.tile(ordered.columns.to_numpy()[1:], n_units),
            "score": cur.ravel(),
            "change": change.ravel(),
            "change_pct": pct.ravel(),
        }
    )
