"""Terrain of the demo city.

A Xiang-like river with an island and a tributary, a floodplain, terraces, hills in the west, and
the six districts of central Changsha.

Elevations are in the Changsha hydrological station datum so that published river stages
(warning 36.0 m, guaranteed 38.37 m, record 39.51 m; ``shared/reference/changsha-hydrology.json``)
can be compared with the ground directly. The floodplain is shaped so that the guaranteed stage
reaches a few hundred metres inland and the record stage somewhat further: a realistic flood
scenario, not a survey. Real flood walls along the banks are not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from affine import Affine
from numpy.typing import NDArray
from scipy import ndimage

from resilientcity.twin.raster import burn

#: Ground and water levels of the synthetic valley, metres in the station datum.
CHANNEL_BED_M = 22.0  # deepest point of the main channel
BANK_M = 33.0  # top of the bank, where the floodplain begins
FLOODPLAIN_RISE_M = 10.0  # floodplain rises this much towards the terraces …
FLOODPLAIN_SCALE_M = 350.0  # … over this e-folding distance from the bank
TERRACE_M = 45.0  # typical ground of the old city away from the river
ISLAND_M = 35.5  # Juzizhou-like island: floods above the warning stage (36.0 m)

#: Relative building density: the core decays over CORE_SCALE_M, sub-centres (offset east,
#: north in metres from the core, weight) over SUB_CENTRE_SCALE_M, plus a rural floor of villages.
CORE_SCALE_M = 4500.0
SUB_CENTRE_SCALE_M = 2000.0
SUB_CENTRES = (
    (-6000.0, 0.0, 0.45),
    (1500.0, 5000.0, 0.5),
    (5000.0, -1500.0, 0.45),
    (-3000.0, 7500.0, 0.3),
    (14000.0, 3000.0, 0.35),
    (-2000.0, -12000.0, 0.3),
)
RURAL_DENSITY = 0.03

#: Districts of central Changsha: GB/T 2260 code, name. Boundaries in the demo are schematic.
DISTRICTS: dict[str, str] = {
    "430104": "岳麓区 Yuelu",
    "430112": "望城区 Wangcheng",
    "430105": "开福区 Kaifu",
    "430102": "芙蓉区 Furong",
    "430103": "天心区 Tianxin",
    "430111": "雨花区 Yuhua",
}


@dataclass(frozen=True)
class Terrain:
    """Rasters on the DEM grid (row 0 is north) and the river lines, in local metres.

    ``x`` grows east from the grid's west edge, ``y`` north from its south edge.
    """

    elevation_m: NDArray[np.float32]
    water: NDArray[np.bool_]  # river channel cells (main river and tributary)
    district: NDArray[np.int8]  # index into DISTRICTS' keys
    density: NDArray[np.float64]  # relative building density, 0 where nothing is built
    transform: Affine  # local metres, north-up
    main_river: shapely.LineString
    tributary: shapely.LineString
    river_width_m: float
    tributary_width_m: float
    centre_xy: tuple[float, float]  # the old city centre (east bank)

    def at(self, grid: NDArray[Any], xy: NDArray[np.float64]) -> NDArray[Any]:
        """Values of a grid of this terrain at points (local m), edge cells beyond the edges."""
        t = self.transform
        col = np.clip(((xy[:, 0] - t.c) / t.a).astype(np.int64), 0, grid.shape[1] - 1)
        row = np.clip(((xy[:, 1] - t.f) / t.e).astype(np.int64), 0, grid.shape[0] - 1)
        return grid[row, col]


def _river_lines(
    extent: float, rng: np.random.Generator
) -> tuple[shapely.LineString, shapely.LineString]:
    """Main river flowing south → north with gentle meanders; a tributary joining from the east."""
    y = np.linspace(-0.05 * extent, 1.05 * extent, 240)
    phase = rng.uniform(0, 2 * np.pi)
    amp = min(600.0, 0.03 * extent) + 250.0
    x = 0.42 * extent + amp * np.sin(2 * np.pi * y / max(9000.0, 0.6 * extent) + phase)
    main = shapely.LineString(np.column_stack([x, y]))
    join_y = 0.63 * extent
    join_x = float(np.interp(join_y, y, x))
    tx = np.linspace(join_x, 1.05 * extent, 160)
    s = (tx - join_x) / (1.05 * extent - join_x)
    ty = join_y + 0.08 * extent * s + 350.0 * np.sin(3 * np.pi * s + rng.uniform(0, 1)) * s
    return main, shapely.LineString(np.column_stack([tx, ty]))


def _distance_to(
    line: shapely.LineString, shape: tuple[int, int], transform: Affine, res: float
) -> NDArray[np.float64]:
    """Euclidean distance (m) from every cell centre to a line (rasterise, then distance transform)."""
    burned = burn([(line, 1)], shape, transform)
    return ndimage.distance_transform_edt(burned == 0) * res


def _noise(
    shape: tuple[int, int],
    res: float,
    rng: np.random.Generator,
    scales_m: tuple[tuple[float, float], ...],
) -> NDArray[np.float64]:
    """Sum of smoothed white noise, each band scaled to unit std then by its amplitude (m)."""
    out = np.zeros(shape)
    for sigma_m, amp in scales_m:
        band = ndimage.gaussian_filter(
            rng.standard_normal(shape), sigma=max(sigma_m / res, 0.5), mode="reflect"
        )
        out += amp * band / (band.std() or 1.0)
    return out


def build_terrain(extent_m: float, res_m: float, rng: np.random.Generator) -> Terrain:
    """Generate the DEM and companion rasters for a square city of side ``extent_m``.

    Parameters
    ----------
    extent_m
        Side of the square city, metres.
    res_m
        DEM cell size, metres.
    rng
        Random generator (the only source of randomness).
    """
    n = round(extent_m / res_m)
    shape = (n, n)
    transform = Affine(res_m, 0.0, 0.0, 0.0, -res_m, n * res_m)
    xs = (np.arange(n) + 0.5) * res_m
    ys = n * res_m - (np.arange(n) + 0.5) * res_m
    gx, gy = np.meshgrid(xs, ys)

    main, trib = _river_lines(extent_m, rng)
    width = 850.0 if extent_m >= 12_000 else 650.0
    twidth = 160.0
    d_main = _distance_to(main, shape, transform, res_m)
    d_trib = _distance_to(trib, shape, transform, res_m)
    d_main = np.maximum(d_main, 0.0)

    bank_main = np.maximum(d_main - width / 2, 0.0)
    bank_trib = np.maximum(d_trib - twidth / 2, 0.0)
    plain = BANK_M + FLOODPLAIN_RISE_M * (1 - np.exp(-bank_main / FLOODPLAIN_SCALE_M))
    plain_t = BANK_M + 1.0 + FLOODPLAIN_RISE_M * (1 - np.exp(-bank_trib / (FLOODPLAIN_SCALE_M / 2)))
    ground = np.minimum(plain, plain_t)
    terrace = TERRACE_M + 0.35 * (gx - 0.42 * extent_m) / 1000.0 * (gx > 0.42 * extent_m)
    blend = np.clip(np.minimum(bank_main, bank_trib) / 3000.0, 0, 1)
    ground = (1 - blend) * ground + blend * np.maximum(ground, terrace)

    # Hills: a Yuelu-like mountain west of the river, and more hills on larger extents.
    cx_river = float(
        np.interp(0.55 * extent_m, np.asarray(main.coords)[:, 1], np.asarray(main.coords)[:, 0])
    )
    # Yuelu Mountain rises to about 300 m some 2–3 km west of the Xiang, about 2 km across.
    hills = [(cx_river - 0.3 * min(extent_m, 9_000), 0.55 * extent_m, 250.0, 650.0)]
    for _ in range(int(extent_m // 10_000)):
        hx = rng.uniform(0, 1) * extent_m
        hy = rng.uniform(0, 1) * extent_m
        hills.append((hx, hy, rng.uniform(40, 150), rng.uniform(400, 1000)))
    for hx, hy, h, sigma in hills:
        ground += h * np.exp(-((gx - hx) ** 2 + (gy - hy) ** 2) / (2 * sigma**2))

    away = np.clip(np.minimum(bank_main, bank_trib) / 600.0, 0.0, 1.0)
    ground += away * _noise(shape, res_m, rng, ((2500.0, 2.0), (600.0, 1.0), (120.0, 0.4)))

    water_main = d_main <= width / 2
    water_trib = d_trib <= twidth / 2
    water = water_main | water_trib
    depth_frac = 1 - (d_main / (width / 2)) ** 2
    bed = np.where(water_main, CHANNEL_BED_M + 6.0 * (1 - depth_frac), CHANNEL_BED_M + 5.0)
    elevation = np.where(water, bed, ground)

    # A Juzizhou-like island in the middle of the main channel.
    island = water_main & (d_main <= 0.12 * width) & (gy > 0.38 * extent_m) & (gy < 0.62 * extent_m)
    elevation = np.where(island, ISLAND_M + 0.5 * rng.random(shape), elevation)
    water &= ~island

    # Districts: west bank (Yuelu, Wangcheng in the north) and four east-bank districts.
    river_x = np.interp(gy, np.asarray(main.coords)[:, 1], np.asarray(main.coords)[:, 0])
    east = gx > river_x
    rel_x = (gx - river_x) / extent_m
    rel_y = gy / extent_m
    district = np.where(rel_y > 0.72, 1, 0).astype(np.int8)
    kaifu = east & (rel_y > 0.60) & (rel_x < 0.40)
    furong = east & (rel_y > 0.45) & (rel_y <= 0.60) & (rel_x < 0.30)
    tianxin = east & (rel_y <= 0.45) & (rel_x < 0.22)
    yuhua = east & ~(kaifu | furong | tianxin)
    district[kaifu] = 2
    district[furong] = 3
    district[tianxin] = 4
    district[yuhua] = 5

    # Building density: the old city on the east bank, sub-centres at fixed distances (so a
    # larger extent adds suburbs and villages, not a bigger core), a rural floor elsewhere.
    centre = (
        float(
            np.interp(0.5 * extent_m, np.asarray(main.coords)[:, 1], np.asarray(main.coords)[:, 0])
        )
        + 1500.0,
        0.5 * extent_m,
    )
    r = np.hypot(gx - centre[0], gy - centre[1])
    density = np.exp(-r / CORE_SCALE_M)
    for fx, fy, wgt in SUB_CENTRES:
        rs = np.hypot(gx - (centre[0] + fx), gy - (centre[1] + fy))
        density += wgt * np.exp(-rs / SUB_CENTRE_SCALE_M)
    density += RURAL_DENSITY
    slope = np.hypot(*np.gradient(elevation, res_m))
    density[water | island | (elevation > 90.0) | (slope > 0.15)] = 0.0
    density[(bank_main < 60.0) | (bank_trib < 30.0)] = 0.0

    return Terrain(
        elevation_m=elevation.astype(np.float32),
        water=water,
        district=district,
        density=density,
        transform=transform,
        main_river=main,
        tributary=trib,
        river_width_m=width,
        tributary_width_m=twidth,
        centre_xy=centre,
    )
