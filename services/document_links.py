"""Emailing a sent invoice or quote: each contact of the client who may read it gets a
mail with its own document link, which opens that document in the portal (seed 004).
"""

from __future__ import annotations

from babel.numbers import format_currency
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.policy import Permission, contact_holds
from models.accounts import Account
from models.clients import Client, Contact
from models.enums import LinkPurpose
from models.invoices import Invoice
from models.quotes import Quote
from services.money import round_money
from services.portal_auth import LinkServices, send_link

READ_PERMISSION = {"invoice": Permission.INVOICES_READ, "quote": Permission.QUOTES_READ}


async def email_document(
    session: AsyncSession, deps: LinkServices, *, document: Invoice | Quote
) -> int:
    """Queue the document's mail to every contact who may open it; how many mails.

    Nothing is sent when the client's (or the account's) portal is off or the client is
    archived: the link would not open."""
    subject_type = "invoice" if isinstance(document, Invoice) else "quote"
    account = await session.get(Account, document.account_id)
    client = await session.get(Client, document.client_id)
    if account is None or client is None:  # pragma: no cover - the document's owners exist
        return 0
    if not (account.portal_enabled and client.portal_enabled and client.archived_at is None):
        return 0
    contacts = (
        await session.exec(
            select(Contact)
            .where(Contact.client_id == client.id)
            .order_by(col(Contact.is_primary).desc(), col(Contact.email))
        )
    ).all()
    permission = READ_PERMISSION[subject_type]
    sent = 0
    for contact in contacts:
        if not contact_holds(contact.role, permission):
            continue
        extra: dict[str, object] = {
            "number": document.number,
            "total": format_currency(
                round_money(document.total, document.currency), document.currency, locale="en_US"
            ),
        }
        if isinstance(document, Invoice):
            extra["due_date"] = document.due_date.isoformat() if document.due_date else None
        else:
            extra["valid_until"] = (
                document.valid_until.isoformat() if document.valid_until else None
            )
        await send_link(
            session,
            deps,
            account=account,
            contact=contact,
            purpose=LinkPurpose.DOCUMENT,
            subject=(subject_type, document.id),
            template=f"{subject_type}_sent",
            extra=extra,
        )
        sent += 1
    return sent
