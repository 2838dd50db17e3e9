"""Shared fixtures: a real database (SQLite and PostgreSQL), the ASGI app over httpx,
and helpers to make accounts and sign in.

Database tests take the ``db_url`` fixture, which runs each test once per backend.
PostgreSQL comes from ``PORTICO_TEST_POSTGRES_URL``; without it those runs are skipped
with a visible reason. Each backend is migrated once per session (with the real
Alembic migrations); each test starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hypothesis.internal.conjecture.optimiser  # noqa: F401  (see below)
import pytest
from sqlalchemy import exists, literal, select, text, union_all
from sqlmodel.ext.asyncio.session import AsyncSession

import models
from auth.passwords import use_cheapest_parameters
from auth.principals import StaffPrincipal
from models.enums import StaffRole
from server.app import create_app
from server.migrate import upgrade_engine
from services.accounts import create_account, create_staff_user
from services.config import Settings
from services.db import create_engine
from services.runtime import Runtime
from services.sessions import open_staff_session
from services.unit_of_work import UnitOfWork, begin_write

# Hypothesis imports its optimiser lazily, mid-test, and pytest's assertion rewriting then
# parses it; on CPython 3.11.7 an ast.parse racing another thread's can fail with
# "AST constructor recursion depth mismatch" (CPython gh-106905). Imported up front, it is
# parsed once at collection, before any test starts a thread.

pytest_plugins = [
    "tests.smtp_server",  # fixtures smtp_server, smtp_runtime
    "tests.stripe.server",  # fixture localstripe
    "tests.s3_server",  # fixtures s3_server, s3_bucket, s3_storage
]

use_cheapest_parameters()  # real argon2, cheap parameters: hashing would dominate the run

POSTGRES_URL = os.environ.get("PORTICO_TEST_POSTGRES_URL")
PASSWORD = "correct-Horse-9"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def _migrate(url: str, **engine_kwargs: Any) -> None:
    async def run() -> None:
        engine = create_engine(url, **engine_kwargs)
        try:
            await upgrade_engine(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


@dataclass(frozen=True)
class Backend:
    url: str
    engine_kwargs: dict[str, Any]
    name: str


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    _migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_backend() -> Iterator[Backend]:
    if not POSTGRES_URL:
        pytest.skip("PORTICO_TEST_POSTGRES_URL is not set: PostgreSQL runs are skipped")
    schema = f"portico_test_{uuid.uuid4().hex[:12]}"
    kwargs = {"connect_args": {"server_settings": {"search_path": schema}}}

    async def create_schema() -> None:
        engine = create_engine(POSTGRES_URL)
        async with engine.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await engine.dispose()

    async def drop_schema() -> None:
        engine = create_engine(POSTGRES_URL)
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()

    asyncio.run(create_schema())
    try:
        _migrate(POSTGRES_URL, **kwargs)
        yield Backend(POSTGRES_URL, kwargs, "postgres")
    finally:
        asyncio.run(drop_schema())


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Backend:
    if request.param == "sqlite":
        path = tmp_path / "portico.sqlite3"
        shutil.copy(sqlite_template, path)
        return Backend(f"sqlite+aiosqlite:///{path}", {}, "sqlite")
    backend: Backend = request.getfixturevalue("postgres_backend")
    return backend


async def _empty_postgres(runtime: Runtime) -> None:
    """Empty the tables the last test filled, and restart the schema's sequences.

    TRUNCATE cost more than most tests: it swaps the files of each table and index, and
    takes every table that references one along. A probe finds the few tables with rows,
    and DELETE empties them with the foreign-key triggers off for this transaction
    (``session_replication_role``: the test database's user is a superuser)."""
    tables = models.metadata().sorted_tables
    probe = union_all(
        *(select(literal(table.name)).where(exists().select_from(table)) for table in tables)
    )
    by_name = {table.name: table for table in tables}
    async with runtime.engine.begin() as connection:
        filled = [by_name[row[0]] for row in await connection.execute(probe)]
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in filled:
            await connection.execute(table.delete())
        sequences = await connection.execute(
            text(
                "SELECT sequence_name FROM information_schema.sequences"
                " WHERE sequence_schema = current_schema()"
            )
        )
        for (sequence,) in sequences.all():
            await connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))


