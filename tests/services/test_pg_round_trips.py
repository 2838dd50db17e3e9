"""Round trips to PostgreSQL (issue 14): reads run in autocommit, ``BEGIN`` goes just
before the first statement that needs a transaction, a transaction never begun ends
without a word, and no ``SELECT 1`` precedes a busy connection's checkout.

What the server receives is counted on the wire (:mod:`tests.pg_wire`, a proxy in front of
PostgreSQL), so these tests fail if SQLAlchemy's asyncpg adapter stops beginning its
transactions the way :mod:`services.db` relies on."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select

import services.db
from bench.floor import DASHBOARD, INVOICES, VIEWER
from models.clients import Client
from services.config import Settings
from services.db import create_engine, reads_only
from services.runtime import Runtime
from services.unit_of_work import begin_write, unit_of_work
from tests.conftest import Backend, Tenant, _empty_postgres
from tests.pg_wire import Wire, recording_proxy
from tests.schema.test_dashboard import pay, sent_invoice
from tests.schema.viewer_helpers import new_client, sign_in_contact

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")
PINGS = (";", "SELECT 1")

CREATE_CLIENT = """
mutation($input: ClientInput!) { createClient(input: $input) { id contacts { id } } }
"""


@pytest.fixture
def backend(postgres_backend: Backend) -> Backend:
    """PostgreSQL only: what is counted is PostgreSQL's protocol."""
    return postgres_backend


@pytest.fixture
async def wire(backend: Backend) -> AsyncIterator[Wire]:
    async with recording_proxy(backend.url) as wire:
        yield wire


@pytest.fixture
def application_name() -> str:
    """Names this test's connections in ``pg_stat_activity`` (to terminate them)."""
    return f"portico-round-trips-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def runtime(
    backend: Backend, settings: Settings, wire: Wire, application_name: str
) -> AsyncIterator[Runtime]:
    """The app's runtime on an engine that talks to PostgreSQL through the proxy."""
    server_settings = {
        **backend.engine_kwargs["connect_args"]["server_settings"],
        "application_name": application_name,
    }
    engine = create_engine(wire.url, connect_args={"server_settings": server_settings})
    runtime = Runtime.build(settings, engine)
    await _empty_postgres(runtime)
    try:
        yield runtime
    finally:
        await runtime.events.stop()
        await runtime.mailer.close()
        await engine.dispose()


@pytest.fixture
async def admin(backend: Backend) -> AsyncIterator[asyncpg.Connection]:
    """A connection of its own in the test's schema, straight to the server (not through
    the proxy)."""
    url = backend.url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(url, **backend.engine_kwargs["connect_args"])
    try:
        yield connection
    finally:
        await connection.close()


def controls(wire: Wire) -> list[str]:
    """The transaction control statements and pings the server received."""
    return [
        sql
        for sql in wire.statements()
        if sql.rstrip(";").strip().upper().startswith(TRANSACTION_CONTROL)
        or sql.strip().upper() in PINGS
    ]


def first_word(sql: str) -> str:
    return sql.split(None, 1)[0].rstrip(";").upper()


async def read_twice(gql: Any, query: str, token: str) -> dict[str, Any]:
    """Send ``query`` once to warm the connection's statement cache, then record it."""
    await gql.data(query, token=token)
    return dict(await gql.data(query, token=token))


# --- the adapter behaves as services.db relies on ---------------------------------------


def test_the_adapter_keeps_its_autocommit_switch() -> None:
    # services.db sets and clears the adapter's `autocommit` for each transaction
    switch = AsyncAdapt_asyncpg_connection.__dict__["autocommit"]
    assert isinstance(switch, property)
    assert switch.fset is not None


