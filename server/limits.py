"""Request body size limit, as a pure ASGI middleware in front of every HTTP route.

A body is refused with 413 ``PAYLOAD_TOO_LARGE`` before it is read whole: at once when
its ``Content-Length`` is above ``max_body_bytes``, otherwise (chunked or streamed
bodies) as soon as the bytes received pass the limit. Counting happens on the ASGI
``receive`` channel, so it holds for every content type (JSON, multipart, webhooks) and
the server never buffers more than the limit plus one chunk. A ``multipart/form-data``
body (a file upload) may carry ``max_upload_bytes`` more: the file, besides the GraphQL
request; the upload's own limit is checked again, exactly, while it streams to storage
(``services.uploads``). The answer carries
``Connection: close``: the rest of the body is never read, so the connection cannot be
reused.

The same middleware hears of a client that hangs up before its body is read (Starlette's
``ClientDisconnect``, raised wherever a route reads the body): there is no one to answer,
so it is one ``client_disconnected`` line in the log, not a traceback for every hang-up.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"

log = structlog.get_logger("portico.http")


def graphql_error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """``{"errors": [{"message", "extensions": {"code", ...}}]}``: how every error that
    happens outside GraphQL execution is told, so clients read one shape."""
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a body passes the limit; the middleware answers."""


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int = 0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        if _is_multipart(scope):
            limit += self.max_upload_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(send, limit)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if response_started:  # pragma: no cover - no route answers before its body
                raise
            await self._refuse(send, limit)
        except ClientDisconnect:
            if response_started:  # pragma: no cover - no route answers before its body
                raise
            log.info("client_disconnected", path=scope["path"], received_bytes=received)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = orjson.dumps(
            graphql_error_body(
                f"The request body is larger than {limit} bytes.",
                PAYLOAD_TOO_LARGE,
                maxBytes=limit,
            )
        )
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


def _is_multipart(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == b"multipart/form-data")
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server (h11, httptools) refuses a malformed one itself
    return None
