"""Invoices and their lines. Totals are computed by services and stored; the paid state
and ``is_overdue`` are derived from the stored amounts and dates, never stored."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Text, UniqueConstraint
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
from models.enums import InvoiceStatus


class Invoice(SQLModel, table=True):
    __tablename__ = "invoice"
    __table_args__ = (
        list_order_index("invoice"),
        client_order_index("invoice"),
        UniqueConstraint("account_id", "number", name="uq_invoice_account_number"),
        UniqueConstraint(
            "recurring_invoice_id", "recurring_period", name="uq_invoice_recurring_period"
        ),
    )

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    project_id: uuid.UUID | None = Field(default=None, foreign_key="project.id", index=True)
    quote_id: uuid.UUID | None = Field(default=None, foreign_key="quote.id", index=True)
    recurring_invoice_id: uuid.UUID | None = Field(
        default=None, foreign_key="recurring_invoice.id", index=True
    )
    recurring_period: date | None = None
    number: str | None = Field(default=None, max_length=40)
    status: InvoiceStatus = enum_field(InvoiceStatus, InvoiceStatus.DRAFT, index=True)
    currency: str = Field(max_length=3)
    issue_date: date | None = None
    due_date: date | None = Field(default=None, index=True)
    deposit_amount: Decimal | None = money_field(None)
    deposit_due_date: date | None = None
    po_number: str | None = Field(default=None, max_length=100)
    public_notes: str | None = Field(default=None, sa_column=Column(Text))
    private_notes: str | None = Field(default=None, sa_column=Column(Text))
    terms: str | None = Field(default=None, sa_column=Column(Text))
    subtotal: Decimal = money_field()
    discount_total: Decimal = money_field()
    tax_total: Decimal = money_field()
    total: Decimal = money_field()
    amount_paid: Decimal = money_field()
    credits_applied: Decimal = money_field()
    sent_at: datetime | None = datetime_field()
    viewed_at: datetime | None = datetime_field()
    paid_at: datetime | None = datetime_field()
    voided_at: datetime | None = datetime_field()
    overdue_recorded_at: datetime | None = datetime_field()
    """When the scheduler recorded ``invoice.overdue`` (once per invoice)."""
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()

    @property
    def applied(self) -> Decimal:
        """What has been put on the invoice: payments allocated plus credits applied
        (in SQL: :func:`services.invoices.applied_sql`)."""
        return self.amount_paid + self.credits_applied

    @property
    def balance(self) -> Decimal:
        """What is still owed: total - applied; nothing for a VOID invoice (voiding is
        refused while money is applied, so nothing is lost)."""
        if self.status is InvoiceStatus.VOID:
            return Decimal(0)
        return self.total - self.applied


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_line"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    invoice_id: uuid.UUID = Field(foreign_key="invoice.id", index=True, ondelete="CASCADE")
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
    time_log_id: uuid.UUID | None = Field(default=None, foreign_key="time_log.id")
