"""A request id in every log line, as a pure ASGI middleware outside every other one.

Each HTTP request and WebSocket connection gets an id: the client's ``X-Request-ID`` when
it is sane (1 to 64 characters of ``A-Z a-z 0-9 . _ -``), otherwise a new random one. It
is sent back as ``X-Request-ID`` on the response (on a WebSocket, with the handshake's
accept) and bound in structlog's context variables, so every line logged while the
request runs, and by the tasks it starts, carries ``request_id``. Once the caller is known
(server.graphql_view), :func:`bind_principal` adds ``principal_kind`` and ``account_id``.
Everything bound is cleared when the request ends.
"""

from __future__ import annotations

import re
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.principals import Anonymous, Principal
from auth.profiles import profile_for

REQUEST_ID_HEADER = "X-Request-ID"
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LOG_KEYS = ("request_id", "principal_kind", "account_id")
"""What this module binds in structlog's context variables."""


def sane_request_id(value: str | None) -> str | None:
    """``value`` when it can be logged and echoed as it is, else None."""
    if value is not None and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _HEADER_KEY:
            return bytes(value).decode("latin-1")
    return None


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = sane_request_id(_incoming(scope)) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        echoed = (_HEADER_KEY, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] in (
                "http.response.start",
                "websocket.accept",
                "websocket.http.response.start",
            ):
                headers = [h for h in message.get("headers", ()) if h[0].lower() != _HEADER_KEY]
                message["headers"] = [*headers, echoed]
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars(*LOG_KEYS)


def bind_principal(principal: Principal) -> None:
    """Log who is calling from now on in this request: ``principal_kind`` (anonymous,
    staff, contact, partner) and, but for the anonymous, ``account_id``."""
    kind = profile_for(principal).kind.value
    if isinstance(principal, Anonymous):
        structlog.contextvars.unbind_contextvars("account_id")
        structlog.contextvars.bind_contextvars(principal_kind=kind)
    else:
        structlog.contextvars.bind_contextvars(
            principal_kind=kind, account_id=str(principal.account_id)
        )
