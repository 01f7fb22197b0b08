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
