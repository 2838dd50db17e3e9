"""Invoices: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid

from models.auto_bill import InvoiceAutoBill
from models.invoices import Invoice
from models.payments import PaymentAllocation
from resolvers.common import atomic, caller, parse_id, staff
from resolvers.context import Info
from resolvers.selection import columns_for, node_columns_for
from resolvers.views import INVOICE_COLUMNS, LINE_COLUMNS, PricedLine
from services import access, invoices
from services.futures import Future, then
from services.pagination import Page
from services.rows import InvoiceView


async def list_invoices(
    info: Info, *, first: int | None, after: str | None, filters: invoices.InvoiceFilter
) -> Page[InvoiceView]:
    return await invoices.list_invoices(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
        columns=node_columns_for(info, INVOICE_COLUMNS),
    )


async def invoice(info: Info, id: str) -> Invoice:
    return await access.access_invoice(info.context.session, caller(info), parse_id(id))


def invoice_lines(info: Info, invoice: Invoice) -> Future[list[PricedLine]]:
    """The invoice's lines with its currency (a future, like
    :func:`resolvers.clients.client_of`)."""
    columns = columns_for(info, LINE_COLUMNS)
    currency = invoice.currency
    loaded = info.context.loaders.invoice_lines_by_invoice_id(columns).load(invoice.id)
    return then(loaded, lambda done: PricedLine.of_rows(done.result(), currency))


def invoices_lines(info: Info, invoices: list[Invoice]) -> Future[list[list[PricedLine]]]:
    """:func:`invoice_lines` for a list of invoices at once (their lines loaded as one
    ``load_many``: schema.direct_resolvers.batched)."""
    columns = columns_for(info, LINE_COLUMNS)
    loaded = info.context.loaders.invoice_lines_by_invoice_id(columns).load_many(
        [invoice.id for invoice in invoices]
    )
    currencies = [invoice.currency for invoice in invoices]
    return then(
        loaded,
        lambda done: [
            PricedLine.of_rows(rows, currency)
            for rows, currency in zip(done.result(), currencies, strict=True)
        ],
    )


async def invoice_allocations(info: Info, invoice_id: uuid.UUID) -> list[PaymentAllocation]:
    return await info.context.loaders.allocations_by_invoice_id.load(invoice_id)


async def invoice_auto_bill(info: Info, invoice_id: uuid.UUID) -> InvoiceAutoBill | None:
    """The invoice's automatic charge, if its schedule bills it automatically."""
    return await info.context.loaders.auto_bill_by_invoice_id.load(invoice_id)


async def create_invoice(info: Info, data: invoices.InvoiceData) -> Invoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await invoices.create_invoice(session=work.session, actor=actor, data=data)


async def update_invoice(info: Info, id: str, data: invoices.InvoiceData) -> Invoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await invoices.update_invoice(
            session=work.session, actor=actor, invoice_id=parse_id(id), data=data
        )


async def send_invoice(info: Info, id: str) -> Invoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await invoices.send_invoice(work, actor=actor, invoice_id=parse_id(id))


async def mark_invoice_sent(info: Info, id: str) -> Invoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await invoices.mark_invoice_sent(work, actor=actor, invoice_id=parse_id(id))


async def mark_invoice_viewed(info: Info, id: str) -> Invoice:
    actor = caller(info)
    async with atomic(info) as work:
        return await invoices.mark_invoice_viewed(
            session=work.session, actor=actor, invoice_id=parse_id(id)
        )


async def void_invoice(info: Info, id: str) -> Invoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await invoices.void_invoice(
            session=work.session, actor=actor, invoice_id=parse_id(id)
        )
