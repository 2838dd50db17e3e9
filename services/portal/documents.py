"""Emailing a sent invoice or quote: each contact of the client who may read it gets a
mail with its own document link, which opens that document in the portal (seed 004).
"""

from __future__ import annotations

from sqlmodel import col, select

from auth.policy import TYPE_READS
from auth.profiles import Profile, ProfileKind
from models.accounts import Account
from models.clients import Client, Contact
from models.enums import LinkPurpose
from models.invoices import Invoice
from models.quotes import Quote
from services.client_modules import portal_modules
from services.portal.links import send_link
from services.unit_of_work import UnitOfWork


async def email_document(work: UnitOfWork, document: Invoice | Quote) -> int:
    """Queue the document's mail to every contact who may open it; how many mails.

    A contact receives it when its own schema would show the document: its role holds
    the document type's read permission and its client's modules include the type's
    module (:meth:`auth.profiles.Profile.allows` over :data:`auth.policy.TYPE_READS`).
    Nothing is sent when the client's (or the account's) portal is off or the client is
    archived: the link would not open."""
    session = work.session
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
    read = TYPE_READS[type(document).__name__]
    modules = await portal_modules(session, account, client)
    extra: dict[str, object] = {  # written in the account's locale by the mail
        "number": document.number,
        "total": document.total,
        "currency": document.currency,
    }
    if isinstance(document, Invoice):
        extra["due_date"] = document.due_date
    else:
        extra["valid_until"] = document.valid_until
    sent = 0
    for contact in contacts:
        profile = Profile(ProfileKind.CONTACT, contact_role=contact.role, modules=modules)
        if not profile.allows(read.permission, read.module):
            continue
        await send_link(
            session,
            work.runtime,
            account=account,
            contact=contact,
            purpose=LinkPurpose.DOCUMENT,
            subject=(subject_type, document.id),
            template=f"{subject_type}_sent",
            extra=extra,
        )
        sent += 1
    return sent
