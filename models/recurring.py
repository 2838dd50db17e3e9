"""Recurring invoices: templates that issue an invoice every period."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    created_at_field,
    datetime_field,
    enum_field,
    id_field,
    list_order_index,
    money_field,
    updated_at_field,
)
from models.enums import AutoBill, Frequency, RecurringStatus


class RecurringInvoice(SQLModel, table=True):
    """``auto_bill`` is the business's policy; ``auto_bill_enabled`` is the contact's own
    choice, which only matters under ``OPT_IN``/``OPT_OUT``. ``remaining_cycles`` of
    ``None`` means the schedule runs indefinitely."""

    __tablename__ = "recurring_invoice"
    __table_args__ = (list_order_index("recurring_invoice"),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    status: RecurringStatus = enum_field(RecurringStatus, RecurringStatus.DRAFT)
    currency: str = Field(max_length=3)
    frequency: Frequency = enum_field(Frequency, Frequency.MONTHLY)
    start_date: date
    next_send_date: date | None = Field(default=None, index=True)
    remaining_cycles: int | None = None
    auto_bill: AutoBill = enum_field(AutoBill, AutoBill.OFF)
    auto_bill_enabled: bool = False
    payment_method_id: uuid.UUID | None = Field(default=None, foreign_key="payment_method.id")
    due_days: int = 30
    po_number: str | None = Field(default=None, max_length=100)
    public_notes: str | None = Field(default=None, sa_column=Column(Text))
    private_notes: str | None = Field(default=None, sa_column=Column(Text))
    terms: str | None = Field(default=None, sa_column=Column(Text))
    subtotal: Decimal = money_field()
    discount_total: Decimal = money_field()
    tax_total: Decimal = money_field()
    total: Decimal = money_field()
    last_sent_at: datetime | None = datetime_field()
    paused_at: datetime | None = datetime_field()
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class RecurringInvoiceLine(SQLModel, table=True):
    __tablename__ = "recurring_invoice_line"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    recurring_invoice_id: uuid.UUID = Field(
        foreign_key="recurring_invoice.id", index=True, ondelete="CASCADE"
    )
    position: int = 0
    description: str = Field(sa_column=Column(Text, nullable=False))
    quantity: Decimal = money_field(Decimal(1))
    unit_price: Decimal = money_field()
    unit_cost: Decimal | None = money_field(None)
    discount_percent: Decimal = money_field()
    tax_name: str | None = Field(default=None, max_length=50)
    tax_rate: Decimal = money_field()
    line_subtotal: Decimal = money_field()
    line_discount: Decimal = money_field()
    line_tax: Decimal = money_field()
    line_total: Decimal = money_field()
