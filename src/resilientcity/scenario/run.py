"""Run a scenario end to end.

City → hazards → impact → networks and recovery → decisions → assessment → plans, then the output
set (summary, tables and report).

This is the one place that wires the processes together; every stage it calls is a pure
computation in its own package and returns a typed block of ``summary.json``
(:class:`~resilientcity.summary.RunSummary`), built into the file in one place
(:class:`~resilientcity.summary.SummaryFile`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resilientcity._files import atomic_folder, atomic_path, write_json
from resilientcity._schema import to_json
from resilientcity.assessment.districts import NothingToCompare
from resilientcity.assessment.maturity import MaturityResult
from resilientcity.assessment.run import AssessmentResult
from resilientcity.decision.dispatch import DispatchPlan
from resilientcity.decision.evacuation import EvacuationPlan
from resilientcity.decision.plans import evaluate_plans, load_plans, packaged_plan_path, tasks_of
from resilientcity.decision.relief import ReliefPlan
from resilientcity.decision.repair import compare_repair_policies
from resilientcity.decision.summary import DecisionSummary, RepairPolicyTotals
from resilientcity.impact.assess import assess_impact, scenario_impact
from resilientcity.impact.engine import exceedance_curve
from resilientcity.impact.results import EventSetImpact, ScenarioImpact
from resilientcity.impact.summary import ImpactSummary
from resilientcity.recovery.stage import NetworkStage, network_stage, resilience_summary
from resilientcity.region.vulnerability import library_for
from resilientcity.report.html import Section
from resilientcity.scenario.assessment_stage import assessment_stage
from resilientcity.scenario.capabilities import Stage, city_capabilities, hazard_stage
from resilientcity.scenario.config import Scenario
from resilientcity.scenario.decision_stage import (
    decision_summary,
    dispatch_stage,
    evacuation_stage,
)
from resilientcity.scenario.hazards import (
    build_event_set,
    build_hazard,
    compound_floods,
    missing_table,
)
from resilientcity.scenario.relief_stage import relief_stage, relief_summary
from resilientcity.summary import RunSummary, SummaryFile
from resilientcity.twin.city import City
from resilientcity.vulnerability.library import VulnerabilityLibrary

__all__ = [
    "ScenarioRun",
    "load_city",
    "run_scenario",
    "steps_of",
    "write_outputs",
]

Progress = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class ScenarioRun:
    """What a scenario run produced.

    Attributes
    ----------
    scenario, city
        The scenario and the city it ran on.
    impacts, event_sets
        The impact of each hazard (together) and of each probabilistic event set.
    results
        The stages' typed ``summary.json`` blocks.
    network, evacuation, plans, dispatch, relief
        The stages' full results (``None``: the stage did not run); ``plans`` is the fired
        plans and their tasks.
    assessment
        The assessment of the city's units and the maturity (``None`` without
        ``assessment:``; the maturity ``None`` without a level).
    file
        ``summary.json`` as written (set by :func:`write_outputs`).
    outputs
        Key → path of each file written.
    """

    scenario: Scenario
    city: City
    impacts: list[ScenarioImpact]
    event_sets: list[EventSetImpact]
    results: RunSummary
    network: NetworkStage | None = None
    evacuation: EvacuationPlan | None = None
    plans: tuple[pd.DataFrame, pd.DataFrame] | None = None
    dispatch: DispatchPlan | None = None
    relief: ReliefPlan | None = None
    assessment: tuple[AssessmentResult, MaturityResult | None] | None = None
    file: SummaryFile | None = None
    outputs: dict[str, Path] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json`` as written, or before writing the stages' blocks (JSON-ready)."""
        return self.file.to_json() if self.file is not None else self.results.to_json()


def steps_of(scenario: Scenario) -> int:
    """How many progress steps :func:`run_scenario` reports (for a progress bar)."""
    return (
        len(scenario.hazards)
        + 2 * len(scenario.event_sets)
        + 10
        + (scenario.assessment is not None)
    )


def load_city(scenario: Scenario, progress: Progress | None = None) -> City:
    """The scenario's city: the demo city of the given size, or a GeoPackage."""
    say = progress or (lambda _step: None)
    if scenario.city.demo is not None:
        from resilientcity.twin.demo import demo_city

        return demo_city(scenario.city.demo, seed=scenario.city.seed, progress=say)
    path = scenario.resolve(scenario.city.path)
    assert path is not None  # the config guarantees demo or path
    say(f"reading {path.name}")
    return City.read(path)


