"""SQLite statements take one trip each to aiosqlite's worker thread
(:mod:`services.sqlite_driver`), and otherwise behave as with SQLAlchemy's stock cursor:
the same rows, rowcounts and row ids, the same exceptions, the same lazy ``BEGIN``.

A trip is a put on the queue aiosqlite's thread reads (counted by a queue subclass
installed for the test's connections). Tests that compare with the stock cursor run
once per driver, each on its own copy of the migrated database."""

from __future__ import annotations

import asyncio
import inspect
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import aiosqlite
import aiosqlite.core
import pytest
from sqlalchemy import event, exc, text
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_cursor
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services import sqlite_driver
from services.db import WRITE_OPTIONS, create_engine
from tests.schema.viewer_helpers import new_client, sign_in_contact

DRIVERS: dict[str, Callable[[], Any]] = {
    "stock": lambda: AsyncAdapt_aiosqlite_dbapi(aiosqlite, sqlite3),
    "one_trip": sqlite_driver.dbapi,
}

SCRATCH = "CREATE TEMP TABLE scratch (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"


class Trips:
    """Puts on aiosqlite's queues (one per connection) since the last :meth:`reset`."""

    count = 0

    @classmethod
    def reset(cls) -> None:
        cls.count = 0


class CountingQueue(SimpleQueue):  # type: ignore[type-arg]
    def put_nowait(self, item: Any) -> None:
        Trips.count += 1
        super().put_nowait(item)


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> type[Trips]:
    """Counts the trips of every aiosqlite connection opened from now on."""
    monkeypatch.setattr(aiosqlite.core, "SimpleQueue", CountingQueue)
    Trips.reset()
    return Trips


