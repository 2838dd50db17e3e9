"""graphql-transport-ws and legacy graphql-ws as Portico speaks them: Strawberry's
handlers, with two changes.

- The per-connection subscription cap closes a graphql-transport-ws socket with 4429
  ("Too many subscriptions") — the protocol's code for a client that asks for too much
  — instead of answering the one operation. The other codes are the protocol's, as
  Strawberry sends them: 4400 bad message, 4401 subscribe before ack (Portico also
  closes 4401 when the credential is revoked), 4403 connection_init refused (bad
  token), 4408 no connection_init within ``ws_init_timeout_seconds``, 4409 a duplicate
  operation id, 4429 a second connection_init.
- An ``invoiceChanged`` subscription runs without a task of its own
  (:mod:`server.event_stream`): the handler keeps a :class:`StreamOperation` (its id and
  its stream in the broker), and the broker's fan-out writes its frames through the
  connection's :class:`ConnectionWriter`. Every other operation runs as Strawberry runs
  it.

All of a connection's messages go out through one :class:`ConnectionWriter`, in order:
written at once while the socket takes them, queued behind each other (one task
draining) while it does not, so the fan-out never waits for a slow subscriber. What is
queued is bounded (:data:`MAX_QUEUED_BYTES`): a peer that stops reading is dropped, not
buffered for without end.

Under ``portico serve`` (:mod:`server.ws_transport`) a handler does not read its socket
in a loop of its own: :meth:`PorticoTransportWSHandler.handle` hands the socket's
messages to a :class:`CallbackMessages`, which the protocol calls for each one, and
returns — an idle connection is a few objects, no task.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections import deque
from collections.abc import Awaitable, Callable
from json import JSONDecodeError
from typing import TYPE_CHECKING, Any, Protocol

import orjson
import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage, StopMessage

from server.event_stream import InvoiceStream, InvoiceStreams, Prepared, prepare
from services.event_log.direct import FRAME_SENDER

if TYPE_CHECKING:
    from schema.registry import SchemaRegistry

log = structlog.get_logger("portico.ws")

TOO_MANY_SUBSCRIPTIONS_CLOSE = 4429
DIRECT_FRAMES = "portico.websocket.frames"
"""The ASGI scope extension under which Portico's uvicorn protocol
(:mod:`server.ws_transport`) offers to write text frames itself."""
LEAN_MESSAGES = "portico.websocket.messages"
"""The ASGI scope extension under which Portico's uvicorn protocol offers to hand the
socket's messages to a :class:`MessageReceiver` from its callbacks (:class:`Adopting`)."""

MAX_QUEUED_BYTES = 1 << 20
"""What one connection may have waiting for its socket; past it the peer is dropped."""
MAX_PENDING_MESSAGES = 16
"""Received messages waiting for their handler before the socket stops reading."""


class DirectFrames(Protocol):
    """A socket that writes a text frame without an ASGI ``send``."""

    def frames_writable(self) -> bool:
        """Whether a frame written now goes straight to the transport."""

    def write_text_frame(self, data: bytes) -> None: ...

    async def frames_drained(self) -> None:
        """Until the transport takes writes again (or the socket is gone)."""

    def abort(self) -> None:
        """Drop the connection at once."""


