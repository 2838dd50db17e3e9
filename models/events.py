"""The event outbox: events are written in the same transaction as the change they
describe, then published to subscribers."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, datetime_field


class OutboxEvent(SQLModel, table=True):
    """``position`` is an autoincrementing integer rather than a UUID: it orders events
    and is the cursor a subscriber resumes from. ``client_id`` is a plain value (no
    foreign key), used to route events to a client's contacts. On SQLite, AUTOINCREMENT
    keeps positions from being reused once the newest events are pruned."""

    __tablename__ = "outbox_event"
    __table_args__ = {"sqlite_autoincrement": True}

    position: int | None = Field(default=None, primary_key=True)
    account_id: uuid.UUID = account_fk()
    topic: str = Field(max_length=40)
    kind: str = Field(max_length=40)
    subject_id: uuid.UUID = Field(index=True)
    client_id: uuid.UUID | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime = created_at_field()
    published_at: datetime | None = datetime_field(index=True)
