"""Recurring invoices: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

from models.recurring import RecurringInvoice
from resolvers.common import acting_contact, atomic, caller, parse_id
from resolvers.context import Info
from resolvers.views import PricedLine
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
    rows = await info.context.loaders.recurring_lines_by_recurring_invoice_id.load(
        recurring_invoice.id
    )
    return [PricedLine(row, recurring_invoice.currency) for row in rows]


async def set_auto_bill(info: Info, id: str, enabled: bool) -> RecurringInvoice:
    actor = acting_contact(info)
    async with atomic(info) as session:
        return await recurring.set_auto_bill(
            session=session, actor=actor, recurring_invoice_id=parse_id(id), enabled=enabled
        )