class ConnectionWriter:
    """Every message of one connection, in order (see the module docstring)."""

    __slots__ = ("_asgi_send", "_direct", "_draining", "_queue", "_queued", "closed")

    max_queued_bytes = MAX_QUEUED_BYTES

    def __init__(
        self, asgi_send: Callable[[str], Awaitable[None]], direct: DirectFrames | None
    ) -> None:
        self._asgi_send = asgi_send
        self._direct = direct
        self._queue: deque[tuple[bytes, asyncio.Future[None] | None]] | None = None
        self._draining: asyncio.Task[None] | None = None
        self._queued = 0
        self.closed = False

    def write(self, data: bytes) -> None:
        """Send ``data`` (a text frame's UTF-8) without waiting."""
        if self.closed:
            return
        direct = self._direct
        if not self._queue and direct is not None and direct.frames_writable():
            direct.write_text_frame(data)
            return
        self._enqueue(data, None)

    async def send(self, text: str) -> None:
        """Send ``text`` once what was written before it is sent."""
        if self.closed:
            return
        direct = self._direct
        if not self._queue and direct is not None and direct.frames_writable():
            direct.write_text_frame(text.encode())
            return
        if not self._queue and direct is None and self._draining is None:
            await self._asgi_send(text)
            return
        sent = asyncio.get_running_loop().create_future()
        self._enqueue(text.encode(), sent)
        await sent

    def _enqueue(self, data: bytes, sent: asyncio.Future[None] | None) -> None:
        if self._queue is None:
            self._queue = deque()
            self._queued = 0
        self._queue.append((data, sent))
        self._queued += len(data)
        if self._queued > self.max_queued_bytes:
            self._overflow()
            return
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain(), name="portico-ws-drain")

    async def _drain(self) -> None:
        queue = self._queue
        if queue is None:
            return
        try:
            while queue:
                data, sent = queue[0]
                if self._direct is not None:
                    await self._direct.frames_drained()
                    self._direct.write_text_frame(data)
                else:
                    await self._asgi_send(data.decode())
                queue.popleft()
                self._queued -= len(data)
                if sent is not None and not sent.done():
                    sent.set_result(None)
        except BaseException as error:  # the socket is gone: so is what was queued
            self.closed = True
            for _, waiting in queue:
                if waiting is not None and not waiting.done():
                    waiting.set_exception(
                        error if isinstance(error, Exception) else ConnectionError()
                    )
                    waiting.exception()
            queue.clear()
            if not isinstance(error, Exception):
                raise
        finally:
            self._draining = None
            self._queue = None

    def close(self) -> None:
        self.closed = True
        if self._draining is not None:
            self._draining.cancel()

    def _overflow(self) -> None:
        """The peer does not read: drop what waits, and the connection (see the module
        docstring); whoever waits on a send sees the socket gone."""
        log.warning("websocket.slow_reader_dropped", queued_bytes=self._queued)
        self.closed = True
        queue, self._queue = self._queue, None
        for _, waiting in queue or ():
            if waiting is not None and not waiting.done():
                waiting.set_exception(WebSocketDisconnect(1006))
                waiting.exception()
        if self._draining is not None:
            self._draining.cancel()
        if self._direct is not None:
            self._direct.abort()


class MessageReceiver(Protocol):
    def received(self, data: str | bytes) -> bool: ...

    def lost(self) -> None: ...


class Adopting(Protocol):
    """A socket that hands its messages to a :class:`MessageReceiver` from its own
    callbacks (:class:`server.ws_transport.PorticoWebSocketProtocol`)."""

    def adopt(self, receiver: MessageReceiver) -> bool:
        """``False``: the socket is closing already; nothing was taken over."""

    def resume_messages(self) -> None: ...


Handler = Any
"""A :class:`PorticoTransportWSHandler` or a :class:`PorticoGraphQLWSHandler`."""


