"""Scenario runs requested over the API: validated requests, a queue, one worker thread.

A request (:mod:`resilientcity.operations.scenario_requests`) names one hazard and is turned
into a scenario by :func:`~resilientcity.operations.scenario_requests.scenario_for`.

:class:`ScenarioJobs` runs the jobs one at a time, first come first served, in a daemon worker
thread, through the same stages as the demo (:func:`~resilientcity.scenario.run.run_scenario`:
hazards, impact, networks, cascade and recovery, evacuation, dispatch, relief, the district
assessment, plans) and writes each run's files (``summary.json``, ``impact_assets.parquet``,
``service_curves.csv``, ``report.html``) under a temporary folder of the process, one
sub-folder per job. Progress is the share of steps started, with the step's name. The last
:data:`KEEP` finished jobs are kept in memory (their JSON results) and on disk; older ones are
dropped with their folders. The
latest successful run is kept whole (:meth:`ScenarioJobs.latest_run`) for asset details and its
resilience assessment (``/api/resilience``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from resilientcity.errors import ValidationError
from resilientcity.operations.scenario_requests import scenario_for
from resilientcity.report.web_layers import (
    closed_roads_layer,
    damage_layer,
    evacuation_block,
    json_ready,
    losses_block,
    recovery_block,
    relief_block,
    service_loss_layer,
)
from resilientcity.scenario.config import (
    Scenario,
)
from resilientcity.scenario.run import ScenarioRun, run_scenario, steps_of, write_outputs
from resilientcity.twin.city import City

__all__ = [
    "KEEP",
    "MAX_PENDING",
    "MAX_PER_OWNER",
    "ROOT_PREFIX",
    "QueueFull",
    "ScenarioJob",
    "ScenarioJobs",
    "remove_orphaned_roots",
    "scenario_result",
]

logger = logging.getLogger(__name__)

#: Finished jobs kept (in memory and on disk); older ones are dropped.
KEEP = 20
#: Runs one caller may have waiting or running at once (a scenario takes seconds to minutes of
#: one core; more would let one user hold the queue).
MAX_PER_OWNER = 2
#: Runs waiting or running at once, all callers together.
MAX_PENDING = 10
#: The name of a process's temporary run folder: ``resilientcity-scenarios-<pid>-<random>``.
ROOT_PREFIX = "resilientcity-scenarios-"


def scenario_result(run: ScenarioRun) -> dict[str, Any]:
    """The JSON result of a finished run: summary, map layers, losses, decisions, recovery."""
    city, stage = run.city, run.network
    layers: dict[str, Any] = {"damage": damage_layer(city, run.impacts)}
    if stage is not None:
        layers["service_loss"] = service_loss_layer(city, stage)
        layers["closed_roads"] = closed_roads_layer(city, stage)
    return {
        "summary": json_ready(run.summary, 6),
        "layers": layers,
        "losses": losses_block(city, run.impacts),
        "evacuation": evacuation_block(city, run.evacuation) if run.evacuation else None,
        "relief": relief_block(run.relief) if run.relief is not None else None,
        "recovery": recovery_block(stage) if stage is not None else None,
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds").replace("+00:00", "Z")


class QueueFull(Exception):
    """A run refused because the queue, or the caller's share of it, is full.

    Attributes
    ----------
    retry_after_s
        Seconds after which asking again may succeed (a rough run time).
    """

    def __init__(self, message: str, retry_after_s: int = 60) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_orphaned_roots(folder: Path | None = None) -> list[Path]:
    """Remove the run folders left behind by processes that no longer run.

    A process's temporary root is named ``resilientcity-scenarios-<pid>-<random>``; a server
    killed before :meth:`ScenarioJobs.close` leaves it (with every run's files). This removes
    those whose process is gone, and leaves the others (another server may be using them).

    Parameters
    ----------
    folder
        Where the roots are made (default: the system's temporary folder).

    Returns
    -------
    list of Path
        The folders removed.
    """
    removed = []
    for root in Path(folder or tempfile.gettempdir()).glob(ROOT_PREFIX + "*"):
        pid = root.name[len(ROOT_PREFIX) :].split("-", 1)[0]
        if not root.is_dir() or not pid.isdigit() or int(pid) == os.getpid():
            continue
        if not _pid_alive(int(pid)):
            shutil.rmtree(root, ignore_errors=True)
            removed.append(root)
    return removed


@dataclass(eq=False)
class ScenarioJob:
    """One requested run and its state (changed by the worker thread only)."""

    id: str
    request: dict[str, Any]
    scenario: Scenario
    city: City
    folder: Path
    steps: int
    owner: str = ""
    created_at: datetime = field(default_factory=_now)
    status: Literal["queued", "running", "done", "failed"] = "queued"
    done_steps: int = 0
    step: str = ""
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None

    @property
    def progress(self) -> float:
        """Share of the steps started (1 when done)."""
        if self.status == "done":
            return 1.0
        return round(min(self.done_steps / max(self.steps, 1), 0.99), 3)

    def state(self, with_result: bool = True) -> dict[str, Any]:
        """The job as JSON: id, status, progress, step, error, request, times (and result)."""
        out: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "step": self.step,
            "error": self.error,
            "request": self.request,
            "name": self.scenario.name,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }
        if with_result:
            out["result"] = self.result
        return out


class ScenarioJobs:
    """The queue of scenario runs of one process, worked off by one daemon thread.

    Parameters
    ----------
    root
        Folder for the runs' files (default: a new temporary folder of the process, made on the
        first request and removed by :meth:`close`).
    keep
        Finished jobs kept; older ones are dropped with their folders.
    max_per_owner, max_pending
        Runs waiting or running at once for one owner, and for all together; more are
        refused with :class:`QueueFull`.
    """

    def __init__(
        self,
        root: Path | None = None,
        keep: int = KEEP,
        max_per_owner: int = MAX_PER_OWNER,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._root = root
        self._own_root = root is None
        self._keep = keep
        self._max_per_owner = max_per_owner
        self._max_pending = max_pending
        self._jobs: dict[str, ScenarioJob] = {}
        self._queue: deque[ScenarioJob] = deque()
        self._finished: deque[str] = deque()
        self._latest: tuple[str, ScenarioRun] | None = None
        self._lock = threading.Condition()
        self._worker: threading.Thread | None = None
        self._closed = False

    @property
    def root(self) -> Path:
        """The folder of the runs' files (made when first needed)."""
        with self._lock:
            if self._root is None:
                prefix = f"{ROOT_PREFIX}{os.getpid()}-"
                self._root = Path(tempfile.mkdtemp(prefix=prefix))
            return self._root

    def _check_room(self, owner: str) -> None:
        """Raise :class:`QueueFull` when ``owner`` or everyone has too many runs pending.

        The condition's lock is re-entrant: callers may hold it.
        """
        with self._lock:
            pending = [j for j in self._jobs.values() if j.status in ("queued", "running")]
        if len(pending) >= self._max_pending:
            raise QueueFull(
                f"{len(pending)} scenario runs are waiting or running (at most "
                f"{self._max_pending}); ask again when one has finished"
            )
        mine = sum(j.owner == owner for j in pending)
        if mine >= self._max_per_owner:
            raise QueueFull(
                f"you have {mine} scenario runs waiting or running (at most "
                f"{self._max_per_owner} per user); ask again when one has finished"
            )

    def submit(
        self,
        request: Any,
        base: Scenario | Path,
        city: City,
        owner: str = "",
        options: dict[str, Any] | None = None,
    ) -> ScenarioJob:
        """Queue a run of ``request`` (a :data:`ScenarioRequest`) on ``city`` for ``owner``.

        ``base`` and ``options`` as for :func:`scenario_for`.

        Raises
        ------
        ValidationError
            A request that cannot run on ``city`` (see :func:`scenario_for`).
        QueueFull
            ``owner`` already has :data:`MAX_PER_OWNER` runs waiting or running, or everyone
            together :data:`MAX_PENDING`.
        """
        self._check_room(owner)
        job_id = uuid.uuid4().hex[:12]
        folder = self.root / job_id
        try:
            scenario = scenario_for(request, base, city, folder, options)
        except ValidationError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        body = json_ready(request.model_dump(mode="json"))
        job = ScenarioJob(job_id, body, scenario, city, folder, steps_of(scenario) + 1, owner)
        with self._lock:
            try:
                self._check_room(owner)  # again, atomically with the insertion
            except QueueFull:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            self._jobs[job_id] = job
            self._queue.append(job)
            self._start_worker()
            self._lock.notify_all()
        return job

    def _start_worker(self) -> None:
        """Start the worker when there is none and the queue is open (hold the lock)."""
        if self._worker is None and not self._closed:
            self._worker = threading.Thread(target=self._work, name="scenario-jobs", daemon=True)
            self._worker.start()

    def get(self, job_id: str) -> ScenarioJob | None:
        """The job with this id (``None`` when unknown or dropped)."""
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self) -> list[ScenarioJob]:
        """Every job kept, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)

    def latest_run(self) -> tuple[str, ScenarioRun] | None:
        """The id and the run of the latest job that finished successfully."""
        with self._lock:
            return self._latest

    def wait(self, job_id: str, timeout: float) -> ScenarioJob:
        """Block until the job has finished (done or failed) or ``timeout`` seconds passed."""
        with self._lock:
            job = self._jobs[job_id]
            self._lock.wait_for(lambda: job.status in ("done", "failed"), timeout)
            return job

    def close(self, timeout: float = 60.0) -> None:
        """Stop the worker after the running job (queued ones are dropped).

        A temporary root is removed with the runs' files (their results stay in memory). A
        later :meth:`submit` starts a new worker (and a new temporary root).
        """
        with self._lock:
            self._closed = True
            for job in self._queue:
                self._jobs.pop(job.id, None)
            self._queue.clear()
            self._lock.notify_all()
            worker = self._worker
        if worker is not None:
            worker.join(timeout)
            if worker.is_alive():
                logger.warning("scenario job still running after %.0f s; left behind", timeout)
                return
        with self._lock:
            if self._own_root and self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None
            self._worker = None
            self._closed = False
            if self._queue:  # submitted while closing
                self._start_worker()

    def _next(self) -> ScenarioJob | None:
        with self._lock:
            self._lock.wait_for(lambda: self._closed or bool(self._queue))
            if self._closed:
                return None
            job = self._queue.popleft()
            job.status, job.started_at = "running", _now()
            return job

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                run = self._execute(job, self._progress(job))
            except Exception as exc:  # a failed run is reported, not raised
                logger.exception("scenario job %s failed", job.id)
                self._finish(job, None, f"{type(exc).__name__}: {exc}")
            else:
                self._finish(job, run, None)

    def _progress(self, job: ScenarioJob) -> Callable[[str], None]:
        def say(step: str) -> None:
            with self._lock:
                job.done_steps += 1
                job.step = step

        return say

    @staticmethod
    def _execute(job: ScenarioJob, say: Callable[[str], None]) -> ScenarioRun:
        run = run_scenario(job.scenario, city=job.city, progress=say)
        meta = {"kind": "web", "id": job.id, "request": job.request}
        written = write_outputs(run, job.folder, meta, progress=say)
        say("map layers and results")
        job.result = scenario_result(written)
        return written

    def _finish(self, job: ScenarioJob, run: ScenarioRun | None, error: str | None) -> None:
        with self._lock:
            job.finished_at = _now()
            job.error = error
            job.status = "failed" if error is not None else "done"
            job.step = "failed" if error is not None else "done"
            if run is not None:
                self._latest = (job.id, run)
            self._finished.append(job.id)
            while len(self._finished) > self._keep:
                old = self._jobs.pop(self._finished.popleft(), None)
                if old is not None:
                    shutil.rmtree(old.folder, ignore_errors=True)
            self._lock.notify_all()
