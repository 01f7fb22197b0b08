"""The machine a benchmark ran on, for the record (shared by the benchmark scripts)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["cpu_model"]


def cpu_model() -> str:
    """The CPU's ``model name`` from ``/proc/cpuinfo``, or ``"unknown"``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
