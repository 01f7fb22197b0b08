"""Decisions, solved to optimality with HiGHS: evacuation to shelters and relief distribution.

* :mod:`~resilientcity.decision.lp`: the one small modelling helper (sparse constraints,
  lexicographic objectives, every solver status explained: which constraints or data make a
  model infeasible, which variables run away in an unbounded one);
* :mod:`~resilientcity.decision.evacuation`: people in the hazard zone → functioning shelters
  within capacity, least person-minutes on the damaged roads, who cannot be sheltered and why;
* :mod:`~resilientcity.decision.relief`: warehouses' stocks → shelters' needs over several days,
  least unmet demand then least cost, or the fairest fill rate;
* :mod:`~resilientcity.decision.dispatch`: rescue teams to incidents (MILP), re-planned when
  new incidents arrive; :mod:`~resilientcity.decision.repair`: repair policies compared by the
  resilience loss of the recovery (greedy marginal gain against the naive order);
* :mod:`~resilientcity.decision.plans`: contingency plans (预案): triggers on hazards, warning
  levels and scenario results → tasks per agency with deadlines, in dependency order.
"""

from resilientcity.decision.dispatch import (
    DispatchPlan,
    dispatch_teams,
    incidents_from_impact,
    replan,
    rescue_stations,
)
from resilientcity.decision.evacuation import EvacuationPlan, evacuate, plan_evacuation
from resilientcity.decision.lp import LinearModel, Objective, Solution, solve_lexicographic
from resilientcity.decision.plans import PlanSet, evaluate_plans, load_plans, tasks_of
from resilientcity.decision.relief import ReliefPlan, plan_relief, relief_needs, shelter_needs
from resilientcity.decision.repair import compare_repair_policies, greedy_repair_order

__all__ = [
    "DispatchPlan",
    "EvacuationPlan",
    "LinearModel",
    "Objective",
    "PlanSet",
    "ReliefPlan",
    "Solution",
    "compare_repair_policies",
    "dispatch_teams",
    "evacuate",
    "evaluate_plans",
    "greedy_repair_order",
    "incidents_from_impact",
    "load_plans",
    "plan_evacuation",
    "plan_relief",
    "relief_needs",
    "replan",
    "rescue_stations",
    "shelter_needs",
    "solve_lexicographic",
    "tasks_of",
]
