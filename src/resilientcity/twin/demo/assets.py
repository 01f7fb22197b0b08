"""Buildings and facilities of the demo city.

Buildings are scattered in proportion to the terrain's density field; their use, height,
footprint, occupants and replacement value follow ``data/demo_assumptions.json`` (every figure
there carries its source or says it is an assumption). Vulnerability classes are Hazus-style
``OCCUPANCY/BUILDING_TYPE`` ids (``RES3/C2H``: multi-family, concrete shear-wall high-rise), and
lifeline classes use Hazus lifeline ids (``ESS1`` substation, ``PWP1`` pumping plant, ``HWB``
bridges), so that the vulnerability library can map them to published curves.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from resilientcity.twin.demo.terrain import Terrain


@cache
def assumptions() -> dict[str, Any]:
    """Values of ``data/demo_assumptions.json`` by key (sources stay in the file)."""
    text = (
        resources.files("resilientcity").joinpath("data/demo_assumptions.json").read_text("utf-8")
    )
    return {k: v["value"] for k, v in json.loads(text).items() if isinstance(v, dict)}


def sample_points(
    terrain: Terrain, n: int, rng: np.random.Generator, weight: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """``n`` points (local metres) drawn cell-wise in proportion to ``weight`` (default density)."""
    w = (terrain.density if weight is None else weight).ravel()
    cells = rng.choice(w.size, size=n, p=w / w.sum())
    rows, cols = np.divmod(cells, terrain.density.shape[1])
    t = terrain.transform
    x = t.c + (cols + rng.random(n)) * t.a
    y = t.f + (rows + rng.random(n)) * t.e
    return np.column_stack([x, y])


def density_at(terrain: Terrain, xy: NDArray[np.float64]) -> NDArray[np.float64]:
    """Density relative to its maximum (0–1) at points."""
    return terrain.at(terrain.density, xy) / terrain.density.max()


def _lognormal(
    rng: np.random.Generator, median: NDArray[np.float64] | float, n: int, sigma: float = 0.45
) -> NDArray[np.float64]:
    return np.asarray(median) * np.exp(sigma * rng.standard_normal(n))


#: Buildings are drawn in proportion to density ** this: flatter than the residents (density ** 1),
#: so that buildings in the core are larger than in the suburbs and villages.
BUILDING_COUNT_EXPONENT = 0.8
MIN_FLOOR_AREA_M2 = 60.0


def target_residents(terrain: Terrain) -> float:
    """Residents the city should hold: the density field times residents per km² at density 1."""
    cell_km2 = terrain.transform.a * -terrain.transform.e / 1e6
    return float(terrain.density.sum() * cell_km2 * assumptions()["residents_per_km2_at_density_1"])


def make_buildings(terrain: Terrain, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` buildings with use, storeys, floor area, occupants and value.

    Returns
    -------
    pandas.DataFrame
        Columns ``x``, ``y`` (local m) and the ``assets`` schema's attribute columns.
    """
    a = assumptions()
    xy = sample_points(terrain, n, rng, terrain.density**BUILDING_COUNT_EXPONENT)
    u = density_at(terrain, xy)
    draw = rng.random(n)
    p_com = 0.04 + 0.22 * u
    p_ind = 0.16 * (1 - u) ** 2
    p_pub = np.full(n, 0.04)
    occupancy = np.full(n, "residential", dtype=object)
    occupancy[draw < p_com] = "commercial"
    occupancy[(draw >= p_com) & (draw < p_com + p_ind)] = "industrial"
    occupancy[(draw >= p_com + p_ind) & (draw < p_com + p_ind + p_pub)] = "public"

    # Residential height class: high-rise likelier where the city is dense.
    h = rng.random(n)
    p_high = 0.03 + 0.45 * u
    p_mid = 0.25 + 0.1 * u
    res_class = np.where(
        h < p_high,
        "residential_high",
        np.where(h < p_high + p_mid, "residential_mid", "residential_low"),
    )
    tower = (occupancy == "commercial") & (rng.random(n) < 0.35 * u)
    cls = np.where(occupancy == "residential", res_class, occupancy).astype(object)
    storey_key = np.where(tower, "commercial_tower", cls)

    storeys = np.zeros(n, dtype=np.int64)
    for key, (lo, hi) in a["storeys_range"].items():
        m = storey_key == key
        storeys[m] = rng.integers(lo, hi + 1, size=int(m.sum()))
    median_fp = pd.Series(cls).map(a["footprint_m2_median"]).to_numpy(dtype=np.float64)
    footprint = np.clip(_lognormal(rng, median_fp, n), 40.0, 40_000.0)
    floor_area = np.round(footprint * storeys, 1)

    # Floor areas are scaled so that the residents match the density field: more buildings on
    # the same land means smaller buildings, not more people.
    residential = occupancy == "residential"
    raw = (
        float(floor_area[residential].sum())
        / a["floor_area_per_resident_m2"]
        * a["residential_occupancy_rate"]
    )
    scale = target_residents(terrain) / max(raw, 1.0)
    floor_area = np.round(np.maximum(floor_area * scale, MIN_FLOOR_AREA_M2), 1)

    per_worker = pd.Series(occupancy).map(a["floor_area_per_worker_m2"]).to_numpy(dtype=np.float64)
    capacity = np.where(
        residential,
        floor_area / a["floor_area_per_resident_m2"],
        floor_area / np.nan_to_num(per_worker, nan=1.0),
    )
    occupants = np.where(residential, capacity * a["residential_occupancy_rate"], capacity)
    cost = pd.Series(cls).map(a["structure_cost_cny_per_m2"]).to_numpy(dtype=np.float64)
    contents = pd.Series(occupancy).map(a["contents_to_structure_ratio"]).to_numpy(dtype=np.float64)
    value = np.round(floor_area * cost * (1 + contents), -2)

    vuln = np.empty(n, dtype=object)
    vuln[residential & (storeys >= 8)] = "RES3/C2H"
    vuln[residential & (storeys >= 4) & (storeys < 8)] = "RES3/C2M"
    vuln[residential & (storeys < 4)] = "RES1/URML"
    com = occupancy == "commercial"
    vuln[com & (storeys >= 8)] = "COM4/C2H"
    vuln[com & (storeys >= 4) & (storeys < 8)] = "COM4/C2M"
    vuln[com & (storeys < 4)] = "COM1/C1L"
    vuln[occupancy == "industrial"] = "IND2/S3"
    vuln[occupancy == "public"] = "GOV1/C2M"
    sector = pd.Series(occupancy).map(
        {
            "residential": "housing",
            "commercial": "economy",
            "industrial": "economy",
            "public": "public_services",
        }
    )
    return pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "kind": "building",
            "sector": sector.to_numpy(dtype=object),
            "name": "",
            "occupancy": occupancy,
            "storeys": storeys,
            "floor_area_m2": floor_area,
            "value": value,
            "occupants": np.round(occupants, 2),
            "capacity": np.round(capacity, 2),
            "vuln": vuln,
        }
    )


