"""Scenarios: a validated description of what strikes which city, and the run that wires it.

::

    from resilientcity.scenario import load_scenario, run_scenario, write_outputs
    scenario = load_scenario("docs/scenarios/river-flood.yaml")
    run = write_outputs(run_scenario(scenario), "out", job={"kind": "run"})
"""

from resilientcity.scenario.config import Scenario, load_scenario, scenario_from_dict
from resilientcity.scenario.run import ScenarioRun, run_scenario, write_outputs

__all__ = [
    "Scenario",
    "ScenarioRun",
    "load_scenario",
    "run_scenario",
    "scenario_from_dict",
    "write_outputs",
]
