"""Payments received and how they are allocated to invoices."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    client_order_index,
    created_at_field,
    datetime_field,
    enum_field,
    id_field,
    list_order_index,
    money_field,
    updated_at_field,
)
from models.enums import PaymentMethodKind, PaymentStatus, RefundStatus

SETTLED_STATUSES = (
    PaymentStatus.COMPLETED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
    PaymentStatus.DISPUTED,
)
"""Payments whose money was received: their allocations count on invoices (and in an
invoice's ``amount_paid``); a pending payment's allocations are only its plan, and a
charged-back one's a record of what it had paid."""

RECEIVED_STATUSES = (*SETTLED_STATUSES, PaymentStatus.CHARGED_BACK)
"""Payments whose money arrived at some point: a late confirmation applies none again."""


class Payment(SQLModel, table=True):
    """Money received from a client. What is not allocated to invoices stays as credit
    on the client (``unapplied``)."""

    __tablename__ = "payment"
    __table_args__ = (list_order_index("payment"), client_order_index("payment"))

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    number: str | None = Field(default=None, max_length=40)
    amount: Decimal = money_field()
    currency: str = Field(max_length=3)
    method: PaymentMethodKind = enum_field(PaymentMethodKind, PaymentMethodKind.OTHER)
    status: PaymentStatus = enum_field(PaymentStatus, PaymentStatus.COMPLETED)
    reference: str | None = Field(default=None, max_length=200)
    received_on: date
    refunded_amount: Decimal = money_field()
    notes: str | None = Field(default=None, sa_column=Column(Text))
    private_notes: str | None = Field(default=None, sa_column=Column(Text))
    provider: str | None = Field(default=None, max_length=30)
    provider_payment_id: str | None = Field(default=None, max_length=255, index=True)
    payment_method_id: uuid.UUID | None = Field(default=None, foreign_key="payment_method.id")
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class PaymentAllocation(SQLModel, table=True):
    """A part of a payment applied to one invoice. Allocations never exceed the payment."""

    __tablename__ = "payment_allocation"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    payment_id: uuid.UUID = Field(foreign_key="payment.id", index=True, ondelete="CASCADE")
    invoice_id: uuid.UUID = Field(foreign_key="invoice.id", index=True)
    amount: Decimal = money_field()
    refunded_amount: Decimal = money_field()
    created_at: datetime = created_at_field()


class PaymentRefund(SQLModel, table=True):
    """A refund of a card payment asked of Stripe. Its id makes the idempotency key of
    the request; it moves money (the payment's ``refunded_amount``, its invoices'
    balances) once, when Stripe confirms it (``confirmed_at``). A refund made in Stripe's
    dashboard is recorded here when its ``charge.refunded`` event arrives."""

    __tablename__ = "payment_refund"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    payment_id: uuid.UUID = Field(foreign_key="payment.id", index=True, ondelete="CASCADE")
    amount: Decimal = money_field()
    currency: str = Field(max_length=3)
    status: RefundStatus = enum_field(RefundStatus, RefundStatus.PENDING)
    provider_refund_id: str | None = Field(default=None, max_length=255, index=True)
    allocations: list[dict[str, str]] | None = Field(default=None, sa_column=Column(JSON))
    """The invoices staff named to take the money back from (``invoice_id``, ``amount``),
    or none for the default order (unapplied remainder first, then the newest)."""
    failure_reason: str | None = Field(default=None, max_length=500)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    confirmed_at: datetime | None = datetime_field()


class PaymentDispute(SQLModel, table=True):
    """A card payment's dispute (chargeback) as Stripe last described it. Stripe allows
    one per charge; a closed one (``won``, ``lost``, ``warning_closed``) is final, so a
    late ``charge.dispute.created`` cannot reopen it."""

    __tablename__ = "payment_dispute"

    id: str = Field(primary_key=True, max_length=255)
    """Stripe's dispute id (``dp_…``)."""
    account_id: uuid.UUID = account_fk()
    payment_id: uuid.UUID = Field(foreign_key="payment.id", index=True, ondelete="CASCADE")
    amount: Decimal = money_field()
    currency: str = Field(max_length=3)
    status: str = Field(max_length=40)
    """Stripe's: ``warning_needs_response``, ``needs_response``, ``under_review``,
    ``won``, ``lost``, ``warning_closed``…"""
    reason: str | None = Field(default=None, max_length=100)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    closed_at: datetime | None = datetime_field()
