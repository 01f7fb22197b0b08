"""River flood hazard: flood depth from a river stage and the DEM, scenarios and event sets.

The model is the *bathtub with connectivity* (planar, static inundation): the water surface is a
horizontal plane at the river stage, and a DEM cell is flooded when its ground lies below the
stage **and** it is hydraulically connected to a river channel through cells that all lie below
the stage. Connectivity is 4-connectivity (cells sharing an edge; diagonal neighbours do not
connect), found with :func:`scipy.ndimage.label`; the river channels (:func:`channel_mask`) are the
seeds. Depth is ``stage − ground`` on flooded cells and 0 elsewhere.

Assumptions, all of which make this a screening model rather than a hydraulic one:

* a **static water surface** equal to the stage everywhere in the city: no slope of the water
  surface along the river, no backwater, no attenuation of the flood wave away from the channel;
* **no levees, flood walls, gates or pumps**: every cell connected below the stage floods (the
  DEM's ground is the only barrier; a levee counts only if the DEM resolves it);
* **no flow dynamics or duration**: water reaches every connected cell at once and stays, however
  short the peak; the volume of water is not limited;
* no rainfall, drainage or groundwater; the stage and the DEM share one vertical datum (the demo
  city's DEM is in the Changsha station datum, see ``data/hazard/changsha_stage_frequency.json``).

No-data (``NaN``) ground never floods and does not connect its neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS
from scipy import ndimage

from resilientcity._files import read_data_file
from resilientcity.errors import CRSMismatch, DataFileError, Problem, ValidationError, fail
from resilientcity.hazard.events import HazardEvents
from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM
from resilientcity.twin.raster import burn
from resilientcity.twin.schema import RIVERS
from resilientcity.twin.validate import validate_layer
from resilientcity.vocabulary import HazardKind

__all__ = [
    "StageFrequency",
    "asset_depths",
    "channel_mask",
    "flood_depth",
    "grid_events",
    "river_flood_events",
    "river_flood_scenario",
]

_DEFAULT_TABLE = "data/hazard/changsha_stage_frequency.json"
_TABLE = "stage_frequency"


_fail = partial(fail, what="river flood input")


def _check_rivers(dem: DEM, rivers: gpd.GeoDataFrame) -> NDArray[Any]:
    """The rivers' channel polygons (centreline buffered by half the width), after checks."""
    crs = getattr(rivers, "crs", None)
    if crs is not None and CRS.from_user_input(crs) != dem.crs:
        raise CRSMismatch(
            f"rivers are in {CRS.from_user_input(crs).to_string()} but the DEM is in "
            f"{dem.crs.to_string()}: reproject the rivers first (rivers.to_crs(dem.crs))"
        )
    if isinstance(rivers, gpd.GeoDataFrame) and len(rivers) == 0:
        _fail("rivers", "", "at least one river centreline", found="no rivers")
    problems = validate_layer(rivers, RIVERS, dem.crs)
    if problems:
        raise ValidationError(problems, what="rivers")
    half_width = rivers["width_m"].to_numpy(dtype=np.float64) / 2.0
    channels = shapely.buffer(rivers.geometry.to_numpy(), half_width)
    outside = ~shapely.intersects(channels, shapely.box(*dem.bounds))
    if outside.any():
        ids = tuple(str(i) for i in rivers["river_id"].to_numpy()[outside])
        bounds = ", ".join(f"{b:.0f}" for b in dem.bounds)
        _fail("rivers", "geometry", f"a channel within the DEM extent ({bounds})", ids)
    return np.asarray(channels)


def _stages(stage_m: float | Sequence[float] | ArrayLike) -> NDArray[np.float64]:
    """Stages as a 1-D float array, every one finite."""
    stages = np.asarray(stage_m, dtype=np.float64)
    if stages.ndim > 1:
        _fail("stage", "stage_m", "a number or a 1-D sequence", found=f"{stages.ndim}-D")
    flat = np.atleast_1d(stages)
    if not np.isfinite(flat).all():
        bad = ~np.isfinite(flat)
        rows, found = _rows(bad) if stages.ndim else (), ", ".join(map(str, flat[bad][:5]))
        _fail("stage", "stage_m", "a finite river stage (m)", rows, found)
    return flat