async def test_the_adapter_begins_before_a_statement_only_outside_autocommit(
    backend: Backend, wire: Wire
) -> None:
    # given SQLAlchemy's own engine (none of our hooks) through the proxy
    engine = create_async_engine(wire.url, **backend.engine_kwargs)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            # when a statement runs with the adapter in autocommit
            raw.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            wire.clear()
            await connection.execute(text("SELECT 41"))
            # then no BEGIN went before it
            assert wire.statements() == ["SELECT 41"]
            # when autocommit is off before the next one
            raw.dbapi_connection.autocommit = False  # type: ignore[union-attr]
            await connection.execute(text("SELECT 42"))
            await connection.commit()
            # then the adapter began a transaction just before it, and committed it
            assert [first_word(sql) for sql in wire.statements()] == [
                "SELECT",
                "BEGIN",
                "SELECT",
                "COMMIT",
            ]
    finally:
        await engine.dispose()


# --- which statements need a transaction ------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT account.id FROM account WHERE account.id = $1",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "  select count(*) from invoice",
    ],
)
def test_plain_reads_need_no_transaction(statement: str) -> None:
    assert reads_only(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO account (id) VALUES ($1)",
        "UPDATE account SET name = $1",
        "DELETE FROM account",
        "MERGE INTO account USING x ON true WHEN MATCHED THEN DO NOTHING",
        "WITH gone AS (DELETE FROM invoice RETURNING id) SELECT count(*) FROM gone",
        "SELECT payment.id FROM payment WHERE payment.id = $1 FOR UPDATE",
        "SELECT id FROM payment FOR NO KEY UPDATE SKIP LOCKED",
        "SELECT id FROM payment FOR SHARE",
        "SELECT id FROM payment FOR KEY SHARE",
        "SELECT pg_advisory_xact_lock($1)",
        "SELECT pg_try_advisory_xact_lock($1)",
        "SELECT nextval('invoice_number_seq')",
        "SELECT set_config('search_path', 'x', true)",
        "SELECT * INTO copy FROM account",
        "SET LOCAL session_replication_role = replica",
        "SET search_path = x",
        "LOCK TABLE account IN EXCLUSIVE MODE",
        "SAVEPOINT sa_savepoint_1",
        "CREATE TABLE t (id int)",
        "TRUNCATE account",
        "EXPLAIN ANALYZE SELECT 1",
        "SHOW search_path",
    ],
)
def test_everything_else_begins_a_transaction(statement: str) -> None:
    assert not reads_only(statement)


# --- requests --------------------------------------------------------------------------


async def test_a_read_only_request_sends_its_statements_and_nothing_else(
    gql: Any, tenant: Tenant, wire: Wire
) -> None:
    # given a connection that has served the request once (its statements prepared)
    await gql.data(VIEWER, token=tenant.admin)
    wire.clear()
    # when the viewer is asked for again
    data = await gql.data(VIEWER, token=tenant.admin)
    # then the server received its statements alone, one round trip each
    assert data == {"viewer": {"__typename": "StaffUser"}}
    assert controls(wire) == []
    assert wire.statements(), "the request read nothing?"
    assert all(first_word(sql) == "SELECT" for sql in wire.statements())
    assert len(wire.trips) == len(wire.statements())


async def test_the_landing_and_list_reads_begin_no_transaction(
    gql: Any, tenant: Tenant, runtime: Runtime, wire: Wire
) -> None:
    # given a client with a billing contact, invoices and a payment
    client = await new_client(gql, tenant)
    invoice = await sent_invoice(gql, tenant, client["id"], "120.00")
    await sent_invoice(gql, tenant, client["id"], "80.00")
    await pay(gql, tenant, client["id"], invoice, "20.00")
    contact = await sign_in_contact(runtime, client["contacts"][0]["id"])
    for query, token in ((DASHBOARD, contact), (INVOICES, tenant.admin)):
        await gql.data(query, token=token)
        wire.clear()
        # when the landing screen or the invoice list is read
        data = await gql.data(query, token=token)
        # then only SELECTs reached the server (a connection the mailer warmed may have
        # to prepare some first: the pool hands out its connections in turn)
        assert data
        assert controls(wire) == []
        assert all(first_word(sql) == "SELECT" for sql in wire.statements())


