"""City digital twin: assets, roads, dependencies, zones, sensors, rivers and a DEM.

See :mod:`resilientcity.twin.schema` for the data contract of every layer.
"""

from resilientcity.twin.city import City
from resilientcity.twin.dem import DEM
from resilientcity.twin.roads import RoadNetwork
from resilientcity.twin.schema import LAYERS

__all__ = ["DEM", "LAYERS", "City", "RoadNetwork"]
