"""Credits: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

from decimal import Decimal

from auth.principals import ContactPrincipal
from models.credits import Credit, CreditApplication
from models.invoices import Invoice
from resolvers.common import atomic, caller, parse_id, staff
from resolvers.context import Info
from resolvers.views import PricedLine
from services import access, credits
from services.errors import BadInput
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
    return PricedLine.of_rows(rows, credit.currency)


async def application_invoice(info: Info, application: CreditApplication) -> Invoice | None:
    """The invoice a credit was applied to, or ``None`` when the caller may not see it."""
    return await info.context.loaders.invoice_by_id.load(application.invoice_id)


async def available_credit(info: Info, client_id: str | None) -> list[credits.AvailableCredit]:
    """A contact's own client by default; staff and partners name the client."""
    principal = caller(info)
    if client_id is not None:
        target = parse_id(client_id, field="clientId")
    elif isinstance(principal, ContactPrincipal):
        target = principal.client_id
    else:
        raise BadInput("Name the client.", field="clientId")
    return await credits.available_credit(
        session=info.context.session, principal=principal, client_id=target
    )


async def create_credit(info: Info, data: credits.CreditData) -> Credit:
    actor = staff(info)
    async with atomic(info) as work:
        return await credits.create_credit(session=work.session, actor=actor, data=data)


async def apply_credit(
    info: Info, credit_id: str, invoice_id: str, amount: Decimal | None
) -> Credit:
    actor = staff(info)
    async with atomic(info) as work:
        return await credits.apply_credit(
            session=work.session,
            actor=actor,
            credit_id=parse_id(credit_id, field="creditId"),
            invoice_id=parse_id(invoice_id, field="invoiceId"),
            amount=amount,
        )
