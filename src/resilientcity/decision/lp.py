"""One small modelling helper over HiGHS for the decision models.

A :class:`LinearModel` is built from named *blocks* of variables (bounds, costs, integrality,
one label per variable) and named *families* of constraints (sparse rows given as COO triplets,
row bounds, one label per row). :meth:`LinearModel.solve` assembles the CSR matrix and solves with
HiGHS through :func:`scipy.optimize.milp` (an LP when no variable is integer), and turns every
solver status into a result or a precise error:

* optimal — a :class:`Solution` (values per block, objective);
* infeasible — :class:`SolverInfeasible` whose problems name the constraint families and rows at
  fault and by how much they must give, found by an *elastic (phase-1) relaxation*: every row
  ``l ≤ a·x ≤ u`` gets two named slack variables ``s⁺, s⁻ ≥ 0`` (``l ≤ a·x + s⁺ − s⁻ ≤ u``) and the
  total slack is minimised; the rows left with slack > 0 form one smallest-total-violation set of
  rows whose relaxation restores feasibility (not necessarily the only one). Models add their own
  data checks (e.g. total demand above total capacity) in front of these problems;
* unbounded — :class:`SolverUnbounded` naming the variables that run away, found by re-solving
  with every variable boxed to ``±BOX`` and reporting the variables that end on the box;
* time limit reached — :class:`SolverTimeLimit` (with the best integer solution when a MIP had
  one);
* numerical trouble or any other status — :class:`SolverNumericalTrouble` with HiGHS's message.

:func:`solve_lexicographic` solves several objectives in priority order: each optimum is fixed
(within a tolerance) as a constraint before the next objective is minimised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

from resilientcity.errors import (
    Problem,
    SolverError,
    SolverInfeasible,
    SolverNumericalTrouble,
    SolverTimeLimit,
    SolverUnbounded,
    ValidationError,
)

__all__ = [
    "BOX",
    "Block",
    "LinearModel",
    "Objective",
    "Solution",
    "SolverError",
    "SolverInfeasible",
    "SolverNumericalTrouble",
    "SolverTimeLimit",
    "SolverUnbounded",
    "solve_lexicographic",
]

#: Box (±) put on unbounded variables to find which ones run away in an unbounded model.
BOX = 1e9
#: Slack or violation below this counts as zero (HiGHS's default feasibility tolerance is 1e-7).
_TOL = 1e-6


@dataclass(frozen=True)
class Block:
    """A named block of variables: positions ``start`` … ``stop - 1`` of the model's vector."""

    name: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        """Number of variables in the block."""
        return self.stop - self.start

    def index(self, local: ArrayLike | None = None) -> NDArray[np.int64]:
        """Model positions of the block's variables (all, or those at ``local`` positions)."""
        if local is None:
            return np.arange(self.start, self.stop, dtype=np.int64)
        return self.start + np.asarray(local, dtype=np.int64)


@dataclass(frozen=True)
class _Family:
    name: str
    meaning: str
    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    vals: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Solution:
    """An optimal (or best found) solution.

    Attributes
    ----------
    x
        Values of every variable, in model order.
    objective
        Objective value of the last solve (``cost · x``).
    blocks
        The model's blocks by name.
    stages
        For :func:`solve_lexicographic`: objective name → its optimal value, in priority order.
    """

    x: NDArray[np.float64]
    objective: float
    blocks: dict[str, Block]
    stages: dict[str, float] = field(default_factory=dict)

    def value(self, block: str) -> NDArray[np.float64]:
        """Values of the variables of one block."""
        b = self.blocks[block]
        return self.x[b.start : b.stop]


@dataclass(frozen=True)
class Objective:
    """One objective of a lexicographic solve.

    Parameters
    ----------
    name
        Name, reported in :attr:`Solution.stages`.
    cost
        Coefficient per variable (model order), or a mapping block name → coefficients (a scalar
        or one per variable of the block).
    sense
        ``min`` or ``max``.
    tolerance
        How far a later stage may move this objective from its optimum, relative to
        ``max(1, |optimum|)`` (absorbs HiGHS's feasibility tolerance).
    """

    name: str
    cost: dict[str, ArrayLike | float]
    sense: Literal["min", "max"] = "min"
    tolerance: float = 1e-7


