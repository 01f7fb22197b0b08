"""Rescue dispatch: teams at fire stations and hospitals → incidents, solved with HiGHS.

**Data.** *Incidents* (``incident_id``, ``node_id``, ``priority`` > 0, ``teams_needed`` ≥ 1 whole,
optional ``arrival_min`` ≥ 0: when it was reported) and *stations* (``station_id``, ``node_id``,
``teams`` ≥ 0 whole, ``jobs_per_team`` ≥ 1 whole: incidents one team can handle in the planning
period) with a ``minutes`` table (index ``station_id``, columns ``incident_id``) of travel
minutes from each station to each incident on the damaged roads
(:func:`dispatch_travel_minutes`; ``inf`` where the roads do not connect them).

**Model** (a MILP built with :class:`~resilientcity.decision.lp.LinearModel`):

* ``x[s, i]`` whole teams of station ``s`` sent to incident ``i``, ``0 ≤ x ≤ min(teams_s,
  teams_needed_i)``, only on pairs the roads connect (within ``max_minutes`` when given);
* ``y[i]`` binary: incident ``i`` is served;
* ``incident_cover``: ``Σ_s x[s, i] = teams_needed_i · y[i]`` (an incident gets all the teams it
  needs or none, so it is served at most once);
* ``station_jobs``: ``Σ_i x[s, i] ≤ teams_s · jobs_per_team_s`` (team capacity never exceeded).

Objectives, lexicographically (:func:`~resilientcity.decision.lp.solve_lexicographic`): first the
largest priority served ``Σ priority_i y[i]``, then the least priority-weighted response time
``Σ priority_i · minutes[s, i] · x[s, i] / teams_needed_i``. The *response time* of an incident
is the mean travel time of the teams sent to it (equal to the travel time when it needs one
team), each team leaving from its own station; waiting between successive jobs of one team is
not modelled (``jobs_per_team`` is a capacity over the planning period).

**Unserved incidents** are reported with their reason: ``no_reachable_team`` (the stations the
roads connect to it, within ``max_minutes``, do not have ``teams_needed`` teams between them even
when all are free) or ``all_teams_busy`` (enough teams could reach it, but they are used on
incidents of higher priority or closer).

**Re-planning** (:func:`replan`): when new incidents arrive, the assignments already dispatched
stay fixed (teams on their way are not recalled); the stations' remaining jobs are their
capacities less the teams already sent, and the model is solved again for the incidents not yet
served (the earlier unserved ones and the new ones).

**Incidents from an impact** (:func:`incidents_from_impact`): buildings with people whose
expected damage ratio reaches ``damage_threshold`` (earthquake, wind) or whose flood depth
reaches ``depth_threshold_m`` (river and pluvial floods), priority = the building's occupants
(the people at risk). Both thresholds are assumptions, see the function.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity.decision.evacuation import shelter_travel_minutes
from resilientcity.decision.lp import LinearModel, Objective, solve_lexicographic
from resilientcity.errors import fail
from resilientcity.impact.results import ScenarioImpact
from resilientcity.twin.city import City

__all__ = [
    "DispatchPlan",
    "dispatch_teams",
    "dispatch_travel_minutes",
    "incidents_from_impact",
    "replan",
    "rescue_stations",
]

#: Asset kinds whose teams do rescue work.
RESCUE_KINDS: tuple[str, ...] = ("fire_station", "hospital")
#: Reasons an incident is not served.
REASONS: tuple[str, ...] = ("no_reachable_team", "all_teams_busy")
_FLOOD_KINDS = ("river_flood", "pluvial_flood")


_fail = partial(fail, what="dispatch input")


@dataclass(frozen=True, eq=False)
class DispatchPlan:
    """A dispatch plan.

    Attributes
    ----------
    assignments
        One row per (station, incident) pair used: ``station_id``, ``incident_id``, ``teams``,
        ``travel_min``, ``fixed`` (True when dispatched by an earlier plan and kept).
    incidents
        One row per incident: ``incident_id``, ``priority``, ``teams_needed``, ``served``,
        ``response_min`` (mean travel minutes of its teams; NaN when unserved), ``reason``
        (``""`` when served, else one of :data:`REASONS`).
    stations
        One row per station: ``station_id``, ``teams``, ``jobs_per_team``, ``jobs_used``.
    totals
        ``served``, ``unserved``, ``priority_served``, ``priority_unserved``,
        ``weighted_response_min`` (Σ priority × response), ``mean_response_min`` (mean over
        served incidents; NaN when none).
    """

    assignments: pd.DataFrame
    incidents: pd.DataFrame
    stations: pd.DataFrame
    totals: dict[str, float]


# --- input checks --------------------------------------------------------------------------------


def _whole(values: pd.Series, minimum: float) -> NDArray[np.bool_]:
    v = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    return np.isfinite(v) & (v >= minimum) & (v == np.round(v))


def _check_incidents(incidents: pd.DataFrame) -> pd.DataFrame:
    need = ["incident_id", "priority", "teams_needed"]
    missing = [c for c in need if c not in incidents.columns]
    if missing:
        _fail("incidents", ", ".join(missing), "columns incident_id, priority, teams_needed")
    out = incidents.reset_index(drop=True).copy()
    out["incident_id"] = out["incident_id"].astype(str)
    ids = out["incident_id"]
    if ids.duplicated().any():
        _fail("incidents", "incident_id", "unique ids", ids[ids.duplicated()].unique())
    prio = pd.to_numeric(out["priority"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~(np.isfinite(prio) & (prio > 0))
    if bad.any():
        _fail("incidents", "priority", "a finite weight > 0", ids[bad])
    bad = ~_whole(out["teams_needed"], 1)
    if bad.any():
        _fail("incidents", "teams_needed", "a whole number of teams >= 1", ids[bad])
    out["priority"] = prio
    out["teams_needed"] = out["teams_needed"].astype(np.int64)
    return out


def _check_stations(stations: pd.DataFrame) -> pd.DataFrame:
    need = ["station_id", "teams", "jobs_per_team"]
    missing = [c for c in need if c not in stations.columns]
    if missing:
        _fail("stations", ", ".join(missing), "columns station_id, teams, jobs_per_team")
    out = stations.reset_index(drop=True).copy()
    out["station_id"] = out["station_id"].astype(str)
    ids = out["station_id"]
    if ids.duplicated().any():
        _fail("stations", "station_id", "unique ids", ids[ids.duplicated()].unique())
    for col, lowest in (("teams", 0), ("jobs_per_team", 1)):
        bad = ~_whole(out[col], lowest)
        if bad.any():
            _fail("stations", col, f"a whole number >= {lowest}", ids[bad])
        out[col] = out[col].astype(np.int64)
    return out


def _minutes_matrix(
    minutes: pd.DataFrame, stations: pd.DataFrame, incidents: pd.DataFrame
) -> NDArray[np.float64]:
    index = pd.Index(minutes.index.astype(str))
    columns = pd.Index(minutes.columns.astype(str))
    rows = index.get_indexer(pd.Index(stations["station_id"]))
    cols = columns.get_indexer(pd.Index(incidents["incident_id"]))
    if (rows < 0).any():
        _fail("minutes", "index", "a row per station_id", stations["station_id"][rows < 0])
    if (cols < 0).any():
        _fail("minutes", "columns", "a column per incident_id", incidents["incident_id"][cols < 0])
    m = minutes.to_numpy(dtype=np.float64)[np.ix_(rows, cols)]
    bad = np.isnan(m) | (m < 0)
    if bad.any():
        where = np.argwhere(bad)
        pairs = [f"{stations['station_id'][r]}->{incidents['incident_id'][c]}" for r, c in where]
        _fail("minutes", "travel_min", "minutes >= 0 (inf when not connected)", pairs)
    return m


# --- the model -----------------------------------------------------------------------------------


def _solve(
    incidents: pd.DataFrame,
    stations: pd.DataFrame,
    minutes: NDArray[np.float64],
    jobs_left: NDArray[np.int64],
    max_minutes: float | None,
    time_limit_s: float | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Solve the MILP; returns the new assignments and the reason per incident ("" = served)."""
    limit = np.inf if max_minutes is None else float(max_minutes)
    teams = stations["teams"].to_numpy(dtype=np.int64)
    need = incidents["teams_needed"].to_numpy(dtype=np.int64)
    prio = incidents["priority"].to_numpy(dtype=np.float64)
    s_of, i_of = np.nonzero(np.isfinite(minutes) & (minutes <= limit) & (teams[:, None] > 0))
    n_inc, n_pairs = len(incidents), s_of.size
    reachable = np.bincount(i_of, weights=np.minimum(teams[s_of], need[i_of]), minlength=n_inc)
    reasons = np.where(reachable >= need, REASONS[1], REASONS[0])
    if n_inc == 0:
        return _assignments([], [], [], [], False), []
    model = LinearModel()
    pair_label = [
        f"{stations['station_id'][s]}->{incidents['incident_id'][i]}"
        for s, i in zip(s_of, i_of, strict=True)
    ]
    x = model.add_variables(
        "teams_sent",
        n_pairs,
        upper=np.minimum(teams[s_of], need[i_of]),
        integer=True,
        labels=pair_label,
    )
    y = model.add_variables(
        "served", n_inc, upper=1.0, integer=True, labels=list(incidents["incident_id"])
    )
    model.add_constraints(
        "incident_cover",
        np.concatenate([i_of, np.arange(n_inc)]),
        np.concatenate([x.index(), y.index()]),
        np.concatenate([np.ones(n_pairs), -need.astype(np.float64)]),
        lower=np.zeros(n_inc),
        upper=np.zeros(n_inc),
        labels=list(incidents["incident_id"]),
        meaning="teams sent = teams needed × served",
    )
    model.add_constraints(
        "station_jobs",
        s_of,
        x.index(),
        np.ones(n_pairs),
        upper=jobs_left.astype(np.float64),
        labels=list(stations["station_id"]),
        meaning="jobs given to a station ≤ its teams × jobs per team",
    )
    response = prio[i_of] * minutes[s_of, i_of] / need[i_of]
    solution = solve_lexicographic(
        model,
        [
            Objective("priority_served", {"served": prio}, sense="max"),
            Objective("weighted_response_min", {"teams_sent": response}),
        ],
        time_limit_s,
    )
    sent = np.rint(solution.value("teams_sent")).astype(np.int64)
    served = np.rint(solution.value("served")).astype(bool)
    used = sent > 0
    table = _assignments(
        stations["station_id"].to_numpy()[s_of[used]].tolist(),
        incidents["incident_id"].to_numpy()[i_of[used]].tolist(),
        sent[used].tolist(),
        minutes[s_of[used], i_of[used]].tolist(),
        False,
    )
    return table, ["" if ok else str(r) for ok, r in zip(served, reasons, strict=True)]


