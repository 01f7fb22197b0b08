"""Memory readings shared by the benchmark scripts (Linux: getrusage and /proc)."""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident set size of this process (since start or the last reset), in MB (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Current resident set size of this process, in MB (MiB), from ``/proc/self/status``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _tree_rss_mb(pid: int) -> float:
    """Summed VmRSS of ``pid`` and its descendants (read from ``/proc``), in MB; 0 if gone."""
    total_kb, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total_kb / 1024.0


def run_measured(
    cmd: list[str], *, env: dict[str, str] | None = None, interval_s: float = 0.1, **popen: Any
) -> dict[str, float]:
    """Run ``cmd``; its wall time, exit code and peak RSS of its process tree.

    Two peaks, in MB: ``peak_rss_mb``, the kernel's exact peak of the largest single process of
    the tree (``ru_maxrss`` of ``wait4``, which covers the descendants it waited for), and
    ``peak_tree_rss_mb``, the largest sum over the tree seen by sampling ``/proc`` every
    ``interval_s`` (it can miss a peak shorter than that). ``peak_mb`` is the larger of the two.
    """
    import subprocess
    import time

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, **popen)
    tree_peak = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        tree_peak = max(tree_peak, _tree_rss_mb(proc.pid))
        time.sleep(interval_s)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    single = usage.ru_maxrss / 1024.0
    return {
        "seconds": seconds,
        "returncode": float(proc.returncode),
        "peak_rss_mb": single,
        "peak_tree_rss_mb": tree_peak,
        "peak_mb": max(single, tree_peak),
    }
