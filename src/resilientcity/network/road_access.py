"""Access by road after damage: minutes to the nearest functioning facility, isolation, detours.

:func:`accessibility` and :func:`zone_accessibility` give the minutes from every building to the
nearest functioning hospital, shelter, fire station …, isolation and detour factors, per
building and per district; :func:`has_road_access` tells whether an asset is still connected to
the main road network (used by the interdependency cascade).

Travel times are those of :mod:`resilientcity.network.road_routing` (free-flow minutes divided
by the speed factor, a vehicle at every building). Assets attached to the intact road network
where they cannot reach, or be reached from, the rest of it (outside its largest strongly
connected component) are reported as an error by :func:`accessibility` and
:func:`has_road_access` instead of being silently counted as isolation caused by the hazard
(see :func:`road_network_problems`); pieces of the network that carry no asset are harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity.errors import Problem, ValidationError, fail
from resilientcity.network._ids import isin_ids
from resilientcity.network.road_routing import (
    damaged_graph,
    first_index,
    intact_graph,
    nearest_target,
    node_positions,
    reversed_graph,
)
from resilientcity.network.road_state import PassabilityRules, down_assets
from resilientcity.twin.city import City
from resilientcity.twin.roads import largest_strong_component
from resilientcity.twin.validate import road_warnings

__all__ = [
    "DEFAULT_KINDS",
    "accessibility",
    "has_road_access",
    "road_network_problems",
    "zone_accessibility",
]

#: Facility kinds :func:`accessibility` measures by default.
DEFAULT_KINDS: tuple[str, ...] = ("hospital", "shelter", "fire_station")
#: The kind whose loss of access makes a building isolated.
_ISOLATING_KIND = "hospital"

_fail = partial(fail, what="road input")


def road_network_problems(city: City) -> list[Problem]:
    """Problems of the intact road network for accessibility: no node, or assets cut off.

    With nothing damaged every asset must be able to drive to, and be reached from, every other:
    an asset attached to a node outside the largest strongly connected component (one-way edges
    in their direction) would be isolated before any hazard. The problem names those assets
    (:func:`~resilientcity.twin.validate.road_warnings`; the OSM importer attaches assets with
    :func:`~resilientcity.twin.roads.attach_to_network`, so it has none). A network split into
    pieces that carry no asset, such as one-way stubs cut at the edge of an extract, is no
    problem: nobody starts or ends a trip there.
    """
    if len(city.roads.nodes) == 0:
        return [Problem("road_nodes", "", "at least one road node", found="none")]
    return road_warnings(city)


def _require_connected(city: City, allow_disconnected: bool) -> None:
    if allow_disconnected:
        return
    problems = road_network_problems(city)
    if problems:
        raise ValidationError(problems, what=f"road network of city {city.name!r}")


def has_road_access(
    city: City, state: pd.DataFrame, allow_disconnected: bool = False
) -> NDArray[np.bool_]:
    """Whether each asset's road node is in the largest strongly connected part of the open roads.

    Strongly connected: from the asset's node one can drive to every node of that part *and*
    be driven to from every one of them (one-way edges count in their direction), so supplies
    and people can both get in and out. When the open network falls apart, the largest part (by
    nodes) stands for "the city"; assets in smaller parts lose road access (a hospital there stops
    serving, in the cascade). Assets without a road node (``node_id`` −1) have no access.

    Parameters
    ----------
    city
        The city.
    state
        Edge states from :func:`edge_state`.
    allow_disconnected
        Accept assets attached outside the largest strongly connected part of the intact
        network (they have no access, hazard or not); by default that raises.

    Returns
    -------
    numpy.ndarray of bool
        One value per asset, in ``city.assets`` order.

    Raises
    ------
    ValidationError
        Assets attached outside the intact network's largest strongly connected part (unless
        allowed: the assets named); a state that does not match the edges; dangling node ids.
    """
    _require_connected(city, allow_disconnected)
    main = largest_strong_component(damaged_graph(city, state))
    assets = city.assets
    pos = node_positions(city, assets)
    return (pos >= 0) & main[np.maximum(pos, 0)]


def _at(per_node: NDArray[Any], pos: NDArray[np.int64], missing: float | str) -> NDArray[Any]:
    """Per-node values at assets' node positions, ``missing`` where the position is ``-1``."""
    out = per_node[np.maximum(pos, 0)]
    return np.where(pos >= 0, out, missing)


