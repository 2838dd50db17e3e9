"""Line items of invoices, quotes and recurring invoices."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from auth.policy import Permission
from schema.fields import field, id_field, money
from services.lines import LineData


@strawberry.type(
    description="One line of an invoice or a quote; amounts are computed by the server."
)
class LineItem:
    id: strawberry.ID = id_field()
    position: int = field("Order of the line on its document, from 0.")
    description: str = field("What is charged.")
    quantity: Decimal = field("How many units.")
    unit_price: Decimal = money("unit_price", "Price of one unit.")
    discount_percent: Decimal = field("Discount on this line, in percent.")
    tax_name: str | None = field("Name of the tax applied, e.g. VAT.")
    tax_rate: Decimal = field("Tax rate on this line, in percent.")
    subtotal: Decimal = money("line_subtotal", "Quantity x unit price, rounded.")
    discount: Decimal = money("line_discount", "Discount amount, rounded.")
    tax: Decimal = money("line_tax", "Tax amount, rounded.")
    total: Decimal = money("line_total", "Subtotal - discount + tax.")
    unit_cost: Decimal | None = money(
        "unit_cost",
        "What one unit costs the business (internal).",
        permission=Permission.RATES_AND_COSTS_READ,
        optional=True,
    )


@strawberry.input(description="A line to put on a document.")
class LineInput:
    description: str = strawberry.field(description="What is charged.")
    quantity: Decimal = strawberry.field(description="How many units; not negative.")
    unit_price: Decimal = strawberry.field(
        description="Price of one unit, at most the currency's decimal places."
    )
    discount_percent: Decimal = strawberry.field(
        default=Decimal(0), description="Discount in percent (0-100)."
    )
    tax_rate: Decimal = strawberry.field(default=Decimal(0), description="Tax in percent (0-100).")
    tax_name: str | None = strawberry.field(default=None, description="Name of the tax.")
    unit_cost: Decimal | None = strawberry.field(
        default=None, description="Internal cost of one unit (never shown to clients)."
    )

    def to_data(self) -> LineData:
        return LineData(
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            discount_percent=self.discount_percent,
            tax_rate=self.tax_rate,
            tax_name=self.tax_name,
            unit_cost=self.unit_cost,
        )