def _assignments(
    station: list[str], incident: list[str], teams: list[int], travel: list[float], fixed: bool
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "station_id": pd.Series(station, dtype=object),
            "incident_id": pd.Series(incident, dtype=object),
            "teams": pd.Series(teams, dtype=np.int64),
            "travel_min": pd.Series(travel, dtype=np.float64),
            "fixed": pd.Series([fixed] * len(station), dtype=bool),
        }
    )


def _plan(
    assignments: pd.DataFrame, incidents: pd.DataFrame, stations: pd.DataFrame
) -> DispatchPlan:
    a = assignments.assign(team_min=assignments["teams"] * assignments["travel_min"])
    per = a.groupby("incident_id")[["teams", "team_min"]].sum()
    inc = incidents[["incident_id", "priority", "teams_needed"]].copy()
    inc["served"] = inc["incident_id"].isin(per.index)
    mean = per["team_min"] / per["teams"]
    inc["response_min"] = inc["incident_id"].map(mean).astype(np.float64)
    inc["reason"] = incidents["reason"].where(~inc["served"], "")
    jobs = a.groupby("station_id")["teams"].sum()
    st = stations[["station_id", "teams", "jobs_per_team"]].copy()
    st["jobs_used"] = st["station_id"].map(jobs).fillna(0).astype(np.int64)
    served = inc[inc["served"]]
    totals = {
        "served": float(inc["served"].sum()),
        "unserved": float((~inc["served"]).sum()),
        "priority_served": float(served["priority"].sum()),
        "priority_unserved": float(inc.loc[~inc["served"], "priority"].sum()),
        "weighted_response_min": float((served["priority"] * served["response_min"]).sum()),
        "mean_response_min": float(served["response_min"].mean()) if len(served) else np.nan,
    }
    return DispatchPlan(assignments.reset_index(drop=True), inc, st, totals)


