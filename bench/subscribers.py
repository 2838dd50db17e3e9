"""``invoiceChanged`` with 1,000 and 10,000 concurrent subscribers on one instance.

What runs: a real server — the app :func:`server.app.create_app` builds, on uvicorn with
the settings ``portico serve`` uses (uvloop; Portico's WebSocket protocol, which hands
``/graphql``'s messages to the protocol handlers from its callbacks) — in a
child process of its own, on a migrated SQLite database with one account. The bench
process opens real TCP WebSockets to it (graphql-transport-ws, from a minimal client:
handshake, ``connection_init`` with a bearer token, ``subscribe``), so each process holds
one socket per subscriber (the file-descriptor soft limit is raised to the hard one).

Subscribers share a profile: all but one in a hundred use one partner API token (scopes
``events:subscribe invoices:read``), the others four sessions of one staff admin; all run
``subscription { invoiceChanged { cursor kind invoice { id number status total } } }``.
So an event should cost two GraphQL executions (partner, staff admin), not one per
subscriber.

An event: the server commits a unit of work recording ``invoice.viewed`` on a sent
invoice (``services.events.invoices.viewed``, what the portal records); the commit time
is taken in the server right after ``COMMIT`` (an after-commit follow-up registered
before the broker's kick). The latency of an event is from that moment to the moment the
bench process reads the frame of the *last* subscriber (``time.monotonic``, one clock for
both processes on Linux). Per event the server also counts GraphQL executions
(``SharedEventExecutor._execute_for`` calls, wrapped in the server process only), SQL
statements (an engine ``before_cursor_execute`` listener) and its own CPU time
(``time.process_time``, from before the commit to after the last delivery: the commit,
the relay, the fan-out, the execution, the encoding and the socket writes).

Memory per idle subscription: the server's RSS after all subscribers are connected,
subscribed and idle, minus its RSS with one warm subscriber, divided by the subscribers
added (``gc.collect()`` first); and the Python heap alone (tracemalloc) for 500 more
subscribers, with the allocation sites that hold it.

Knobs (environment, for experiments; the committed numbers use neither):
``BENCH_SUBSCRIBERS=1000,10000`` (the sizes), ``BENCH_GC_THRESHOLD=700,10,10`` (the
server's ``gc_thresholds`` setting instead of its default), ``BENCH_GC_FREEZE=1`` (the server
calls ``gc.freeze()`` once the subscribers are idle), ``BENCH_TRACE=0`` (no tracemalloc
phase: on a loaded machine its handshakes can outlast the bench's timeout),
``BENCH_CONNECTING=100`` (handshakes in flight at once: 10,000 at once, every
``connection_init`` authenticating in the same second, connected in 29 s with no error and
p99 182 ms on 2026-12-03).
``experiments`` in the committed JSON was run with ``BENCH_GC_THRESHOLD`` and merged in
by hand, with its command.
"""

from __future__ import annotations

import asyncio
import base64
import cProfile
import gc
import json
import logging
import os
import platform
import resource
import secrets
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
import structlog
import uvloop

from bench.common import ROOT, free_port, loadavg, ms, percentile, profile_top, short, wait_healthy

QUERY = "subscription { invoiceChanged { cursor kind invoice { id number status total } } }"
SIZES = (1_000, 10_000)
EVENTS = 20
WARM_EVENTS = 2
PROFILED_EVENTS = 3
TRACED_SUBSCRIBERS = 500
STAFF_SESSIONS = 4
STAFF_EVERY = 100
"""One subscriber in this many uses a staff session, the others the partner token."""
CONNECTING = int(os.environ.get("BENCH_CONNECTING", "100"))
"""Handshakes in flight at once (uvicorn's listen backlog is 2048)."""
EVENT_TIMEOUT = 120.0


# --- the server (a child process) ----------------------------------------------------


