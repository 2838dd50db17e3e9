"""Two real ``portico serve`` instances on one database and Redis (issue 11): an event
committed on one reaches a subscriber of the other at once (Redis, not the poll), and a
subscriber resumes from its cursor after a restart and on the other instance, with no gap
and no duplicate."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws

from tests.conftest import PASSWORD, SECRET
from tests.server.serving import ROOT, portico_serve

REDIS_URL = os.environ.get("PORTICO_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="PORTICO_TEST_REDIS_URL is not set")

CHANGES = """
subscription($after: String) {
  invoiceChanged(after: $after) { cursor kind invoice { id } }
}
"""
SIGN_IN = 'mutation { signIn(email: "owner@fanout.test", password: "%s") { token } }'
CREATE_CLIENT = 'mutation { createClient(input: {name: "Fan Out Ltd"}) { id } }'
CREATE_INVOICE = """
mutation($client: ID!) {
  createInvoice(
    input: {clientId: $client, lines: [{description: "Work", quantity: "1", unitPrice: "10"}]}
  ) { id }
}
"""
SEND = "mutation($id: ID!) { sendInvoice(id: $id) { id } }"
WAIT = 5  # well below the poll interval: only Redis can be this fast


@pytest.fixture
def served_env(tmp_path: Path, sqlite_template: Path) -> dict[str, str]:
    database = tmp_path / "portico.sqlite3"
    shutil.copy(sqlite_template, database)
    env = {
        **os.environ,
        "PORTICO_ENVIRONMENT": "test",
        "PORTICO_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "PORTICO_SECRET_KEY": SECRET,
        "PORTICO_REDIS_URL": str(REDIS_URL),
        "PORTICO_SCHEDULER_ENABLED": "false",
        "PORTICO_EVENT_POLL_SECONDS": "120",
        "PORTICO_LOG_LEVEL": "WARNING",
    }
    created = subprocess.run(  # noqa: S603
        [
            *(sys.executable, "-m", "server.cli", "create-admin", "--account-name", "Fan Out"),
            *("--slug", "fanout", "--email", "owner@fanout.test", "--name", "Owner"),
            *("--password", PASSWORD),
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    return env


def serve(stack: ExitStack, env: dict[str, str], cwd: Path) -> str:
    base, _pid = stack.enter_context(portico_serve(cwd=cwd, env=env))
    return str(base)


async def graphql(base: str, query: str, variables: dict[str, Any] | None = None, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


class Subscriber:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def next(self) -> dict[str, Any]:
        message = await asyncio.wait_for(self.ws.receive_json(), WAIT)
        assert message["type"] == "next", message
        event: dict[str, Any] = message["payload"]["data"]["invoiceChanged"]
        return event


@asynccontextmanager
async def subscription(
    base: str, token: str, after: str | None = None
) -> AsyncIterator[Subscriber]:
    url = f"{base.replace('http', 'ws')}/graphql"
    async with httpx.AsyncClient(timeout=10) as http:
        connecting: Any = aconnect_ws(url, http, subprotocols=["graphql-transport-ws"])
        async with connecting as ws:
            init = {"Authorization": f"Bearer {token}"}
            await ws.send_json({"type": "connection_init", "payload": init})
            assert (await asyncio.wait_for(ws.receive_json(), WAIT))["type"] == "connection_ack"
            payload = {"query": CHANGES, "variables": {"after": after}}
            await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            await asyncio.sleep(0.5)  # the server starts listening
            yield Subscriber(ws)


async def test_events_fan_out_across_instances_and_resume_after_restart(
    served_env: dict[str, str], tmp_path: Path
):
    with ExitStack() as a_stack, ExitStack() as b_stack:
        a = serve(a_stack, served_env, tmp_path)
        b = serve(b_stack, served_env, tmp_path)
        token = (await graphql(b, SIGN_IN % PASSWORD))["signIn"]["token"]
        client = (await graphql(b, CREATE_CLIENT, token=token))["createClient"]["id"]
        async with subscription(a, token) as on_a:
            # a change on B reaches the subscriber on A through Redis
            invoice = (await graphql(b, CREATE_INVOICE, {"client": client}, token=token))[
                "createInvoice"
            ]["id"]
            first = await on_a.next()
        assert (first["kind"], first["invoice"]["id"]) == ("CREATED", invoice)
        a_stack.close()  # A stops; changes go on on B
        missed = (await graphql(b, CREATE_INVOICE, {"client": client}, token=token))[
            "createInvoice"
        ]["id"]
        await graphql(b, SEND, {"id": invoice}, token=token)
        a = serve(a_stack, served_env, tmp_path)  # A again, a new process
        async with subscription(a, token, after=first["cursor"]) as again:
            replayed = [await again.next(), await again.next()]
            await graphql(b, SEND, {"id": missed}, token=token)
            live = await again.next()
        # and the same cursor on B gives the same events
        async with subscription(b, token, after=first["cursor"]) as on_b:
            from_b = [await on_b.next(), await on_b.next(), await on_b.next()]
    assert [(e["kind"], e["invoice"]["id"]) for e in replayed] == [
        ("CREATED", missed),
        ("SENT", invoice),
    ]
    assert (live["kind"], live["invoice"]["id"]) == ("SENT", missed)
    cursors = [int(e["cursor"]) for e in [first, *replayed, live]]
    assert cursors == list(range(cursors[0], cursors[0] + 4))
    assert from_b == [*replayed, live]
