"""``resilientcity run SCENARIO``: run a scenario file and write its outputs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from resilientcity.cli._console import console, step_progress

if TYPE_CHECKING:
    from resilientcity.summary import RunSummary


def print_impact(results: RunSummary) -> None:
    """Print a run's blocks: totals per hazard, resilience, decisions, assessment, EAL per set."""
    for h in results.impact.hazards:
        console.print(
            f"[bold]{h.name}[/]: {h.assets_exposed:,.0f} assets exposed, "
            f"loss {h.loss / 1e8:,.2f} 亿 CNY, casualties {h.casualties:,.1f}, "
            f"displaced {h.displaced:,.0f}, assets down {h.assets_nonfunctional:,.1f}"
        )
    res = results.resilience
    if res is not None:
        rapid = res.rapidity_days
        back = f"in {rapid:,.0f} days" if rapid is not None else f"not within {res.days:g} days"
        console.print(
            f"[bold]resilience[/]: index {res.index:.3f}, robustness {res.robustness:.1%}, "
            f"back to 95 % {back}, loss {res.loss:,.1f} service-days"
        )
    decision = results.decision
    if decision.evacuated is not None and decision.unsheltered is not None:
        response = decision.mean_response_min
        fill = decision.relief_fill_rate
        console.print(
            f"[bold]decisions[/]: {decision.evacuated:,.0f} sheltered, "
            f"{decision.unsheltered:,.0f} not; rescue "
            + (f"{response:,.1f} min mean response" if response is not None else "not needed")
            + (f"; relief fill {fill:.0%}" if fill is not None else "")
            + f"; plans: {', '.join(decision.plans_fired) or 'none'}"
        )
    else:
        console.print(f"[bold]plans[/]: {', '.join(decision.plans_fired) or 'none'}")
    assessment = results.assessment
    if assessment is not None:
        maturity = f", maturity {assessment.maturity_name}" if assessment.maturity_name else ""
        console.print(
            f"[bold]assessment[/]: city score {assessment.city_score:.3f}, weakest dimension "
            f"{assessment.weakest_dimension}{maturity}"
        )
    for s in results.impact.event_sets:
        console.print(
            f"[bold]{s.name}[/]: expected annual loss "
            f"{s.expected_annual_loss / 1e8:,.3f} 亿 CNY/yr ({s.events} events)"
        )


def run(
    scenario_file: Annotated[
        Path, typer.Argument(help="Scenario file (YAML); see docs/scenarios/ for examples.")
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for report.html, summary.json and tables."),
    ] = Path("scenario-out"),
) -> None:
    """Run a scenario: its city, hazards, event sets and stages; write the outputs."""
    from resilientcity._files import check_output_folder
    from resilientcity.scenario.config import load_scenario
    from resilientcity.scenario.run import run_scenario, steps_of, write_outputs

    check_output_folder(out)  # before the run, not only when the files are written
    scenario = load_scenario(scenario_file)
    city_steps = 7 if scenario.city.demo is not None else 1
    with step_progress(city_steps + steps_of(scenario)) as bar:
        result = run_scenario(scenario, progress=bar.step)
        job = {"kind": "run", "scenario": scenario.name, "file": str(scenario_file)}
        written = write_outputs(result, out, job, bar.timings_s, progress=bar.step)
    print_impact(written.results)
    for label, path in written.outputs.items():
        console.print(f"  {label:<8} {path}")
