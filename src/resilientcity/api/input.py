r"""What every request may carry: finite numbers and text the store can keep.

FastAPI reads JSON bodies with Python's :mod:`json`, which takes ``NaN``, ``Infinity`` and
numbers beyond the range of a double (``1e309`` becomes infinity) although JSON (RFC 8259) has
none of them; and any text may hold a NUL character (U+0000) or, through a ``\ud800`` escape, a
lone surrogate, which PostgreSQL refuses to store (and which cannot be written as UTF-8).
:func:`checked_input`, a dependency of every route of the application, refuses such input before
the route runs: 422 with one entry per offending value, ``loc`` naming it (``["body",
"properties", "v"]``, ``["query", "agency"]``, ``["path", "rule_id"]``).

The bodies of ``POST /v1.1/CreateObservations`` and ``POST /v1.1/Observations`` are read by
the routes themselves with orjson, which refuses ``NaN``, ``Infinity`` and ``1e309`` (400);
their text goes to the quarantine, which keeps NUL characters escaped
(:func:`resilientcity.operations.validation.as_text`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.routing import APIRoute

from resilientcity.api.errors import bounded

__all__ = ["MAX_PROBLEMS", "checked_input", "json_problems", "text_problem"]

#: Most offending values listed in one refusal.
MAX_PROBLEMS = 20

_NUMBER = "a finite number (JSON has no NaN or Infinity; at most ±1.8e308)"


def text_problem(text: str) -> str | None:
    """What is wrong with ``text`` for the store, or ``None`` when nothing is.

    Parameters
    ----------
    text
        Text of a request (a JSON string or key, a query or path parameter).

    Returns
    -------
    str or None
        What is expected instead: text without NUL characters, or valid Unicode (no lone
        surrogate).
    """
    if "\x00" in text:
        return "text without NUL characters (U+0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "valid Unicode text (no lone surrogate such as \\ud800)"
    return None


def json_problems(value: Any, loc: tuple[str | int, ...] = ("body",)) -> list[dict[str, Any]]:
    """Values of a parsed JSON document that the service refuses, as FastAPI error entries.

    Non-finite numbers (``NaN``, ``Infinity``, a number that overflows a double), and text (keys
    included) with a NUL character or a lone surrogate. The document is walked without
    recursion, so any nesting is safe; at most :data:`MAX_PROBLEMS` entries are returned.

    Parameters
    ----------
    value
        The document as :func:`json.loads` returns it.
    loc
        Where the document is (``("body",)``).

    Returns
    -------
    list of dict
        ``{"loc": [...], "msg": ..., "type": "value_error"}`` per offending value.
    """
    problems: list[dict[str, Any]] = []
    stack: list[tuple[tuple[str | int, ...], Any]] = [(loc, value)]
    while stack and len(problems) < MAX_PROBLEMS:
        where, item = stack.pop()
        expected: str | None = None
        if isinstance(item, float) and not math.isfinite(item):
            expected = _NUMBER
        elif isinstance(item, str):
            expected = text_problem(item)
        elif isinstance(item, dict):
            for key, inner in reversed(item.items()):
                wrong = text_problem(key)
                if wrong is not None:
                    problems.append(_entry([*where, key], f"a key: {wrong}"))
                stack.append(((*where, key), inner))
        elif isinstance(item, list):
            stack.extend(((*where, i), inner) for i, inner in reversed(list(enumerate(item))))
        if expected is not None:
            problems.append(_entry(list(where), expected))
    return problems[:MAX_PROBLEMS]


def _entry(loc: list[str | int], msg: str) -> dict[str, Any]:
    return {"loc": [bounded(p) for p in loc], "msg": msg, "type": "value_error"}


def _parameter_problems(where: str, items: Iterable[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [
        _entry([where, name], expected)
        for name, value in items
        if isinstance(value, str) and (expected := text_problem(value)) is not None
    ]


async def checked_input(request: Request) -> None:
    """Refuse a request whose parameters or JSON body hold values the service cannot keep.

    A dependency of every route (:func:`resilientcity.api.app.create_app`). Query and path
    parameters must be text without NUL characters; a route's JSON body (one FastAPI reads
    into a model) must have finite numbers only and such text. The body was read and parsed by
    FastAPI before this runs; it is parsed again here (bodies of model routes are small).

    Raises
    ------
    HTTPException
        422 listing each offending value with its place.
    """
    problems = [
        *_parameter_problems("path", request.path_params.items()),
        *_parameter_problems("query", request.query_params.multi_items()),
    ]
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and route.body_field is not None:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, RecursionError):
            body = None  # not JSON: FastAPI hands the bytes to the model, which refuses them
        problems.extend(json_problems(body))
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=problems[:MAX_PROBLEMS])
