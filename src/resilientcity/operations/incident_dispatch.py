"""Dispatch of rescue teams to the triaged incidents, on the roads as they are now.

:func:`dispatch_incidents` sends rescue teams of the twin's fire stations and hospitals
(:func:`resilientcity.decision.dispatch.rescue_stations`) to the triaged incidents
(:mod:`resilientcity.operations.incidents`), each placed on its nearest road node (of the
largest strongly connected part of the network, like the twin's assets), on the roads
as the river floods them now (intact without an active river warning), keeping the teams
already sent to incidents still ``dispatched`` (:func:`~resilientcity.decision.dispatch.replan`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from resilientcity.decision.dispatch import (
    DispatchPlan,
    dispatch_teams,
    dispatch_travel_minutes,
    replan,
    rescue_stations,
)
from resilientcity.operations.access import Principal, audit
from resilientcity.operations.models import (
    Incident,
    utcnow,
)
from resilientcity.operations.nowcast import live_road_state
from resilientcity.operations.response import Forbidden
from resilientcity.twin.city import City
from resilientcity.twin.roads import attach_to_network

__all__ = ["dispatch_incidents"]


def _nearest_nodes(city: City, lon: Sequence[float], lat: Sequence[float]) -> np.ndarray:
    """Road ``node_id`` of each WGS84 point: the nearest of the largest strongly connected part.

    Straight line in the city's CRS, by the rule of the twin's assets
    (:func:`~resilientcity.twin.roads.attach_to_network`): an incident is never placed on a
    one-way stub that no team can reach.
    """
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326).to_crs(city.crs)
    return attach_to_network(np.column_stack([points.x, points.y]), city.roads)


def _fixed_plan(dispatched: Sequence[Incident]) -> DispatchPlan | None:
    """The teams already sent to incidents still ``dispatched``, as a plan to keep fixed."""
    rows = [
        (str(inc.id), a["station_id"], int(a["teams"]), float(a["travel_min"]))
        for inc in dispatched
        for a in (inc.dispatch or {}).get("stations", [])
    ]
    if not rows:
        return None
    assignments = pd.DataFrame(rows, columns=["incident_id", "station_id", "teams", "travel_min"])
    assignments["fixed"] = True
    served = assignments.groupby("incident_id", sort=False)["teams"].sum()
    incidents = pd.DataFrame(
        {
            "incident_id": served.index.astype(str),
            "priority": 1.0,
            "teams_needed": served.to_numpy(dtype=np.int64),
            "served": True,
            "response_min": np.nan,
            "reason": "",
        }
    )
    stations = pd.DataFrame(columns=["station_id", "teams", "jobs_per_team", "jobs_used"])
    return DispatchPlan(assignments, incidents, stations, {})


def dispatch_incidents(
    session: Session,
    city: City,
    principal: Principal,
    now: datetime | None = None,
    teams_per_station: int = 2,
    jobs_per_team: int = 3,
) -> dict[str, Any]:
    """Send rescue teams to the triaged incidents and record each incident's assignment.

    Each triaged incident is placed on the road node of the twin nearest to it, and needs one
    team, weighted by its triage ``priority`` (1 when not set). The stations are the twin's
    fire stations and hospitals with ``teams_per_station`` teams of ``jobs_per_team`` jobs each
    (assumptions of :func:`~resilientcity.decision.dispatch.rescue_stations`); the teams still on
    incidents ``dispatched`` earlier stay there and use up their stations' jobs. Travel minutes
    are on the roads as the river floods them now
    (:func:`~resilientcity.operations.nowcast.live_road_state`: the highest stage of the active
    river-stage warnings; intact roads without one). Served incidents
    get ``dispatch`` = ``{"stations": [{station_id, kind, teams, travel_min}], "teams",
    "response_min", "node_id", "planned_at"}`` and status ``dispatched``; unserved ones keep
    ``triaged`` with ``dispatch`` = ``{"reason", "node_id", "planned_at"}``.

    Raises
    ------
    Forbidden
        Not an admin or operator.

    Returns
    -------
    dict
        ``planned``, ``served``, ``unserved``, ``mean_response_min`` (``None`` when nothing is
        served), ``roads`` (the flood stage planned on, ``None`` for intact roads, and the
        closed edges; absent when nothing was triaged) and ``incidents``: per incident ``id``,
        ``status``, ``stations`` or ``reason``.
    """
    now = utcnow() if now is None else now
    if principal.role not in ("admin", "operator"):
        raise Forbidden(f"role {principal.role} may not dispatch")
    todo = list(
        session.scalars(
            select(Incident)
            .where(Incident.status == "triaged")
            .order_by(Incident.id)
            .with_for_update()
        )
    )
    summary: dict[str, Any] = {
        "planned": len(todo),
        "served": 0,
        "unserved": 0,
        "mean_response_min": None,
        "incidents": [],
    }
    if not todo:
        return summary
    nodes = _nearest_nodes(city, [i.lon for i in todo], [i.lat for i in todo])
    frame = pd.DataFrame(
        {
            "incident_id": [str(i.id) for i in todo],
            "node_id": nodes,
            "priority": [i.priority if i.priority > 0 else 1.0 for i in todo],
            "teams_needed": 1,
        }
    )
    stations = rescue_stations(city, teams_per_station, jobs_per_team)
    roads, flooded = live_road_state(session, city)
    summary["roads"] = flooded
    minutes = dispatch_travel_minutes(city, roads, stations, frame)
    dispatched = session.scalars(select(Incident).where(Incident.status == "dispatched")).all()
    fixed = _fixed_plan(dispatched)
    known = set(stations["station_id"])
    if fixed is not None and set(fixed.assignments["station_id"]) <= known:
        plan = replan(fixed, frame, stations, minutes)
    else:
        plan = dispatch_teams(frame, stations, minutes)
    _record(todo, nodes, plan, stations, now, summary)
    audit(
        session,
        principal,
        "dispatch",
        "incident",
        "",
        {k: summary[k] for k in ("planned", "served", "unserved", "mean_response_min")},
        now,
    )
    session.flush()
    return summary


def _record(
    todo: Sequence[Incident],
    nodes: np.ndarray,
    plan: DispatchPlan,
    stations: pd.DataFrame,
    now: datetime,
    summary: dict[str, Any],
) -> None:
    """Write each incident's assignment (or reason) and fill ``summary``."""
    kinds = dict(zip(stations["station_id"], stations["kind"], strict=True))
    result = plan.incidents.set_index("incident_id")
    sent = plan.assignments[~plan.assignments["fixed"]]
    responses = []
    for incident, node in zip(todo, nodes, strict=True):
        key = str(incident.id)
        row = result.loc[key].to_dict()
        if bool(row["served"]):
            mine = sent[sent["incident_id"] == key]
            teams = [
                {
                    "station_id": str(a["station_id"]),
                    "kind": str(kinds[a["station_id"]]),
                    "teams": int(a["teams"]),
                    "travel_min": round(float(a["travel_min"]), 2),
                }
                for a in mine.to_dict("records")
            ]
            response = float(row["response_min"])
            incident.dispatch = {
                "stations": teams,
                "teams": sum(t["teams"] for t in teams),
                "response_min": round(response, 2),
                "node_id": int(node),
                "planned_at": now.isoformat(),
            }
            incident.status = "dispatched"
            responses.append(response)
            entry: dict[str, Any] = {"id": incident.id, "status": "dispatched", "stations": teams}
        else:
            reason = str(row["reason"])
            incident.dispatch = {
                "reason": reason,
                "node_id": int(node),
                "planned_at": now.isoformat(),
            }
            entry = {"id": incident.id, "status": incident.status, "reason": reason}
        incident.updated_at = now
        summary["incidents"].append(entry)
    summary["served"] = len(responses)
    summary["unserved"] = len(todo) - len(responses)
    summary["mean_response_min"] = round(float(np.mean(responses)), 2) if responses else None
