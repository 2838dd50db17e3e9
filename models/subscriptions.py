"""Subscription plans the business sells and clients' subscriptions to them."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Column, Text
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
from models.enums import PlanInterval, SubscriptionStatus


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
    active: bool = True
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
    payment_method_id: uuid.UUID | None = Field(default=None, foreign_key="payment_method.id")
    stripe_subscription_id: str | None = Field(default=None, max_length=255, index=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
