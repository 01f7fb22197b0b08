"""Contingency plans (预案): declarative files, a validator, and which plans a scenario fires.

A plan file (YAML or JSON) lists the agencies that take part and the plans. A plan has an id,
a name, the hazard kinds it covers, a response level (I highest … IV lowest), a trigger
(``any`` or ``all`` of its conditions) and tasks, each for one agency, due a number of hours
after activation and depending on other tasks of the plan. Names and task texts are
:class:`Text`: English (``en``, required) and any other languages by ISO 639 code (``zh``,
``fi``, ``sv`` …); a reader that wants a language the text lacks gets the English.

The response levels I–IV are the four levels of the Chinese national emergency plans in the
demo's plans; for plans of other countries they are this package's neutral response ranks
(I the highest), each file's ``level_source`` saying what its levels stand for.

A condition is one of

* ``hazard: river_flood`` — the hazard kind strikes;
* ``warning: orange`` — the warning level issued is at least this colour
  (blue < yellow < orange < red, the four-colour scheme of CMA Order No. 16, 2007);
* ``when: "impact.displaced > 10000"`` — a threshold on the scenario summary: a dotted path
  into ``summary.json`` (list items as ``[0]``), optionally followed by ``count`` (the length
  of a list), an operator (``> >= < <= == !=``) and a number. Parsed by a regular expression
  and compared in Python: never evaluated as code. The path is checked against the schema of
  ``summary.json`` (``docs/summary.md``; the blocks ``city``, ``impact``, ``resilience``,
  ``network``, ``decision`` and ``assessment``) when the plan file is loaded: a misspelt path
  is refused with the plan id, the path and its near matches.

``data/decision/plans/`` holds illustrative flood and earthquake plans for the demo city, and
``data/decision/plans/fi/`` illustrative plan templates for a Finnish city (profile ``FI``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticError

from resilientcity._files import read_data_file
from resilientcity._pydantic import pydantic_problems
from resilientcity.decision.expressions import parse_expression
from resilientcity.decision.plan_text import Text
from resilientcity.errors import DataFileError, Problem, ValidationError
from resilientcity.hazard.events import HAZARD_UNITS
from resilientcity.vocabulary import WARNING_LEVELS, HazardKind, WarningLevel

__all__ = [
    "Agency",
    "Condition",
    "Plan",
    "PlanFile",
    "PlanSet",
    "ResponseLevel",
    "Task",
    "Text",
    "Trigger",
    "evaluate_plans",
    "load_plans",
    "packaged_plan_path",
    "plans_from_dict",
    "tasks_of",
]

ResponseLevel = Literal["I", "II", "III", "IV"]

#: Response levels from highest (I, 特别重大) to lowest (IV, 一般).
_RESPONSE_RANK = {"I": 4, "II": 3, "III": 2, "IV": 1}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(_Spec):
    """An agency that takes part in the plans (``id`` is what tasks refer to)."""

    id: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
    name: Text


class Condition(_Spec):
    """One trigger condition: exactly one of ``hazard``, ``warning`` or ``when``."""

    hazard: HazardKind | None = None
    warning: WarningLevel | None = None
    when: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        given = [k for k in ("hazard", "warning", "when") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("exactly one of 'hazard', 'warning' or 'when'")
        if self.when is not None:
            parse_expression(self.when)
        return self


class Trigger(_Spec):
    """The plan fires when ``any`` (or ``all``) of the conditions hold."""

    any: list[Condition] | None = Field(default=None, min_length=1)
    all: list[Condition] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_mode(self) -> Trigger:
        if (self.any is None) == (self.all is None):
            raise ValueError("exactly one of 'any' or 'all' (a list of conditions)")
        return self


class Task(_Spec):
    """A task of a plan: one agency, due ``deadline_h`` hours after the plan is activated."""

    id: str = Field(min_length=1)
    agency: str
    text: Text
    deadline_h: float = Field(ge=0, allow_inf_nan=False)
    depends_on: list[str] = Field(default_factory=list)


class Plan(_Spec):
    """A contingency plan: trigger → tasks per agency."""

    id: str = Field(min_length=1)
    name: Text
    family: str = Field(
        min_length=1, description="plans of one family are the levels of one response"
    )
    hazards: list[HazardKind] = Field(min_length=1)
    level: ResponseLevel
    trigger: Trigger
    tasks: list[Task] = Field(min_length=1)


class PlanFile(_Spec):
    """A plan file: where it comes from, the agencies, and the plans."""

    city: str = ""
    basis: str = Field(min_length=1, description="the framework the plans follow, cited")
    level_source: str = Field(min_length=1, description="source of the response levels")
    note: str = ""
    agencies: list[Agency] = Field(min_length=1)
    plans: list[Plan] = Field(min_length=1)


@dataclass(frozen=True)
class PlanSet:
    """Validated plans from one or more files, with their agencies (by id)."""

    plans: tuple[Plan, ...]
    agencies: Mapping[str, Agency]

    def plan(self, plan_id: str) -> Plan:
        """The plan with id ``plan_id`` (``KeyError`` if none)."""
        for plan in self.plans:
            if plan.id == plan_id:
                return plan
        raise KeyError(plan_id)


def _find_cycle(tasks: Sequence[Task]) -> list[str] | None:
    """A dependency cycle among ``tasks`` as ``[a, b, …, a]``, or ``None``."""
    edges = {t.id: list(t.depends_on) for t in tasks}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt in edges and nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for task in tasks:
        if task.id not in state and (cycle := visit(task.id)) is not None:
            return cycle
    return None


def _task_problems(source: str, where: str, plan: Plan, agencies: set[str]) -> list[Problem]:
    """Unknown agencies, duplicate or unknown task ids, deadlines before dependencies, cycles."""
    problems = []
    by_id: dict[str, Task] = {}
    for k, task in enumerate(plan.tasks):
        at = f"{where}.tasks[{k}]"
        if task.id in by_id:
            problems.append(Problem(source, f"{at}.id", "a task id unique in the plan", (task.id,)))
        by_id[task.id] = task
        if task.agency not in agencies:
            problems.append(
                Problem(
                    source,
                    f"{at}.agency",
                    "an agency id listed in 'agencies'",
                    (task.id,),
                    repr(task.agency),
                )
            )
    for k, task in enumerate(plan.tasks):
        for d, dep in enumerate(task.depends_on):
            at = f"{where}.tasks[{k}].depends_on[{d}]"
            if dep not in by_id:
                problems.append(
                    Problem(source, at, "a task id of the same plan", (task.id,), repr(dep))
                )
            elif by_id[dep].deadline_h > task.deadline_h:
                problems.append(
                    Problem(
                        source,
                        f"{where}.tasks[{k}].deadline_h",
                        f"a deadline no earlier than that of {dep!r} ({by_id[dep].deadline_h:g} h)",
                        (task.id,),
                        f"{task.deadline_h:g}",
                    )
                )
    cycle = _find_cycle(plan.tasks)
    if cycle is not None:
        problems.append(
            Problem(
                source,
                f"{where}.tasks",
                "no cycle in depends_on",
                tuple(cycle[:-1]),
                " → ".join(cycle),
            )
        )
    return problems


def _when_problems(source: str, where: str, plan: Plan) -> list[Problem]:
    """``when:`` paths that ``summary.json`` does not have (near matches suggested)."""
    from resilientcity.summary import summary_path_problem

    problems = []
    trigger = plan.trigger
    for mode, conditions in (("any", trigger.any), ("all", trigger.all)):
        for k, condition in enumerate(conditions or []):
            if condition.when is None:
                continue
            expression = parse_expression(condition.when)
            expected = summary_path_problem(expression.path, expression.count)
            if expected is not None:
                problems.append(
                    Problem(
                        source,
                        f"{where}.trigger.{mode}[{k}].when",
                        expected,
                        (plan.id,),
                        repr(expression.path),
                    )
                )
    return problems


def _cross_problems(source: str, spec: PlanFile) -> list[Problem]:
    """Rules across fields.

    Unique ids, known agencies, task dependencies without cycles, ``when:`` paths of
    ``summary.json``.
    """
    problems = []
    agencies = [a.id for a in spec.agencies]
    for k, agency_id in enumerate(agencies):
        if agency_id in agencies[:k]:
            problems.append(
                Problem(source, f"agencies[{k}].id", "a unique agency id", (agency_id,))
            )
    seen: set[str] = set()
    for p, plan in enumerate(spec.plans):
        if plan.id in seen:
            problems.append(Problem(source, f"plans[{p}].id", "a unique plan id", (plan.id,)))
        seen.add(plan.id)
        problems += _task_problems(source, f"plans[{p}]", plan, set(agencies))
        problems += _when_problems(source, f"plans[{p}]", plan)
    return problems


def plans_from_dict(data: Any, source: str = "plans") -> PlanFile:
    """Validate a plan file given as a mapping (e.g. parsed YAML).

    Raises
    ------
    ValidationError
        Every problem, each naming its field (``plans[0].tasks[2].agency``), the task or plan
        ids concerned, and what is expected; a ``when:`` path that is not a number (or, with
        ``count``, a list) of ``summary.json``.
    """
    if not isinstance(data, dict):
        raise ValidationError(
            [
                Problem(
                    source,
                    "",
                    "a mapping with basis, agencies and plans",
                    found=type(data).__name__,
                )
            ],
            what="plan file",
        )
    try:
        spec = PlanFile.model_validate(data)
    except PydanticError as exc:
        raise ValidationError(pydantic_problems(exc, source), what="plan file") from None
    problems = _cross_problems(source, spec)
    if problems:
        raise ValidationError(problems, what="plan file")
    return spec


def _plans_folder() -> Path:
    return Path(str(files("resilientcity") / "data" / "decision" / "plans"))


def _default_paths() -> list[Path]:
    """The demo city's plan files (the top of ``data/decision/plans``, not its sub-folders)."""
    return sorted(
        p for p in _plans_folder().iterdir() if p.name.endswith((".yaml", ".yml", ".json"))
    )


