"""The HiGHS modelling helper: optima checked by hand and every solver status explained."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from resilientcity.decision.lp import (
    LinearModel,
    Objective,
    SolverInfeasible,
    SolverTimeLimit,
    SolverUnbounded,
    solve_lexicographic,
)
from resilientcity.errors import ValidationError


def test_lp_optimum_by_hand() -> None:
    # max 3a + 2b s.t. a + b <= 4, a + 3b <= 6, a <= 3: vertex a = 3, b = 1, value 11.
    m = LinearModel()
    v = m.add_variables("v", 2, upper=[3.0, np.inf], cost=[-3.0, -2.0], labels=["a", "b"])
    m.add_constraints("c", [0, 0, 1, 1], v.index([0, 1, 0, 1]), [1, 1, 1, 3], upper=[4, 6])
    sol = m.solve()
    assert sol.value("v") == pytest.approx([3.0, 1.0])
    assert sol.objective == pytest.approx(-11.0)


def test_integer_knapsack_matches_brute_force() -> None:
    weight = np.array([5.0, 4.0, 6.0, 3.0])
    value = np.array([10.0, 40.0, 30.0, 50.0])
    m = LinearModel()
    x = m.add_variables("take", 4, upper=1.0, cost=-value, integer=True)
    m.add_constraints("weight", np.zeros(4, int), x.index(), weight, upper=[10.0])
    best = max(value @ np.array(c) for c in itertools.product([0, 1], repeat=4) if weight @ c <= 10)
    assert -m.solve().objective == pytest.approx(best)  # 90: items 2 and 4 (4 + 3 kg)
    assert best == 90.0


def test_infeasible_names_family_and_rows() -> None:
    # two demands of 3 each, one capacity row of 5: one unit short.
    m = LinearModel()
    x = m.add_variables("x", 2, labels=["a", "b"])
    m.add_constraints("cap", [0, 0], x.index(), 1.0, upper=[5.0], labels=["S1"], meaning="cap")
    m.add_constraints(
        "demand", [0, 1], x.index(), 1.0, lower=[3.0, 3.0], labels=["o1", "o2"], meaning="served"
    )
    with pytest.raises(SolverInfeasible) as info:
        m.solve()
    (problem,) = info.value.problems
    assert problem.layer in {"cap", "demand"}
    assert "short by 1" in problem.found
    assert info.value.status == "infeasible"


def test_unbounded_names_runaway_variable() -> None:
    m = LinearModel()
    x = m.add_variables("x", 2, cost=[-1.0, 0.0], labels=["free", "capped"])
    m.add_constraints("cap", [0], x.index([1]), 1.0, upper=[4.0])
    with pytest.raises(SolverUnbounded) as info:
        m.solve()
    (problem,) = info.value.problems
    assert (problem.layer, problem.rows) == ("x", ("free",))


def test_infeasible_or_unbounded_is_explained_as_infeasible() -> None:
    m = LinearModel()
    x = m.add_variables("x", 2, lower=-np.inf, cost=[-1.0, 0.0])
    m.add_constraints("c", [0, 1], x.index([1, 1]), 1.0, lower=[5.0, -np.inf], upper=[np.inf, 4.0])
    with pytest.raises(SolverInfeasible) as info:
        m.solve()
    assert info.value.problems[0].layer == "c"


def test_time_limit() -> None:
    rng = np.random.default_rng(0)
    m = LinearModel()
    x = m.add_variables("x", 60, upper=1.0, integer=True, cost=-rng.integers(1, 100, 60))
    m.add_constraints("w", np.zeros(60, int), x.index(), rng.integers(1, 100, 60), upper=[1000.5])
    with pytest.raises(SolverTimeLimit) as info:
        m.solve(time_limit_s=0.0)
    assert info.value.status == "time_limit"


def test_lexicographic_stages() -> None:
    # 2 <= a + b <= 3, b <= 1.5: maximise b → 1.5; then, b held, minimise a → 2 - 1.5 = 0.5.
    m = LinearModel()
    v = m.add_variables("v", 2, upper=[np.inf, 1.5])
    m.add_constraints("sum", [0, 0], v.index(), 1.0, lower=[2.0], upper=[3.0])
    sol = solve_lexicographic(
        m,
        [Objective("b", {"v": [0.0, 1.0]}, sense="max"), Objective("a", {"v": [1.0, 0.0]})],
    )
    assert sol.stages == pytest.approx({"b": 1.5, "a": 0.5})
    assert sol.value("v") == pytest.approx([0.5, 1.5])


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"lower": 2.0, "upper": 1.0}, "bounds"),
        ({"lower": np.nan}, "bounds"),
    ],
)
def test_bad_variable_bounds(kwargs: dict[str, float], column: str) -> None:
    with pytest.raises(ValidationError) as info:
        LinearModel().add_variables("x", 2, labels=["a", "b"], **kwargs)
    assert info.value.problems[0].column == column
    assert info.value.problems[0].rows == ("a", "b")


def test_bad_constraints() -> None:
    m = LinearModel()
    x = m.add_variables("x", 2)
    with pytest.raises(ValidationError, match="triplets"):
        m.add_constraints("c", [0], [5], [1.0], upper=[1.0])
    with pytest.raises(ValidationError, match="lower or an upper"):
        m.add_constraints("c", [0], x.index([0]), [1.0])
    with pytest.raises(ValidationError, match="lower <= upper"):
        m.add_constraints("c", [0], x.index([0]), [1.0], lower=[2.0], upper=[1.0], labels=["r"])


def test_empty_model_is_trivially_optimal() -> None:
    """Nothing to decide (no variables, e.g. nobody to evacuate): optimal at 0, not an error."""
    from resilientcity.decision.evacuation import plan_evacuation

    model = LinearModel()
    model.add_variables("x", 0)
    solution = model.solve()
    assert solution.objective == 0 and solution.x.size == 0
    origins = pd.DataFrame(
        {
            "origin_id": pd.Series([], dtype=str),
            "node_id": pd.Series([], dtype=int),
            "people": pd.Series([], dtype=float),
        }
    )
    shelters = pd.DataFrame({"shelter_id": ["S1"], "node_id": [1], "capacity_people": [10.0]})
    plan = plan_evacuation(origins, shelters, np.zeros((0, 1)))
    assert plan.totals["people"] == 0 and plan.totals["unsheltered"] == 0
