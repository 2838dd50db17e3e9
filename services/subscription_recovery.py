"""A subscription in arrears recovers when its invoice is paid, however it is paid.

Auto-bill moves a subscription to PAST_DUE when a charge fails and to UNPAID once the
last retry fails (:mod:`services.subscriptions.dunning`). The client may then pay the
invoice another way: by card in the portal, by a payment staff record, or with a credit.
:func:`invoice_paid` is called by each of those in the transaction that settles the
invoice: the invoice's auto-bill attempts stop (nothing is left to charge), and the
subscription goes back to ACTIVE once no other invoice of it is still failing, as
Stripe does when the latest invoice of an ``unpaid`` subscription is paid.

Locks, in the order every writer takes them (invoice, then auto-bill row, then
subscription): an auto-bill row the scheduler holds is skipped, not waited for; the
scheduler sees the invoice paid when it gets the invoice's lock, closes that row itself
and recovers the subscription the same way (:func:`recover`).

This module sits below :mod:`services.payments` and :mod:`services.credits`, which call
it, and below :mod:`services.subscriptions`, which imports :mod:`services.payments`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.auto_bill import InvoiceAutoBill
from models.enums import AutoBillStatus, InvoiceStatus, SubscriptionStatus
from models.invoices import Invoice
from models.subscriptions import Subscription, SubscriptionInvoice
from models.types import utcnow
from services.events import subscriptions as subscription_events

FAILING = (AutoBillStatus.SCHEDULED, AutoBillStatus.ACTION_REQUIRED, AutoBillStatus.FAILED)
"""Auto-bill states of an invoice still owed after a charge was tried or planned."""

OWED = (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)


async def invoice_paid(session: AsyncSession, invoice: Invoice) -> None:
    """``invoice`` was just settled (its status PAID) in ``session``'s transaction."""
    if invoice.status is not InvoiceStatus.PAID:
        return
    subscription_id = (
        await session.exec(
            select(SubscriptionInvoice.subscription_id).where(
                col(SubscriptionInvoice.invoice_id) == invoice.id
            )
        )
    ).first()
    if subscription_id is None:
        return
    now = utcnow()
    attempts = await session.exec(
        select(InvoiceAutoBill)
        .where(
            col(InvoiceAutoBill.invoice_id) == invoice.id,
            col(InvoiceAutoBill.status).in_(FAILING),
        )
        .with_for_update(skip_locked=True)
    )
    for row in attempts.all():
        row.status = AutoBillStatus.CANCELED
        row.next_attempt_at = None
        row.updated_at = now
    subscription = (
        await session.exec(
            select(Subscription).where(col(Subscription.id) == subscription_id).with_for_update()
        )
    ).one_or_none()
    if subscription is not None:
        await recover(session, subscription, invoice.id, now)


async def recover(
    session: AsyncSession, subscription: Subscription, paid_invoice_id: uuid.UUID, now: datetime
) -> None:
    """PAST_DUE or UNPAID -> ACTIVE, unless another invoice of ``subscription`` is still
    failing (``subscription`` is locked by the caller)."""
    if subscription.status not in OWED:
        return
    if await other_failing(session, subscription.id, paid_invoice_id):
        return
    move(session, subscription, SubscriptionStatus.ACTIVE, now)


def move(
    session: AsyncSession, subscription: Subscription, status: SubscriptionStatus, now: datetime
) -> None:
    """Change ``subscription``'s status, recording it."""
    before = subscription.status
    subscription.status = status
    subscription.updated_at = now
    subscription_events.status_changed(session, subscription, from_status=before)


async def other_failing(
    session: AsyncSession, subscription_id: uuid.UUID, invoice_id: uuid.UUID
) -> bool:
    """Whether an invoice of the subscription other than ``invoice_id`` has a charge that
    was tried and is still owed."""
    found = (
        await session.exec(
            select(InvoiceAutoBill.invoice_id).where(
                col(InvoiceAutoBill.subscription_id) == subscription_id,
                col(InvoiceAutoBill.invoice_id) != invoice_id,
                col(InvoiceAutoBill.status).in_(FAILING),
                col(InvoiceAutoBill.attempts) > 0,
            )
        )
    ).first()
    return found is not None
