"""The assessment run: weights, scores, ranks, dimension scores, weak spots, trends, sensitivity.

:func:`assess` takes a validated indicator table (or a raw one) and the indicator library and
scores the units of one year (the latest by default):

1. the units × indicators matrix of the year; an indicator with the same value for every unit
   (zero variance) carries no information and cannot be normalised: it is **refused** by
   default, naming it, or left out with ``drop_constant=True`` (listed in
   :attr:`AssessmentResult.dropped`);
2. weights (see :data:`WEIGHT_SCHEMES`): objective ones (entropy, CRITIC) from the min-max
   normalised matrix of the year, equal, AHP from a pairwise comparison matrix, or combined;
3. the score of every unit, larger is better, in [0, 1]: TOPSIS closeness (vector
   normalisation, Hwang & Yoon 1981), ``1 − Q`` of VIKOR (Q is smaller-is-better), the weighted
   sum of the min-max normalised values, or the weighted geometric mean of the vector normalised
   values; ranks with 1 the best;
4. dimension scores (weighted sum of min-max values within each of the seed's dimensions), the
   obstacle degree of every indicator and dimension per unit, and the city's weakest dimension:
   the one with the largest mean obstacle degree over the units;
5. with several years: every unit-year scored on one scale (the method applied to the pooled
   unit-year matrix with the year's weights), and the year-on-year change of those scores;
6. the Monte Carlo sensitivity of the ranking to the weights (Dirichlet samples around them);
   TOPSIS is re-run as TOPSIS, the other methods as the weighted sum (the vectorised kernels
   of :mod:`~resilientcity.assessment.sensitivity`).

``city_score`` is the population-weighted mean of the unit scores when populations are given,
else their plain mean.

:mod:`~resilientcity.assessment.districts` assesses a city's districts (a typed-in table
together with the indicators computed from the twin and a scenario's results): the assessment
stage of a scenario and the demo's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from resilientcity.assessment.aggregate import (
    dimension_scores,
    rank,
    topsis,
    vikor,
    weighted_geometric,
    weighted_sum,
)
from resilientcity.assessment.data import (
    IndicatorData,
    range_problems,
    validate_indicator_table,
)
from resilientcity.assessment.indicators import DIMENSIONS, Direction, IndicatorLibrary
from resilientcity.assessment.normalise import minmax, vector
from resilientcity.assessment.sensitivity import SensitivityResult, weight_sensitivity
from resilientcity.assessment.weak_spots import (
    dimension_obstacles,
    main_obstacles,
    obstacle_degree,
    year_on_year,
)
from resilientcity.assessment.weights import (
    ahp_weights,
    combine_weights,
    critic_weights,
    entropy_weights,
    equal_weights,
)
from resilientcity.errors import DataFileError, Problem, ValidationError

__all__ = [
    "METHODS",
    "WEIGHT_SCHEMES",
    "AssessmentResult",
    "Method",
    "WeightSpec",
    "assess",
    "read_ahp_matrix",
]

Method = Literal["topsis", "vikor", "weighted_sum", "geometric"]
#: The aggregation methods of :func:`assess`.
METHODS: tuple[str, ...] = ("topsis", "vikor", "weighted_sum", "geometric")
#: The weight schemes of :func:`assess`:
#:
#: * ``entropy``, ``critic``: objective weights of the year's min-max normalised matrix;
#: * ``equal``: 1 / n;
#: * ``("ahp", matrix or path)``: AHP priorities (consistency ratio ≤ 0.1) of a pairwise
#:   comparison matrix whose labels are either every indicator id, or the dimension ids of the
#:   indicators assessed; with dimensions, a dimension's priority is shared equally among its
#:   indicators;
#: * ``combined``: ``0.5 × subjective + 0.5 × entropy`` (Ma, Fan & Huang 1999); the subjective
#:   part is equal weights per dimension shared equally within it (an **assumption**: the seed
#:   names four dimensions of equal standing), or the AHP priorities with
#:   ``("combined", matrix or path)``.
WEIGHT_SCHEMES: tuple[str, ...] = ("entropy", "critic", "equal", "ahp", "combined")
WeightSpec = (
    Literal["entropy", "critic", "equal", "combined"]
    | tuple[Literal["ahp", "combined"], "str | PathLike[str] | pd.DataFrame | ArrayLike"]
)

_WHAT = "assessment"


@dataclass(frozen=True, eq=False)
class AssessmentResult:
    """What :func:`assess` produced.

    Attributes
    ----------
    year
        The year assessed.
    method, weight_scheme
        The aggregation method and the weight scheme (``ahp``/``combined`` with ``+ahp``).
    weights
        Weight per indicator assessed, summing to 1.
    scores
        Index ``unit``; ``score`` (larger is better, see the module docstring), ``rank``
        (1 = best, ties share the best rank) and ``population`` (NaN when not given).
    dimension_scores
        Units × dimensions: weighted sum of the min-max values within each dimension, in [0, 1].
    obstacles
        Units × indicators: obstacle degree (share of the unit's shortfall, rows sum to 1).
    dimension_obstacles
        Units × dimensions: the obstacle degree summed over each dimension's indicators.
    weak_spots
        Long table, one row per unit and indicator with an obstacle, largest first: ``unit``,
        ``position`` (1 = the main obstacle), ``indicator``, ``dimension``, ``obstacle``.
    weakest_dimension
        The dimension with the largest mean obstacle degree over the units.
    city_score
        Population-weighted mean of the scores (plain mean without populations).
    trend
        Units × years: the scores of every year on one (pooled) scale; ``None`` with one year
        or with no indicator recorded in every year.
    trend_indicators
        The indicators the trend uses: those of the assessed year recorded for every unit in
        every year (weights rescaled over them); empty without a trend.
    changes
        :func:`~resilientcity.assessment.weak_spots.year_on_year` of ``trend``; ``None`` with
        one year.
    sensitivity
        The Monte Carlo over the weights; ``None`` when ``samples`` is 0.
    sensitivity_method
        The aggregation re-run in the sensitivity (``topsis`` or ``weighted_sum``).
    dropped
        Indicators left out for zero variance (``drop_constant=True``).
    library
        The indicators assessed (names, units, dimensions for reports).
    """

    year: int
    method: str
    weight_scheme: str
    weights: pd.Series
    scores: pd.DataFrame
    dimension_scores: pd.DataFrame
    obstacles: pd.DataFrame
    dimension_obstacles: pd.DataFrame
    weak_spots: pd.DataFrame
    weakest_dimension: str
    city_score: float
    trend: pd.DataFrame | None
    trend_indicators: tuple[str, ...]
    changes: pd.DataFrame | None
    sensitivity: SensitivityResult | None
    sensitivity_method: str
    dropped: tuple[str, ...]
    library: IndicatorLibrary

    def _weighted(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """Column means of ``frame`` weighted by the populations of its rows (units).

        Weighted the way :attr:`city_score` is; plain means without populations.
        """
        pop = self.scores["population"].reindex(frame.index)
        if pop.notna().all():
            return np.asarray(np.average(frame.to_numpy(), axis=0, weights=pop.to_numpy()))
        return np.asarray(frame.mean(axis=0).to_numpy(), dtype=np.float64)

    def city_dimensions(self) -> pd.Series:
        """The city's score per dimension.

        The units' :attr:`dimension_scores` weighted by population like :attr:`city_score`.
        """
        dims = self.dimension_scores
        return pd.Series(self._weighted(dims), index=dims.columns, name="city")

    def city_trend(self) -> pd.Series | None:
        """The city score per year on the trend's scale; ``None`` without a trend.

        Population-weighted like :attr:`city_score`.
        """
        if self.trend is None:
            return None
        return pd.Series(self._weighted(self.trend), index=self.trend.columns, name="city")

    def summary(self) -> dict[str, Any]:
        """The ``assessment`` block of ``summary.json`` (JSON-ready)."""
        block: dict[str, Any] = {
            "year": self.year,
            "method": self.method,
            "weights_scheme": self.weight_scheme,
            "city_score": float(self.city_score),
            "weakest_dimension": self.weakest_dimension,
            "units": _units_block(self),
            "weights": {str(k): float(v) for k, v in self.weights.items()},
            "dropped_zero_variance": list(self.dropped),
        }
        if self.trend is not None:
            block["trend"] = {
                "years": [int(y) for y in self.trend.columns],
                "indicators": list(self.trend_indicators),
                "city_score": {
                    str(y): float(v) for y, v in cast(pd.Series, self.city_trend()).items()
                },
            }
        if self.sensitivity is not None:
            block["sensitivity"] = {
                "method": self.sensitivity_method,
                "samples": len(self.sensitivity.weights),
                "reversal_rate": self.sensitivity.reversal_rate,
                "top_change_rate": self.sensitivity.top_change_rate,
            }
        return block


def _units_block(result: AssessmentResult) -> dict[str, dict[str, float | int]]:
    return {
        str(u): {"score": float(s), "rank": int(r)}
        for u, s, r in zip(
            result.scores.index, result.scores["score"], result.scores["rank"], strict=True
        )
    }


def _fail(problems: list[Problem]) -> Any:
    raise ValidationError(problems, what=_WHAT)


def read_ahp_matrix(path: str | PathLike[str]) -> pd.DataFrame:
    """A pairwise comparison matrix from a CSV file.

    The first row holds the labels (indicator or dimension ids) after an empty first cell, each
    further row a label and its judgements; lines starting with ``#`` are comments. Fractions
    may be written as ``1/3``.

    Raises
    ------
    DataFileError
        Missing or unreadable file, row labels different from the column labels, a cell that is
        not a number or fraction (named as ``(row, column)``).
    """
    source = Path(path)
    if not source.is_file():
        raise DataFileError(f"no such AHP matrix file: {source}")
    try:
        raw = pd.read_csv(source, index_col=0, dtype=str, comment="#", skipinitialspace=True)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataFileError(f"{source} is not a readable CSV file: {exc}") from exc
    raw.index = raw.index.map(lambda v: str(v).strip())
    raw.columns = raw.columns.map(lambda v: str(v).strip())
    if list(raw.index) != list(raw.columns):
        raise DataFileError(
            f"{source}: the row labels {list(raw.index)} must be the column labels "
            f"{list(raw.columns)}, in the same order"
        )
    values = np.empty(raw.shape)
    for i, row in enumerate(raw.index):
        for j, col in enumerate(raw.columns):
            values[i, j] = _fraction(raw.iat[i, j], f"{source}: cell ({row}, {col})")
    return pd.DataFrame(values, index=raw.index, columns=raw.columns)


def _fraction(text: object, where: str) -> float:
    """``3``, ``0.5`` or ``1/3`` as a float."""
    cell = str(text).strip()
    try:
        if "/" in cell:
            top, bottom = cell.split("/", 1)
            return float(top) / float(bottom)
        return float(cell)
    except (ValueError, ZeroDivisionError) as exc:
        raise DataFileError(f"{where} is not a number or fraction: {cell!r}") from exc


def _ahp_indicator_weights(
    spec: object, indicators: pd.Index, dims: pd.Series
) -> tuple[pd.Series, str]:
    """Indicator weights from an AHP matrix over the indicators or over their dimensions."""
    matrix = read_ahp_matrix(spec) if isinstance(spec, str | PathLike) else spec
    labels = list(matrix.columns) if isinstance(matrix, pd.DataFrame) else None
    result = ahp_weights(matrix, labels)  # type: ignore[arg-type]
    names = set(result.weights.index)
    if names == set(indicators):
        return result.weights.reindex(indicators), "indicators"
    present = set(dims.to_numpy())
    if names == present:
        share = dims.map(result.weights) / dims.map(dims.value_counts())
        return share.rename("weight"), "dimensions"
    expected = (
        f"labels that are the indicators assessed ({', '.join(indicators)}) or their "
        f"dimensions ({', '.join(d for d in DIMENSIONS if d in present)})"
    )
    return _fail([Problem("ahp", "labels", expected, found=", ".join(sorted(names)))])


def _equal_by_dimension(dims: pd.Series) -> pd.Series:
    """Equal weight per dimension, shared equally among its indicators."""
    n_dims = dims.nunique()
    return (1.0 / n_dims / dims.map(dims.value_counts())).rename("weight")


def _weights(spec: WeightSpec, normalised: pd.DataFrame, dims: pd.Series) -> tuple[pd.Series, str]:
    """The weights named by ``spec`` and the scheme's name."""
    columns = normalised.columns
    if isinstance(spec, tuple):
        if len(spec) != 2 or spec[0] not in ("ahp", "combined"):
            expected = "('ahp', matrix or path) or ('combined', matrix or path)"
            _fail([Problem("weights", "", expected, found=repr(spec))])
        subjective, _ = _ahp_indicator_weights(spec[1], columns, dims)
        if spec[0] == "ahp":
            return subjective, "ahp"
        return combine_weights(subjective, entropy_weights(normalised)), "combined+ahp"
    if spec == "entropy":
        return entropy_weights(normalised), "entropy"
    if spec == "critic":
        return critic_weights(normalised), "critic"
    if spec == "equal":
        return equal_weights(columns), "equal"
    if spec == "combined":
        subjective = _equal_by_dimension(dims)
        return combine_weights(subjective, entropy_weights(normalised)), "combined"
    return _fail([Problem("weights", "", ", ".join(WEIGHT_SCHEMES), found=repr(spec))])


def _score(
    matrix: pd.DataFrame, weights: pd.Series, directions: Mapping[str, Any], method: str
) -> pd.Series:
    """Score per unit, larger is better, with ``method`` (see the module docstring)."""
    if method == "topsis":
        return topsis(matrix, weights, directions)["closeness"].rename("score")
    if method == "vikor":
        return (1.0 - vikor(matrix, weights, directions)["Q"]).rename("score")
    if method == "weighted_sum":
        return weighted_sum(minmax(matrix, directions), weights)
    if method == "geometric":
        return weighted_geometric(vector(matrix, directions), weights)
    return _fail([Problem("method", "", ", ".join(METHODS), found=repr(method))])


def _as_data(data: IndicatorData | pd.DataFrame, library: IndicatorLibrary) -> pd.DataFrame:
    """The tidy frame of validated data (a raw frame is validated, imputation ``none``).

    Validated data is checked again against ``library``: its ids and its valid ranges (the
    data may have been validated with another library, or built by hand).
    """
    if isinstance(data, IndicatorData):
        unknown = sorted(set(data.frame["indicator"].unique()) - set(library.ids))
        if unknown:
            _fail([Problem("indicator table", "indicator", "an id of the library", tuple(unknown))])
        outside = range_problems(data.frame, library)
        if outside:
            _fail(outside)
        return data.frame
    return validate_indicator_table(data, library).frame


def _year_matrix(frame: pd.DataFrame, year: int | None) -> tuple[int, pd.DataFrame]:
    """The units × indicators matrix of ``year`` (the latest when ``None``)."""
    years = sorted(int(y) for y in frame["year"].unique())
    chosen = years[-1] if year is None else int(year)
    if chosen not in years:
        found = ", ".join(str(y) for y in years)
        _fail([Problem("indicator table", "year", f"a year of the table ({found})", (), str(year))])
    rows = frame[frame["year"] == chosen]
    order = list(pd.unique(frame["indicator"]))
    matrix = rows.pivot(index="unit", columns="indicator", values="value")
    return chosen, matrix.reindex(columns=[c for c in order if c in matrix.columns])


def _constant(matrix: pd.DataFrame, year: int, drop: bool) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Refuse (or with ``drop`` leave out) the indicators with the same value for every unit."""
    flat = tuple(str(c) for c in matrix.columns[np.ptp(matrix.to_numpy(), axis=0) == 0])
    if not flat:
        return matrix, ()
    if not drop:
        expected = (
            "indicators whose values differ between units (a constant one carries no "
            "information); fix the data, or pass drop_constant=True (CLI: --drop-constant)"
        )
        cells = tuple(f"{c} in {year}" for c in flat)
        _fail([Problem("indicator table", "indicator", expected, cells, "zero variance")])
    kept = matrix.drop(columns=list(flat))
    if kept.shape[1] == 0:
        _fail([Problem("indicator table", "indicator", "one indicator that varies", flat)])
    return kept, flat


def _pooled_trend(
    frame: pd.DataFrame,
    units: pd.Index,
    columns: pd.Index,
    weights: pd.Series,
    directions: Mapping[str, Any],
    method: str,
) -> tuple[pd.DataFrame | None, tuple[str, ...]]:
    """Units × years scores on one scale, and the indicators they use.

    The method runs on the pooled unit-year matrix of the assessed units. Only the indicators
    recorded for every unit in every year take part (an indicator first collected in the latest
    year, such as one computed from the twin, cannot show a trend), with their weights
    rescaled to sum to 1. ``(None, ())`` with one year or no indicator common to all years.
    """
    if frame["year"].nunique() < 2:
        return None, ()
    rows = frame[frame["unit"].isin(units) & frame["indicator"].isin(columns)]
    pooled = rows.pivot(index=["unit", "year"], columns="indicator", values="value")
    pooled = pooled.reindex(columns=columns)
    common = pooled.columns[pooled.notna().all(axis=0).to_numpy()]
    if len(common) == 0 or pooled.index.get_level_values("year").nunique() < 2:
        return None, ()
    pooled = pooled[common]
    w = weights.reindex(common)
    w = w / w.sum()
    flat = pooled.index.to_flat_index()
    keyed = pooled.set_axis(pd.Index([f"{u}\x1f{y}" for u, y in flat]), axis=0)
    score = _score(keyed, w, directions, method)
    out = pd.Series(score.to_numpy(), index=pooled.index).unstack("year")
    return out.dropna(axis=0, how="any"), tuple(str(c) for c in common)


def _population(population: Mapping[str, float] | pd.Series | None, units: pd.Index) -> pd.Series:
    """Population per unit (NaN without), checked to be finite and ≥ 0 for every unit."""
    if population is None:
        return pd.Series(np.nan, index=units, name="population")
    pop = pd.Series(population, dtype=np.float64)
    pop.index = pop.index.map(str)
    aligned = pop.reindex(units)
    bad = ~(np.isfinite(aligned.to_numpy()) & (aligned.to_numpy() >= 0))
    if bad.any() or aligned.sum() <= 0:
        rows = tuple(str(u) for u in units[bad])
        _fail([Problem("population", "", "residents >= 0 for every unit, some > 0", rows)])
    return aligned.rename("population")


def assess(
    data: IndicatorData | pd.DataFrame,
    library: IndicatorLibrary | None = None,
    *,
    weights: WeightSpec = "entropy",
    method: Method = "topsis",
    year: int | None = None,
    samples: int = 1000,
    seed: int = 1,
    population: Mapping[str, float] | pd.Series | None = None,
    drop_constant: bool = False,
) -> AssessmentResult:
    """Score, rank and diagnose the units of an indicator table (see the module docstring).

    Parameters
    ----------
    data
        Validated data (:func:`~resilientcity.assessment.data.read_indicator_table`), or a
        raw long/wide table validated here with imputation ``none``.
    library
        The indicators (directions, dimensions); the default library when ``None``.
    weights
        A weight scheme of :data:`WEIGHT_SCHEMES`: ``"entropy"``, ``"critic"``, ``"equal"``,
        ``"combined"``, ``("ahp", matrix or CSV path)`` or ``("combined", matrix or path)``.
    method
        ``topsis``, ``vikor``, ``weighted_sum`` or ``geometric``.
    year
        The year assessed; the latest of the table when ``None``.
    samples, seed
        Weight samples of the sensitivity analysis (0: none) and the seed of their generator.
    population
        Residents per unit, for ``city_score``; ``None``: the plain mean.
    drop_constant
        Leave out zero-variance indicators instead of refusing them.

    Returns
    -------
    AssessmentResult

    Raises
    ------
    ValidationError
        Invalid data, values outside their indicator's valid range among them (validated
        data is checked against ``library`` again); a year not in the table; fewer than two units; zero-variance indicators
        (named with the year, unless ``drop_constant``); an unknown weight scheme or method;
        an AHP matrix that is not reciprocal or has ``CR > 0.1`` (cell named), or whose labels
        are neither the indicators nor their dimensions; bad populations (units named).
    """
    lib = library if library is not None else IndicatorLibrary.default()
    frame = _as_data(data, lib)
    chosen, matrix = _year_matrix(frame, year)
    if len(matrix) < 2:
        _fail([Problem("indicator table", "unit", "at least 2 units to compare", (), "1")])
    matrix, dropped = _constant(matrix, chosen, drop_constant)
    columns = matrix.columns
    directions: dict[str, Direction] = {str(c): lib.directions[c] for c in columns}
    dims = lib.dimension_of.reindex(columns)
    normalised = minmax(matrix, directions)
    w, scheme = _weights(weights, normalised, dims)
    w = (w.reindex(columns) / w.reindex(columns).sum()).rename("weight")
    score = _score(matrix, w, directions, method)
    pop = _population(population, matrix.index)
    scores = pd.DataFrame({"score": score, "rank": rank(score), "population": pop})
    scores.index.name = "unit"
    dim_map = {str(c): str(d) for c, d in dims.items()}
    obstacles = obstacle_degree(normalised, w)
    dim_obstacles = dimension_obstacles(obstacles, dim_map)
    spots = main_obstacles(obstacles, top=len(columns))
    spots.insert(3, "dimension", spots["indicator"].map(dim_map))
    trend, trend_indicators = _pooled_trend(frame, matrix.index, columns, w, directions, method)
    changes = year_on_year(trend) if trend is not None and trend.shape[1] >= 2 else None
    sens_method: Literal["topsis", "weighted_sum"] = (
        "topsis" if method == "topsis" else "weighted_sum"
    )
    sensitivity = None
    if samples > 0:
        base = vector(matrix, directions) if sens_method == "topsis" else normalised
        rng = np.random.default_rng(seed)
        sensitivity = weight_sensitivity(base, w, rng, samples, method=sens_method)
    weighted = pop.notna().all()
    city = float(np.average(score, weights=pop)) if weighted else float(score.mean())
    return AssessmentResult(
        year=chosen,
        method=method,
        weight_scheme=scheme,
        weights=w,
        scores=scores,
        dimension_scores=dimension_scores(normalised, w, dim_map),
        obstacles=obstacles,
        dimension_obstacles=dim_obstacles,
        weak_spots=spots,
        weakest_dimension=str(dim_obstacles.mean(axis=0).idxmax()),
        city_score=city,
        trend=trend,
        trend_indicators=trend_indicators,
        changes=changes,
        sensitivity=sensitivity,
        sensitivity_method=sens_method,
        dropped=dropped,
        library=lib.subset(columns),
    )
