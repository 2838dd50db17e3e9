"""What the auto-bill attempts of a subscription's invoice do to the subscription
(called by :mod:`services.stripe_gateway.auto_bill` in the transaction that records each
attempt's end):

- a failed attempt with a retry planned, or a bank asking the client to authenticate:
  TRIALING/ACTIVE -> PAST_DUE (retried on the auto-bill schedule: 1, 3, 5 days);
- the last attempt failed: PAST_DUE -> UNPAID or CANCELED, as the account's
  ``subscription_unpaid_action`` says;
- the invoice was paid (by an attempt, or otherwise meanwhile): PAST_DUE or UNPAID ->
  ACTIVE, once no other invoice of the subscription is still failing
  (:func:`services.subscription_recovery.recover`; paid in the portal, by a recorded
  payment or a credit, :func:`services.subscription_recovery.invoice_paid` does the same).

Subscriptions canceled meanwhile keep their status.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.accounts import Account
from models.auto_bill import InvoiceAutoBill
from models.enums import AutoBillStatus, SubscriptionStatus, UnpaidSubscriptionAction
from models.subscriptions import Subscription
from services.subscription_recovery import move, recover
from services.subscriptions.lifecycle import end_subscription

_RETRYING = (AutoBillStatus.SCHEDULED, AutoBillStatus.ACTION_REQUIRED)
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
        await recover(session, subscription, row.invoice_id, now)
        return
    if status in _RETRYING and before in _GOOD:
        move(session, subscription, SubscriptionStatus.PAST_DUE, now)
    elif status is AutoBillStatus.FAILED and before is not SubscriptionStatus.UNPAID:
        account = await session.get(Account, subscription.account_id)
        action = account.subscription_unpaid_action if account else UnpaidSubscriptionAction.UNPAID
        if action is UnpaidSubscriptionAction.CANCELED:
            end_subscription(
                session, subscription, None, reason=UNPAID_REASON, at=now, at_period_end=False
            )
        else:
            move(session, subscription, SubscriptionStatus.UNPAID, now)