class CallbackMessages:
    """Runs a protocol handler's messages as its socket receives them, with no task of
    its own while none is waiting (see the module docstring): each one as Strawberry's
    ``handle`` loop would, in the context (request id, caller) the handshake ran in, in
    order. When the socket is gone, the handler shuts down as at the end of that loop,
    and the connection leaves the revocation hub."""

    __slots__ = (
        "_after",
        "_context",
        "_gone",
        "_handler",
        "_legacy",
        "_pending",
        "_running",
        "_socket",
        "ws",
    )

    def __init__(self, handler: Handler, ws: WebSocket, socket: Adopting, *, legacy: bool) -> None:
        self._handler = handler
        self.ws = ws
        self._socket = socket
        self._legacy = legacy
        self._context = contextvars.copy_context()
        self._after = asyncio.current_task()
        """The handshake's ASGI call: it ends (and lets go of the connection's first
        session) before any message is handled."""
        self._pending: deque[str | bytes] | None = None
        self._running: asyncio.Task[None] | None = None
        self._gone = False

    def received(self, data: str | bytes) -> bool:
        if self._gone:
            return True
        if self._pending is None:
            self._pending = deque()
        self._pending.append(data)
        self._start()
        return len(self._pending) < MAX_PENDING_MESSAGES

    def lost(self) -> None:
        if not self._gone:
            self._gone = True
            self._start()

    def _start(self) -> None:
        if self._running is None:
            self._running = asyncio.get_running_loop().create_task(
                self._run(), name="portico-ws-messages", context=self._context
            )

    async def _run(self) -> None:
        after, self._after = self._after, None
        if after is not None and not after.done():
            await asyncio.wait((after,))
        try:
            pending = self._pending
            while pending and not self._gone:
                data = pending.popleft()
                if len(pending) < MAX_PENDING_MESSAGES:
                    self._socket.resume_messages()
                await self._handle(data)
        finally:
            self._running = None
            if not self._pending:
                self._pending = None
        if self._gone:
            self._running = asyncio.current_task()  # nothing starts again
            self._pending = None
            await self._end()

    async def _handle(self, data: str | bytes) -> None:
        handler = self._handler
        if self.ws.application_state is WebSocketState.DISCONNECTED:
            return  # closed from here: Strawberry's loop reads no more either
        try:
            if isinstance(data, bytes):
                if self._legacy:
                    await handler.websocket.close(1002, "WebSocket message type must be text")
                else:
                    await handler.handle_invalid_message("WebSocket message type must be text")
                return
            try:
                message = handler.view.decode_json(data)
            except JSONDecodeError:
                if not self._legacy:
                    await handler.handle_invalid_message("WebSocket message must be valid JSON")
                return
            await handler.handle_message(message)
        except WebSocketDisconnected:
            self._gone = True
        except Exception:
            log.exception("websocket.handler_failed")
            self._gone = True
            with contextlib.suppress(Exception):
                await self.ws.close(code=1011)

    async def _end(self) -> None:
        handler = self._handler
        try:
            if self._legacy:
                if handler.keep_alive_task:
                    handler.keep_alive_task.cancel()
                    with contextlib.suppress(BaseException):
                        await handler.keep_alive_task
                await handler.cleanup()
            else:
                await handler.shutdown()
        except Exception:
            log.exception("websocket.shutdown_failed")
        finally:
            context = handler.context
            if context.release is not None:
                context.release()
                context.release = None
            await context.session.close()


def adopted(handler: Handler, *, legacy: bool) -> bool:
    """Whether ``handler``'s socket took its messages over (:class:`CallbackMessages`):
    then ``handle`` returns at once."""
    ws = getattr(handler.websocket, "ws", None)
    if not isinstance(ws, WebSocket):
        return False
    socket: Adopting | None = (ws.scope.get("extensions") or {}).get(LEAN_MESSAGES)
    if socket is None:
        return False
    if not socket.adopt(CallbackMessages(handler, ws, socket, legacy=legacy)):
        return False
    if not legacy:
        handler.on_request_accepted()  # the init timeout, as Strawberry's handle starts it
    return True


class StreamingSocket(Protocol):
    writer: ConnectionWriter


def _prefix(operation_id: str, kind: str) -> bytes:
    return b'{"id":' + orjson.dumps(operation_id) + b',"type":"' + kind.encode() + b'","payload":'


class StreamOperation:
    """An ``invoiceChanged`` subscription of a connection: its id and its stream (as
    Strawberry's ``Operation`` stands for a task). Writes ``next`` (graphql-transport-ws)
    or ``data`` (graphql-ws) frames with an encoded payload."""

    __slots__ = ("_complete", "_forget", "_prefix", "completed", "id", "stream", "writer")

    task = None  # no task: Strawberry's shutdown awaits only operations that have one

    def __init__(
        self,
        writer: ConnectionWriter,
        operation_id: str,
        kind: str,
        forget: Callable[[str], None],
    ) -> None:
        self.writer = writer
        self.id = operation_id
        self._prefix = _prefix(operation_id, kind)
        # concatenated: orjson's own result keeps a 4 KB buffer for the socket's life
        self._complete = b'{"id":' + orjson.dumps(operation_id) + b',"type":"complete"}'
        self._forget = forget
        self.completed = False
        self.stream: InvoiceStream | None = None

    def next(self, payload: bytes) -> None:
        if not self.completed:
            self.writer.write(self._prefix + payload + b"}")

    def end(self, payload: bytes) -> None:
        if self.completed:
            return
        self.writer.write(self._prefix + payload + b"}")
        self.completed = True
        self._forget(self.id)
        self.writer.write(self._complete)

    def stop(self, streams: InvoiceStreams) -> None:
        self.completed = True
        if self.stream is not None:
            streams.close(self.stream)


