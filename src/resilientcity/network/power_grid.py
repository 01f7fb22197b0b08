"""Adapter to pandapower: damaged assets → elements out of service → unsupplied buses → people.

Where a city has a pandapower model of its grid, this replaces the topological power model of the
dependency table with the operator's own network. A mapping table ties twin assets to pandapower
elements; an outage sets the elements of the damaged assets out of service, finds the buses no
longer connected to a supply (pandapower's own :func:`pandapower.topology.unsupplied_buses`) and
maps them back to the assets and the people behind them. A power flow (:func:`pandapower.runpp`)
is run on request, for the load actually served and the bus voltages.

The mapping (``power_mapping``) is a DataFrame with one row per asset–element pair:

============  =======  ===============================================================
column        dtype    meaning
============  =======  ===============================================================
``asset_id``  str      an ``asset_id`` of the twin's assets
``element``   str      pandapower table: ``bus``, ``line``, ``trafo``, ``ext_grid``,
                       ``load`` or ``sgen``
``index``     int      the row index of the element in that table (``net.<element>``)
============  =======  ===============================================================

An asset may map to several elements (a substation: its bus and its transformer) and an element
to several assets (one MV load standing for the buildings behind it). Rules:

* an element is *energised* when it is in service and at least one of its buses (``bus`` for a
  bus, load, sgen and ext_grid; both ends of a line; both sides of a transformer) is supplied;
* an asset *has power* when at least one of its elements is energised (redundant feeds: any one
  suffices); a damaged asset never has power;
* the load lost is the active power (``p_mw × scaling``) of every in-service load of the net that
  is out of service after the outage or stands on an unsupplied bus (mapped or not).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from resilientcity._compat import import_optional_dependency
from resilientcity.errors import Problem, ValidationError
from resilientcity.network._twin import twin_assets
from resilientcity.twin.city import City

__all__ = [
    "POWER_ELEMENTS",
    "GridOutage",
    "PowerElement",
    "PowerFlow",
    "PowerGridModel",
    "grid_outage",
]

PowerElement = Literal["bus", "line", "trafo", "ext_grid", "load", "sgen"]
#: The pandapower tables an asset may map to.
POWER_ELEMENTS: tuple[str, ...] = get_args(PowerElement)

#: The columns of each element that name its buses.
_BUS_COLUMNS: dict[str, tuple[str, ...]] = {
    "line": ("from_bus", "to_bus"),
    "trafo": ("hv_bus", "lv_bus"),
    "ext_grid": ("bus",),
    "load": ("bus",),
    "sgen": ("bus",),
}
#: Elements whose supply is what consumers see (at least one asset must map to one).
_CONSUMERS = frozenset({"bus", "load"})
#: Asset kinds that are part of a power grid: damaged, they must be in the mapping.
_GRID_KINDS = frozenset({"substation", "feeder", "power_plant"})
_LAYER = "power_mapping"
_MAPPING_COLUMNS = ("asset_id", "element", "index")


def _pandapower(purpose: str) -> tuple[ModuleType, ModuleType]:
    """``pandapower`` and ``pandapower.topology``, or a MissingDependency naming the extra."""
    pandapower = import_optional_dependency("pandapower", purpose)
    return pandapower, import_optional_dependency("pandapower.topology", purpose)


def _row_label(asset_id: object, element: object, index: object) -> str:
    return f"{asset_id} → {element} {index}"


def _mapping_problems(net: Any, mapping: pd.DataFrame, asset_ids: set[str]) -> list[Problem]:
    """Every problem of the mapping against the net and the twin (empty when valid)."""
    missing = [c for c in _MAPPING_COLUMNS if c not in mapping.columns]
    if missing:
        return [Problem(_LAYER, c, "a column of the mapping", found="missing") for c in missing]
    if len(mapping) == 0:
        return [Problem(_LAYER, "", "at least one asset mapped to a grid element", found="none")]
    labels = [_row_label(*r) for r in mapping[list(_MAPPING_COLUMNS)].itertuples(index=False)]
    problems = []
    bad_kind = ~mapping["element"].isin(POWER_ELEMENTS).to_numpy()
    if bad_kind.any():
        problems.append(
            Problem(
                _LAYER,
                "element",
                f"one of {', '.join(POWER_ELEMENTS)}",
                tuple(np.asarray(labels)[bad_kind]),
            )
        )
    unknown = [
        label
        for label, element, index, bad in zip(
            labels, mapping["element"], mapping["index"], bad_kind, strict=True
        )
        if not bad and not _element_exists(net, str(element), index)
    ]
    if unknown:
        problems.append(
            Problem(
                _LAYER,
                "index",
                "the index of an existing element of the pandapower net",
                tuple(unknown),
            )
        )
    not_in_twin = ~mapping["asset_id"].astype(str).isin(asset_ids).to_numpy()
    if not_in_twin.any():
        problems.append(
            Problem(
                _LAYER,
                "asset_id",
                "an asset_id of the twin's assets",
                tuple(np.asarray(labels)[not_in_twin]),
            )
        )
    dup = mapping.duplicated(list(_MAPPING_COLUMNS), keep="first").to_numpy()
    if dup.any():
        problems.append(
            Problem(_LAYER, "", "each asset–element pair once", tuple(np.asarray(labels)[dup]))
        )
    if not mapping["element"].isin(_CONSUMERS).any():
        problems.append(
            Problem(
                _LAYER,
                "element",
                "at least one asset mapped to a bus or load (the consumers whose supply is reported)",
                found="none",
            )
        )
    return problems


def _element_exists(net: Any, element: str, index: object) -> bool:
    try:
        key = int(index)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False
    return bool(key == index and key in net[element].index)


def _net_problems(net: Any) -> list[Problem]:
    """Problems of the net itself: it needs a supply for any bus to be supplied."""
    slacks = int(net.ext_grid["in_service"].sum())
    if "gen" in net and len(net.gen):
        slacks += int((net.gen["in_service"] & net.gen["slack"]).sum())
    if slacks == 0:
        return [
            Problem(
                "power_net",
                "ext_grid",
                "at least one in-service external grid or slack generator",
                found="none",
            )
        ]
    return []


class PowerGridModel:
    """A pandapower net tied to the twin's assets by a mapping table.

    Parameters
    ----------
    net
        The pandapower network (``pandapowerNet``); it is never modified (outages work on a copy).
    mapping
        Asset ↔ element table (``asset_id``, ``element``, ``index``; see the module docstring).
    twin
        The city, or its assets frame (needs ``asset_id`` and ``occupants``; ``kind``, ``sector``
        and ``zone_id`` are used when present).

    Raises
    ------
    ValidationError
        Every problem at once: mapping columns missing, unknown element types, indices not in
        the net, asset ids not in the twin, duplicated pairs, no consumer (bus or load) mapped,
        a net without any supply.
    MissingDependency
        pandapower is not installed.
    """

    def __init__(self, net: Any, mapping: pd.DataFrame, twin: City | pd.DataFrame) -> None:
        _pandapower("the pandapower adapter")
        assets = twin_assets(twin)
        problems = _net_problems(net) + _mapping_problems(
            net, mapping, set(assets["asset_id"].astype(str))
        )
        if problems:
            raise ValidationError(problems, what="power grid model")
        self.net = net
        self.mapping = pd.DataFrame(
            {
                "asset_id": mapping["asset_id"].astype(str).to_numpy(),
                "element": mapping["element"].astype(str).to_numpy(),
                "index": mapping["index"].to_numpy(dtype=np.int64),
            }
        )
        self.assets = assets

    @property
    def unmapped_assets(self) -> tuple[str, ...]:
        """Grid assets of the twin (substations, feeders, power plants) that no row maps."""
        if "kind" not in self.assets.columns:
            return ()
        grid = self.assets.loc[self.assets["kind"].isin(_GRID_KINDS), "asset_id"].astype(str)
        return tuple(sorted(set(grid) - set(self.mapping["asset_id"])))


@dataclass(frozen=True)
class PowerFlow:
    """The result of the AC power flow after the outage.

    Attributes
    ----------
    converged
        Whether :func:`pandapower.runpp` converged; when False the other fields are NaN/empty.
    load_served_mw
        Active power drawn by all loads (sum of ``net.res_load.p_mw``), MW.
    bus_vm_pu
        Voltage magnitude per bus (index = pandapower bus index), p.u.; NaN on unsupplied buses.
    """

    converged: bool
    load_served_mw: float
    bus_vm_pu: pd.Series


@dataclass(frozen=True)
class GridOutage:
    """What an outage does to the grid and to the twin.

    Attributes
    ----------
    unsupplied_buses
        Sorted pandapower bus indices without supply (out of service, or not connected to an
        in-service external grid / slack through closed switches and in-service branches).
    elements
        One row per mapping row: ``asset_id``, ``element``, ``index``, ``in_service`` (after the
        outage) and ``energised`` (bool).
    assets
        One row per mapped asset: ``asset_id``, ``damaged``, ``has_power`` (bool),
        ``occupants`` and ``zone_id`` (when the twin has it).
    people_without_power
        Sum of ``occupants`` of mapped assets without power.
    load_mw
        Active power of the in-service loads before the outage (``p_mw × scaling``), MW.
    load_lost_mw
        Active power of the loads lost by the outage (module docstring), MW.
    not_in_grid
        Damaged assets that map to no element (non-grid assets such as buildings; ignored).
    power_flow
        The power flow result when requested, else ``None``.
    """

    unsupplied_buses: tuple[int, ...]
    elements: pd.DataFrame
    assets: pd.DataFrame
    people_without_power: float
    load_mw: float
    load_lost_mw: float
    not_in_grid: tuple[str, ...]
    power_flow: PowerFlow | None

    def people_by_zone(self) -> pd.Series:
        """People without power per ``zone_id`` (assets without a zone left out; empty without zones)."""
        if "zone_id" not in self.assets.columns:
            return pd.Series(dtype="float64", name="people_without_power")
        dark = self.assets[~self.assets["has_power"] & (self.assets["zone_id"] != "")]
        return dark.groupby("zone_id")["occupants"].sum().rename("people_without_power")


def _check_damaged(model: PowerGridModel, damaged: list[str]) -> tuple[str, ...]:
    """Damaged ids after checks; returns those that map to no element."""
    assets = model.assets
    known = set(assets["asset_id"].astype(str))
    problems = []
    unknown = tuple(a for a in damaged if a not in known)
    if unknown:
        problems.append(Problem("damaged_assets", "asset_id", "an asset_id of the twin", unknown))
    mapped = set(model.mapping["asset_id"])
    unmapped_grid = set(model.unmapped_assets)
    silent = tuple(a for a in damaged if a in unmapped_grid)
    if silent:
        problems.append(
            Problem(
                "damaged_assets",
                "asset_id",
                "a grid asset (substation, feeder, power plant) mapped to a pandapower element",
                silent,
                found="no row in the power mapping",
            )
        )
    if problems:
        raise ValidationError(problems, what="power grid outage")
    return tuple(a for a in damaged if a not in mapped)


def _element_buses(net: Any, element: str, index: int) -> tuple[int, ...]:
    if element == "bus":
        return (index,)
    row = net[element].loc[index]
    return tuple(int(row[c]) for c in _BUS_COLUMNS[element])


def _load_lost(net_before: Any, net_after: Any, unsupplied: set[int]) -> tuple[float, float]:
    """Baseline load and the load lost, MW (p_mw × scaling of in-service loads)."""
    loads = net_before.load
    active = loads["in_service"].to_numpy(dtype=bool)
    p = loads["p_mw"].to_numpy(dtype=np.float64) * loads["scaling"].to_numpy(dtype=np.float64)
    off = ~net_after.load["in_service"].to_numpy(dtype=bool)
    dark = loads["bus"].isin(list(unsupplied)).to_numpy()
    return float(p[active].sum()), float(p[active & (off | dark)].sum())


def _run_power_flow(pp: ModuleType, net: Any) -> PowerFlow:
    try:
        pp.runpp(net)
    except pp.LoadflowNotConverged:
        return PowerFlow(False, float("nan"), pd.Series(dtype="float64", name="vm_pu"))
    return PowerFlow(True, float(net.res_load["p_mw"].sum()), net.res_bus["vm_pu"].copy())


def grid_outage(
    model: PowerGridModel, damaged_asset_ids: Iterable[str], *, power_flow: bool = False
) -> GridOutage:
    """Set the damaged assets' elements out of service and report who loses power.

    Parameters
    ----------
    model
        The grid and its mapping to the twin.
    damaged_asset_ids
        Assets that do not work (e.g. ``p_functional`` below a threshold). Grid assets of the
        twin (substation, feeder, power plant) must be in the mapping; other assets that map to
        no element are listed in ``not_in_grid``.
    power_flow
        Also run :func:`pandapower.runpp` on the damaged net (``GridOutage.power_flow``).

    Returns
    -------
    GridOutage
        Unsupplied buses, element and asset states, people without power, load lost.

    Raises
    ------
    ValidationError
        A damaged id is not an asset of the twin, or is a grid asset the mapping leaves out
        (it would otherwise silently change nothing).
    """
    pp, topology = _pandapower("a pandapower grid outage")
    damaged = list(dict.fromkeys(str(a) for a in damaged_asset_ids))
    not_in_grid = _check_damaged(model, damaged)
    net = copy.deepcopy(model.net)
    rows = model.mapping
    hit = rows["asset_id"].isin(damaged).to_numpy()
    for element, index in zip(rows["element"][hit], rows["index"][hit], strict=True):
        net[element].loc[index, "in_service"] = False
    unsupplied = {int(b) for b in topology.unsupplied_buses(net)}
    unsupplied |= {int(b) for b in net.bus.index[~net.bus["in_service"].to_numpy(dtype=bool)]}
    elements = _element_states(net, rows, unsupplied)
    assets = _asset_states(model, elements, set(damaged))
    load_mw, lost_mw = _load_lost(model.net, net, unsupplied)
    return GridOutage(
        unsupplied_buses=tuple(sorted(unsupplied)),
        elements=elements,
        assets=assets,
        people_without_power=float(assets.loc[~assets["has_power"], "occupants"].sum()),
        load_mw=load_mw,
        load_lost_mw=lost_mw,
        not_in_grid=not_in_grid,
        power_flow=_run_power_flow(pp, net) if power_flow else None,
    )


def _element_states(net: Any, rows: pd.DataFrame, unsupplied: set[int]) -> pd.DataFrame:
    in_service = np.array(
        [
            bool(net[e].at[i, "in_service"])
            for e, i in zip(rows["element"], rows["index"], strict=True)
        ],
        dtype=bool,
    )
    fed = np.array(
        [
            any(b not in unsupplied for b in _element_buses(net, e, int(i)))
            for e, i in zip(rows["element"], rows["index"], strict=True)
        ],
        dtype=bool,
    )
    return rows.assign(in_service=in_service, energised=in_service & fed)


def _asset_states(model: PowerGridModel, elements: pd.DataFrame, damaged: set[str]) -> pd.DataFrame:
    has_power = elements.groupby("asset_id", sort=True)["energised"].any()
    out = pd.DataFrame({"asset_id": has_power.index.astype(str)})
    out["damaged"] = out["asset_id"].isin(damaged).to_numpy()
    out["has_power"] = has_power.to_numpy(dtype=bool) & ~out["damaged"].to_numpy()
    columns = ["asset_id", "occupants"] + (["zone_id"] if "zone_id" in model.assets.columns else [])
    twin = model.assets[columns].assign(asset_id=model.assets["asset_id"].astype(str))
    twin = twin.drop_duplicates("asset_id")
    return out.merge(twin, on="asset_id", how="left", validate="one_to_one")