async def test_a_mutation_writes_in_one_transaction(gql: Any, tenant: Tenant, wire: Wire) -> None:
    # given a warmed connection
    await gql.data(VIEWER, token=tenant.admin)
    wire.clear()
    # when a client is created with two contacts
    variables = {
        "input": {
            "name": "Initech",
            "contacts": [
                {"email": "a@initech.test", "role": "BILLING"},
                {"email": "b@initech.test", "role": "VIEWER"},
            ],
        }
    }
    await gql.data(CREATE_CLIENT, variables, token=tenant.admin)
    # then its writes all lie between one BEGIN and its COMMIT
    words = [first_word(sql) for sql in wire.statements()]
    writes = [i for i, word in enumerate(words) if word in ("INSERT", "UPDATE", "DELETE")]
    assert writes
    begin = max(i for i, word in enumerate(words[: writes[0]]) if word == "BEGIN")
    end = words.index("COMMIT", writes[-1])
    assert "COMMIT" not in words[begin:end]
    assert "ROLLBACK" not in words[begin:end]
    assert words.count("BEGIN") == words.count("COMMIT")


async def test_a_failing_unit_of_work_leaves_no_partial_write(
    runtime: Runtime, tenant: Tenant, wire: Wire
) -> None:
    # given a unit of work that writes, then fails
    async def half_a_change() -> None:
        async with unit_of_work(runtime) as work:
            await work.session.exec(text("UPDATE account SET name = 'Half'"))  # type: ignore[call-overload]
            raise RuntimeError("midway")

    wire.clear()
    with pytest.raises(RuntimeError, match="midway"):
        await half_a_change()
    # then it began before its write and rolled back
    assert [first_word(sql) for sql in controls(wire)] == ["BEGIN", "ROLLBACK"]
    async with runtime.sessions() as session:
        name = (await session.exec(text("SELECT name FROM account"))).scalar_one()  # type: ignore[call-overload]
    assert name == "Acme"


# --- locks and snapshots ---------------------------------------------------------------


async def test_a_locking_read_begins_a_transaction_that_holds_the_lock(
    runtime: Runtime, tenant: Tenant, wire: Wire, admin: asyncpg.Connection
) -> None:
    async with runtime.sessions() as session:
        # given a transaction (not begun as a write) that has read
        wire.clear()
        await session.exec(select(Client))
        # when it reads a row FOR UPDATE
        await session.exec(text("SELECT id FROM account FOR UPDATE"))  # type: ignore[call-overload]
        # then BEGIN went just before the locking read, not before the plain one
        assert [first_word(sql) for sql in wire.statements()] == ["SELECT", "BEGIN", "SELECT"]
        # and the row stays locked until the transaction ends
        async with admin.transaction():
            with pytest.raises(asyncpg.LockNotAvailableError):
                await admin.execute("SELECT id FROM account FOR UPDATE NOWAIT")
        await session.commit()
    async with admin.transaction():
        await admin.execute("SELECT id FROM account FOR UPDATE NOWAIT")


async def test_an_advisory_transaction_lock_is_held_to_the_commit(
    runtime: Runtime, wire: Wire, admin: asyncpg.Connection
) -> None:
    key = 4242_4242
    async with runtime.sessions() as session:
        wire.clear()
        # when a read transaction takes a transaction-level advisory lock
        await session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=key))  # type: ignore[call-overload]
        # then it began a transaction first, and the lock outlives the statement
        assert [first_word(sql) for sql in wire.statements()] == ["BEGIN", "SELECT"]
        assert await admin.fetchval("SELECT pg_try_advisory_xact_lock($1)", key) is False
        await session.commit()
    assert await admin.fetchval("SELECT pg_try_advisory_xact_lock($1)", key) is True


async def test_a_write_transaction_begins_before_its_first_read(
    runtime: Runtime, tenant: Tenant, wire: Wire
) -> None:
    async with runtime.sessions() as session:
        await begin_write(session)
        wire.clear()
        await session.exec(select(Client))
        await session.commit()
    assert [first_word(sql) for sql in wire.statements()] == ["BEGIN", "SELECT", "COMMIT"]


