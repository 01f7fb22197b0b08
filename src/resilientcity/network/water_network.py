"""Adapter to WNTR: broken pipes and unpowered pumps → pressure-dependent demand → service.

Where a city has an EPANET model of its water network, this replaces the topological water model
of the dependency table with the utility's own network, simulated by WNTR's
:class:`wntr.sim.WNTRSimulator` with pressure-dependent demand (PDD). A mapping table ties twin
assets to network elements; an outage closes the broken pipes and the pumps without power for
the whole simulation, runs PDD, and reports the share of the expected water each junction, zone
and asset receives, and the people behind the junctions left short.

The mapping (``water_mapping``) is a DataFrame with one row per asset–element pair:

============  =======  ===============================================================
column        dtype    meaning
============  =======  ===============================================================
``asset_id``  str      an ``asset_id`` of the twin's assets
``element``   str      ``junction``, ``pipe``, ``pump``, ``valve``, ``tank`` or
                       ``reservoir``
``name``      str      the element's name in the EPANET model
============  =======  ===============================================================

Consumers (buildings, hospitals, …) map to the junction that serves them; network assets map to
their pipes and pumps (a pump station: its pumps). Modelling choices:

* **broken pipe** — closed for the whole simulation (isolated by its valves), as WNTR's pipe break
  tutorial does; no leak flow is modelled (a leak area would be a further assumption);
* **pump without power** — closed for the whole simulation;
* for both, the model's controls and rules that act on the element are removed first (a broken
  pipe cannot be reopened by a tank-level rule); a rule that also acts on other links is removed
  with them;
* **demand satisfaction** of a junction = delivered volume / expected volume over the report steps
  ``t < duration`` (each step stands for the hydraulic step that starts at it), i.e. WNTR's *water
  service availability* (:func:`wntr.metrics.water_service_availability`) on those steps; the
  expected demand is :func:`wntr.metrics.expected_demand` (base demand × pattern × multiplier);
  NaN where the expected volume is 0; clipped to [0, 1];
* PDD pressures default to WNTR's pipe break tutorial (``data/network/water_pdd.json``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from os import PathLike
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from resilientcity._compat import import_optional_dependency
from resilientcity._files import read_data_file
from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.network._twin import twin_assets
from resilientcity.twin.city import City

__all__ = [
    "WATER_ELEMENTS",
    "PDDSettings",
    "WaterElement",
    "WaterNetworkModel",
    "WaterOutage",
    "pdd_defaults",
    "water_outage",
]

WaterElement = Literal["junction", "pipe", "pump", "valve", "tank", "reservoir"]
#: The EPANET element types an asset may map to.
WATER_ELEMENTS: tuple[str, ...] = get_args(WaterElement)

_DEFAULTS_FILE = "data/network/water_pdd.json"
_LAYER = "water_mapping"
_MAPPING_COLUMNS = ("asset_id", "element", "name")
_NAME_LISTS = {
    "junction": "junction_name_list",
    "pipe": "pipe_name_list",
    "pump": "pump_name_list",
    "valve": "valve_name_list",
    "tank": "tank_name_list",
    "reservoir": "reservoir_name_list",
}


def _wntr(purpose: str) -> ModuleType:
    """The ``wntr`` package, or a MissingDependency naming the extra that installs it."""
    return import_optional_dependency("wntr", purpose)


@dataclass(frozen=True)
class PDDSettings:
    """Pressure-dependent demand settings of a simulation.

    Attributes
    ----------
    minimum_pressure_m
        Pressure head (m) at or below which a junction receives no water.
    required_pressure_m
        Pressure head (m) at or above which a junction receives its full demand.
    pressure_exponent
        Exponent of the pressure–demand relation between the two (Wagner et al. 1988).
    served_fraction
        Satisfaction below which the people at a junction count as affected (assumption).
    """

    minimum_pressure_m: float
    required_pressure_m: float
    pressure_exponent: float
    served_fraction: float

    def problems(self) -> list[Problem]:
        """Every broken rule of the settings (empty when valid)."""
        out = []
        values = (self.minimum_pressure_m, self.required_pressure_m, self.pressure_exponent)
        if not all(np.isfinite(values)) or self.minimum_pressure_m < 0:
            out.append(
                Problem("pdd_settings", "minimum_pressure_m", "finite pressures, minimum >= 0")
            )
        elif self.required_pressure_m <= self.minimum_pressure_m:
            out.append(
                Problem(
                    "pdd_settings",
                    "required_pressure_m",
                    "a required pressure above the minimum pressure",
                    found=f"{self.required_pressure_m} <= {self.minimum_pressure_m}",
                )
            )
        if not (np.isfinite(self.pressure_exponent) and self.pressure_exponent > 0):
            out.append(Problem("pdd_settings", "pressure_exponent", "a finite number > 0"))
        if not 0 < self.served_fraction <= 1:
            out.append(Problem("pdd_settings", "served_fraction", "a fraction in (0, 1]"))
        return out


@cache
def pdd_defaults() -> PDDSettings:
    """The default PDD settings from ``data/network/water_pdd.json`` (sources in the file)."""
    with resources.as_file(resources.files("resilientcity").joinpath(_DEFAULTS_FILE)) as path:
        spec = read_data_file(path, "water PDD defaults")
    return PDDSettings(
        minimum_pressure_m=float(spec["minimum_pressure_m"]),
        required_pressure_m=float(spec["required_pressure_m"]),
        pressure_exponent=float(spec["pressure_exponent"]),
        served_fraction=float(spec["served_fraction"]),
    )


def _mapping_problems(wn: Any, mapping: pd.DataFrame, asset_ids: set[str]) -> list[Problem]:
    """Every problem of the mapping against the network and the twin (empty when valid)."""
    missing = [c for c in _MAPPING_COLUMNS if c not in mapping.columns]
    if missing:
        return [Problem(_LAYER, c, "a column of the mapping", found="missing") for c in missing]
    if len(mapping) == 0:
        return [Problem(_LAYER, "", "at least one asset mapped to a network element", found="none")]
    frame = mapping[list(_MAPPING_COLUMNS)].astype(str)
    labels = np.array([f"{a} → {e} {n}" for a, e, n in frame.itertuples(index=False)], dtype=object)
    problems = []
    bad_kind = ~frame["element"].isin(WATER_ELEMENTS).to_numpy()
    if bad_kind.any():
        problems.append(
            Problem(
                _LAYER, "element", f"one of {', '.join(WATER_ELEMENTS)}", tuple(labels[bad_kind])
            )
        )
    names = {e: set(getattr(wn, attr)) for e, attr in _NAME_LISTS.items()}
    unknown = np.array(
        [
            not bad and n not in names[e]
            for e, n, bad in zip(frame["element"], frame["name"], bad_kind, strict=True)
        ],
        dtype=bool,
    )
    if unknown.any():
        problems.append(
            Problem(
                _LAYER,
                "name",
                "the name of an element of that type in the EPANET model",
                tuple(labels[unknown]),
            )
        )
    not_in_twin = ~frame["asset_id"].isin(asset_ids).to_numpy()
    if not_in_twin.any():
        problems.append(
            Problem(
                _LAYER, "asset_id", "an asset_id of the twin's assets", tuple(labels[not_in_twin])
            )
        )
    dup = frame.duplicated(keep="first").to_numpy()
    if dup.any():
        problems.append(Problem(_LAYER, "", "each asset–element pair once", tuple(labels[dup])))
    if not (frame["element"] == "junction").any():
        problems.append(
            Problem(
                _LAYER,
                "element",
                "at least one asset mapped to a junction (the consumers whose service is reported)",
                found="none",
            )
        )
    return problems


def _zone_problems(wn: Any, junction_zones: pd.Series) -> list[Problem]:
    unknown = sorted(set(junction_zones.index.astype(str)) - set(wn.junction_name_list))
    if unknown:
        return [
            Problem("junction_zones", "junction", "a junction of the EPANET model", tuple(unknown))
        ]
    return []


class WaterNetworkModel:
    """A WNTR water network model tied to the twin's assets by a mapping table.

    Parameters
    ----------
    wn
        The :class:`wntr.network.WaterNetworkModel`; never modified (outages work on a copy).
    mapping
        Asset ↔ element table (``asset_id``, ``element``, ``name``; see the module docstring).
    twin
        The city, or its assets frame (needs ``asset_id`` and ``occupants``; ``zone_id`` is used
        for the zone of a junction when ``junction_zones`` does not give it).
    junction_zones
        Optional junction name → ``zone_id`` table (a mapping or a Series indexed by junction);
        it takes precedence over the zones of the assets at the junction.

    Raises
    ------
    ValidationError
        Every problem at once: mapping columns missing, unknown element types, names not in the
        model, asset ids not in the twin, duplicated pairs, no junction mapped, zone table
        junctions not in the model.
    MissingDependency
        WNTR is not installed.
    """

    def __init__(
        self,
        wn: Any,
        mapping: pd.DataFrame,
        twin: City | pd.DataFrame,
        junction_zones: Mapping[str, str] | pd.Series | None = None,
    ) -> None:
        _wntr("the WNTR adapter")
        assets = twin_assets(twin)
        zones = pd.Series(junction_zones if junction_zones is not None else {}, dtype="str")
        problems = _mapping_problems(wn, mapping, set(assets["asset_id"].astype(str)))
        problems += _zone_problems(wn, zones)
        if problems:
            raise ValidationError(problems, what="water network model")
        self.wn = wn
        self.mapping = mapping[list(_MAPPING_COLUMNS)].astype(str).reset_index(drop=True)
        self.assets = assets
        self.junction_zones = zones

    @classmethod
    def from_inp(
        cls,
        path: str | PathLike[str],
        mapping: pd.DataFrame,
        twin: City | pd.DataFrame,
        junction_zones: Mapping[str, str] | pd.Series | None = None,
    ) -> WaterNetworkModel:
        """Read an EPANET ``.inp`` file with WNTR and tie it to the twin.

        Raises
        ------
        DataFileError
            The file is missing or WNTR cannot read it.
        """
        wntr = _wntr("reading an EPANET model")
        source = Path(path)
        if not source.is_file():
            raise DataFileError(f"no such EPANET model file: {source}")
        try:
            wn = wntr.network.WaterNetworkModel(str(source))
        except Exception as exc:  # WNTR raises ENSyntaxError, KeyError, ValueError, … on bad files
            raise DataFileError(f"{source} is not a readable EPANET model: {exc}") from exc
        return cls(wn, mapping, twin, junction_zones)

    def elements_of(self, asset_ids: Iterable[str], element: str) -> list[str]:
        """Names of the elements of type ``element`` the given assets map to (mapping order)."""
        ids = set(asset_ids)
        rows = self.mapping[
            (self.mapping["element"] == element) & self.mapping["asset_id"].isin(ids)
        ]
        return list(dict.fromkeys(rows["name"]))

    def junction_zone(self) -> pd.Series:
        """``zone_id`` of each junction that has one (index = junction name).

        From ``junction_zones`` where given, otherwise the zone of the asset with the most
        occupants among those mapped to the junction.
        """
        if "zone_id" in self.assets.columns:
            rows = self.mapping[self.mapping["element"] == "junction"].merge(
                self.assets[["asset_id", "zone_id", "occupants"]].astype({"asset_id": str}),
                on="asset_id",
            )
            rows = rows.sort_values(["name", "occupants"], ascending=[True, False], kind="stable")
            from_assets = rows.drop_duplicates("name").set_index("name")["zone_id"].astype(str)
        else:
            from_assets = pd.Series(dtype="str")
        zones = pd.concat(
            [from_assets[~from_assets.index.isin(self.junction_zones.index)], self.junction_zones]
        )
        return zones[zones != ""].rename("zone_id").rename_axis("junction")


@dataclass(frozen=True)
class WaterOutage:
    """The water service after an outage.

    Attributes
    ----------
    junctions
        Index = junction name; ``expected_m3`` and ``delivered_m3`` (volumes over the
        simulation), ``satisfaction`` (delivered / expected in [0, 1], NaN without demand),
        ``zone_id`` (``""`` when unknown).
    zones
        Index = ``zone_id``; ``expected_m3``, ``delivered_m3``, ``satisfaction`` over the
        junctions of the zone.
    assets
        One row per asset mapped to a junction: ``asset_id``, ``junction``, ``satisfaction``,
        ``occupants``, ``served`` (satisfaction >= ``settings.served_fraction``; an asset at a
        junction without demand counts as served).
    people_affected
        Sum of ``occupants`` of the assets not served.
    closed_pipes, closed_pumps
        The EPANET links closed for the simulation.
    settings
        The PDD settings used.
    duration_h
        Simulated hours.
    """

    junctions: pd.DataFrame
    zones: pd.DataFrame
    assets: pd.DataFrame
    people_affected: float
    closed_pipes: tuple[str, ...]
    closed_pumps: tuple[str, ...]
    settings: PDDSettings
    duration_h: float


def _links_to_close(
    model: WaterNetworkModel, broken_pipes: Iterable[str], pumps_without_power: Iterable[str]
) -> tuple[list[str], list[str]]:
    """Pipe and pump names of the given assets, after checks."""
    known = set(model.assets["asset_id"].astype(str))
    problems = []
    found: dict[str, list[str]] = {}
    for layer, ids, element in (
        ("broken_pipes", list(map(str, broken_pipes)), "pipe"),
        ("pumps_without_power", list(map(str, pumps_without_power)), "pump"),
    ):
        unknown = tuple(a for a in ids if a not in known)
        if unknown:
            problems.append(Problem(layer, "asset_id", "an asset_id of the twin", unknown))
        mapped = set(model.mapping.loc[model.mapping["element"] == element, "asset_id"])
        unmapped = tuple(a for a in ids if a in known and a not in mapped)
        if unmapped:
            problems.append(
                Problem(
                    layer,
                    "asset_id",
                    f"an asset mapped to a {element} of the EPANET model",
                    unmapped,
                    found=f"no {element} row in the water mapping",
                )
            )
        found[element] = model.elements_of(ids, element)
    if problems:
        raise ValidationError(problems, what="water network outage")
    return found["pipe"], found["pump"]


def _close_links(wntr: ModuleType, wn: Any, names: Iterable[str]) -> None:
    """Close each link for the whole simulation, removing the controls that act on it."""
    names = set(names)
    for control_name in list(wn.control_name_list):
        control = wn.get_control(control_name)
        if any(action.target()[0].name in names for action in control.actions()):
            wn.remove_control(control_name)
    for name in names:
        wn.get_link(name).initial_status = wntr.network.LinkStatus.Closed


def _configure(wn: Any, settings: PDDSettings, duration_s: int, step_s: int) -> None:
    hydraulic = wn.options.hydraulic
    hydraulic.demand_model = "PDD"
    hydraulic.minimum_pressure = settings.minimum_pressure_m
    hydraulic.required_pressure = settings.required_pressure_m
    hydraulic.pressure_exponent = settings.pressure_exponent
    time = wn.options.time
    time.duration = duration_s
    time.hydraulic_timestep = step_s
    time.report_timestep = step_s
    time.report_start = 0


def _check_times(duration_h: float, timestep_s: int) -> tuple[int, int]:
    problems = []
    if not (np.isfinite(duration_h) and duration_h > 0):
        problems.append(
            Problem("water_outage", "duration_h", "a finite number > 0", found=str(duration_h))
        )
    if not (isinstance(timestep_s, int | np.integer) and timestep_s > 0):
        problems.append(
            Problem("water_outage", "timestep_s", "an integer > 0 (seconds)", found=str(timestep_s))
        )
    if problems:
        raise ValidationError(problems, what="water network outage")
    duration_s = round(duration_h * 3600)
    if duration_s % timestep_s:
        raise ValidationError(
            [
                Problem(
                    "water_outage",
                    "duration_h",
                    f"a whole number of time steps of {timestep_s} s",
                    found=f"{duration_s} s",
                )
            ],
            what="water network outage",
        )
    return duration_s, int(timestep_s)


def water_outage(
    model: WaterNetworkModel,
    broken_pipes: Iterable[str] = (),
    pumps_without_power: Iterable[str] = (),
    duration_h: float = 24.0,
    *,
    timestep_s: int = 3600,
    settings: PDDSettings | None = None,
) -> WaterOutage:
    """Simulate the network with broken pipes and unpowered pumps; report demand satisfaction.

    Parameters
    ----------
    model
        The water network and its mapping to the twin.
    broken_pipes
        Asset ids whose pipes are broken (closed for the whole simulation).
    pumps_without_power
        Asset ids whose pumps have no power (closed for the whole simulation); e.g. pump
        stations without power from :mod:`resilientcity.network.power_grid` or the cascade.
    duration_h
        Simulated hours from the model's start time (a whole number of time steps).
    timestep_s
        Hydraulic and report time step, s.
    settings
        PDD pressures and the served threshold; :func:`pdd_defaults` when ``None``.

    Returns
    -------
    WaterOutage
        Satisfaction per junction, zone and asset; people affected.

    Raises
    ------
    ValidationError
        A broken pipe or pump id is not an asset of the twin or maps to no pipe / pump of the
        model; bad settings or times.
    RuntimeError
        WNTR's solver did not converge (WNTR's own message).
    """
    wntr = _wntr("a WNTR water outage simulation")
    settings = settings or pdd_defaults()
    if problems := settings.problems():
        raise ValidationError(problems, what="PDD settings")
    duration_s, step_s = _check_times(duration_h, timestep_s)
    pipes, pumps = _links_to_close(model, broken_pipes, pumps_without_power)
    wn = copy.deepcopy(model.wn)
    _configure(wn, settings, duration_s, step_s)
    _close_links(wntr, wn, pipes + pumps)
    results = wntr.sim.WNTRSimulator(wn).run_sim()
    junctions = _junction_service(wntr, wn, results, duration_s, model.junction_zone())
    assets = _asset_service(model, junctions, settings.served_fraction)
    return WaterOutage(
        junctions=junctions,
        zones=_zone_service(junctions),
        assets=assets,
        people_affected=float(assets.loc[~assets["served"], "occupants"].sum()),
        closed_pipes=tuple(pipes),
        closed_pumps=tuple(pumps),
        settings=settings,
        duration_h=duration_s / 3600,
    )


def _junction_service(
    wntr: ModuleType, wn: Any, results: Any, duration_s: int, zone: pd.Series
) -> pd.DataFrame:
    names = list(wn.junction_name_list)
    step = wn.options.time.report_timestep
    expected = wntr.metrics.expected_demand(wn)[names]
    delivered = results.node["demand"][names]
    expected = expected[expected.index < duration_s]
    delivered = delivered.reindex(expected.index)
    exp_m3 = expected.sum(axis=0).to_numpy(dtype=np.float64) * step
    got_m3 = delivered.sum(axis=0).to_numpy(dtype=np.float64) * step
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(exp_m3 > 0, np.clip(got_m3 / exp_m3, 0.0, 1.0), np.nan)
    out = pd.DataFrame(
        {"expected_m3": exp_m3, "delivered_m3": got_m3, "satisfaction": ratio},
        index=pd.Index(names, name="junction"),
    )
    out["zone_id"] = zone.reindex(out.index).fillna("").astype(str).to_numpy()
    return out


def _zone_service(junctions: pd.DataFrame) -> pd.DataFrame:
    zoned = junctions[junctions["zone_id"] != ""]
    sums = zoned.groupby("zone_id", sort=True)[["expected_m3", "delivered_m3"]].sum()
    exp = sums["expected_m3"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        sums["satisfaction"] = np.where(
            exp > 0, np.clip(sums["delivered_m3"].to_numpy() / exp, 0.0, 1.0), np.nan
        )
    return sums


def _asset_service(
    model: WaterNetworkModel, junctions: pd.DataFrame, served: float
) -> pd.DataFrame:
    rows = model.mapping[model.mapping["element"] == "junction"]
    out = pd.DataFrame(
        {"asset_id": rows["asset_id"].to_numpy(), "junction": rows["name"].to_numpy()}
    )
    out["satisfaction"] = junctions["satisfaction"].reindex(out["junction"]).to_numpy()
    twin = (
        model.assets[["asset_id", "occupants"]]
        .astype({"asset_id": str})
        .drop_duplicates("asset_id")
    )
    out = out.merge(twin, on="asset_id", how="left", validate="many_to_one")
    sat = out["satisfaction"].to_numpy(dtype=np.float64)
    out["served"] = np.isnan(sat) | (sat >= served)
    return out