def _library(scenario: Scenario, city: City) -> VulnerabilityLibrary:
    """The packaged curves in the conventions of the city's region, then the scenario's."""
    library = library_for(city.profile)
    for path in scenario.impact.curves:
        resolved = scenario.resolve(path)
        assert resolved is not None
        library = library.with_curves(resolved)
    return library


def _plan_files(scenario: Scenario, city: City) -> list[Path]:
    """The scenario's contingency plan files, else the packaged plans of the city's region."""
    if scenario.plans:
        return [p for p in map(scenario.resolve, scenario.plans) if p is not None]
    return [packaged_plan_path(name) for name in city.profile.plans]


def _notes(kind: str, evacuated_share: float) -> tuple[str, ...]:
    """Assumptions shown next to a hazard's numbers in the report."""
    people = (
        f"Casualties assume {evacuated_share:.0%} of the occupants were evacuated before the "
        "hazard struck (impact.evacuated_share)."
    )
    if kind in ("river_flood", "pluvial_flood"):
        return (
            "Flood depths from a static water surface (bathtub with connectivity) and ponding in "
            "DEM depressions: no levees, pumps or flow dynamics, so an upper screening estimate.",
            "Flood casualties are fatalities from the Jonkman et al. (2008) mortality function; "
            + people,
        )
    if kind == "wind":
        return ("No sourced wind mortality function: wind casualties are not estimated.",)
    return (people,)