class StreamingView(Protocol):
    registry: SchemaRegistry
    streams: InvoiceStreams


async def _prepared(view: StreamingView, context: Any, payload: Any) -> Prepared | None:
    if not isinstance(payload, dict):
        return None
    return await prepare(
        view.registry,
        context,
        payload.get("query"),
        payload.get("variables"),
        payload.get("operationName"),
    )


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
    async def handle(self) -> None:
        if not adopted(self, legacy=False):
            await super().handle()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_init_received:
            # cancelled: nothing waits for it now (a task kept is ~0.5 KB a socket)
            self.connection_init_timeout_task = None

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
        if self.connection_acknowledged and message["id"] not in self.operations:
            view: StreamingView = self.view  # type: ignore[assignment]
            prepared = await _prepared(view, self.context, message["payload"])
            if prepared is not None and message["id"] not in self.operations:
                await self._stream(view, message["id"], prepared)
                return
        # the operation's task (created in there) inherits its sender
        sender = FRAME_SENDER.set(OperationFrames(self, message["id"]))
        try:
            await super().handle_subscribe(message)
        finally:
            FRAME_SENDER.reset(sender)

    async def _stream(self, view: StreamingView, operation_id: str, prepared: Prepared) -> None:
        socket: StreamingSocket = self.websocket  # type: ignore[assignment]
        operation = StreamOperation(socket.writer, operation_id, "next", self._forget_stream)
        self.operations[operation_id] = operation  # type: ignore[assignment]
        operation.stream = await view.streams.open(prepared, operation)

    def _forget_stream(self, operation_id: str) -> None:
        self.operations.pop(operation_id, None)

    async def cleanup_operation(self, operation_id: str) -> None:
        operation: object = self.operations.get(operation_id)
        if isinstance(operation, StreamOperation):
            del self.operations[operation_id]
            view: StreamingView = self.view  # type: ignore[assignment]
            operation.stop(view.streams)
            return
        await super().cleanup_operation(operation_id)


class PorticoGraphQLWSHandler(BaseGraphQLWSHandler[Any, None]):
    """Legacy graphql-ws: ``invoiceChanged`` as a stream, the rest as Strawberry runs it
    (both count towards the per-connection cap)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams: dict[str, StreamOperation] = {}

    async def handle(self) -> None:
        if not adopted(self, legacy=True):
            await super().handle()

    async def handle_start(self, message: StartMessage) -> None:
        operation_id = message["id"]
        if not self.connection_acknowledged:
            await super().handle_start(message)
            return
        if operation_id in self.tasks or operation_id in self.streams:
            await self.cleanup_operation(operation_id)
        cap = self.max_subscriptions_per_connection
        if cap is not None and len(self.tasks) + len(self.streams) >= cap:
            await self.send_message(
                {
                    "type": "error",
                    "id": operation_id,
                    "payload": {"message": "Subscription limit reached"},
                }
            )
            return
        view: StreamingView = self.view  # type: ignore[assignment]
        prepared = await _prepared(view, self.context, message["payload"])
        if prepared is None or operation_id in self.tasks or operation_id in self.streams:
            await super().handle_start(message)
            return
        socket: StreamingSocket = self.websocket  # type: ignore[assignment]
        operation = StreamOperation(socket.writer, operation_id, "data", self._forget_stream)
        self.streams[operation_id] = operation
        operation.stream = await view.streams.open(prepared, operation)

    def _forget_stream(self, operation_id: str) -> None:
        self.streams.pop(operation_id, None)

    async def handle_stop(self, message: StopMessage) -> None:
        operation = self.streams.pop(message["id"], None)
        if operation is None:
            await super().handle_stop(message)
            return
        view: StreamingView = self.view  # type: ignore[assignment]
        operation.stop(view.streams)
        with contextlib.suppress(Exception):  # as Strawberry answers a stopped operation
            await self.send_message({"type": "complete", "id": message["id"]})

    async def cleanup(self) -> None:
        view: StreamingView = self.view  # type: ignore[assignment]
        for operation in self.streams.values():
            operation.stop(view.streams)
        self.streams.clear()
        await super().cleanup()
