"""Recurring invoices: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid

from models.invoices import Invoice
from models.recurring import RecurringInvoice
from resolvers.common import acting_contact, atomic, caller, parse_id, staff
from resolvers.context import Info
from resolvers.selection import columns_for
from resolvers.views import LINE_COLUMNS, PricedLine
from services import access, recurring
from services.pagination import Page


async def list_recurring_invoices(
    info: Info,
    *,
    first: int | None,
    after: str | None,
    filters: recurring.RecurringInvoiceFilter,
) -> Page[RecurringInvoice]:
    return await recurring.list_recurring_invoices(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def recurring_invoice(info: Info, id: str) -> RecurringInvoice:
    return await access.access_recurring_invoice(info.context.session, caller(info), parse_id(id))


async def recurring_lines(info: Info, recurring_invoice: RecurringInvoice) -> list[PricedLine]:
    columns = columns_for(info, LINE_COLUMNS)
    loader = info.context.loaders.recurring_lines_by_recurring_invoice_id(columns)
    rows = await loader.load(recurring_invoice.id)
    return PricedLine.of_rows(rows, recurring_invoice.currency)


async def issued_invoices(
    info: Info, recurring_invoice_id: uuid.UUID, *, first: int | None, after: str | None
) -> Page[Invoice]:
    rows = await info.context.loaders.invoices_by_recurring_invoice_id.load(recurring_invoice_id)
    return recurring.invoices_page(rows, first=first, after=after)


async def create_recurring_invoice(info: Info, data: recurring.RecurringData) -> RecurringInvoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await recurring.create_recurring_invoice(
            session=work.session, actor=actor, data=data
        )


async def update_recurring_invoice(
    info: Info, id: str, data: recurring.RecurringData
) -> RecurringInvoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await recurring.update_recurring_invoice(
            session=work.session, actor=actor, recurring_invoice_id=parse_id(id), data=data
        )


async def start_recurring_invoice(info: Info, id: str) -> RecurringInvoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await recurring.start_recurring_invoice(
            session=work.session, actor=actor, recurring_invoice_id=parse_id(id)
        )


async def pause_recurring_invoice(info: Info, id: str) -> RecurringInvoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await recurring.pause_recurring_invoice(
            session=work.session, actor=actor, recurring_invoice_id=parse_id(id)
        )


async def resume_recurring_invoice(info: Info, id: str) -> RecurringInvoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await recurring.resume_recurring_invoice(
            session=work.session, actor=actor, recurring_invoice_id=parse_id(id)
        )


async def delete_recurring_invoice(info: Info, id: str) -> uuid.UUID:
    actor = staff(info)
    async with atomic(info) as work:
        return await recurring.delete_recurring_invoice(
            session=work.session, actor=actor, recurring_invoice_id=parse_id(id)
        )


async def set_auto_bill(info: Info, id: str, enabled: bool) -> RecurringInvoice:
    actor = acting_contact(info)
    async with atomic(info) as work:
        return await recurring.set_auto_bill(
            session=work.session, actor=actor, recurring_invoice_id=parse_id(id), enabled=enabled
        )
