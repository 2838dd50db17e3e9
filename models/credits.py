"""Client credits (credit notes) and how they are applied to invoices."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    created_at_field,
    enum_field,
    id_field,
    list_order_index,
    money_field,
    updated_at_field,
)
from models.enums import CreditStatus


class Credit(SQLModel, table=True):
    """An amount the business owes a client, e.g. from an overpayment or a refunded
    invoice. ``balance`` is what remains after applications to invoices."""

    __tablename__ = "credit"
    __table_args__ = (
        UniqueConstraint("account_id", "number", name="uq_credit_account_number"),
        list_order_index("credit"),
    )

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    number: str | None = Field(default=None, max_length=40)
    currency: str = Field(max_length=3)
    amount: Decimal = money_field()
    balance: Decimal = money_field()
    status: CreditStatus = enum_field(CreditStatus, CreditStatus.OPEN)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    source_payment_id: uuid.UUID | None = Field(default=None, foreign_key="payment.id")
    source_invoice_id: uuid.UUID | None = Field(default=None, foreign_key="invoice.id")
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class CreditApplication(SQLModel, table=True):
    """A part of a credit applied to one invoice. Applications never exceed the credit."""

    __tablename__ = "credit_application"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    credit_id: uuid.UUID = Field(foreign_key="credit.id", index=True, ondelete="CASCADE")
    invoice_id: uuid.UUID = Field(foreign_key="invoice.id", index=True)
    amount: Decimal = money_field()
    created_at: datetime = created_at_field()