def _packaged_names() -> list[str]:
    """Every packaged plan file, as a path under ``data/decision/plans`` (``fi/flood.yaml``)."""
    folder = _plans_folder()
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name.endswith((".yaml", ".yml", ".json"))
    )


def packaged_plan_path(name: str) -> Path:
    """Path of a packaged plan file (``data/decision/plans/<name>``, e.g. ``fi/flood.yaml``).

    Raises
    ------
    DataFileError
        No packaged plan file has this name (a name with ``..`` or an absolute path is none).
    """
    parts = name.replace("\\", "/").split("/")
    path = _plans_folder().joinpath(*parts)
    if name.startswith("/") or ".." in parts or "" in parts or not path.is_file():
        known = ", ".join(_packaged_names())
        raise DataFileError(f"no packaged plan file {name!r} (packaged: {known})")
    return path


def load_plans(paths: Iterable[str | PathLike[str]] | None = None) -> PlanSet:
    """Read and validate plan files (default: the packaged example plans for the demo city).

    Plan ids must be unique across the files; an agency id used in several files must name the
    same agency.

    Raises
    ------
    DataFileError
        A missing or unreadable file.
    ValidationError
        Every problem of every file, named by file and field.
    """
    problems: list[Problem] = []
    plans: list[Plan] = []
    agencies: dict[str, Agency] = {}
    for path in _default_paths() if paths is None else [Path(p) for p in paths]:
        try:
            spec = plans_from_dict(read_data_file(path, "plan", as_yaml=True), source=path.name)
        except ValidationError as exc:
            problems += exc.problems
            continue
        for k, agency in enumerate(spec.agencies):
            if agencies.setdefault(agency.id, agency) != agency:
                problems.append(
                    Problem(
                        path.name,
                        f"agencies[{k}]",
                        "the same agency as in the other plan files",
                        (agency.id,),
                    )
                )
        known = {p.id for p in plans}
        for p, plan in enumerate(spec.plans):
            if plan.id in known:
                problems.append(
                    Problem(
                        path.name, f"plans[{p}].id", "a plan id unique across the files", (plan.id,)
                    )
                )
        plans += spec.plans
    if problems:
        raise ValidationError(problems, what="plan files")
    return PlanSet(tuple(plans), agencies)


