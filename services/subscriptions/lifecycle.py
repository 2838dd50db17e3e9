"""What staff and a client's billing contact do to a subscription, one action each.

- Staff subscribe a client to an active plan, charged to a named saved method or the
  client's default. With a trial the subscription is TRIALING until the trial's end;
  without one its first period is invoiced at once (:mod:`.invoicing`).
- A billing contact may cancel (now, or at the period's end) when the plan allows it,
  else only ask staff to (``requestSubscriptionCancellation``); staff may always cancel.
- Plan changes (contacts: when the plan allows them) are prorated by :func:`prorate`;
  :func:`preview_plan_change` and :func:`change_plan` compute the same
  :class:`~.proration.Proration`, so the preview is what is charged.
- The payment method charged may be changed at any time; a charge being retried uses the
  new one on its next attempt.

Nothing is refunded when a subscription is canceled at once; what is owed stays owed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.credits import Credit
from models.enums import CreditStatus, SubscriptionStatus
from models.invoices import Invoice
from models.payment_methods import SavedPaymentMethod
from models.subscriptions import Subscription, SubscriptionPlan
from models.types import utcnow
from services.access import access_client, access_payment_method, access_plan, access_subscription
from services.errors import BadInput, Conflict, Forbidden
from services.events import credits as credit_events
from services.events import subscriptions as subscription_events
from services.invoices import next_number
from services.money import format_money
from services.payments.methods import LIVE_SUBSCRIPTIONS, default_method
from services.subscriptions.invoicing import issue_period_invoice, issue_plan_change_invoice
from services.subscriptions.periods import period_end, same_period
from services.subscriptions.proration import Proration, prorate
from services.unit_of_work import UnitOfWork
from services.validation import optional_text

CHANGEABLE = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE)
"""Subscriptions whose plan may change (a past-due one pays its open invoice first)."""
MAX_QUANTITY = 10_000


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription: Subscription
    invoice: Invoice | None
    """The first period's invoice (none during a trial or on a free plan)."""


@dataclass(frozen=True, slots=True)
class PlanChange:
    subscription: Subscription
    proration: Proration
    invoice: Invoice | None
    """The difference owed, charged at once."""
    credit: Credit | None
    """The difference owed to the client."""


def _reason(reason: str | None) -> str | None:
    return optional_text(reason, field="reason", max_length=2000)


def _acting(actor: Principal) -> Principal:
    if isinstance(actor, ContactPrincipal) and actor.read_only:
        raise Forbidden()
    return actor


async def _chargeable_method(
    session: AsyncSession, actor: Principal, client_id: uuid.UUID, method_id: uuid.UUID
) -> SavedPaymentMethod:
    method = await access_payment_method(session, actor, method_id)
    if method.client_id != client_id:
        raise BadInput("This payment method belongs to another client.", field="paymentMethodId")
    if not method.stripe_payment_method_id:
        raise BadInput("This payment method cannot be charged online.", field="paymentMethodId")
    return method


async def subscribe(
    work: UnitOfWork,
    *,
    actor: StaffPrincipal,
    client_id: uuid.UUID,
    plan_id: uuid.UUID,
    payment_method_id: uuid.UUID | None = None,
    quantity: int = 1,
    now: datetime | None = None,
) -> Subscribed:
    session = work.session
    moment = now or utcnow()
    client = await access_client(session, actor, client_id, lock=True)
    if client.archived_at is not None:
        raise Conflict("Archived clients cannot subscribe.", field="clientId")
    plan = await access_plan(session, actor, plan_id)
    if not plan.active:
        raise Conflict("This plan is archived.", field="planId")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise BadInput(f"From 1 to {MAX_QUANTITY}.", field="quantity")
    method_id = None
    if payment_method_id is not None:
        method_id = (await _chargeable_method(session, actor, client.id, payment_method_id)).id
    elif await default_method(session, client.id) is None:
        raise BadInput(
            "The client has no saved payment method: save a card first, or name one.",
            field="paymentMethodId",
        )
    existing = (
        await session.exec(
            select(Subscription.id).where(
                col(Subscription.client_id) == client.id,
                col(Subscription.plan_id) == plan.id,
                col(Subscription.status).in_(LIVE_SUBSCRIPTIONS),
            )
        )
    ).first()
    if existing is not None:
        raise Conflict("The client is already subscribed to this plan.", field="planId")
    subscription = Subscription(
        account_id=actor.account_id,
        client_id=client.id,
        plan_id=plan.id,
        quantity=quantity,
        started_at=moment,
        current_period_start=moment,
        payment_method_id=method_id,
    )
    if plan.trial_days > 0:
        subscription.status = SubscriptionStatus.TRIALING
        subscription.billing_anchor = moment + timedelta(days=plan.trial_days)
        subscription.period_number = 0
        subscription.current_period_end = subscription.billing_anchor
    else:
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.billing_anchor = moment
        subscription.period_number = 1
        subscription.current_period_end = period_end(moment, plan, 1)
    session.add(subscription)
    await session.flush()
    subscription_events.created(session, subscription, actor)
    invoice = None
    if subscription.status is SubscriptionStatus.ACTIVE:
        invoice = await bill_period(work, subscription, plan, now=moment)
    return Subscribed(subscription, invoice)


