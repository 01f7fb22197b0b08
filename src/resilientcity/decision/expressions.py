"""Threshold expressions of the contingency plans' ``when:`` conditions.

``path [count] op number``: a dotted path into ``summary.json`` (list items as ``[0]``),
optionally ``count`` (the length of a list or mapping), an operator (``> >= < <= == !=``) and a
number. Parsed by a regular expression and compared in Python: never evaluated as code.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Expression", "parse_expression"]

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_PATH = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*"
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_EXPRESSION = re.compile(
    rf"^\s*(?P<path>{_PATH})(?:\s+(?P<count>count))?\s*(?P<op>>=|<=|==|!=|>|<)\s*"
    rf"(?P<value>{_NUMBER})\s*$"
)
_STEP = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]")


@dataclass(frozen=True)
class Expression:
    """A parsed threshold: ``path [count] op value``."""

    path: str
    op: str
    value: float
    count: bool = False

    def __str__(self) -> str:
        return f"{self.path}{' count' if self.count else ''} {self.op} {self.value:g}"

    def lookup(self, summary: Mapping[str, Any]) -> float | None:
        """The number at ``path`` in ``summary`` (a list's length with ``count``), or ``None``.

        ``None`` when the path is missing, the value is null, or it is not a number (a list
        without ``count``).
        """
        node: Any = summary
        for key, index in _STEP.findall(self.path):
            if key and isinstance(node, Mapping) and key in node:
                node = node[key]
            elif index and isinstance(node, list) and int(index) < len(node):
                node = node[int(index)]
            else:
                return None
        if self.count:
            return float(len(node)) if isinstance(node, list | tuple | dict) else None
        if isinstance(node, bool) or not isinstance(node, numbers.Real):
            return None
        return float(node)

    def holds(self, value: float) -> bool:
        """Whether ``value op threshold`` is true."""
        return _OPERATORS[self.op](value, self.value)


def parse_expression(text: str) -> Expression:
    """Parse ``"impact.displaced > 10000"`` or ``"network.hospitals_down count >= 1"``.

    Raises
    ------
    ValueError
        Text that is not ``path [count] operator number``.
    """
    match = _EXPRESSION.match(text)
    if match is None:
        raise ValueError(
            "an expression 'path [count] op number' with op one of > >= < <= == != "
            f"(e.g. 'impact.displaced > 10000'), not {text!r}"
        )
    value = float(match["value"])
    if not math.isfinite(value):
        raise ValueError(f"a finite number in the expression {text!r}")
    return Expression(match["path"], match["op"], value, match["count"] is not None)
