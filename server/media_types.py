"""Which media type a ``/graphql`` answer is sent as (GraphQL over HTTP, "Accept").

``application/graphql-response+json`` is the spec's own type: with it, a request that
fails before execution (a document that does not parse or validate, variables that do
not coerce, a persisted query unknown or not allowed) is answered 4xx without a ``data`` entry, so
caches and proxies can tell a broken request from a result. ``application/json`` is the
legacy type every client understands: such answers stay 200, as they always were.

The caller gets ``application/graphql-response+json`` only when its ``Accept`` names it
(with a quality at least that of ``application/json``); a missing ``Accept``, ``*/*``
and anything else get ``application/json``, as the spec asks of servers until every
client has moved on.
"""

from __future__ import annotations

from typing import Any

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value.strip())))
            except ValueError:
                return 0.0
    return 1.0


def accepted(header: str | None) -> dict[str, float]:
    """Each media range the header names, with its quality (``q``)."""
    ranges: dict[str, float] = {}
    for item in (header or "").split(","):
        media_range, *parameters = item.split(";")
        media_range = media_range.strip().lower()
        if media_range:
            ranges[media_range] = max(ranges.get(media_range, 0.0), _quality(parameters))
    return ranges


def _quality_of(ranges: dict[str, float], media_type: str) -> float:
    kind = media_type.split("/", 1)[0]
    for candidate in (media_type, f"{kind}/*", "*/*"):
        if candidate in ranges:
            return ranges[candidate]
    return 0.0


def response_media_type(header: str | None) -> str:
    """The media type to answer with, for the request's ``Accept`` header."""
    ranges = accepted(header)
    wanted = ranges.get(GRAPHQL_RESPONSE_JSON, 0.0)
    if wanted > 0.0 and wanted >= _quality_of(ranges, APPLICATION_JSON):
        return GRAPHQL_RESPONSE_JSON
    return APPLICATION_JSON


EXECUTION_CODES = frozenset({"TIMEOUT", "INTERNAL_SERVER_ERROR"})
"""Errors without a path that still come from execution (it started, then failed)."""

STATUS_BY_CODE = {
    "PERSISTED_QUERY_NOT_FOUND": 404,  # Apollo's clients resend the document on a 404
    "INTROSPECTION_DISABLED": 403,
    "PERSISTED_QUERY_NOT_ALLOWED": 403,  # a partner held to its registered documents
}


def status_before_execution(result: Any) -> int | None:
    """The 4xx status of a result that failed before execution, or None when it ran.

    Such a result has no data and errors with no path: the document did not parse or
    validate, a limit refused it, or its variables did not coerce. A field's error has a
    path, and a timeout or an unexpected error happened while executing.
    """
    errors = getattr(result, "errors", None)
    if getattr(result, "data", None) is not None or not errors:
        return None
    codes: set[str] = set()
    for error in errors:
        if error.path is not None:
            return None
        codes.add(str((error.extensions or {}).get("code")))
    if codes & EXECUTION_CODES:
        return None
    statuses = {STATUS_BY_CODE.get(code, 400) for code in codes}
    return statuses.pop() if len(statuses) == 1 else 400
