"""The verdict table every benchmark ends with: each target, what was measured, and the verdict."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

#: Rich style of each verdict.
_STYLE = {"PASS": "green", "FAIL": "bold red", "NOT MEASURED": "yellow"}


def print_targets(
    console: Console, title: str, verdicts: Sequence[tuple[str, str, str]]
) -> list[str]:
    """Print ``(target, measured, verdict)`` rows as a table titled ``title``; the verdicts."""
    table = Table(title=title)
    for col in ("target", "measured", "verdict"):
        table.add_column(col)
    for target, measured, verdict in verdicts:
        table.add_row(target, measured, f"[{_STYLE[verdict]}]{verdict}[/]")
    console.print(table)
    return [v for _, _, v in verdicts]
