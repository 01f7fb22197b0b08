"""Alembic environment of the operations store (run by :meth:`Database.upgrade`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from resilientcity.operations.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    """Write the SQL to standard output instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the store's engine (or one made from the URL)."""
    engine = config.attributes.get("engine") or create_engine(
        str(config.get_main_option("sqlalchemy.url"))
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
