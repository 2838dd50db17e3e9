"""uvicorn's WebSocket protocol (websockets' sans-I/O one, uvicorn's default) with two
additions for long-lived ``/graphql`` sockets; ``portico serve`` runs it.

- It writes a text frame itself (:class:`server.ws_protocol.DirectFrames`, offered to
  the app in the ASGI scope under :data:`server.ws_protocol.DIRECT_FRAMES`): a server
  frame is unmasked, so it is a two- to ten-byte header and the payload, written
  straight to the transport, instead of an ASGI ``send`` through the middleware stack
  and websockets' frame objects per subscriber and event. With permessage-deflate
  negotiated, frames go through websockets' own compressor as before. Nothing is
  written once a close was sent or the peer is gone, and while the transport's buffer
  is above its high-water mark the caller queues (``frames_writable``) and waits
  (``frames_drained``).
- Once the handshake is answered it drops the handshake's request and response
  objects (their headers: some 3 KB a socket), which nothing reads again.
"""

from __future__ import annotations

import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from server.ws_protocol import DIRECT_FRAMES

_TEXT = 0x81  # FIN + text opcode


def text_frame_header(length: int) -> bytes:
    if length < 126:
        return bytes((_TEXT, length))
    if length < 1 << 16:
        return struct.pack("!BBH", _TEXT, 126, length)
    return struct.pack("!BBQ", _TEXT, 127, length)


class PorticoWebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None and self.response.status_code == 101:
            scope["extensions"][DIRECT_FRAMES] = self

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]

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