def _facility(
    kind: str, sector: str, xy: NDArray[np.float64], prefix: str, names: list[str], **cols: Any
) -> pd.DataFrame:
    n = len(xy)
    frame = pd.DataFrame(
        {
            "asset_id": [f"{prefix}{i + 1:03d}" for i in range(n)],
            "x": xy[:, 0],
            "y": xy[:, 1],
            "kind": kind,
            "sector": sector,
            "name": names,
            "occupancy": "infrastructure",
            "storeys": 0,
            "floor_area_m2": 0.0,
            "value": 0.0,
            "occupants": 0.0,
            "capacity": 0.0,
            "vuln": "",
        }
    )
    for col, value in cols.items():
        frame[col] = value
    return frame


def make_facilities(terrain: Terrain, population: float, rng: np.random.Generator) -> pd.DataFrame:
    """Hospitals, shelters, fire stations, warehouses, power, water and telecom assets.

    Counts scale with ``population`` (residents) and the built-up area; sizes, values and
    classes come from the ``facilities`` table of ``data/demo_assumptions.json``.
    """
    a = assumptions()
    spec = a["facilities"]
    out: list[pd.DataFrame] = []
    dense = terrain.density**2  # facilities gather where people are

    def count(per: float, minimum: int) -> int:
        return max(minimum, round(population / per))

    def names(label: str, n: int) -> list[str]:
        return [f"{label} {i + 1}" for i in range(n)]

    def building_value(s: dict[str, Any], floor: Any) -> Any:
        return floor * s["structure_cost_cny_per_m2"] * (1 + s["contents_to_structure_ratio"])

    s = spec["hospital"]
    n = count(a["people_per_hospital"], 2)
    beds = _lognormal(rng, 1.0, n, 0.8)
    beds = np.maximum(
        np.round(beds / beds.sum() * population / 1000 * a["hospital_beds_per_1000"]), 20
    )
    floor = beds * s["floor_area_per_bed_m2"]
    lo, hi = s["storeys_range"]
    out.append(
        _facility(
            "hospital", "medical", sample_points(terrain, n, rng, dense), "HOS", names("Hospital", n),
            occupancy="public", storeys=rng.integers(lo, hi + 1, n), floor_area_m2=floor,
            value=building_value(s, floor), occupants=beds * s["occupants_per_bed"], capacity=beds,
            vuln=s["vuln"],
        )
    )  # fmt: skip
    s = spec["shelter"]
    n = count(a["people_per_shelter"], 3)
    area = np.clip(
        _lognormal(rng, s["effective_area_m2_median"], n, 0.7), *s["effective_area_m2_range"]
    )
    out.append(
        _facility(
            "shelter", "public_services", sample_points(terrain, n, rng), "SHL", names("Emergency shelter", n),
            occupancy="public", value=np.round(area * s["open_space_cost_cny_per_m2"], -2),
            capacity=np.floor(area / a["shelter_m2_per_person"]), vuln=s["vuln"],
        )
    )  # fmt: skip
    s = spec["fire_station"]
    built_km2 = (
        float((terrain.density > 0.05 * terrain.density.max()).sum()) * terrain.transform.a**2 / 1e6
    )
    n = max(2, int(np.ceil(built_km2 / a["fire_station_area_km2"])))
    lo, hi = s["engines_range"]
    out.append(
        _facility(
            "fire_station", "public_services", sample_points(terrain, n, rng, np.sqrt(terrain.density)), "FIR",
            names("Fire station", n), occupancy="public", storeys=s["storeys"], floor_area_m2=s["floor_area_m2"],
            value=building_value(s, s["floor_area_m2"]), occupants=s["occupants"],
            capacity=rng.integers(lo, hi + 1, n).astype(float), vuln=s["vuln"],
        )
    )  # fmt: skip
    s = spec["warehouse"]
    n = count(a["people_per_warehouse"], 2)
    out.append(
        _facility(
            "warehouse", "public_services", sample_points(terrain, n, rng, np.sqrt(terrain.density)), "WH",
            names("Relief reserve", n), occupancy="public", storeys=s["storeys"], floor_area_m2=s["floor_area_m2"],
            value=building_value(s, s["floor_area_m2"]), occupants=s["occupants"],
            capacity=np.round(rng.uniform(s["stock_m3_range"][0], s["stock_m3_range"][1], n), -2), vuln=s["vuln"],
        )
    )  # fmt: skip
    for key, per, minimum, prefix, label, weight in (
        (
            "substation_220kv",
            "people_per_220kv_substation",
            2,
            "SS220-",
            "220 kV substation",
            np.sqrt(terrain.density),
        ),
        ("substation_110kv", "people_per_110kv_substation", 3, "SS110-", "110 kV substation", None),
    ):
        s = spec[key]
        n = count(a[per], minimum)
        out.append(
            _facility(
                "substation", "energy", sample_points(terrain, n, rng, weight), prefix, names(label, n),
                value=s["value_cny"], capacity=s["capacity_mva"], vuln=s["vuln"],
            )
        )  # fmt: skip
    s = spec["water_plant"]
    nw = count(a["people_per_water_plant"], 1)
    river = np.asarray(terrain.main_river.coords)
    south = river[(river[:, 1] > 0.05 * river[-1, 1]) & (river[:, 1] < 0.35 * river[-1, 1])]
    pick = south[rng.choice(len(south), nw, replace=False)] + (
        terrain.river_width_m / 2 + 250.0,
        0.0,
    )
    out.append(
        _facility(
            "water_plant", "water", pick, "WP", names("Water plant", nw), value=s["value_cny"],
            capacity=np.round(population / nw * s["daily_m3_per_resident"], -3), occupants=s["occupants"],
            vuln=s["vuln"],
        )
    )  # fmt: skip
    s = spec["pump_station"]
    n = count(a["people_per_pump_station"], 3)
    out.append(
        _facility(
            "pump_station", "water", sample_points(terrain, n, rng), "PS", names("Pump station", n),
            value=s["value_cny"], capacity=np.round(rng.uniform(s["capacity_m3h_range"][0], s["capacity_m3h_range"][1], n), -1),
            occupants=s["occupants"], vuln=s["vuln"],
        )
    )  # fmt: skip
    s = spec["telecom"]
    n = count(a["people_per_telecom_site"], 3)
    out.append(
        _facility(
            "telecom", "communications", sample_points(terrain, n, rng), "TEL", names("Telecom site", n),
            value=s["value_cny"], capacity=np.round(population / n, -2), vuln=s["vuln"],
        )
    )  # fmt: skip
    return pd.concat(out, ignore_index=True)