def _detour(damaged: NDArray[np.float64], intact: NDArray[np.float64]) -> NDArray[np.float64]:
    """``damaged / intact``; 1 where both are 0 (at the facility), NaN where intact is inf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = damaged / intact
    ratio[(damaged == 0) & (intact == 0)] = 1.0
    ratio[~np.isfinite(intact)] = np.nan
    return ratio


def accessibility(
    city: City,
    state: pd.DataFrame,
    functional: pd.Series | None = None,
    kinds: Sequence[str] = DEFAULT_KINDS,
    rules: PassabilityRules | None = None,
    allow_disconnected: bool = False,
    absent_kinds: Literal["raise", "skip"] = "raise",
) -> pd.DataFrame:
    """Minutes from every building to the nearest functioning facility of each kind.

    Buildings (assets of kind ``building``) reach the roads at their ``node_id``. For each kind
    three multi-source shortest-path runs give, per road node:

    * ``<kind>_min``: minutes on the damaged network (``state``) to the nearest facility of the
      kind that is functioning (``functional``), ``inf`` when none can be reached;
    * the minutes on the damaged network and on the intact network (free-flow, every edge open)
      to the nearest facility of the kind *that functioned before the event* (every one), whose
      ratio is ``<kind>_detour = damaged / intact``: the lengthening of the trip by the road
      closures and slowdowns alone (facility losses excluded). It is ≥ 1, ``inf`` when the
      closures cut the building off from every facility, 1 for a building at a facility's node
      (0 / 0) and NaN when even the intact network reaches none.

    A building is ``isolated`` when no functioning hospital can be reached (``hospital_min`` is
    ``inf``); hospitals are searched for that even when ``kinds`` leaves them out. In a city
    without any hospital (an extract whose hospitals lie beyond its edge) and ``absent_kinds``
    ``"skip"``, a building is isolated when its node is cut off from the largest strongly
    connected part of the open roads (:func:`has_road_access`), the way out to the hospitals
    of the region.

    Parameters
    ----------
    city
        The city.
    state
        Edge states from :func:`edge_state`.
    functional
        Functionality of assets by ``asset_id`` (booleans, or probabilities in [0, 1] where below
        ``rules.functional_threshold`` counts as down); facilities left out count as
        functioning. Default: every facility functioning.
    kinds
        Facility kinds (``assets.kind``) to measure; each must have at least one asset.
    rules
        Rules (only the functional threshold is used here); default
        :meth:`PassabilityRules.default`.
    allow_disconnected
        Accept assets attached outside the largest strongly connected part of the intact road
        network (see :func:`road_network_problems`); by default that raises.
    absent_kinds
        ``"raise"``: a kind (or the hospitals that define isolation) without any asset in the
        city is an error; ``"skip"``: such kinds get no columns (and isolation follows the rule
        above).

    Returns
    -------
    pandas.DataFrame
        One row per building, in ``city.assets`` order (``RangeIndex``): ``asset_id``,
        ``zone_id`` (district), ``occupants``, then per kind ``<kind>_min`` (float minutes),
        ``<kind>_id`` (``asset_id`` of the nearest functioning facility, ``""`` when none) and
        ``<kind>_detour``; then ``isolated`` (bool).

    Raises
    ------
    ValidationError
        Assets cut off in the intact network (unless allowed); a kind without any asset (unless
        skipped);
        ``functional`` with unknown ids or values that are not booleans or probabilities; a state
        that does not match the edges; dangling ``node_id``.
    """
    rules = rules if rules is not None else PassabilityRules.default()
    _require_connected(city, allow_disconnected)
    damaged = reversed_graph(damaged_graph(city, state))
    down = down_assets(city, functional, rules.functional_threshold, "functional")
    assets = city.assets
    present = set(assets["kind"].unique())
    wanted = list(dict.fromkeys([*kinds, _ISOLATING_KIND]))
    absent = [k for k in wanted if k not in present]
    if absent and absent_kinds != "skip":
        _fail("assets", "kind", "at least one asset of each facility kind", absent, "none")
    wanted = [k for k in wanted if k in present]
    intact = reversed_graph(intact_graph(city))
    buildings = assets[(assets["kind"] == "building").to_numpy(dtype=bool)]
    b_pos = node_positions(city, buildings)
    out: dict[str, Any] = {
        "asset_id": buildings["asset_id"].array.astype("str"),
        "zone_id": buildings["zone_id"].array.astype("str"),
        "occupants": buildings["occupants"].to_numpy(dtype=np.float64),
    }
    n = len(city.roads.nodes)
    for k in wanted:
        facilities = assets[(assets["kind"] == k).to_numpy(dtype=bool)]
        fac_ids = facilities["asset_id"].to_numpy(dtype=str)
        fac_pos = node_positions(city, facilities)
        alive_pos = np.where(isin_ids(fac_ids, down), -1, fac_pos)
        minutes, source = nearest_target(damaged, alive_pos)
        first = first_index(alive_pos, n)
        nearest = np.where(source >= 0, first[np.maximum(source, 0)], -1)
        if k in kinds:
            cut, _ = nearest_target(damaged, fac_pos)
            before, _ = nearest_target(intact, fac_pos)
            names = pd.array([*fac_ids, ""], dtype="str")  # position -1: the appended ""
            out[f"{k}_min"] = _at(minutes, b_pos, np.inf).astype(np.float64)
            out[f"{k}_id"] = names.take(_at(nearest, b_pos, -1).astype(np.int64))
            out[f"{k}_detour"] = _detour(_at(cut, b_pos, np.inf), _at(before, b_pos, np.inf))
        if k == _ISOLATING_KIND:
            out["isolated"] = ~np.isfinite(_at(minutes, b_pos, np.inf).astype(np.float64))
    if _ISOLATING_KIND not in present:
        # the reversed graph has the same strongly connected components
        out["isolated"] = ~_at(largest_strong_component(damaged), b_pos, False).astype(bool)
    return pd.DataFrame(out)


def zone_accessibility(city: City, access: pd.DataFrame) -> pd.DataFrame:
    """Accessibility per district, weighted by the buildings' occupants.

    Parameters
    ----------
    city
        The city (its district zones).
    access
        The output of :func:`accessibility`.

    Returns
    -------
    pandas.DataFrame
        One row per district (zones of type ``district``, in ``city.zones`` order, then any other
        ``zone_id`` the buildings carry): ``zone_id``, ``occupants`` (sum over its buildings),
        ``isolated_occupants`` and ``isolated_share`` (of the occupants; NaN for a district
        without occupants); per kind measured, ``<kind>_min`` (occupant-weighted mean minutes over
        the occupants that can reach one; NaN when none can) and ``<kind>_unreachable_occupants``.

    Raises
    ------
    ValidationError
        ``access`` lacks the columns of :func:`accessibility`.
    """
    needed = ["zone_id", "occupants", "isolated"]
    missing = [c for c in needed if c not in access.columns]
    if missing:
        _fail("access", ", ".join(missing), "the columns of accessibility()")
    zones = city.zones
    districts = zones.loc[zones["zone_type"] == "district", "zone_id"].to_numpy(dtype=str)
    zone_of = access["zone_id"].to_numpy(dtype=str)
    index = pd.Index(districts).append(pd.Index(np.setdiff1d(zone_of, districts)))
    code = index.get_indexer(zone_of)
    m = len(index)
    people = access["occupants"].to_numpy(dtype=np.float64)
    total = np.bincount(code, people, minlength=m)
    isolated = np.bincount(code, people * access["isolated"].to_numpy(dtype=bool), minlength=m)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: dict[str, Any] = {
            "zone_id": pd.array(index.to_numpy(), dtype="str"),
            "occupants": total,
            "isolated_occupants": isolated,
            "isolated_share": np.where(total > 0, isolated / total, np.nan),
        }
        kinds = [c.removesuffix("_min") for c in access.columns if c.endswith("_min")]
        for k in kinds:
            minutes = access[f"{k}_min"].to_numpy(dtype=np.float64)
            reach = np.isfinite(minutes)
            w = np.bincount(code, people * reach, minlength=m)
            wt = np.bincount(code, np.where(reach, people * minutes, 0.0), minlength=m)
            out[f"{k}_min"] = np.where(w > 0, wt / w, np.nan)
            out[f"{k}_unreachable_occupants"] = np.bincount(code, people * ~reach, minlength=m)
    return pd.DataFrame(out)
