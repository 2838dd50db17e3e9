"""Quotes: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

from models.quotes import Quote
from resolvers.common import atomic, caller, parse_id, staff
from resolvers.context import Info
from resolvers.views import PricedLine
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
