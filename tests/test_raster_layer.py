"""GeoTIFF hazard layers: sampled at assets, reprojected points, clear errors for bad rasters."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer

from factories import tiny_layers
from resilientcity.errors import DataFileError, ValidationError
from resilientcity.hazard.raster_layer import RasterLayer, raster_hazard_events
from resilientcity.twin import City

UTM = "EPSG:32649"
NODATA = -9999.0


def write_tif(
    path: Path,
    values: np.ndarray,
    x0: float,
    y0: float,
    res: float,
    crs: str | None = UTM,
    nodata: float | None = NODATA,
) -> Path:
    """A one-band float32 GeoTIFF with its upper-left corner at (x0, y0)."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=values.shape[0],
        width=values.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=Affine(res, 0.0, x0, 0.0, -res, y0),
        nodata=nodata,
    ) as dst:
        dst.write(values.astype(np.float32), 1)
    return path


def grid_values(rows: int, cols: int) -> np.ndarray:
    """Cell value = 10 × row + col, so a value says which cell was read."""
    return 10.0 * np.arange(rows)[:, None] + np.arange(cols)[None, :]


@pytest.fixture
def city_tif(tmp_path: Path) -> Path:
    # 11 × 11 cells of 100 m from (-50, 1050): cell centres fall on multiples of 100 m, so the
    # tiny city's assets B1 (100, 100), H1 (500, 500), S1 (900, 900) sit at cell centres:
    # B1: col (100 + 50) // 100 = 1, row (1050 − 100) // 100 = 9 → 91
    # H1: col 5, row 5 → 55;  S1: col 9, row 1 → 19
    return write_tif(tmp_path / "depth.tif", grid_values(11, 11), -50.0, 1050.0, 100.0)


def test_a_raster_in_the_city_crs_is_sampled_at_assets(tiny_city: City, city_tif: Path) -> None:
    events = raster_hazard_events(tiny_city, [(city_tif, "flood-100", 0.01)], "river_flood")
    assert events.kind == "river_flood"
    assert events.event_ids.tolist() == ["flood-100"]
    assert events.frequency.tolist() == [0.01]
    assert events.asset_ids.tolist() == ["B1", "H1", "S1"]
    assert events.intensity.toarray()[0].tolist() == [91.0, 55.0, 19.0]


def test_scale_and_several_layers_from_a_frame(
    tiny_city: City, city_tif: Path, tmp_path: Path
) -> None:
    second = write_tif(tmp_path / "b.tif", grid_values(11, 11) * 2, -50.0, 1050.0, 100.0)
    layers = pd.DataFrame(
        {"path": [city_tif, second], "event_id": ["a", "b"], "frequency": [0.1, 0.01]}
    )
    events = raster_hazard_events(tiny_city, layers, "river_flood", scale=0.01)  # cm → m
    expected = np.array([[0.91, 0.55, 0.19], [1.82, 1.10, 0.38]])
    np.testing.assert_allclose(events.intensity.toarray(), expected, rtol=1e-6)
    same = raster_hazard_events(tiny_city, [RasterLayer(city_tif, "a", 0.1)], "river_flood")
    assert same.intensity.toarray()[0].tolist() == [91.0, 55.0, 19.0]


