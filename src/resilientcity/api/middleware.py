"""ASGI middleware of the API: request body limits and security headers.

Both are plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``, which buffers
streamed responses (the warning stream is server-sent events) and costs a task per request.

Body limits (:class:`BodyLimit`) refuse a request whose body is larger than its route allows
with 413, before the body is read when ``Content-Length`` says so, and as soon as the limit is
passed when the body is streamed without one: an anonymous client cannot make the server hold
a large body in memory. Security headers (:class:`SecurityHeaders`) go on every response:
``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy:
no-referrer`` and a Content Security Policy, strict for the page (scripts only from the
service itself plus the page's one inline script by its hash, no ``eval``; the page keeps its
API token in ``sessionStorage``, which an injected script could read) and ``default-src 'none'``
for everything else the API answers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

__all__ = [
    "API_CSP",
    "DOCS_CSP",
    "BodyLimit",
    "BodyLimits",
    "SecurityHeaders",
    "page_csp",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Content Security Policy of the API's own answers (JSON, files): nothing may load or frame.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
#: FastAPI's interactive documentation (/docs, /redoc) loads Swagger UI or ReDoc from a CDN
#: with an inline start-up script; it holds no token of the page (sessionStorage is per tab).
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src blob:; connect-src 'self'; frame-ancestors 'none'"
)
_DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def page_csp(html: str) -> str:
    """The Content Security Policy of the operations centre's page ``html``.

    Scripts run only from the service itself and from the page's inline ``<script>`` blocks,
    allowed one by one by their SHA-256 hash (CSP Level 2); ``eval`` and new inline scripts are
    refused. Styles may be inline (Plotly sets element styles and adds style sheets); images
    and workers may come from ``blob:`` URLs (MapLibre's images and its worker).

    Parameters
    ----------
    html
        The page as served.

    Returns
    -------
    str
        The ``Content-Security-Policy`` header value.
    """
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """Security headers on every HTTP response (the page's own CSP is set by its route).

    Parameters
    ----------
    app
        The ASGI application wrapped.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection, adding the headers to an HTTP response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        # the page's scripts, styles and MapLibre's worker carry no policy of their own: a
        # worker's script would otherwise run under API_CSP (the page's policy covers them)
        csp = None if path.startswith("/static/") else DOCS_CSP if path in _DOCS_PATHS else API_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if csp is not None:
                    extra.append((b"content-security-policy", csp.encode()))
                headers += [(name, value) for name, value in extra if name not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass(frozen=True)
class BodyLimits:
    """The largest request body (bytes) each route accepts.

    Attributes
    ----------
    default
        Any route not named below (rules, things, scenario requests, tokens …).
    ingest
        ``POST /v1.1/CreateObservations``: batches of observations.
    public
        ``POST /api/incidents``: the anonymous report form.
    """

    default: int = 1 << 20
    ingest: int = 64 << 20
    public: int = 16 << 10

    def of(self, method: str, path: str) -> int:
        """The limit of a request to ``path`` with ``method``."""
        if path == "/v1.1/CreateObservations":
            return self.ingest
        if method == "POST" and path == "/api/incidents":
            return self.public
        return self.default


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"request body larger than this endpoint accepts ({limit:,} bytes)")


class BodyLimit:
    """Refuse request bodies larger than their route accepts (413).

    A declared ``Content-Length`` over the limit is refused at once, with the connection
    closed; a body streamed without one is counted as it is read, and the read that passes
    the limit raises an HTTP 413 inside the endpoint (FastAPI and Starlette answer it).

    Parameters
    ----------
    app
        The ASGI application wrapped.
    limits
        The limits per route.
    """

    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection, refusing or counting an HTTP request's body."""
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.of(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = b'{"detail":"' + _too_large(limit).detail.encode() + b'"}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
