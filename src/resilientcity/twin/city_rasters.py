"""Rasters read for a city: a DEM that must carry every asset, a population raster for residents.

The adapters between raster files and a :class:`~resilientcity.twin.city.City`; the reading is
:mod:`resilientcity.twin.raster`'s, the disaggregation :mod:`resilientcity.twin.population`'s.
"""

from __future__ import annotations

from dataclasses import replace
from os import PathLike
from pathlib import Path

import numpy as np
import shapely

from resilientcity.errors import DataFileError
from resilientcity.twin.city import City
from resilientcity.twin.population import (
    PopulationReport,
    PopulationUnit,
    apply_population,
    city_area,
)
from resilientcity.twin.raster import read_dem, read_population

__all__ = ["attach_dem", "attach_population"]


def attach_dem(city: City, path: str | PathLike[str]) -> City:
    """The city with the DEM of ``path`` (any CRS, reprojected bilinearly to the city's).

    Raises
    ------
    DataFileError
        The file is not a readable raster with a CRS, or some assets lie outside it or on its
        no-data cells (the data contract puts every asset on a DEM cell with data): the message
        names the file and the share of the assets it leaves uncovered.
    """
    source = Path(path)
    dem = read_dem(source, city.crs)
    geoms = city.assets.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    where = shapely.point_on_surface(geoms[present])
    outside = ~dem.inside(shapely.get_x(where), shapely.get_y(where))
    if outside.any():
        first = city.assets["asset_id"].to_numpy()[present][np.flatnonzero(outside)[0]]
        raise DataFileError(
            f"{source} does not cover the city: {int(outside.sum()):,} of its {len(where):,} "
            f"assets ({outside.mean():.1%}) lie outside it or on cells without data (first: "
            f"{first}); every asset must lie on a DEM cell with data"
        )
    return replace(city, dem=dem)


def attach_population(
    city: City, path: str | PathLike[str], unit: PopulationUnit = "count"
) -> tuple[City, PopulationReport]:
    """The city with residents from the population raster ``path`` (any CRS).

    Only the window of the raster over the city is read. See
    :mod:`resilientcity.twin.population` for the rule; the report (also in
    ``metadata["population"]``, with the file's name) says what could not be placed and how
    much residential floor area lies off the raster.

    Raises
    ------
    DataFileError
        The file is missing, not a readable raster, has no CRS, does not cover the city at all,
        or holds negative or infinite values over it.
    """
    source = Path(path)
    bounds = tuple(shapely.bounds(city_area(city.assets, city.zones)).tolist())
    grid = read_population(source, city.crs, bounds, unit=unit)
    with_residents, report = apply_population(city, grid)
    report["source"] = with_residents.metadata["population"]["source"] = source.name
    return with_residents, report
