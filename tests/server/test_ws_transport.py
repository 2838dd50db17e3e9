"""The frames Portico's uvicorn protocol writes itself (server.ws_transport) are the bytes
websockets would write for the same text message, at every length class."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from server.ws_transport import text_frame_header


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_a_direct_text_frame_is_what_websockets_would_send(length):
    data = b"x" * length
    expected = Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])
    assert text_frame_header(len(data)) + data == expected
