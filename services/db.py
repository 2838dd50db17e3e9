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

On PostgreSQL the option is ignored and row locks do the work; there reads run in
autocommit too, to save round trips (see :func:`_postgres_engine`).
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Executable, Row, event, exc
from sqlalchemy.engine import Connection, ExecutionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.util import greenlet_spawn
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from services import sqlite_driver, sqlite_uuid
from services.fair_pool import FairAsyncQueuePool

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
    """An engine for ``url``, its pool serving waiters in turn (services.fair_pool);
    SQLite gets foreign keys on, WAL, a busy timeout, our own ``BEGIN`` (deferred or
    immediate), and its directory is created."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("poolclass", FairAsyncQueuePool)
        kwargs.setdefault("connect_args", {"timeout": BUSY_TIMEOUT_SECONDS})
        kwargs.setdefault("module", sqlite_driver.dbapi())  # one trip per statement
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        event.listen(engine.sync_engine, "before_cursor_execute", _sqlite_before_cursor_execute)
        dialect: Any = engine.dialect
        dialect.do_rollback = _sqlite_rollback(dialect.do_rollback)
        sqlite_uuid.install(dialect)  # ids read back without uuid.UUID's parsing
        return engine
    kwargs.setdefault("poolclass", FairAsyncQueuePool)
    return _postgres_engine(url, **kwargs)


# --- PostgreSQL: reads in autocommit, BEGIN at the first statement that needs it --------

IDLE_PING_SECONDS = 5.0
"""A pooled PostgreSQL connection idle longer than this is pinged before it is handed
out (see :func:`_postgres_checkout`)."""

_RETURNED_AT = "portico_returned_at"
"""``ConnectionRecord.info`` key: when the connection was last returned to the pool
(``time.monotonic()``); absent on a connection never used yet."""

_PLAIN_READ = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
_NEEDS_TRANSACTION = re.compile(
    # writes (a WITH may hold one), row locks (FOR UPDATE / NO KEY UPDATE / SHARE / KEY
    # SHARE), SELECT ... INTO, and the functions whose effect belongs to a transaction
    r"\b(INSERT|UPDATE|DELETE|MERGE|SHARE|INTO|nextval|setval|set_config|pg_notify)\b"
    r"|pg_(try_)?advisory|txid_current|pg_current_xact_id",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=2048)
def reads_only(statement: str) -> bool:
    """Whether ``statement`` is a plain read that may run outside a transaction on
    PostgreSQL: a ``SELECT`` (or ``WITH``) that names no write, no row lock, no advisory
    lock and no sequence. Anything else, ``SET``, ``LOCK``, DDL, ``SAVEPOINT`` included,
    is not. A false "no" costs one ``BEGIN``; so the test errs that way (a column called
    ``share`` would begin a transaction). Cached: the compiled statements recur."""
    return _PLAIN_READ.match(statement) is not None and _NEEDS_TRANSACTION.search(statement) is None


def _postgres_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """A PostgreSQL engine that spends no round trip a request does not need.

    Left to itself, SQLAlchemy's asyncpg adapter sends ``BEGIN`` before the first
    statement of every transaction and ``ROLLBACK`` or ``COMMIT`` at its end, and
    ``pool_pre_ping`` adds a ping (an empty statement between ``BEGIN`` and ``ROLLBACK``)
    at every checkout: six round trips for ``{ viewer { __typename } }``, which runs one
    statement. Here:

    - A transaction's reads run in autocommit, and ``BEGIN`` is sent just before the first
      statement that needs a transaction (:func:`reads_only`: a write, ``SELECT ... FOR
      UPDATE``/``FOR SHARE``, an advisory lock such as the event relay's
      ``pg_advisory_xact_lock``, ``SET LOCAL``, ``LOCK``, DDL, a savepoint); from there it
      is one transaction to its commit or rollback. A transaction begun as a write
      (:func:`services.unit_of_work.begin_write`, :data:`WRITE_OPTIONS`) sends ``BEGIN``
      before its first statement, whatever it is. A transaction that never began on the
      server ends without a round trip (the adapter has nothing to commit or roll back),
      and so does the pool's reset.

      Why reads before the first write may run outside the transaction: under READ
      COMMITTED, PostgreSQL's default and the only level Portico uses, every statement of
      a transaction takes a fresh snapshot when it starts, so a read inside the
      transaction sees exactly what the same read outside it would (every commit so
      far); only the transaction's own writes differ, and they begin it. What it would
      hold is a row lock, which a locking read asks for (and so begins it). The one
      visible difference: ``now()`` is each statement's start, not the transaction's,
      for those reads (Portico takes its times from Python, :func:`models.types.utcnow`).
      A connection told to use another isolation level, or read-only / deferrable
      transactions (an execution option, the engine's ``isolation_level``, the server's
      ``default_transaction_isolation``), keeps the adapter's own ``BEGIN`` before its
      first statement, so that one snapshot covers all its reads.

      How: the adapter begins a transaction, before a statement, when it has none and its
      ``autocommit`` attribute (the DBAPI's, which SQLAlchemy sets for the ``AUTOCOMMIT``
      isolation level) is false. The engine's ``begin`` event sets it for each
      transaction (:func:`_postgres_begin`), and ``before_cursor_execute`` clears it just
      before the first statement that needs a transaction (:func:`_postgres_before_execute`).
      tests/services/test_pg_round_trips.py fails if the adapter stops working that way.

    - ``pool_pre_ping`` is replaced by :func:`_postgres_checkout`: a connection the server
      has closed (restart, ``pg_terminate_backend``; asyncpg notices at once) is replaced
      at checkout without a round trip, and one idle in the pool longer than
      :data:`IDLE_PING_SECONDS` is pinged first (one round trip), for the failures no
      one tells about (a dropped network path). A busy server pings nothing.
    """
    kwargs.setdefault("pool_pre_ping", False)
    engine = create_async_engine(url, **kwargs)
    sync_engine = engine.sync_engine
    one_snapshot = (
        str(kwargs.get("isolation_level", "READ COMMITTED")).upper() not in _PER_STATEMENT
    )
    event.listen(
        sync_engine, "begin", functools.partial(_postgres_begin, one_snapshot=one_snapshot)
    )
    event.listen(sync_engine, "before_cursor_execute", _postgres_before_execute)
    event.listen(sync_engine, "checkin", _postgres_checkin)
    event.listen(
        sync_engine, "checkout", functools.partial(_postgres_checkout, dialect=engine.dialect)
    )
    return engine


_PER_STATEMENT = ("READ COMMITTED", "AUTOCOMMIT")
"""Isolation levels under which each statement reads a snapshot of its own."""


def _postgres_begin(connection: Connection, *, one_snapshot: bool) -> None:
    """A transaction starts (for SQLAlchemy): reads run in autocommit unless it is a
    write or needs one snapshot (see :func:`_postgres_engine`)."""
    options = connection.get_execution_options()
    level = str(options.get("isolation_level", connection.dialect.default_isolation_level)).upper()
    begins_at_once = (
        one_snapshot
        or writes(connection)
        or level not in _PER_STATEMENT
        or bool(options.get("postgresql_readonly"))
        or bool(options.get("postgresql_deferrable"))
    )
    # An explicit AUTOCOMMIT level stays so: the adapter's setter then restores it.
    _adapter(connection).autocommit = not begins_at_once


def _postgres_before_execute(
    connection: Connection,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    context: ExecutionContext | None,
    _executemany: bool,
) -> None:
    """Before each statement: the first one that needs a transaction (or a server-side
    cursor, which asyncpg opens only in one) ends autocommit, and the adapter sends
    ``BEGIN`` before it."""
    adapter = _adapter(connection)
    if not adapter.autocommit:
        return
    streams = context is not None and bool(context.execution_options.get("stream_results"))
    if streams or not reads_only(statement):
        adapter.autocommit = False


def _adapter(connection: Connection) -> Any:
    """The DBAPI connection under ``connection``: SQLAlchemy's asyncpg adapter."""
    return connection.connection.dbapi_connection


def _postgres_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def _postgres_checkout(dbapi_connection: Any, record: Any, _proxy: Any, *, dialect: Any) -> None:
    """Hand out a live connection: one the server closed is replaced (asyncpg saw the
    socket close: no round trip), one idle for over :data:`IDLE_PING_SECONDS` is pinged
    first (``;`` in autocommit: one round trip) and replaced if that fails. Raising
    ``DisconnectionError`` here is SQLAlchemy's documented way to have the pool connect
    again (it tries up to three times)."""
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed the connection while it was pooled")
    returned = record.info.get(_RETURNED_AT)
    if returned is None or time.monotonic() - returned <= IDLE_PING_SECONDS:
        return
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # the adapter's ping in autocommit: no BEGIN around it
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as error:
        raise exc.DisconnectionError(f"ping failed on an idle connection: {error}") from error
    finally:
        dbapi_connection.autocommit = autocommit


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
