"""Clients' subscriptions to the account's plans: reading them and their invoices.
What changes them is :mod:`services.subscriptions`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal
from models.enums import SubscriptionStatus
from models.invoices import Invoice
from models.subscriptions import Subscription, SubscriptionInvoice
from services.access import access_subscription, invoice_scope, subscription_scope
from services.pagination import Page, paginate


@dataclass(slots=True)
class SubscriptionFilter:
    client_id: uuid.UUID | None = None
    plan_id: uuid.UUID | None = None
    statuses: list[SubscriptionStatus] = field(default_factory=list)


async def list_subscriptions(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: SubscriptionFilter,
    first: int | None,
    after: str | None,
) -> Page[Subscription]:
    statement = select(Subscription).where(*subscription_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(Subscription.client_id == filters.client_id)
    if filters.plan_id is not None:
        statement = statement.where(Subscription.plan_id == filters.plan_id)
    if filters.statuses:
        statement = statement.where(
            Subscription.status.in_(filters.statuses)  # type: ignore[attr-defined]
        )
    return await paginate(session, statement, Subscription, first=first, after=after)


async def subscription_invoices(
    *, session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> list[Invoice]:
    """The invoices the subscription issued that the caller may read, newest first."""
    subscription = await access_subscription(session, principal, subscription_id)
    statement = (
        select(Invoice)
        .join(SubscriptionInvoice, col(SubscriptionInvoice.invoice_id) == col(Invoice.id))
        .where(
            col(SubscriptionInvoice.subscription_id) == subscription.id, *invoice_scope(principal)
        )
        .order_by(col(Invoice.created_at).desc(), col(Invoice.id).desc())
    )
    return list((await session.exec(statement)).all())
