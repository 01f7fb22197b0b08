"""An asset of the twin and what the latest finished scenario run did to it.

``GET /api/assets/{asset_id}`` (any token): the asset's fields, and per hazard and combined
what the latest finished scenario run on the service's twin did to it, with the chain of
causes when it is down (:func:`resilientcity.report.web_layers.cascade_chain`).
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, status
from fastapi import Path as PathParam
from pyproj import Transformer

from resilientcity.api.auth import Authenticated
from resilientcity.api.city_cache import CityCache
from resilientcity.api.scenarios import Jobs, ServiceCity
from resilientcity.report.figures import points_xy
from resilientcity.report.web_layers import cascade_chain, json_ready
from resilientcity.scenario.run import ScenarioRun
from resilientcity.twin.city import City

__all__ = ["asset_details", "router"]

router = APIRouter(tags=["web"])


def _asset_index(city: City) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    x, y = points_xy(city.assets.geometry)
    return pd.Index(city.assets["asset_id"].astype(str)), x, y


_ASSET_INDEX: CityCache[tuple[pd.Index, np.ndarray, np.ndarray]] = CityCache(size=4)
_ASSET_FIELDS = (
    "occupancy",
    "storeys",
    "floor_area_m2",
    "occupants",
    "capacity",
    "zone_id",
    "cell_id",
    "node_id",
)


def _asset(city: City, k: int, x: float, y: float) -> dict[str, Any]:
    row = city.assets.iloc[k]
    lon, lat = Transformer.from_crs(city.crs, "EPSG:4326", always_xy=True).transform(x, y)
    out: dict[str, Any] = {
        "id": str(row["asset_id"]),
        "kind": str(row["kind"]),
        "sector": str(row["sector"]),
        "name": str(row["name"]),
        "x": round(float(x), 1),
        "y": round(float(y), 1),
        "lon": round(float(lon), 6),
        "lat": round(float(lat), 6),
        "value": float(row["value"]),
        "currency": "CNY",
    }
    out.update({c: row[c] for c in _ASSET_FIELDS if c in row.index})
    return dict(json_ready(out, 6))


def _scenario_state(job_id: str, run: ScenarioRun, k: int) -> dict[str, Any]:
    """What the run did to asset number ``k``: per hazard, combined, and the chain of causes."""
    hazards = []
    p_up, loss, damage = 1.0, 0.0, 0.0
    for impact in run.impacts:
        row = impact.assets.iloc[k]
        hazards.append(
            {
                "name": impact.name,
                "kind": impact.kind,
                "unit": impact.unit,
                "intensity": float(row["intensity"]),
                "damage_ratio": float(row["damage_ratio"]),
                "loss": float(row["loss"]),
                "p_functional": float(row["p_functional"]),
                "restoration_days": float(row["restoration_days"]),
            }
        )
        p_up *= float(row["p_functional"])
        loss += float(row["loss"])
        damage = max(damage, float(row["damage_ratio"]))
    out: dict[str, Any] = {
        "scenario_id": job_id,
        "name": run.scenario.name,
        "intensity": hazards[0]["intensity"] if hazards else None,
        "unit": hazards[0]["unit"] if hazards else None,
        "damage_ratio": damage,
        "loss": loss,
        "p_functional": p_up,
        "hazards": hazards,
        "down": False,
        "damage_state": None,
        "cause": "",
        "chain": [],
    }
    stage = run.network
    if stage is not None:
        cascade = stage.cascade
        kinds = run.city.assets["kind"].astype(str).tolist()
        out["down"] = not bool(cascade.functional[k])
        out["damage_state"] = "damaged" if bool(stage.damaged[k]) else "intact"
        out["restoration_days"] = float(stage.restoration_days[k])
        out["cause"] = str(cascade.cause[k])
        out["chain"] = cascade_chain(cascade, kinds, k)
    return dict(json_ready(out, 6))


AssetId = Annotated[str, PathParam(min_length=1, max_length=200, description="assets.asset_id")]


@router.get("/api/assets/{asset_id}")
def asset_details(
    asset_id: AssetId, principal: Authenticated, city: ServiceCity, jobs: Jobs
) -> dict[str, Any]:
    """An asset, and what the latest finished scenario run did to it (``null`` without one).

    When the asset is down, ``scenario.chain`` lists the chain of causes from the asset to the
    one that started it (``asset_id``, ``kind``, ``reason``).
    """
    ids, xs, ys = _ASSET_INDEX.get(city, _asset_index)
    k = int(ids.get_indexer(pd.Index([asset_id]))[0])
    if k < 0:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no asset with id {asset_id}")
    latest = jobs.latest_run()
    scenario = None
    if latest is not None and latest[1].city is city:
        scenario = _scenario_state(latest[0], latest[1], k)
    return {"asset": _asset(city, k, float(xs[k]), float(ys[k])), "scenario": scenario}
