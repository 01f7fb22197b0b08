"""Interdependency cascade: which assets still function once some of them are damaged.

The model is *topological*: an asset functions when it is not damaged itself, can be reached
by road (when an ``access`` array is given) and receives every service it depends on. The
dependencies layer (``City.dependencies``) lists dependent → supplier links with a
``service`` and a redundancy ``group``; for one dependent and one service, the rows are split
into groups and

* a **group is supplied** when at least one of its suppliers functions (redundancy: any one
  supplier of a group suffices), or while ``hours`` since the event are below the group's
  ``backup_hours`` (the largest ``backup_hours`` of its rows: the dependent's own generator,
  battery or tank carries it over that long);
* a **service is supplied** when every group of that service is supplied;
* an asset **functions** when it is not damaged, is accessible, and every service it depends
  on is supplied. Assets without dependencies need nothing but themselves.

Functionality is the *least fixed point* of these rules: every asset starts as not functioning
and assets are switched on, all at once and vectorised over the rows of the layer, while their
suppliers function, until nothing changes. Supply must therefore flow from assets that need
nothing (sources such as the 220 kV substations) or that run on backup. Switching on only ever
adds assets, so the iteration ends after at most one pass more than the longest dependency
chain. Starting from "all functioning" and switching off instead (the greatest fixed point)
would give the same answer on acyclic graphs, but would keep a ring of assets that feed each
other alive after all its outside supply is gone; the least fixed point does not.

**Dependency cycles.** A cycle (a strongly connected set of assets of the supplier → dependent
graph, or an asset that depends on itself) is accepted when it *resolves*: with nothing
damaged, every access open and every backup exhausted, every asset of the cycle functions, so
that the loop is only redundancy (e.g. a ring of feeders, each with its own substation as an
alternative supplier). A cycle that does not resolve would make its assets fail in every
state; it is reported as a :class:`~resilientcity.errors.ValidationError` naming its assets.

**Causes.** For an asset that does not function, :attr:`CascadeResult.cause` gives a chain
such as ``"no power: FD0008 down ← SS003 down (damaged)"``: the service it lacks, the supplier
that is down, that supplier's own reason and so on to the asset that started it
(:attr:`CascadeResult.cause_asset`). When the service changes along the chain it is named
again (``"no water: PS01 down ← no power: SS003 down (damaged)"``). Each link follows the
supplier closest to a root cause, so the chain is the shortest explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import connected_components

from resilientcity.errors import Problem, ValidationError
from resilientcity.twin.schema import SERVICES

__all__ = ["SERVICE_NAMES", "CascadeResult", "DependencyGraph", "run_cascade"]

#: Services in code order (``DependencyGraph.group_service`` indexes this tuple).
SERVICE_NAMES: tuple[str, ...] = tuple(sorted(SERVICES))

_DEP_COLUMNS = ("dependent_id", "supplier_id", "service", "group", "backup_hours")
_DAMAGED, _NO_ACCESS, _NO_SUPPLY = 1, 2, 3
_OWN_TEXT = {_DAMAGED: "damaged", _NO_ACCESS: "no road access"}
_LOOP_TEXT = "loop without outside supply"


def _raise(problems: list[Problem], what: str = "dependencies") -> None:
    if problems:
        raise ValidationError(problems, what=what)


def _asset_ids(assets: pd.DataFrame) -> NDArray[np.object_]:
    if "asset_id" not in assets.columns:
        _raise([Problem("assets", "asset_id", "a column of asset ids")], "assets")
    ids = assets["asset_id"].astype(str).to_numpy(dtype=object)
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = tuple(sorted(set(ids[dup])))
        _raise([Problem("assets", "asset_id", "unique ids", rows, "duplicates")], "assets")
    return ids


def _dependency_problems(
    deps: pd.DataFrame, dep_idx: NDArray[np.intp], sup_idx: NDArray[np.intp]
) -> list[Problem]:
    """Every broken rule of the dependency rows (ids, services, backup hours)."""
    problems = []
    for col, pos in (("dependent_id", dep_idx), ("supplier_id", sup_idx)):
        bad = pos < 0
        if bad.any():
            rows = tuple(sorted(set(deps[col].astype(str).to_numpy()[bad])))
            problems.append(
                Problem(
                    "dependencies", col, "an asset id of assets.asset_id", rows, "unknown asset"
                )
            )
    service = deps["service"].astype(str)
    bad = ~service.isin(SERVICES).to_numpy()
    if bad.any():
        problems.append(
            Problem(
                "dependencies",
                "service",
                "one of " + ", ".join(SERVICE_NAMES),
                tuple(str(i) for i in np.flatnonzero(bad)),
                ", ".join(sorted(set(service[bad]))),
            )
        )
    hours = pd.to_numeric(deps["backup_hours"], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(hours) & (hours >= 0))
    if bad.any():
        problems.append(
            Problem(
                "dependencies",
                "backup_hours",
                "a finite number >= 0",
                tuple(str(i) for i in np.flatnonzero(bad)),
            )
        )
    return problems


@dataclass(frozen=True, eq=False)
class DependencyGraph:
    """The dependencies layer compiled against the assets, ready for repeated cascades.

    Build it once with :meth:`build` (it validates the rows and the cycles) and call
    :meth:`cascade` for every damage state.

    Attributes
    ----------
    asset_ids
        Asset ids in the assets' order (positions are the "asset index" used below).
    supplier
        Per dependency row, the asset index of the supplier.
    row_group
        Per dependency row, its group index.
    group_dependent
        Per group, the asset index of the dependent.
    group_service
        Per group, the service code (position in :data:`SERVICE_NAMES`).
    group_backup_hours
        Per group, hours the dependent runs without that supply (largest of the group's rows).
    """

    asset_ids: NDArray[np.object_]
    supplier: NDArray[np.intp]
    row_group: NDArray[np.intp]
    group_dependent: NDArray[np.intp]
    group_service: NDArray[np.int8]
    group_backup_hours: NDArray[np.float64]

    @property
    def n_assets(self) -> int:
        """Number of assets."""
        return int(self.asset_ids.size)

    @property
    def n_groups(self) -> int:
        """Number of (dependent, service, group) groups."""
        return int(self.group_dependent.size)

    @classmethod
    def build(cls, assets: pd.DataFrame, dependencies: pd.DataFrame) -> DependencyGraph:
        """Compile and validate ``dependencies`` against ``assets``.

        Parameters
        ----------
        assets
            The assets layer (only ``asset_id`` is read; its row order is kept).
        dependencies
            ``dependent_id``, ``supplier_id``, ``service``, ``group``, ``backup_hours`` (h).

        Raises
        ------
        ValidationError
            Missing columns, unknown asset ids, unknown services, bad backup hours (every
            problem at once), or a dependency cycle that does not resolve (its assets named).
        """
        ids = _asset_ids(assets)
        missing = [c for c in _DEP_COLUMNS if c not in dependencies.columns]
        _raise([Problem("dependencies", c, "a column of the dependencies layer") for c in missing])
        index = pd.Index(ids)
        dep_idx = index.get_indexer(pd.Index(dependencies["dependent_id"].astype(str)))
        sup_idx = index.get_indexer(pd.Index(dependencies["supplier_id"].astype(str)))
        _raise(_dependency_problems(dependencies, dep_idx, sup_idx))
        graph = cls._compile(ids, dependencies, dep_idx, sup_idx)
        graph._check_cycles(dep_idx)
        return graph

    @classmethod
    def _compile(
        cls,
        ids: NDArray[np.object_],
        deps: pd.DataFrame,
        dep_idx: NDArray[np.intp],
        sup_idx: NDArray[np.intp],
    ) -> DependencyGraph:
        service = pd.Index(SERVICE_NAMES).get_indexer(pd.Index(deps["service"].astype(str)))
        group_code, _ = pd.factorize(deps["group"].astype(str))
        n_codes = max(int(group_code.max(initial=0)) + 1, 1)
        key = (dep_idx.astype(np.int64) * len(SERVICE_NAMES) + service) * n_codes + group_code
        uniq, row_group = np.unique(key, return_inverse=True)
        hours = deps["backup_hours"].to_numpy(dtype=np.float64)
        backup = np.zeros(uniq.size)
        np.maximum.at(backup, row_group, hours)
        per_dep = len(SERVICE_NAMES) * n_codes
        return cls(
            asset_ids=ids,
            supplier=sup_idx.astype(np.intp),
            row_group=row_group.astype(np.intp),
            group_dependent=(uniq // per_dep).astype(np.intp),
            group_service=((uniq // n_codes) % len(SERVICE_NAMES)).astype(np.int8),
            group_backup_hours=backup,
        )

    def _check_cycles(self, dep_idx: NDArray[np.intp]) -> None:
        """Raise for every dependency cycle whose assets fail with nothing damaged."""
        n = self.n_assets
        self_loop = dep_idx == self.supplier
        graph = sp.csr_array(
            (np.ones(dep_idx.size, dtype=np.int8), (self.supplier, dep_idx)), shape=(n, n)
        )
        n_comp, label = connected_components(graph, directed=True, connection="strong")
        size = np.bincount(label, minlength=n_comp)
        in_cycle = size[label] > 1
        in_cycle[dep_idx[self_loop]] = True
        if not in_cycle.any():
            return
        functional = self.cascade(np.zeros(n, dtype=bool), hours=np.inf).functional
        stuck = in_cycle & ~functional
        problems = []
        for comp in np.unique(label[stuck]):
            members = np.flatnonzero((label == comp) & in_cycle)
            problems.append(
                Problem(
                    "dependencies",
                    "supplier_id",
                    "no dependency cycle that no supplier outside it can feed "
                    "(a redundant loop with an outside supply is allowed)",
                    tuple(str(a) for a in self.asset_ids[members]),
                    f"a cycle of {members.size} asset{'s' if members.size > 1 else ''}",
                )
            )
        _raise(problems)

    def _groups_ok(self, functional: NDArray[np.bool_], backup_on: NDArray[np.bool_]) -> Any:
        alive = np.bincount(self.row_group[functional[self.supplier]], minlength=self.n_groups)
        return (alive > 0) | backup_on

    def _bool_per_asset(self, values: ArrayLike | None, name: str, default: bool) -> Any:
        if values is None:
            return np.full(self.n_assets, default)
        arr = np.asarray(values)
        if arr.shape != (self.n_assets,) or arr.dtype != np.bool_:
            _raise(
                [
                    Problem(
                        "cascade",
                        name,
                        f"a bool array of one value per asset ({self.n_assets:,})",
                        found=f"{arr.dtype} of shape {arr.shape}",
                    )
                ],
                "cascade input",
            )
        return arr

    def cascade(
        self,
        damaged: ArrayLike,
        hours: float = 0.0,
        access: ArrayLike | None = None,
    ) -> CascadeResult:
        """Which assets function, given the damaged ones, the time and road access.

        Parameters
        ----------
        damaged
            Bool per asset (assets' order): True when the asset itself does not function.
        hours
            Hours since the event; a group without a functioning supplier still counts as
            supplied while ``hours < backup_hours``. ``np.inf``: every backup is exhausted.
        access
            Bool per asset: False when the asset cannot be reached by road, so it stops
            serving. ``None``: every asset is reachable.

        Returns
        -------
        CascadeResult
        """
        dmg = self._bool_per_asset(damaged, "damaged", False)
        acc = self._bool_per_asset(access, "access", True)
        if not (isinstance(hours, int | float) and hours >= 0):
            _raise(
                [Problem("cascade", "hours", "a number of hours >= 0", found=repr(hours))],
                "cascade input",
            )
        base = ~dmg & acc
        backup_on = hours < self.group_backup_hours
        functional = np.zeros(self.n_assets, dtype=bool)
        iterations = 0
        while True:
            iterations += 1
            ok = self._groups_ok(functional, backup_on)
            blocked = np.bincount(self.group_dependent[~ok], minlength=self.n_assets) > 0
            new = base & ~blocked
            if np.array_equal(new, functional):
                break
            functional = new
        return CascadeResult(self, functional, dmg, acc, float(hours), ok, iterations)


@dataclass(frozen=True, eq=False)
class CascadeResult:
    """The state of every asset after a cascade.

    Attributes
    ----------
    graph
        The compiled dependencies.
    functional
        Bool per asset (assets' order): the asset works and delivers its services.
    damaged, access
        The inputs, one bool per asset.
    hours
        Hours since the event the state is for.
    group_ok
        Bool per dependency group: supplied (a supplier functions, or backup still runs).
    iterations
        Passes of the fixed-point iteration.
    """

    graph: DependencyGraph
    functional: NDArray[np.bool_]
    damaged: NDArray[np.bool_]
    access: NDArray[np.bool_]
    hours: float
    group_ok: NDArray[np.bool_]
    iterations: int

    def supplied(self, service: str) -> NDArray[np.bool_]:
        """Bool per asset: every group of ``service`` it depends on is supplied.

        An asset that does not depend on ``service`` counts as supplied; the asset's own
        damage does not matter (a damaged building on a live feeder has power).
        """
        if service not in SERVICE_NAMES:
            _raise(
                [
                    Problem(
                        "cascade",
                        "service",
                        "one of " + ", ".join(SERVICE_NAMES),
                        found=repr(service),
                    )
                ],
                "cascade input",
            )
        g = self.graph
        lacking = (g.group_service == SERVICE_NAMES.index(service)) & ~self.group_ok
        return np.bincount(g.group_dependent[lacking], minlength=g.n_assets) == 0

    @cached_property
    def _reason(self) -> NDArray[np.int8]:
        reason = np.zeros(self.graph.n_assets, dtype=np.int8)
        reason[~self.functional] = _NO_SUPPLY
        reason[~self.access] = _NO_ACCESS
        reason[self.damaged] = _DAMAGED
        return reason

    @cached_property
    def _links(self) -> tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.intp]]:
        """Per asset: distance to its root cause, the supplier it blames and that group."""
        g, n = self.graph, self.graph.n_assets
        dist = np.full(n, np.inf)
        dist[np.isin(self._reason, (_DAMAGED, _NO_ACCESS))] = 0.0
        failed = np.flatnonzero(~self.group_ok)
        rows = np.flatnonzero(~self.group_ok[g.row_group])
        group_min = np.full(g.n_groups, np.inf)
        while True:
            group_min[:] = np.inf
            np.minimum.at(group_min, g.row_group[rows], dist[g.supplier[rows]])
            cand = np.full(n, np.inf)
            np.minimum.at(cand, g.group_dependent[failed], group_min[failed] + 1.0)
            new = np.where(self._reason == _NO_SUPPLY, np.minimum(dist, cand), dist)
            if np.array_equal(new, dist):
                break
            dist = new
        blame_group = np.full(n, -1, dtype=np.intp)
        fg = failed[np.lexsort((group_min[failed], g.group_dependent[failed]))]
        first = np.unique(g.group_dependent[fg], return_index=True)[1]
        blame_group[g.group_dependent[fg[first]]] = fg[first]
        row_order = rows[np.lexsort((dist[g.supplier[rows]], g.row_group[rows]))]
        first_row = np.full(g.n_groups, -1, dtype=np.intp)
        grp, pos = np.unique(g.row_group[row_order], return_index=True)
        first_row[grp] = row_order[pos]
        blame = np.full(n, -1, dtype=np.intp)
        has = blame_group >= 0
        blame[has] = g.supplier[first_row[blame_group[has]]]
        return dist, blame, blame_group

    @cached_property
    def _texts(self) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
        ids = self.graph.asset_ids
        reason = self._reason
        dist, blame, group = self._links
        cause = np.full(ids.size, "", dtype=object)
        root = np.full(ids.size, "", dtype=object)
        for code, text in _OWN_TEXT.items():
            own = reason == code
            cause[own] = text
            root[own] = ids[own]
        svc = np.full(ids.size, -1, dtype=np.int16)
        svc[group >= 0] = self.graph.group_service[group[group >= 0]]
        chained = np.flatnonzero(reason == _NO_SUPPLY)
        for a in chained[np.argsort(dist[chained], kind="stable")]:
            name, s = SERVICE_NAMES[svc[a]], svc[a]
            b = blame[a]
            if not np.isfinite(dist[a]):
                cause[a] = f"no {name}: {ids[b]} down ({_LOOP_TEXT})"
                continue
            head = f"no {name}: {ids[b]} down"
            if reason[b] != _NO_SUPPLY:
                cause[a] = f"{head} ({cause[b]})"
            elif svc[b] == s:
                cause[a] = f"{head} ← {cause[b][len(SERVICE_NAMES[s]) + 5 :]}"
            else:
                cause[a] = f"{head} ← {cause[b]}"
            root[a] = root[b]
        return cause, root

    @property
    def cause(self) -> NDArray[np.object_]:
        """Per asset, why it does not function (``""`` when it does).

        For example ``"no power: FD0008 down ← SS003 down (damaged)"``, ``"damaged"``,
        ``"no road access"``.
        """
        return self._texts[0]

    @property
    def cause_asset(self) -> NDArray[np.object_]:
        """Per asset, the id of the asset that started its chain.

        Itself when damaged or without access; ``""`` when it functions or its loop lost all
        outside supply.
        """
        return self._texts[1]

    def frame(self) -> pd.DataFrame:
        """One row per asset.

        ``asset_id``, ``functional``, ``damaged``, ``access``, ``cause``, ``cause_asset``.
        """
        return pd.DataFrame(
            {
                "asset_id": self.graph.asset_ids,
                "functional": self.functional,
                "damaged": self.damaged,
                "access": self.access,
                "cause": self.cause,
                "cause_asset": self.cause_asset,
            }
        )


def run_cascade(
    assets: pd.DataFrame,
    dependencies: pd.DataFrame | DependencyGraph,
    damaged: ArrayLike,
    hours: float = 0.0,
    access: ArrayLike | None = None,
) -> CascadeResult:
    """Run the interdependency cascade once.

    Parameters
    ----------
    assets
        The assets layer (``asset_id``; its row order is the order of every array).
    dependencies
        The dependencies layer, or a :class:`DependencyGraph` built from it (build it once with
        :meth:`DependencyGraph.build` when cascading many states of one city).
    damaged
        Bool per asset: True when the asset itself does not function (damage).
    hours
        Hours since the event (backup supplies run while ``hours < backup_hours``).
    access
        Bool per asset, False when it cannot be reached by road; ``None``: all reachable.

    Returns
    -------
    CascadeResult
        ``functional``, ``cause`` and ``cause_asset`` per asset, in the assets' order.

    Raises
    ------
    ValidationError
        Bad dependency rows, a dependency cycle that does not resolve, or arrays that do not
        have one bool per asset.
    """
    graph = (
        dependencies
        if isinstance(dependencies, DependencyGraph)
        else DependencyGraph.build(assets, dependencies)
    )
    if graph.n_assets != len(assets):
        _raise(
            [
                Problem(
                    "cascade",
                    "dependencies",
                    "a DependencyGraph built from these assets",
                    found=f"{graph.n_assets:,} assets instead of {len(assets):,}",
                )
            ],
            "cascade input",
        )
    return graph.cascade(damaged, hours, access)
