"""uvicorn's WebSocket protocol (websockets' sans-I/O one, uvicorn's default) with three
additions for long-lived ``/graphql`` sockets; ``portico serve`` runs it.

- **Callback messages.** The app gets every WebSocket as usual, through its middleware
  (request id, proxies) and the GraphQL view, which answers the handshake. Once a
  protocol handler is running, it may take the socket over
  (:meth:`PorticoWebSocketProtocol.adopt`, offered in the ASGI scope under
  :data:`server.ws_protocol.LEAN_MESSAGES`): from then on each received message is handed to it from
  ``data_received`` and the ASGI call returns — no task, queue or coroutine chain is
  kept per idle socket (:class:`server.ws_protocol.CallbackMessages` runs a short task
  only while messages are being handled). Any other WebSocket stays an ASGI one.
- **Direct frames.** It writes a text frame itself (:class:`server.ws_protocol.DirectFrames`,
  offered under :data:`server.ws_protocol.DIRECT_FRAMES`): a server frame is unmasked,
  so it is a two- to ten-byte header and the payload, written straight to the
  transport, instead of an ASGI ``send`` through the middleware stack and websockets'
  frame objects per subscriber and event. With permessage-deflate negotiated, frames go
  through websockets' own compressor as before. Nothing is written once a close was
  sent or the peer is gone, and while the transport's buffer is above its high-water
  mark the caller queues (``frames_writable``), bounded
  (:data:`server.ws_protocol.MAX_QUEUED_BYTES`: past it the socket is dropped,
  :meth:`abort`), and waits (``frames_drained``).
- Once the handshake is answered it drops the handshake's request and response
  objects (their headers: some 3 KB a socket), which nothing reads again.
"""

from __future__ import annotations

import struct
from typing import Any, Protocol

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from server.ws_protocol import DIRECT_FRAMES, LEAN_MESSAGES

_TEXT = 0x81  # FIN + text opcode


def text_frame_header(length: int) -> bytes:
    if length < 126:
        return bytes((_TEXT, length))
    if length < 1 << 16:
        return struct.pack("!BBH", _TEXT, 126, length)
    return struct.pack("!BBQ", _TEXT, 127, length)


class _NoQueue:
    """What an adopted socket has for uvicorn's receive queue: nothing reads it now."""

    __slots__ = ()

    def put_nowait(self, _message: Any) -> None:
        pass

    def empty(self) -> bool:
        return True

    async def get(self) -> Any:
        raise ClientDisconnected


_NO_QUEUE = _NoQueue()


class MessageReceiver(Protocol):
    """Takes an adopted socket's messages (see the module docstring)."""

    def received(self, data: str | bytes) -> bool:
        """A whole message; ``False``: stop reading until :meth:`PorticoWebSocketProtocol.
        resume_messages` (too many waiting)."""

    def lost(self) -> None:
        """The socket is gone (or going): end everything."""


class PorticoWebSocketProtocol(WebSocketsSansIOProtocol):
    receiver: MessageReceiver | None = None

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:
            scope["extensions"][DIRECT_FRAMES] = self
            scope["extensions"][LEAN_MESSAGES] = self

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]
            conn = self.conn
            if conn.state is State.OPEN and not conn.reader.buffer:
                # websockets' parser keeps the parsed request (its headers) in its
                # frame for the socket's life; a new one starts where it stood
                conn.parser = conn.parse()
                next(conn.parser)

    # Callback messages

    def adopt(self, receiver: MessageReceiver) -> bool:
        """From now on, hand every message to ``receiver`` (and its end to
        ``receiver.lost``); ``False`` when the socket is already closing."""
        if not self.handshake_complete or self.close_sent or self.disconnected:
            return False
        self.receiver = receiver
        queued = self.queue
        self.queue = _NO_QUEUE  # type: ignore[assignment]
        # the handshake's headers: nothing reads them once the socket is adopted
        self.scope["headers"] = []
        while not queued.empty():  # what arrived before the handler asked for it
            message = queued.get_nowait()
            if message["type"] == "websocket.receive":
                text = message.get("text")
                receiver.received(text if text is not None else message.get("bytes") or b"")
            elif message["type"] == "websocket.disconnect":
                self.disconnected = True
                receiver.lost()
                return True
        self.resume_messages()
        return True

    def resume_messages(self) -> None:
        if self.read_paused and not self.transport.is_closing():
            self.read_paused = False
            self.transport.resume_reading()

    def send_receive_event_to_app(self) -> None:
        receiver = self.receiver
        if receiver is None:
            super().send_receive_event_to_app()
            return
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:
            return  # as uvicorn: past the close, reads go on until the peer's reply
        message: str | bytes = data
        if self.curr_msg_data_type == "text":
            try:
                message = data.decode()
            except UnicodeDecodeError:
                self.logger.info("Invalid UTF-8 sequence received from client.")
                self.conn.send_close(1007)
                self.handle_parser_exception()
                return
        if not receiver.received(message) and not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        receiver = self.receiver
        if receiver is not None:
            receiver.lost()

    async def run_asgi(self) -> None:
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            if not self.handshake_complete:
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
            elif self.receiver is not None and not self.disconnected:
                return  # adopted: the socket lives on, its messages go to the receiver
        if self.close_timer is None:
            self.transport.close()

    # Direct frames

    def _open(self) -> bool:
        return (
            self.handshake_complete
            and self.initial_response is None
            and not self.close_sent
            and not self.disconnected
            and not self.transport.is_closing()
        )

    def frames_writable(self) -> bool:
        return self._open() and self.writable.is_set()

    def write_text_frame(self, data: bytes) -> None:
        if not self._open():
            return
        if self.conn.extensions:  # permessage-deflate: websockets compresses
            self.conn.send_text(data)
            self.transport.write(b"".join(self.conn.data_to_send()))
            return
        self.transport.write(text_frame_header(len(data)) + data)

    async def frames_drained(self) -> None:
        await self.writable.wait()

    def abort(self) -> None:
        """Drop the connection now (a peer that does not read what it is sent)."""
        self.close_sent = True
        self.transport.abort()
