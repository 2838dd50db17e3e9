"""Deliveries are kept as long as events are (``event_retention_days``), then pruned
with their attempts; one still due (PENDING) is kept whatever its age, so pruning never
drops a delivery that has yet to reach its endpoint."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models.types import utcnow
from models.webhooks import WebhookDelivery, WebhookDeliveryStatus


async def prune_deliveries(session: AsyncSession, *, keep: timedelta) -> int:
    """Delete the finished deliveries made before ``now - keep``; returns how many."""
    old = (
        col(WebhookDelivery.status) != WebhookDeliveryStatus.PENDING,
        col(WebhookDelivery.created_at) < utcnow() - keep,
    )
    # the attempts go with their delivery (ON DELETE CASCADE; SQLite enforces it too)
    result = await session.exec(delete(WebhookDelivery).where(*old))
    await session.flush()
    return int(result.rowcount or 0)
