"""Processes started by the tests: each in a session of its own, ended with its whole group.

A process a test starts may start others (``serve --workers N`` its workers, Chromium its
renderers). Killing only the first leaves the others running after the test, so every process
is started as the leader of a new session (and so of a process group) and ended by signalling
the group: :func:`resilientcity._process.start_in_group`, ``end_group``, ``run_in_group``
(re-exported here). :func:`session_members` finds what is left of a session.
"""

from __future__ import annotations

from pathlib import Path

from resilientcity._process import end_group, run_in_group, start_in_group

__all__ = ["end_group", "run_in_group", "session_members", "start_in_group"]


def session_members(sid: int) -> dict[int, str]:
    """Live (not zombie) processes of session ``sid``: pid → command line (Linux ``/proc``)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found[int(entry.name)] = command.strip()
    return found