# --- public API ----------------------------------------------------------------------------------


def dispatch_teams(
    incidents: pd.DataFrame,
    stations: pd.DataFrame,
    minutes: pd.DataFrame,
    *,
    max_minutes: float | None = None,
    time_limit_s: float | None = None,
) -> DispatchPlan:
    """Assign rescue teams to incidents (see the module for the model).

    Parameters
    ----------
    incidents
        ``incident_id``, ``priority`` (> 0), ``teams_needed`` (whole, ≥ 1).
    stations
        ``station_id``, ``teams`` (whole, ≥ 0), ``jobs_per_team`` (whole, ≥ 1).
    minutes
        Travel minutes, index ``station_id``, columns ``incident_id``; ``inf`` = not connected.
    max_minutes
        Pairs with longer travel are not used.
    time_limit_s
        HiGHS time limit per lexicographic stage.

    Returns
    -------
    DispatchPlan

    Raises
    ------
    ValidationError
        Missing columns, repeated ids, bad priorities / team numbers, minutes missing or
        negative (the field and the ids are named).
    """
    inc = _check_incidents(incidents)
    st = _check_stations(stations)
    m = _minutes_matrix(minutes, st, inc)
    jobs = (st["teams"] * st["jobs_per_team"]).to_numpy(dtype=np.int64)
    table, reasons = _solve(inc, st, m, jobs, max_minutes, time_limit_s)
    return _plan(table, inc.assign(reason=reasons), st)


