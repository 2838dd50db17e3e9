"""The relay: events get their cursor after they commit, in commit order.

Why not the insertion order (``outbox_event.position``): on PostgreSQL a transaction
takes its position when it inserts but becomes visible when it commits, and two
transactions can commit in the opposite order of their positions. A subscriber that read
position 6 (committed first) and resumes "after 6" would never see position 5, committed
a moment later. So positions are never cursors.

Instead, :func:`sequence_committed` runs after every commit that wrote events (and every
``event_poll_seconds`` as a safety net), in a transaction of its own that first takes one
lock (PostgreSQL: a transaction-level advisory lock; SQLite: the write lock every write
transaction holds). Holding it, it reads the events that are committed but have no
sequence yet and numbers them after the account's last number. Because every numbering
holds the same lock and only sees committed rows, an event numbered later was committed
later or seen later — never numbered *before* one a subscriber already has. Sequences
are gapless per account, and a cursor is simply the last sequence a subscriber received.
Several instances may run the relay at once; the lock makes them take turns.
"""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.events import EventStream, OutboxEvent
from models.types import utcnow

RELAY_LOCK = 7_202_612_020
"""The PostgreSQL advisory lock key the relays take turns on."""

BATCH = 1000

_TAKE_RELAY_LOCK = text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=RELAY_LOCK)
"""Built once: ``bindparams()`` clones its bind parameters, and each clone memoizes a
``_cloned_set`` holding itself, a reference cycle per commit otherwise."""


async def take_relay_lock(session: AsyncSession) -> None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.exec(_TAKE_RELAY_LOCK)  # type: ignore[call-overload]


_STREAMS_OF = select(EventStream).where(
    col(EventStream.account_id).in_(bindparam("accounts", expanding=True))
)
"""The streams of the ``accounts`` given, built once: SQLAlchemy leaves each ``in_()`` of
a list it builds in a reference cycle (the list's bind parameter, cloned, memoizes a
``_cloned_set`` holding itself), ~5 objects for the cyclic collector per commit."""


async def sequence_committed(session: AsyncSession) -> dict[uuid.UUID, int]:
    """Number the committed, not yet numbered events (at most :data:`BATCH`), in the
    order they are found; returns each touched account's new last sequence. Runs in the
    caller's write transaction (see :func:`services.unit_of_work.transaction`)."""
    await take_relay_lock(session)
    pending = (
        await session.exec(
            select(OutboxEvent)
            .where(col(OutboxEvent.published_at).is_(None))
            .order_by(col(OutboxEvent.position))
            .limit(BATCH)
        )
    ).all()
    if not pending:
        return {}
    accounts = {event.account_id for event in pending}
    streams = {
        stream.account_id: stream
        for stream in (await session.exec(_STREAMS_OF, params={"accounts": list(accounts)})).all()
    }
    now = utcnow()
    for event in pending:
        stream = streams.get(event.account_id)
        if stream is None:
            stream = streams[event.account_id] = EventStream(account_id=event.account_id)
            session.add(stream)
        stream.last_sequence += 1
        event.sequence = stream.last_sequence
        event.published_at = now
    await session.flush()
    return {account_id: stream.last_sequence for account_id, stream in streams.items()}