@dataclass
class _Counters:
    executions: int = 0
    statements: int = 0
    profiler: cProfile.Profile | None = None
    traced: tracemalloc.Snapshot | None = None
    gc_seconds: float = 0.0
    gc_full: int = 0
    _gc_started: float = 0.0

    def gc_phase(self, phase: str, info: dict[str, int]) -> None:
        """``gc.callbacks``: the CPU time the cyclic garbage collector takes (of the thread
        it runs in: the event loop's, almost always)."""
        if phase == "start":
            self._gc_started = time.thread_time()
            return
        self.gc_seconds += time.thread_time() - self._gc_started
        if info["generation"] == 2:
            self.gc_full += 1


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _settings(folder: Path) -> Any:
    from services.config import Settings

    extra: dict[str, Any] = {}
    if threshold := os.environ.get("BENCH_GC_THRESHOLD"):  # an experiment: not the default
        extra["gc_thresholds"] = tuple(int(part) for part in threshold.split(","))
    return Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}",
        secret_key=(folder / "secret").read_text(),
        public_base_url="http://bench.test",
        scheduler_enabled=False,
        **extra,
    )


async def _seed(folder: Path) -> dict[str, Any]:
    """One account, one admin with a few sessions, a partner token, a sent invoice."""
    from auth.passwords import use_cheapest_parameters
    from auth.principals import StaffPrincipal
    from models.enums import StaffRole
    from server.app import create_app
    from server.migrate import upgrade_engine
    from services.accounts import create_account, create_staff_user
    from services.api_tokens import create_api_token
    from services.db import create_engine
    from services.runtime import Runtime
    from services.sessions import open_staff_session
    from services.unit_of_work import begin_write

    use_cheapest_parameters()  # seeding only: nobody signs in with a password
    settings = _settings(folder)
    engine = create_engine(settings.database_url)
    await upgrade_engine(engine)
    runtime = Runtime.build(settings, engine)
    async with runtime.sessions() as session:
        await begin_write(session)
        account = await create_account(session, name="Bench", slug="bench")
        user = await create_staff_user(
            session,
            account=account,
            email="admin@bench.test",
            name="Admin",
            role=StaffRole.ADMIN,
            password="Bench-password-1",  # noqa: S106 - a throwaway database
        )
        ttl = timedelta(hours=settings.session_ttl_hours)
        staff = [
            await open_staff_session(
                session=session, signer=runtime.signer, user_id=user.id, ttl=ttl
            )
            for _ in range(STAFF_SESSIONS)
        ]
        actor = StaffPrincipal(account.id, user.id, StaffRole.ADMIN, uuid.uuid4())
        _, partner = await create_api_token(
            session=session,
            actor=actor,
            name="Bench partner",
            scopes=["events:subscribe", "invoices:read"],
        )
        await session.commit()
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {staff[0]}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as http:

        async def data(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            body = (
                await http.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                )
            ).json()
            assert "errors" not in body, body
            result: dict[str, Any] = body["data"]
            return result

        client = await data(
            "mutation($i: ClientInput!) { createClient(input: $i) { id } }",
            {"i": {"name": "Bench Client"}},
        )
        line = {"description": "Consulting", "quantity": "3", "unitPrice": "100.00"}
        invoice = await data(
            "mutation($i: InvoiceInput!) { createInvoice(input: $i) { id } }",
            {"i": {"clientId": client["createClient"]["id"], "lines": [line]}},
        )
        invoice_id = invoice["createInvoice"]["id"]
        await data("mutation($id: ID!) { sendInvoice(id: $id) { id } }", {"id": invoice_id})
    await runtime.background.drain()
    await runtime.mailer.close()
    await engine.dispose()
    return {
        "account_id": str(account.id),
        "user_id": str(user.id),
        "invoice_id": invoice_id,
        "partner": partner,
        "staff": staff,
    }


