"""Sector service levels in [0, 1], per zone (district) and for the whole city.

Each sector's level is a weighted share of "served" over "all" among the assets that measure
it, computed per ``assets.zone_id`` and for the whole city:

* energy: buildings weighted by occupants, served when power is supplied;
* water: buildings weighted by occupants, served when water is supplied;
* medical: hospitals and clinics weighted by capacity (beds), served when the facility
  functions; or (*) buildings weighted by occupants, served when ``access_minutes`` is within
  the threshold;
* public_services: shelters weighted by capacity (persons), served when the shelter functions;
* communications: telecom sites weighted by capacity (subscribers), served when they function;
* transport: bridges, one each, served when the bridge functions; or (†) road edges weighted by
  ``length_m``, served when the edge is open;
* housing: residential buildings weighted by occupants, served when not damaged themselves.

(*) when a per-asset ``access_minutes`` (travel time from each building to the nearest
functioning hospital, from the roads module) is given: the share of building occupants within
``medical_access_minutes`` (``data/recovery/recovery_defaults.json``, an assumption). (†) when
road edges are given: the share of road length open (an edge on a bridge asset is open while
the bridge functions, or as ``edge_open`` says); edges carry no zone, so this level is
city-wide only.

"Power supplied" and "water supplied" come from the cascade (:meth:`CascadeResult.supplied`):
a building on a working feeder has power even when the building itself is damaged; housing
counts the people whose homes are not damaged (the displaced are the others). When every
weight of a sector is zero (e.g. capacities unknown), each asset weighs one. A zone without
any asset of a sector has no level for it (no row); a city without any has no such sector,
and energy and water are not measured in a city without any of their supply assets
(:data:`SUPPLY_KINDS`: a building there would count as supplied by nothing, a level of 1 that
says nothing). :func:`sectors_without_assets` names the sectors a city leaves out and why.

The **city level** (sector ``"city"``, zone ``"all"``) is the weighted mean of the sectors'
city-wide levels, with equal weights unless ``weights`` are given (weights of sectors that are
absent are dropped and the rest renormalised). Zone ``"all"`` is the whole city.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from resilientcity.errors import Problem, ValidationError
from resilientcity.network.cascade import CascadeResult

__all__ = [
    "ALL_ZONES",
    "CITY",
    "SECTOR_ORDER",
    "SUPPLY_KINDS",
    "ServiceModel",
    "recovery_defaults",
    "sectors_without_assets",
    "service_levels",
]

#: Zone label of city-wide levels.
ALL_ZONES = "all"
#: Sector label of the city level (mean of the sectors).
CITY = "city"
#: Sectors in output order.
SECTOR_ORDER: tuple[str, ...] = (
    "energy",
    "water",
    "medical",
    "public_services",
    "communications",
    "transport",
    "housing",
)
#: Sectors measured at the buildings and the asset kinds that supply them (``twin.schema``).
SUPPLY_KINDS: dict[str, tuple[str, ...]] = {
    "energy": ("substation", "feeder", "power_plant"),
    "water": ("water_plant", "pump_station"),
}
#: What each other sector is measured on, for the reason it is left out.
_MEASURED_ON: dict[str, str] = {
    "energy": "building",
    "water": "building",
    "medical": "hospital or clinic",
    "public_services": "shelter",
    "communications": "telecom site",
    "transport": "bridge or road edge",
    "housing": "residential building",
}
_DEFAULTS = "data/recovery/recovery_defaults.json"


def recovery_defaults() -> dict[str, Any]:
    """The values of ``data/recovery/recovery_defaults.json`` (``{key: value}``)."""
    text = resources.files("resilientcity").joinpath(_DEFAULTS).read_text("utf-8")
    return {k: v["value"] for k, v in json.loads(text).items() if isinstance(v, dict)}


def _fail(column: str, expected: str, found: str = "") -> None:
    raise ValidationError(
        [Problem("service levels", column, expected, found=found)], what="service level input"
    )


@dataclass(frozen=True)
class _Sector:
    """One sector: which assets (positions), their weights and zone codes (-1: none)."""

    name: str
    members: NDArray[np.intp]
    weight: NDArray[np.float64]
    zone: NDArray[np.intp]
    by_access: bool = False


@dataclass(frozen=True, eq=False)
class ServiceModel:
    """What the service levels are measured on, prepared once per city.

    Use :meth:`build`, then :meth:`levels` for every state (cheap: a few ``bincount`` calls).

    Attributes
    ----------
    zones
        Zone ids (``assets.zone_id``) in code order.
    sectors
        The sectors measured.
    keys
        ``(sector, zone)`` of every level :meth:`levels` returns, city level last.
    """

    zones: tuple[str, ...]
    sectors: tuple[_Sector, ...]
    keys: pd.MultiIndex
    city_weights: NDArray[np.float64]
    access_threshold_min: float
    edge_assets: NDArray[np.intp] | None
    n_assets: int

    @classmethod
    def build(
        cls,
        assets: pd.DataFrame,
        edges: pd.DataFrame | None = None,
        medical_by_access: bool = False,
        weights: Mapping[str, float] | None = None,
        medical_access_minutes: float | None = None,
    ) -> ServiceModel:
        """Prepare the sectors of ``assets`` (and the road ``edges``, when given).

        Parameters
        ----------
        assets
            Assets layer: ``asset_id``, ``kind``, ``occupancy``, ``occupants``, ``capacity``,
            ``zone_id``.
        edges
            Road edges (``length_m`` and ``asset_id``): transport becomes the share of road
            length open; ``None``: the share of functioning bridges.
        medical_by_access
            Medical is the share of building occupants within ``medical_access_minutes`` of a
            functioning hospital (then :meth:`levels` needs ``access_minutes``).
        weights
            Sector → weight of the city level; missing sectors weigh 0. Default: equal.
        medical_access_minutes
            Threshold of the access-based medical level, minutes (default from the data file).
        """
        need = ("asset_id", "kind", "occupancy", "occupants", "capacity", "zone_id")
        missing = [c for c in need if c not in assets.columns]
        if missing:
            _fail(", ".join(missing), "the assets columns " + ", ".join(need))
        zone_codes, zones = pd.factorize(assets["zone_id"].astype(str))
        zone_codes = np.where(assets["zone_id"].astype(str).to_numpy() == "", -1, zone_codes)
        sectors = _sectors(assets, zone_codes, medical_by_access, edges)
        absent = _absent(assets, sectors)
        sectors = [s for s in sectors if s.name not in absent]
        edge_assets = None
        if edges is not None:
            ids = pd.Index(assets["asset_id"].astype(str))
            edge_assets = ids.get_indexer(pd.Index(edges["asset_id"].astype(str)))
        order = {name: i for i, name in enumerate(SECTOR_ORDER)}
        sectors.sort(key=lambda s: order[s.name])
        keys = _keys(sectors, tuple(str(z) for z in zones))
        threshold = (
            float(recovery_defaults()["medical_access_minutes"])
            if medical_access_minutes is None
            else float(medical_access_minutes)
        )
        return cls(
            zones=tuple(str(z) for z in zones),
            sectors=tuple(sectors),
            keys=keys,
            city_weights=_city_weights(sectors, weights),
            access_threshold_min=threshold,
            edge_assets=edge_assets,
            n_assets=len(assets),
        )

    def levels(
        self,
        cascade: CascadeResult,
        edge_open: ArrayLike | None = None,
        access_minutes: ArrayLike | None = None,
    ) -> NDArray[np.float64]:
        """The level of every key of :attr:`keys`, in that order.

        Parameters
        ----------
        cascade
            The state of the assets.
        edge_open
            Bool per road edge (when the model has edges); ``None``: an edge is open unless
            its bridge or segment asset does not function.
        access_minutes
            Per asset, minutes to the nearest functioning hospital (``inf``: none reachable);
            needed when medical is measured by access.
        """
        if cascade.functional.size != self.n_assets:
            _fail(
                "cascade",
                f"a cascade of these {self.n_assets:,} assets",
                f"{cascade.functional.size:,} assets",
            )
        served = {
            "energy": cascade.supplied("power"),
            "water": cascade.supplied("water"),
            "housing": ~cascade.damaged,
        }
        out: list[NDArray[np.float64]] = []
        city = []
        for s in self.sectors:
            ok = self._served(s, cascade, served, edge_open, access_minutes)
            num = np.bincount(s.zone + 1, weights=s.weight * ok, minlength=len(self.zones) + 1)
            den = np.bincount(s.zone + 1, weights=s.weight, minlength=len(self.zones) + 1)
            present = den[1:] > 0
            total = float(num.sum() / den.sum())
            out.append(np.append(num[1:][present] / den[1:][present], total))
            city.append(total)
        # Σ w·level / Σ w, both sums in the same order: full service in every sector gives
        # exactly 1 (the dot product of the normalised weights gave 1 − 2e-16).
        w = self.city_weights
        city_level = float(np.clip(np.sum(w * city) / np.sum(w), 0, 1)) if city else np.nan
        return np.concatenate([*out, [city_level]])

    def _served(
        self,
        s: _Sector,
        cascade: CascadeResult,
        served: dict[str, NDArray[np.bool_]],
        edge_open: ArrayLike | None,
        access_minutes: ArrayLike | None,
    ) -> NDArray[np.bool_]:
        if s.name == "transport" and self.edge_assets is not None:
            return self._edges_open(cascade, edge_open)
        if s.by_access:
            if access_minutes is None:
                _fail("access_minutes", "minutes per asset to the nearest functioning hospital")
            minutes = np.asarray(access_minutes, dtype=float)
            if minutes.shape != (self.n_assets,):
                _fail(
                    "access_minutes",
                    f"one value per asset ({self.n_assets:,})",
                    f"shape {minutes.shape}",
                )
            return np.asarray(minutes[s.members] <= self.access_threshold_min)
        state = served.get(s.name, cascade.functional)
        return state[s.members]

    def _edges_open(self, cascade: CascadeResult, edge_open: ArrayLike | None) -> NDArray[np.bool_]:
        assert self.edge_assets is not None
        if edge_open is not None:
            arr = np.asarray(edge_open)
            if arr.shape != self.edge_assets.shape or arr.dtype != np.bool_:
                _fail(
                    "edge_open",
                    f"a bool per road edge ({self.edge_assets.size:,})",
                    f"{arr.dtype} of shape {arr.shape}",
                )
            return arr
        on_asset = self.edge_assets >= 0
        out = np.ones(self.edge_assets.size, dtype=bool)
        out[on_asset] = cascade.functional[self.edge_assets[on_asset]]
        return out

    def frame(self, values: NDArray[np.float64]) -> pd.DataFrame:
        """The tidy frame (``sector``, ``zone``, ``level``) of one :meth:`levels` result."""
        return pd.DataFrame(
            {
                "sector": self.keys.get_level_values(0),
                "zone": self.keys.get_level_values(1),
                "level": values,
            }
        )


def _sectors(
    assets: pd.DataFrame,
    zone: NDArray[np.intp],
    medical_by_access: bool,
    edges: pd.DataFrame | None = None,
) -> list[_Sector]:
    """Every sector (some perhaps without members); transport on the ``edges`` when given."""
    kind = assets["kind"].astype(str).to_numpy()
    building = kind == "building"
    residential = building & (assets["occupancy"].astype(str).to_numpy() == "residential")
    occupants = assets["occupants"].to_numpy(dtype=np.float64)
    capacity = assets["capacity"].to_numpy(dtype=np.float64)
    hospital = np.isin(kind, ("hospital", "clinic"))
    spec: list[tuple[str, NDArray[np.bool_], NDArray[np.float64]]] = [
        ("energy", building, occupants),
        ("water", building, occupants),
        (
            "medical",
            building if medical_by_access else hospital,
            occupants if medical_by_access else capacity,
        ),
        ("public_services", kind == "shelter", capacity),
        ("communications", kind == "telecom", capacity),
        ("transport", kind == "bridge", np.ones(kind.size)),
        ("housing", residential, occupants),
    ]
    out = []
    for name, mask, weight in spec:
        members = np.flatnonzero(mask)
        w = weight[members]
        if w.sum() <= 0:
            w = np.ones(members.size)
        by_access = medical_by_access and name == "medical"
        out.append(_Sector(name, members, w, zone[members], by_access))
    if edges is not None:
        out = [s for s in out if s.name != "transport"]
        out.append(_edge_sector(edges))
    return out


def sectors_without_assets(
    assets: pd.DataFrame, edges: pd.DataFrame | None = None, medical_by_access: bool = False
) -> dict[str, str]:
    """The sectors of :data:`SECTOR_ORDER` the city has no assets to measure, and why.

    Parameters
    ----------
    assets, edges, medical_by_access
        As :meth:`ServiceModel.build` takes them.

    Returns
    -------
    dict
        Sector → reason in words (``"no energy assets (substation, feeder or power plant)"``),
        in sector order: the sectors :class:`ServiceModel` leaves out.
    """
    zone = np.zeros(len(assets), dtype=np.intp)
    return _absent(assets, _sectors(assets, zone, medical_by_access, edges))


def _absent(assets: pd.DataFrame, sectors: list[_Sector]) -> dict[str, str]:
    kind = assets["kind"].astype(str).to_numpy()
    size = {s.name: s.members.size for s in sectors}
    out: dict[str, str] = {}
    for name in SECTOR_ORDER:
        supply = SUPPLY_KINDS.get(name)
        if supply is not None and not np.isin(kind, supply).any():
            what = ", ".join(k.replace("_", " ") for k in supply)
            out[name] = f"no {name} assets ({what})"
        elif size.get(name, 0) == 0:
            by_access = name == "medical" and any(s.by_access for s in sectors)
            out[name] = f"no {'building' if by_access else _MEASURED_ON[name]}"
    return out


def _edge_sector(edges: pd.DataFrame) -> _Sector:
    if "length_m" not in edges.columns or "asset_id" not in edges.columns:
        _fail("edges", "road edges with length_m and asset_id")
    length = edges["length_m"].to_numpy(dtype=np.float64)
    return _Sector(
        "transport", np.arange(length.size), length, np.full(length.size, -1, dtype=np.intp)
    )


def _keys(sectors: list[_Sector], zones: tuple[str, ...]) -> pd.MultiIndex:
    pairs: list[tuple[str, str]] = []
    for s in sectors:
        present = np.flatnonzero(
            np.bincount(s.zone + 1, weights=s.weight, minlength=len(zones) + 1)[1:] > 0
        )
        pairs += [(s.name, zones[z]) for z in present] + [(s.name, ALL_ZONES)]
    pairs.append((CITY, ALL_ZONES))
    return pd.MultiIndex.from_tuples(pairs, names=["sector", "zone"])


def _city_weights(sectors: list[_Sector], weights: Mapping[str, float] | None) -> Any:
    if weights is None:
        w = np.ones(len(sectors))
    else:
        unknown = sorted(set(weights) - set(SECTOR_ORDER))
        if unknown:
            _fail("weights", "sectors among " + ", ".join(SECTOR_ORDER), ", ".join(unknown))
        w = np.array([float(weights.get(s.name, 0.0)) for s in sectors])
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
            _fail(
                "weights",
                "finite weights >= 0, not all 0 over the sectors present",
                repr(dict(weights)),
            )
    return w


def service_levels(
    assets: pd.DataFrame,
    cascade: CascadeResult,
    *,
    edges: pd.DataFrame | None = None,
    edge_open: ArrayLike | None = None,
    access_minutes: ArrayLike | None = None,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Service level per sector and zone after a cascade.

    Parameters
    ----------
    assets
        Assets layer (the cascade's assets, same order).
    cascade
        The state of the assets (:func:`~resilientcity.network.cascade.run_cascade`).
    edges, edge_open
        Road edges and, optionally, which are open (see :class:`ServiceModel`).
    access_minutes
        Per asset, minutes to the nearest functioning hospital: medical by access.
    weights
        Sector weights of the city level (default equal).

    Returns
    -------
    pandas.DataFrame
        ``sector``, ``zone`` (``assets.zone_id``, or ``"all"`` for the city), ``level`` in
        [0, 1]; the last row is the city level (``"city"``, ``"all"``).
    """
    model = ServiceModel.build(assets, edges, access_minutes is not None, weights)
    return model.frame(model.levels(cascade, edge_open, access_minutes))
