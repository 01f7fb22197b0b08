"""What a city can run: the hazards and stages its layers allow, and why not the others.

A city imported from OpenStreetMap often lacks what the demo city has: a DEM, rivers, hospitals,
warehouses, lifelines. :func:`city_capabilities` says, stage by stage, whether the city can run
it, and what a stage that runs lacks. The scenario run skips what cannot run (with the reason in
the ``skipped`` block of ``summary.json``) instead of failing, and ``twin validate`` warns about
it. A pure function of the city's layers: no scenario, no file.

The requirements, stage by stage:

* ``river_flood``: a DEM (ground elevation) and at least one river centreline (the bathtub water
  surface is set from the river stage);
* ``pluvial_flood``: a DEM (the rain ponds in its depressions);
* ``vs30_from_slope``: an earthquake's site conditions from the topographic slope
  (``vs30: slope``, the default) need a DEM; a number for ``vs30`` needs nothing;
* ``network`` (roads, cascade, recovery): road edges. Without a hospital, a shelter or a fire
  station the minutes to that kind are not measured, and without a hospital isolation is being
  cut off from the main part of the open roads (no hospital to reach;
  :func:`~resilientcity.network.road_access.accessibility`);
* ``evacuation``: the network stage and at least one shelter;
* ``dispatch`` (rescue): the network stage and a fire station or a hospital (the teams start
  there); with one kind only it runs with that kind's teams;
* ``relief``: the evacuation (the sheltered people are the demand) and at least one warehouse
  (the stock);
* ``repair_policies``: the network stage;
* ``assessment``: two units with residents to compare: districts, or H3 cells in a city with
  fewer than two districts with residents
  (:func:`~resilientcity.twin.assessment_units.assessment_units`).

The other hazards (``earthquake`` with a number for ``vs30``, ``wind``, ``raster``) and the
contingency plans run on any city.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from resilientcity.twin.assessment_units import units_problem
from resilientcity.twin.city import City

__all__ = ["STAGES", "Capability", "Stage", "city_capabilities", "hazard_stage"]

Stage = Literal[
    "river_flood",
    "pluvial_flood",
    "vs30_from_slope",
    "network",
    "evacuation",
    "dispatch",
    "relief",
    "repair_policies",
    "assessment",
]
#: The stages :func:`city_capabilities` judges, in run order.
STAGES: tuple[Stage, ...] = get_args(Stage)


@dataclass(frozen=True)
class Capability:
    """Whether a city can run a stage.

    Attributes
    ----------
    missing
        Why the stage cannot run, in words; ``None``: it runs.
    lacking
        What a stage that runs goes without (it runs partly), in words; ``None``: nothing.
    """

    missing: str | None = None
    lacking: str | None = None

    @property
    def runs(self) -> bool:
        """Whether the stage can run (fully or partly)."""
        return self.missing is None


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def city_capabilities(city: City) -> dict[Stage, Capability]:
    """What ``city`` can run, stage by stage (see the module for the requirements).

    Parameters
    ----------
    city
        The city (its assets, roads, zones, rivers and DEM are read, nothing else).

    Returns
    -------
    dict
        Every stage of :data:`STAGES` → its :class:`Capability`: ``missing`` names what the
        city lacks for the stage to run; ``lacking`` what a stage that runs goes without.
    """
    kinds = set(city.assets["kind"].astype(str).unique())
    no_dem = "no DEM (ground elevation)"
    river: str | None = None
    if city.dem is None:
        river = no_dem
    elif len(city.rivers) == 0:
        river = "no river centreline in the city"
    pluvial = f"{no_dem}: the rain ponds in its depressions" if city.dem is None else None
    slope = (
        f"{no_dem}: vs30 from the slope (vs30: slope, the default) needs one; give vs30 as a "
        "number (m/s)"
        if city.dem is None
        else None
    )
    network = Capability("no road edges in the city" if len(city.roads.edges) == 0 else None)
    unmeasured = [k for k in ("hospital", "shelter", "fire_station") if k not in kinds]
    if network.runs and unmeasured:
        names = _join([k.replace("_", " ") for k in unmeasured])
        network = Capability(lacking=f"no {names}: the minutes to that kind are not measured")
    after_network = f"needs the network stage ({network.missing})" if not network.runs else None
    evacuation = Capability(after_network or (None if "shelter" in kinds else "no shelter"))
    stations = [k for k in ("fire_station", "hospital") if k in kinds]
    if after_network or not stations:
        dispatch = Capability(after_network or "no fire station or hospital (the teams' bases)")
    elif len(stations) == 1:
        other = "hospital" if stations[0] == "fire_station" else "fire station"
        dispatch = Capability(lacking=f"no {other}: only the {stations[0].replace('_', ' ')} teams")
    else:
        dispatch = Capability()
    if not evacuation.runs:
        relief = Capability(f"needs the evacuation ({evacuation.missing})")
    else:
        relief = Capability(None if "warehouse" in kinds else "no warehouse (the relief stock)")
    assessment = units_problem(city)
    return {
        "river_flood": Capability(river),
        "pluvial_flood": Capability(pluvial),
        "vs30_from_slope": Capability(slope),
        "network": network,
        "evacuation": evacuation,
        "dispatch": dispatch,
        "relief": relief,
        "repair_policies": Capability(after_network),
        "assessment": Capability(assessment),
    }


def hazard_stage(kind: str, vs30: object = None) -> Stage | None:
    """The stage of :func:`city_capabilities` a hazard (or event set) of ``kind`` needs.

    ``None``: the hazard runs on any city (wind, rasters, an earthquake with a number for
    ``vs30``).
    """
    if kind in ("river_flood", "pluvial_flood"):
        return kind  # type: ignore[return-value]
    if kind == "earthquake" and vs30 == "slope":
        return "vs30_from_slope"
    return None
