"""How many queries a worker executes at once (``query_concurrency``).

An event loop runs one request's Python at a time, but it interleaves every request that
has started: at 8 concurrent invoice pages each request's rows, futures and caches
compete for the CPU's caches with seven others, and on SQLite eight aiosqlite threads
compete for the GIL (235 context switches a page against 11 alone). One worker then
served fewer pages at 8 concurrent than at 1: 81 a second against ~95 (SQLite), 97 on
PostgreSQL. With two queries executing at once on SQLite and four on PostgreSQL it
served 114 and 139 (the bench's invoice page, 2026-12-07).

Only queries the worker has run before wait for a slot (a kept operation: their text,
name and variables reached execution once, and they are queries): those are the
frontends' and partners' repeated reads, CPU-bound by nature. Mutations, which may wait
for a lock, a password hash or Stripe, and everything that is not a plain JSON POST
never wait. A request takes its slot after its body is read and its caller identified,
and gives it back before its answer is sent: a client sending or reading slowly holds
none. Each query in a slot is bounded by the execution timeout, so a wait is bounded
too.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

from services.db import is_sqlite

SQLITE_DEFAULT = 2
POSTGRES_DEFAULT = 4


def slots_for(database_url: str, configured: int | None) -> int:
    """The number of query slots: ``configured``, or the database's default; 0 is none."""
    if configured is not None:
        return configured
    return SQLITE_DEFAULT if is_sqlite(database_url) else POSTGRES_DEFAULT


class QuerySlots:
    """A semaphore of ``size`` slots per event loop (0: no limit)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None

    def slot(self) -> AbstractAsyncContextManager[Any]:
        """``async with`` it around a query's execution."""
        if self.size == 0:
            return nullcontext()
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.size)
        return self._semaphore
