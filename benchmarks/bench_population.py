"""Benchmark: dasymetric disaggregation of a population raster onto 1,000,000 buildings (issue 13).

Run from the repository root::

    python benchmarks/bench_population.py [--quick] [--json out.json]

Synthetic city (fixed seed): ``N`` square footprints (side uniform 8–30 m, 70 % residential,
floor area = footprint × 3) scattered uniformly over 30 × 30 km in UTM zone 35N (EPSG:32635),
around 60° N. Two rasters of uniform random people per cell (0–50) over the city: 3 arc-seconds
in EPSG:4326 (as WorldPop; about 46 × 93 m cells there, so many footprints straddle cells) and
100 m in the city's CRS. Each case runs :func:`~resilientcity.twin.population.disaggregate` in a
fresh process (``--child``) and reports its time and the process's peak RSS, with the
conservation check ``placed + unplaced == raster_total``. ``--quick``: N = 100,000.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _machine import cpu_model
from _memory import peak_rss_mb

CITY_CRS = "EPSG:32635"
RASTERS = {"EPSG:4326": 3 / 3600, CITY_CRS: 100.0}


def child(n: int, raster_crs: str) -> dict[str, float | str | int]:
    """Build the city and the raster, time one disaggregation; the figures as a dict."""
    import geopandas as gpd
    import shapely
    from affine import Affine
    from rasterio.warp import transform_bounds

    from resilientcity.twin.population import PopulationGrid, disaggregate

    rng = np.random.default_rng(1)
    x, y = rng.uniform(300_000, 330_000, n), rng.uniform(6_660_000, 6_690_000, n)
    side = rng.uniform(8, 30, n)
    assets = gpd.GeoDataFrame(
        {
            "occupancy": np.where(rng.random(n) < 0.7, "residential", "commercial"),
            "floor_area_m2": side * side * 3,
            "occupants": side * side * 3 / 40 * 0.9,
        },
        geometry=shapely.box(x, y, x + side, y + side),
        crs=CITY_CRS,
    )
    left, bottom, right, top = transform_bounds(
        CITY_CRS, raster_crs, 299_000, 6_659_000, 331_000, 6_691_000
    )
    res = RASTERS[raster_crs]
    shape = (int((top - bottom) / res) + 1, int((right - left) / res) + 1)
    grid = PopulationGrid(rng.uniform(0, 50, shape), Affine(res, 0, left, 0, -res, top), raster_crs)
    start = time.perf_counter()
    _, report = disaggregate(assets, grid)
    seconds = time.perf_counter() - start
    baseline = _centroid_baseline(assets, grid)
    return {
        "buildings": n,
        "raster_crs": raster_crs,
        "cells": shape[0] * shape[1],
        "seconds": round(seconds, 2),
        "centroid_baseline_s": round(baseline, 2),
        "ratio_to_baseline": round(seconds / baseline, 2),
        "peak_rss_mb": round(peak_rss_mb()),
        "conserved_error": abs(report["placed"] + report["unplaced"] - report["raster_total"]),
    }


def _centroid_baseline(assets: object, grid: object) -> float:
    """Seconds of the simplest dasymetric rule, in the same process: each building wholly in
    the cell of its centroid, each cell's people shared by floor area (vectorised bincount).

    The baseline the area-weighted overlay is compared with: it ignores footprints that
    straddle cells, and is about as fast as a NumPy disaggregation can be.
    """
    import shapely
    from pyproj import Transformer

    start = time.perf_counter()
    frame = assets  # a GeoDataFrame
    home = (frame["occupancy"] == "residential").to_numpy()  # type: ignore[index]
    xy = shapely.get_coordinates(shapely.centroid(frame.geometry.to_numpy()))  # type: ignore[attr-defined]
    to_grid = Transformer.from_crs(frame.crs, grid.crs, always_xy=True)  # type: ignore[attr-defined]
    gx, gy = to_grid.transform(xy[:, 0], xy[:, 1])
    t = grid.transform  # type: ignore[attr-defined]  # north-up: no rotation terms
    col, row = (np.asarray(gx) - t.c) / t.a, (np.asarray(gy) - t.f) / t.e
    rows, cols = grid.people.shape  # type: ignore[attr-defined]
    r, c = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
    inside = home & (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    cell = np.where(inside, r * cols + c, 0)
    floor = np.where(inside, frame["floor_area_m2"].to_numpy(), 0.0)  # type: ignore[index]
    per_cell = np.bincount(cell, floor, minlength=rows * cols)
    people = grid.people.reshape(-1)  # type: ignore[attr-defined]
    _ = np.where(inside, people[cell] * floor / np.where(per_cell[cell] > 0, per_cell[cell], 1), 0)
    return time.perf_counter() - start


def main() -> None:
    """Run every case in its own process and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 buildings")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1])))
        return
    n = 100_000 if args.quick else 1_000_000
    rows = []
    for crs in RASTERS:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n), crs],
            check=True,
            capture_output=True,
            text=True,
        )
        rows.append(json.loads(out.stdout.splitlines()[-1]))
        print(rows[-1])
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_model(), "cases": rows}, indent=2))


if __name__ == "__main__":
    main()
