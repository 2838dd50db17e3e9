"""A TCP proxy in front of PostgreSQL that records what the server receives, round trip
by round trip: the test of what a request costs on the wire, whatever SQLAlchemy or
asyncpg believe they send.

PostgreSQL's frontend protocol ends each exchange the client waits on with a ``Sync``
(extended protocol: ``Parse``/``Bind``/``Execute``..., what asyncpg uses for statements
with or without parameters), a ``Flush`` (asyncpg's prepare: ``Parse``, ``Describe``,
then it waits for the description) or is one ``Query`` message (simple protocol:
asyncpg's ``BEGIN``/``COMMIT``/``ROLLBACK``). So each ``Sync``, ``Flush`` or ``Query`` is
one round trip. The proxy reads the client's messages (the SQL
of a ``Parse``, the prepared statement a ``Bind`` runs) and passes every byte on
unchanged, except an ``SSLRequest``, which it declines itself so that the stream stays
readable.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104


@dataclass
class Trip:
    """One round trip: the SQL it prepares (``Parse``), runs (``Bind`` of a prepared
    statement, or a simple ``Query``)."""

    parsed: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)

    @property
    def sql(self) -> list[str]:
        return self.ran or self.parsed


@dataclass
class Wire:
    """What the server received through the proxy, per round trip."""

    url: str
    trips: list[Trip] = field(default_factory=list)
    _severs: list[Callable[[], None]] = field(default_factory=list)

    def sever(self) -> None:
        """Cut every connection from the server's side without telling the client: its
        socket stays open until it next sends something, then it is closed (a connection
        lost on a dropped network path, or to a server that went away unheard)."""
        for sever in self._severs:
            sever()

    def clear(self) -> None:
        self.trips.clear()

    def statements(self) -> list[str]:
        """The SQL run, one entry per statement executed (prepare-only trips left out)."""
        return [sql for trip in self.trips for sql in trip.ran]


class _Client:
    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.started = False
        self.buffer = b""
        self.prepared: dict[str, str] = {}
        self.current = Trip()

    def feed(self, data: bytes) -> bytes | None:
        """Take what the client sent; returns a reply the proxy gives itself (declining
        SSL), else ``None`` (everything is forwarded)."""
        self.buffer += data
        reply = None
        while True:
            if not self.started:
                if len(self.buffer) < 8:
                    return reply
                length, code = struct.unpack("!ii", self.buffer[:8])
                if len(self.buffer) < length:
                    return reply
                self.buffer = self.buffer[length:]
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    reply = b"N"
                else:
                    self.started = True
                continue
            if len(self.buffer) < 5:
                return reply
            kind = self.buffer[:1]
            (length,) = struct.unpack("!i", self.buffer[1:5])
            if len(self.buffer) < 1 + length:
                return reply
            body = self.buffer[5 : 1 + length]
            self.buffer = self.buffer[1 + length :]
            self._message(kind, body)

    def _message(self, kind: bytes, body: bytes) -> None:
        if kind == b"P":  # Parse: statement name, query
            name, query = body.split(b"\0")[:2]
            self.prepared[name.decode()] = query.decode()
            self.current.parsed.append(query.decode())
        elif kind == b"B":  # Bind: portal name, statement name
            statement = body.split(b"\0")[1].decode()
            self.current.ran.append(self.prepared.get(statement, f"<prepared {statement}>"))
        elif kind == b"Q":  # simple query: a round trip of its own
            self.current.ran.append(body.rstrip(b"\0").decode())
            self._end_trip()
        elif kind in (b"S", b"H"):  # Sync; Flush (asyncpg's prepare waits on it)
            self._end_trip()

    def _end_trip(self) -> None:
        self.wire.trips.append(self.current)
        self.current = Trip()


@contextlib.asynccontextmanager
async def recording_proxy(url: str) -> AsyncIterator[Wire]:
    """A proxy to the server of ``url`` on a free local port; yields the :class:`Wire`
    whose ``url`` is ``url`` pointed at the proxy."""
    target = make_url(url)
    host, port = target.host or "127.0.0.1", target.port or 5432
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(wire)
        upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        server_gone = asyncio.Event()

        async def to_server() -> None:
            while data := await reader.read(65536):
                if server_gone.is_set():
                    client.feed(data)  # recorded, but there is no one to send it to
                    writer.close()
                    return
                reply = client.feed(data)
                if reply is not None:
                    writer.write(reply)
                    await writer.drain()
                    continue  # an SSLRequest is not forwarded (it is all the packet held)
                upstream_writer.write(data)
                await upstream_writer.drain()
            upstream_writer.close()

        async def to_client() -> None:
            while data := await upstream_reader.read(65536):
                writer.write(data)
                await writer.drain()
            if not server_gone.is_set():
                writer.close()

        def sever() -> None:
            server_gone.set()
            upstream_writer.close()

        wire._severs.append(sever)

        pipes = [asyncio.ensure_future(to_server()), asyncio.ensure_future(to_client())]
        with contextlib.suppress(Exception):
            await asyncio.gather(*pipes)
        for pipe in pipes:
            pipe.cancel()
        writer.close()
        upstream_writer.close()

    async def track(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handle(reader, writer)
        finally:
            tasks.discard(task)

    server = await asyncio.start_server(track, "127.0.0.1", 0)
    proxy_port = server.sockets[0].getsockname()[1]
    wire = Wire(target.set(host="127.0.0.1", port=proxy_port).render_as_string(False))
    try:
        yield wire
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
