"""The compiled execution path against graphql-core's own, through the whole app: the
same JSON answer and the same SQL statements.

- Generated queries (hypothesis-graphql, from each standard profile's committed SDL, over
  the fuzz test's world: the demo account seeded twice, every profile's caller) are sent
  to two apps on the same database, one with ``compiled_execution`` and one without.
  Each document goes to graphql-core's app once first (what a read may record, such as
  a document marked viewed, is recorded before the answers compared), then to the
  compiled app twice (its first run executes through graphql-core, the second from the
  plan) and to graphql-core's again: the compiled app's answers must equal the one sent
  right after them.
- The bench's three hot_path documents on its bulk-seeded account (a small one): the
  same answer and the very same statements, in the same order.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import graphql
import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries

from auth.profiles import STANDARD_PROFILES
from bench.floor import DASHBOARD, INVOICES, VIEWER
from bench.hot_path import portico_in_process, tokens
from bench.hot_path_seed import SeedSize, seed_account
from models.clients import Client
from models.enums import Module
from schema import compiled_execution
from server.app import create_app
from services.db import create_engine
from services.runtime import Runtime
from services.unit_of_work import begin_write
from tests.schema.test_fuzz_profiles import (
    SDL,
    World,
    _build_world,
    _on,
    _running_loop,
    _scalars,
    _settings,
)

EXAMPLES_PER_PROFILE = 25


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> World:
    import asyncio

    return asyncio.run(_build_world(tmp_path_factory.mktemp("compiled"), sqlite_template))


def _queries(world: World, sdl: str) -> st.SearchStrategy[str]:
    schema = graphql.build_schema(sdl, assume_valid_sdl=True)
    assert schema.query_type is not None
    scalars = _scalars(world)
    return st.sampled_from(sorted(schema.query_type.fields)).flatmap(
        lambda name: queries(schema, fields=[name], custom_scalars=scalars)
    )


@asynccontextmanager
async def _app(world: World, database: Path, *, compiled: bool) -> AsyncIterator[httpx.AsyncClient]:
    settings_ = _settings(database, world.uploads).model_copy(
        update={"compiled_execution": compiled}
    )
    runtime = Runtime.build(settings_, create_engine(settings_.database_url))
    transport = httpx.ASGITransport(app=create_app(runtime=runtime), client=("203.0.113.7", 5))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            yield client
    finally:
        await runtime.events.stop()
        await runtime.mailer.close()
        await runtime.engine.dispose()


async def _narrow(world: World, database: Path) -> None:
    """The recurring-only profile's client sees recurring invoices only (as in the fuzz
    test's copy for that profile)."""
    settings_ = _settings(database, world.uploads)
    runtime = Runtime.build(settings_, create_engine(settings_.database_url))
    try:
        async with runtime.sessions() as session:
            await begin_write(session)
            narrowed = await session.get(Client, world.recurring_client_id)
            assert narrowed is not None
            narrowed.modules = [Module.RECURRING_INVOICES.value]
            await session.commit()
    finally:
        await runtime.engine.dispose()


def _answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, orjson.loads(response.content)


@pytest.mark.parametrize("profile_name", sorted(STANDARD_PROFILES))
def test_generated_queries_answer_alike(profile_name: str, world: World, tmp_path: Path) -> None:
    database = tmp_path / "compiled.sqlite3"
    shutil.copy(world.database, database)
    documents = _queries(world, (SDL / f"{profile_name}.graphql").read_text())
    token = world.tokens[profile_name]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    runs_before = compiled_execution.runs

    with _running_loop() as loop:
        if profile_name == "contact-billing-recurring-only":
            _on(loop, _narrow(world, database))
        reference_app = _app(world, database, compiled=False)
        compiled_app = _app(world, database, compiled=True)
        reference = _on(loop, reference_app.__aenter__())
        compiled = _on(loop, compiled_app.__aenter__())
        try:

            def ask(client: httpx.AsyncClient, document: str) -> tuple[int, Any]:
                return _answer(
                    _on(loop, client.post("/graphql", json={"query": document}, headers=headers))
                )

            @settings(
                max_examples=EXAMPLES_PER_PROFILE,
                deadline=None,
                database=None,
                suppress_health_check=[
                    HealthCheck.too_slow,
                    HealthCheck.data_too_large,
                    HealthCheck.function_scoped_fixture,
                ],
            )
            @given(document=documents)
            def run(document: str) -> None:
                note(f"{profile_name}:\n{document}")
                ask(reference, document)  # whatever a read records, before the comparison
                first = ask(compiled, document)
                planned = ask(compiled, document)
                expected = ask(reference, document)
                assert planned == expected
                assert first == expected

            run()
        finally:
            _on(loop, compiled_app.__aexit__(None, None, None))
            _on(loop, reference_app.__aexit__(None, None, None))
    assert compiled_execution.runs > runs_before, "no document ran from a plan"


HOT_PATH = {
    "invoices": (INVOICES, "staff"),
    "dashboard": (DASHBOARD, "contact"),
    "viewer": (VIEWER, "staff"),
}
SIZE = SeedSize(clients=6, invoices_per_client=12, lines=4, quotes_per_client=4)


async def test_hot_path_documents_answer_alike_with_the_same_statements(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bench.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    try:
        seeded = await seed_account(engine, SIZE)
    finally:
        await engine.dispose()
    keys = tokens(seeded)
    monkeypatch.setenv("PORTICO_COMPILED_EXECUTION", "false")
    async with portico_in_process(url) as (reference, reference_sql):
        monkeypatch.setenv("PORTICO_COMPILED_EXECUTION", "true")
        async with portico_in_process(url) as (compiled, compiled_sql):
            for client in (reference, compiled):  # a session's first request records its use
                for key in keys.values():
                    warm = await client.post(
                        "/graphql",
                        json={"query": "{ __typename }"},
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    assert warm.status_code == 200
            for name, (query, who) in HOT_PATH.items():
                headers = {"Authorization": f"Bearer {keys[who]}"}
                answers = []
                statements = []
                planned = []
                for client, recorded in (
                    (reference, reference_sql),
                    (compiled, compiled_sql),
                    (compiled, compiled_sql),
                ):
                    before = len(recorded.statements)
                    runs = compiled_execution.runs
                    response = await client.post("/graphql", json={"query": query}, headers=headers)
                    answers.append(_answer(response))
                    statements.append(recorded.statements[before:])
                    planned.append(compiled_execution.runs - runs)
                # PORTICO_COMPILED_EXECUTION=false: never from a plan; on (the default): from
                # the document's second execution in this process at the latest (the
                # process's schemas are shared: tests/bench may have run it already)
                assert planned[0] == 0, name
                assert planned[2] == 1, name
                status, body = answers[0]
                assert status == 200, body
                assert "errors" not in body, body
                assert answers[1] == answers[0] == answers[2], name
                assert statements[1] == statements[0] == statements[2], name