def _active_kinds(summary: Mapping[str, Any]) -> set[str]:
    impact = summary.get("impact")
    hazards = impact.get("hazards", []) if isinstance(impact, Mapping) else []
    return {h["kind"] for h in hazards if isinstance(h, Mapping) and "kind" in h}


def _match(
    condition: Condition, summary: Mapping[str, Any], warning: WarningLevel | None, kinds: set[str]
) -> str | None:
    """Why ``condition`` holds (the condition with the value found), or ``None``."""
    if condition.hazard is not None:
        return f"hazard {condition.hazard}" if condition.hazard in kinds else None
    if condition.warning is not None:
        if warning is None or WARNING_LEVELS.index(warning) < WARNING_LEVELS.index(
            condition.warning
        ):
            return None
        return f"warning {warning} >= {condition.warning}"
    expression = parse_expression(str(condition.when))
    value = expression.lookup(summary)
    if value is None or not expression.holds(value):
        return None
    return f"{expression} (value {value:g})"


def evaluate_plans(
    plans: PlanSet,
    summary: Mapping[str, Any],
    warning_level: WarningLevel | None = None,
    hazard_kinds: Iterable[str] | None = None,
    highest_only: bool = True,
) -> pd.DataFrame:
    """The plans a scenario fires, and why.

    A plan is considered when one of its hazard kinds strikes, and fires when its trigger
    holds. With ``highest_only`` only the highest response level of each family is kept (a
    level I flood response replaces the level II–IV ones).

    Parameters
    ----------
    plans
        Plans from :func:`load_plans`.
    summary
        The scenario summary (``summary.json``: blocks ``impact``, ``network``, ``resilience``,
        ``decision``).
    warning_level
        The highest warning colour issued for the hazards (``None``: no warning issued).
    hazard_kinds
        The hazard kinds that strike; default: the kinds in ``summary["impact"]["hazards"]``.
    highest_only
        Keep only the highest level that fires in each plan family.

    Returns
    -------
    pandas.DataFrame
        One row per fired plan, in file order; index ``plan`` (plan id); columns ``family``,
        ``level`` (I–IV), ``name_zh`` (the Chinese name, else the English), ``name_en``,
        ``reason`` (the conditions that hold with the values found, joined by ``"; "``),
        ``n_tasks``.

    Raises
    ------
    ValidationError
        An unknown warning level or hazard kind.
    """
    kinds = _active_kinds(summary) if hazard_kinds is None else set(hazard_kinds)
    problems = []
    if warning_level is not None and warning_level not in WARNING_LEVELS:
        problems.append(
            Problem(
                "evaluate_plans",
                "warning_level",
                f"one of {', '.join(WARNING_LEVELS)}",
                found=repr(warning_level),
            )
        )
    unknown = sorted(kinds - set(HAZARD_UNITS))
    if unknown:
        problems.append(
            Problem(
                "evaluate_plans",
                "hazard_kinds",
                f"hazard kinds among {', '.join(HAZARD_UNITS)}",
                tuple(unknown),
            )
        )
    if problems:
        raise ValidationError(problems, what="plan evaluation")
    rows = []
    for plan in plans.plans:
        if not kinds.intersection(plan.hazards):
            continue
        mode_all = plan.trigger.all is not None
        conditions = plan.trigger.all if plan.trigger.all is not None else plan.trigger.any or []
        reasons = [_match(c, summary, warning_level, kinds) for c in conditions]
        matched = [r for r in reasons if r is not None]
        if matched and (not mode_all or len(matched) == len(reasons)):
            rows.append(
                {
                    "plan": plan.id,
                    "family": plan.family,
                    "level": plan.level,
                    "name_zh": plan.name.get("zh"),
                    "name_en": plan.name.en,
                    "reason": "; ".join(matched),
                    "n_tasks": len(plan.tasks),
                }
            )
    columns = ["plan", "family", "level", "name_zh", "name_en", "reason", "n_tasks"]
    fired = pd.DataFrame(rows, columns=columns)
    if highest_only and not fired.empty:
        rank = fired["level"].map(_RESPONSE_RANK)
        fired = fired[rank == rank.groupby(fired["family"]).transform("max")]
    return fired.set_index("plan")