def run_scenario(
    scenario: Scenario,
    city: City | None = None,
    progress: Progress | None = None,
) -> ScenarioRun:
    """Run the hazards, event sets and stages of ``scenario`` on its city (or on ``city``).

    The stages: impact; with ``recovery.enabled`` the network stage (roads, cascade, recovery);
    the decisions (``decisions:``); the district assessment (``assessment:``); the contingency
    plans, evaluated on the blocks of the run and the city.

    Returns
    -------
    ScenarioRun
        The stages' results and their typed ``summary.json`` blocks; :func:`write_outputs`
        writes the files.
    """
    say = progress or (lambda _step: None)
    city = city if city is not None else load_city(scenario, say)
    can = city_capabilities(city)
    skipped: dict[str, str] = {}
    limited: dict[str, str] = {}

    def runs(stage: Stage, key: str | None = None, what: str = "") -> bool:
        """Whether the city can run ``stage``; note it in ``skipped`` or ``limited``."""
        cap = can[stage]
        if not cap.runs:
            skipped[key or stage] = f"{what}{cap.missing}"
        elif cap.lacking is not None:
            limited[key or stage] = cap.lacking
        return cap.runs

    library = _library(scenario, city)
    options = scenario.impact
    hazards = []
    for i, spec in enumerate(scenario.hazards):
        need = hazard_stage(spec.kind, getattr(spec, "vs30", None))
        what = f"{spec.kind.replace('_', ' ')}: "
        if need is not None and not runs(need, f"hazards[{i}]", what):
            continue
        if (lacks := missing_table(city, scenario, spec)) is not None:
            skipped[f"hazards[{i}]"] = what + lacks
            continue
        say(f"hazard: {spec.kind.replace('_', ' ')}")
        hazards.append(build_hazard(city, scenario, spec))
    impacts = []
    combined = compound_floods(hazards)
    for named in combined:
        say(f"impact: {named.name}")
        impacts.append(
            scenario_impact(
                named.name,
                city.assets,
                named.events,
                library,
                keep_matrix=options.keep_matrix,
                threads=options.threads,
                evacuated_share=options.evacuated_share,
                notes=_notes(named.events.kind, options.evacuated_share),
            )
        )
    sets = []
    for i, set_spec in enumerate(scenario.event_sets):
        what = f"{set_spec.kind.replace('_', ' ')} event set: "
        if not runs(set_spec.kind, f"event_sets[{i}]", what):
            continue
        if (lacks := missing_table(city, scenario, set_spec)) is not None:
            skipped[f"event_sets[{i}]"] = what + lacks
            continue
        say(f"event set: {set_spec.kind.replace('_', ' ')}")
        named = build_event_set(city, scenario, set_spec)
        say(f"impact: {named.name}")
        result = assess_impact(city.assets, named.events, library, threads=options.threads)
        curve = exceedance_curve(result.loss_per_event, named.events.frequency)
        sets.append(EventSetImpact(named.name, named.events.kind, named.events, result, curve))
    results = RunSummary(impact=ImpactSummary.of(impacts, sets, city.profile.currency))
    stage = None
    evacuation = None
    dispatch = None
    relief = None
    if scenario.recovery.enabled and runs("network"):
        say("networks, cascade and recovery")
        grids = [h.depth_grid for h in combined if h.depth_grid is not None]
        rec = scenario.recovery
        stage = network_stage(
            city,
            impacts,
            np.fmax.reduce(grids) if grids else None,
            days=rec.days,
            policy=rec.policy,
            given=rec.given or None,
            crews=dict(rec.crews) if rec.crews is not None else None,
            sample_seed=rec.seed if rec.sampled else None,
            damage=rec.damage,
            damage_seed=rec.damage_seed,
        )
        resilience, network = resilience_summary(stage, city)
        results = replace(results, resilience=resilience, network=network)
    if scenario.decisions_run:
        decide = scenario.decisions
        incidents_total = None
        if runs("evacuation") and stage is not None:
            say("decisions: evacuation")
            evacuation = evacuation_stage(city, impacts, stage)
        if runs("dispatch") and stage is not None:
            say("decisions: rescue dispatch")
            dispatch, incidents_total = dispatch_stage(
                city, impacts, stage, max_incidents=decide.max_dispatch_incidents
            )
        if runs("relief") and stage is not None and evacuation is not None:
            say("decisions: relief distribution")
            relief = relief_stage(city, stage, evacuation, days=decide.relief_days)
        policies = None
        if scenario.recovery.compare_policies and runs("repair_policies") and stage is not None:
            say("decisions: repair policies")
            table = compare_repair_policies(
                city.assets,
                city.dependencies,
                stage.damaged,
                stage.restoration_days,
                days=scenario.recovery.days,
                crews=dict(crews) if (crews := scenario.recovery.crews) is not None else None,
                edges=city.roads.edges,
            )
            policies = RepairPolicyTotals.rows(table)
        decision = DecisionSummary(
            **decision_summary(evacuation, dispatch, incidents_total),
            **(relief_summary(relief) if relief is not None else {}),
            repair_policies=policies,
        )
        results = replace(results, decision=decision)
    assessment = None
    if scenario.assessment is not None and runs("assessment"):
        say("assessment of the city's units")
        try:
            scored, maturity, block, limits = assessment_stage(
                city, scenario, sets, stage.curve if stage is not None else None
            )
        except NothingToCompare as nothing:  # without a typed-in table: skipped, said why
            skipped["assessment"] = str(nothing).replace("\n  - ", ": ")
        else:
            limited.update(limits)
            assessment = (scored, maturity)
            results = replace(results, assessment=block)
    results = replace(results, skipped=skipped, limited=limited)
    say("decisions: contingency plans")
    plan_set = load_plans(_plan_files(scenario, city))
    seen = {"city": city.summary(), **results.to_json()}  # the blocks plans see (PLAN_BLOCKS)
    fired = evaluate_plans(plan_set, seen, warning_level=scenario.warning_level)
    tasks = tasks_of(fired, plan_set)
    decision = replace(
        results.decision, plans_fired=tuple(fired.index.astype(str)), tasks=len(tasks)
    )
    return ScenarioRun(
        scenario,
        city,
        impacts,
        sets,
        replace(results, decision=decision),
        network=stage,
        evacuation=evacuation,
        plans=(fired, tasks),
        dispatch=dispatch,
        relief=relief,
        assessment=assessment,
    )


