"""Error responses of the API: the project's :class:`ValidationError` as a 422, in FastAPI's shape.

FastAPI answers a request that breaks its declared schema with 422 and
``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}``. Errors raised on purpose by
ResilientCity (:class:`resilientcity.errors.ValidationError`) are answered in the same shape,
one entry per :class:`~resilientcity.errors.Problem`: ``loc`` is ``[layer, column]``, ``msg``
says what is expected and what was found, and ``rows`` names the offending rows.

A refusal repeats little of what it refuses: FastAPI's 422 entries carry the offending
``input`` (and ``ctx``), which :func:`bounded` cuts to a small size (text to
:data:`MAX_ECHO_CHARS` characters, lists and objects to :data:`MAX_ECHO_ITEMS` items and
:data:`MAX_ECHO_DEPTH` levels) with non-finite numbers written as text, so that an error can
neither echo a large body back nor fail to be written as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any, NoReturn

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from resilientcity.errors import Problem, StoreBusy, ValidationError
from resilientcity.operations.response import Conflict, Forbidden, NotFound

__all__ = [
    "MAX_ECHO_CHARS",
    "MAX_ECHO_DEPTH",
    "MAX_ECHO_ITEMS",
    "bounded",
    "http_errors",
    "install_error_handlers",
    "problem_details",
    "too_many_requests",
    "unprocessable",
    "validation_error_response",
]


#: Characters of a text an error repeats (more are cut and marked with "…").
MAX_ECHO_CHARS = 200
#: Items of a list or object an error repeats.
MAX_ECHO_ITEMS = 10
#: Levels of nesting an error repeats.
MAX_ECHO_DEPTH = 3


def _cut(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, lone surrogates escaped (they are not UTF-8)."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return cut if cut.isascii() else cut.encode("utf-8", "backslashreplace").decode("utf-8")


def bounded(value: Any, depth: int = MAX_ECHO_DEPTH) -> Any:
    """``value`` cut to a small size that always serialises as JSON, to repeat in an error.

    Parameters
    ----------
    value
        What an error repeats (the input FastAPI's validation refused, or part of it).
    depth
        Levels of lists and objects kept; deeper ones are replaced by ``"…"``.

    Returns
    -------
    Any
        Text cut to :data:`MAX_ECHO_CHARS` characters, lists and objects to
        :data:`MAX_ECHO_ITEMS` items (a last ``"…"`` item, or key, says that more were left
        out), non-finite numbers as text (``"nan"``, ``"inf"``), other objects as their text.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):  # a very long one cannot even be written as text
        return value if value.bit_length() <= 256 else f"an integer of {value.bit_length()} bits"
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, (dict, list, tuple)):
        if depth <= 0:
            return "…"
        if isinstance(value, dict):
            kept = {
                _cut(str(k)): bounded(v, depth - 1)
                for k, v in islice(value.items(), MAX_ECHO_ITEMS)
            }
            return kept | ({"…": "…"} if len(value) > MAX_ECHO_ITEMS else {})
        items = [bounded(v, depth - 1) for v in islice(value, MAX_ECHO_ITEMS)]
        return items + (["…"] if len(value) > MAX_ECHO_ITEMS else [])
    return _cut(str(value))


def _message(problem: Problem) -> str:
    text = f"expected {problem.expected}"
    return _cut(text + (f", found {problem.found}" if problem.found else ""), 2000)


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


@contextmanager
def http_errors() -> Iterator[None]:
    """Answer the operations' refusals with their HTTP status, the message as ``detail``.

    :class:`~resilientcity.operations.response.NotFound` is 404,
    :class:`~resilientcity.operations.response.Forbidden` 403 and
    :class:`~resilientcity.operations.response.Conflict` 409.

    Raises
    ------
    HTTPException
        In place of one of those exceptions raised in the block.
    """
    try:
        yield
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except Forbidden as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def too_many_requests(message: str, retry_after_s: int) -> HTTPException:
    """429 with ``Retry-After`` (a rate limit or a full queue), saying why in ``detail``.

    Parameters
    ----------
    message
        What was refused and why.
    retry_after_s
        Seconds after which asking again may succeed.

    Returns
    -------
    HTTPException
        To raise from an endpoint.
    """
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS, message, headers={"Retry-After": str(retry_after_s)}
    )


async def _on_store_busy(_request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After`` for a write that found the store busy.

    :class:`~resilientcity.errors.StoreBusy`: SQLite's write lock was not free within the bound;
    nothing was written.
    """
    assert isinstance(exc, StoreBusy)
    return JSONResponse(
        {"detail": str(exc)},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(exc.retry_after_s)},
    )


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    return validation_error_response(exc)


def _request_entry(error: Any) -> dict[str, Any]:
    entry = dict(error) if isinstance(error, dict) else {"msg": str(error)}
    out: dict[str, Any] = {
        "type": _cut(str(entry.get("type", "value_error")), 100),
        "loc": [
            p if isinstance(p, int) and not isinstance(p, bool) else _cut(str(p), 100)
            for p in list(entry.get("loc", ()))[:MAX_ECHO_ITEMS]
        ],
        "msg": _cut(str(entry.get("msg", "")), 1000),
    }
    for key in ("input", "ctx"):
        if key in entry:
            out[key] = bounded(entry[key])
    return out


async def _on_request_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, with what it repeats of the request bounded (:func:`bounded`)."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    detail = [_request_entry(e) for e in errors[: MAX_ECHO_ITEMS * 2]]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def install_error_handlers(app: FastAPI) -> None:
    """Answer refused input with 422.

    FastAPI's validation errors, bounded and always valid JSON, and a ResilientCity
    :class:`ValidationError` raised by an endpoint.
    """
    app.add_exception_handler(RequestValidationError, _on_request_validation_error)
    app.add_exception_handler(ValidationError, _on_validation_error)
    app.add_exception_handler(StoreBusy, _on_store_busy)  # 503 with Retry-After
