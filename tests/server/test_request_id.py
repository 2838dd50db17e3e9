"""Every log line of a request carries its ``request_id`` (the client's ``X-Request-ID``
when sane, else a new one, echoed on the response), and once the caller is known its
``principal_kind`` and ``account_id``; on HTTP and on a WebSocket alike."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
import structlog
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.types import Message

from auth.principals import Anonymous
from server.app import create_app
from server.logging import configure_logging
from server.request_id import LOG_KEYS, bind_principal
from services import clients as clients_service
from tests.server.limit_helpers import http_client, with_settings

CLIENTS = "{ clients { nodes { id } } }"
GENERATED = re.compile(r"[0-9a-f]{32}")

LogLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[LogLines]:
    """The lines logged, configured as ``portico serve`` configures structlog (JSON)."""
    previous = structlog.get_config()
    out = io.StringIO()
    monkeypatch.setattr(logging, "basicConfig", lambda **_kwargs: None)  # pytest's handlers
    configure_logging("INFO", json=True)
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(out), cache_logger_on_first_use=False
    )
    try:
        yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    finally:
        structlog.configure(**previous)


@pytest.fixture
def failing_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """``clients`` fails unexpectedly, which logs ``graphql.unexpected_error``."""

    async def fail(**_kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(clients_service, "list_clients", fail)


def unexpected_errors(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == "graphql.unexpected_error"]


@pytest.mark.usefixtures("failing_clients")
async def test_the_log_lines_of_a_request_carry_its_id_and_its_caller(
    client, tenant, log_lines: LogLines
):
    response = await client.post(
        "/graphql",
        json={"query": CLIENTS},
        headers={"Authorization": f"Bearer {tenant.admin}", "X-Request-ID": "req-1.abc_DEF"},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert response.headers["X-Request-ID"] == "req-1.abc_DEF"
    lines = unexpected_errors(log_lines())
    assert lines
    for line in lines:
        assert line["request_id"] == "req-1.abc_DEF"
        assert line["principal_kind"] == "staff"
        assert line["account_id"] == str(tenant.account_id)
    # cleared when the request ends (httpx runs the app in the test's own task)
    assert not set(LOG_KEYS) & set(structlog.contextvars.get_contextvars())


@pytest.mark.parametrize(
    "incoming",
    [
        "a" * 65,
        "b" * 200,
        "",
        "two words",
        "semi;colon",
        "slash/../etc",
        "nul\x00byte",
        "tab\tinside",
        "caf\xe9",
    ],
)
async def test_an_insane_request_id_is_replaced(client, incoming: str):
    response = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers=[(b"X-Request-ID", incoming.encode("latin-1"))],
    )
    assert response.status_code == 200
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


async def test_a_line_break_in_the_request_id_is_replaced(runtime):
    # httpx refuses to send a header with a line break; the ASGI scope is built by hand
    app = create_app(runtime=runtime)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/healthz",
        "raw_path": b"/healthz",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"portal.test"), (b"x-request-id", b"forged\nevent=admin")],
        "client": ("203.0.113.7", 50000),
        "server": ("portal.test", 80),
        "state": {},
    }
    await app(scope, receive, send)
    [start] = [message for message in sent if message["type"] == "http.response.start"]
    echoed = dict(start["headers"])[b"x-request-id"].decode()
    assert GENERATED.fullmatch(echoed)


async def test_without_an_id_each_request_gets_its_own(client):
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert GENERATED.fullmatch(first.headers["X-Request-ID"])
    assert GENERATED.fullmatch(second.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_a_refused_request_still_has_its_id(client):
    response = await client.post("/graphql", content=b"{}", headers={"X-Request-ID": "r-413"})
    assert response.status_code == 415
    assert response.headers["X-Request-ID"] == "r-413"


@pytest.mark.usefixtures("failing_clients")
async def test_websocket_log_lines_carry_the_id_and_the_caller(
    runtime, tenant, log_lines: LogLines
):
    app = create_app(runtime=runtime)
    async with httpx.AsyncClient(
        transport=ASGIWebSocketTransport(app), base_url="http://portal.test"
    ) as http:
        connecting: AbstractAsyncContextManager[AsyncWebSocketSession] = aconnect_ws(
            "/graphql",
            http,
            subprotocols=["graphql-transport-ws"],
            headers={"X-Request-ID": "ws-7"},
        )
        async with connecting as ws:
            assert ws.response is not None
            assert ws.response.headers["X-Request-ID"] == "ws-7"
            await ws.send_json(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {tenant.admin}"}}
            )
            assert (await ws.receive_json())["type"] == "connection_ack"
            await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": CLIENTS}})
            answer = await ws.receive_json()
            assert answer["payload"]["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    lines = unexpected_errors(log_lines())
    assert lines
    for line in lines:
        assert line["request_id"] == "ws-7"
        assert line["principal_kind"] == "staff"
        assert line["account_id"] == str(tenant.account_id)


def test_an_anonymous_caller_is_logged_without_an_account():
    structlog.contextvars.bind_contextvars(account_id="left-over")
    try:
        bind_principal(Anonymous())
        bound = structlog.contextvars.get_contextvars()
        assert bound["principal_kind"] == "anonymous"
        assert "account_id" not in bound
    finally:
        structlog.contextvars.unbind_contextvars(*LOG_KEYS)


async def test_cors_allows_and_exposes_the_request_id(runtime):
    origin = "https://app.example.com"
    async with http_client(with_settings(runtime, cors_origins=[origin])) as http:
        preflight = await http.options(
            "/graphql",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type, x-request-id",
            },
        )
        assert preflight.status_code == 200, preflight.text
        allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
        assert "x-request-id" in allowed
        response = await http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": origin, "X-Request-ID": "from-the-browser"},
        )
        assert response.headers["X-Request-ID"] == "from-the-browser"
        exposed = response.headers["Access-Control-Expose-Headers"].lower()
        assert "x-request-id" in exposed
