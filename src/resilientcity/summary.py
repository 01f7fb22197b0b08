"""``summary.json``: the typed blocks of a scenario run, built into one file and documented.

Each stage returns a typed, frozen block (:class:`~resilientcity.impact.summary.ImpactSummary`,
:class:`~resilientcity.recovery.stage.ResilienceSummary`,
:class:`~resilientcity.recovery.stage.NetworkSummary`,
:class:`~resilientcity.decision.summary.DecisionSummary`,
:class:`~resilientcity.assessment.districts.AssessmentSummary`); :class:`RunSummary` holds
them and :class:`SummaryFile` is the whole file. :func:`summary_markdown` generates
``docs/summary.md`` from these types (a test keeps the file equal to it and checks a real run
against the types); :func:`summary_path_problem` checks the dotted paths of the contingency
plans' ``when:`` conditions against them.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass, field, fields
from typing import Any

from resilientcity._schema import resolve_path, schema_rows, to_json
from resilientcity.assessment.districts import AssessmentSummary
from resilientcity.decision.summary import DecisionSummary
from resilientcity.impact.summary import ImpactSummary
from resilientcity.recovery.stage import NetworkSummary, ResilienceSummary
from resilientcity.twin.city import CitySummary

__all__ = [
    "PLAN_BLOCKS",
    "RunSummary",
    "SummaryFile",
    "summary_markdown",
    "summary_path_problem",
]


@dataclass(frozen=True)
class RunSummary:
    """The blocks a scenario run computes (``None``: the stage did not run)."""

    impact: ImpactSummary
    resilience: ResilienceSummary | None = None
    network: NetworkSummary | None = None
    decision: DecisionSummary = field(default_factory=DecisionSummary)
    assessment: AssessmentSummary | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    limited: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The blocks as JSON-ready dicts; a stage that did not run has no block."""
        return {k: v for k, v in to_json(self).items() if v is not None}


@dataclass(frozen=True)
class SummaryFile:
    """``summary.json``: what made the run, the city, the stages' blocks and the files."""

    resilientcity_version: str = field(metadata={"doc": "version of the package"})
    generated_at: str = field(metadata={"doc": "UTC time the file was written (ISO 8601)"})
    job: dict[str, Any] = field(
        metadata={"doc": "what made the run: kind (demo, run, service), scenario and options"}
    )
    city: CitySummary = field(metadata={"doc": "the city's counts and totals (`City.summary()`)"})
    impact: ImpactSummary = field(metadata={"doc": "the impact stage"})
    resilience: ResilienceSummary | None = field(
        metadata={"doc": "recovery metrics (absent without the network stage)"}
    )
    network: NetworkSummary | None = field(
        metadata={"doc": "roads and cascade at t = 0 (absent without the network stage)"}
    )
    decision: DecisionSummary = field(metadata={"doc": "the decision stages and the plans"})
    assessment: AssessmentSummary | None = field(
        metadata={
            "doc": "the assessment of the city's units: districts, or H3 cells with fewer than "
            "two districts (absent without `assessment:`, or skipped)"
        }
    )
    skipped: dict[str, str] = field(
        metadata={
            "key": "stage",
            "doc": "what the scenario asked for that the city cannot run, with the reason in "
            "words (`hazards[i]`, `event_sets[i]`, network, evacuation, dispatch, relief, "
            "repair_policies, assessment); empty when nothing was skipped",
        }
    )
    limited: dict[str, str] = field(
        metadata={
            "key": "stage",
            "doc": "stages that ran without part of their inputs, with what they lacked",
        }
    )
    timings_s: dict[str, float] = field(
        metadata={"key": "step", "unit": "s", "doc": "seconds per step"}
    )
    outputs: dict[str, str] = field(
        metadata={"key": "output", "doc": "key → file name of each file of the output set"}
    )

    @classmethod
    def of(
        cls,
        run: RunSummary,
        *,
        version: str,
        generated_at: str,
        job: dict[str, Any],
        city: CitySummary,
        timings: dict[str, float],
        outputs: dict[str, str],
    ) -> SummaryFile:
        """The file of a run's blocks with its header and the files of the set."""
        return cls(
            resilientcity_version=version,
            generated_at=generated_at,
            job=job,
            city=city,
            impact=run.impact,
            resilience=run.resilience,
            network=run.network,
            decision=run.decision,
            assessment=run.assessment,
            skipped=run.skipped,
            limited=run.limited,
            timings_s=timings,
            outputs=outputs,
        )

    def to_json(self) -> dict[str, Any]:
        """The file's JSON: field order; a stage that did not run has no block."""
        return {k: v for k, v in to_json(self).items() if v is not None}


#: The blocks of ``summary.json`` that contingency plans see (the run's, and the city's).
PLAN_BLOCKS: tuple[str, ...] = ("city", *(f.name for f in fields(RunSummary)))


def _paths() -> list[str]:
    return [r.path for r in schema_rows(SummaryFile)]


def summary_path_problem(path: str, count: bool = False) -> str | None:
    """What is wrong with a ``when:`` path into ``summary.json``, or ``None`` when it is valid.

    Parameters
    ----------
    path
        Dotted path, list items as ``[0]`` (``impact.hazards[0].loss``); any key of a
        mapping block (``resilience.sectors.medical.index``).
    count
        The condition takes the length (a list or mapping is expected, not a number).

    Returns
    -------
    str or None
        What is expected instead (with the near matches of a misspelt path): plans see the
        blocks :data:`PLAN_BLOCKS` only.
    """
    root = path.split(".", 1)[0].split("[", 1)[0]
    hint = resolve_path(SummaryFile, path) if root in PLAN_BLOCKS else None
    if hint is None:
        generic = path.replace("[0]", "[]")
        paths = [p for p in _paths() if p.split(".", 1)[0] in PLAN_BLOCKS]
        near = difflib.get_close_matches(generic, paths, n=3, cutoff=0.6)
        hint_text = f"; did you mean {', '.join(near)}?" if near else ""
        return f"a path of summary.json (docs/summary.md) under {', '.join(PLAN_BLOCKS)}{hint_text}"
    bare = typing.get_args(hint)[0] if type(None) in typing.get_args(hint) else hint
    origin = typing.get_origin(bare)
    if count:
        if origin not in (list, tuple, dict):
            return "a list or mapping before 'count'"
    elif bare not in (int, float) and bare is not Any:
        return "a path to a number (or a list with 'count')"
    return None


def summary_markdown() -> str:
    """The schema of ``summary.json`` as Markdown (``docs/summary.md`` is this text)."""
    lines = [
        "# `summary.json`",
        "",
        "Generated from `resilientcity.summary` by `summary_markdown()`; do not edit by hand.",
        "Every scenario run (`resilientcity run`, `resilientcity demo`, the service's runs) writes",
        "it. A list's items are written `path[]`, a mapping's keys `path.<key>`. A block of a",
        "stage that did not run (`resilience`, `network` without the network stage, `assessment`",
        "without `assessment:` in the scenario) is absent; a stage the scenario asked for that the",
        "city cannot run is named in `skipped` with the reason; nullable values are `null` when",
        "undefined. Contingency plans' `when:` paths are checked against this schema when the",
        "plan file is loaded; plans see the blocks "
        + ", ".join(f"`{b}`" for b in PLAN_BLOCKS)
        + ".",
        "",
        "| path | type | unit | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for row in schema_rows(SummaryFile):
        kind = f"{row.type} or null" if row.nullable else row.type
        lines.append(f"| `{row.path}` | {kind} | {row.unit} | {row.doc} |")
    return "\n".join(lines) + "\n"
