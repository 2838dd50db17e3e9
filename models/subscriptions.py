"""Subscription plans the business sells and clients' subscriptions to them."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import (
    account_fk,
    created_at_field,
    datetime_field,
    enum_field,
    id_field,
    list_order_index,
    money_field,
    updated_at_field,
)
from models.enums import PlanInterval, SubscriptionCharge, SubscriptionStatus
from models.types import UTCDateTime


class SubscriptionPlan(SQLModel, table=True):
    """A price billed every ``interval_count`` ``interval``\\s, e.g. every 3 months."""

    __tablename__ = "subscription_plan"

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_column=Column(Text))
    amount: Decimal = money_field()
    currency: str = Field(max_length=3)
    interval: PlanInterval = enum_field(PlanInterval, PlanInterval.MONTH)
    interval_count: int = 1
    trial_days: int = 0
    allow_cancellation: bool = True
    """Whether the client's billing contact may cancel; else it may only ask staff to."""
    allow_plan_changes: bool = True
    """Whether the client's billing contact may move to another plan."""
    active: bool = True
    """``False`` once archived: nobody new subscribes; existing subscriptions go on."""
    archived_at: datetime | None = datetime_field()
    stripe_price_id: str | None = Field(default=None, max_length=255)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Subscription(SQLModel, table=True):
    """A client's subscription to a plan. ``cancellation_requested_at`` records a
    contact's request from the portal; ``canceled_at`` when it actually ended."""

    __tablename__ = "subscription"
    __table_args__ = (list_order_index("subscription"),)

    id: uuid.UUID = id_field()
    account_id: uuid.UUID = account_fk()
    client_id: uuid.UUID = Field(foreign_key="client.id", index=True)
    plan_id: uuid.UUID = Field(foreign_key="subscription_plan.id", index=True)
    status: SubscriptionStatus = enum_field(SubscriptionStatus, SubscriptionStatus.ACTIVE)
    quantity: int = 1
    started_at: datetime | None = datetime_field()
    current_period_start: datetime | None = datetime_field()
    current_period_end: datetime | None = datetime_field()
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = datetime_field()
    cancellation_requested_at: datetime | None = datetime_field()
    cancellation_reason: str | None = Field(default=None, sa_column=Column(Text))
    billing_anchor: datetime | None = datetime_field()
    """Periods of the current plan run from here: period ``n`` ends ``n`` intervals after
    it (months clamped to the month's end), so short months never shift later periods."""
    period_number: int = 0
    """The current period's ``n`` (0 while trialing, or until the new plan's first period
    after a plan change)."""
    payment_method_id: uuid.UUID | None = Field(default=None, foreign_key="payment_method.id")
    stripe_subscription_id: str | None = Field(default=None, max_length=255, index=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class SubscriptionInvoice(SQLModel, table=True):
    """An invoice a subscription issued: one per billing period (the unique constraint
    refuses a second), or the prorated difference of a plan change."""

    __tablename__ = "subscription_invoice"
    __table_args__ = (
        UniqueConstraint(
            "subscription_id", "kind", "period_start", name="uq_subscription_invoice_period"
        ),
    )

    invoice_id: uuid.UUID = Field(foreign_key="invoice.id", primary_key=True, ondelete="CASCADE")
    account_id: uuid.UUID = account_fk()
    subscription_id: uuid.UUID = Field(
        foreign_key="subscription.id", index=True, ondelete="CASCADE"
    )
    kind: SubscriptionCharge = enum_field(SubscriptionCharge, SubscriptionCharge.PERIOD)
    period_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    period_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    created_at: datetime = created_at_field()
