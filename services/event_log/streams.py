"""Subscribers the broker holds as small records, not as tasks.

A :class:`~services.event_log.broker.Listener` is an async generator its subscriber's
task iterates: per subscription a task, a generator chain and a buffer, waiting between
events. A :class:`Stream` is only a record — its account, the last sequence it passed on
and what delivers to it (:class:`Deliverer`, one per kind of stream and app). The broker
hands each new event to the deliverer once, with every stream of the account that is
due for it (:meth:`Stream.due`), and the deliverer writes each one its frame.

Same guarantees as a listener: each event once, in order, nothing skipped. A stream
resuming from an older cursor, or finding a gap (it joined while an event was on its
way), reads what it misses from the database in a task of its own (:func:`catch_up`)
and is left out of the live fan-out until it has caught up; only then does it take live
events again, from the sequence it reached.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import structlog

from services.event_log.delivered import DeliveredEvent

log = structlog.get_logger("portico.events")


class Deliverer(Protocol):
    """Delivers one event to streams of one kind (e.g. ``invoiceChanged`` subscriptions),
    sharing what they share; in sequence order per stream (the broker awaits each)."""

    async def deliver(self, event: DeliveredEvent, streams: Sequence[Stream]) -> None: ...


class Stream:
    __slots__ = ("account_id", "catching_up", "closed", "deliverer", "last")

    def __init__(self, account_id: uuid.UUID, deliverer: Deliverer) -> None:
        self.account_id = account_id
        self.deliverer = deliverer
        self.last = 0
        """The last sequence passed on (or skipped as not addressed to it)."""
        self.catching_up = False
        self.closed = False

    def due(self, event: DeliveredEvent) -> bool | None:
        """``True``: ``event`` is the next one for this stream (its position moves on);
        ``False``: already had, or it is catching up; ``None``: a gap before it."""
        if self.closed or self.catching_up or event.sequence <= self.last:
            return False
        if event.sequence > self.last + 1:
            return None
        self.last = event.sequence
        return True


def _closed(stream: Stream) -> bool:
    return stream.closed  # read anew after every await (detached meanwhile)


async def catch_up(
    stream: Stream,
    read: Callable[[uuid.UUID, int], Awaitable[Sequence[DeliveredEvent]]],
) -> None:
    """Deliver every stored event after ``stream.last``, in order, until none is left;
    then the stream takes live events again (set in the same step as the empty read,
    so no event can fall between the two: see the module docstring)."""
    stream.catching_up = True
    try:
        while not _closed(stream):
            events = await read(stream.account_id, stream.last)
            if not events:
                return
            for event in events:
                if _closed(stream):
                    return
                if event.sequence <= stream.last:
                    continue
                stream.last = event.sequence
                await stream.deliverer.deliver(event, (stream,))
                event.forget()  # read for this stream alone (DeliveredEvent.forget)
    except Exception:  # the next live event finds the gap and starts over
        log.exception("event_stream_catch_up_failed")
    finally:
        stream.catching_up = False
