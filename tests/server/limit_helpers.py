"""Apps with their own limits (a copy of the test runtime with other settings)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from server.app import create_app
from services.runtime import Runtime
from tests.server.ws_paths import ws_http


def with_settings(runtime: Runtime, **overrides: Any) -> Runtime:
    """``runtime`` (same database, signer, limiter) with some settings changed."""
    return dataclasses.replace(runtime, settings=runtime.settings.model_copy(update=overrides))


@asynccontextmanager
async def http_client(
    runtime: Runtime, address: str = "203.0.113.7"
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


@asynccontextmanager
async def websocket(
    runtime: Runtime, protocol: str = "graphql-transport-ws", payload: Any = None
) -> AsyncIterator[AsyncWebSocketSession]:
    """A WebSocket on ``/graphql``, ``connection_init`` sent with ``payload`` (not read);
    in process, or served on uvicorn under :func:`tests.server.ws_paths.ws_path`."""
    app = create_app(runtime=runtime)
    async with ws_http(app, runtime.settings) as (http, url):
        connecting: AbstractAsyncContextManager[AsyncWebSocketSession] = aconnect_ws(
            url, http, subprotocols=[protocol]
        )
        async with connecting as ws:
            await ws.send_json(
                {"type": "connection_init", "payload": {} if payload is None else payload}
            )
            yield ws
