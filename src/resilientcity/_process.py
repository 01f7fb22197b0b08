"""Process lifetime: workers that end with their parent; child processes ended as a group.

A process that starts others (``serve --workers N`` its workers, a browser its renderers) is
started as the leader of a new session and process group (:func:`start_in_group`) and ended by
signalling the whole group (:func:`end_group`), so that nothing it started outlives it. The
tests and the benchmarks start the service this way.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["die_with_parent", "end_group", "run_in_group", "start_in_group"]

log = logging.getLogger(__name__)

#: ``prctl`` option: the signal the kernel sends this process when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1
#: Seconds between two looks of the watchdog at the parent.
_WATCH_S = 0.5


def _parent_death_signal(sig: signal.Signals) -> bool:
    """Ask Linux to send ``sig`` when the parent dies; whether that is in place."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _end(grace_s: float) -> None:
    """SIGTERM this process (a graceful stop), then SIGKILL it after ``grace_s`` seconds."""
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace_s)
    os.kill(os.getpid(), signal.SIGKILL)


def _watch(parent_pid: int, grace_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_WATCH_S)
    log.warning("the parent process %d is gone: stopping worker %d", parent_pid, os.getpid())
    _end(grace_s)


def die_with_parent(parent_pid: int, grace_s: float = 10.0) -> None:
    """End this process when its parent ``parent_pid`` dies, even by SIGKILL.

    Two safeguards: on Linux the kernel sends SIGTERM at the parent's death
    (``prctl(PR_SET_PDEATHSIG)``); on every system a daemon thread looks at the parent pid
    every half second and, once it has changed (the process was adopted), sends SIGTERM and,
    ``grace_s`` seconds later, SIGKILL (for a graceful stop that hangs, e.g. on open
    streams). A parent already gone when this is called ends the process at once.

    Parameters
    ----------
    parent_pid
        The pid of the parent; call this early in the child.
    grace_s
        Seconds between SIGTERM and SIGKILL.
    """
    _parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent_pid:  # died before the signal was in place
        _end(grace_s)
        return
    threading.Thread(
        target=_watch, args=(parent_pid, grace_s), name="parent-watchdog", daemon=True
    ).start()


Command = Sequence[str | Path]


def start_in_group(args: Command, **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(args, **kwargs)`` as the leader of a new session and process group."""
    return subprocess.Popen(args, start_new_session=True, **kwargs)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:  # the whole group is gone already
        pass


def end_group(
    process: subprocess.Popen[Any], sig: int = signal.SIGKILL, timeout: float = 30.0
) -> None:
    """Send ``sig`` to the group ``process`` leads, reap it, and SIGKILL what is left.

    Parameters
    ----------
    process
        A process started by :func:`start_in_group`.
    sig
        The first signal (SIGTERM for a graceful stop); SIGKILL follows after ``timeout``
        seconds, and for members of the group that outlive the leader.
    timeout
        Seconds to wait for the leader after each signal.

    Notes
    -----
    Safe to call twice, and after ``process`` itself has died (its group may live on). The
    process's pipes are closed.
    """
    _signal_group(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    _signal_group(process.pid, signal.SIGKILL)  # children that outlived their leader
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def run_in_group(
    args: Command, timeout: float | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run`` in a new session; the whole group is killed when it ends or fails.

    Parameters
    ----------
    args
        The command.
    timeout
        Seconds before the group is killed and ``subprocess.TimeoutExpired`` raised.
    **kwargs
        Further arguments of ``subprocess.Popen`` (``stdout=subprocess.PIPE``, ``text``, …).

    Returns
    -------
    subprocess.CompletedProcess
        The exit code and the captured output.
    """
    process = start_in_group(args, **kwargs)
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        end_group(process)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)