def tasks_of(fired: pd.DataFrame | Iterable[str], plans: PlanSet) -> pd.DataFrame:
    """The tasks the fired plans create, in dependency order.

    Parameters
    ----------
    fired
        The frame from :func:`evaluate_plans` (its index is the plan ids) or plan ids.
    plans
        The plans ``fired`` was evaluated from.

    Returns
    -------
    pandas.DataFrame
        One row per task, every task after the tasks it depends on, ties by deadline then file
        order; columns ``plan``, ``task``, ``agency``, ``agency_zh``, ``deadline_h`` (hours
        after activation), ``depends_on`` (tuple of task ids of the same plan), ``text_zh``,
        ``text_en``; a ``_zh`` column holds the English text where a plan has no Chinese.
    """
    ids = list(fired.index) if isinstance(fired, pd.DataFrame) else list(fired)
    pending = [(plan_id, task) for plan_id in ids for task in plans.plan(plan_id).tasks]
    done: set[tuple[str, str]] = set()
    rows = []
    while pending:
        ready = [(p, t) for p, t in pending if all((p, d) in done for d in t.depends_on)]
        plan_id, task = min(ready, key=lambda pt: pt[1].deadline_h)
        pending.remove((plan_id, task))
        done.add((plan_id, task.id))
        rows.append(
            {
                "plan": plan_id,
                "task": task.id,
                "agency": task.agency,
                "agency_zh": plans.agencies[task.agency].name.get("zh"),
                "deadline_h": task.deadline_h,
                "depends_on": tuple(task.depends_on),
                "text_zh": task.text.get("zh"),
                "text_en": task.text.en,
            }
        )
    columns = [
        "plan",
        "task",
        "agency",
        "agency_zh",
        "deadline_h",
        "depends_on",
        "text_zh",
        "text_en",
    ]
    return pd.DataFrame(rows, columns=columns)
