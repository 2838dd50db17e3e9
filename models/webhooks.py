"""Partner webhooks: an endpoint an admin registers for an API token, one delivery row per
event it is sent, one attempt row per HTTP request made for a delivery."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    created_at_field,
    datetime_field,
    enum_field,
    id_field,
    list_order_index,
    updated_at_field,
)


class WebhookDeliveryStatus(StrEnum):
    PENDING = "PENDING"
    """Not yet accepted by the endpoint: an attempt is due at ``next_attempt_at``."""
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    """Given up: refused for good (a 4xx other than 408/429) or past the retry window."""


class Webhook(SQLModel, table=True):
    """An endpoint receiving the account's invoice events, shaped by ``query`` and read
    with the permissions of its API token. ``last_sequence`` is its cursor in the
    account's event stream: every event up to it has had its delivery row created (or was
    not for this token), advanced in the transaction that creates them. ``secret`` signs
    the deliveries; it is never shown after creation."""

    __tablename__ = "webhook"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    api_token_id: uuid.UUID = Field(foreign_key="api_token.id", index=True, ondelete="CASCADE")
    url: str = Field(max_length=2000)
    query: str = Field(sa_column=Column(Text, nullable=False))
    client_id: uuid.UUID | None = None
    """``invoiceChanged(clientId:)`` in the query: only that client's invoices."""
    secret: str = Field(sa_column=Column(Text, nullable=False))
    """Sealed (:class:`auth.secret_box.SecretBox`, purpose ``webhooks``)."""
    previous_secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """After a rotation, the secret before (sealed): deliveries carry a signature with it
    too until ``previous_secret_expires_at``, so receivers can switch without a gap."""
    previous_secret_expires_at: datetime | None = datetime_field()
    enabled: bool = True
    last_sequence: int = Field(default=0, sa_type=BigInteger)
    disabled_at: datetime | None = datetime_field()
    disabled_reason: str | None = Field(default=None, max_length=300)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint, created exactly once (unique per endpoint and
    sequence). ``body`` is the JSON sent, kept so every attempt sends the same bytes."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        list_order_index("webhook_delivery", "webhook_id"),
        UniqueConstraint("webhook_id", "sequence", name="uq_webhook_delivery_sequence"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    webhook_id: uuid.UUID = Field(foreign_key="webhook.id", index=True, ondelete="CASCADE")
    sequence: int = Field(sa_type=BigInteger)
    event_id: str = Field(max_length=80)
    kind: str = Field(max_length=40)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: WebhookDeliveryStatus = enum_field(WebhookDeliveryStatus, WebhookDeliveryStatus.PENDING)
    attempts: int = 0
    next_attempt_at: datetime | None = datetime_field()
    """When the next attempt is due (``None`` once it succeeded or was given up)."""
    created_at: datetime = created_at_field()


class WebhookAttempt(SQLModel, table=True):
    """One HTTP request made for a delivery, and what came of it."""

    __tablename__ = "webhook_attempt"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    webhook_id: uuid.UUID = Field(foreign_key="webhook.id", index=True, ondelete="CASCADE")
    delivery_id: uuid.UUID = Field(
        foreign_key="webhook_delivery.id", index=True, ondelete="CASCADE"
    )
    attempted_at: datetime = created_at_field()
    succeeded: bool = False
    status_code: int | None = None
    duration_ms: int = 0
    error: str | None = Field(default=None, max_length=500)
    next_retry_at: datetime | None = datetime_field()
    """When the delivery is tried again after this attempt (``None``: no retry)."""
