"""Rainstorm hazard from a SWMM model of the drainage network, run with pyswmm.

Where a city has a SWMM (EPA Storm Water Management Model) ``.inp`` model of its drainage
system, with its own rainfall, this replaces the simplified runoff model of
:mod:`resilientcity.hazard.rainstorm`: SWMM routes the storm through the pipes and reports, per
node, the volume that overflowed it (*flooding*: "all water that overflows a node, whether it
ponds or not"). :func:`swmm_flood_events` maps that volume to a ponding depth on the DEM:

* the flood volume ``V`` (m³) of a node spreads over the DEM cells whose centre lies within a
  radius of the node (its own cell always counts) and fills them **from the bottom up**: its
  level ``h`` solves ``Σ cell_area × max(h − z, 0) = V``, so the water gathers in the lowest
  ground around the node and the volume is conserved;
* the radius is ``sqrt(A / π)`` when the node's ponded area ``A`` (m², the ``Aponded`` column of
  ``[JUNCTIONS]``) is given and > 0, otherwise ``radius_m`` (default 50 m, an assumption: about
  half a city block, the street space next to a manhole where overflow collects);
* where the areas of several nodes overlap, a cell takes the deepest of their depths (the
  volumes are not added);
* river channels and cells without data never pond; the result is the maximum over the storm,
  as SWMM's node statistics are.

Assets then take the depth of the DEM cell under them, as for the river flood. Node coordinates
(``[COORDINATES]``) must be in the city's CRS, or ``crs`` names the CRS to reproject them from.
"""

from __future__ import annotations

import math
import tempfile
from functools import partial
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray
from pyproj import CRS, Transformer

from resilientcity._compat import import_optional_dependency
from resilientcity.errors import DataFileError, Problem, ValidationError, fail
from resilientcity.hazard.events import HazardEvents
from resilientcity.hazard.flood import asset_depths, channel_mask
from resilientcity.hazard.ponding import pool_levels
from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM

__all__ = [
    "DEFAULT_RADIUS_M",
    "node_flood_depth",
    "read_swmm_nodes",
    "run_swmm",
    "swmm_flood_events",
]

#: Radius (m) over which a node's flood volume spreads when the model gives no ponded area.
#: Assumption: about half a city block, the street space next to a manhole.
DEFAULT_RADIUS_M = 50.0

#: Cubic metres in a cubic foot: 0.3048³ = 0.028316846592 (exact; 1 ft = 0.3048 m).
_M3_PER_FT3 = 0.3048**3

#: Node sections of a SWMM input file and the column (0-based) of the ponded area, if any.
_NODE_SECTIONS = {"JUNCTIONS": 5, "OUTFALLS": None, "STORAGE": None, "DIVIDERS": None}

_LAYER = "swmm_nodes"


_fail = partial(fail, _LAYER, what="SWMM model")


def _pyswmm() -> Any:
    return import_optional_dependency("pyswmm", "running a SWMM model")


def _sections(path: Path) -> dict[str, list[list[str]]]:
    """The rows (whitespace-split, comments dropped) of each ``[SECTION]`` of an .inp file."""
    if not path.is_file():
        raise DataFileError(f"no such SWMM input file: {path}")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataFileError(f"{path} could not be read: {exc}") from exc
    sections: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().upper(), [])
        elif current is not None:
            current.append(line.split())
    if not sections:
        raise DataFileError(f"{path} is not a SWMM input file: no [SECTION] headers")
    return sections


def read_swmm_nodes(inp_path: str | PathLike[str]) -> pd.DataFrame:
    """The nodes of a SWMM input file with their coordinates and ponded area.

    Parameters
    ----------
    inp_path
        Path of the ``.inp`` file.

    Returns
    -------
    pandas.DataFrame
        One row per node of ``[JUNCTIONS]``, ``[OUTFALLS]``, ``[STORAGE]`` and ``[DIVIDERS]``,
        ``RangeIndex``: ``node_id`` (str), ``x``, ``y`` (``[COORDINATES]``, in the model's
        coordinates; NaN when the node has none), ``ponded_area_m2`` (``Aponded`` of a junction
        in the model's area unit, 0 when not given).

    Raises
    ------
    DataFileError
        Missing or unreadable file, no sections, or a coordinate that is not a number.
    """
    path = Path(inp_path)
    sections = _sections(path)
    ids: list[str] = []
    areas: list[float] = []
    for name, column in _NODE_SECTIONS.items():
        for row in sections.get(name, []):
            ids.append(row[0])
            area = row[column] if column is not None and len(row) > column else "0"
            areas.append(_float(area, path, f"[{name}] {row[0]}"))
    coords = {
        row[0]: (_float(row[1], path, row[0]), _float(row[2], path, row[0]))
        for row in sections.get("COORDINATES", [])
        if len(row) >= 3
    }
    xy = np.array([coords.get(i, (math.nan, math.nan)) for i in ids], dtype=np.float64)
    return pd.DataFrame(
        {
            "node_id": pd.array(ids, dtype="str"),
            "x": xy[:, 0] if ids else np.empty(0),
            "y": xy[:, 1] if ids else np.empty(0),
            "ponded_area_m2": np.asarray(areas, dtype=np.float64),
        }
    )


