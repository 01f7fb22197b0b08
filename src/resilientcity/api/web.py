"""The web operations centre: :func:`install_web` adds the page and the JSON it draws.

The endpoints live in one module per concern:

* :mod:`resilientcity.api.static_files`: ``/`` (the page), ``/static/...`` (its files) and
  the vendor scripts (MapLibre GL JS from its npm package, Plotly from its wheel);
* :mod:`resilientcity.api.maps`: ``GET /api/map/base``, ``/api/map/cells/{key}`` and
  ``/api/map/live``;
* :mod:`resilientcity.api.assets`: ``GET /api/assets/{asset_id}``;
* :mod:`resilientcity.api.resilience`: ``GET /api/resilience``;
* :mod:`resilientcity.api.scenarios`: the scenario runs.
"""

from __future__ import annotations

from fastapi import FastAPI

from resilientcity.api import assets, maps, resilience, scenarios, static_files
from resilientcity.operations.scenario_jobs import ScenarioJobs, remove_orphaned_roots

__all__ = ["install_web"]


def install_web(app: FastAPI, jobs: ScenarioJobs | None = None) -> ScenarioJobs:
    """Add the operations centre to ``app``: the page, static files, web and scenario endpoints.

    Parameters
    ----------
    app
        The application of :func:`resilientcity.api.app.create_app`.
    jobs
        The scenario queue (default: a new one with a temporary folder of the process); kept
        on ``app.state.scenario_jobs`` (the application's lifespan closes it at shutdown).

    Returns
    -------
    ScenarioJobs
        The scenario queue (the one already installed, when called twice).
    """
    installed: ScenarioJobs | None = getattr(app.state, "scenario_jobs", None)
    if installed is not None:  # create_app installs it already: nothing to add twice
        return installed
    if jobs is None:
        remove_orphaned_roots()  # the runs of servers that were killed
        jobs = ScenarioJobs()
    queue = jobs
    app.state.scenario_jobs = queue
    for module in (static_files, maps, assets, resilience, scenarios):
        app.include_router(module.router)
    folder = static_files.static_folder()
    files = static_files.RevalidatedFiles(directory=folder, check_dir=False)
    app.mount("/static", files, name="static")
    return queue
