"""Road edges after a hazard: the water on them, and each edge open or closed.

* :func:`edge_flood_depth` — the deepest water along each road edge from a flood depth grid;
* :func:`edge_state` — each edge open or closed, with a speed factor and the reason of a
  closure, from the water on it (Pregnolato et al. 2017 depth–speed function) and from the
  functionality of the road asset (bridge, …) it runs on; :func:`check_edge_state` checks a
  state frame against the edges.

Every number of the rules (depth–speed coefficients, closure depth, the threshold that turns a
probability of functionality into up/down) lives in ``data/network/road_passability.json`` with
its source; :class:`PassabilityRules` reads it. Routing over the states is in
:mod:`resilientcity.network.road_routing`, accessibility in
:mod:`resilientcity.network.road_access`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from resilientcity._files import read_data_file
from resilientcity.errors import DataFileError, Problem, ValidationError, fail
from resilientcity.network._ids import id_positions, isin_ids
from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM

__all__ = [
    "PassabilityRules",
    "check_edge_state",
    "down_assets",
    "edge_flood_depth",
    "edge_state",
]

_RULES_FILE = "data/network/road_passability.json"

_fail = partial(fail, what="road input")


@dataclass(frozen=True)
class PassabilityRules:
    """When a road edge closes or slows, and when an asset counts as down.

    Parameters
    ----------
    speed_a, speed_b, speed_c
        Coefficients of the safe speed in standing water, ``v(w) = a w² + b w + c`` (km/h, ``w``
        in mm): Pregnolato, Ford, Wilkinson & Dawson (2017), Transportation Research Part D
        55:67-81, doi:10.1016/j.trd.2017.06.020.
    closure_depth_m
        Depth (m) from which an edge is impassable (0.30 m, same source).
    functional_threshold
        A probability of functionality below this counts as down (0.5, an assumption: more likely
        down than up).
    """

    speed_a: float
    speed_b: float
    speed_c: float
    closure_depth_m: float
    functional_threshold: float

    def safe_speed_kph(self, depth_m: ArrayLike) -> NDArray[np.float64]:
        """Safe speed (km/h) through standing water of the given depth (m), ``v(1000 × depth)``."""
        w = np.asarray(depth_m, dtype=np.float64) * 1000.0
        return (self.speed_a * w + self.speed_b) * w + self.speed_c

    @classmethod
    def default(cls) -> PassabilityRules:
        """The packaged rules (``data/network/road_passability.json``, with sources).

        Raises
        ------
        DataFileError
            The packaged file lacks a value.
        """
        with resources.as_file(resources.files("resilientcity").joinpath(_RULES_FILE)) as path:
            spec = read_data_file(path, "road passability")
            try:
                speed = spec["flood_safe_speed"]
                return cls(
                    float(speed["a"]),
                    float(speed["b"]),
                    float(speed["c"]),
                    float(spec["flood_closure_depth_m"]["value"]),
                    float(spec["functional_threshold"]["value"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise DataFileError(f"{path}: missing or invalid value {exc}") from exc


def _edge_assets(city: City) -> NDArray[np.str_]:
    """``asset_id`` of each road edge as text (``""`` for none)."""
    return city.roads.edges["asset_id"].fillna("").to_numpy(dtype=str)


def _bridge_edges(city: City) -> NDArray[np.bool_]:
    """Edges that run on an asset of kind ``bridge``."""
    assets = city.assets
    bridges = assets.loc[assets["kind"] == "bridge", "asset_id"].to_numpy(dtype=str)
    return isin_ids(_edge_assets(city), bridges)


def _sample_points(
    geometry: NDArray[Any],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Vertices and segment midpoints of line geometries: ``xy`` and the geometry of each."""
    parts, part_of = shapely.get_parts(geometry, return_index=True)
    xy, coord_of = shapely.get_coordinates(parts, return_index=True)
    same = coord_of[1:] == coord_of[:-1]  # consecutive vertices of one part: a segment
    mid = (xy[1:][same] + xy[:-1][same]) / 2.0
    points = np.concatenate([xy, mid])
    owner = np.concatenate([part_of[coord_of], part_of[coord_of[1:][same]]])
    return points, owner


