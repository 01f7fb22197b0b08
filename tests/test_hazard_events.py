"""The event-set container: every problem named with its event and asset."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from resilientcity.errors import ValidationError
from resilientcity.hazard import HazardEvents


def test_valid_set_keeps_only_nonzero_entries() -> None:
    ev = HazardEvents.from_dense("earthquake", ["m6"], [0.002], [[0.0, 0.3, 0.0]], ["a", "b", "c"])
    assert ev.intensity.nnz == 1 and ev.unit == "g" and ev.n_events == 1 and ev.n_assets == 3


def test_every_problem_at_once() -> None:
    with pytest.raises(ValidationError) as info:
        HazardEvents.from_dense(
            "river_flood", ["e", "e"], [-1.0, np.inf], [[0.0, -2.0], [np.nan, 1.0]], ["a", "b"]
        )
    problems = {(p.column, p.rows) for p in info.value.problems}
    assert ("frequency", ("e", "e")) in problems
    assert ("event_id", ("e", "e")) in problems
    assert ("intensity", ("e@b", "e@a")) in problems


def test_shape_and_kind_mismatches() -> None:
    with pytest.raises(ValidationError, match="shape events × assets"):
        HazardEvents(
            "river_flood",
            np.array(["e"]),
            np.array([0.1]),
            sp.csr_array((1, 2)),
            np.array(["a", "b", "c"]),
        )
    with pytest.raises(ValidationError, match="one frequency per event"):
        HazardEvents(
            "river_flood",
            np.array(["e"]),
            np.array([0.1, 0.2]),
            sp.csr_array((1, 1)),
            np.array(["a"]),
        )
    with pytest.raises(ValidationError, match=r"hazard\.kind"):
        HazardEvents(
            "tsunami", np.array(["e"]), np.array([0.1]), sp.csr_array((1, 1)), np.array(["a"])
        )  # type: ignore[arg-type]


def test_dense_intensity_is_kept_without_a_copy() -> None:
    dense = np.array([[0.0, 0.3, 0.0], [0.1, 0.0, 0.2]])
    ev = HazardEvents("earthquake", ["m6", "m7"], [0.002, 0.001], dense, ["a", "b", "c"])
    assert not ev.is_sparse and ev.intensity is dense and ev.n_stored == 6
    np.testing.assert_array_equal(ev.rows(1, 2), dense[1:2])
    assert np.shares_memory(ev.rows(0, 2), dense)
    np.testing.assert_array_equal(ev.to_csr().toarray(), dense)
    assert ev.to_csr().nnz == 3
    sparse = HazardEvents.from_dense("earthquake", ["m6", "m7"], [0.002, 0.001], dense, list("abc"))
    assert sparse.is_sparse and sparse.n_stored == 3 and sparse.to_csr() is sparse.intensity
    np.testing.assert_array_equal(sparse.rows(1, 2).toarray(), dense[1:2])
    kept = HazardEvents.from_dense("earthquake", ["m6", "m7"], [0, 0], dense, list("abc"), False)
    assert not kept.is_sparse


def test_fortran_or_integer_dense_input_becomes_c_float64() -> None:
    ev = HazardEvents("wind", ["t"], [0.1], np.asfortranarray([[1, 2]]), ["a", "b"])
    assert ev.intensity.dtype == np.float64 and ev.intensity.flags.c_contiguous


@pytest.mark.parametrize("sparse", [True, False])
def test_many_bad_cells_are_counted_and_the_first_named(sparse: bool) -> None:
    dense = np.ones((3, 100_000))
    dense[1, 5:] = -1.0  # 99,995 bad cells, in the second event
    dense[2, 7] = np.inf
    with pytest.raises(ValidationError) as info:
        HazardEvents.from_dense(
            "river_flood",
            ["e0", "e1", "e2"],
            [0.1] * 3,
            dense,
            np.arange(100_000).astype(str),
            sparse=sparse,
        )
    (problem,) = info.value.problems
    assert problem.found == "NaN or negative in 99,996 cells (the first 20 named)"
    assert problem.rows[:2] == ("e1@5", "e1@6") and len(problem.rows) == 20


def test_missing_frequency_is_named() -> None:
    with pytest.raises(ValidationError, match=r"hazard\.frequency.*\(rows? b\)"):
        HazardEvents("wind", ["a", "b"], [0.1, np.nan], np.zeros((2, 1)), ["x"])
