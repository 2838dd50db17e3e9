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
from models.enums import Module, PlanInterval, SubscriptionStatus, UnpaidSubscriptionAction
from models.subscriptions import Subscription as SubscriptionRow
from resolvers import subscriptions as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_optional_id
from resolvers.context import Info
from resolvers.payment_methods import payment_method_of
from resolvers.subscriptions import PlanChanged
from schema.fields import field, id_field, money, mutation
from schema.pagination import Connection
from services.recurring.subscriptions import SubscriptionFilter
from services.subscriptions.plans import PlanData

if TYPE_CHECKING:
    from schema.clients import Client
    from schema.credits import Credit
    from schema.invoices import Invoice
    from schema.payment_methods import PaymentMethod

strawberry.enum(PlanInterval, description="The unit of a plan's billing period.")
strawberry.enum(SubscriptionStatus, description="Where a subscription is in its life.")
strawberry.enum(
    UnpaidSubscriptionAction,
    description="What a subscription becomes once every retry of a charge failed.",
)

_SUBSCRIPTIONS = Module.SUBSCRIPTIONS
_READ = Permission.SUBSCRIPTIONS_READ
_ACT = Permission.SUBSCRIPTIONS_ACT
_MANAGE = Permission.BILLING_MANAGE


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
    allow_cancellation: bool = field(
        "Whether the client's billing contact may cancel (else it may ask for it)."
    )
    allow_plan_changes: bool = field("Whether the client's billing contact may change plans.")
    active: bool = field("Whether new subscriptions to the plan can start (false: archived).")
    archived_at: datetime | None = field(
        "When staff archived it.", permission=Permission.INTERNAL_READ, module=_SUBSCRIPTIONS
    )
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
    cancellation_reason: str | None = field("Why it was (or is to be) canceled.")
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
    def client(
        self, info: Info, root: strawberry.Parent[SubscriptionRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return client_of(info, root.client_id)  # type: ignore[return-value]

    @field(
        "The saved payment method charged (null: the client's default).",
        permission=Permission.PAYMENT_METHODS_READ,
        module=Module.PAYMENT_METHODS,
    )
    async def payment_method(
        self, info: Info, root: strawberry.Parent[SubscriptionRow]
    ) -> Annotated[PaymentMethod, strawberry.lazy("schema.payment_methods")] | None:
        return await payment_method_of(info, root.payment_method_id)  # type: ignore[return-value]

    @field(
        "The invoices it issued (billing periods and plan changes), newest first.",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def invoices(
        self, info: Info, root: strawberry.Parent[SubscriptionRow]
    ) -> list[Annotated[Invoice, strawberry.lazy("schema.invoices")]]:
        return await resolvers.invoices_of(info, root.id)  # type: ignore[return-value]


@strawberry.type(
    description="What a plan change credits and charges (the change itself charges exactly "
    "this): the unused days of the old plan credited, the same days of the new plan "
    "charged, each `price x quantity x daysLeft / periodDays` rounded half up to the "
    "currency's minor unit."
)
class SubscriptionPlanChangePreview:
    currency: str = field("ISO 4217 currency of every amount.")
    period_start: datetime = field("Start of the current period (its dates do not change).")
    period_end: datetime = field("End of the current period: the next renewal, on the new plan.")
    period_days: int = field("Whole days in the current period.")
    remaining_days: int = field("Whole days left in it (the day already started is used).")
    credit: Decimal = money("credit", "The old plan's unused time, credited.")
    charge: Decimal = money("charge", "The new plan's remaining time, charged.")
    amount_due: Decimal = money("amount_due", "Charged at once (charge - credit, if positive).")
    credit_issued: Decimal = money(
        "credit_issued", "Given as a credit note (credit - charge, if positive)."
    )


@strawberry.type(description="A plan change made: the subscription and what it cost.")
class SubscriptionPlanChangePayload:
    @field("The subscription, on its new plan.", permission=_READ, module=_SUBSCRIPTIONS)
    def subscription(self, root: strawberry.Parent[PlanChanged]) -> ClientSubscription:
        return root.subscription  # type: ignore[return-value]

    @field("What was credited and charged.", permission=_READ, module=_SUBSCRIPTIONS)
    def proration(self, root: strawberry.Parent[PlanChanged]) -> SubscriptionPlanChangePreview:
        return root.proration  # type: ignore[return-value]

    @field(
        "The invoice of the difference (charged at once), when something was owed.",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    def invoice(
        self, root: strawberry.Parent[PlanChanged]
    ) -> Annotated[Invoice, strawberry.lazy("schema.invoices")] | None:
        return root.invoice  # type: ignore[return-value]

    @field(
        "The credit note of the difference, when the client was owed something.",
        permission=Permission.CREDITS_READ,
        module=Module.CREDITS,
    )
    def credit(
        self, root: strawberry.Parent[PlanChanged]
    ) -> Annotated[Credit, strawberry.lazy("schema.credits")] | None:
        return root.credit  # type: ignore[return-value]


@strawberry.input(description="A new plan.")
class SubscriptionPlanInput:
    name: str = strawberry.field(description="The plan's name.")
    amount: Decimal = strawberry.field(description="Price of one unit per period.")
    currency: str = strawberry.field(default="USD", description="ISO 4217 currency (fixed).")
    interval: PlanInterval = strawberry.field(
        default=PlanInterval.MONTH, description="The unit of the billing period (fixed)."
    )
    interval_count: int = strawberry.field(
        default=1, description="Intervals per billing period, 1 to 12 (fixed)."
    )
    description: str | None = strawberry.field(default=None, description="What it includes.")
    trial_days: int = strawberry.field(default=0, description="Free days before the first charge.")
    allow_cancellation: bool = strawberry.field(
        default=True, description="Whether clients may cancel it themselves."
    )
    allow_plan_changes: bool = strawberry.field(
        default=True, description="Whether clients may move to another plan themselves."
    )

    def to_data(self) -> PlanData:
        return PlanData(
            name=self.name,
            description=self.description,
            amount=self.amount,
            currency=self.currency,
            interval=self.interval,
            interval_count=self.interval_count,
            trial_days=self.trial_days,
            allow_cancellation=self.allow_cancellation,
            allow_plan_changes=self.allow_plan_changes,
        )


@strawberry.input(
    description="Changes to a plan; fields left out keep their value. A new price or trial "
    "applies from the next period on."
)
class SubscriptionPlanUpdateInput:
    name: str | None = strawberry.field(default=None, description="The plan's name.")
    description: str | None = strawberry.field(default=None, description="What it includes.")
    amount: Decimal | None = strawberry.field(default=None, description="Price per period.")
    trial_days: int | None = strawberry.field(default=None, description="Free days first.")
    allow_cancellation: bool | None = strawberry.field(
        default=None, description="Whether clients may cancel it themselves."
    )
    allow_plan_changes: bool | None = strawberry.field(
        default=None, description="Whether clients may move to another plan themselves."
    )

    def to_data(self) -> PlanData:
        return PlanData(
            name=self.name,
            description=self.description,
            amount=self.amount,
            trial_days=self.trial_days,
            allow_cancellation=self.allow_cancellation,
            allow_plan_changes=self.allow_plan_changes,
        )


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

    @field(
        "The account's plans by name (archived ones too when staff ask).",
        permission=_READ,
        module=_SUBSCRIPTIONS,
    )
    async def subscription_plans(
        self, info: Info, include_archived: bool = False
    ) -> list[SubscriptionPlan]:
        return await resolvers.list_plans(info, include_archived=include_archived)  # type: ignore[return-value]

    @field(
        "What moving the subscription to `planId` now would credit and charge: exactly what "
        "`changeSubscriptionPlan` charges at this moment.",
        permission=_ACT,
        module=_SUBSCRIPTIONS,
    )
    async def preview_subscription_plan_change(
        self, info: Info, id: strawberry.ID, plan_id: strawberry.ID
    ) -> SubscriptionPlanChangePreview:
        return await resolvers.preview_plan_change(info, id, plan_id)  # type: ignore[return-value]


@strawberry.type
class SubscriptionMutation:
    @mutation("Add a plan to the account's price list.", permission=_MANAGE, module=_SUBSCRIPTIONS)
    async def create_subscription_plan(
        self, info: Info, input: SubscriptionPlanInput
    ) -> SubscriptionPlan:
        return await resolvers.create_plan(info, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Change a plan's name, price, trial or options (not its currency or period).",
        permission=_MANAGE,
        module=_SUBSCRIPTIONS,
    )
    async def update_subscription_plan(
        self, info: Info, id: strawberry.ID, input: SubscriptionPlanUpdateInput
    ) -> SubscriptionPlan:
        return await resolvers.update_plan(info, id, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Archive a plan: nobody new subscribes; existing subscriptions go on.",
        permission=_MANAGE,
        module=_SUBSCRIPTIONS,
    )
    async def archive_subscription_plan(self, info: Info, id: strawberry.ID) -> SubscriptionPlan:
        return await resolvers.archive_plan(info, id)  # type: ignore[return-value]

    @mutation(
        "Subscribe a client to a plan, charged to `paymentMethodId` or else the client's "
        "default card. With a trial it starts TRIALING; otherwise its first period is "
        "invoiced and charged off-session at once (a decline makes it PAST_DUE, retried "
        "like automatic billing).",
        permission=_MANAGE,
        module=_SUBSCRIPTIONS,
    )
    async def subscribe_client(
        self,
        info: Info,
        client_id: strawberry.ID,
        plan_id: strawberry.ID,
        payment_method_id: strawberry.ID | None = None,
        quantity: int = 1,
    ) -> ClientSubscription:
        return await resolvers.subscribe_client(  # type: ignore[return-value]
            info,
            client_id=client_id,
            plan_id=plan_id,
            payment_method_id=payment_method_id,
            quantity=quantity,
        )

    @mutation(
        "Cancel a subscription at the end of the period already paid (default) or now "
        "(nothing is refunded). A billing contact may when the plan allows it, else "
        "FORBIDDEN: ask with `requestSubscriptionCancellation`.",
        permission=_ACT,
        module=_SUBSCRIPTIONS,
    )
    async def cancel_subscription(
        self,
        info: Info,
        id: strawberry.ID,
        at_period_end: bool = True,
        reason: str | None = None,
    ) -> ClientSubscription:
        return await resolvers.cancel_subscription(  # type: ignore[return-value]
            info, id, at_period_end=at_period_end, reason=reason
        )

    @mutation(
        "Ask the business to cancel the subscription (for plans the client may not cancel "
        "itself); staff see the request on the subscription and its timeline.",
        permission=Permission.BILLING_ACT,
        module=_SUBSCRIPTIONS,
    )
    async def request_subscription_cancellation(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> ClientSubscription:
        return await resolvers.request_cancellation(info, id, reason)  # type: ignore[return-value]

    @mutation(
        "Move the subscription to another plan of the same currency and billing period, at "
        "once: the difference shown by `previewSubscriptionPlanChange` is invoiced and "
        "charged off-session now, or given as a credit note when it is in the client's "
        "favour. Billing contacts may when the plan allows it.",
        permission=_ACT,
        module=_SUBSCRIPTIONS,
    )
    async def change_subscription_plan(
        self, info: Info, id: strawberry.ID, plan_id: strawberry.ID
    ) -> SubscriptionPlanChangePayload:
        return await resolvers.change_plan(info, id, plan_id)  # type: ignore[return-value]

    @mutation(
        "Charge the subscription to another saved payment method of its client (a charge "
        "being retried uses it on its next attempt).",
        permission=_ACT,
        module=_SUBSCRIPTIONS,
    )
    async def update_subscription_payment_method(
        self, info: Info, id: strawberry.ID, payment_method_id: strawberry.ID
    ) -> ClientSubscription:
        return await resolvers.update_payment_method(info, id, payment_method_id)  # type: ignore[return-value]