def replan(
    plan: DispatchPlan,
    new_incidents: pd.DataFrame,
    stations: pd.DataFrame,
    minutes: pd.DataFrame,
    *,
    max_minutes: float | None = None,
    time_limit_s: float | None = None,
) -> DispatchPlan:
    """Re-plan when new incidents arrive, keeping the dispatched assignments fixed.

    The teams already sent by ``plan`` stay on their incidents (``fixed`` = True in the new
    plan) and use up their stations' jobs; the incidents ``plan`` left unserved and the new ones
    are assigned to the jobs left, by the same lexicographic model.

    Parameters
    ----------
    plan
        The current plan.
    new_incidents
        New incidents (same columns as for :func:`dispatch_teams`); ids must not repeat the
        plan's.
    stations
        The stations (the same as for the plan).
    minutes
        Travel minutes from every station to the plan's unserved incidents and to the new ones.
    max_minutes, time_limit_s
        As for :func:`dispatch_teams`.

    Returns
    -------
    DispatchPlan
        Every incident of the plan and the new ones.

    Raises
    ------
    ValidationError
        New ids repeating the plan's; fixed assignments from stations not in ``stations``;
        bad input as for :func:`dispatch_teams`.
    """
    new = _check_incidents(new_incidents)
    st = _check_stations(stations)
    old_ids = pd.Index(plan.incidents["incident_id"])
    clash = new["incident_id"][new["incident_id"].isin(old_ids)]
    if len(clash):
        _fail("new_incidents", "incident_id", "ids not already in the plan", clash)
    fixed = plan.assignments.assign(fixed=True)
    unknown = ~fixed["station_id"].isin(st["station_id"])
    if unknown.any():
        _fail("stations", "station_id", "every station of the plan", fixed["station_id"][unknown])
    used = st["station_id"].map(fixed.groupby("station_id")["teams"].sum()).fillna(0)
    jobs = (st["teams"] * st["jobs_per_team"] - used).to_numpy(dtype=np.int64)
    keep = plan.incidents[["incident_id", "priority", "teams_needed"]]
    open_ = pd.concat([keep[~plan.incidents["served"]], new[keep.columns]], ignore_index=True)
    m = _minutes_matrix(minutes, st, open_)
    table, reasons = _solve(open_, st, m, jobs, max_minutes, time_limit_s)
    done = keep[plan.incidents["served"]].assign(reason="")
    every = pd.concat([done, open_.assign(reason=reasons)], ignore_index=True)
    both = pd.concat([fixed, table], ignore_index=True) if len(table) else fixed
    return _plan(both, every, st)


