"""Process lifetime: a worker that ends when its parent dies (resilientcity._process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from proc_support import end_group, start_in_group

#: A parent that starts a child in a session of its own (so that only die_with_parent can end
#: it), waits until the child watches it, prints the child's pid and exits.
PARENT = """
import subprocess, sys
child = subprocess.Popen(
    [sys.executable, "-c", *sys.argv[1:]], stdout=subprocess.PIPE, start_new_session=True
)
assert child.stdout.readline() == b"watching\\n"
print(child.pid, flush=True)
"""
#: The child: with "no-prctl" only the watchdog thread notices the parent's death; with
#: "stubborn" it ignores SIGTERM, so only the SIGKILL after the grace period ends it.
CHILD = """
import os, signal, sys, time
import resilientcity._process as process
if "no-prctl" in sys.argv:
    process._parent_death_signal = lambda sig: False
if "stubborn" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
process.die_with_parent(os.getppid(), grace_s=1.0)
print("watching", flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("flags", [(), ("no-prctl",), ("no-prctl", "stubborn")])
def test_a_child_ends_with_its_parent(flags: tuple[str, ...]) -> None:
    parent = start_in_group(
        [sys.executable, "-c", PARENT, CHILD, *flags],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert parent.wait(timeout=60) == 0
        deadline = time.monotonic() + 8
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), f"the child {child} outlived its parent ({flags})"
    finally:
        end_group(parent)
        if child and _alive(child):
            os.killpg(child, signal.SIGKILL)  # the leader of its own session
