"""Errors of the store as one line of the command line."""

from __future__ import annotations

import sys

from resilientcity.cli._console import state

__all__ = ["database_error_line", "is_database_error"]


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from SQLAlchemy (only possible once it is imported)."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.SQLAlchemyError)


def database_error_line(exc: BaseException) -> str:
    """One line for an error of the store: which store, and the driver's first line.

    Parameters
    ----------
    exc
        A SQLAlchemy error (``OperationalError`` and the like); its driver error, when it has
        one, says what went wrong.

    Returns
    -------
    str
        ``the store URL (password hidden) cannot be used: <first line of the driver's message>``.
    """
    cause = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    detail = lines[0] if lines else type(cause).__name__
    store = f"the store {state.db_url}" if state.db_url else "the store"
    return f"{store} cannot be used: {detail}"