def _database(sqlite_template: Path, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(params=list(DRIVERS))
async def engine(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """Portico's SQLite engine, on the stock cursor or on the one-trip cursor."""
    url = _database(sqlite_template, tmp_path, request.param)
    engine = create_engine(url, module=DRIVERS[request.param]())
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def one_trip(
    sqlite_template: Path, tmp_path: Path, trips: type[Trips]
) -> AsyncIterator[AsyncEngine]:
    """Portico's SQLite engine, as ``create_engine`` makes it, its trips counted."""
    engine = create_engine(_database(sqlite_template, tmp_path, "portico"))
    try:
        yield engine
    finally:
        await engine.dispose()


async def _writer(engine: AsyncEngine) -> AsyncConnection:
    """A connection with the scratch table, in a ``BEGIN IMMEDIATE`` transaction."""
    connection = await engine.connect()
    await connection.exec_driver_sql(SCRATCH)
    await connection.commit()
    connection = await connection.execution_options(**WRITE_OPTIONS)
    await connection.begin()
    return connection


def _driver(connection: Any) -> aiosqlite.Connection:
    driver: aiosqlite.Connection = connection.sync_connection.connection.driver_connection
    return driver


# --- the internals the driver relies on ---------------------------------------------


async def test_the_private_parts_the_one_trip_cursor_relies_on_are_still_there(tmp_path):
    """If this fails, aiosqlite or SQLAlchemy changed what services/sqlite_driver.py
    uses (see its docstring): adapt it, or drop it (``create_engine`` then uses the
    stock cursor) before upgrading."""
    why = "aiosqlite/SQLAlchemy internals changed under services/sqlite_driver.py: "
    execute = getattr(aiosqlite.Connection, "_execute", None)
    assert inspect.iscoroutinefunction(execute), why + "aiosqlite Connection._execute is gone"
    assert list(inspect.signature(execute).parameters) == ["self", "fn", "args", "kwargs"], (
        why + "aiosqlite Connection._execute(fn, *args, **kwargs) has a new signature"
    )
    assert isinstance(inspect.getattr_static(aiosqlite.Connection, "_conn"), property), (
        why + "aiosqlite Connection._conn (the sqlite3 connection) is gone"
    )
    async with aiosqlite.connect(tmp_path / "probe.sqlite3") as connection:
        ran_on = await connection._execute(threading.get_ident)
        worker: Any = getattr(connection, "_thread", connection)  # before 0.22: itself a thread
        assert ran_on == worker.ident != threading.get_ident(), (
            why + "aiosqlite Connection._execute no longer runs on the connection's thread"
        )
        assert isinstance(connection._conn, sqlite3.Connection), why + "_conn is not sqlite3's"

        def fails() -> None:
            raise sqlite3.IntegrityError("probe")

        with pytest.raises(sqlite3.IntegrityError, match="probe"):
            await connection._execute(fails)
    assert AsyncAdapt_aiosqlite_connection._cursor_cls is AsyncAdapt_aiosqlite_cursor, (
        why + "SQLAlchemy's aiosqlite connection no longer names its cursor in _cursor_cls"
    )
    assert callable(getattr(AsyncAdapt_aiosqlite_connection, "_handle_exception", None)), (
        why + "SQLAlchemy's AsyncAdapt_dbapi_connection._handle_exception is gone"
    )
    assert issubclass(AsyncAdapt_aiosqlite_cursor, AsyncAdapt_dbapi_cursor), (
        why + "SQLAlchemy's aiosqlite cursor is no longer its generic buffered async cursor"
    )
    assert "_rows" in AsyncAdapt_dbapi_cursor.__slots__, (
        why + "SQLAlchemy's buffered async cursor no longer keeps its rows in _rows"
    )


async def test_portico_engines_use_the_one_trip_cursor(one_trip):
    async with one_trip.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, sqlite_driver.OneTripConnection)
        assert isinstance(raw.dbapi_connection.cursor(), sqlite_driver.OneTripCursor)
        assert isinstance(_driver(connection), aiosqlite.Connection)


# --- one trip per statement ----------------------------------------------------------


async def test_a_select_an_insert_and_an_update_take_one_trip_each(one_trip, trips):
    connection = await _writer(one_trip)
    try:
        trips.reset()
        inserted = await connection.execute(
            text("INSERT INTO scratch (name) VALUES (:name)"), {"name": "first"}
        )
        assert trips.count == 1
        assert inserted.lastrowid == 1
        assert inserted.rowcount == 1

        trips.reset()
        rows = (await connection.execute(text("SELECT id, name FROM scratch"))).all()
        assert trips.count == 1
        assert [tuple(row) for row in rows] == [(1, "first")]

        trips.reset()
        updated = await connection.execute(
            text("UPDATE scratch SET name = :name WHERE id = :id"), {"name": "renamed", "id": 1}
        )
        assert trips.count == 1
        assert updated.rowcount == 1

        trips.reset()
        missed = await connection.execute(text("UPDATE scratch SET name = 'x' WHERE id = 99"))
        assert trips.count == 1
        assert missed.rowcount == 0  # what an optimistic check reads
    finally:
        await connection.close()


async def test_executemany_takes_one_trip(one_trip, trips):
    connection = await _writer(one_trip)
    try:
        trips.reset()
        many = await connection.execute(
            text("INSERT INTO scratch (name) VALUES (:name)"),
            [{"name": "a"}, {"name": "b"}, {"name": "c"}],
        )
        assert trips.count == 1
        assert many.rowcount == 3
        names = (await connection.execute(text("SELECT name FROM scratch ORDER BY id"))).all()
        assert [row.name for row in names] == ["a", "b", "c"]
    finally:
        await connection.close()


async def test_a_transaction_not_begun_as_a_write_still_begins_at_its_first_write(one_trip, trips):
    # given a transaction begun without begin_write (it reads in autocommit)
    async with one_trip.connect() as connection:
        await connection.exec_driver_sql(SCRATCH)
        await connection.commit()
        await connection.begin()
        trips.reset()
        await connection.execute(text("SELECT count(*) FROM scratch"))
        assert trips.count == 1
        assert _driver(connection).in_transaction is False
        # when it writes: BEGIN IMMEDIATE, then the write (a trip each)
        trips.reset()
        await connection.execute(text("INSERT INTO scratch (name) VALUES ('lazy')"))
        assert trips.count == 2
        assert _driver(connection).in_transaction is True
        # then it is one transaction: its rollback leaves nothing
        await connection.rollback()
        assert (await connection.execute(text("SELECT count(*) FROM scratch"))).scalar() == 0


async def test_a_read_only_request_takes_one_trip_per_statement(
    backend, gql, tenant, runtime, trips
):
    if backend.name != "sqlite":
        pytest.skip("aiosqlite's worker thread: SQLite only")
    # given a contact's dashboard, asked once (its session's lastSeenAt is fresh now)
    client = await new_client(gql, tenant, "Initech", company="Initech LLC")
    token = await sign_in_contact(runtime, client["contacts"][0]["id"])
    query = (
        "{ dashboard { client { name } outstanding { currency amount count } "
        "openInvoices(first: 20) { totalCount nodes { id number } } "
        "recentPayments(first: 10) { totalCount } openQuotes(first: 5) { totalCount } } }"
    )
    await runtime.engine.dispose()  # the next connections count their trips
    await gql.data(query, token=token)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        # when it is asked again
        trips.reset()
        data = await gql.data(query, token=token)
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
    # then each statement took one trip, and nothing else did
    assert data["dashboard"]["client"] == {"name": "Initech"}
    assert len(statements) > 1
    assert trips.count == len(statements), statements


# --- the same behaviour as the stock cursor -----------------------------------------


async def test_results_read_as_with_the_stock_cursor(engine):
    connection = await _writer(engine)
    try:
        inserted = await connection.execute(
            text("INSERT INTO scratch (name) VALUES ('a'), ('b'), ('c') RETURNING id, name")
        )
        assert list(inserted.keys()) == ["id", "name"]
        assert [tuple(row) for row in inserted.all()] == [(1, "a"), (2, "b"), (3, "c")]
        assert inserted.rowcount == 3
        single = await connection.execute(text("INSERT INTO scratch (name) VALUES ('d')"))
        assert (single.lastrowid, single.rowcount) == (4, 1)
        assert single.returns_rows is False
        partial = await connection.execute(text("SELECT id FROM scratch ORDER BY id"))
        assert partial.fetchone() == (1,)
        assert partial.fetchmany(2) == [(2,), (3,)]
        assert partial.fetchall() == [(4,)]
        deleted = await connection.execute(text("DELETE FROM scratch WHERE id > 2"))
        assert deleted.rowcount == 2
        empty = await connection.execute(text("SELECT id FROM scratch WHERE id > 99"))
        assert list(empty.keys()) == ["id"]
        assert empty.all() == []
        await connection.commit()
    finally:
        await connection.close()


async def test_an_integrity_error_is_sqlalchemys_and_the_connection_goes_on(engine):
    connection = await _writer(engine)
    try:
        await connection.execute(text("INSERT INTO scratch (name) VALUES ('twice')"))
        with pytest.raises(exc.IntegrityError) as raised:
            await connection.execute(text("INSERT INTO scratch (name) VALUES ('twice')"))
        assert isinstance(raised.value.orig, sqlite3.IntegrityError)
        assert "UNIQUE constraint failed: scratch.name" in str(raised.value.orig)
        assert raised.value.connection_invalidated is False
        await connection.rollback()
        assert (await connection.execute(text("SELECT count(*) FROM scratch"))).scalar() == 0
    finally:
        await connection.close()


async def test_a_locked_database_is_an_operational_error(engine):
    # given a writer holding the write lock
    impatient = create_engine(
        engine.url.render_as_string(), connect_args={"timeout": 0.05}, module=engine.dialect.dbapi
    )
    async with engine.connect() as holder:
        holder = await holder.execution_options(**WRITE_OPTIONS)
        await holder.begin()
        await holder.execute(text("UPDATE account SET name = name"))
        try:
            # when another one wants it, and will not wait
            async with impatient.connect() as other:
                other = await other.execution_options(**WRITE_OPTIONS)
                with pytest.raises(exc.OperationalError) as raised:
                    await other.begin()
                # then it is told, as SQLAlchemy tells it, and may go on
                assert isinstance(raised.value.orig, sqlite3.OperationalError)
                assert "database is locked" in str(raised.value.orig)
                await other.rollback()
                assert (await other.execute(text("SELECT 1"))).scalar() == 1
        finally:
            await impatient.dispose()
            await holder.rollback()


async def test_a_closed_driver_connection_is_a_disconnect(engine):
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        await _driver(connection).close()
        with pytest.raises(exc.OperationalError) as raised:
            await connection.execute(text("SELECT 1"))
        assert raised.value.connection_invalidated is True
    async with engine.connect() as connection:  # the pool opened another
        assert (await connection.execute(text("SELECT 1"))).scalar() == 1


async def test_a_cancelled_statement_leaves_the_engine_usable(engine):
    slow = text(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000)"
        " SELECT count(*) FROM c"
    )

    async def read() -> Any:
        async with engine.connect() as connection:
            return (await connection.execute(slow)).scalar()

    task = asyncio.create_task(read())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    assert engine.pool.checkedout() == 0