def _bench_routes(
    app: Any, runtime: Any, setup: dict[str, Any], counters: _Counters, ws_protocol: str
) -> Any:
    """The app, plus ``/bench/*`` for the bench process: commit an event, read counters,
    profile, trace memory (this child process only)."""
    from starlette.requests import Request
    from starlette.responses import Response

    from auth.principals import StaffPrincipal
    from models.enums import StaffRole
    from models.invoices import Invoice
    from services.events import invoices as invoice_events
    from services.unit_of_work import after_commit, unit_of_work

    actor = StaffPrincipal(
        uuid.UUID(setup["account_id"]), uuid.UUID(setup["user_id"]), StaffRole.ADMIN, uuid.uuid4()
    )
    invoice_id = uuid.UUID(setup["invoice_id"])

    async def commit() -> dict[str, Any]:
        stamp: dict[str, float] = {}

        def committed(_runtime: Any) -> None:
            stamp["at"] = time.monotonic()

        async with unit_of_work(runtime) as work:
            after_commit(work.session, "bench.committed", committed)  # before the kick
            invoice = await work.session.get(Invoice, invoice_id)
            assert invoice is not None
            invoice_events.viewed(work.session, invoice, actor)
        return {"committed_at": stamp["at"]}

    def stats(collect: bool) -> dict[str, Any]:
        if collect:
            gc.collect()
        return {
            "executions": counters.executions,
            "statements": counters.statements,
            "gc_seconds": counters.gc_seconds,
            "gc_full": counters.gc_full,
            "cpu": time.process_time(),
            "rss": _rss(),
            "listeners": runtime.events.listener_count(),
            "tasks": len(asyncio.all_tasks()),
            "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "gc_threshold": gc.get_threshold(),
            "ws_protocol": ws_protocol,
        }

    def profile(action: str) -> dict[str, Any]:
        if action == "start":
            counters.profiler = cProfile.Profile()
            counters.profiler.enable()
            return {}
        assert counters.profiler is not None
        counters.profiler.disable()
        return {"top": profile_top(counters.profiler)}

    def trace(action: str) -> dict[str, Any]:
        if action == "start":
            tracemalloc.start(8)
            gc.collect()
            counters.traced = tracemalloc.take_snapshot()
            return {"traced": tracemalloc.get_traced_memory()[0]}
        assert counters.traced is not None
        gc.collect()
        snapshot = tracemalloc.take_snapshot()
        traced = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return {"traced": traced, "top": _trace_top(snapshot, counters.traced)}

    async def bench(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        action = request.url.path.removeprefix("/bench/")
        result: dict[str, Any]
        if action == "commit":
            result = await commit()
        elif action == "stats":
            result = stats(request.query_params.get("gc") == "1")
        elif action == "freeze":  # an experiment: what the cyclic GC costs per event
            gc.collect()
            gc.freeze()
            result = {"frozen": gc.get_freeze_count()}
        elif action.startswith("profile/"):
            result = profile(action.removeprefix("profile/"))
        elif action.startswith("trace/"):
            result = trace(action.removeprefix("trace/"))
        else:
            result = {"error": action}
        await Response(orjson.dumps(result), media_type="application/json")(scope, receive, send)

    async def routed(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/bench/"):
            await bench(scope, receive, send)
        else:
            await app(scope, receive, send)

    return routed


def _owner(traceback: tracemalloc.Traceback) -> str:
    """The innermost frame outside the standard library: who asked for the memory."""
    for frame in reversed(traceback):
        ours = "/lib/python3" not in frame.filename or "site-packages" in frame.filename
        if ours and not frame.filename.startswith("<"):
            return short(frame.filename)
    return short(traceback[-1].filename)


def _trace_top(
    snapshot: tracemalloc.Snapshot, baseline: tracemalloc.Snapshot, limit: int = 20
) -> dict[str, Any]:
    """What grew: by module that asked for it (innermost frame outside the standard
    library), and the largest allocation sites with their callers."""
    diffs = snapshot.compare_to(baseline, "traceback")
    owners: dict[str, int] = {}
    for diff in diffs:
        owner = _owner(diff.traceback)
        owners[owner] = owners.get(owner, 0) + diff.size_diff
    sites = []
    for diff in diffs[:limit]:
        frames = [f"{short(frame.filename)}:{frame.lineno}" for frame in diff.traceback]
        sites.append(
            {"bytes": diff.size_diff, "blocks": diff.count_diff, "trace": frames[::-1][:5]}
        )
    by_owner = sorted(owners.items(), key=lambda item: -item[1])[:limit]
    return {"by_module": by_owner, "sites": sites}


def _serve(folder: Path, port: int) -> None:
    import uvicorn

    from schema.event_execution import SharedEventExecutor
    from server.app import create_app
    from server.cli import WS_PROTOCOL
    from services.db import create_engine
    from services.runtime import Runtime

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    _raise_fd_limit()
    setup = asyncio.run(_seed(folder))
    settings = _settings(folder)
    runtime = Runtime.build(settings, create_engine(settings.database_url))
    counters = _Counters()

    original = SharedEventExecutor._execute_for

    async def counted(self: SharedEventExecutor, change: Any, serially: bool | None) -> Any:
        counters.executions += 1
        return await original(self, change, serially)

    SharedEventExecutor._execute_for = counted  # type: ignore[method-assign]

    import server.event_stream as event_stream

    group_execution = event_stream.execute_group

    async def counted_group(change: Any, plan: Any) -> Any:
        counters.executions += 1
        return await group_execution(change, plan)

    event_stream.execute_group = counted_group

    from sqlalchemy import event

    def statement(*_args: Any) -> None:
        counters.statements += 1

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", statement)
    gc.callbacks.append(counters.gc_phase)
    app = create_app(runtime=runtime)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        proxy_headers=False,
        ws_max_size=settings.max_body_bytes,
        backlog=4096,
        ws=WS_PROTOCOL,
    )
    config.load()
    ws_protocol = getattr(config.ws_protocol_class, "__name__", str(config.ws_protocol_class))
    config.app = _bench_routes(app, runtime, setup, counters, ws_protocol)
    config.loaded = False
    (folder / "setup.json").write_text(json.dumps(setup))
    uvicorn.Server(config).run()


# --- the subscribers (this process) --------------------------------------------------


def _frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A masked client frame (the mask is random; the payload is XORed with it)."""
    mask = secrets.token_bytes(4)
    length = len(payload)
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    repeated = (mask * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        length, "big"
    )
    return head + mask + masked


def _text(message: dict[str, Any]) -> bytes:
    return _frame(orjson.dumps(message))


@dataclass
class _Arrivals:
    """What the subscribers received, by event cursor."""

    times: dict[str, list[float]] = field(default_factory=dict)
    wrong: int = 0
    failures: list[str] = field(default_factory=list)
    invoice_id: str = ""
    waiting: tuple[str | None, int, asyncio.Future[str]] | None = None

    def next(self, payload: dict[str, Any], now: float) -> None:
        event = (payload.get("data") or {}).get("invoiceChanged")
        if payload.get("errors") or not event or event["invoice"]["id"] != self.invoice_id:
            self.wrong += 1
            return
        cursor = event["cursor"]
        times = self.times.setdefault(cursor, [])
        times.append(now)
        if self.waiting is not None:
            known, count, done = self.waiting
            if cursor != known and len(times) >= count and not done.done():
                done.set_result(cursor)


class _Subscriber(asyncio.Protocol):
    def __init__(self, arrivals: _Arrivals, host: str, token: str) -> None:
        self.arrivals = arrivals
        self.host = host
        self.token = token
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass
        transport = self.transport
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        transport.write(
            (
                f"GET /graphql HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
            ).encode()
        )

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before subscribing: {exc}"))
        elif self._upgraded:
            self.arrivals.failures.append(f"connection lost: {exc}")

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self._buffer[:end]).split(b"\r\n", 1)[0]
            del self._buffer[: end + 4]
            if b" 101 " not in status:
                self.ready.set_exception(ConnectionError(status.decode()))
                return
            self._upgraded = True
            self._send(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}
            )
        while len(self._buffer) >= 2:
            first, second = self._buffer[0], self._buffer[1]
            length, start = second & 0x7F, 2
            if length == 126:
                if len(self._buffer) < 4:
                    return
                (length,), start = struct.unpack_from("!H", self._buffer, 2), 4
            elif length == 127:
                if len(self._buffer) < 10:
                    return
                (length,), start = struct.unpack_from("!Q", self._buffer, 2), 10
            if len(self._buffer) < start + length:
                return
            payload = bytes(self._buffer[start : start + length])
            del self._buffer[: start + length]
            self._received(first & 0x0F, payload, now)

    def _send(self, message: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.write(_text(message))

    def _received(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x9:  # ping: pong, or uvicorn closes the socket
            assert self.transport is not None
            self.transport.write(_frame(payload, 0xA))
            return
        if opcode == 0x8:
            self.arrivals.failures.append(f"closed by the server: {payload[:2].hex()}")
            return
        if opcode != 0x1:
            return
        message = orjson.loads(payload)
        kind = message.get("type")
        if kind == "connection_ack":
            self._send({"id": "1", "type": "subscribe", "payload": {"query": QUERY}})
            self.ready.set_result(None)
        elif kind == "next":
            self.arrivals.next(message["payload"], now)
        elif kind == "ping":
            self._send({"type": "pong"})
        else:
            self.arrivals.failures.append(orjson.dumps(message).decode()[:300])


@dataclass
class _Server:
    http: httpx.AsyncClient
    port: int

    async def call(self, action: str, **params: str) -> dict[str, Any]:
        response = await self.http.post(f"/bench/{action}", params=params, timeout=120)
        result: dict[str, Any] = response.json()
        return result

    async def wait_listeners(self, count: int) -> None:
        deadline = time.monotonic() + 300
        while (listeners := (await self.call("stats"))["listeners"]) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{listeners} of {count} subscribers listening")
            await asyncio.sleep(0.2)


async def _connect(
    arrivals: _Arrivals, port: int, tokens: list[str], transports: list[asyncio.Transport]
) -> None:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CONNECTING)
    host = f"127.0.0.1:{port}"

    async def one(token: str) -> None:
        async with gate:
            transport, protocol = await loop.create_connection(
                lambda: _Subscriber(arrivals, host, token), "127.0.0.1", port
            )
            transports.append(transport)
            await asyncio.wait_for(protocol.ready, 60)

    await asyncio.gather(*(one(token) for token in tokens))


async def _event(server: _Server, arrivals: _Arrivals, count: int) -> dict[str, Any]:
    """Commit one event and wait until ``count`` subscribers have it."""
    before = await server.call("stats")
    client_cpu = time.process_time()
    done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    known = max(arrivals.times, key=int) if arrivals.times else None
    arrivals.waiting = (known, count, done)
    committed = (await server.call("commit"))["committed_at"]
    try:
        cursor = await asyncio.wait_for(asyncio.shield(done), EVENT_TIMEOUT)
    except TimeoutError:
        newest = max(arrivals.times, key=int)
        raise TimeoutError(
            f"{len(arrivals.times.get(newest, []))} of {count} received the event"
        ) from None
    finally:
        arrivals.waiting = None
    await asyncio.sleep(0.2)  # the server finishes what it does after the last write
    after = await server.call("stats")
    times = arrivals.times[cursor]
    return {
        "cursor": cursor,
        "last_s": max(times) - committed,
        "first_s": min(times) - committed,
        "median_s": statistics.median(times) - committed,
        "executions": after["executions"] - before["executions"],
        "statements": after["statements"] - before["statements"],
        "server_cpu_s": after["cpu"] - before["cpu"],
        "server_gc_s": after["gc_seconds"] - before["gc_seconds"],
        "server_full_gcs": after["gc_full"] - before["gc_full"],
        "client_cpu_s": time.process_time() - client_cpu,
    }


def _tokens(setup: dict[str, Any], count: int, offset: int = 0) -> list[str]:
    staff: list[str] = setup["staff"]
    return [
        staff[(n // STAFF_EVERY) % len(staff)] if n % STAFF_EVERY == 0 else setup["partner"]
        for n in range(offset, offset + count)
    ]


async def _run(size: int, trace: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "secret").write_text(secrets.token_urlsafe(32))
        port = free_port()
        process = subprocess.Popen(  # noqa: S603, ASYNC220 - started once, before measuring
            [sys.executable, "-m", "bench.subscribers", "serve", str(folder), str(port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        transports: list[asyncio.Transport] = []
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                await wait_healthy(http, process)
                setup = json.loads((folder / "setup.json").read_text())
                server = _Server(http, port)
                return await _measure(server, setup, size, trace, transports)
        finally:
            for transport in transports:
                transport.abort()
            process.terminate()
            process.wait(timeout=30)


async def _measure(
    server: _Server,
    setup: dict[str, Any],
    size: int,
    trace: bool,
    transports: list[asyncio.Transport],
) -> dict[str, Any]:
    arrivals = _Arrivals(invoice_id=setup["invoice_id"])
    # one warm subscriber, two events: schemas, code paths and pools are warm
    await _connect(arrivals, server.port, _tokens(setup, 1), transports)
    await server.wait_listeners(1)
    for _ in range(2):
        await _event(server, arrivals, 1)
    idle = await server.call("stats", gc="1")
    started = time.monotonic()
    await _connect(arrivals, server.port, _tokens(setup, size - 1, offset=1), transports)
    await server.wait_listeners(size)
    connect_s = time.monotonic() - started
    await asyncio.sleep(2)
    loaded = await server.call("stats", gc="1")
    if os.environ.get("BENCH_GC_FREEZE"):
        await server.call("freeze")
    events = [await _event(server, arrivals, size) for _ in range(WARM_EVENTS + EVENTS)]
    measured = events[WARM_EVENTS:]
    last = [event["last_s"] for event in measured]
    median = [event["median_s"] for event in measured]
    result: dict[str, Any] = {
        "subscribers": size,
        "events": len(measured),
        "connect_and_subscribe_s": round(connect_s, 1),
        "ws_protocol": loaded["ws_protocol"],
        "gc_threshold": loaded["gc_threshold"],
        "fd_limit": {"server": loaded["fd_limit"], "bench": _raise_fd_limit()},
        "latency_to_last_subscriber_ms": {
            "p50": ms(statistics.median(last)),
            "p99": ms(percentile(last, 0.99)),
            "max": ms(max(last)),
            "min": ms(min(last)),
        },
        "latency_to_median_subscriber_ms_p50": ms(statistics.median(median)),
        "latency_to_first_subscriber_ms_p50": ms(
            statistics.median(event["first_s"] for event in measured)
        ),
        "executions_per_event": sorted({event["executions"] for event in measured}),
        "sql_statements_per_event": sorted({event["statements"] for event in measured}),
        "server_cpu_ms_per_event": {
            "p50": ms(statistics.median(event["server_cpu_s"] for event in measured)),
            "max": ms(max(event["server_cpu_s"] for event in measured)),
        },
        "server_gc_ms_per_event": {
            "p50": ms(statistics.median(event["server_gc_s"] for event in measured)),
            "max": ms(max(event["server_gc_s"] for event in measured)),
            "full_collections": sum(event["server_full_gcs"] for event in measured),
        },
        "server_cpu_us_per_subscriber_per_event": round(
            statistics.median(event["server_cpu_s"] for event in measured) / size * 1e6, 1
        ),
        "bench_client_cpu_ms_per_event_p50": ms(
            statistics.median(event["client_cpu_s"] for event in measured)
        ),
        "server_rss_mb": {
            "one_subscriber": round(idle["rss"] / 2**20, 1),
            "all_idle": round(loaded["rss"] / 2**20, 1),
        },
        "rss_kb_per_idle_subscription": round((loaded["rss"] - idle["rss"]) / (size - 1) / 1024, 1),
        "server_tasks_per_subscription": round((loaded["tasks"] - idle["tasks"]) / (size - 1), 2),
        "wrong_payloads": arrivals.wrong,
        "failures": arrivals.failures[:5],
        "latency_ms_each_event": [ms(value) for value in last],
    }
    await server.call("profile/start")
    profiled = [await _event(server, arrivals, size) for _ in range(PROFILED_EVENTS)]
    result["profile"] = {
        "events": PROFILED_EVENTS,
        "note": "cProfile in the server over these events (times inflated by the profiler)",
        "latency_to_last_ms_under_profiler": [ms(event["last_s"]) for event in profiled],
        "top_by_own_time": (await server.call("profile/stop"))["top"],
    }
    if trace:
        start = await server.call("trace/start")
        count = size + TRACED_SUBSCRIBERS
        await _connect(
            arrivals, server.port, _tokens(setup, TRACED_SUBSCRIBERS, offset=size), transports
        )
        await server.wait_listeners(count)
        await asyncio.sleep(2)
        traced = await server.call("trace/stop")
        result["tracemalloc"] = {
            "subscribers_added": TRACED_SUBSCRIBERS,
            "python_heap_kb_per_idle_subscription": round(
                (traced["traced"] - start["traced"]) / TRACED_SUBSCRIBERS / 1024, 1
            ),
            "bytes_per_subscription_by_module": {
                module: round(size / TRACED_SUBSCRIBERS)
                for module, size in traced["top"]["by_module"]
            },
            "top_sites_bytes_per_subscription": [
                {
                    **row,
                    "bytes": round(row["bytes"] / TRACED_SUBSCRIBERS),
                    "blocks": round(row["blocks"] / TRACED_SUBSCRIBERS, 2),
                }
                for row in traced["top"]["sites"]
            ],
        }
    result["failures"] = arrivals.failures[:5]
    return result


async def _all(sizes: tuple[int, ...]) -> dict[str, Any]:
    runs = {}
    for size in sizes:
        trace = size == sizes[0] and os.environ.get("BENCH_TRACE", "1") != "0"
        runs[str(size)] = await _run(size, trace=trace)
    return runs


def _runner(main: Callable[[], Coroutine[Any, Any, dict[str, Any]]]) -> dict[str, Any]:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())


def subscribers() -> dict[str, Any]:
    sizes = tuple(int(s) for s in os.environ.get("BENCH_SUBSCRIBERS", "").split(",") if s) or SIZES
    _raise_fd_limit()
    load_before = loadavg()
    runs = _runner(lambda: _all(sizes))
    return {
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": loadavg(),
            "note": "2 cores shared with other jobs: see the load averages",
        },
        "method": {
            "server": "the app (server.app.create_app) on uvicorn in a child process, as "
            "`portico serve` runs it (uvloop, Portico's WebSocket protocol: "
            "server.ws_transport); SQLite; "
            "one account, one sent invoice",
            "subscribers": "real TCP WebSockets from the bench process (graphql-transport-ws, "
            f"minimal client on uvloop); {STAFF_EVERY - 1} in {STAFF_EVERY} use one partner "
            f"API token, the others {STAFF_SESSIONS} sessions of one staff admin; query: {QUERY}",
            "event": "the server commits a unit of work recording invoice.viewed "
            "(services.events.invoices.viewed); one event at a time, the next after every "
            f"subscriber has the previous; {WARM_EVENTS} warm-up events not counted",
            "latency": "server's time.monotonic() right after COMMIT (an after-commit "
            "follow-up before the broker's kick) to the bench's time.monotonic() on reading "
            "the frame; p50/p99 over events of the latency to the LAST subscriber",
            "executions_per_event": "calls of SharedEventExecutor._execute_for and "
            "server.event_stream.execute_group in the server",
            "sql_statements_per_event": "engine before_cursor_execute in the server, from "
            "the commit to the last delivery (the commit's own statements included)",
            "server_cpu_per_event": "server time.process_time() from before the commit to "
            "0.2 s after the last subscriber received (commit, relay, fan-out, executions, "
            "encoding, socket writes)",
            "server_gc_per_event": "CPU time (time.thread_time) inside the cyclic garbage "
            "collector (gc.callbacks) over the same span, and how many full (gen 2) "
            "collections ran; part of server_cpu_per_event",
            "memory": "server RSS with all subscribers connected and idle minus RSS with one "
            "(gc.collect() first), per subscriber added; tracemalloc: Python heap for "
            f"{TRACED_SUBSCRIBERS} more subscribers (first size only)",
        },
        "goal": {"subscribers": 10_000, "p99_ms": 500, "kb_per_idle_subscription": 20},
        "runs": runs,
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        _serve(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        print(json.dumps(subscribers(), indent=2))
