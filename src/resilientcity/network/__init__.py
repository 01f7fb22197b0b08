"""Networks: what the damage does to roads, power, water and the services that depend on them.

* :mod:`~resilientcity.network.road_state`: closures and slow-downs from flood depth and
  damaged bridges;
* :mod:`~resilientcity.network.road_routing`: travel minutes to the nearest facility
  (multi-source Dijkstra on the CSR graph of the open roads);
* :mod:`~resilientcity.network.road_access`: minutes to the nearest functioning facility per
  building and district, isolated population, detour factors, road access;
* :mod:`~resilientcity.network.cascade`: the interdependency cascade (supplier → dependents,
  redundancy groups, backup hours) to a fixed point, with the chain of causes per asset;
* :mod:`~resilientcity.network.service`: population-weighted service levels per sector and zone;
* :mod:`~resilientcity.network.power_grid` and :mod:`~resilientcity.network.water_network`:
  adapters to pandapower and WNTR for users with a real grid or water model (optional extras).
"""

from resilientcity.network.cascade import (
    SERVICE_NAMES,
    CascadeResult,
    DependencyGraph,
    run_cascade,
)
from resilientcity.network.power_grid import GridOutage, PowerFlow, PowerGridModel, grid_outage
from resilientcity.network.road_access import (
    DEFAULT_KINDS,
    accessibility,
    has_road_access,
    road_network_problems,
    zone_accessibility,
)
from resilientcity.network.road_routing import (
    damaged_graph,
    reversed_graph,
    travel_minutes_to_nearest,
)
from resilientcity.network.road_state import (
    PassabilityRules,
    check_edge_state,
    edge_flood_depth,
    edge_state,
)
from resilientcity.network.service import ServiceModel, service_levels
from resilientcity.network.water_network import (
    PDDSettings,
    WaterNetworkModel,
    WaterOutage,
    pdd_defaults,
    water_outage,
)

__all__ = [
    "DEFAULT_KINDS",
    "SERVICE_NAMES",
    "CascadeResult",
    "DependencyGraph",
    "GridOutage",
    "PDDSettings",
    "PassabilityRules",
    "PowerFlow",
    "PowerGridModel",
    "ServiceModel",
    "WaterNetworkModel",
    "WaterOutage",
    "accessibility",
    "check_edge_state",
    "damaged_graph",
    "edge_flood_depth",
    "edge_state",
    "grid_outage",
    "has_road_access",
    "pdd_defaults",
    "reversed_graph",
    "road_network_problems",
    "run_cascade",
    "service_levels",
    "travel_minutes_to_nearest",
    "water_outage",
    "zone_accessibility",
]
