"""Subscriptions and their plans: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid

from models.subscriptions import Subscription, SubscriptionPlan
from resolvers.common import caller, parse_id
from resolvers.context import Info
from services import access
from services.errors import NotFound
from services.pagination import Page
from services.recurring import subscriptions


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
