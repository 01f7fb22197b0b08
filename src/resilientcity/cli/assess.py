"""``resilientcity assess DATA.csv``: score, rank and diagnose the units of an indicator table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer

from resilientcity._files import atomic_path, ensure_folder
from resilientcity.cli._console import console
from resilientcity.errors import Problem, ValidationError

if TYPE_CHECKING:
    from resilientcity.assessment.run import AssessmentResult


def scores_table(result: AssessmentResult) -> pd.DataFrame:
    """``scores.csv``.

    Per unit ``score``, ``rank``, ``population``, the dimension scores (``score_<dimension>``) and
    the dimension obstacle degrees (``obstacle_<dimension>``).
    """
    dims = result.dimension_scores.add_prefix("score_")
    obstacles = result.dimension_obstacles.add_prefix("obstacle_")
    table = result.scores.join(dims).join(obstacles).sort_values("rank")
    return table.rename_axis("unit").reset_index()


def write_assessment_outputs(
    result: AssessmentResult, out: Path, job: dict[str, Any], imputation: str = ""
) -> dict[str, Path]:
    """Write ``scores.csv``, ``weak_spots.csv``, ``summary.json`` and ``report.html`` into ``out``.

    Returns
    -------
    dict
        Output label → path.
    """
    from resilientcity import __version__
    from resilientcity._files import write_json
    from resilientcity.report.assessment import write_assessment_page

    folder = ensure_folder(out)
    outputs = {
        "scores": folder / "scores.csv",
        "weak_spots": folder / "weak_spots.csv",
        "summary": folder / "summary.json",
        "report": folder / "report.html",
    }
    with atomic_path(outputs["scores"], what="scores table") as tmp:
        scores_table(result).to_csv(tmp, index=False)
    with atomic_path(outputs["weak_spots"], what="weak spots table") as tmp:
        result.weak_spots.to_csv(tmp, index=False)
    summary = {
        "resilientcity_version": __version__,
        "job": job,
        "assessment": {**result.summary(), "imputation": imputation},
        "outputs": {k: v.name for k, v in outputs.items()},
    }
    write_json(outputs["summary"], summary)
    facts = {"data": job.get("data", ""), "year": result.year, "method": result.method}
    write_assessment_page(outputs["report"], result, facts=facts)
    return outputs


def parse_weights(text: str) -> Any:
    """The weight scheme of ``--weights``: a name, or ``ahp:FILE`` / ``combined:FILE``.

    Raises
    ------
    ValidationError
        An unknown scheme (the choices listed).
    """
    from resilientcity.assessment.run import WEIGHT_SCHEMES

    name, _, path = text.partition(":")
    if path and name in ("ahp", "combined"):
        return (name, Path(path))
    if not path and name in ("entropy", "critic", "equal", "combined"):
        return name
    expected = "entropy, critic, equal, combined, ahp:FILE or combined:FILE"
    problem = Problem("options", "--weights", expected, found=text)
    raise ValidationError([problem], what=f"weights (schemes: {', '.join(WEIGHT_SCHEMES)})")


def assess(
    data: Annotated[
        Path, typer.Argument(help="Indicator table (CSV or Excel; long or wide: unit, year, …).")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder for scores.csv, weak_spots.csv, summary.json, report.html."
        ),
    ] = Path("assessment-out"),
    weights: Annotated[
        str,
        typer.Option(
            "--weights", help="entropy | critic | equal | combined | ahp:FILE | combined:FILE."
        ),
    ] = "entropy",
    method: Annotated[
        str, typer.Option("--method", help="topsis | vikor | weighted_sum | geometric.")
    ] = "topsis",
    indicators: Annotated[
        Path | None,
        typer.Option("--indicators", help="Indicator file (CSV/YAML/JSON) extending the library."),
    ] = None,
    year: Annotated[
        int | None, typer.Option("--year", help="Year to assess (default: the latest).")
    ] = None,
    imputation: Annotated[
        str,
        typer.Option("--imputation", help="none | unit_mean | indicator_median | previous_year."),
    ] = "none",
    drop_constant: Annotated[
        bool,
        typer.Option("--drop-constant", help="Leave out zero-variance indicators (else refused)."),
    ] = False,
    samples: Annotated[
        int, typer.Option("--samples", help="Weight samples of the sensitivity analysis.")
    ] = 1000,
) -> None:
    """Assess units (districts, cities): weights, scores, ranks, weak spots and a report."""
    from resilientcity.assessment.data import read_indicator_table
    from resilientcity.assessment.indicators import IndicatorLibrary
    from resilientcity.assessment.run import assess as run_assessment

    scheme = parse_weights(weights)
    library = (
        IndicatorLibrary.from_file(indicators)
        if indicators is not None
        else IndicatorLibrary.default()
    )
    table = read_indicator_table(data, library, imputation=imputation)  # type: ignore[arg-type]
    result = run_assessment(
        table,
        library,
        weights=scheme,
        method=method,  # type: ignore[arg-type]
        year=year,
        samples=samples,
        drop_constant=drop_constant,
    )
    job = {"kind": "assess", "data": str(data), "weights": weights, "method": method}
    outputs = write_assessment_outputs(result, out, job, imputation=table.report.describe())
    console.print(
        f"[bold]assessment {result.year}[/]: {len(result.scores)} units, city score "
        f"{result.city_score:.3f}, weakest dimension {result.weakest_dimension}"
    )
    city = result.city_trend()
    if city is not None:
        steps = " → ".join(f"{y} {v:.3f}" for y, v in city.items())
        console.print(
            f"  city trend (one scale, {len(result.trend_indicators)} indicators): {steps}"
        )
    best = result.scores.sort_values("rank").head(3)
    for unit, row in best.iterrows():
        console.print(f"  rank {int(row['rank'])}: {unit} ({row['score']:.3f})")
    for label, path in outputs.items():
        console.print(f"  {label:<10} {path}")