def write_outputs(
    run: ScenarioRun,
    out: str | os.PathLike[str],
    job: dict[str, Any],
    timings: dict[str, float] | None = None,
    progress: Progress | None = None,
    extra_files: Mapping[str, tuple[str, Callable[[Path], None]]] | None = None,
    extra_sections: Sequence[Section] = (),
) -> ScenarioRun:
    """Write the run's output set into the folder ``out``, as one.

    The set: ``summary.json`` (which lists the set under ``outputs``),
    ``impact_assets.parquet``, ``report.html``, ``service_curves.csv`` when the run has a
    network stage, and ``extra_files``. It is written into a staging folder that takes
    ``out``'s place only when complete (:func:`resilientcity._files.atomic_folder`): ``out``
    holds the previous set or the new one, never a mix, and other files of the user there are
    kept.

    Parameters
    ----------
    run
        The scenario run.
    out
        The output folder (created when missing; must not be or hold the current folder).
    job
        What made the run (recorded in the summary).
    timings
        Step → seconds, copied into the summary.
    progress
        Called with each step's name as it starts.
    extra_files
        Key → (file name, writer): each writer is called with the file's path in the set.
    extra_sections
        More report sections.

    Returns
    -------
    ScenarioRun
        The run with its summary and ``outputs`` (key → path of each file in ``out``).

    Raises
    ------
    DataFileError
        ``out`` cannot hold the set (see :func:`~resilientcity._files.atomic_folder`).
    """
    with atomic_folder(out) as staging:
        written = _write_output_set(
            run, staging, job, timings, progress, extra_files, extra_sections
        )
    folder = Path(out)
    return replace(written, outputs={k: folder / v.name for k, v in written.outputs.items()})


def _write_output_set(
    run: ScenarioRun,
    folder: Path,
    job: dict[str, Any],
    timings: dict[str, float] | None,
    progress: Progress | None,
    extra_files: Mapping[str, tuple[str, Callable[[Path], None]]] | None,
    extra_sections: Sequence[Section],
) -> ScenarioRun:
    """Write the output files into ``folder`` (the staging folder of :func:`write_outputs`)."""
    from resilientcity import __version__
    from resilientcity.report import write_report
    from resilientcity.report.assessment import assessment_section
    from resilientcity.report.evacuation import evacuation_section, plans_section
    from resilientcity.report.impact import impact_section
    from resilientcity.report.recovery import recovery_section
    from resilientcity.report.relief import relief_section
    from resilientcity.report.skipped import skipped_section

    say = progress or (lambda _step: None)
    outputs = {
        "report": folder / "report.html",
        "summary": folder / "summary.json",
        "impact": folder / "impact_assets.parquet",
    }
    for key, (name, write) in (extra_files or {}).items():
        say(f"writing {name}")
        outputs[key] = folder / name
        write(outputs[key])
    say("writing impact_assets.parquet")
    _write_assets_table(run.impacts, outputs["impact"])
    if run.network is not None:
        outputs["service_curves"] = folder / "service_curves.csv"
        levels = run.network.curve.levels
        table = levels.set_axis([":".join(map(str, c)) for c in levels.columns], axis=1)
        with atomic_path(outputs["service_curves"], what="service curves") as tmp:
            table.rename_axis("day").to_csv(tmp)
    file = SummaryFile.of(
        run.results,
        version=__version__,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        job=job,
        city=run.city.summary(),
        timings=dict(timings or {}),
        outputs={k: v.name for k, v in outputs.items()},
    )
    summary = file.to_json()
    say("writing summary.json")
    write_json(outputs["summary"], summary)
    say("writing report.html")
    cascade = None if run.network is None else run.network.cascade
    skipped = skipped_section(run.results.skipped, run.results.limited)
    sections = [] if skipped is None else [skipped]
    sections.append(impact_section(run.city, run.impacts, run.event_sets, cascade=cascade))
    if run.network is not None:
        policies = run.results.decision.repair_policies
        records = to_json(policies) if policies is not None else None
        sections.append(recovery_section(run.city, run.network, policies=records))
    if run.evacuation is not None:
        sections.append(evacuation_section(run.evacuation, run.dispatch))
    if run.relief is not None:
        sections.append(relief_section(run.relief))
    if run.plans is not None:
        sections.append(plans_section(*run.plans))
    if run.assessment is not None:
        sections.append(assessment_section(*run.assessment))
    sections += list(extra_sections)
    write_report(outputs["report"], run.city, summary, sections)
    return replace(run, file=file, outputs=outputs)


def _write_assets_table(impacts: list[ScenarioImpact], path: Path) -> None:
    """One row per hazard and asset, written atomically."""
    frames = [i.assets.assign(hazard=i.name) for i in impacts]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    with atomic_path(path, what="impact table") as tmp:
        table.to_parquet(tmp, index=False)
