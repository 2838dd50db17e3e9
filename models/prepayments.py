"""Recurring pre-payments: a client's standing order to pay an amount on a schedule,
each payment becoming the client's credit (a payment allocated to no invoice)."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    created_at_field,
    datetime_field,
    enum_field,
    id_field,
    money_field,
    updated_at_field,
)
from models.enums import AutoBillStatus, Frequency, PrepaymentStatus
from models.types import UTCDateTime


class RecurringPrepayment(SQLModel, table=True):
    """``cycles`` counts every payment, the first (paid in the portal) included; ``None``
    runs until canceled. ``charges`` counts the cycles started; each later one is charged
    off-session with the named method, else the client's default, with invoice auto-bill's
    retries (:mod:`services.stripe_gateway.off_session`): ``charge_status``, ``attempts``,
    ``next_attempt_at`` and ``last_attempt_at`` say where the latest scheduled cycle is
    (``charge_status`` is ``None`` until the scheduler starts one), and each attempt's
    idempotency key is the row id, the cycle's number and the attempt's. One cycle at a
    time: the next waits while one is retried."""

    __tablename__ = "recurring_prepayment"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    contact_id: uuid.UUID | None = Field(
        default=None, foreign_key="contact.id", ondelete="SET NULL"
    )
    amount: Decimal = money_field()
    currency: str = Field(max_length=3)
    frequency: Frequency = enum_field(Frequency, Frequency.MONTHLY)
    cycles: int | None = None
    charges: int = 0
    status: PrepaymentStatus = enum_field(PrepaymentStatus, PrepaymentStatus.ACTIVE)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    next_charge_at: datetime | None = datetime_field(index=True)
    payment_method_id: uuid.UUID | None = Field(
        default=None, foreign_key="payment_method.id", ondelete="SET NULL"
    )
    last_payment_id: uuid.UUID | None = Field(
        default=None, foreign_key="payment.id", ondelete="SET NULL"
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    charge_status: AutoBillStatus | None = enum_field(AutoBillStatus)
    attempts: int = 0
    """Attempts at the latest cycle (1 + the retries so far)."""
    next_attempt_at: datetime | None = datetime_field(index=True)
    """When the latest cycle is tried again (``None``: no retry is planned)."""
    last_attempt_at: datetime | None = datetime_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