async def bill_period(
    work: UnitOfWork, subscription: Subscription, plan: SubscriptionPlan, *, now: datetime
) -> Invoice | None:
    """Invoice the subscription's current period (recorded as its renewal)."""
    assert subscription.current_period_start is not None  # noqa: S101 - set with the period
    assert subscription.current_period_end is not None  # noqa: S101
    invoice = await issue_period_invoice(
        work,
        subscription,
        plan,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        now=now,
    )
    if invoice is not None:
        subscription_events.renewed(
            work.session,
            subscription,
            invoice_id=invoice.id,
            period_start=subscription.current_period_start,
            period_end=subscription.current_period_end,
        )
    return invoice


async def cancel_subscription(
    *,
    session: AsyncSession,
    actor: Principal,
    subscription_id: uuid.UUID,
    at_period_end: bool,
    reason: str | None,
    now: datetime | None = None,
) -> Subscription:
    """End it now, or at the end of the period already billed. A contact may only when
    the plan allows it (else FORBIDDEN: ask for it instead)."""
    actor = _acting(actor)
    subscription = await access_subscription(session, actor, subscription_id, lock=True)
    if subscription.status not in (*LIVE_SUBSCRIPTIONS, SubscriptionStatus.UNPAID):
        raise Conflict(f"A {subscription.status.value.lower()} subscription cannot be canceled.")
    plan = await access_plan(session, actor, subscription.plan_id)
    if isinstance(actor, ContactPrincipal) and not plan.allow_cancellation:
        raise Forbidden(
            "This plan cannot be canceled from the portal: ask for its cancellation "
            "(requestSubscriptionCancellation)."
        )
    moment = now or utcnow()
    text = _reason(reason)
    subscription.cancellation_reason = text or subscription.cancellation_reason
    subscription.updated_at = moment
    if at_period_end and subscription.status is not SubscriptionStatus.UNPAID:
        if not subscription.cancel_at_period_end:
            subscription.cancel_at_period_end = True
            subscription_events.cancellation_scheduled(session, subscription, actor, reason=text)
        return subscription
    end_subscription(session, subscription, actor, reason=text, at=moment, at_period_end=False)
    return subscription


def end_subscription(
    session: AsyncSession,
    subscription: Subscription,
    actor: Principal | None,
    *,
    reason: str | None,
    at: datetime,
    at_period_end: bool,
) -> None:
    subscription.status = SubscriptionStatus.CANCELED
    subscription.canceled_at = at
    subscription.updated_at = utcnow()
    subscription_events.canceled(
        session, subscription, actor, reason=reason, at_period_end=at_period_end
    )


async def request_cancellation(
    *,
    session: AsyncSession,
    actor: Principal,
    subscription_id: uuid.UUID,
    reason: str | None,
    now: datetime | None = None,
) -> Subscription:
    """A billing contact asks staff to cancel (staff cancel directly)."""
    if not isinstance(actor, ContactPrincipal):
        raise Forbidden("Staff cancel subscriptions directly (cancelSubscription).")
    _acting(actor)
    subscription = await access_subscription(session, actor, subscription_id, lock=True)
    if subscription.status not in (*LIVE_SUBSCRIPTIONS, SubscriptionStatus.UNPAID):
        raise Conflict(f"A {subscription.status.value.lower()} subscription cannot be canceled.")
    moment = now or utcnow()
    text = _reason(reason)
    subscription.cancellation_requested_at = moment
    subscription.cancellation_reason = text or subscription.cancellation_reason
    subscription.updated_at = moment
    subscription_events.cancellation_requested(session, subscription, actor, reason=text)
    return subscription


