"""Telling the client's billing contacts that an automatic charge failed (an auto-billed
invoice, or a recurring pre-payment's cycle): each gets a mail with its own link to the
portal (where the invoice can be paid, or the card changed), the reason in words, and
when Portico tries again."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlmodel import col, select

from models.accounts import Account
from models.clients import Client, Contact
from models.enums import ContactRole, LinkPurpose
from models.invoices import Invoice
from models.payment_methods import SavedPaymentMethod
from models.prepayments import RecurringPrepayment
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
    return await _mail_billing_contacts(
        work,
        account_id=invoice.account_id,
        client_id=invoice.client_id,
        subject=("invoice", invoice.id),
        template="auto_bill_failed",
        extra={  # written in the account's locale and time zone by the mail
            "number": invoice.number or "",
            "amount": invoice.balance if amount is None else amount,
            "currency": invoice.currency,
            **_failure(method, reason, next_attempt_at, action_required),
        },
    )


async def mail_prepayment_failed(
    work: UnitOfWork,
    prepayment: RecurringPrepayment,
    *,
    method: SavedPaymentMethod | None,
    reason: str,
    next_attempt_at: datetime | None,
    action_required: bool,
) -> int:
    """The same mail for a recurring pre-payment's cycle (``prepayment_failed``): its link
    opens the portal, where the client pre-pays by hand or changes the card."""
    return await _mail_billing_contacts(
        work,
        account_id=prepayment.account_id,
        client_id=prepayment.client_id,
        subject=("recurring_prepayment", prepayment.id),
        template="prepayment_failed",
        extra={  # written in the account's locale and time zone by the mail
            "amount": prepayment.amount,
            "currency": prepayment.currency,
            "cycle": prepayment.charges,
            "next_charge": prepayment.next_charge_at,
            **_failure(method, reason, next_attempt_at, action_required),
        },
    )


def _failure(
    method: SavedPaymentMethod | None,
    reason: str,
    next_attempt_at: datetime | None,
    action_required: bool,
) -> dict[str, object]:
    return {
        "method": describe_method(method),
        "reason": reason,
        "next_attempt": next_attempt_at,
        "action_required": action_required,
    }


async def _mail_billing_contacts(
    work: UnitOfWork,
    *,
    account_id: uuid.UUID,
    client_id: uuid.UUID,
    subject: tuple[str, uuid.UUID],
    template: str,
    extra: dict[str, object],
) -> int:
    session = work.session
    account = await session.get(Account, account_id)
    client = await session.get(Client, client_id)
    if account is None or client is None:  # pragma: no cover - the charge's owners
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
    for contact in contacts:
        await send_link(
            session,
            work.runtime,
            account=account,
            contact=contact,
            purpose=LinkPurpose.DOCUMENT,
            subject=subject,
            template=template,
            extra=extra,
        )
    return len(contacts)
