"""Database engines and sessions (SQLAlchemy async: aiosqlite or asyncpg).

Writes on SQLite take the write lock when their transaction begins.

PostgreSQL serialises read-check-write with row locks (``SELECT ... FOR UPDATE``).
SQLite has no row locks: it has one database-wide write lock, and a transaction begun
with a plain (deferred) ``BEGIN`` takes it only at its first write, after its checks
have already read. Two transactions may then both see "50.00 left on the credit", and
both spend it. (The driver's own transaction handling is worse still: it begins a
transaction only before the first ``INSERT``/``UPDATE``, so each ``SELECT`` before it
runs on its own.) In WAL mode, a deferred transaction that has read cannot even take
the lock once another writer has committed since: it fails at once with
``SQLITE_BUSY`` (its snapshot is stale), whatever the busy timeout.

So this module takes over ``BEGIN`` on SQLite (SQLAlchemy's recipe: the driver's
``isolation_level = None``, and ``BEGIN`` emitted in the engine's ``begin`` event):

- a transaction that will write is begun by the unit of work
  (:mod:`services.unit_of_work`, its ``begin_write``) and emits ``BEGIN IMMEDIATE``: it
  waits, up to the busy timeout, for the write lock before it reads anything, so writers
  run one after the other and each one's checks see every earlier commit, as under
  PostgreSQL's row locks;
- every other transaction reads in autocommit (each statement sees the latest commit;
  with WAL, reads never wait for a writer nor block one) and, should it write after
  all, is begun with ``BEGIN IMMEDIATE`` at that first write — the driver's old habit,
  with the lock taken at once. A deferred ``BEGIN`` would give reads one snapshot, but a
  transaction that read under it and then writes fails at once ("database is locked")
  whenever another writer committed in between: that broke every writer not marked
  with :func:`begin_write` as soon as mail delivery ran beside it.

On PostgreSQL nothing changes: there the option is ignored and row locks do the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Executable, Row, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.util import greenlet_spawn
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from services import sqlite_driver

T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


BUSY_TIMEOUT_SECONDS = 30
"""How long a SQLite connection waits for a lock (the write lock, mostly) before it
gives up with "database is locked"."""

IMMEDIATE = "portico_sqlite_immediate"
"""Execution option of a connection whose transactions take SQLite's write lock at
``BEGIN`` (see the module docstring); set by :func:`begin_write`, ignored elsewhere."""

WRITE_OPTIONS: dict[str, Any] = {IMMEDIATE: True}


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    # The driver no longer begins transactions on its own: _sqlite_begin does.
    dbapi_connection.isolation_level = None


_LAZY_BEGIN = "portico_sqlite_lazy_begin"
"""``Connection.info`` key: the transaction is open for SQLAlchemy but not yet on SQLite
(``True`` until its first write begins it)."""

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _sqlite_begin(connection: Connection) -> None:
    if writes(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.info[_LAZY_BEGIN] = False
    else:
        connection.info[_LAZY_BEGIN] = True


def _sqlite_before_cursor_execute(
    connection: Connection,
    cursor: Any,
    statement: str,
    _parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    """A transaction not begun as a write reads in autocommit until it first writes;
    that write begins it with ``BEGIN IMMEDIATE`` (waiting for the lock), then it goes on
    as one transaction to its commit or rollback. So a writer that forgot
    :func:`begin_write` never fails at once with a stale snapshot, as a deferred
    ``BEGIN`` that read first would (it still reads its checks unlocked: use
    :func:`begin_write`)."""
    if connection.info.get(_LAZY_BEGIN) and statement.lstrip()[:7].upper().startswith(_WRITES):
        connection.info[_LAZY_BEGIN] = False
        cursor.execute("BEGIN IMMEDIATE")


def _sqlite_rollback(dialect_rollback: Any) -> Any:
    """The dialect's ``do_rollback``, skipped when SQLite has no transaction open.

    Reads run in autocommit (see the module docstring), so at the end of a read-only
    request SQLite is in no transaction, yet SQLAlchemy rolls back twice (the session's
    transaction, then the pool's reset): two round trips to aiosqlite's thread that do
    nothing. ``in_transaction`` is SQLite's own flag (``sqlite3_get_autocommit``), read
    without a round trip; a transaction begun (``BEGIN IMMEDIATE``) is rolled back."""

    def do_rollback(dbapi_connection: Any) -> None:
        driver = getattr(dbapi_connection, "_connection", dbapi_connection)
        if getattr(driver, "in_transaction", True) is False:
            return
        dialect_rollback(dbapi_connection)

    return do_rollback


def set_sqlite_foreign_keys(connection: Connection, enabled: bool) -> None:
    """Turn SQLite's foreign key enforcement on or off for ``connection`` (which must
    not be in a transaction: the pragma is a no-op inside one); other databases: nothing.

    Migrations run with it off: Alembic's batch mode rebuilds a SQLite table by copying
    it and dropping the original, and with enforcement on that ``DROP TABLE`` deletes
    every row referencing it through ``ON DELETE CASCADE`` (rebuilding ``account``
    emptied the clients and everything below them). Nothing else turns it off."""
    if connection.dialect.name != "sqlite":
        return
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine for ``url``; SQLite gets foreign keys on, WAL, a busy timeout, our own
    ``BEGIN`` (deferred or immediate), and its directory is created."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": BUSY_TIMEOUT_SECONDS})
        kwargs.setdefault("module", sqlite_driver.dbapi())  # one trip per statement
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        event.listen(engine.sync_engine, "before_cursor_execute", _sqlite_before_cursor_execute)
        dialect: Any = engine.dialect
        dialect.do_rollback = _sqlite_rollback(dialect.do_rollback)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


class LockingSession(Session):
    """The sessions' synchronous core: a row read ``FOR UPDATE`` is always read afresh.

    Sessions keep their objects after a commit (``expire_on_commit=False``), and an
    ORM select hands back the object already in the session without its new column
    values unless told to populate it. A lock is taken to act on the row as it is now:
    a payment another transaction completed meanwhile must not read as still pending
    (applied twice), an invoice's balance must not read as before another payment."""


