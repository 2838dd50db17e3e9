"""Reading an account's event stream in order, from a cursor.

A cursor is the decimal text of a sequence (:mod:`.sequencing`): the last event a
subscriber received. ``after: null`` starts from now. A cursor before the oldest event
still kept (see :mod:`.retention`) is refused with ``CURSOR_EXPIRED`` — never answered with
a silent gap — and one the stream never reached with ``BAD_USER_INPUT``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.events import EventStream, OutboxEvent
from services.errors import BadInput, CursorExpired

MAX_CURSOR_LENGTH = 19  # a BIGINT


def format_cursor(sequence: int) -> str:
    return str(sequence)


def parse_cursor(value: str) -> int:
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > MAX_CURSOR_LENGTH:
        raise BadInput("Not a cursor: pass the `cursor` of an event you received.", field="after")
    return int(text)


async def stream_of(session: AsyncSession, account_id: uuid.UUID) -> EventStream:
    """The account's stream (an empty one when it has no events yet)."""
    stream = await session.get(EventStream, account_id)
    return stream or EventStream(account_id=account_id)


async def last_sequence(session: AsyncSession, account_id: uuid.UUID) -> int:
    return (await stream_of(session, account_id)).last_sequence


async def check_cursor(session: AsyncSession, account_id: uuid.UUID, cursor: int) -> int:
    """``cursor`` if the events after it are all still kept; the stream's last sequence
    is returned for convenience (the point replay must reach)."""
    stream = await stream_of(session, account_id)
    if cursor > stream.last_sequence:
        raise BadInput("This cursor is not from this event stream.", field="after")
    if cursor < stream.pruned_through:
        raise CursorExpired(
            "Events after this cursor are no longer kept; subscribe without `after` "
            "and read the current state instead."
        )
    return stream.last_sequence


async def events_after(
    session: AsyncSession,
    account_id: uuid.UUID,
    after: int,
    *,
    topic: str | None = None,
    through: int | None = None,
    limit: int = 500,
) -> Sequence[OutboxEvent]:
    """The account's numbered events (of ``topic``, if given) after ``after`` (up to
    ``through``), oldest first, at most ``limit``."""
    statement = select(OutboxEvent).where(
        col(OutboxEvent.account_id) == account_id, col(OutboxEvent.sequence) > after
    )
    if topic is not None:
        statement = statement.where(col(OutboxEvent.topic) == topic)
    if through is not None:
        statement = statement.where(col(OutboxEvent.sequence) <= through)
    statement = statement.order_by(col(OutboxEvent.sequence)).limit(limit)
    return (await session.exec(statement)).all()
