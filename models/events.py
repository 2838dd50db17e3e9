"""The event outbox: events are written in the same transaction as the change they
describe; once committed, the relay gives each its place in its account's stream
(:mod:`services.event_log.sequencing`), and subscribers and webhooks read them in that
order."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, datetime_field


class OutboxEvent(SQLModel, table=True):
    """``position`` numbers rows as they are inserted (an autoincrementing key; on
    SQLite, AUTOINCREMENT keeps it from being reused once old rows are pruned). It is
    *not* the cursor: on PostgreSQL two transactions can commit in the opposite order of
    their positions. ``sequence`` is the cursor: given after commit, in commit order, one
    gapless series per account (``None`` until the relay has seen the row; ``published_at``
    says when it did). ``client_id`` is a plain value (no foreign key), used to route
    events to a client's contacts."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        Index("ix_outbox_event_account_sequence", "account_id", "sequence", unique=True),
        {"sqlite_autoincrement": True},
    )

    position: int | None = Field(default=None, primary_key=True)
    account_id: uuid.UUID = account_fk()
    topic: str = Field(max_length=40)
    kind: str = Field(max_length=40)
    subject_id: uuid.UUID = Field(index=True)
    client_id: uuid.UUID | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = created_at_field()
    published_at: datetime | None = datetime_field(index=True)
    sequence: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    subject_status: str | None = Field(default=None, max_length=32)
    """The subject's status when it happened: a contact or partner receives an invoice's
    events only from when it could see the invoice (never while a draft, never its
    voiding)."""


class EventStream(SQLModel, table=True):
    """One account's event stream: the last sequence given and the last one pruned
    (events up to ``pruned_through`` are gone: a cursor before it has expired)."""

    __tablename__ = "event_stream"

    account_id: uuid.UUID = Field(foreign_key="account.id", primary_key=True, ondelete="CASCADE")
    last_sequence: int = Field(default=0, sa_type=BigInteger)
    pruned_through: int = Field(default=0, sa_type=BigInteger)
