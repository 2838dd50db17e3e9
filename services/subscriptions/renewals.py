"""The renewal job: every subscription whose period has ended starts its next one, and
the new period is invoiced in advance (charged by the auto-bill path right after).

Safe to run from any number of instances, like the recurring-invoice job
(:mod:`services.recurring.scheduler`): each subscription is renewed in its own unit of
work that first takes its row lock (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
write lock otherwise) and re-checks it is still due, and
``UNIQUE (subscription_id, kind, period_start)`` refuses a second invoice for a period.
Periods missed while nothing ran are caught up, one invoice each.

At a period's end: a subscription set to cancel then ends (CANCELED); a trial becomes
ACTIVE with its first paid period; PAST_DUE ones go on being billed while their charge
is retried. UNPAID and CANCELED ones are never renewed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from models.enums import SubscriptionStatus
from models.subscriptions import Subscription, SubscriptionPlan
from services.events import subscriptions as subscription_events
from services.runtime import Runtime
from services.subscriptions.lifecycle import bill_period, end_subscription
from services.subscriptions.periods import period_end
from services.unit_of_work import unit_of_work

log = structlog.get_logger("portico.subscriptions")

RENEWING = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
MAX_CATCH_UP = 400
"""Periods one run issues for one subscription at most (a weekly plan left for years)."""


@dataclass(slots=True)
class RenewalRun:
    invoices: list[uuid.UUID] = field(default_factory=list)
    """Invoices issued, to be charged."""
    ended: list[uuid.UUID] = field(default_factory=list)
    """Subscriptions canceled at their period's end."""
    failed: list[uuid.UUID] = field(default_factory=list)


def _due(now: datetime) -> list[object]:
    return [
        col(Subscription.status).in_(RENEWING),
        col(Subscription.current_period_end).is_not(None),
        col(Subscription.current_period_end) <= now,
    ]


async def renew_due_subscriptions(runtime: Runtime, *, now: datetime) -> RenewalRun:
    run = RenewalRun()
    async with runtime.sessions() as session:
        candidates = list(
            (
                await session.exec(
                    select(Subscription.id)
                    .where(*_due(now))  # type: ignore[arg-type]
                    .order_by(col(Subscription.current_period_end), col(Subscription.id))
                )
            ).all()
        )
    for subscription_id in candidates:
        try:
            await _renew(runtime, subscription_id, now, run)
        except IntegrityError:
            log.warning("subscription_period_conflict", subscription_id=str(subscription_id))
            run.failed.append(subscription_id)
        except Exception:
            log.exception("subscription_renewal_failed", subscription_id=str(subscription_id))
            run.failed.append(subscription_id)
    return run


async def _renew(
    runtime: Runtime, subscription_id: uuid.UUID, now: datetime, run: RenewalRun
) -> None:
    async with unit_of_work(runtime) as work:
        session = work.session
        subscription = (
            await session.exec(
                select(Subscription)
                .where(col(Subscription.id) == subscription_id, *_due(now))  # type: ignore[arg-type]
                .with_for_update(skip_locked=True)
            )
        ).one_or_none()
        if subscription is None:
            return
        plan = await session.get(SubscriptionPlan, subscription.plan_id)
        if plan is None:  # pragma: no cover - a subscription's plan is never deleted
            raise LookupError("the subscription's plan is gone")
        for _ in range(MAX_CATCH_UP):
            end = subscription.current_period_end
            if subscription.status not in RENEWING or end is None or end > now:
                break
            if subscription.cancel_at_period_end:
                end_subscription(
                    session, subscription, None, reason=None, at=end, at_period_end=True
                )
                run.ended.append(subscription.id)
                break
            anchor = subscription.billing_anchor or end
            subscription.billing_anchor = anchor
            subscription.period_number += 1
            subscription.current_period_start = end
            subscription.current_period_end = period_end(anchor, plan, subscription.period_number)
            subscription.updated_at = now
            if subscription.status is SubscriptionStatus.TRIALING:
                subscription.status = SubscriptionStatus.ACTIVE
                subscription_events.status_changed(
                    session, subscription, from_status=SubscriptionStatus.TRIALING
                )
            invoice = await bill_period(work, subscription, plan, now=now)
            if invoice is not None:
                run.invoices.append(invoice.id)
