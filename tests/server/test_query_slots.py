"""A worker executes at most ``query_concurrency`` repeated queries at once
(server/query_slots.py); the others wait their turn and are answered all the same, and
what is not a repeated query (a first run, a mutation) never waits for a slot."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from schema.prepared_operations import PreparedOperations
from server.query_slots import POSTGRES_DEFAULT, SQLITE_DEFAULT, slots_for
from services.runtime import Runtime
from tests.server.limit_helpers import http_client, with_settings

PAGE = "{ invoices(first: 5) { totalCount } }"
REQUESTS = 6


def test_the_default_depends_on_the_database() -> None:
    assert slots_for("sqlite+aiosqlite:///portico.sqlite3", None) == SQLITE_DEFAULT
    assert slots_for("postgresql+asyncpg://db/portico", None) == POSTGRES_DEFAULT
    assert slots_for("sqlite+aiosqlite:///portico.sqlite3", 7) == 7
    assert slots_for("postgresql+asyncpg://db/portico", 0) == 0


class Executions:
    """How many kept queries execute at once. Each execution waits, before it runs,
    until ``target`` of them are executing (or :meth:`release` is called): so they
    overlap as far as the slots let them, however slowly the requests arrive."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, target: int | None = None) -> None:
        self.running = 0
        self.most = 0
        self.target = target
        self.started = asyncio.Event()
        self._released = asyncio.Event()
        run: Callable[..., Awaitable[Any]] = PreparedOperations._run

        async def held(operations: PreparedOperations, *args: Any) -> Any:
            self.running += 1
            self.most = max(self.most, self.running)
            self.started.set()
            if self.target is not None and self.running >= self.target:
                self._released.set()
            try:
                await asyncio.wait_for(self._released.wait(), timeout=10)
                await asyncio.sleep(0.01)  # room for more to start, were there no limit
                return await run(operations, *args)
            finally:
                self.running -= 1

        monkeypatch.setattr(PreparedOperations, "_run", held)

    def release(self) -> None:
        self._released.set()


async def _page(http: Any, token: str) -> dict[str, Any]:
    response = await http.post(
        "/graphql", json={"query": PAGE}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


@pytest.mark.parametrize(("slots", "most"), [(1, 1), (2, 2), (0, REQUESTS)])
async def test_repeated_queries_execute_at_most_as_many_at_once_as_there_are_slots(
    runtime: Runtime, tenant: Any, monkeypatch: pytest.MonkeyPatch, slots: int, most: int
) -> None:
    async with http_client(with_settings(runtime, query_concurrency=slots)) as http:
        first = await _page(http, tenant.admin)  # run once: kept from now on
        executions = Executions(monkeypatch, target=most)
        answers = await asyncio.gather(*(_page(http, tenant.admin) for _ in range(REQUESTS)))
    assert answers == [first] * REQUESTS
    assert executions.most == most


async def test_a_mutation_does_not_wait_for_a_slot(
    runtime: Runtime, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with http_client(with_settings(runtime, query_concurrency=1)) as http:
        await _page(http, tenant.admin)
        executions = Executions(monkeypatch)  # the next kept query holds the only slot
        held = asyncio.ensure_future(_page(http, tenant.admin))
        await asyncio.wait_for(executions.started.wait(), timeout=10)
        created = await asyncio.wait_for(
            http.post(
                "/graphql",
                json={
                    "query": "mutation($i: ClientInput!) { createClient(input: $i) { name } }",
                    "variables": {"i": {"name": "Not Waiting Ltd"}},
                },
                headers={"Authorization": f"Bearer {tenant.admin}"},
            ),
            timeout=10,
        )
        assert created.json()["data"]["createClient"]["name"] == "Not Waiting Ltd"
        first_run = await asyncio.wait_for(  # a query not run before: no slot either
            http.post(
                "/graphql",
                # a text of its own: the process's schemas keep what other tests ran
                json={"query": f"query Q{uuid.uuid4().hex} {{ clients {{ totalCount }} }}"},
                headers={"Authorization": f"Bearer {tenant.admin}"},
            ),
            timeout=10,
        )
        assert first_run.json()["data"]["clients"]["totalCount"] >= 1
        assert not held.done()
        executions.release()
        assert "errors" not in await held
