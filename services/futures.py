"""Futures that follow other futures through done callbacks, without a task each.

A DataLoader answers with a future. A resolver that awaits it in an ``async def``, and
graphql-core's way of waiting for several fields or list items (``gather`` of
coroutines), make a task per awaited value: a page of 100 invoices, each with its
client and lines, ran 300 tasks, each a scheduling round trip through the event loop
(about 3 µs apiece on this machine, a tenth of the page's CPU). :func:`then` and
:func:`all_of` do the same work in the futures' own callbacks, in the same order, so the
DataLoader batches stay the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from services.rows import RowView

T = TypeVar("T")

Future = asyncio.Future

_SETTLED = frozenset({dict, list, tuple, str, int, bool, type(None)})
"""What a step answers that is never awaitable, set as the answer at once (for anything
else ``asyncio.iscoroutine`` makes an ABC check; a row asked for ``__await__`` builds a
lookup error); so are row views (:class:`services.rows.RowView`)."""


def _follow(source: Future[Any], target: Future[Any]) -> None:
    """Settle ``target`` as ``source`` settled (unless ``target`` is settled already:
    cancelled by whoever waited for it)."""
    if target.done():
        if not source.cancelled():
            source.exception()  # retrieved: nobody waits for it now
        return
    if source.cancelled():
        target.cancel()
        return
    error = source.exception()
    if error is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())


def then(awaited: Awaitable[Any], step: Callable[[Future[Any]], Any]) -> Future[Any]:
    """A future of ``step(source)``, called once ``source`` (``awaited``: a future, such
    as a DataLoader's answer; anything else is made one) is done; ``step`` reads its
    outcome with ``source.result()``, which raises its error. What ``step`` raises is
    the future's error; an awaitable it returns is followed (a coroutine in a task: the
    rare case). Cancelling the answer leaves ``source`` alone: a DataLoader shares it
    between fields."""
    source = awaited if isinstance(awaited, Future) else asyncio.ensure_future(awaited)
    target: Future[Any] = source.get_loop().create_future()

    def settle(done: Future[Any]) -> None:
        if target.done():
            if not done.cancelled():
                done.exception()
            return
        if done.cancelled():
            target.cancel()
            return
        try:
            value = step(done)
        except Exception as error:
            target.set_exception(error)
            return
        if type(value) in _SETTLED or isinstance(value, RowView):
            target.set_result(value)
        elif isinstance(value, Future):
            value.add_done_callback(lambda settled: _follow(settled, target))
        elif asyncio.iscoroutine(value) or hasattr(value, "__await__"):
            task = asyncio.ensure_future(value)
            task.add_done_callback(lambda settled: _follow(settled, target))
        else:
            target.set_result(value)

    source.add_done_callback(settle)
    return target


def all_of(futures: Sequence[Future[Any]]) -> Future[list[Any]]:
    """graphql-core's ``gather_with_cancel`` for futures: their results in order; the
    first error is the answer's, and the futures still pending are cancelled."""
    gathered: Future[list[Any]] = asyncio.gather(*futures)

    def cancel_the_rest(done: Future[list[Any]]) -> None:
        if done.cancelled() or done.exception() is not None:
            for future in futures:
                if not future.done():
                    future.cancel()

    gathered.add_done_callback(cancel_the_rest)
    return gathered