async def test_a_repeatable_read_transaction_reads_one_snapshot(
    runtime: Runtime, tenant: Tenant, wire: Wire, admin: asyncpg.Connection
) -> None:
    async with runtime.engine.connect() as connection:
        # given a connection asked for REPEATABLE READ
        connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        wire.clear()
        before = (await connection.execute(text("SELECT count(*) FROM account"))).scalar_one()
        # when another transaction commits a change meanwhile
        await admin.execute("UPDATE account SET name = 'Changed'")
        after = (await connection.execute(text("SELECT name FROM account"))).scalar_one()
        await connection.commit()
    # then its reads were one transaction, begun before the first, on one snapshot
    assert first_word(wire.statements()[0]) == "BEGIN"
    assert "REPEATABLE READ" in wire.statements()[0].upper()
    assert before == 1
    assert after == "Acme"


async def test_a_savepoint_in_a_read_transaction_begins_it(
    runtime: Runtime, tenant: Tenant, wire: Wire
) -> None:
    async with runtime.sessions() as session:
        wire.clear()
        await session.exec(select(Client))
        async with session.begin_nested():
            await session.exec(text("UPDATE account SET name = 'Nested'"))  # type: ignore[call-overload]
        await session.rollback()
        name = (await session.exec(text("SELECT name FROM account"))).scalar_one()  # type: ignore[call-overload]
    assert [first_word(sql) for sql in controls(wire)] == ["BEGIN", "ROLLBACK"]
    assert name == "Acme"


# --- the pool ----------------------------------------------------------------------------


async def test_a_busy_connection_is_not_pinged_and_an_idle_one_is(
    gql: Any, tenant: Tenant, wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    await gql.data(VIEWER, token=tenant.admin)
    # when requests follow each other
    wire.clear()
    await gql.data(VIEWER, token=tenant.admin)
    # then no ping precedes them
    assert controls(wire) == []
    # when the connection has idled longer than the limit (a limit of nothing)
    monkeypatch.setattr(services.db, "IDLE_PING_SECONDS", 0.0)
    await asyncio.sleep(0.01)
    wire.clear()
    await gql.data(VIEWER, token=tenant.admin)
    # then one ping, without a transaction around it
    assert controls(wire) == [";"]


async def test_a_connection_terminated_while_pooled_is_replaced(
    gql: Any,
    tenant: Tenant,
    wire: Wire,
    admin: asyncpg.Connection,
    application_name: str,
) -> None:
    # given a pooled connection that served a request
    await gql.data(VIEWER, token=tenant.admin)
    # when the server terminates it while it idles (PostgreSQL restarted, an admin)
    terminated = await admin.fetch(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        application_name,
    )
    assert terminated
    assert all(row[0] for row in terminated)
    await asyncio.sleep(0.05)
    # then the next request gets a new connection and succeeds
    data = await gql.data(VIEWER, token=tenant.admin)
    assert data == {"viewer": {"__typename": "StaffUser"}}


async def test_a_terminated_connection_past_the_idle_limit_is_replaced(
    gql: Any,
    tenant: Tenant,
    admin: asyncpg.Connection,
    application_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a pooled connection past the idle limit, terminated by the server
    await gql.data(VIEWER, token=tenant.admin)
    monkeypatch.setattr(services.db, "IDLE_PING_SECONDS", 0.0)
    await admin.fetch(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        application_name,
    )
    # when a request comes at once (the ping, or asyncpg's seeing the close, finds it)
    data = await gql.data(VIEWER, token=tenant.admin)
    # then it succeeds on a new connection
    assert data == {"viewer": {"__typename": "StaffUser"}}


async def test_a_connection_lost_unheard_while_idle_is_pinged_and_replaced(
    gql: Any, tenant: Tenant, wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a pooled connection past the idle limit, lost without the client knowing
    await gql.data(VIEWER, token=tenant.admin)
    monkeypatch.setattr(services.db, "IDLE_PING_SECONDS", 0.0)
    wire.sever()
    wire.clear()
    # when the next request comes
    data = await gql.data(VIEWER, token=tenant.admin)
    # then the ping found the connection dead, and a new one served the request
    assert data == {"viewer": {"__typename": "StaffUser"}}
    assert [trip.sql for trip in wire.trips][:1] == [[";"]]
