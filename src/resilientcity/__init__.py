"""ResilientCity: an open resilient-city brain.

Senses a city, models its risks on a digital twin, supports decisions through the whole cycle of a
disaster and evaluates how resilient the city is. Start with :class:`City` and
:func:`demo_city`::

    import resilientcity as rc
    city = rc.demo_city("small")
    city.write("changsha-small.gpkg")
"""

from importlib.metadata import PackageNotFoundError, version

from resilientcity.twin import DEM, City, RoadNetwork
from resilientcity.twin.demo import demo_city

try:
    __version__ = version("resilientcity")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["DEM", "City", "RoadNetwork", "__version__", "demo_city"]