class LinearModel:
    """A linear (or mixed-integer) model built from named blocks and constraint families.

    Examples
    --------
    >>> m = LinearModel()
    >>> x = m.add_variables("x", 2, cost=[-1.0, -2.0])
    >>> m.add_constraints("budget", [0, 0], x.index([0, 1]), [1.0, 1.0], upper=[4.0])
    >>> m.solve().value("x").round(6).tolist()
    [0.0, 4.0]
    """

    def __init__(self) -> None:
        self.blocks: dict[str, Block] = {}
        self._lower: list[NDArray[np.float64]] = []
        self._upper: list[NDArray[np.float64]] = []
        self._cost: list[NDArray[np.float64]] = []
        self._integer: list[NDArray[np.bool_]] = []
        self._labels: list[Sequence[str] | None] = []
        self.families: dict[str, _Family] = {}
        self._n = 0
        self._m = 0

    @property
    def n_variables(self) -> int:
        """Number of variables."""
        return self._n

    @property
    def n_constraints(self) -> int:
        """Number of constraint rows."""
        return self._m

    def add_variables(
        self,
        name: str,
        n: int,
        lower: ArrayLike = 0.0,
        upper: ArrayLike = np.inf,
        cost: ArrayLike = 0.0,
        integer: bool = False,
        labels: Sequence[str] | None = None,
    ) -> Block:
        """Add a block of ``n`` variables and return it.

        Raises
        ------
        ValidationError
            A repeated block name; bounds with ``lower > upper`` or NaN (variables named).
        """
        if name in self.blocks:
            _invalid(name, "", "a block name used once", found="a repeated name")
        lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)).copy()
        hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)).copy()
        bad = np.isnan(lo) | np.isnan(hi) | (lo > hi)
        if bad.any():
            rows = _labels_at(labels, np.flatnonzero(bad))
            _invalid(name, "bounds", "lower <= upper, no NaN", rows)
        self._lower.append(lo)
        self._upper.append(hi)
        self._cost.append(np.broadcast_to(np.asarray(cost, dtype=np.float64), (n,)).copy())
        self._integer.append(np.full(n, integer))
        self._labels.append(labels)
        block = Block(name, self._n, self._n + n)
        self.blocks[name] = block
        self._n += n
        return block

    def add_constraints(
        self,
        name: str,
        rows: ArrayLike,
        cols: ArrayLike,
        vals: ArrayLike,
        lower: ArrayLike | None = None,
        upper: ArrayLike | None = None,
        labels: Sequence[str] | None = None,
        meaning: str = "",
    ) -> None:
        """Add a family of rows ``lower ≤ A x ≤ upper``; ``A`` given as COO triplets.

        Parameters
        ----------
        name
            Family name, used in explanations (``shelter_capacity``).
        rows, cols, vals
            Triplets: row within the family (``0 … m − 1``), variable position in the model
            (:meth:`Block.index`), coefficient. Repeated (row, col) pairs add up.
        lower, upper
            Row bounds (``m`` values each); ``None`` means ``−inf`` / ``+inf``. The number of rows
            ``m`` is the length of the bounds given.
        labels
            One label per row (e.g. the shelter id), shown when the family is at fault.
        meaning
            The rule in words (``"people sent to a shelter ≤ its capacity"``).

        Raises
        ------
        ValidationError
            Neither bound given; bounds of different lengths; ``lower > upper``; triplets out
            of range or non-finite.
        """
        if name in self.families:
            _invalid(name, "", "a constraint family name used once", found="a repeated name")
        if lower is None and upper is None:
            _invalid(name, "bounds", "a lower or an upper bound per row")
        given = np.asarray(lower if lower is not None else upper, dtype=np.float64)
        m = given.size
        lo = np.full(m, -np.inf) if lower is None else np.asarray(lower, np.float64).ravel()
        hi = np.full(m, np.inf) if upper is None else np.asarray(upper, np.float64).ravel()
        if lo.size != m or hi.size != m:
            _invalid(name, "bounds", "as many lower as upper bounds")
        bad = np.isnan(lo) | np.isnan(hi) | (lo > hi)
        if bad.any():
            _invalid(
                name, "bounds", "lower <= upper, no NaN", _labels_at(labels, np.flatnonzero(bad))
            )
        r = np.asarray(rows, dtype=np.int64).ravel()
        c = np.asarray(cols, dtype=np.int64).ravel()
        v = np.broadcast_to(np.asarray(vals, dtype=np.float64), r.shape).copy()
        if c.shape != r.shape:
            _invalid(name, "cols", "one column per row index", found=f"{c.size} vs {r.size}")
        out = (r < 0) | (r >= m) | (c < 0) | (c >= self._n) | ~np.isfinite(v)
        if out.any():
            _invalid(
                name, "triplets", f"rows in [0, {m}), columns in [0, {self._n}), finite values"
            )
        if labels is not None and len(labels) != m:
            _invalid(name, "labels", f"one label per row ({m})", found=str(len(labels)))
        tags = tuple(labels) if labels is not None else tuple(str(i) for i in range(m))
        self.families[name] = _Family(name, meaning, r, c, v, lo, hi, tags)
        self._m += m

    # -----------------------------------------------------------------------------------------
    # Assembly

    def _columns(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        lower = np.concatenate(self._lower) if self._lower else np.zeros(0)
        upper = np.concatenate(self._upper) if self._upper else np.zeros(0)
        integer = np.concatenate(self._integer) if self._integer else np.zeros(0, bool)
        return lower, upper, integer

    def cost_vector(self, cost: dict[str, ArrayLike | float] | None = None) -> NDArray[np.float64]:
        """The model's costs, or a cost vector built from block name → coefficients."""
        if cost is None:
            return np.concatenate(self._cost) if self._cost else np.zeros(0)
        out = np.zeros(self._n)
        for name, coef in cost.items():
            b = self.blocks[name]
            out[b.start : b.stop] = np.broadcast_to(np.asarray(coef, np.float64), (b.size,))
        return out

    def _matrix(self) -> tuple[sp.csr_array, NDArray[np.float64], NDArray[np.float64]]:
        rows, cols, vals, lo, hi = [], [], [], [], []
        offset = 0
        for f in self.families.values():
            rows.append(f.rows + offset)
            cols.append(f.cols)
            vals.append(f.vals)
            lo.append(f.lower)
            hi.append(f.upper)
            offset += f.lower.size
        if not rows:
            return sp.csr_array((0, self._n)), np.zeros(0), np.zeros(0)
        coo = sp.coo_array(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(offset, self._n),
        )
        return coo.tocsr(), np.concatenate(lo), np.concatenate(hi)

    # -----------------------------------------------------------------------------------------
    # Solving

    def solve(
        self,
        cost: NDArray[np.float64] | None = None,
        time_limit_s: float | None = None,
        extra: Sequence[tuple[NDArray[np.float64], float, float]] = (),
    ) -> Solution:
        """Minimise ``cost · x`` (default: the blocks' costs) subject to the model.

        Parameters
        ----------
        cost
            A full cost vector; default the costs given with the blocks.
        time_limit_s
            Wall-clock limit for HiGHS (seconds); ``None`` for none.
        extra
            Additional dense rows ``(a, lower, upper)`` (used by :func:`solve_lexicographic`).

        Raises
        ------
        SolverInfeasible, SolverUnbounded, SolverTimeLimit, SolverNumericalTrouble
            See the module docstring.
        """
        c = self.cost_vector() if cost is None else np.asarray(cost, dtype=np.float64)
        a, lo, hi = self._matrix()
        if extra:
            a = sp.vstack([a, sp.csr_array(np.vstack([e[0] for e in extra]))], format="csr")
            lo = np.concatenate([lo, [e[1] for e in extra]])
            hi = np.concatenate([hi, [e[2] for e in extra]])
        if c.size == 0 and np.all(lo <= 0) and np.all(hi >= 0):
            # Nothing to decide (e.g. nobody to evacuate): HiGHS refuses an empty model.
            return Solution(np.zeros(0), 0.0, dict(self.blocks))
        result = self._run(c, a, lo, hi, time_limit_s)
        status = int(result.status)
        if status == 0:
            return Solution(np.asarray(result.x, np.float64), float(result.fun), dict(self.blocks))
        if status == 1:
            best = None
            if result.x is not None:
                best = Solution(np.asarray(result.x), float(result.fun), dict(self.blocks))
            raise SolverTimeLimit(f"HiGHS stopped before optimality: {result.message}", best=best)
        if status == 2:
            raise SolverInfeasible(
                "the model is infeasible; relaxing these constraints would restore feasibility",
                self.explain_infeasibility(time_limit_s),
            )
        if status == 3:
            problems = self.explain_infeasibility(time_limit_s, required=False)
            if problems:
                raise SolverInfeasible("the model is infeasible (and its dual unbounded)", problems)
            raise SolverUnbounded(
                "the objective is unbounded; these variables run away",
                self.explain_unbounded(c, time_limit_s),
            )
        raise SolverNumericalTrouble(f"HiGHS status {status}: {result.message}")

    def _run(
        self,
        c: NDArray[np.float64],
        a: sp.csr_array,
        lo: NDArray[np.float64],
        hi: NDArray[np.float64],
        time_limit_s: float | None,
        lower: NDArray[np.float64] | None = None,
        upper: NDArray[np.float64] | None = None,
    ) -> Any:
        v_lo, v_hi, integer = self._columns()
        options: dict[str, Any] = {"presolve": True}
        if time_limit_s is not None:
            options["time_limit"] = float(time_limit_s)
        constraints = [LinearConstraint(a, lo, hi)] if a.shape[0] else []
        return milp(
            c,
            integrality=integer.astype(np.int64) if integer.any() else None,
            bounds=Bounds(v_lo if lower is None else lower, v_hi if upper is None else upper),
            constraints=constraints,
            options=options,
        )

    def explain_infeasibility(
        self, time_limit_s: float | None = None, required: bool = True
    ) -> list[Problem]:
        """Constraint rows at fault, from the elastic (phase-1) relaxation of every row.

        Integrality is kept; variable bounds are kept (they are checked when added). Each family
        with rows left with slack gives one problem: its rows (labels) and the total violation.

        Parameters
        ----------
        time_limit_s
            Limit of the relaxation's solve.
        required
            When ``False``, return ``[]`` for a feasible model instead of raising.

        Raises
        ------
        SolverNumericalTrouble
            The relaxation itself could not be solved (e.g. conflicting integer bounds).
        """
        a, lo, hi = self._matrix()
        m = a.shape[0]
        eye = sp.identity(m, format="csr")
        elastic = sp.hstack([a, eye, -eye], format="csr")
        c = np.concatenate([np.zeros(self._n), np.ones(2 * m)])
        v_lo, v_hi, integer = self._columns()
        result = milp(
            c,
            integrality=np.concatenate([integer, np.zeros(2 * m, bool)]).astype(np.int64),
            bounds=Bounds(
                np.concatenate([v_lo, np.zeros(2 * m)]),
                np.concatenate([v_hi, np.full(2 * m, np.inf)]),
            ),
            constraints=[LinearConstraint(elastic, lo, hi)] if m else [],
            options={"time_limit": time_limit_s} if time_limit_s is not None else {},
        )
        if result.status != 0:
            raise SolverNumericalTrouble(
                "the model is infeasible and its elastic relaxation could not be solved "
                f"(variable bounds or integrality conflict): {result.message}"
            )
        slack = result.x[self._n : self._n + m] + result.x[self._n + m :]
        if float(slack.sum()) <= _TOL:
            if required:
                raise SolverNumericalTrouble(
                    "HiGHS reported infeasibility but the elastic relaxation needs no slack: "
                    "numerical trouble"
                )
            return []
        problems = []
        offset = 0
        for f in self.families.values():
            s = slack[offset : offset + f.lower.size]
            at = np.flatnonzero(s > _TOL)
            if at.size:
                expected = f.meaning or "the constraint to hold"
                rows = tuple(f.labels[i] for i in at)
                problems.append(Problem(f.name, "", expected, rows, f"short by {s[at].sum():.6g}"))
            offset += f.lower.size
        return problems

    def explain_unbounded(
        self, cost: NDArray[np.float64], time_limit_s: float | None = None
    ) -> list[Problem]:
        """Variables that run away: re-solve with every bound boxed to ``±BOX``."""
        a, lo, hi = self._matrix()
        v_lo, v_hi, _ = self._columns()
        result = self._run(
            cost, a, lo, hi, time_limit_s, np.maximum(v_lo, -BOX), np.minimum(v_hi, BOX)
        )
        if result.status != 0:
            return [Problem("model", "", "a bounded objective", found=str(result.message))]
        x = np.asarray(result.x)
        runaway = np.flatnonzero(np.abs(x) >= BOX * (1 - 1e-6))
        problems = []
        for b in self.blocks.values():
            local = runaway[(runaway >= b.start) & (runaway < b.stop)] - b.start
            if local.size:
                labels = self._labels[list(self.blocks).index(b.name)]
                rows = _labels_at(labels, local)
                expected = "a finite bound or a constraint that limits it (objective improves without limit)"
                problems.append(Problem(b.name, "", expected, rows))
        return problems


def solve_lexicographic(
    model: LinearModel, objectives: Sequence[Objective], time_limit_s: float | None = None
) -> Solution:
    """Optimise the objectives in priority order.

    Stage ``k`` minimises (or maximises) objective ``k`` subject to the model and to every earlier
    objective staying within its tolerance of its optimum: ``f_j(x) ≤ f_j* + tol_j max(1, |f_j*|)``
    for a minimised ``f_j`` (``≥ … −`` for a maximised one). This is the standard preemptive
    (lexicographic) method; the tolerance only absorbs the solver's feasibility tolerance.

    Parameters
    ----------
    model
        The model.
    objectives
        Objectives, most important first.
    time_limit_s
        Limit per stage.

    Returns
    -------
    Solution
        The last stage's solution; :attr:`Solution.stages` holds every stage's optimum.

    Raises
    ------
    SolverInfeasible, SolverUnbounded, SolverTimeLimit, SolverNumericalTrouble
        From any stage.
    """
    extra: list[tuple[NDArray[np.float64], float, float]] = []
    stages: dict[str, float] = {}
    solution: Solution | None = None
    for obj in objectives:
        c = model.cost_vector(obj.cost)
        sign = 1.0 if obj.sense == "min" else -1.0
        solution = model.solve(sign * c, time_limit_s, extra)
        best = float(c @ solution.x)
        stages[obj.name] = best
        slack = obj.tolerance * max(1.0, abs(best))
        if obj.sense == "min":
            extra.append((c, -np.inf, best + slack))
        else:
            extra.append((c, best - slack, np.inf))
    if solution is None:
        raise ValueError("solve_lexicographic needs at least one objective")
    return Solution(solution.x, solution.objective, solution.blocks, stages)


def _labels_at(labels: Sequence[str] | None, at: NDArray[np.int64]) -> tuple[str, ...]:
    if labels is None:
        return tuple(str(i) for i in at)
    return tuple(str(labels[i]) for i in at)


def _invalid(
    layer: str, column: str, expected: str, rows: Sequence[str] = (), found: str = ""
) -> NoReturn:
    raise ValidationError([Problem(layer, column, expected, tuple(rows), found)], what="model")
