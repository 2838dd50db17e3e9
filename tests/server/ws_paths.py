"""The two ways a WebSocket reaches the app, for tests that run on both.

- ``asgi``: in process, through httpx-ws's ASGI transport (the app as any ASGI server
  would run it: a task reading the socket for each connection);
- ``served``: the very app on a real uvicorn on a local port, in the test's event loop,
  with the options ``portico serve`` uses (:func:`server.cli.serve_options`): Portico's
  WebSocket protocol, which hands ``/graphql``'s messages to the protocol handlers from
  its callbacks (server.ws_transport).

A test module opts in with ``pytestmark = pytest.mark.usefixtures("ws_path")`` (and the
fixture imported); its WebSockets come from :func:`ws_http`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.types import ASGIApp

from server.cli import serve_options
from services.config import Settings

SERVED = {"on": False}
"""Whether :func:`ws_http` serves on uvicorn (set by :func:`ws_path`)."""


@pytest.fixture(params=["asgi", "served"])
def ws_path(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "served" and "backend" in request.fixturenames:
        backend = request.getfixturevalue("backend")
        if backend.name != "sqlite":  # the transport does not depend on the database
            pytest.skip("served WebSockets run on SQLite only")
    SERVED["on"] = request.param == "served"
    try:
        yield str(request.param)
    finally:
        SERVED["on"] = False


@asynccontextmanager
async def served(app: ASGIApp, settings: Settings) -> AsyncIterator[str]:
    """``app`` on uvicorn (``portico serve``'s options) on a free local port; yields
    its base URL. Connections still open at the end are shut down as uvicorn does."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", **serve_options(settings))
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[listener])
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for running in server.servers:
            running.close()
        listener.close()
        connections = server.server_state.connections
        for connection in list(connections):
            connection.shutdown()
        for _ in range(500):  # uvicorn's own shutdown polls too (at 0.1 s)
            if not connections and not server.server_state.tasks:
                break
            await asyncio.sleep(0.01)
        for running in server.servers:
            await running.wait_closed()


@asynccontextmanager
async def ws_http(
    app: ASGIApp, settings: Settings, base_url: str = "http://portal.test"
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An httpx client for ``aconnect_ws`` and the URL of ``/graphql`` on it, by the
    test's :func:`ws_path` (in process without it)."""
    if not SERVED["on"]:
        transport = ASGIWebSocketTransport(app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield http, "/graphql"
        return
    async with served(app, settings) as base, httpx.AsyncClient(base_url=base) as http:
        yield http, f"{base.replace('http', 'ws', 1)}/graphql"