def rescue_stations(
    city: City,
    teams_per_station: int = 2,
    jobs_per_team: int = 3,
    kinds: tuple[str, ...] = RESCUE_KINDS,
) -> pd.DataFrame:
    """Rescue stations of the city: its fire stations and hospitals.

    ``teams_per_station`` and ``jobs_per_team`` are assumptions (the twin holds no roster):
    defaults of 2 teams per station and 3 incidents per team over the planning period, to be
    replaced by the agencies' own numbers.

    Returns
    -------
    pandas.DataFrame
        ``station_id`` (the asset id), ``kind``, ``node_id``, ``teams``, ``jobs_per_team``.
    """
    if teams_per_station < 0 or jobs_per_team < 1:
        _fail(
            "stations",
            "teams_per_station, jobs_per_team",
            "teams >= 0 and jobs per team >= 1",
            found=f"{teams_per_station}, {jobs_per_team}",
        )
    a = city.assets
    mine = a[a["kind"].isin(kinds)]
    return pd.DataFrame(
        {
            "station_id": mine["asset_id"].astype(str).to_numpy(),
            "kind": mine["kind"].astype(str).to_numpy(),
            "node_id": mine["node_id"].to_numpy(dtype=np.int64),
            "teams": np.full(len(mine), teams_per_station, dtype=np.int64),
            "jobs_per_team": np.full(len(mine), jobs_per_team, dtype=np.int64),
        }
    )


def dispatch_travel_minutes(
    city: City,
    state: pd.DataFrame,
    stations: pd.DataFrame,
    incidents: pd.DataFrame,
    max_minutes: float | None = None,
) -> pd.DataFrame:
    """Minutes from every station to every incident on the damaged roads.

    Parameters
    ----------
    city
        The city.
    state
        Edge states (:func:`~resilientcity.network.road_state.edge_state`).
    stations, incidents
        With ``station_id`` / ``incident_id`` and the road ``node_id`` of each.
    max_minutes
        Searches stop there (longer trips come out ``inf``).

    Returns
    -------
    pandas.DataFrame
        Index ``station_id``, columns ``incident_id``; ``inf`` where the roads do not connect.
    """
    for name, frame, key in (
        ("stations", stations, "station_id"),
        ("incidents", incidents, "incident_id"),
    ):
        missing = [c for c in (key, "node_id") if c not in frame.columns]
        if missing:
            _fail(name, ", ".join(missing), f"columns {key}, node_id")
    # shelter_travel_minutes gives origin → destination minutes: stations are the origins here.
    m = shelter_travel_minutes(
        city,
        state,
        stations["node_id"].to_numpy(dtype=np.int64),
        incidents["node_id"].to_numpy(dtype=np.int64),
        max_minutes,
    )
    return pd.DataFrame(
        m,
        index=pd.Index(stations["station_id"].astype(str), name="station_id"),
        columns=pd.Index(incidents["incident_id"].astype(str), name="incident_id"),
    )


