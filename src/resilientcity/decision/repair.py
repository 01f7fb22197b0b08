"""Repair priorities: compare repair policies by the resilience loss they produce.

Each policy gives the order in which the crews take the damaged assets; the recovery
simulation (:func:`~resilientcity.recovery.simulation.simulate_recovery`) turns the order into
a city service curve Q(t), and the curve into the resilience loss ∫(1 − Q) dt (Bruneau et al.
2003), the resilience index and the rapidity (:mod:`resilientcity.recovery.metrics`).

Policies
--------
* ``"naive"`` — by asset id (the order of a list nobody has prioritised): the baseline;
* ``"critical_first"`` and ``"population"`` — the recovery module's own policies
  (:mod:`resilientcity.recovery.policies`);
* ``"greedy"`` — a myopic marginal-gain order (:func:`greedy_repair_order`): at each decision
  the next asset is the damaged one whose restoration gives the largest immediate gain in the
  city service level per crew-day, ``(Q(R ∪ {a}) − Q(R)) / days(a)``, with ``R`` the assets
  already chosen. Q is evaluated with the cascade once every backup supply has run out (the
  steady state in which the repairs happen), so the gain of a substation counts everything
  downstream of it. The order is built as for one crew and then handed to the simulation as a
  ``"given"`` list, so each sector's crews take their own assets in the greedy order. Assets
  that need no crew-days come first (their gain per day is unbounded); ties (e.g. an asset
  useless until another one is back) fall back to the ``"critical_first"`` order. Owner-repaired
  assets (ordinary buildings) are not scheduled by crews and are left out of the greedy search.

The greedy order is a heuristic (the sequencing problem with crews is NP-hard in general); it
is not guaranteed to beat the other policies, and the comparison reports the difference.

**Cost.** Each decision evaluates at most ``max_candidates`` remaining assets (those with the
largest population served, :func:`~resilientcity.recovery.policies.population_served`), so a
greedy order of ``n`` assets takes at most ``n × max_candidates`` cascade runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import fail
from resilientcity.network.cascade import DependencyGraph
from resilientcity.network.service import ServiceModel, recovery_defaults
from resilientcity.recovery.metrics import METRIC_COLUMNS
from resilientcity.recovery.policies import population_served, repair_order
from resilientcity.recovery.simulation import simulate_recovery

__all__ = ["REPAIR_POLICIES", "compare_repair_policies", "greedy_repair_order"]

#: Policies :func:`compare_repair_policies` knows.
REPAIR_POLICIES: tuple[str, ...] = ("naive", "critical_first", "population", "greedy")


#: Positions of loss, index and rapidity in the columns of ``ServiceCurve.metrics``.
_METRIC_POS = tuple(
    list(METRIC_COLUMNS).index(c)
    for c in ("resilience_loss_days", "resilience_index", "rapidity_days")
)


_fail = partial(fail, "repair priorities", what="repair-policy input")


def _city_level(model: ServiceModel, graph: DependencyGraph, down: NDArray[np.bool_]) -> float:
    state = graph.cascade(down, hours=np.inf)
    levels = model.levels(state)
    return float(levels[model.keys.get_loc(("city", "all"))])


def greedy_repair_order(
    assets: pd.DataFrame,
    graph: DependencyGraph,
    damaged: NDArray[np.bool_],
    restoration_days: ArrayLike,
    *,
    edges: pd.DataFrame | None = None,
    weights: Mapping[str, float] | None = None,
    max_candidates: int = 40,
) -> list[str]:
    """Asset ids of the crew-repaired damaged assets in greedy marginal-gain order.

    Parameters
    ----------
    assets
        Assets layer, the graph's order.
    graph
        The compiled dependencies.
    damaged
        Bool per asset.
    restoration_days
        Crew-days per asset (only damaged assets are read), finite and >= 0.
    edges, weights
        Road edges and sector weights of the city level (as in ``simulate_recovery``).
    max_candidates
        Remaining assets evaluated per decision (largest population served first).

    Returns
    -------
    list of str
        The order (see the module); owner-repaired assets are not in it.
    """
    days = np.asarray(restoration_days, dtype=np.float64)
    if max_candidates < 1:
        _fail("max_candidates", "a whole number >= 1", found=repr(max_candidates))
    ids = assets["asset_id"].astype(str).to_numpy(dtype=object)
    owner = assets["kind"].astype(str).isin(recovery_defaults()["owner_repaired_kinds"])
    fallback = repair_order(assets, graph, damaged & ~owner.to_numpy(), "critical_first")
    people = population_served(graph, assets["occupants"].to_numpy(dtype=np.float64), fallback)
    rank = np.argsort(-people, kind="stable")  # positions in ``fallback``, most people first
    model = ServiceModel.build(assets, edges, False, weights)
    down = damaged.copy()
    order: list[str] = []
    remaining = [int(fallback[k]) for k in rank]
    position = {int(a): k for k, a in enumerate(fallback)}
    free = [a for a in fallback if days[a] <= 0]
    for a in free:
        down[a] = False
        order.append(str(ids[a]))
    remaining = [a for a in remaining if days[a] > 0]
    while remaining:
        base = _city_level(model, graph, down)
        best, best_rate = remaining[0], -np.inf
        for a in sorted(remaining[:max_candidates], key=position.__getitem__):
            down[a] = False
            rate = (_city_level(model, graph, down) - base) / days[a]
            down[a] = True
            if rate > best_rate + 1e-12:
                best, best_rate = a, rate
        down[best] = False
        order.append(str(ids[best]))
        remaining.remove(best)
    return order


def compare_repair_policies(
    assets: pd.DataFrame,
    dependencies: pd.DataFrame | DependencyGraph,
    damaged: ArrayLike,
    restoration_days: ArrayLike,
    policies: Sequence[str] = REPAIR_POLICIES,
    *,
    days: float = 180.0,
    step_days: float = 1.0,
    crews: Mapping[str, int | None] | None = None,
    edges: pd.DataFrame | None = None,
    weights: Mapping[str, float] | None = None,
    max_candidates: int = 40,
) -> pd.DataFrame:
    """Simulate the recovery under each policy and compare the city's resilience metrics.

    Parameters
    ----------
    assets, dependencies, damaged, restoration_days
        As in :func:`~resilientcity.recovery.simulation.simulate_recovery`.
    policies
        Among :data:`REPAIR_POLICIES` (see the module).
    days, step_days, crews, edges, weights
        Passed to the simulation.
    max_candidates
        For ``"greedy"`` (:func:`greedy_repair_order`).

    Returns
    -------
    pandas.DataFrame
        One row per policy: ``policy``, ``resilience_loss`` (∫(1 − Q) dt of the city level,
        days), ``resilience_index`` (0-1), ``rapidity_days``, ``loss_vs_naive`` (loss minus the
        naive order's loss, days; negative = better than naive) and ``loss_vs_naive_pct``
        (the same as a percentage of the naive loss; NaN when the naive loss is 0).

    Raises
    ------
    ValidationError
        Unknown or repeated policies; bad input of the simulation.
    """
    unknown = [p for p in policies if p not in REPAIR_POLICIES]
    if unknown or not policies or len(set(policies)) != len(policies):
        _fail("policies", "distinct policies among " + ", ".join(REPAIR_POLICIES), unknown)
    graph = (
        dependencies
        if isinstance(dependencies, DependencyGraph)
        else DependencyGraph.build(assets, dependencies)
    )
    dmg = np.asarray(damaged)
    if dmg.shape != (len(assets),) or dmg.dtype != np.bool_:
        _fail("damaged", f"a bool per asset ({len(assets):,})", found=f"{dmg.dtype} {dmg.shape}")
    rows = []
    runs = list(policies) if "naive" in policies else [*policies, "naive"]
    for name in runs:
        given = _given(name, assets, graph, dmg, restoration_days, edges, weights, max_candidates)
        res = simulate_recovery(
            assets,
            graph,
            dmg,
            restoration_days,
            days=days,
            step_days=step_days,
            policy="given" if given is not None else name,  # type: ignore[arg-type]
            given=given,
            crews=crews,
            edges=edges,
            weights=weights,
        )
        city = res.curve.metrics().loc[[("city", "all")]].to_numpy(dtype=np.float64)[0]
        loss, index, rapid = (city[k] for k in _METRIC_POS)
        rows.append(
            {
                "policy": name,
                "resilience_loss": float(loss),
                "resilience_index": float(index),
                "rapidity_days": float(rapid),
            }
        )
    out = pd.DataFrame(rows)
    naive = float(out.loc[out["policy"] == "naive", "resilience_loss"].iloc[0])
    out = out[out["policy"].isin(policies)].reset_index(drop=True)
    out["loss_vs_naive"] = out["resilience_loss"] - naive
    out["loss_vs_naive_pct"] = 100.0 * out["loss_vs_naive"] / naive if naive > 0 else np.nan
    return out


def _given(
    name: str,
    assets: pd.DataFrame,
    graph: DependencyGraph,
    damaged: NDArray[np.bool_],
    restoration_days: ArrayLike,
    edges: pd.DataFrame | None,
    weights: Mapping[str, float] | None,
    max_candidates: int,
) -> list[str] | None:
    if name == "naive":
        return sorted(assets["asset_id"].astype(str).to_numpy(dtype=object)[damaged].tolist())
    if name == "greedy":
        return greedy_repair_order(
            assets,
            graph,
            damaged,
            restoration_days,
            edges=edges,
            weights=weights,
            max_candidates=max_candidates,
        )
    return None