@pytest.fixture
def settings(backend: Backend, request: pytest.FixtureRequest) -> Settings:
    """A test that asks for ``localstripe`` talks to it (``stripe_api_base``)."""
    stripe = (
        {"stripe_api_base": request.getfixturevalue("localstripe").url}
        if "localstripe" in request.fixturenames
        else {}
    )
    return Settings(
        environment="test",
        database_url=backend.url,
        secret_key=SECRET,
        public_base_url="http://portal.test",
        scheduler_enabled=False,  # tests run the scheduler themselves
        upload_dir=request.getfixturevalue("tmp_path") / "uploads",
        **stripe,
    )


@pytest.fixture
async def runtime(backend: Backend, settings: Settings) -> AsyncIterator[Runtime]:
    engine = create_engine(backend.url, **backend.engine_kwargs)
    runtime = Runtime.build(settings, engine)
    if backend.name == "postgres":
        await _empty_postgres(runtime)
    try:
        yield runtime
    finally:
        await runtime.events.stop()
        await runtime.mailer.close()  # background delivery ends before the database goes
        await engine.dispose()


@pytest.fixture
async def session(runtime: Runtime) -> AsyncIterator[AsyncSession]:
    async with runtime.sessions() as session:
        session.info[_TEST_RUNTIME] = runtime
        yield session


_TEST_RUNTIME = "test.runtime"


def as_work(session: AsyncSession, runtime: Runtime | None = None) -> UnitOfWork:
    """A service test's session as the unit of work an action takes (the test commits
    or reads on itself); the runtime is the ``session`` fixture's unless given."""
    return UnitOfWork(session=session, runtime=runtime or session.info[_TEST_RUNTIME])


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


class GraphQLClient:
    """Posts GraphQL documents like a frontend does."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The JSON body of a 200 answer (errors included)."""
        response = await self.post(query, variables, token=token)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """The ``data`` of an answer that must have no errors."""
        body = await self(query, variables, token=token)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


SIGN_IN = """
mutation($email: String!, $password: String!) {
  signIn(email: $email, password: $password) { token }
}
"""


@dataclass
class Tenant:
    """An account with one staff user per role, each signed in."""

    account_id: uuid.UUID
    slug: str
    tokens: dict[StaffRole, str]
    principals: dict[StaffRole, StaffPrincipal]

    @property
    def admin(self) -> str:
        return self.tokens[StaffRole.ADMIN]


@pytest.fixture
def make_tenant(runtime: Runtime) -> Any:
    """An account with a signed-in staff user per role. The sessions are opened with the
    write half of ``signIn`` (:func:`open_staff_session`) in the account's transaction:
    the mutation itself, its argon2 check and its rate limits have their own tests, and
    five sign-ins per test were a tenth of the suite's time."""

    async def make(slug: str = "acme") -> Tenant:
        tokens: dict[StaffRole, str] = {}
        principals: dict[StaffRole, StaffPrincipal] = {}
        async with runtime.sessions() as session:
            await begin_write(session)  # like every writer: mail may be delivered meanwhile
            account = await create_account(session, name=slug.title(), slug=slug)
            for role in StaffRole:
                user = await create_staff_user(
                    session,
                    account=account,
                    email=f"{role.value.lower()}@{slug}.test",
                    name=f"{role.value.title()} User",
                    role=role,
                    password=PASSWORD,
                )
                tokens[role] = await open_staff_session(
                    session=session, signer=runtime.signer, user_id=user.id, ttl=runtime.session_ttl
                )
                principals[role] = StaffPrincipal(
                    account_id=account.id, user_id=user.id, role=role, session_id=uuid.uuid4()
                )
            await session.commit()
        return Tenant(account.id, slug, tokens, principals)

    return make


@pytest.fixture
async def tenant(make_tenant: Any) -> Tenant:
    result: Tenant = await make_tenant("acme")
    return result