@event.listens_for(LockingSession, "do_orm_execute")
def _locked_rows_read_afresh(state: ORMExecuteState) -> None:
    if state.is_select and getattr(state.statement, "_for_update_arg", None) is not None:
        state.update_execution_options(populate_existing=True)


class SerialAsyncSession(AsyncSession):
    """An AsyncSession whose database calls take turns, and run to their end.

    GraphQL resolves sibling fields concurrently and each DataLoader dispatches in its
    own task, while one AsyncSession must never run two statements at once. Every method
    that enters the session's greenlet holds one lock; the others reach the database
    only through these.

    A call, once started, also finishes (:func:`_to_the_end`): graphql-core cancels a
    field's pending siblings as soon as a non-null field fails, and a statement cancelled
    midway leaves the driver's connection unusable (aiosqlite closes it, asyncpg is left
    mid-protocol) while the lock, released at the cancellation, let the next statement
    onto it. Ending the request then raised instead of answering, and the pool handed the
    broken connection to later requests (found by tests/schema/test_fuzz_profiles.py).
    """

    sync_session_class = LockingSession

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = asyncio.Lock()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await _to_the_end(super().execute(*args, **kwargs))

    async def exec(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await _to_the_end(super().exec(*args, **kwargs))

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await _to_the_end(super().scalar(*args, **kwargs))

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await _to_the_end(super().get(*args, **kwargs))

    async def read(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> list[Row[Any]]:
        """The rows of a Core ``statement`` (columns, not entities), run on the session's
        connection in its transaction, bypassing the ORM's execution (its compile
        state, result loading, identity map): for rows that are only read.

        Pending changes are flushed first, as the ORM's autoflush would; the statement
        runs in one trip into the session's greenlet, and in turn with the others."""
        async with self._turn:
            return await _to_the_end(greenlet_spawn(self._read, statement, params))

    def _read(self, statement: Executable, params: dict[str, Any] | None) -> list[Row[Any]]:
        sync = self.sync_session
        if sync.autoflush and (sync.new or sync.dirty or sync.deleted):
            sync.flush()
        return list(sync.connection().execute(statement, params).all())

    async def flush(self, objects: Any = None) -> None:
        async with self._turn:
            await _to_the_end(super().flush(objects))

    async def refresh(self, *args: Any, **kwargs: Any) -> None:
        async with self._turn:
            await _to_the_end(super().refresh(*args, **kwargs))

    async def delete(self, instance: object) -> None:
        async with self._turn:
            await _to_the_end(super().delete(instance))

    async def commit(self) -> None:
        async with self._turn:
            await _to_the_end(super().commit())

    async def rollback(self) -> None:
        async with self._turn:
            await _to_the_end(super().rollback())

    async def close(self) -> None:
        """Closes once the statement under way has ended: a DataLoader's batch runs in
        a task of its own, which goes on when the field that asked for it is cancelled."""
        async with self._turn:
            await _to_the_end(super().close())


async def _to_the_end(call: Coroutine[Any, Any, T]) -> T:
    """Await ``call`` in its own task; if the caller is cancelled meanwhile, the call
    still runs to its end (its outcome dropped), then the caller's cancellation goes on.
    A statement is short, so a timeout waits at most for the one under way."""
    task = asyncio.ensure_future(call)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            try:
                await asyncio.wait([task])
            except asyncio.CancelledError:
                continue  # cancelled again: the caller is cancelled once it ends
        if not task.cancelled():
            task.exception()  # retrieved: the cancelled caller does not see it
        raise


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=SerialAsyncSession, expire_on_commit=False)


def serialises_writers(factory: async_sessionmaker[AsyncSession]) -> bool:
    """Whether ``factory``'s database has one write lock instead of row locks (SQLite):
    there a write transaction holds up every other writer for as long as it lasts."""
    bind = factory.kw.get("bind")
    return isinstance(bind, AsyncEngine) and bind.dialect.name == "sqlite"


async def read_rows(
    session: AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> list[Row[Any]]:
    """:meth:`SerialAsyncSession.read` on any session (another ``AsyncSession``: its
    ``execute``, which gives the same rows)."""
    if isinstance(session, SerialAsyncSession):
        return await session.read(statement, params)
    return list((await session.execute(statement, params)).all())


def writes(connection: Connection) -> bool:
    """Whether ``connection``'s transactions are begun as writes."""
    return bool(connection.get_execution_options().get(IMMEDIATE, False))
