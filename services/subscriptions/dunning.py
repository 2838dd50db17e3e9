"""What the auto-bill attempts of a subscription's invoice do to the subscription
(called by :mod:`services.stripe_gateway.auto_bill` in the transaction that records each
attempt's end):

- a failed attempt with a retry planned, or a bank asking the client to authenticate:
  TRIALING/ACTIVE -> PAST_DUE (retried on the auto-bill schedule: 1, 3, 5 days);
- the last attempt failed: PAST_DUE -> UNPAID or CANCELED, as the account's
  ``subscription_unpaid_action`` says;
- the invoice was paid (by an attempt, or otherwise meanwhile): PAST_DUE or UNPAID ->
  ACTIVE, once no other invoice of the subscription is still failing.

Subscriptions canceled meanwhile keep their status.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.accounts import Account
from models.auto_bill import InvoiceAutoBill
from models.enums import AutoBillStatus, SubscriptionStatus, UnpaidSubscriptionAction
from models.subscriptions import Subscription
from services.events import subscriptions as subscription_events
from services.subscriptions.lifecycle import end_subscription

FAILING = (AutoBillStatus.SCHEDULED, AutoBillStatus.ACTION_REQUIRED, AutoBillStatus.FAILED)
_RETRYING = (AutoBillStatus.SCHEDULED, AutoBillStatus.ACTION_REQUIRED)
_OWED = (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
_GOOD = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE)

UNPAID_REASON = "unpaid"


async def attempt_ended(
    session: AsyncSession, row: InvoiceAutoBill, status: AutoBillStatus, now: datetime
) -> None:
    if row.subscription_id is None:
        return
    subscription = (
        await session.exec(
            select(Subscription)
            .where(col(Subscription.id) == row.subscription_id)
            .with_for_update()
        )
    ).one_or_none()
    if subscription is None or subscription.status is SubscriptionStatus.CANCELED:
        return
    before = subscription.status
    if status in (AutoBillStatus.SUCCEEDED, AutoBillStatus.CANCELED):
        if before in _OWED and not await _other_failing(session, subscription.id, row.invoice_id):
            _move(session, subscription, SubscriptionStatus.ACTIVE, now)
        return
    if status in _RETRYING and before in _GOOD:
        _move(session, subscription, SubscriptionStatus.PAST_DUE, now)
    elif status is AutoBillStatus.FAILED and before is not SubscriptionStatus.UNPAID:
        account = await session.get(Account, subscription.account_id)
        action = account.subscription_unpaid_action if account else UnpaidSubscriptionAction.UNPAID
        if action is UnpaidSubscriptionAction.CANCELED:
            end_subscription(
                session, subscription, None, reason=UNPAID_REASON, at=now, at_period_end=False
            )
        else:
            _move(session, subscription, SubscriptionStatus.UNPAID, now)


def _move(
    session: AsyncSession, subscription: Subscription, status: SubscriptionStatus, now: datetime
) -> None:
    before = subscription.status
    subscription.status = status
    subscription.updated_at = now
    subscription_events.status_changed(session, subscription, from_status=before)


async def _other_failing(
    session: AsyncSession, subscription_id: uuid.UUID, invoice_id: uuid.UUID
) -> bool:
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
