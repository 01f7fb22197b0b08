"""Reading elevation rasters into a DEM."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.warp import transform as warp_points

from resilientcity.errors import DataFileError
from resilientcity.twin import City
from resilientcity.twin.raster import burn, read_dem


def _write_tif(path: Path, z: np.ndarray, transform, crs: str | None) -> None:
    with rasterio.open(
        path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1,
        dtype="float32", crs=crs, transform=transform, nodata=-9999.0,
    ) as dst:  # fmt: skip
        dst.write(z, 1)


def test_geotiff_in_the_city_crs_reads_exactly(small_city: City, tmp_path: Path) -> None:
    dem = small_city.dem
    z = dem.elevation_m.copy()
    z[0, :5] = -9999.0  # no-data cells come back as NaN
    _write_tif(tmp_path / "dem.tif", z, dem.transform, "EPSG:32649")
    back = read_dem(tmp_path / "dem.tif")
    assert back.transform == dem.transform and back.crs == small_city.crs
    assert np.isnan(back.elevation_m[0, :5]).all()
    np.testing.assert_array_equal(back.elevation_m[1:], dem.elevation_m[1:])


def test_geotiff_is_reprojected_to_the_city_crs(small_city: City, tmp_path: Path) -> None:
    dem = small_city.dem
    _write_tif(tmp_path / "dem.tif", dem.elevation_m, dem.transform, "EPSG:32649")
    in_4547 = read_dem(tmp_path / "dem.tif", crs="EPSG:4547")  # CGCS2000 / 3-degree GK CM 114E
    assert in_4547.crs.to_epsg() == 4547
    # A point on the terrace samples to about the same ground in both grids.
    x, y = 693_500.0, 3_121_000.0
    (x2,), (y2,) = warp_points("EPSG:32649", "EPSG:4547", [x], [y])
    assert in_4547.sample([x2], [y2])[0] == pytest.approx(dem.sample([x], [y])[0], abs=1.0)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such file"):
        read_dem(tmp_path / "nope.tif")


def test_not_a_raster(tmp_path: Path) -> None:
    path = tmp_path / "dem.tif"
    path.write_text("elevation: high")
    with pytest.raises(DataFileError, match="not a readable raster"):
        read_dem(path)


def test_raster_without_crs(tmp_path: Path, small_city: City) -> None:
    _write_tif(tmp_path / "dem.tif", small_city.dem.elevation_m, small_city.dem.transform, None)
    with pytest.raises(DataFileError, match="no coordinate reference system"):
        read_dem(tmp_path / "dem.tif")


def test_burning_from_many_threads_at_once_raises_no_warning() -> None:
    """rasterio hides a GDAL warning with warnings.catch_warnings, which is not thread-safe;
    under pytest's filterwarnings=error an unserialised burn in threads fails now and then."""
    line = shapely.LineString([(0, 0), (90, 90)])
    transform = Affine(1.0, 0.0, 0.0, 0.0, -1.0, 100.0)

    def burn_many(_: int) -> int:
        return sum(int(burn([(line, 1)], (100, 100), transform).sum()) for _ in range(40))

    with ThreadPoolExecutor(max_workers=4) as pool:
        totals = list(pool.map(burn_many, range(8)))
    assert len(set(totals)) == 1 and totals[0] > 0
