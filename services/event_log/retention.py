"""Events are kept ``event_retention_days`` (default 30), then pruned; each stream
remembers the last sequence pruned so an older cursor gets ``CURSOR_EXPIRED``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.events import EventStream, OutboxEvent
from models.types import utcnow


async def prune_events(session: AsyncSession, *, keep: timedelta) -> int:
    """Delete the numbered events published before ``now - keep``; returns how many."""
    cutoff = utcnow() - keep
    old = (
        col(OutboxEvent.sequence).is_not(None),
        col(OutboxEvent.published_at) < cutoff,
    )
    through = (
        await session.exec(
            select(OutboxEvent.account_id, func.max(OutboxEvent.sequence))
            .where(*old)
            .group_by(col(OutboxEvent.account_id))
        )
    ).all()
    if not through:
        return 0
    for account_id, sequence in through:
        stream = await session.get(EventStream, account_id)
        if stream is not None and sequence is not None:
            stream.pruned_through = max(stream.pruned_through, int(sequence))
    result = await session.exec(delete(OutboxEvent).where(*old))
    await session.flush()
    return int(result.rowcount or 0)
