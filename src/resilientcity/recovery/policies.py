"""Repair priority policies: in which order the crews of a sector take the damaged assets.

* ``"critical_first"`` — by kind, in the order of ``repair_priority`` in
  ``data/critical_facilities.json`` (hospitals, water plants, substations, pump
  stations, feeders, telecom, …, buildings last; kinds not listed go just before buildings),
  then by population served (largest first), then by asset id;
* ``"population"`` — by population served (largest first), then by asset id;
* ``"given"`` — the user's list of asset ids first, in that order; damaged assets not in the
  list follow in ``"critical_first"`` order.

(An optimised, "greedy" order belongs to the decision module, which passes it as ``"given"``.)

The **population served** by an asset is the sum of the occupants of the asset itself and of
every asset that depends on it, directly or through others (everything downstream of it in the
supplier → dependent graph, each asset counted once however many paths lead to it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.csgraph import breadth_first_order

from resilientcity.critical import critical_facilities
from resilientcity.errors import Problem, ValidationError
from resilientcity.network.cascade import DependencyGraph
from resilientcity.vocabulary import RECOVERY_POLICIES, RecoveryPolicy

__all__ = ["population_served", "repair_order"]


def _downstream(graph: DependencyGraph) -> sp.csr_array:
    dependent = graph.group_dependent[graph.row_group]
    n = graph.n_assets
    data = np.ones(dependent.size, dtype=np.int8)
    return sp.csr_array((data, (graph.supplier, dependent)), shape=(n, n))


def population_served(
    graph: DependencyGraph, occupants: NDArray[np.float64], which: NDArray[np.intp]
) -> NDArray[np.float64]:
    """Occupants of each asset of ``which`` and of everything downstream of it.

    Parameters
    ----------
    graph
        The compiled dependencies.
    occupants
        People per asset (assets' order).
    which
        Asset indices to compute it for.

    Returns
    -------
    numpy.ndarray
        One value per entry of ``which``, people.
    """
    down = _downstream(graph)
    has_dependents = np.diff(down.indptr) > 0
    out = occupants[which].astype(np.float64)
    for k in np.flatnonzero(has_dependents[which]):
        reached = breadth_first_order(down, int(which[k]), directed=True, return_predecessors=False)
        out[k] = float(occupants[reached].sum())
    return out


def repair_order(
    assets: pd.DataFrame,
    graph: DependencyGraph,
    damaged: NDArray[np.bool_],
    policy: RecoveryPolicy = "critical_first",
    given: Sequence[str] | None = None,
) -> NDArray[np.intp]:
    """Indices of the damaged assets, most urgent first.

    Parameters
    ----------
    assets
        Assets layer (``asset_id``, ``kind``, ``occupants``), the graph's order.
    graph
        The compiled dependencies (for the population served).
    damaged
        Bool per asset.
    policy
        ``"critical_first"``, ``"population"`` or ``"given"`` (see the module).
    given
        Asset ids in repair order, for ``"given"``.

    Raises
    ------
    ValidationError
        An unknown policy, ``"given"`` without a list, or ids in it that are not assets.
    """
    if policy not in RECOVERY_POLICIES:
        raise ValidationError(
            [
                Problem(
                    "recovery",
                    "policy",
                    "one of " + ", ".join(RECOVERY_POLICIES),
                    found=repr(policy),
                )
            ],
            what="recovery input",
        )
    idx = np.flatnonzero(damaged)
    ids = assets["asset_id"].astype(str).to_numpy(dtype=object)
    people = population_served(graph, assets["occupants"].to_numpy(dtype=np.float64), idx)
    kinds = assets["kind"].astype(str).to_numpy(dtype=object)[idx]
    if policy == "population":
        keys: tuple[NDArray[np.generic], ...] = (ids[idx], -people)
    else:
        keys = (ids[idx], -people, _kind_rank_values(kinds))
    if policy == "given":
        keys = (*keys, _given_rank(ids, idx, given))
    return idx[np.lexsort(keys)]


def _kind_rank_values(kinds: NDArray[np.object_]) -> NDArray[np.float64]:
    order: list[str] = list(critical_facilities().repair_priority)
    rank = {k: float(i) for i, k in enumerate(order)}
    unlisted = rank.get("building", float(len(order))) - 0.5
    return np.array([rank.get(k, unlisted) for k in kinds], dtype=np.float64)


def _given_rank(
    ids: NDArray[np.object_], idx: NDArray[np.intp], given: Sequence[str] | None
) -> NDArray[np.float64]:
    if given is None:
        raise ValidationError(
            [
                Problem(
                    "recovery",
                    "given",
                    "a list of asset ids in repair order for the 'given' policy",
                )
            ],
            what="recovery input",
        )
    listed = pd.Index([str(g) for g in given])
    pos = pd.Index(ids).get_indexer(listed)
    if (pos < 0).any():
        raise ValidationError(
            [
                Problem(
                    "recovery",
                    "given",
                    "asset ids of assets.asset_id",
                    tuple(listed[pos < 0]),
                    "unknown asset",
                )
            ],
            what="recovery input",
        )
    rank = np.full(ids.size, np.inf)
    rank[pos[::-1]] = np.arange(pos.size, dtype=np.float64)[::-1]
    return rank[idx]
