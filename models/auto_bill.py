"""Charging an invoice automatically: one row per invoice of an auto-billed schedule,
made in the transaction that issues the invoice, so each invoice is charged by one
attempt at a time and at most until one succeeds (the row's primary key is the
invoice's id)."""

import uuid
from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.base import account_fk, created_at_field, datetime_field, enum_field, updated_at_field
from models.enums import AutoBillStatus


class InvoiceAutoBill(SQLModel, table=True):
    """``attempts`` counts the charges tried (the idempotency key of each is the invoice
    id and its attempt number); ``next_attempt_at`` is when the scheduler tries next
    (``None`` once nothing more is tried); ``last_error`` says why the last one failed,
    in words a client can read."""

    __tablename__ = "invoice_auto_bill"

    invoice_id: uuid.UUID = Field(foreign_key="invoice.id", primary_key=True, ondelete="CASCADE")
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    recurring_invoice_id: uuid.UUID | None = Field(
        default=None, foreign_key="recurring_invoice.id", index=True, ondelete="SET NULL"
    )
    subscription_id: uuid.UUID | None = Field(
        default=None, foreign_key="subscription.id", index=True, ondelete="SET NULL"
    )
    """The subscription whose invoice it is: charged with the subscription's method, and
    its failures move the subscription (:mod:`services.subscriptions.dunning`)."""
    status: AutoBillStatus = enum_field(AutoBillStatus, AutoBillStatus.SCHEDULED)
    attempts: int = 0
    next_attempt_at: datetime | None = datetime_field(index=True)
    last_attempt_at: datetime | None = datetime_field()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    payment_id: uuid.UUID | None = Field(
        default=None, foreign_key="payment.id", ondelete="SET NULL"
    )
    """The payment of the latest attempt."""
    payment_method_id: uuid.UUID | None = Field(
        default=None, foreign_key="payment_method.id", ondelete="SET NULL"
    )
    """The saved method the latest attempt charged."""
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
