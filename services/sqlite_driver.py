"""SQLite statements in one trip each to aiosqlite's thread (issue 14).

aiosqlite runs every call on its connection's own thread: a call is a queue put, that
thread's wake-up, ``call_soon_threadsafe`` back, a future, and the event loop's
wake-up. SQLAlchemy's adapter (``AsyncAdapt_dbapi_cursor`` in
``sqlalchemy.connectors.asyncio``) makes three or four per statement: it creates an
aiosqlite cursor, executes, fetches every row (when the statement has any), and closes
the cursor. :class:`OneTripCursor` does all of it as one function on that thread, and
hands SQLAlchemy the rows, ``description``, ``rowcount`` and ``lastrowid`` read there,
as the stock cursor did (it buffered every row too). Errors are the ones sqlite3
raised, re-raised as the stock cursor re-raises them, so SQLAlchemy maps them the
same way (``IntegrityError``, ``OperationalError``...). A cancelled statement still
runs to its end on the thread (aiosqlite's queue does not drop a call), where the
stock cursor could stop between its execute and its fetch. (The stock cursor held the
adapted connection's ``_execute_mutex`` across its execute and fetch; one call on the
thread needs none: aiosqlite's queue runs its calls one at a time.)

Server-side cursors (``stream``, ``yield_per``, which Portico does not use) stay the
stock ones: they fetch in chunks, each a trip, by design.

It relies on private parts of both libraries (SQLAlchemy 2.1's async adapter: 2.0's is
another design), checked by tests/services/test_sqlite_trips.py (their versions have
lower bounds only):

- aiosqlite's ``Connection._execute(fn, *args)``, which runs ``fn`` on the thread and
  raises its exception to the caller, and ``Connection._conn``, the sqlite3 connection;
- SQLAlchemy's ``AsyncAdapt_aiosqlite_dbapi.connect`` (the adapted connection it
  returns, its ``_connection``), ``AsyncAdapt_dbapi_connection._cursor_cls`` and
  ``_handle_exception``, and the buffered cursor's ``_rows`` deque, which its
  ``fetchone``/``fetchmany``/``fetchall`` read.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, list[Any], int, int | None]
"""What a statement leaves on its cursor: description, rows, rowcount, lastrowid."""


def _execute(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """On aiosqlite's thread: the whole statement, its cursor closed at the end."""
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _executemany(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """On aiosqlite's thread: ``executemany``; its rows are not fetched (nor were they)."""
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return cursor.description, [], cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statements each take one trip to aiosqlite's thread.

    It holds no aiosqlite cursor: a sqlite3 cursor is made, used and closed on the
    thread for each statement, so creating and closing this one costs no trip."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # Not the stock __init__: it opens an aiosqlite cursor (a trip).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1  # sqlite3's default

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        """Nothing to close: the statement's cursor was closed on the thread."""

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(_execute, operation, parameters)
        return self

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(_executemany, operation, seq_of_parameters)
        return self

    def _run(self, statement: Any, operation: Any, parameters: Any) -> None:
        try:
            # ``_conn`` raises "no active connection" once closed, ``_execute``
            # "Connection closed" once stopped, as the stock cursor's calls did.
            driver = self._connection
            outcome: _Outcome = await_(
                driver._execute(statement, driver._conn, operation, parameters)
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's adapted aiosqlite connection, with :class:`OneTripCursor`."""

    __slots__ = ()

    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite "DBAPI module", whose connections are
    :class:`OneTripConnection`: pass it as ``create_engine(..., module=...)``."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        stock = super().connect(*arg, **kw)  # the aiosqlite connection, its thread a daemon
        return OneTripConnection(self, stock._connection)


def dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
