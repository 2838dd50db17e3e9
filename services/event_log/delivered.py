"""An event as this instance's listeners receive it.

The broker reads each new event once and hands the same :class:`DeliveredEvent` to every
listener of its account; what the listeners would otherwise each compute — whether a
principal is still allowed, whether it may see the invoice, the GraphQL result for a
profile and selection — is computed once per event and key with :meth:`once`, so 10,000
subscribers with the same profile and selection cost one execution.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from auth.principals import AuthenticatedPrincipal
from models.events import OutboxEvent

if TYPE_CHECKING:
    from services.runtime import Runtime

T = TypeVar("T")


@dataclass(slots=True, eq=False)
class DeliveredEvent:
    sequence: int
    account_id: uuid.UUID
    topic: str
    kind: str
    subject_id: uuid.UUID
    client_id: uuid.UUID | None
    occurred_at: datetime
    details: dict[str, Any]
    subject_status: str | None
    _shared: dict[Hashable, asyncio.Future[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, row: OutboxEvent) -> DeliveredEvent:
        if row.sequence is None:  # pragma: no cover - only numbered events are read
            raise ValueError("an event is delivered once it has its sequence")
        return cls(
            sequence=row.sequence,
            account_id=row.account_id,
            topic=row.topic,
            kind=row.kind,
            subject_id=row.subject_id,
            client_id=row.client_id,
            occurred_at=row.created_at,
            details=dict(row.payload or {}),
            subject_status=row.subject_status,
        )

    def forget(self) -> None:
        """Drop what was computed for this event, once nobody will ask again.

        Some answers refer back to the event (the audience answer is the subscriber's
        ``InvoiceChange``, whose ``event`` is this one), so an event and its answers are
        in a cycle: each event delivered to a WebSocket subscription left ~25 objects
        for the cyclic collector, its answers and result included
        (tests/server/test_request_garbage.py). The broker forgets an event once every
        deliverer is done with it and no listener will read it later
        (:meth:`services.event_log.broker.EventBroker.advance`); then reference
        counting frees it."""
        self._shared.clear()

    def claim(self, key: Hashable) -> tuple[bool, asyncio.Future[Any]]:
        """The future shared under ``key``, and whether this caller made it (and so
        must resolve it)."""
        future = self._shared.get(key)
        if future is not None:
            return False, future
        future = self._shared[key] = asyncio.get_running_loop().create_future()
        return True, future

    async def once(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """``compute()``'s result, computed by the first caller with ``key`` and shared
        with every later one (an exception is shared too; a computation cancelled with
        its caller is started again by the next one waiting)."""
        while True:
            future = self._shared.get(key)
            if future is not None and future.done() and not future.cancelled():
                return future.result()  # type: ignore[no-any-return]  # most callers: no await
            if future is None:
                future = self._shared[key] = asyncio.get_running_loop().create_future()
                try:
                    result = await compute()
                except asyncio.CancelledError:
                    del self._shared[key]
                    future.cancel()
                    raise
                except BaseException as error:
                    future.set_exception(error)
                    future.exception()  # retrieved: no "never retrieved" warning
                    raise
                future.set_result(result)
                return result
            try:
                shared: T = await asyncio.shield(future)
                return shared
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if future.cancelled() and task is not None and not task.cancelling():
                    continue  # the computing caller went away: compute again
                raise


@dataclass(slots=True, frozen=True)
class Delivery:
    """An event on its way to one subscriber, as the root value of its GraphQL
    execution: the subscriber's principal as it reads now, and ``share_key``, equal for
    every subscriber whose result is the same (same profile and row scope), so that
    :class:`schema.event_execution.SharedEventExecutor` runs the selection once."""

    event: DeliveredEvent
    principal: AuthenticatedPrincipal
    share_key: Hashable
    runtime: Runtime