def test_a_raster_in_lon_lat_is_sampled_by_transforming_the_assets(
    tiny_city: City, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    to_ll = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform([100.0, 500.0, 900.0], [100.0, 500.0, 900.0])
    res = 0.001  # degrees, about 110 m
    lon0, lat0 = min(lon) - 0.0103, max(lat) + 0.0107  # corners away from the assets
    path = write_tif(tmp_path / "ll.tif", grid_values(40, 40), lon0, lat0, res, "EPSG:4326")
    # by hand: col = floor((lon − lon0) / res), row = floor((lat0 − lat) / res)
    cols = np.floor((np.array(lon) - lon0) / res)
    rows = np.floor((lat0 - np.array(lat)) / res)
    with caplog.at_level(logging.INFO, logger="resilientcity.hazard.raster_layer"):
        events = raster_hazard_events(tiny_city, [(path, "ll", 0.0)], "river_flood")
    assert events.intensity.toarray()[0] == pytest.approx(10 * rows + cols)
    assert "reprojected 3 assets from EPSG:32649 to EPSG:4326" in caplog.text


def test_a_polygon_asset_is_sampled_at_a_point_on_its_surface(city_tif: Path) -> None:
    layers = tiny_layers()
    assets = layers["assets"].copy()  # type: ignore[attr-defined]
    assets.loc[0, "geometry"] = shapely.box(60.0, 60.0, 140.0, 140.0)  # inside B1's cell
    city = City(**{**layers, "assets": assets})  # type: ignore[arg-type]
    events = raster_hazard_events(city, [(city_tif, "e", 0.0)], "river_flood")
    assert events.intensity.toarray()[0].tolist() == [91.0, 55.0, 19.0]


def test_assets_outside_the_raster_are_an_error_naming_file_and_assets(
    tiny_city: City, tmp_path: Path
) -> None:
    # covers x from −50 to 650 only: S1 (900, 900) is outside
    path = write_tif(tmp_path / "west.tif", grid_values(11, 7), -50.0, 1050.0, 100.0)
    with pytest.raises(ValidationError) as info:
        raster_hazard_events(tiny_city, [(path, "w", 0.0)], "river_flood")
    (problem,) = info.value.problems
    assert problem.layer == "raster west.tif"
    assert problem.rows == ("S1",)
    assert problem.found == "outside"
    assert "EPSG:32649" in problem.expected and "outside='zero'" in problem.expected
    assert str(path) in str(info.value)


def test_outside_zero_gives_zero_and_warns(
    tiny_city: City, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_tif(tmp_path / "west.tif", grid_values(11, 7), -50.0, 1050.0, 100.0)
    with caplog.at_level(logging.WARNING, logger="resilientcity.hazard.raster_layer"):
        events = raster_hazard_events(tiny_city, [(path, "w", 0.0)], "river_flood", outside="zero")
    assert events.intensity.toarray()[0].tolist() == [91.0, 55.0, 0.0]
    assert "1 assets outside the raster and 0 on no-data cells were given 0" in caplog.text


def test_nodata_under_an_asset_is_an_error(tiny_city: City, tmp_path: Path) -> None:
    values = grid_values(11, 11)
    values[5, 5] = NODATA  # H1's cell
    path = write_tif(tmp_path / "holes.tif", values, -50.0, 1050.0, 100.0)
    with pytest.raises(ValidationError) as info:
        raster_hazard_events(tiny_city, [(path, "h", 0.0)], "river_flood")
    (problem,) = info.value.problems
    assert (problem.rows, problem.found) == (("H1",), "no-data")
    zero = raster_hazard_events(tiny_city, [(path, "h", 0.0)], "river_flood", outside="zero")
    assert zero.intensity.toarray()[0].tolist() == [91.0, 0.0, 19.0]


def test_negative_values_are_refused(tiny_city: City, tmp_path: Path) -> None:
    path = write_tif(tmp_path / "neg.tif", -grid_values(11, 11) - 1, -50.0, 1050.0, 100.0)
    with pytest.raises(ValidationError, match=r"finite values >= 0") as info:
        raster_hazard_events(tiny_city, [(path, "n", 0.0)], "river_flood")
    assert info.value.problems[0].rows == ("B1", "H1", "S1")


def test_missing_file_no_crs_and_missing_band_are_file_errors(
    tiny_city: City, tmp_path: Path, city_tif: Path
) -> None:
    with pytest.raises(DataFileError, match="no such raster file"):
        raster_hazard_events(tiny_city, [(tmp_path / "nope.tif", "x", 0.0)], "river_flood")
    bare = write_tif(tmp_path / "bare.tif", grid_values(11, 11), -50.0, 1050.0, 100.0, crs=None)
    with pytest.raises(DataFileError, match="no coordinate reference system"):
        raster_hazard_events(tiny_city, [(bare, "x", 0.0)], "river_flood")
    with pytest.raises(DataFileError, match="band 2 was requested"):
        raster_hazard_events(tiny_city, [(city_tif, "x", 0.0)], "river_flood", band=2)
    junk = tmp_path / "junk.tif"
    junk.write_text("not a raster")
    with pytest.raises(DataFileError, match="not a readable raster"):
        raster_hazard_events(tiny_city, [(junk, "x", 0.0)], "river_flood")


def test_bad_options_and_layers_are_refused(tiny_city: City, city_tif: Path) -> None:
    with pytest.raises(ValidationError) as info:
        raster_hazard_events(
            tiny_city,
            [(city_tif, "x", 0.0)],
            "river_flood",
            scale=-1.0,
            outside="nan",  # type: ignore[arg-type]
        )
    assert {p.column for p in info.value.problems} == {"scale", "outside"}
    with pytest.raises(ValidationError, match="at least one raster layer"):
        raster_hazard_events(tiny_city, [], "river_flood")
    with pytest.raises(ValidationError, match="#0"):
        raster_hazard_events(tiny_city, [(city_tif, "x")], "river_flood")
    with pytest.raises(ValidationError, match="frequency"):
        raster_hazard_events(tiny_city, pd.DataFrame({"path": [city_tif]}), "river_flood")
    with pytest.raises(ValidationError, match="kind"):
        raster_hazard_events(tiny_city, [(city_tif, "x", 0.0)], "snow")  # type: ignore[arg-type]
