"""Telling the client's billing contacts that an automatic charge failed: each gets a
mail with its own link to the invoice in the portal (where it can be paid, or the card
changed), the reason in words, and when Portico tries again."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlmodel import col, select

from models.accounts import Account
from models.clients import Client, Contact
from models.enums import ContactRole, LinkPurpose
from models.invoices import Invoice
from models.payment_methods import SavedPaymentMethod
from services.portal.links import send_link
from services.unit_of_work import UnitOfWork


def describe_method(method: SavedPaymentMethod | None) -> str:
    if method is None:
        return "payment method"
    name = f"{method.brand} {method.kind}" if method.brand else method.kind.replace("_", " ")
    return f"{name} ending in {method.last4}" if method.last4 else name


async def mail_billing_contacts(
    work: UnitOfWork,
    invoice: Invoice,
    *,
    amount: Decimal | None = None,
    method: SavedPaymentMethod | None,
    reason: str,
    next_attempt_at: datetime | None,
    action_required: bool,
) -> int:
    """Queue the mail to every BILLING contact of the invoice's client (the contacts who
    can pay); how many. None while the portal is off for the client (the link would not
    open)."""
    session = work.session
    account = await session.get(Account, invoice.account_id)
    client = await session.get(Client, invoice.client_id)
    if account is None or client is None:  # pragma: no cover - the invoice's owners
        return 0
    if not (account.portal_enabled and client.portal_enabled and client.archived_at is None):
        return 0
    contacts = (
        await session.exec(
            select(Contact)
            .where(col(Contact.client_id) == client.id, col(Contact.role) == ContactRole.BILLING)
            .order_by(col(Contact.is_primary).desc(), col(Contact.email))
        )
    ).all()
    extra: dict[str, object] = {  # written in the account's locale and time zone by the mail
        "number": invoice.number or "",
        "amount": invoice.balance if amount is None else amount,
        "currency": invoice.currency,
        "method": describe_method(method),
        "reason": reason,
        "next_attempt": next_attempt_at,
        "action_required": action_required,
    }
    for contact in contacts:
        await send_link(
            session,
            work.runtime,
            account=account,
            contact=contact,
            purpose=LinkPurpose.DOCUMENT,
            subject=("invoice", invoice.id),
            template="auto_bill_failed",
            extra=extra,
        )
    return len(contacts)
