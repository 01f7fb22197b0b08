"""Consoles and progress display shared by the CLI commands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

console = Console()
err_console = Console(stderr=True)


@dataclass
class _State:
    debug: bool = False
    #: The ``--db`` store of the running command (password hidden), named by database errors.
    db_url: str | None = None


state = _State()


@dataclass
class StepProgress:
    """A Rich progress bar over named steps that also records how long each step took."""

    progress: Progress
    task: TaskID
    timings_s: dict[str, float] = field(default_factory=dict)
    _current: str | None = None
    _started: float = 0.0

    def step(self, name: str) -> None:
        """Close the running step (if any) and start ``name``."""
        now = time.perf_counter()
        if self._current is not None:
            self.timings_s[self._current] = round(now - self._started, 3)
            self.progress.advance(self.task)
        self._current, self._started = name, now
        self.progress.update(self.task, description=name)

    def finish(self) -> None:
        """Close the last step."""
        if self._current is not None:
            self.timings_s[self._current] = round(time.perf_counter() - self._started, 3)
            self.progress.advance(self.task)
            self._current = None


@contextmanager
def step_progress(total: int, transient: bool = True) -> Iterator[StepProgress]:
    """Show a progress bar with ``total`` steps on stderr while the block runs."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description:<32}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=transient,
    ) as progress:
        tracker = StepProgress(progress, progress.add_task("starting", total=total))
        yield tracker
        tracker.finish()
