"""services.fair_pool: a connection given back goes to the oldest waiter, never to
whoever asks in the meantime; timeouts and cancelled waiters lose no connection. On
both databases (the pool is the same; the drivers' connections differ)."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.db import create_engine
from services.fair_pool import FairAsyncQueuePool, FairQueue
from tests.conftest import Backend


def _engine(backend: Backend, **kwargs: object) -> AsyncEngine:
    return create_engine(
        backend.url, **backend.engine_kwargs, pool_size=1, max_overflow=0, **kwargs
    )


async def _waiting(engine: AsyncEngine, count: int) -> None:
    """Until ``count`` callers wait for a connection."""
    queue = engine.sync_engine.pool._pool  # type: ignore[attr-defined]
    for _ in range(500):
        if sum(not waiter.done() for waiter in queue._waiting) >= count:
            return
        await asyncio.sleep(0.002)
    raise AssertionError(f"{count} waiters never queued")


def test_the_engines_pool_is_the_fair_one(backend: Backend) -> None:
    """The hook it relies on: QueuePool builds its queue from ``_queue_class``."""
    engine = create_engine(backend.url, **backend.engine_kwargs)
    assert isinstance(engine.sync_engine.pool, FairAsyncQueuePool)
    assert isinstance(engine.sync_engine.pool._pool, FairQueue)


async def test_a_connection_given_back_goes_to_the_oldest_waiter(backend: Backend) -> None:
    engine = _engine(backend)
    served: list[str] = []
    try:
        held = await engine.connect()

        async def waiter(name: str) -> None:
            async with engine.connect() as connection:
                served.append(name)
                await connection.execute(text("SELECT 1"))

        first = asyncio.create_task(waiter("first"))
        await _waiting(engine, 1)
        second = asyncio.create_task(waiter("second"))
        await _waiting(engine, 2)
        await held.close()  # given back ...
        async with engine.connect():  # ... and asked for again at once, by a newcomer
            served.append("newcomer")
        await asyncio.gather(first, second)
        assert served == ["first", "second", "newcomer"]
    finally:
        await engine.dispose()


async def test_a_waiter_not_served_in_time_gets_the_pools_timeout(backend: Backend) -> None:
    engine = _engine(backend, pool_timeout=0.2)
    try:
        held = await engine.connect()
        started = time.monotonic()
        with pytest.raises(exc.TimeoutError):
            await engine.connect()
        assert time.monotonic() - started >= 0.2
        await held.close()
        async with engine.connect() as connection:  # nothing was lost to the timeout
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_a_cancelled_waiter_is_passed_over(backend: Backend) -> None:
    engine = _engine(backend)
    try:
        held = await engine.connect()

        async def connect() -> None:
            async with engine.connect():
                raise AssertionError("a cancelled waiter got a connection")

        gave_up = asyncio.create_task(connect())
        await _waiting(engine, 1)
        gave_up.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gave_up
        await held.close()
        async with asyncio.timeout(5):
            async with engine.connect() as connection:
                assert (await connection.execute(text("SELECT 1"))).scalar() == 1
        assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
