"""The web operations centre's page: HTML, CSS, JavaScript modules and strings in ``static/``.

Served by :func:`resilientcity.api.web.install_web` (``/`` and ``/static/...``); a package so
that :mod:`importlib.resources` finds the files in an installed wheel.
"""
