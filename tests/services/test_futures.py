"""services.futures: futures that follow futures without tasks, as graphql-core's
awaiting would (results, errors, cancellation)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.futures import all_of, then


async def _tasks_made_while(work: Any) -> tuple[Any, int]:
    loop = asyncio.get_running_loop()
    made = 0
    previous = loop.get_task_factory()

    def counting(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        nonlocal made
        made += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting)
    try:
        return await work(), made
    finally:
        loop.set_task_factory(previous)


async def test_then_gives_the_steps_result_once_the_source_is_done() -> None:
    loop = asyncio.get_running_loop()
    source: asyncio.Future[int] = loop.create_future()

    async def work() -> Any:
        answer = then(source, lambda done: done.result() * 2)
        loop.call_soon(source.set_result, 21)
        return await answer

    result, tasks = await _tasks_made_while(work)
    assert result == 42
    assert tasks == 0  # the callbacks did the work


async def test_then_carries_the_sources_error_and_the_steps() -> None:
    loop = asyncio.get_running_loop()
    failed: asyncio.Future[int] = loop.create_future()
    failed.set_exception(LookupError("gone"))
    with pytest.raises(LookupError, match="gone"):
        await then(failed, lambda done: done.result())

    fine: asyncio.Future[int] = loop.create_future()
    fine.set_result(1)

    def refuse(_done: asyncio.Future[int]) -> int:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await then(fine, refuse)


async def test_then_follows_a_future_or_a_coroutine_the_step_returns() -> None:
    loop = asyncio.get_running_loop()
    first: asyncio.Future[int] = loop.create_future()
    second: asyncio.Future[int] = loop.create_future()
    first.set_result(1)
    loop.call_later(0.01, second.set_result, 2)
    assert await then(first, lambda _done: second) == 2

    async def later() -> str:
        await asyncio.sleep(0)
        return "coroutine"

    assert await then(first, lambda _done: later()) == "coroutine"


async def test_cancelling_the_answer_leaves_a_shared_source_alone() -> None:
    loop = asyncio.get_running_loop()
    shared: asyncio.Future[int] = loop.create_future()  # a DataLoader's, for two fields
    one = then(shared, lambda done: done.result())
    other = then(shared, lambda done: done.result() + 1)
    one.cancel()
    shared.set_result(1)
    assert await other == 2
    assert not shared.cancelled()


async def test_a_cancelled_source_cancels_the_answer() -> None:
    source: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    answer = then(source, lambda done: done.result())
    source.cancel()
    with pytest.raises(asyncio.CancelledError):
        await answer


async def test_all_of_keeps_the_order_and_the_first_error_cancels_the_rest() -> None:
    loop = asyncio.get_running_loop()
    a, b, c = (loop.create_future() for _ in range(3))
    loop.call_soon(c.set_result, "c")
    loop.call_soon(a.set_result, "a")
    loop.call_soon(b.set_result, "b")
    assert await all_of([a, b, c]) == ["a", "b", "c"]

    d, e = loop.create_future(), loop.create_future()
    loop.call_soon(d.set_exception, KeyError("first"))
    with pytest.raises(KeyError):
        await all_of([d, e])
    assert e.cancelled()