def edge_flood_depth(
    city: City, depth_grid: NDArray[Any], dem: DEM | None = None
) -> NDArray[np.float64]:
    """The deepest water (m) along each road edge, from a flood depth grid on the DEM's grid.

    Each edge is sampled at its vertices and at the midpoint of each of its segments; a sample
    takes the depth of the DEM cell it falls in (:meth:`DEM.rowcol`), 0 off the grid. Edges
    running on a bridge (``asset_id`` of an asset of kind ``bridge``) get 0 without sampling:
    a bridge deck is above the water, so the depth of the valley under it does not close it (a
    bridge fails through its own asset's functionality, see :func:`edge_state`).

    Parameters
    ----------
    city
        The city (its road edges and assets).
    depth_grid
        Flood depth (m, ≥ 0) per DEM cell, ``rows × cols`` of the DEM (e.g. the output of
        :func:`resilientcity.hazard.flood.flood_depth` for one stage).
    dem
        The grid's DEM; default ``city.dem``.

    Returns
    -------
    numpy.ndarray of float64
        Depth (m) per road edge, in ``city.roads.edges`` order.

    Raises
    ------
    ValidationError
        No DEM; a grid of another shape than the DEM; a negative or non-finite depth sampled on
        an edge (the edges are named).
    """
    dem = dem if dem is not None else city.dem
    if dem is None:
        _fail("city", "dem", "a DEM to locate the depth grid's cells", found="none")
    grid = np.asarray(depth_grid)
    if grid.shape != dem.shape:
        rows, cols = dem.shape
        _fail("depth_grid", "", f"a {rows} × {cols} grid (the DEM's shape)", found=str(grid.shape))
    edges = city.roads.edges
    out = np.zeros(len(edges), dtype=np.float64)
    sampled = np.flatnonzero(~_bridge_edges(city))
    points, owner = _sample_points(edges.geometry.to_numpy()[sampled])
    row, col = dem.rowcol(points[:, 0], points[:, 1])
    on_grid = (row >= 0) & (row < dem.shape[0]) & (col >= 0) & (col < dem.shape[1])
    values = grid[row[on_grid], col[on_grid]].astype(np.float64)
    owner = sampled[owner[on_grid]]
    bad = ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        ids = np.unique(edges["edge_id"].to_numpy()[owner[bad]])
        _fail("depth_grid", "depth_m", "a finite depth >= 0 under every road edge", ids)
    np.maximum.at(out, owner, values)
    return out


def _edge_depths(city: City, edge_depth_m: ArrayLike | None) -> NDArray[np.float64]:
    """Per-edge depths after checks (zeros when not given)."""
    edges = city.roads.edges
    if edge_depth_m is None:
        return np.zeros(len(edges), dtype=np.float64)
    depth = np.asarray(edge_depth_m, dtype=np.float64)
    if depth.shape != (len(edges),):
        expected = f"one depth per road edge ({len(edges)}, in road_edges order)"
        _fail("edge_depth_m", "", expected, found=f"shape {depth.shape}")
    bad = ~(np.isfinite(depth) & (depth >= 0))
    if bad.any():
        _fail(
            "edge_depth_m", "depth_m", "a finite depth >= 0 (m)", edges["edge_id"].to_numpy()[bad]
        )
    return depth


def down_assets(city: City, functional: pd.Series | None, threshold: float, what: str) -> pd.Index:
    """Ids of the assets given as down: ``False``, or a probability below ``threshold``.

    Parameters
    ----------
    city
        The city (its ``asset_id`` values).
    functional
        Per asset (index ``asset_id``): functional or not (bool), or the probability of being
        functional in [0, 1]; ``None``: every asset up.
    threshold
        A probability below this counts as down
        (:attr:`PassabilityRules.functional_threshold`).
    what
        The argument's name, for errors.

    Returns
    -------
    pandas.Index
        The ``asset_id`` of every asset that is down.

    Raises
    ------
    ValidationError
        Not a Series; ids that are no asset of the city or repeated; values that are not a
        boolean or a probability in [0, 1].
    """
    if functional is None:
        return pd.Index([], dtype="str")
    if not isinstance(functional, pd.Series):
        _fail(what, "", "a pandas Series indexed by asset_id", found=type(functional).__name__)
    ids = functional.index.astype(str)
    problems = []
    unknown = ids[id_positions(ids, city.assets["asset_id"]) < 0]
    if len(unknown):
        problems.append(Problem(what, "asset_id", "ids of assets of the city", tuple(unknown)))
    repeated = ids[ids.duplicated()].unique()
    if len(repeated):
        problems.append(Problem(what, "asset_id", "each asset once", tuple(repeated)))
    if pd.api.types.is_bool_dtype(functional.dtype):
        down = ~functional.to_numpy(dtype=bool)
    elif pd.api.types.is_numeric_dtype(functional.dtype):
        p = functional.to_numpy(dtype=np.float64)
        bad = ~((p >= 0) & (p <= 1))  # NaN fails too
        if bad.any():
            expected = "True/False or a probability of being functional in [0, 1]"
            problems.append(Problem(what, "functional", expected, tuple(ids[bad])))
        down = p < threshold
    else:
        expected = "booleans or probabilities in [0, 1]"
        problems.append(Problem(what, "functional", expected, found=f"dtype {functional.dtype}"))
        down = np.zeros(len(ids), dtype=bool)
    if problems:
        raise ValidationError(problems, what=what)
    return ids[down]


