"""Requests to ``/graphql`` refused before any GraphQL runs, answered as GraphQL-shaped
JSON with an ``extensions.code`` (Strawberry itself answers them in plain text).

Strawberry raises :class:`cross_web.HTTPException` with only a status and a reason; the
code is told from the exception that caused it, or from the status. Portico's own
refusals raise :class:`RequestRefused`, which names its code.

- 400 ``BAD_REQUEST``: a body that is not UTF-8 or not JSON, no query, ``query`` or
  ``variables`` of the wrong type, an unknown ``operationName``, a batch (list) body;
- 400 ``PREFLIGHT_REQUIRED``: a multipart (file upload) POST without an
  ``Apollo-Require-Preflight`` or ``X-Portico-Upload`` header (CSRF protection);
- 405 ``METHOD_NOT_ALLOWED``: a method other than GET and POST, or a mutation in a GET;
- 415 ``UNSUPPORTED_MEDIA_TYPE``: a POST whose body is neither ``application/json`` nor
  ``multipart/form-data``;
- 500 ``INTERNAL_SERVER_ERROR``: anything unexpected (logged with its stack).
"""

from __future__ import annotations

from cross_web import HTTPException
from starlette.responses import JSONResponse
from strawberry.schema.exceptions import InvalidOperationTypeError

from server.limits import graphql_error_body

BAD_REQUEST = "BAD_REQUEST"
PREFLIGHT_REQUIRED = "PREFLIGHT_REQUIRED"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
NOT_FOUND = "NOT_FOUND"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class RequestRefused(HTTPException):
    """An HTTP-level refusal that names its ``extensions.code``."""

    def __init__(
        self, status_code: int, code: str, reason: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code, reason)
        self.code = code
        self.headers = headers or {}


def error_response(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(graphql_error_body(message, code), status_code=status_code, headers=headers)


def refused_response(error: HTTPException) -> JSONResponse:
    """The JSON answer for an HTTP-level refusal raised by Strawberry or by Portico."""
    if isinstance(error, RequestRefused):
        return error_response(error.status_code, error.code, error.reason, error.headers)
    if isinstance(error.__cause__, InvalidOperationTypeError):
        # GraphQL over HTTP: a mutation in a GET request is 405, and says what would work
        return error_response(405, METHOD_NOT_ALLOWED, error.reason, {"Allow": "POST"})
    if error.status_code == 405:
        return error_response(405, METHOD_NOT_ALLOWED, error.reason, {"Allow": "GET, POST"})
    if error.status_code == 404:  # pragma: no cover - GraphiQL is always on
        return error_response(404, NOT_FOUND, error.reason)
    if error.status_code >= 500:  # pragma: no cover - Strawberry raises none
        return error_response(error.status_code, INTERNAL_SERVER_ERROR, error.reason)
    return error_response(error.status_code, BAD_REQUEST, error.reason)
