"""Every failure of the HTTP app answers one JSON shape, never HTML or a traceback:

    {"error": {"code": "not_found", "message": "no entry with id 'abc'"}}

`ApiError` is raised by routes; handlers turn FastAPI's validation errors, Starlette's HTTP
errors (unknown route, wrong method), newsdesk's own errors and anything unexpected (logged
with its traceback on the server, a short message to the client) into that shape.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from ..errors import (
    FeedExistsError,
    NewsdeskError,
    SearchError,
    StoreCorruptError,
    StoreFullError,
    StoreIOError,
    StoreLockedError,
    UserExistsError,
)

log = logging.getLogger("newsdesk.web")

# Status → the code a client switches on when a route gave none.
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}


class JSONBytes(JSONResponse):
    """orjson-encoded JSON (datetimes as ISO 8601). Routes return it with plain dicts, so a
    list of entries is encoded once, without building and validating models per request; the
    routes' pydantic models still describe it in the OpenAPI document (and schemathesis checks
    the two agree; a JSONResponse, so FastAPI puts those models in the document)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, *, code: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.headers = dict(headers or {})


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorEnvelope(BaseModel):
    """What every failure answers."""

    error: ErrorBody


def error_response(
    status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"error": {"code": code or _CODES.get(status, "error"), "message": message}}
    return JSONBytes(body, status_code=status, headers=dict(headers or {}))


def _validation_message(errors: Sequence[Any]) -> str:
    """'query.limit: Input should be less than or equal to 500; body.read: …' (at most 3)."""
    parts = []
    for e in list(errors)[:3]:
        loc = ".".join(str(p) for p in e.get("loc", ()))
        parts.append(f"{loc}: {e.get('msg', 'invalid')}" if loc else str(e.get("msg", "invalid")))
    more = len(errors) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def newsdesk_error_status(e: NewsdeskError) -> tuple[int, str]:
    """The HTTP status and code of an error newsdesk raised on purpose."""
    if isinstance(e, UserExistsError | FeedExistsError):
        return 409, "conflict"
    if isinstance(e, StoreLockedError):
        return 503, "busy"
    if isinstance(e, StoreCorruptError):
        return 503, "archive_damaged"
    if isinstance(e, StoreFullError | StoreIOError):
        return 503, "archive_unavailable"
    # Other store errors say what was wrong with the request (a malformed cursor, a feed
    # without a source); any other error newsdesk raises on purpose likewise.
    if isinstance(e, SearchError):
        return 422, "bad_query"
    return 400, "bad_request"


def install(app: FastAPI) -> None:
    """Register the handlers that give every failure the envelope."""

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.message, exc.code, exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            message = f"no such route: {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        return error_response(exc.status_code, message, headers=exc.headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, _validation_message(exc.errors()))

    async def newsdesk_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NewsdeskError)
        status, code = newsdesk_error_status(exc)
        if status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(status, str(exc), code)

    async def unexpected(request: Request, exc: Exception) -> Response:
        # A bug: its traceback goes to the server's log, never to the client.
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal error (logged on the server)")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(NewsdeskError, newsdesk_error)
    app.add_exception_handler(Exception, unexpected)


# For the routes' `responses=`: every route documents the envelope for its failures.
def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorEnvelope, "description": _CODES.get(s, "error")} for s in statuses}


async def bounded_body(request: Request, limit: int, what: str = "the form") -> bytes:
    """The request's body, or 413 once it passes `limit` bytes (said by its length or sent)."""
    size = request.headers.get("content-length")
    if size is not None and size.isdigit() and int(size) > limit:
        raise ApiError(413, f"{what} is larger than {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"{what} is larger than {limit} bytes")
    return body
