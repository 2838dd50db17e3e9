"""Line items shared by invoices, quotes and recurring invoices: validation and exact
totals.

The rounding rule is in :mod:`services.money`: each line's subtotal, discount and tax are
rounded half up to the currency's minor unit, and document totals are sums of the rounded
line amounts. Every amount (per line and per document) must stay below
:data:`~services.money.MAX_AMOUNT`; a larger one is ``BAD_USER_INPUT``, never a database
error.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.errors import BadInput
from services.money import (
    MAX_AMOUNT,
    ZERO,
    DocumentTotals,
    LineAmounts,
    check_amount,
    check_quantity,
    document_totals,
    line_amounts,
)
from services.validation import optional_text, required_text

MAX_LINES = 500


@dataclass(slots=True)
class LineData:
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = ZERO
    tax_rate: Decimal = ZERO
    tax_name: str | None = None
    unit_cost: Decimal | None = None


class HasTotals(Protocol):
    account_id: uuid.UUID
    currency: str
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal


STORED_FIELDS = (
    "position",
    "description",
    "quantity",
    "unit_price",
    "unit_cost",
    "discount_percent",
    "tax_name",
    "tax_rate",
    "line_subtotal",
    "line_discount",
    "line_tax",
    "line_total",
)
"""What a stored line holds besides its keys: copied as is by :func:`copy_lines`."""


def copy_lines(rows: Sequence[Any], line_model: type[Any], **parent_key: uuid.UUID) -> list[Any]:
    """Copies of stored ``rows`` for another document (``parent_key``: its foreign key),
    amounts as they are: what a client approved is never recomputed. Nothing is added
    to the session here."""
    return [
        line_model(
            account_id=row.account_id,
            **{name: getattr(row, name) for name in STORED_FIELDS},
            **parent_key,
        )
        for row in rows
    ]


async def stored_lines(
    session: AsyncSession, line_model: type[Any], parent_key: str, parent_id: uuid.UUID
) -> list[LineData]:
    """The lines stored for a document, in order, as the input that would rebuild them
    (to reprice them, or to issue a schedule's invoice)."""
    rows = (
        await session.exec(
            select(line_model)
            .where(getattr(line_model, parent_key) == parent_id)
            .order_by(line_model.position)
        )
    ).all()
    return [line_data_of(row) for row in rows]


def line_data_of(row: Any) -> LineData:
    """The input that would rebuild a stored line (to copy or reprice it)."""
    return LineData(
        description=row.description,
        quantity=row.quantity,
        unit_price=row.unit_price,
        discount_percent=row.discount_percent,
        tax_rate=row.tax_rate,
        tax_name=row.tax_name,
        unit_cost=row.unit_cost,
    )


def build_lines(
    line_model: Any,
    parent_key: str,
    parent: Any,
    lines: list[LineData],
) -> list[Any]:
    """Validated line rows for ``parent`` with their amounts computed; sets the parent's
    totals. Nothing is added to the session here."""
    if len(lines) > MAX_LINES:
        raise BadInput(f"At most {MAX_LINES} lines.", field="lines")
    currency = parent.currency
    rows: list[Any] = []
    amounts: list[LineAmounts] = []
    for index, line in enumerate(lines):
        prefix = f"lines.{index}."
        description = required_text(line.description, field=prefix + "description", max_length=5000)
        quantity = check_quantity(line.quantity, field=prefix + "quantity")
        unit_price = check_amount(line.unit_price, currency, field=prefix + "unitPrice")
        discount = check_quantity(line.discount_percent, field=prefix + "discountPercent")
        if discount > 100:
            raise BadInput("Discount cannot exceed 100%.", field=prefix + "discountPercent")
        tax_rate = check_quantity(line.tax_rate, field=prefix + "taxRate")
        if tax_rate > 100:
            raise BadInput("Tax rate cannot exceed 100%.", field=prefix + "taxRate")
        unit_cost = (
            check_amount(line.unit_cost, currency, field=prefix + "unitCost")
            if line.unit_cost is not None
            else None
        )
        # Checked before rounding: a product beyond Decimal's 28 digits cannot be
        # quantized to the currency's minor unit at all.
        if quantity * unit_price >= MAX_AMOUNT:
            raise BadInput("This line's amount is too large.", field=prefix + "quantity")
        computed = line_amounts(
            quantity=quantity,
            unit_price=unit_price,
            discount_percent=discount,
            tax_rate=tax_rate,
            currency=currency,
        )
        if max(computed.subtotal, computed.total) >= MAX_AMOUNT:
            raise BadInput("This line's amount is too large.", field=prefix + "quantity")
        amounts.append(computed)
        rows.append(
            line_model(
                account_id=parent.account_id,
                position=index,
                description=description,
                quantity=quantity,
                unit_price=unit_price,
                unit_cost=unit_cost,
                discount_percent=discount,
                tax_rate=tax_rate,
                tax_name=optional_text(line.tax_name, field=prefix + "taxName", max_length=50),
                line_subtotal=computed.subtotal,
                line_discount=computed.discount,
                line_tax=computed.tax,
                line_total=computed.total,
                **{parent_key: parent.id},
            )
        )
    totals = document_totals(amounts)
    if max(totals.subtotal, totals.discount, totals.tax, totals.total) >= MAX_AMOUNT:
        raise BadInput("The document's total is too large.", field="lines")
    apply_totals(parent, totals)
    return rows


def apply_totals(parent: HasTotals, totals: DocumentTotals) -> None:
    parent.subtotal = totals.subtotal
    parent.discount_total = totals.discount
    parent.tax_total = totals.tax
    parent.total = totals.total


async def replace_lines(
    session: AsyncSession,
    line_model: type[Any],
    parent_key: str,
    parent: Any,
    lines: list[LineData],
) -> list[Any]:
    rows = build_lines(line_model, parent_key, parent, lines)
    await session.exec(delete(line_model).where(getattr(line_model, parent_key) == parent.id))
    session.add_all(rows)
    return rows


async def append_lines(
    session: AsyncSession,
    line_model: type[Any],
    parent_key: str,
    parent: Any,
    lines: list[LineData],
) -> list[Any]:
    """Add validated ``lines`` after the document's stored ones (which stay as they are,
    links such as ``time_log_id`` included) and set the document's totals to the exact
    sum over all its lines."""
    existing = (
        await session.exec(
            select(line_model)
            .where(getattr(line_model, parent_key) == parent.id)
            .order_by(line_model.position)
        )
    ).all()
    if len(existing) + len(lines) > MAX_LINES:
        raise BadInput(f"At most {MAX_LINES} lines.", field="lines")
    rows = build_lines(line_model, parent_key, parent, lines)
    start = max((row.position for row in existing), default=-1) + 1
    for offset, row in enumerate(rows):
        row.position = start + offset
    totals = document_totals(
        LineAmounts(row.line_subtotal, row.line_discount, row.line_tax, row.line_total)
        for row in (*existing, *rows)
    )
    if max(totals.subtotal, totals.discount, totals.tax, totals.total) >= MAX_AMOUNT:
        raise BadInput("The document's total is too large.", field="lines")
    apply_totals(parent, totals)
    session.add_all(rows)
    return rows
