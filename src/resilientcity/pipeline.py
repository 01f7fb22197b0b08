"""The main job, end to end, as a library function (the CLI's ``demo`` is a thin wrapper).

It builds the demo city, writes it, and runs the default scenario on it through
:mod:`resilientcity.scenario`: hazards, impact, networks and recovery, decisions, the district
assessment and the contingency plans, every stage set by ``data/scenarios/demo.yaml``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resilientcity._files import check_output_folder
from resilientcity.scenario.config import AssessmentOptions, CitySpec, HazardSpec, Scenario
from resilientcity.summary import RunSummary
from resilientcity.twin.city import City
from resilientcity.twin.demo import DEFAULT_SEED, demo_city

__all__ = ["DEMO_EXTRA_STEPS", "DemoResult", "demo_scenario", "run_demo", "twin_scenario"]


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` produced: the city, the summary, the stages' blocks, the files."""

    city: City
    summary: dict[str, Any]
    results: RunSummary
    outputs: dict[str, Path]


def demo_scenario(size: str = "small", seed: int = DEFAULT_SEED) -> Scenario:
    """The demo's default scenario (``data/scenarios/demo.yaml``) on the demo city of ``size``."""
    from importlib import resources

    from resilientcity.scenario.config import load_scenario

    packaged = resources.files("resilientcity").joinpath("data/scenarios/demo.yaml")
    with resources.as_file(packaged) as path:
        scenario = load_scenario(path)
    city = scenario.city.model_copy(update={"demo": size, "seed": seed})
    # The repair-policy comparison runs the recovery several times (about 1 s for the small
    # city, 20 s for the default one): the large city leaves it out.
    recovery = scenario.recovery.model_copy(update={"compare_policies": size != "large"})
    return scenario.model_copy(update={"city": city, "recovery": recovery})


def twin_scenario(
    path: str | os.PathLike[str],
    hazards: Sequence[HazardSpec],
    name: str,
    description: str = "",
) -> Scenario:
    """A scenario of ``hazards`` on the user's twin at ``path`` (the service's on a user city).

    The stages' options are the defaults (those of the demo scenario, which sets none but the
    city's); unlike :func:`demo_scenario` it has no event sets, its ``assessment:`` block has
    no typed-in table and no maturity answers (the demo's describe the demo's districts, not
    the user's: the city's units are scored on the twin's indicators and the run's), and its
    plans are those of the city's regional profile.

    Parameters
    ----------
    path
        The twin's GeoPackage.
    hazards
        The hazards that strike together (at least one).
    name, description
        The scenario's name and what it is.

    Raises
    ------
    pydantic.ValidationError
        No hazard.
    """
    return Scenario(
        name=name,
        description=description,
        city=CitySpec(path=Path(path)),
        hazards=list(hazards),
        assessment=AssessmentOptions(),
    )


#: Progress steps of :func:`run_demo` after the city's own (for a progress bar).
DEMO_EXTRA_STEPS = 1 + 14 + 3


def run_demo(
    out: str | os.PathLike[str],
    size: str = "small",
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
) -> DemoResult:
    """Build the demo city, run the default scenario on it, and write the outputs.

    The default scenario (:func:`demo_scenario`) is the 100-year river flood together with its
    rainstorm, plus the probabilistic river-flood and rainstorm event sets for the expected
    annual loss. Writes ``city.gpkg``, ``impact_assets.parquet``, ``service_curves.csv``,
    ``summary.json`` and ``report.html`` as one set (see
    :func:`resilientcity.scenario.run.write_outputs`: the folder holds the previous set or
    the new one, never a mix).

    Parameters
    ----------
    out
        Output folder (created when missing; must not be or hold the current folder).
    size, seed
        Demo city size and seed (see :func:`resilientcity.demo_city`).
    progress
        Called with each step's name as it starts.
    timings
        Step → seconds, filled by the caller's progress tracker; copied into the summary.
    """
    from resilientcity.scenario.run import run_scenario, write_outputs

    say = progress or (lambda _step: None)
    check_output_folder(out)  # before the work, not only when the files are written
    scenario = demo_scenario(size, seed)
    city = demo_city(size, seed=seed, progress=say)
    run = run_scenario(scenario, city=city, progress=say)
    job = {"kind": "demo", "size": size, "seed": seed, "scenario": scenario.name}
    written = write_outputs(
        run,
        out,
        job,
        timings,
        progress=say,
        extra_files={"city": ("city.gpkg", city.write)},
    )
    return DemoResult(
        city=city, summary=written.summary, results=written.results, outputs=written.outputs
    )