def channel_mask(dem: DEM, rivers: gpd.GeoDataFrame) -> NDArray[np.bool_]:
    """DEM cells inside a river channel.

    Each centreline is buffered by half its ``width_m`` and rasterised with ``all_touched``:
    every cell the channel polygon touches is a channel cell.

    Parameters
    ----------
    dem
        The ground elevation grid.
    rivers
        River centrelines (``rivers`` schema: ``river_id``, ``name``, ``width_m``), DEM's CRS.

    Returns
    -------
    numpy.ndarray of bool
        ``rows × cols`` of the DEM, True on channel cells. Errors as :func:`flood_depth`.
    """
    shapes = [(geom, 1) for geom in _check_rivers(dem, rivers)]
    return burn(shapes, dem.shape, dem.transform).astype(bool)


def _seeded(wet: NDArray[np.bool_], seeds: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Cells of ``wet`` 4-connected (through ``wet`` cells) to a ``wet`` seed cell."""
    labels, n = ndimage.label(wet)  # the default structure is 4-connectivity in 2-D
    keep = np.zeros(n + 1, dtype=bool)
    keep[labels[seeds]] = True
    keep[0] = False
    return keep[labels]


def flood_depth(
    dem: DEM, rivers: gpd.GeoDataFrame, stage_m: float | Sequence[float] | ArrayLike
) -> NDArray[np.float32]:
    """Flood depth on every DEM cell for one or several river stages (bathtub with connectivity).

    A cell floods when its ground is below the stage and it is 4-connected to a river channel
    cell through cells all below the stage (see the module docstring for the assumptions).

    Parameters
    ----------
    dem
        Ground elevation (m, same vertical datum as the stages); ``NaN`` cells never flood.
    rivers
        River centrelines with ``width_m`` (the ``rivers`` schema), in the DEM's CRS.
    stage_m
        Water level of the river (m): one number, or a sequence of numbers.

    Returns
    -------
    numpy.ndarray of float32
        Depth in metres (``stage − ground`` where flooded, 0 elsewhere, never ``NaN``):
        ``rows × cols`` for one stage, ``stages × rows × cols`` (in the given order) for a
        sequence.

    Raises
    ------
    CRSMismatch
        The rivers are in another CRS than the DEM.
    ValidationError
        A stage that is not finite; no rivers, rivers that break their schema or whose channel
        misses the DEM (scenario and event-set functions also: a city without DEM).

    Notes
    -----
    A higher stage floods a superset of the cells a lower one floods, so the stages are processed
    from the highest down, each labelled only inside the area flooded by the stage above, cropped
    to its bounding box: one :func:`scipy.ndimage.label` per stage, on a shrinking window.
    """
    stages = _stages(stage_m)
    seeds = channel_mask(dem, rivers)
    ground = dem.elevation_m
    out = np.zeros((stages.size, *ground.shape), dtype=np.float32)
    r0, r1, c0, c1 = 0, ground.shape[0], 0, ground.shape[1]
    allowed: NDArray[np.bool_] | None = None
    for k in np.argsort(stages, kind="stable")[::-1]:
        stage = float(stages[k])
        window = ground[r0:r1, c0:c1]
        wet = window < stage  # NaN compares False: no-data never floods
        if allowed is not None:
            wet &= allowed
        flooded = _seeded(wet, seeds[r0:r1, c0:c1])
        out[k, r0:r1, c0:c1] = np.where(flooded, stage - window.astype(np.float64), 0.0)
        rows = np.flatnonzero(flooded.any(axis=1))
        if rows.size == 0:
            break  # lower stages flood nothing either
        cols = np.flatnonzero(flooded.any(axis=0))
        allowed = flooded[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        r0, r1, c0, c1 = r0 + rows[0], r0 + rows[-1] + 1, c0 + cols[0], c0 + cols[-1] + 1
    return out if np.ndim(stage_m) else out[0]


def asset_depths(dem: DEM, assets: gpd.GeoDataFrame, depth: NDArray[Any]) -> NDArray[Any]:
    """``grids × assets`` depth (m) of the DEM cell under each asset; 0 off the grid.

    ``depth`` is a stack of depth grids on the DEM's grid (``grids × rows × cols``); each asset
    takes the cell under a point on the surface of its geometry.
    """
    points = shapely.point_on_surface(assets.geometry.to_numpy())  # a point inside polygons
    x, y = shapely.get_x(points), shapely.get_y(points)
    located = np.flatnonzero(np.isfinite(x) & np.isfinite(y))  # not missing or empty
    row, col = dem.rowcol(x[located], y[located])
    ok = (row >= 0) & (row < dem.shape[0]) & (col >= 0) & (col < dem.shape[1])
    out = np.zeros((depth.shape[0], x.size), dtype=np.float64)
    out[:, located[ok]] = depth[:, row[ok], col[ok]]
    return out


def _dem_of(city: City) -> DEM:
    """The city's DEM; a city without one cannot have a river flood."""
    if city.dem is None:
        _fail("city", "dem", f"a DEM (ground elevation) in city {city.name!r}", found="none")
    return city.dem


def grid_events(
    city: City,
    kind: HazardKind,
    grids: NDArray[Any],
    event_ids: Sequence[str],
    frequency: ArrayLike,
) -> HazardEvents:
    """Flood events from depth grids on the city's DEM: the depth at every asset, per grid.

    Parameters
    ----------
    city
        The city (its DEM's grid is the grids' grid).
    kind
        ``"river_flood"`` or ``"pluvial_flood"``.
    grids
        ``events × rows × cols`` water depths (m).
    event_ids, frequency
        One id and one annual frequency per grid.
    """
    depth = asset_depths(_dem_of(city), city.assets, grids)
    asset_ids = city.assets["asset_id"].to_numpy(dtype=str)
    ids = np.array(list(event_ids))
    return HazardEvents(kind, ids, np.asarray(frequency), sp.csr_array(depth), asset_ids)


def _events(city: City, stages: NDArray[Any], ids: list[str], freq: NDArray[Any]) -> HazardEvents:
    """River flood events: the depth at every asset of the city for each stage."""
    grids = flood_depth(_dem_of(city), city.rivers, stages)
    return grid_events(city, "river_flood", grids, ids, freq)


def river_flood_scenario(city: City, stage_m: float, event_id: str | None = None) -> HazardEvents:
    """One river flood scenario: the flood depth at every asset for a given river stage.

    Parameters
    ----------
    city
        The city, with a DEM and rivers.
    stage_m
        River stage (m, in the DEM's vertical datum), e.g. 39.51 for the 2017 record at Changsha.
    event_id
        Id of the event; default ``"stage-<stage>m"`` (two decimals).

    Returns
    -------
    HazardEvents
        Kind ``"river_flood"``, one event of frequency 0 (a scenario, not a probabilistic set);
        intensity is the depth (m) of the DEM cell under each asset (the point on the surface of
        its geometry), 0 where dry or off the grid.
    """
    stages = _stages(stage_m)
    if np.ndim(stage_m):
        _fail("stage", "stage_m", "one river stage (m)", found=f"{stages.size} values")
    event_id = event_id if event_id is not None else f"stage-{stages[0]:.2f}m"
    return _events(city, stages, [event_id], np.zeros(1))


@dataclass(frozen=True, eq=False)
class StageFrequency:
    """A river's stage-frequency table: stages with the return period of their exceedance.

    Parameters
    ----------
    stages_m
        River stages (m, in ``datum``), strictly increasing.
    return_periods_years
        Return period (years) of each stage, ``1 / annual exceedance frequency`` of the annual
        maximum stage; strictly increasing and > 0.
    station
        Gauging station the table belongs to.
    datum
        Vertical datum of the stages.
    """

    stages_m: NDArray[np.float64]
    return_periods_years: NDArray[np.float64]
    station: str = ""
    datum: str = ""

    def __post_init__(self) -> None:
        for name in ("stages_m", "return_periods_years"):
            values = np.atleast_1d(np.asarray(getattr(self, name), dtype=np.float64))
            object.__setattr__(self, name, values)
        problems = self.problems()
        if problems:
            raise ValidationError(problems, what="stage-frequency table")

    def problems(self) -> list[Problem]:
        """Every problem of the table, each naming its column and rows (``#0`` is the first)."""
        out: list[Problem] = []
        stages, periods = self.stages_m, self.return_periods_years
        if stages.ndim != 1 or stages.size == 0:
            return [Problem(_TABLE, "stages_m", "at least one stage, in a 1-D list")]
        if periods.shape != stages.shape:
            expected = f"one return period per stage ({stages.size})"
            return [Problem(_TABLE, "return_periods_years", expected, found=str(periods.size))]
        for column, values, rule in (
            ("stages_m", stages, "a finite stage (m)"),
            ("return_periods_years", periods, "a finite return period > 0 (years)"),
        ):
            bad = ~np.isfinite(values)
            if column == "return_periods_years":
                bad |= values <= 0
            if bad.any():
                out.append(Problem(_TABLE, column, rule, _rows(bad)))
            not_up = np.zeros(values.shape, dtype=bool)
            not_up[1:] = ~(values[1:] > values[:-1]) & ~bad[1:] & ~bad[:-1]
            if not_up.any():
                increasing = "values strictly increasing (each above the row before)"
                out.append(Problem(_TABLE, column, increasing, _rows(not_up)))
        return out

    def event_frequency(self) -> NDArray[np.float64]:
        """Annual frequency of the event each stage stands for (see :func:`river_flood_events`)."""
        exceedance = 1.0 / self.return_periods_years
        return exceedance - np.append(exceedance[1:], 0.0)

    def stage_for(self, return_period_years: float) -> float:
        """The stage of a return period, linear in ``log(T)`` between the table's rows.

        Raises
        ------
        ValidationError
            A return period outside the table (no extrapolation).
        """
        periods = self.return_periods_years
        t = float(return_period_years)
        if not (np.isfinite(t) and periods[0] <= t <= periods[-1]):
            expected = f"a return period within the table, {periods[0]:g}–{periods[-1]:g} years"
            _fail(_TABLE, "return_period_years", expected, found=f"{return_period_years!r}")
        return float(np.interp(np.log(t), np.log(periods), self.stages_m))

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> StageFrequency:
        """Read a table from JSON.

        The file holds ``{"station": str, "datum": str, "stages": [{"stage_m": number,
        "return_period_years": number, …}, …]}``; other keys (sources, names) are kept in the file
        only.

        Raises
        ------
        DataFileError
            Missing or unreadable file, not JSON, or a row without its two keys.
        ValidationError
            A table that breaks the rules (every problem listed with its row).
        """
        source = Path(path)
        spec = read_data_file(source, "stage-frequency")
        keys = ("stage_m", "return_period_years")
        rows = spec.get("stages") if isinstance(spec, dict) else None
        if not isinstance(rows, list):
            raise DataFileError(f"{source}: expected an object with a list 'stages'")
        for k, row in enumerate(rows):
            if not isinstance(row, dict) or not set(keys) <= set(row):
                raise DataFileError(f"{source}: stages #{k} lacks {' or '.join(keys)}")
        values = np.array([[_number(r[key]) for key in keys] for r in rows]).reshape(-1, 2)
        return cls(values[:, 0], values[:, 1], spec.get("station", ""), spec.get("datum", ""))

    @classmethod
    def default(cls) -> StageFrequency:
        """The packaged table of the Xiang River at Changsha station (station datum).

        Stages are the published warning (36.0 m), guaranteed (38.37 m), pre-2017 record
        (39.18 m) and record (39.51 m) stages plus one interpolated stage; the return periods are
        assumptions, each with its rationale in ``data/hazard/changsha_stage_frequency.json``.
        """
        with resources.as_file(resources.files("resilientcity").joinpath(_DEFAULT_TABLE)) as path:
            return cls.from_file(path)


def _rows(mask: NDArray[np.bool_]) -> tuple[str, ...]:
    return tuple(f"#{k}" for k in np.flatnonzero(mask))


def _number(value: object) -> float:
    """A JSON number as float; anything else is NaN (then reported as not finite)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan


def river_flood_events(city: City, table: StageFrequency | None = None) -> HazardEvents:
    """A probabilistic river flood event set: one event per stage of a stage-frequency table.

    Event ``k`` floods the city to stage ``h_k`` (depth at every asset as in
    :func:`river_flood_scenario`) and stands for every annual maximum stage between ``h_k`` and
    the next stage ``h_{k+1}``. Its annual frequency is the exceedance curve discretised at the
    table's stages::

        f_k = 1/T_k − 1/T_{k+1}   (k < K),      f_K = 1/T_K

    where ``1/T_k`` is the annual exceedance frequency of ``h_k``. Then ``Σ_{j≥k} f_j = 1/T_k``:
    the set reproduces the exceedance curve at every stage, ``Σ f = 1/T_1``, and the expected
    annual loss is ``EAL = Σ_k f_k × loss_k``. Each interval is valued at the loss of its lower
    stage (and the tail above ``h_K`` at ``h_K``), and floods below ``h_1`` are left out, so for a
    loss that grows with the stage this EAL is a lower estimate; more stages tighten it.

    Parameters
    ----------
    city
        The city, with a DEM and rivers (DEM in the table's vertical datum).
    table
        Stage-frequency table; default :meth:`StageFrequency.default` (Xiang River at Changsha).

    Returns
    -------
    HazardEvents
        Kind ``"river_flood"``, one event per stage, ids ``"stage-<stage>m-T<period>"`` (e.g.
        ``"stage-38.37m-T20"``), frequencies ``f_k`` (per year), depth (m) at each asset.
    """
    table = table if table is not None else StageFrequency.default()
    periods = table.return_periods_years
    ids = [f"stage-{h:.2f}m-T{t:g}" for h, t in zip(table.stages_m, periods, strict=True)]
    return _events(city, table.stages_m, ids, table.event_frequency())
