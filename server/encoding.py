"""JSON out of ``/graphql``: encoded with orjson, bounded by ``max_response_bytes``, and
on a WebSocket, every error payload with an ``extensions.code``.

A result whose JSON is larger than the limit is replaced by ``{"data": null, "errors":
[{"extensions": {"code": "RESPONSE_TOO_LARGE"}}]}`` (HTTP 200, or the ``next``/``data``
message's payload). The result was computed (a mutation's changes are committed); only
its answer is withheld, so the client should ask for fewer fields or a smaller page.

Strawberry builds a few WebSocket errors of its own without a code (the operation limit,
a ``connection_init`` payload that is not an object); :func:`with_codes` gives them one.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import orjson
import structlog

log = structlog.get_logger("portico.graphql")

RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"
BAD_REQUEST = "BAD_REQUEST"
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"

_KNOWN_CODES = {"Subscription limit reached": TOO_MANY_SUBSCRIPTIONS}
"""Codes for the errors Strawberry's protocol handlers build themselves."""


def dumps(data: Any) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits
        return json.dumps(data, separators=(",", ":")).encode()


def too_large(max_bytes: int) -> dict[str, Any]:
    message = (
        f"The result is larger than {max_bytes} bytes; ask for fewer fields or a smaller page."
    )
    return {
        "data": None,
        "errors": [
            {"message": message, "extensions": {"code": RESPONSE_TOO_LARGE, "maxBytes": max_bytes}}
        ],
    }


def encode_result(data: Any, *, max_bytes: int) -> bytes:
    """An HTTP GraphQL response body."""
    encoded = dumps(data)
    if len(encoded) <= max_bytes:
        return encoded
    log.warning("graphql.response_too_large", size=len(encoded), limit=max_bytes)
    return dumps(too_large(max_bytes))


def encode_message(message: Any, *, max_bytes: int) -> bytes:
    """A WebSocket message (graphql-transport-ws or graphql-ws)."""
    message = with_codes(message)
    encoded = dumps(message)
    if len(encoded) <= max_bytes or message.get("type") not in ("next", "data"):
        return encoded
    log.warning("graphql.response_too_large", size=len(encoded), limit=max_bytes)
    return dumps({**message, "payload": too_large(max_bytes)})


class SharedPayloads:
    """Encodes a ``next``/``data`` payload once for every subscriber it goes to.

    Subscribers with the same profile, scope and selection receive the very same result
    (:class:`schema.event_execution.SharedEventExecutor`), so the payload's JSON is the
    same for all of them; only the message's ``id`` differs. The last few payloads are
    kept by the identity of their ``data`` (held, so the identity stays theirs) and
    their ``extensions`` compared by value (Strawberry builds them per operation).
    """

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._encoded: OrderedDict[int, tuple[Any, Any, bytes]] = OrderedDict()

    def encode(self, message: Any, *, max_bytes: int) -> tuple[bytes, bytes | None]:
        """The message's JSON, and its payload's when it is a shareable result (no
        errors: those are formatted per message)."""
        payload = message.get("payload") if isinstance(message, dict) else None
        shareable = (
            message.get("type") in ("next", "data")
            and isinstance(payload, dict)
            and isinstance(payload.get("data"), dict)
            and set(payload) <= {"data", "extensions"}
            and set(message) == {"id", "type", "payload"}
        )
        if not shareable or not isinstance(payload, dict):
            return encode_message(message, max_bytes=max_bytes), None
        data, extensions = payload["data"], payload.get("extensions")
        entry = self._encoded.get(id(data))
        if entry is not None and entry[0] is data and entry[1] == extensions:
            body = entry[2]
            self._encoded.move_to_end(id(data))
        else:
            body = dumps(payload)
            if len(body) > max_bytes:
                log.warning("graphql.response_too_large", size=len(body), limit=max_bytes)
                body = dumps(too_large(max_bytes))
            self._encoded[id(data)] = (data, extensions, body)
            if len(self._encoded) > self._size:
                self._encoded.popitem(last=False)
        kind = b'"next"' if message["type"] == "next" else b'"data"'
        frame = b'{"id":' + dumps(message["id"]) + b',"type":' + kind + b',"payload":' + body + b"}"
        return frame, body


def coded(error: Any) -> Any:
    """A formatted error (a dict) with an ``extensions.code``."""
    if not isinstance(error, dict):
        return error
    extensions = error.get("extensions") or {}
    if "code" in extensions:
        return error
    code = _KNOWN_CODES.get(str(error.get("message")), BAD_REQUEST)
    return {**error, "extensions": {**extensions, "code": code}}


def with_codes(message: Any) -> Any:
    """``message`` with every error in it coded: the ``error`` message of either
    protocol, the errors of a ``next``/``data`` payload, and ``connection_error``."""
    if not isinstance(message, dict):
        return message
    kind = message.get("type")
    payload = message.get("payload")
    if kind == "error":
        if isinstance(payload, list):
            return {**message, "payload": [coded(error) for error in payload]}
        return {**message, "payload": coded(payload)}
    if kind in ("next", "data") and isinstance(payload, dict) and payload.get("errors"):
        return {**message, "payload": {**payload, "errors": [coded(e) for e in payload["errors"]]}}
    if kind == "connection_error":
        if not isinstance(payload, dict):
            payload = {
                "message": "The connection_init payload must be an object.",
                "code": BAD_REQUEST,
            }
        code = payload.get("code", BAD_REQUEST)
        return {**message, "payload": {**payload, "code": code, "extensions": {"code": code}}}
    return message