async def _plans_for_change(
    session: AsyncSession, actor: Principal, subscription: Subscription, plan_id: uuid.UUID
) -> tuple[SubscriptionPlan, SubscriptionPlan]:
    if subscription.status not in CHANGEABLE:
        raise Conflict(
            f"The plan of a {subscription.status.value.lower().replace('_', ' ')} "
            "subscription cannot change: pay its open invoice first."
        )
    old = await access_plan(session, actor, subscription.plan_id)
    if isinstance(actor, ContactPrincipal) and not old.allow_plan_changes:
        raise Forbidden("This plan cannot be changed from the portal.")
    new = await access_plan(session, actor, plan_id)
    if new.id == old.id:
        raise BadInput("The subscription is already on this plan.", field="planId")
    if not new.active:
        raise Conflict("This plan is archived.", field="planId")
    if new.currency != old.currency:
        raise BadInput(f"Choose a plan billed in {old.currency}.", field="planId")
    if not same_period(old, new):
        raise BadInput("Choose a plan billed over the same period.", field="planId")
    return old, new


def _prorate(
    subscription: Subscription, old: SubscriptionPlan, new: SubscriptionPlan, at: datetime
) -> Proration:
    assert subscription.current_period_start is not None  # noqa: S101 - live subscriptions
    assert subscription.current_period_end is not None  # noqa: S101
    return prorate(
        old=old,
        new=new,
        quantity=subscription.quantity,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
        at=at,
        trialing=subscription.status is SubscriptionStatus.TRIALING,
    )


async def preview_plan_change(
    *,
    session: AsyncSession,
    actor: Principal,
    subscription_id: uuid.UUID,
    plan_id: uuid.UUID,
    now: datetime | None = None,
) -> Proration:
    subscription = await access_subscription(session, actor, subscription_id)
    old, new = await _plans_for_change(session, actor, subscription, plan_id)
    return _prorate(subscription, old, new, now or utcnow())


async def change_plan(
    work: UnitOfWork,
    *,
    actor: Principal,
    subscription_id: uuid.UUID,
    plan_id: uuid.UUID,
    now: datetime | None = None,
) -> PlanChange:
    """Move to ``plan_id`` at once, keeping the period's dates: the difference is
    invoiced (and charged) or credited (:mod:`.proration`)."""
    session = work.session
    actor = _acting(actor)
    moment = now or utcnow()
    subscription = await access_subscription(session, actor, subscription_id, lock=True)
    old, new = await _plans_for_change(session, actor, subscription, plan_id)
    proration = _prorate(subscription, old, new, moment)
    subscription.plan_id = new.id
    subscription.updated_at = moment
    invoice = credit = None
    assert subscription.current_period_end is not None  # noqa: S101 - live subscriptions
    days = f"{proration.remaining_days} of {proration.period_days} days"
    if proration.amount_due > 0:
        invoice = await issue_plan_change_invoice(
            work,
            subscription,
            currency=proration.currency,
            amount=proration.amount_due,
            description=(
                f"Plan change from {old.name} to {new.name}: {days} of {new.name} "
                f"({format_money(proration.charge, proration.currency)}) less the unused "
                f"time of {old.name} ({format_money(proration.credit, proration.currency)})"
            ),
            period_end=subscription.current_period_end,
            now=moment,
        )
    elif proration.credit_issued > 0:
        credit = Credit(
            account_id=subscription.account_id,
            client_id=subscription.client_id,
            number=await next_number(session, subscription.account_id, "credit"),
            currency=proration.currency,
            amount=proration.credit_issued,
            balance=proration.credit_issued,
            status=CreditStatus.OPEN,
            reason=(
                f"Plan change from {old.name} to {new.name}: unused time of {old.name} ({days})"
            ),
        )
        session.add(credit)
        await session.flush()
        credit_events.created(session, credit, actor)
    subscription_events.plan_changed(
        session,
        subscription,
        actor,
        from_plan_id=old.id,
        credit=proration.credit,
        charge=proration.charge,
        invoice_id=invoice.id if invoice else None,
        credit_id=credit.id if credit else None,
    )
    return PlanChange(subscription, proration, invoice, credit)


async def update_payment_method(
    *,
    session: AsyncSession,
    actor: Principal,
    subscription_id: uuid.UUID,
    payment_method_id: uuid.UUID,
) -> Subscription:
    actor = _acting(actor)
    subscription = await access_subscription(session, actor, subscription_id, lock=True)
    if subscription.status not in (*LIVE_SUBSCRIPTIONS, SubscriptionStatus.UNPAID):
        raise Conflict(f"A {subscription.status.value.lower()} subscription is not charged.")
    method = await _chargeable_method(session, actor, subscription.client_id, payment_method_id)
    if subscription.payment_method_id == method.id:
        return subscription
    subscription.payment_method_id = method.id
    subscription.updated_at = utcnow()
    subscription_events.payment_method_changed(session, subscription, actor)
    return subscription
