"""Subscription plans and clients' subscriptions: types, root fields.

The GraphQL type of a client's subscription is ``ClientSubscription``: ``Subscription``
is the name of the root type of GraphQL subscriptions.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import Module, PlanInterval, SubscriptionStatus
from models.subscriptions import Subscription as SubscriptionRow
from resolvers import subscriptions as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_optional_id
from resolvers.context import Info
from resolvers.payment_methods import payment_method_of
from schema.fields import field, id_field, money
from schema.pagination import Connection
from services.recurring.subscriptions import SubscriptionFilter

if TYPE_CHECKING:
    from schema.clients import Client
    from schema.payment_methods import PaymentMethod

strawberry.enum(PlanInterval, description="The unit of a plan's billing period.")
strawberry.enum(SubscriptionStatus, description="Where a subscription is in its life.")

_SUBSCRIPTIONS = Module.SUBSCRIPTIONS
_READ = Permission.SUBSCRIPTIONS_READ


@strawberry.type(description="A price the business bills every period, e.g. a care plan.")
class SubscriptionPlan:
    id: strawberry.ID = id_field()
    name: str = field("The plan's name.")
    description: str | None = field("What the plan includes.")
    amount: Decimal = money(
        "amount", "Price of one unit per period.", permission=_READ, module=_SUBSCRIPTIONS
    )
    currency: str = field("ISO 4217 currency of the price.")
    interval: PlanInterval = field("The unit of the billing period.")
    interval_count: int = field("Intervals per billing period, e.g. 3 months.")
    trial_days: int = field("Free days before the first charge.")
    active: bool = field("Whether new subscriptions to the plan can start.")
    stripe_price_id: str | None = field(
        "The plan's price id at Stripe.",
        permission=Permission.PROVIDER_IDS_READ,
        module=_SUBSCRIPTIONS,
    )


@strawberry.type(name="ClientSubscription", description="A client's subscription to a plan.")
class ClientSubscription:
    id: strawberry.ID = id_field()
    status: SubscriptionStatus = field("Where the subscription is in its life.")
    quantity: int = field("Units of the plan billed each period.")
    started_at: datetime | None = field("When the subscription started.")
    current_period_start: datetime | None = field("Start of the period already billed.")
    current_period_end: datetime | None = field("End of that period: the next renewal.")
    cancel_at_period_end: bool = field("Whether it ends at the end of the current period.")
    canceled_at: datetime | None = field("When it ended.")
    cancellation_requested_at: datetime | None = field(
        "When the client asked to cancel it from the portal."
    )
    stripe_subscription_id: str | None = field(
        "The subscription's id at Stripe.",
        permission=Permission.PROVIDER_IDS_READ,
        module=_SUBSCRIPTIONS,
    )
    created_at: datetime = field("When the subscription was created.")

    @field("The plan subscribed to.", permission=_READ, module=_SUBSCRIPTIONS)
    async def plan(self, info: Info, root: strawberry.Parent[SubscriptionRow]) -> SubscriptionPlan:
        return await resolvers.plan_of(info, root.plan_id)  # type: ignore[return-value]

    @field("The client subscribed.")
    async def client(
        self, info: Info, root: strawberry.Parent[SubscriptionRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return await client_of(info, root.client_id)  # type: ignore[return-value]

    @field(
        "The saved payment method charged (null: the client's default).",
        permission=Permission.PAYMENT_METHODS_READ,
        module=Module.PAYMENT_METHODS,
    )
    async def payment_method(
        self, info: Info, root: strawberry.Parent[SubscriptionRow]
    ) -> Annotated[PaymentMethod, strawberry.lazy("schema.payment_methods")] | None:
        return await payment_method_of(info, root.payment_method_id)  # type: ignore[return-value]


@strawberry.type
class SubscriptionQuery:
    @field("Subscriptions, newest first.", permission=_READ, module=_SUBSCRIPTIONS)
    async def subscriptions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        client_id: strawberry.ID | None = None,
        plan_id: strawberry.ID | None = None,
        status: list[SubscriptionStatus] | None = None,
    ) -> Connection[ClientSubscription]:
        filters = SubscriptionFilter(
            client_id=parse_optional_id(client_id, field="clientId"),
            plan_id=parse_optional_id(plan_id, field="planId"),
            statuses=status or [],
        )
        return await resolvers.list_subscriptions(  # type: ignore[return-value]
            info, first=first, after=after, filters=filters
        )

    @field("One subscription by id.", permission=_READ, module=_SUBSCRIPTIONS)
    async def subscription(self, info: Info, id: strawberry.ID) -> ClientSubscription:
        return await resolvers.subscription(info, id)  # type: ignore[return-value]
