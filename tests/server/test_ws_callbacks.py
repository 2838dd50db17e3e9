"""``portico serve``'s WebSocket protocol (server.ws_transport) on a real socket: an idle
subscription keeps no task, and a subscriber that stops reading is dropped once what
waits for it passes a bounded buffer, while the others receive every event."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from httpx_ws import aconnect_ws

from models.enums import StaffRole
from server.app import create_app
from server.ws_protocol import MAX_QUEUED_BYTES
from services.events import invoices as invoice_events
from services.unit_of_work import unit_of_work
from tests.portal.helpers import make_client
from tests.schema.test_invoices import create_invoice
from tests.server.test_invoice_events import (
    WAIT,
    acknowledged,
    bearer,
    invoice_row,
    next_event,
    subscribe,
    wait_listening,
)
from tests.server.ws_paths import served

NOTES = "n" * 9000
BIG = """
subscription {
  invoiceChanged {
    cursor
    a: invoice { publicNotes }
    b: invoice { publicNotes }
    c: invoice { publicNotes }
    d: invoice { publicNotes }
    e: invoice { publicNotes }
    f: invoice { publicNotes }
  }
}
"""


async def test_an_idle_subscription_on_the_served_path_keeps_no_task(runtime, backend, tenant, gql):
    if backend.name != "sqlite":
        return  # the transport does not depend on the database
    app = create_app(runtime=runtime)
    async with served(app, runtime.settings) as base, httpx.AsyncClient() as http:
        before = set(asyncio.all_tasks())

        def server_tasks() -> list[asyncio.Task[Any]]:
            return [task for task in asyncio.all_tasks() - before if not _client_side(task)]

        url = f"{base.replace('http', 'ws', 1)}/graphql"
        connecting: Any = aconnect_ws(url, http, subprotocols=["graphql-transport-ws"])
        async with connecting as ws:
            await ws.send_json({"type": "connection_init", "payload": bearer(tenant.admin)})
            await acknowledged(ws)
            await subscribe(ws)
            await wait_listening(runtime)
            for _ in range(200):  # the handshake's and the messages' tasks end
                if not server_tasks():
                    break
                await asyncio.sleep(0.01)
            assert server_tasks() == []
            # and the subscription is live
            client = await make_client(gql, tenant.admin)
            invoice = await create_invoice(gql, tenant.admin, client["id"])
            seen = await next_event(ws)
            assert (seen["kind"], seen["invoice"]["id"]) == ("CREATED", invoice["id"])


def _client_side(task: asyncio.Task[Any]) -> bool:
    """httpx-ws's own tasks for its side of the socket (it reads in the background), or
    the broker's relay (one per app, started with its first listener)."""
    if task.get_name() == "portico-event-relay":
        return True
    code = getattr(task.get_coro(), "cr_code", None)
    filename = code.co_filename if code is not None else ""
    return any(part in filename for part in ("httpx_ws", "anyio", "httpcore", "httpx"))


class SlowReader:
    """A graphql-transport-ws client that subscribes and then never reads again (a small
    receive buffer, so the server's side fills up soon)."""

    def __init__(self, base: str) -> None:
        self.base = urlsplit(base)
        self.writer: asyncio.StreamWriter | None = None
        self.reader: asyncio.StreamReader | None = None

    async def open(self, token: str, query: str) -> None:
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.setblocking(False)
        await asyncio.get_running_loop().sock_connect(raw, (self.base.hostname, self.base.port))
        self.reader, self.writer = await asyncio.open_connection(sock=raw, limit=1024)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write(
            (
                "GET /graphql HTTP/1.1\r\n"
                f"Host: {self.base.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), WAIT)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.send({"type": "connection_init", "payload": bearer(token)})
        assert (await self.frame())["type"] == "connection_ack"
        self.send({"id": "slow", "type": "subscribe", "payload": {"query": query}})

    def send(self, message: dict[str, Any]) -> None:
        assert self.writer is not None
        payload = orjson.dumps(message)
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        if len(payload) < 126:
            header = bytes((0x81, 0x80 | len(payload)))
        else:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, len(payload))
        self.writer.write(header + mask + masked)

    async def frame(self) -> dict[str, Any]:
        assert self.reader is not None
        _first, second = await asyncio.wait_for(self.reader.readexactly(2), WAIT)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        message: dict[str, Any] = orjson.loads(await self.reader.readexactly(length))
        return message

    def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()


async def test_a_subscriber_that_never_reads_is_dropped_and_the_others_receive_everything(
    runtime, backend, tenant, gql
):
    if backend.name != "sqlite":
        return  # the transport does not depend on the database
    client = await make_client(gql, tenant.admin)
    invoice = await create_invoice(gql, tenant.admin, client["id"], publicNotes=NOTES)
    admin = tenant.principals[StaffRole.ADMIN]
    app = create_app(runtime=runtime)
    slow = None
    async with served(app, runtime.settings) as base, httpx.AsyncClient() as http:
        url = f"{base.replace('http', 'ws', 1)}/graphql"
        connecting: Any = aconnect_ws(
            url, http, subprotocols=["graphql-transport-ws"], max_message_size_bytes=2**24
        )
        async with connecting as ws:
            await ws.send_json({"type": "connection_init", "payload": bearer(tenant.admin)})
            await acknowledged(ws)
            await subscribe(ws)
            slow = SlowReader(base)
            await slow.open(tenant.admin, BIG)
            await wait_listening(runtime, 2)
            # each event is some 54 KB to the slow reader: far more than the bound,
            # the transport's and the kernel's buffers together
            sent = 0
            while runtime.events.listener_count() > 1:
                assert sent * 54_000 < 8 * MAX_QUEUED_BYTES + 16 * 2**20, "never dropped"
                async with unit_of_work(runtime) as work:
                    row = await invoice_row(work, invoice["id"])
                    for _ in range(20):
                        invoice_events.updated(work.session, row, admin)
                sent += 20
                for _ in range(20):
                    seen = await next_event(ws)
                    assert (seen["kind"], seen["invoice"]["id"]) == ("UPDATED", invoice["id"])
                await asyncio.sleep(0)
            # the one that reads goes on receiving
            async with unit_of_work(runtime) as work:
                invoice_events.updated(work.session, await invoice_row(work, invoice["id"]), admin)
            seen = await asyncio.wait_for(next_event(ws), WAIT)
            assert seen["invoice"]["id"] == invoice["id"]
            assert runtime.events.listener_count() == 1
    if slow is not None:
        slow.close()
