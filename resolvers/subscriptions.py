"""Subscriptions and their plans: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from models.credits import Credit
from models.invoices import Invoice
from models.subscriptions import Subscription, SubscriptionPlan
from resolvers.common import atomic, caller, parse_id, parse_optional_id, staff
from resolvers.context import Info
from services import access
from services.errors import NotFound
from services.pagination import Page
from services.recurring import subscriptions
from services.stripe_gateway import auto_bill
from services.subscriptions import lifecycle, plans
from services.subscriptions.proration import Proration
from services.unit_of_work import end_read


async def list_subscriptions(
    info: Info,
    *,
    first: int | None,
    after: str | None,
    filters: subscriptions.SubscriptionFilter,
) -> Page[Subscription]:
    return await subscriptions.list_subscriptions(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def subscription(info: Info, id: str) -> Subscription:
    return await access.access_subscription(info.context.session, caller(info), parse_id(id))


async def plan_of(info: Info, plan_id: uuid.UUID) -> SubscriptionPlan:
    row = await info.context.loaders.plan_by_id.load(plan_id)
    if row is None:  # pragma: no cover - a subscription's plan is in its account
        raise NotFound("Subscription plan")
    return row


# --- plans (staff) ----------------------------------------------------------------------


async def list_plans(info: Info, *, include_archived: bool) -> list[SubscriptionPlan]:
    return await plans.list_plans(
        session=info.context.session, principal=caller(info), include_archived=include_archived
    )


async def create_plan(info: Info, data: plans.PlanData) -> SubscriptionPlan:
    actor = staff(info)
    async with atomic(info) as work:
        return await plans.create_plan(session=work.session, actor=actor, data=data)


async def update_plan(info: Info, id: str, data: plans.PlanData) -> SubscriptionPlan:
    actor = staff(info)
    async with atomic(info) as work:
        return await plans.update_plan(
            session=work.session, actor=actor, plan_id=parse_id(id), data=data
        )


async def archive_plan(info: Info, id: str) -> SubscriptionPlan:
    actor = staff(info)
    async with atomic(info) as work:
        return await plans.archive_plan(session=work.session, actor=actor, plan_id=parse_id(id))


# --- subscriptions ----------------------------------------------------------------------


async def _charged(info: Info, invoice: Invoice | None, subscription_id: uuid.UUID) -> Subscription:
    """Charge a new invoice of the subscription at once (off-session, as the scheduler
    would: a decline is retried on the auto-bill schedule), then the subscription as it
    is now."""
    session = info.context.session
    subscription = await access.access_subscription(session, caller(info), subscription_id)
    if invoice is not None:
        await end_read(session)
        await auto_bill.charge_invoice_now(info.context.runtime, invoice.id)
        await session.refresh(invoice)  # as the charge left them (the session keeps rows)
        await session.refresh(subscription)
    return subscription


async def subscribe_client(
    info: Info,
    *,
    client_id: str,
    plan_id: str,
    payment_method_id: str | None,
    quantity: int,
) -> Subscription:
    actor = staff(info)
    async with atomic(info) as work:
        subscribed = await lifecycle.subscribe(
            work,
            actor=actor,
            client_id=parse_id(client_id, field="clientId"),
            plan_id=parse_id(plan_id, field="planId"),
            payment_method_id=parse_optional_id(payment_method_id, field="paymentMethodId"),
            quantity=quantity,
        )
    return await _charged(info, subscribed.invoice, subscribed.subscription.id)


async def cancel_subscription(
    info: Info, id: str, *, at_period_end: bool, reason: str | None
) -> Subscription:
    actor = caller(info)
    async with atomic(info) as work:
        return await lifecycle.cancel_subscription(
            session=work.session,
            actor=actor,
            subscription_id=parse_id(id),
            at_period_end=at_period_end,
            reason=reason,
        )


async def request_cancellation(info: Info, id: str, reason: str | None) -> Subscription:
    actor = caller(info)
    async with atomic(info) as work:
        return await lifecycle.request_cancellation(
            session=work.session, actor=actor, subscription_id=parse_id(id), reason=reason
        )


async def preview_plan_change(info: Info, id: str, plan_id: str) -> Proration:
    return await lifecycle.preview_plan_change(
        session=info.context.session,
        actor=caller(info),
        subscription_id=parse_id(id),
        plan_id=parse_id(plan_id, field="planId"),
    )


@dataclass(frozen=True, slots=True)
class PlanChanged:
    subscription: Subscription
    proration: Proration
    invoice: Invoice | None
    credit: Credit | None


async def change_plan(info: Info, id: str, plan_id: str) -> PlanChanged:
    actor = caller(info)
    async with atomic(info) as work:
        change = await lifecycle.change_plan(
            work,
            actor=actor,
            subscription_id=parse_id(id),
            plan_id=parse_id(plan_id, field="planId"),
        )
    subscription = await _charged(info, change.invoice, change.subscription.id)
    return PlanChanged(subscription, change.proration, change.invoice, change.credit)


async def update_payment_method(info: Info, id: str, payment_method_id: str) -> Subscription:
    actor = caller(info)
    async with atomic(info) as work:
        return await lifecycle.update_payment_method(
            session=work.session,
            actor=actor,
            subscription_id=parse_id(id),
            payment_method_id=parse_id(payment_method_id, field="paymentMethodId"),
        )


async def invoices_of(info: Info, subscription_id: uuid.UUID) -> list[Invoice]:
    return await subscriptions.subscription_invoices(
        session=info.context.session, principal=caller(info), subscription_id=subscription_id
    )
