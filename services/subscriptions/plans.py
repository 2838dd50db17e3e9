"""The account's subscription plans: staff create, edit and archive them.

A plan's currency and billing period are fixed once it exists (subscriptions are billed
and prorated over them); its price, trial and options may change, and apply from the
next period on. Archiving stops new subscriptions; existing ones go on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.enums import PlanInterval
from models.subscriptions import SubscriptionPlan
from models.types import utcnow
from services.access import access_plan, plan_scope
from services.errors import BadInput
from services.events import subscriptions as subscription_events
from services.money import check_amount, validate_currency
from services.validation import optional_text, required_text

MAX_INTERVAL_COUNT = 12
MAX_TRIAL_DAYS = 730


@dataclass(frozen=True, slots=True)
class PlanData:
    """Fields of a plan; in an update ``None`` keeps a field (currency and billing
    period are only set on creation)."""

    name: str | None = None
    description: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    interval: PlanInterval | None = None
    interval_count: int | None = None
    trial_days: int | None = None
    allow_cancellation: bool | None = None
    allow_plan_changes: bool | None = None


async def list_plans(
    *, session: AsyncSession, principal: Principal, include_archived: bool
) -> list[SubscriptionPlan]:
    """The account's plans by name; archived ones only when asked (and only for staff)."""
    statement = select(SubscriptionPlan).where(*plan_scope(principal))
    if not include_archived or not isinstance(principal, StaffPrincipal):
        statement = statement.where(SubscriptionPlan.active == True)  # noqa: E712
    rows = await session.exec(
        statement.order_by(SubscriptionPlan.name, SubscriptionPlan.id)  # type: ignore[arg-type]
    )
    return list(rows.all())


def _apply(plan: SubscriptionPlan, data: PlanData) -> None:
    if data.name is not None:
        plan.name = required_text(data.name, field="name", max_length=200)
    if data.description is not None:
        plan.description = optional_text(data.description, field="description", max_length=5000)
    if data.amount is not None:
        plan.amount = check_amount(data.amount, plan.currency, field="amount")
    if data.trial_days is not None:
        if not 0 <= data.trial_days <= MAX_TRIAL_DAYS:
            raise BadInput(f"From 0 to {MAX_TRIAL_DAYS} days.", field="trialDays")
        plan.trial_days = data.trial_days
    if data.allow_cancellation is not None:
        plan.allow_cancellation = data.allow_cancellation
    if data.allow_plan_changes is not None:
        plan.allow_plan_changes = data.allow_plan_changes


async def create_plan(
    *, session: AsyncSession, actor: StaffPrincipal, data: PlanData
) -> SubscriptionPlan:
    if data.amount is None:
        raise BadInput("A plan needs a price.", field="amount")
    count = 1 if data.interval_count is None else data.interval_count
    if not 1 <= count <= MAX_INTERVAL_COUNT:
        raise BadInput(f"From 1 to {MAX_INTERVAL_COUNT}.", field="intervalCount")
    plan = SubscriptionPlan(
        account_id=actor.account_id,
        name="",
        currency=validate_currency(data.currency or "USD"),
        interval=data.interval or PlanInterval.MONTH,
        interval_count=count,
    )
    if data.name is None:
        raise BadInput("A plan needs a name.", field="name")
    _apply(plan, data)
    session.add(plan)
    await session.flush()
    subscription_events.plan_created(session, plan, actor)
    return plan


async def update_plan(
    *, session: AsyncSession, actor: StaffPrincipal, plan_id: uuid.UUID, data: PlanData
) -> SubscriptionPlan:
    plan = await access_plan(session, actor, plan_id, lock=True)
    if data.currency is not None and validate_currency(data.currency) != plan.currency:
        raise BadInput("A plan's currency cannot change.", field="currency")
    if (data.interval is not None and data.interval is not plan.interval) or (
        data.interval_count is not None and data.interval_count != plan.interval_count
    ):
        raise BadInput("A plan's billing period cannot change.", field="interval")
    _apply(plan, data)
    plan.updated_at = utcnow()
    subscription_events.plan_updated(session, plan, actor)
    return plan


async def archive_plan(
    *, session: AsyncSession, actor: StaffPrincipal, plan_id: uuid.UUID
) -> SubscriptionPlan:
    """Nobody new subscribes to it; archiving again changes nothing."""
    plan = await access_plan(session, actor, plan_id, lock=True)
    if not plan.active:
        return plan
    now = utcnow()
    plan.active = False
    plan.archived_at = now
    plan.updated_at = now
    subscription_events.plan_archived(session, plan, actor)
    return plan
