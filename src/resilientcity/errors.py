"""Exceptions raised by ResilientCity.

Every exception derives from :class:`ResilientCityError` and from the builtin that matches its
meaning, so callers may catch either (``except ValueError`` keeps working).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

__all__ = [
    "CRSMismatch",
    "DataFileError",
    "MissingDependency",
    "Problem",
    "ResilientCityError",
    "SolverError",
    "SolverInfeasible",
    "SolverNumericalTrouble",
    "SolverTimeLimit",
    "SolverUnbounded",
    "StoreBusy",
    "ValidationError",
    "fail",
]

#: How many row ids a problem prints before it says "… and N more".
_ROWS_SHOWN = 10


class ResilientCityError(Exception):
    """Base class of every error raised on purpose by ResilientCity."""


@dataclass(frozen=True)
class Problem:
    """One broken rule in one layer, with every row that breaks it.

    Parameters
    ----------
    layer
        The layer (``assets``, ``road_edges``, …) or ``city`` for city-wide rules.
    column
        The column concerned, or ``""`` when the rule is about the layer itself.
    expected
        What the rule expects, in words (``"a finite number >= 0"``).
    rows
        Ids of the offending rows (the layer's id column, or the row position when the layer
        has no id); empty when the problem is about the whole column or layer.
    found
        What was found instead, when one value says it (``"dtype object"``).
    """

    layer: str
    column: str
    expected: str
    rows: tuple[str, ...] = field(default_factory=tuple)
    found: str = ""

    def describe(self, max_rows: int | None = _ROWS_SHOWN) -> str:
        """One line: layer, column, the rows (at most ``max_rows``), what was expected."""
        where = self.layer + (f".{self.column}" if self.column else "")
        text = f"{where}: expected {self.expected}"
        if self.found:
            text += f", found {self.found}"
        if self.rows:
            shown = self.rows if max_rows is None else self.rows[:max_rows]
            more = len(self.rows) - len(shown)
            text += f" (row{'s' if len(self.rows) > 1 else ''} {', '.join(shown)}"
            text += f" … and {more:,} more)" if more else ")"
        return text

    def __str__(self) -> str:
        return self.describe()


class ValidationError(ResilientCityError, ValueError):
    """Data broke one or more rules of the data contract.

    Attributes
    ----------
    problems
        Every problem found, not only the first.
    """

    def __init__(self, problems: Sequence[Problem], what: str = "city") -> None:
        self.problems = list(problems)
        self.what = what
        n_rows = sum(max(len(p.rows), 1) for p in self.problems)
        head = (
            f"{what} is invalid: {len(self.problems)} problem"
            f"{'s' if len(self.problems) != 1 else ''} ({n_rows:,} row or column findings)"
        )
        super().__init__(head + "".join(f"\n  - {p}" for p in self.problems))

    @property
    def summary(self) -> str:
        """The first line of the message, without the list of problems."""
        return str(self).splitlines()[0]


def fail(
    layer: str,
    column: str,
    expected: str,
    rows: Iterable[object] = (),
    found: str = "",
    *,
    what: str,
) -> NoReturn:
    """Raise a :class:`ValidationError` of one :class:`Problem`.

    The one helper the computation modules bind to their input's name, e.g.
    ``_fail = partial(fail, what="evacuation input")``.

    Parameters
    ----------
    layer, column, expected, found
        As :class:`Problem`.
    rows
        The offending rows' ids (turned to text).
    what
        What was invalid, the head of the message (e.g. ``"dispatch input"``).
    """
    problem = Problem(layer, column, expected, tuple(str(r) for r in rows), found)
    raise ValidationError([problem], what=what)


class CRSMismatch(ResilientCityError, ValueError):
    """A layer or raster is in another coordinate reference system than the city."""


class DataFileError(ResilientCityError, OSError):
    """A file could not be read or written: missing, corrupt, or of the wrong kind."""


class MissingDependency(ResilientCityError, ImportError):
    """An optional package needed for this feature is not installed."""


class SolverError(ResilientCityError, RuntimeError):
    """HiGHS did not return an optimal solution.

    Attributes
    ----------
    status
        ``infeasible``, ``unbounded``, ``time_limit`` or ``numerical``.
    problems
        What is at fault (constraint families and rows, variables, data), when known.
    """

    status: str = "error"

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.problems = list(problems)
        super().__init__(message + "".join(f"\n  - {p}" for p in self.problems))


class SolverInfeasible(SolverError, ValueError):
    """No solution satisfies every constraint; ``problems`` say which constraints or data."""

    status = "infeasible"


class SolverUnbounded(SolverError, ValueError):
    """The objective improves without limit; ``problems`` name the variables that run away."""

    status = "unbounded"


class SolverTimeLimit(SolverError):
    """The time limit was reached before optimality was proven.

    Attributes
    ----------
    best
        The best solution found (a MIP's incumbent, a
        :class:`resilientcity.decision.lp.Solution`), or ``None``.
    """

    status = "time_limit"

    def __init__(self, message: str, problems: Sequence[Problem] = (), best: Any = None) -> None:
        super().__init__(message, problems)
        self.best = best


class SolverNumericalTrouble(SolverError):
    """HiGHS stopped on numerical difficulties or another unexpected status."""

    status = "numerical"


class StoreBusy(ResilientCityError, TimeoutError):
    """The operations store's write lock was not free within the bound; nothing was written.

    Attributes
    ----------
    waited_s
        How long the writer waited, seconds.
    retry_after_s
        When to try again, whole seconds (the HTTP ``Retry-After``).
    """

    def __init__(self, message: str, waited_s: float, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.waited_s = waited_s
        self.retry_after_s = retry_after_s
