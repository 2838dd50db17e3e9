"""Quotes: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

from models.invoices import Invoice
from models.quotes import Quote
from resolvers.common import acting_contact, atomic, caller, parse_id, staff
from resolvers.context import Info
from resolvers.selection import columns_for
from resolvers.views import LINE_COLUMNS, PricedLine
from services import access, quotes
from services.pagination import Page


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
    columns = columns_for(info, LINE_COLUMNS)
    rows = await info.context.loaders.quote_lines_by_quote_id(columns).load(quote.id)
    return PricedLine.of_rows(rows, quote.currency)


async def create_quote(info: Info, data: quotes.QuoteData) -> Quote:
    actor = staff(info)
    async with atomic(info) as work:
        return await quotes.create_quote(session=work.session, actor=actor, data=data)


async def send_quote(info: Info, id: str) -> Quote:
    actor = staff(info)
    async with atomic(info) as work:
        return await quotes.send_quote(work, actor=actor, quote_id=parse_id(id))


async def approve_quote(info: Info, id: str, data: quotes.ApprovalData) -> quotes.Approval:
    actor = acting_contact(info)
    async with atomic(info) as work:
        return await quotes.approve_quote(
            work,
            actor=actor,
            quote_id=parse_id(id),
            data=data,
            client_address=info.context.client_address,
        )


async def decline_quote(info: Info, id: str, reason: str | None) -> Quote:
    actor = acting_contact(info)
    async with atomic(info) as work:
        return await quotes.decline_quote(
            session=work.session, actor=actor, quote_id=parse_id(id), reason=reason
        )


async def mark_quote_viewed(info: Info, id: str) -> Quote:
    actor = caller(info)
    async with atomic(info) as work:
        return await quotes.mark_quote_viewed(
            session=work.session, actor=actor, quote_id=parse_id(id)
        )


async def converted_invoice(info: Info, quote: Quote) -> Invoice | None:
    """The invoice the quote became, or ``None`` when there is none the caller may see."""
    if quote.converted_invoice_id is None:
        return None
    return await info.context.loaders.invoice_by_id.load(quote.converted_invoice_id)


async def quote_is_expired(info: Info, quote: Quote) -> bool:
    """Past its valid-until date where the business is (the account's time zone)."""
    if quote.valid_until is None:
        return False
    account = await info.context.loaders.account_by_id.load(quote.account_id)
    return quotes.is_expired(quote, quotes.local_today(account.timezone if account else None))
