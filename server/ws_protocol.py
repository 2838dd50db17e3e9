"""graphql-transport-ws as Portico speaks it: Strawberry's handler, with the
per-connection subscription cap closing the socket with 4429 ("Too many
subscriptions") — the protocol's code for a client that asks for too much — instead of
answering the one operation. The other codes are the protocol's, as Strawberry sends
them: 4400 bad message, 4401 subscribe before ack (Portico also closes 4401 when the
credential is revoked), 4403 connection_init refused (bad token), 4408 no
connection_init within ``ws_init_timeout_seconds``, 4409 a duplicate operation id,
4429 a second connection_init.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from services.event_log.direct import FRAME_SENDER

TOO_MANY_SUBSCRIPTIONS_CLOSE = 4429


class TextSocket(Protocol):
    async def send_text(self, text: str) -> None: ...


class OperationFrames:
    """Sends ``next`` messages with an encoded payload for one operation
    (:class:`services.event_log.direct.FrameSender`), as Strawberry would: nothing once
    the operation is complete or gone."""

    __slots__ = ("_prefix", "handler", "id")

    def __init__(self, handler: PorticoTransportWSHandler, operation_id: str) -> None:
        self.handler = handler
        self.id = operation_id
        self._prefix = '{"id":' + orjson.dumps(operation_id).decode() + ',"type":"next","payload":'

    async def send_payload(self, payload: str) -> None:
        operation = self.handler.operations.get(self.id)
        if operation is None or operation.completed:
            return
        socket: TextSocket = self.handler.websocket  # type: ignore[assignment]
        await socket.send_text(self._prefix + payload + "}")


class PorticoTransportWSHandler(BaseGraphQLTransportWSHandler[Any, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        cap = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and cap is not None
            and message["id"] not in self.operations
            and len(self.operations) >= cap
        ):
            await self.websocket.close(
                code=TOO_MANY_SUBSCRIPTIONS_CLOSE, reason="Too many subscriptions"
            )
            return
        # the operation's task (created in there) inherits its sender
        sender = FRAME_SENDER.set(OperationFrames(self, message["id"]))
        try:
            await super().handle_subscribe(message)
        finally:
            FRAME_SENDER.reset(sender)
