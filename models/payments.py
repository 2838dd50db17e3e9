"""Payments received and how they are allocated to invoices."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    created_at_field,
    enum_field,
    id_field,
    money_field,
    updated_at_field,
)
from models.enums import PaymentMethodKind, PaymentStatus

SETTLED_STATUSES = (
    PaymentStatus.COMPLETED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
)
"""Payments whose money was received: their allocations count on invoices (and in an
invoice's ``amount_paid``); a pending payment's allocations are only its plan."""


class Payment(SQLModel, table=True):
    """Money received from a client. What is not allocated to invoices stays as credit
    on the client (``unapplied``)."""

    __tablename__ = "payment"

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