def edge_state(
    city: City,
    edge_depth_m: ArrayLike | None = None,
    asset_functional: pd.Series | None = None,
    rules: PassabilityRules | None = None,
) -> pd.DataFrame:
    """Open or closed, speed factor and reason of every road edge after a hazard.

    Flood: an edge with water of depth ``d ≥ closure_depth_m`` (0.30 m) is closed; with
    ``0 < d < closure_depth_m`` its speed is ``min(speed_kph, v(1000 d))`` where ``v`` is the
    Pregnolato et al. (2017) safe speed (km/h), so ``speed_factor = min(1, v / speed_kph)``; a
    dry edge keeps its free-flow speed. Assets: an edge whose ``asset_id`` (bridge, tunnel,
    segment …) is down in ``asset_functional`` is closed.

    Parameters
    ----------
    city
        The city (road edges and assets).
    edge_depth_m
        Water depth (m) per road edge in ``city.roads.edges`` order (e.g. from
        :func:`edge_flood_depth`); default no water.
    asset_functional
        Functionality of assets, a Series indexed by ``asset_id``: booleans, or probabilities of
        being functional in [0, 1] (``impact`` ``p_functional``), where a probability below
        ``rules.functional_threshold`` (0.5) counts as down. Assets left out count as
        functional; default every asset functional.
    rules
        Closure and speed rules; default :meth:`PassabilityRules.default`.

    Returns
    -------
    pandas.DataFrame
        One row per road edge, in ``city.roads.edges`` order (``RangeIndex``): ``edge_id``,
        ``depth_m`` (the water used), ``open`` (bool), ``speed_factor`` (in (0, 1] on open
        edges, 0 on closed ones), ``reason`` (``""`` when open, else e.g. ``"flood 0.45 m ≥
        0.30 m"``, ``"bridge BR012 down"``, both joined by ``"; "``).

    Raises
    ------
    ValidationError
        Depths of another length than the edges, negative or not finite (edges named);
        ``asset_functional`` not a Series, with unknown or repeated asset ids, or values that are
        not booleans or probabilities in [0, 1] (ids named).
    """
    rules = rules if rules is not None else PassabilityRules.default()
    edges = city.roads.edges
    depth = _edge_depths(city, edge_depth_m)
    down = down_assets(city, asset_functional, rules.functional_threshold, "asset_functional")
    speed = edges["speed_kph"].to_numpy(dtype=np.float64)
    flooded = depth >= rules.closure_depth_m
    wet = (depth > 0) & ~flooded
    factor = np.ones(len(edges), dtype=np.float64)
    factor[wet] = np.minimum(1.0, rules.safe_speed_kph(depth[wet]) / speed[wet])
    edge_assets = _edge_assets(city)
    broken = (edge_assets != "") & isin_ids(edge_assets, down)
    is_open = ~(flooded | broken)
    factor[~is_open] = 0.0
    named = city.assets[isin_ids(city.assets["asset_id"], edge_assets[broken])]
    kind_of = dict(zip(named["asset_id"], named["kind"], strict=True))
    reason = np.full(len(edges), "", dtype=object)
    for k in np.flatnonzero(~is_open):
        why = []
        if flooded[k]:
            why.append(f"flood {depth[k]:.2f} m ≥ {rules.closure_depth_m:.2f} m")
        if broken[k]:
            why.append(f"{kind_of[edge_assets[k]]} {edge_assets[k]} down")
        reason[k] = "; ".join(why)
    return pd.DataFrame(
        {
            "edge_id": edges["edge_id"].to_numpy(),
            "depth_m": depth,
            "open": is_open,
            "speed_factor": factor,
            "reason": pd.array(reason, dtype="str"),
        }
    )


def check_edge_state(
    city: City, state: pd.DataFrame
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """``open`` and ``speed_factor`` of an :func:`edge_state` frame, after checks.

    Parameters
    ----------
    city
        The city (its road edges).
    state
        Edge states from :func:`edge_state`: columns ``open`` and ``speed_factor``, one row per
        road edge in ``city.roads.edges`` order (an ``edge_id`` column, when present, must match
        that order).

    Returns
    -------
    is_open : numpy.ndarray of bool
        Per road edge, whether it is open.
    speed_factor : numpy.ndarray of float64
        Per road edge, the speed factor (in (0, 1] on open edges).

    Raises
    ------
    ValidationError
        Missing columns; another number of rows than edges; edges out of order (named); an open
        edge whose speed factor is not in (0, 1] (named).
    """
    edges = city.roads.edges
    missing = [c for c in ("open", "speed_factor") if c not in state.columns]
    if missing:
        _fail("state", ", ".join(missing), "the columns of edge_state(): open, speed_factor")
    if len(state) != len(edges):
        expected = f"one row per road edge ({len(edges)}, in road_edges order)"
        _fail("state", "", expected, found=f"{len(state)} rows")
    ids = edges["edge_id"].to_numpy()
    if "edge_id" in state.columns:
        moved = state["edge_id"].to_numpy() != ids
        if moved.any():
            _fail("state", "edge_id", "the edges in road_edges order", ids[moved])
    is_open = state["open"].to_numpy(dtype=bool)
    factor = state["speed_factor"].to_numpy(dtype=np.float64)
    bad = is_open & ~((factor > 0) & (factor <= 1))
    if bad.any():
        _fail("state", "speed_factor", "a factor in (0, 1] on every open edge", ids[bad])
    return is_open, factor
