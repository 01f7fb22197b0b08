"""The service's background work: nowcasts for rising river warnings, overdue tasks.

One thread wakes when a batch changed warnings (through :meth:`Service.subscribe`) or every
``settings.overdue_check_s`` seconds, computes the pending nowcasts
(:func:`~resilientcity.operations.nowcast.run_pending_nowcasts`) and escalates the overdue
tasks (:func:`~resilientcity.operations.response.escalate_overdue`). A failure is logged and
the loop goes on; it never takes the service down.
"""

from __future__ import annotations

import logging
import threading
import time

from resilientcity.operations.incidents import sensor_incidents
from resilientcity.operations.nowcast import mark_nowcasts, run_pending_nowcasts
from resilientcity.operations.response import activate_plans, escalate_overdue
from resilientcity.operations.service import Service
from resilientcity.twin import City

__all__ = ["BackgroundWorkers", "install_response_hooks"]

log = logging.getLogger(__name__)


def install_response_hooks(service: Service) -> None:
    """Add plan activation, sensor incidents and nowcast marking to the ingest's warning hooks.

    Idempotent: a hook already installed is not added twice.
    """
    for hook in (activate_plans, sensor_incidents, mark_nowcasts):
        if hook not in service.warning_hooks:
            service.warning_hooks.append(hook)


class BackgroundWorkers:
    """The background thread of a running service.

    Parameters
    ----------
    service
        The service.
    city
        The city the nowcasts run on.
    """

    def __init__(self, service: Service, city: City) -> None:
        self.service = service
        self.city = city
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe = service.subscribe(self._wake.set)

    def start(self) -> None:
        """Start the thread (it also runs once at once)."""
        self._wake.set()
        self._thread = threading.Thread(target=self._run, name="resilientcity-workers", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the thread, waiting up to ``timeout`` seconds for the current round."""
        self._unsubscribe()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> None:
        """Compute pending nowcasts and escalate overdue tasks now."""
        try:
            run_pending_nowcasts(self.service.db, self.city)
        except Exception:  # logged; the next round tries again
            log.exception("nowcast round failed")
        try:
            with self.service.db.write() as session:
                escalate_overdue(session)
        except Exception:  # logged; the next round tries again
            log.exception("overdue-task round failed")

    def _run(self) -> None:
        period = self.service.settings.overdue_check_s
        while not self._stop.is_set():
            self._wake.wait(period)
            self._wake.clear()
            if self._stop.is_set():
                return
            started = time.monotonic()
            self.run_once()
            log.debug("background round took %.2f s", time.monotonic() - started)
