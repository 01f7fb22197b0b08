"""The main job, end to end, as a library function (the CLI's ``demo`` is a thin wrapper).

Today it builds the demo city, writes it, and reports on it; later stages (hazard, impact,
networks, decisions, recovery, assessment) add their steps and report sections here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from resilientcity._files import write_text_atomic
from resilientcity.errors import DataFileError
from resilientcity.twin.city import City
from resilientcity.twin.demo import demo_city

__all__ = ["DemoResult", "run_demo", "write_json"]


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` produced: the city, the summary and the files written."""

    city: City
    summary: dict[str, Any]
    outputs: dict[str, Path]


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as UTF-8 JSON, atomically."""
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2), what="JSON")


def run_demo(
    out: str | os.PathLike[str],
    size: str = "small",
    seed: int = 20170703,
    progress: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
) -> DemoResult:
    """Build the demo city and write ``city.gpkg``, ``summary.json`` and ``report.html``.

    Parameters
    ----------
    out
        Output folder (created when missing).
    size, seed
        Demo city size and seed (see :func:`resilientcity.demo_city`).
    progress
        Called with each step's name as it starts.
    timings
        Step → seconds, filled by the caller's progress tracker; copied into the summary.
    """
    from resilientcity import __version__
    from resilientcity.report import write_report

    say = progress or (lambda _step: None)
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataFileError(f"cannot create output folder {folder}: {exc}") from exc
    city = demo_city(size, seed=seed, progress=say)
    say("writing city.gpkg")
    city.write(folder / "city.gpkg")
    say("writing summary.json")
    summary: dict[str, Any] = {
        "resilientcity_version": __version__,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "job": {"kind": "demo", "size": size, "seed": seed},
        "city": city.summary(),
        "timings_s": dict(timings or {}),
    }
    outputs = {
        "report": folder / "report.html",
        "summary": folder / "summary.json",
        "city": folder / "city.gpkg",
    }
    summary["outputs"] = {k: str(v.name) for k, v in outputs.items()}
    write_json(outputs["summary"], summary)
    say("writing report.html")
    write_report(outputs["report"], city, summary)
    return DemoResult(city=city, summary=summary, outputs=outputs)
