"""Quotes (estimates and proposals) and their lines. A client approves or declines a
quote in the portal; an approved quote may be converted into an invoice."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Text, UniqueConstraint
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
from models.enums import QuoteKind, QuoteStatus


class Quote(SQLModel, table=True):
    """``terms_accepted_at`` and the ``signature_*`` columns record what the client agreed
    to on approval, when the account requires terms or a signature."""

    __tablename__ = "quote"
    __table_args__ = (
        UniqueConstraint("account_id", "number", name="uq_quote_account_number"),
        list_order_index("quote"),
        client_order_index("quote"),
    )

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    project_id: uuid.UUID | None = Field(default=None, foreign_key="project.id", index=True)
    kind: QuoteKind = enum_field(QuoteKind, QuoteKind.ESTIMATE)
    number: str | None = Field(default=None, max_length=40)
    status: QuoteStatus = enum_field(QuoteStatus, QuoteStatus.DRAFT, index=True)
    currency: str = Field(max_length=3)
    title: str | None = Field(default=None, max_length=200)
    issue_date: date | None = None
    valid_until: date | None = None
    po_number: str | None = Field(default=None, max_length=100)
    public_notes: str | None = Field(default=None, sa_column=Column(Text))
    private_notes: str | None = Field(default=None, sa_column=Column(Text))
    terms: str | None = Field(default=None, sa_column=Column(Text))
    subtotal: Decimal = money_field()
    discount_total: Decimal = money_field()
    tax_total: Decimal = money_field()
    total: Decimal = money_field()
    sent_at: datetime | None = datetime_field()
    viewed_at: datetime | None = datetime_field()
    approved_at: datetime | None = datetime_field()
    declined_at: datetime | None = datetime_field()
    decline_reason: str | None = Field(default=None, sa_column=Column(Text))
    terms_accepted_at: datetime | None = datetime_field()
    signature_name: str | None = Field(default=None, max_length=200)
    signature_at: datetime | None = datetime_field()
    signature_ip: str | None = Field(default=None, max_length=64)
    # invoice.quote_id points back here: the cycle is broken with a constraint added by
    # ALTER after both tables exist, so create_all/drop_all can order the tables.
    converted_invoice_id: uuid.UUID | None = Field(
        default=None,
        sa_column_args=[
            ForeignKey("invoice.id", use_alter=True, name="fk_quote_converted_invoice_id")
        ],
    )
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class QuoteLine(SQLModel, table=True):
    __tablename__ = "quote_line"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    quote_id: uuid.UUID = Field(foreign_key="quote.id", index=True, ondelete="CASCADE")
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
