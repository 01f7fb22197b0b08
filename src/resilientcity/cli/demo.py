"""``resilientcity demo``: the main job on the built-in demo city."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resilientcity.cli._console import console, step_progress
from resilientcity.cli.run import print_impact
from resilientcity.cli.twin import DEMO_STEPS, SeedOption, SizeOption, _check_size
from resilientcity.pipeline import DEMO_EXTRA_STEPS, run_demo
from resilientcity.twin.demo import DEFAULT_SEED


def demo(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for report.html, summary.json and city.gpkg."),
    ] = Path("demo-out"),
    size: SizeOption = "small",
    seed: SeedOption = DEFAULT_SEED,
) -> None:
    """Build the demo city, run the default scenario (100-year flood with its rainstorm), report."""
    _check_size(size)
    with step_progress(DEMO_STEPS + DEMO_EXTRA_STEPS) as bar:
        result = run_demo(out, size=size, seed=seed, progress=bar.step, timings=bar.timings_s)
    city = result.summary["city"]
    console.print(
        f"[bold]{city['name']}[/]: {city['assets']:,} assets, population {city['population']:,}, "
        f"{city['roads']['edges']:,} road edges, {city['roads']['bridges']} bridges"
    )
    print_impact(result.results)
    for label, path in result.outputs.items():
        console.print(f"  {label:<8} {path}")
