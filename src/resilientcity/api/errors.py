"""Error responses of the API: the project's :class:`ValidationError` as a 422, in FastAPI's shape.

FastAPI answers a request that breaks its declared schema with 422 and
``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}``. Errors raised on purpose by
ResilientCity (:class:`resilientcity.errors.ValidationError`) are answered in the same shape,
one entry per :class:`~resilientcity.errors.Problem`: ``loc`` is ``[layer, column]``, ``msg``
says what is expected and what was found, and ``rows`` names the offending rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse

from resilientcity.errors import Problem, StoreBusy, ValidationError

__all__ = [
    "install_error_handlers",
    "problem_details",
    "unprocessable",
    "validation_error_response",
]


def _message(problem: Problem) -> str:
    text = f"expected {problem.expected}"
    return text + (f", found {problem.found}" if problem.found else "")


def problem_details(exc: ValidationError) -> list[dict[str, Any]]:
    """The problems of ``exc`` as FastAPI-style error entries (``loc``, ``msg``, ``type``, ``rows``).

    Parameters
    ----------
    exc
        A validation error raised by ResilientCity.

    Returns
    -------
    list of dict
        One entry per problem.
    """
    return [
        {
            "loc": [problem.layer, problem.column],
            "msg": _message(problem),
            "type": "value_error",
            "rows": list(problem.rows),
        }
        for problem in exc.problems
    ]


def validation_error_response(exc: ValidationError) -> JSONResponse:
    """A 422 response listing every problem of ``exc``.

    Parameters
    ----------
    exc
        A validation error raised by ResilientCity.

    Returns
    -------
    JSONResponse
        ``{"detail": [{"loc": [layer, column], "msg": ..., "type": "value_error", "rows": [...]}]}``.
    """
    return JSONResponse(
        {"detail": problem_details(exc)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
    )


def unprocessable(loc: Sequence[str | int], msg: str, kind: str = "value_error") -> NoReturn:
    """Refuse a request body with 422, naming the place (``loc``) and what is expected (``msg``).

    Raises
    ------
    HTTPException
        Always: status 422 with one FastAPI-style error entry.
    """
    raise HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": list(loc), "msg": msg, "type": kind}],
    )


async def _on_store_busy(_request: Request, exc: Exception) -> JSONResponse:
    """A write that found the store busy (:class:`~resilientcity.errors.StoreBusy`: SQLite's
    write lock not free within the bound, nothing written): 503 with ``Retry-After``."""
    assert isinstance(exc, StoreBusy)
    return JSONResponse(
        {"detail": str(exc)},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(exc.retry_after_s)},
    )


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    return validation_error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Answer a ResilientCity :class:`ValidationError` raised by an endpoint with 422."""
    app.add_exception_handler(ValidationError, _on_validation_error)
    app.add_exception_handler(StoreBusy, _on_store_busy)  # 503 with Retry-After
