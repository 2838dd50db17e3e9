"""Credits: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

from models.credits import Credit, CreditApplication
from models.invoices import Invoice
from resolvers.common import caller, parse_id
from resolvers.context import Info
from resolvers.views import PricedLine
from services import access, credits
from services.pagination import Page


async def list_credits(
    info: Info, *, first: int | None, after: str | None, filters: credits.CreditFilter
) -> Page[Credit]:
    return await credits.list_credits(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def credit(info: Info, id: str) -> Credit:
    return await access.access_credit(info.context.session, caller(info), parse_id(id))


async def credit_applications(info: Info, credit: Credit) -> list[PricedLine]:
    """The credit's applications, each with the credit's currency for its amount."""
    rows = await info.context.loaders.credit_applications_by_credit_id.load(credit.id)
    return [PricedLine(row, credit.currency) for row in rows]


async def application_invoice(info: Info, application: CreditApplication) -> Invoice | None:
    """The invoice a credit was applied to, or ``None`` when the caller may not see it."""
    return await info.context.loaders.invoice_by_id.load(application.invoice_id)
