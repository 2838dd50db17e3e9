"""Invoices, quotes and payments: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid
from decimal import Decimal

from models.invoices import Invoice
from models.payments import Payment, PaymentAllocation
from models.quotes import Quote
from resolvers.common import atomic, caller, parse_id, staff
from resolvers.context import Info
from resolvers.views import PricedLine
from services import access, invoices, payments, quotes
from services.errors import NotFound
from services.pagination import Page


async def list_invoices(
    info: Info, *, first: int | None, after: str | None, filters: invoices.InvoiceFilter
) -> Page[Invoice]:
    return await invoices.list_invoices(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def invoice(info: Info, id: str) -> Invoice:
    return await access.access_invoice(info.context.session, caller(info), parse_id(id))


async def invoice_lines(info: Info, invoice: Invoice) -> list[PricedLine]:
    rows = await info.context.loaders.invoice_lines_by_invoice_id.load(invoice.id)
    return [PricedLine(row, invoice.currency) for row in rows]


async def invoice_allocations(info: Info, invoice_id: uuid.UUID) -> list[PaymentAllocation]:
    return await info.context.loaders.allocations_by_invoice_id.load(invoice_id)


async def create_invoice(info: Info, data: invoices.InvoiceData) -> Invoice:
    actor = staff(info)
    async with atomic(info) as session:
        return await invoices.create_invoice(session=session, actor=actor, data=data)


async def update_invoice(info: Info, id: str, data: invoices.InvoiceData) -> Invoice:
    actor = staff(info)
    async with atomic(info) as session:
        return await invoices.update_invoice(
            session=session, actor=actor, invoice_id=parse_id(id), data=data
        )


async def send_invoice(info: Info, id: str) -> Invoice:
    actor = staff(info)
    async with atomic(info) as session:
        return await invoices.send_invoice(session=session, actor=actor, invoice_id=parse_id(id))


async def void_invoice(info: Info, id: str) -> Invoice:
    actor = staff(info)
    async with atomic(info) as session:
        return await invoices.void_invoice(session=session, actor=actor, invoice_id=parse_id(id))


async def list_quotes(
    info: Info, *, first: int | None, after: str | None, filters: quotes.QuoteFilter
) -> Page[Quote]:
    return await quotes.list_quotes(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def quote(info: Info, id: str) -> Quote:
    return await access.access_quote(info.context.session, caller(info), parse_id(id))


async def quote_lines(info: Info, quote: Quote) -> list[PricedLine]:
    rows = await info.context.loaders.quote_lines_by_quote_id.load(quote.id)
    return [PricedLine(row, quote.currency) for row in rows]


async def create_quote(info: Info, data: quotes.QuoteData) -> Quote:
    actor = staff(info)
    async with atomic(info) as session:
        return await quotes.create_quote(session=session, actor=actor, data=data)


async def send_quote(info: Info, id: str) -> Quote:
    actor = staff(info)
    async with atomic(info) as session:
        return await quotes.send_quote(session=session, actor=actor, quote_id=parse_id(id))


async def list_payments(
    info: Info, *, first: int | None, after: str | None, filters: payments.PaymentFilter
) -> Page[Payment]:
    return await payments.list_payments(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def payment(info: Info, id: str) -> Payment:
    return await access.access_payment(info.context.session, caller(info), parse_id(id))


async def payment_allocations(info: Info, payment_id: uuid.UUID) -> list[PaymentAllocation]:
    return await info.context.loaders.allocations_by_payment_id.load(payment_id)


async def payment_unapplied(info: Info, payment: Payment) -> Decimal:
    allocations = await info.context.loaders.allocations_by_payment_id.load(payment.id)
    return payments.unapplied(payment, sum((a.amount for a in allocations), Decimal(0)))


async def allocation_invoice(info: Info, invoice_id: uuid.UUID) -> Invoice | None:
    """The invoice of an allocation, or ``None`` when the caller may not see it."""
    return await info.context.loaders.invoice_by_id.load(invoice_id)


async def allocation_payment(info: Info, payment_id: uuid.UUID) -> Payment:
    row = await info.context.loaders.payment_by_id.load(payment_id)
    if row is None:  # pragma: no cover - allocations are read through a scoped parent
        raise NotFound("Payment")
    return row


async def record_payment(info: Info, data: payments.PaymentData) -> Payment:
    actor = staff(info)
    async with atomic(info) as session:
        return await payments.record_payment(session=session, actor=actor, data=data)
