"""Stripe's webhook events as received: stored once per event id (Stripe retries, and
sends an event to every endpoint listening), each handled in the transaction that marks
it processed."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, datetime_field


class StripeEvent(SQLModel, table=True):
    __tablename__ = "stripe_event"

    id: str = Field(primary_key=True, max_length=255)
    """Stripe's event id (``evt_…``)."""
    account_id: uuid.UUID = account_fk()
    type: str = Field(max_length=100)
    stripe_created: datetime | None = datetime_field()
    livemode: bool = False
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    received_at: datetime = created_at_field()
    processed_at: datetime | None = datetime_field()
    outcome: str | None = Field(default=None, max_length=200)
    """What handling it did (``applied``, ``ignored: …``), for support."""