def incidents_from_impact(
    city: City,
    impact: ScenarioImpact,
    *,
    damage_threshold: float = 0.5,
    depth_threshold_m: float = 0.5,
    teams_needed: int = 1,
) -> pd.DataFrame:
    """Rescue incidents from a scenario's impact: buildings with people at risk.

    A building (kind ``building``, ``occupants > 0``) is an incident when

    * earthquake or wind: its expected ``damage_ratio`` ≥ ``damage_threshold``. Default 0.5,
      an assumption: the Hazus structural damage ratio of the *extensive* damage state is of
      the order of 50 % (100 % for *complete*; FEMA (2020) Hazus Earthquake Model Technical
      Manual, Hazus 4.2 SP3, structural repair cost ratios of the direct economic loss
      chapter), the state from which
      partial collapse and trapped occupants are expected;
    * river or pluvial flood: its flood depth (``intensity``, m) ≥ ``depth_threshold_m``.
      Default 0.5 m, an assumption: about the depth at which wading adults lose stability in
      moving water and cars float: with 0.5 m/s velocity the Defra/EA FD2320/TR2 hazard rating
      ``HR = d (v + 0.5) + DF`` (HR Wallingford 2006) is 1.0 to 1.5, "danger for some" or
      more, so people stay trapped in the building.

    The priority is the building's occupants (the people at risk, an assumption: no
    distinction by vulnerability).

    Parameters
    ----------
    city
        The city (``asset_id``, ``kind``, ``occupants``, ``node_id``).
    impact
        The scenario impact (``kind`` and per-asset ``intensity``, ``damage_ratio``).
    damage_threshold, depth_threshold_m
        See above.
    teams_needed
        Teams per incident.

    Returns
    -------
    pandas.DataFrame
        ``incident_id`` (``"rescue:<asset_id>"``), ``asset_id``, ``node_id``, ``priority``,
        ``teams_needed``, ``cause`` (``collapse`` or ``flooded``), ordered by priority.
    """
    if not 0 < damage_threshold <= 1:
        _fail("incidents", "damage_threshold", "a ratio in (0, 1]", found=repr(damage_threshold))
    if not depth_threshold_m > 0:
        _fail("incidents", "depth_threshold_m", "a depth > 0 m", found=repr(depth_threshold_m))
    if teams_needed < 1:
        _fail("incidents", "teams_needed", "a whole number >= 1", found=repr(teams_needed))
    a = city.assets.set_index(city.assets["asset_id"].astype(str))
    per = impact.assets.set_index(impact.assets["asset_id"].astype(str))
    missing = per.index.difference(a.index)
    if len(missing):
        _fail("impact", "asset_id", "asset ids of the city", missing)
    a = a.loc[per.index]
    flood = impact.kind in _FLOOD_KINDS
    value = per["intensity"] if flood else per["damage_ratio"]
    limit = depth_threshold_m if flood else damage_threshold
    hit = (a["kind"] == "building") & (a["occupants"] > 0) & (value.astype(float) >= limit)
    sel = a[hit.to_numpy()]
    out = pd.DataFrame(
        {
            "incident_id": "rescue:" + sel.index.to_series(),
            "asset_id": sel.index.to_numpy(),
            "node_id": sel["node_id"].to_numpy(dtype=np.int64),
            "priority": sel["occupants"].to_numpy(dtype=np.float64),
            "teams_needed": np.full(len(sel), teams_needed, dtype=np.int64),
            "cause": "flooded" if flood else "collapse",
        }
    )
    return out.sort_values(["priority", "incident_id"], ascending=[False, True]).reset_index(
        drop=True
    )
