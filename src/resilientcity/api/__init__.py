"""The REST API of the operations service (FastAPI): sensing, warnings, plans, tasks, incidents.

Needs the ``ops`` extra. :func:`resilientcity.api.app.create_app` builds the application.
"""