def _float(text: str, path: Path, where: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise DataFileError(f"{path}: {where}: {text!r} is not a number") from exc


def _report_errors(report: Path) -> str:
    """The ``ERROR`` lines SWMM wrote to its report, joined."""
    if not report.is_file():
        return ""
    lines = report.read_text(encoding="utf-8", errors="replace").splitlines()
    return "; ".join(line.strip() for line in lines if line.strip().startswith("ERROR"))


def run_swmm(
    inp_path: str | PathLike[str], report_path: str | PathLike[str] | None = None
) -> pd.DataFrame:
    """Run a SWMM model to its end and return every node's flooding statistics.

    Parameters
    ----------
    inp_path
        Path of the ``.inp`` file (rain, network and options as SWMM reads them).
    report_path
        Where to keep SWMM's report (``.rpt``); default a temporary file, deleted after the run.

    Returns
    -------
    pandas.DataFrame
        One row per node in SWMM's order, ``RangeIndex``: ``node_id``, ``flood_volume_m3``
        (total volume that overflowed the node), ``flood_hours`` (hours flooded),
        ``peak_flood_rate`` (in the model's flow unit), ``max_ponded_volume_m3``.

    Raises
    ------
    MissingDependency
        pyswmm is not installed.
    DataFileError
        Missing file, or SWMM rejected the input (SWMM's error lines are in the message).
    """
    pyswmm = _pyswmm()
    path = Path(inp_path)
    if not path.is_file():
        raise DataFileError(f"no such SWMM input file: {path}")
    with tempfile.TemporaryDirectory(prefix="resilientcity-swmm-") as tmp:
        report = Path(report_path) if report_path is not None else Path(tmp) / "model.rpt"
        try:
            with pyswmm.Simulation(str(path), str(report), str(Path(tmp) / "model.out")) as sim:
                for _ in sim:
                    pass
                to_m3 = 1.0 if sim.system_units == "SI" else _M3_PER_FT3
                rows = [(n.nodeid, n.statistics) for n in pyswmm.Nodes(sim)]
        except Exception as exc:  # pyswmm raises bare Exception for SWMM's input errors
            detail = _report_errors(report) or str(exc).strip()
            raise DataFileError(f"SWMM could not run {path}: {detail}") from exc
    stats = [s for _, s in rows]
    return pd.DataFrame(
        {
            "node_id": pd.array([i for i, _ in rows], dtype="str"),
            "flood_volume_m3": [s["flooding_volume"] * to_m3 for s in stats],
            "flood_hours": [s["flooding_duration"] for s in stats],
            "peak_flood_rate": [s["peak_flooding_rate"] for s in stats],
            "max_ponded_volume_m3": [s["max_ponded_volume"] * to_m3 for s in stats],
        }
    )


def node_flood_depth(
    dem: DEM,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    volume_m3: NDArray[np.float64],
    radius_m: NDArray[np.float64],
    excluded: NDArray[np.bool_] | None = None,
) -> NDArray[np.float32]:
    """Ponding depth (m) on the DEM from flood volumes at points (see the module docstring).

    Parameters
    ----------
    dem
        Ground elevation grid.
    x, y
        Coordinates of the flooded nodes (DEM's CRS), inside the DEM.
    volume_m3
        Flood volume of each node (m³, >= 0).
    radius_m
        Radius (m, > 0) of the area around each node over which its volume spreads.
    excluded
        Optional mask of cells that never pond (river channels); no-data cells never pond.

    Returns
    -------
    numpy.ndarray of float32
        ``rows × cols`` depth (m), the deepest over the nodes; 0 where dry.
    """
    depth = np.zeros(dem.shape, dtype=np.float64)
    blocked = ~np.isfinite(dem.elevation_m)
    if excluded is not None:
        blocked |= excluded
    xs, ys = dem.cell_centres()
    dx, dy = dem.resolution_m
    for k in np.flatnonzero(np.asarray(volume_m3) > 0):
        row, col = (int(v[0]) for v in dem.rowcol(x[k : k + 1], y[k : k + 1]))
        reach_r, reach_c = math.ceil(radius_m[k] / dy) + 1, math.ceil(radius_m[k] / dx) + 1
        r0, r1 = max(row - reach_r, 0), min(row + reach_r + 1, dem.shape[0])
        c0, c1 = max(col - reach_c, 0), min(col + reach_c + 1, dem.shape[1])
        window = (slice(r0, r1), slice(c0, c1))
        near = (xs[None, c0:c1] - x[k]) ** 2 + (ys[r0:r1, None] - y[k]) ** 2 <= radius_m[k] ** 2
        near[row - r0, col - c0] = True
        near &= ~blocked[window]
        if not near.any():
            continue
        ground = np.where(near, dem.elevation_m[window], 0.0).astype(np.float64)
        level = pool_levels(ground, near.astype(np.int64), np.array([0.0, volume_m3[k]]), dx * dy)
        pool = np.where(near, np.maximum(level[1] - ground, 0.0), 0.0)
        depth[window] = np.maximum(depth[window], pool)
    return depth.astype(np.float32)


def _city_xy(nodes: pd.DataFrame, city: City, crs: Any) -> tuple[NDArray[Any], NDArray[Any]]:
    """Node coordinates in the city's CRS."""
    x, y = nodes["x"].to_numpy(dtype=np.float64), nodes["y"].to_numpy(dtype=np.float64)
    if crs is not None and CRS.from_user_input(crs) != city.crs:
        transformer = Transformer.from_crs(CRS.from_user_input(crs), city.crs, always_xy=True)
        x, y = transformer.transform(x, y)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _check_nodes(nodes: pd.DataFrame, x: NDArray[Any], y: NDArray[Any], dem: DEM, crs: Any) -> None:
    """Every node with coordinates lies on the DEM; every flooded node has coordinates."""
    ids = nodes["node_id"].to_numpy(dtype=str)
    flooded = nodes["flood_volume_m3"].to_numpy() > 0
    located = np.isfinite(x) & np.isfinite(y)
    problems = []
    unplaced = flooded & ~located
    if unplaced.any():
        problems.append(
            Problem(
                _LAYER,
                "coordinates",
                "a [COORDINATES] row for every flooded node",
                tuple(ids[unplaced]),
            )
        )
    outside = located.copy()
    outside[located] = ~dem.inside(x[located], y[located])
    if outside.any():
        frame = f"the CRS {CRS.from_user_input(crs).to_string()}" if crs else "the city's CRS"
        bounds = ", ".join(f"{b:.0f}" for b in dem.bounds)
        expected = (
            f"a node on the city's DEM ({bounds}, {dem.crs.to_string()}); coordinates read in "
            f"{frame}: pass crs= the CRS of the model's coordinates to reproject them"
        )
        problems.append(Problem(_LAYER, "coordinates", expected, tuple(ids[outside])))
    if problems:
        raise ValidationError(problems, what="SWMM model")


def swmm_flood_events(
    inp_path: str | PathLike[str],
    city: City,
    event_id: str | None = None,
    frequency: float = 0.0,
    radius_m: float = DEFAULT_RADIUS_M,
    crs: Any = None,
) -> HazardEvents:
    """One rainstorm event from a SWMM model: flooded nodes mapped to ponding depth at assets.

    Runs the model with pyswmm to its end (:func:`run_swmm`), then spreads each node's flood
    volume over the DEM around it (:func:`node_flood_depth`, rule in the module docstring).

    Parameters
    ----------
    inp_path
        SWMM ``.inp`` model of the drainage network, with its rain. Flow units may be SI or US
        (volumes are converted to m³); the ponded area is read in m² (SI models).
    city
        The city, with a DEM; rivers, when present, never pond.
    event_id
        Id of the event; default ``"swmm-<file stem>"``.
    frequency
        Annual frequency of the event (0 for a scenario; ``1/T`` style values for a set).
    radius_m
        Spreading radius (m) for nodes without a ponded area; default 50 m (assumption).
    crs
        CRS of the model's ``[COORDINATES]`` when it is not the city's (anything pyproj reads).

    Returns
    -------
    HazardEvents
        Kind ``"pluvial_flood"``, one event; ponding depth (m) of the DEM cell under each asset,
        0 where no node flooded nearby.

    Raises
    ------
    MissingDependency
        pyswmm is not installed.
    DataFileError
        Missing, unreadable or broken ``.inp`` (SWMM's errors in the message).
    ValidationError
        A city without DEM, a radius or frequency out of range, nodes off the city's DEM, or
        flooded nodes without coordinates (each listed by id).
    """
    if not (math.isfinite(radius_m) and radius_m > 0):
        _fail("radius_m", "a finite radius > 0 (m)", found=repr(radius_m))
    if not (math.isfinite(frequency) and frequency >= 0):
        _fail("frequency", "a finite annual frequency >= 0", found=repr(frequency))
    if city.dem is None:
        problem = Problem("city", "dem", f"a DEM (ground elevation) in city {city.name!r}")
        raise ValidationError([problem], what="SWMM flood input")
    dem = city.dem
    nodes = read_swmm_nodes(inp_path)
    stats = run_swmm(inp_path)
    nodes = nodes.merge(stats, on="node_id", how="inner")
    x, y = _city_xy(nodes, city, crs)
    _check_nodes(nodes, x, y, dem, crs)
    area = nodes["ponded_area_m2"].to_numpy(dtype=np.float64)
    radius = np.where(area > 0, np.sqrt(np.maximum(area, 0.0) / math.pi), radius_m)
    volume = nodes["flood_volume_m3"].to_numpy(dtype=np.float64)
    channels = channel_mask(dem, city.rivers) if len(city.rivers) else None
    grid = node_flood_depth(dem, x, y, np.where(np.isfinite(x), volume, 0.0), radius, channels)
    depth = asset_depths(dem, city.assets, grid[None])
    event = event_id or f"swmm-{Path(inp_path).stem}"
    asset_ids = city.assets["asset_id"].to_numpy(dtype=str)
    return HazardEvents(
        "pluvial_flood", np.array([event]), np.array([frequency]), sp.csr_array(depth), asset_ids
    )
