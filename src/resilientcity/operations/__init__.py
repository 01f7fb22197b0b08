"""The live operations service: the store, ingestion, live warnings, plans, tasks, incidents.

Needs the ``ops`` extra (SQLAlchemy, Alembic, psycopg, FastAPI, paho-mqtt).
"""
