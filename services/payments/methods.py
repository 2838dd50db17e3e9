"""Payment methods saved for clients: reading them, the default, what a removal would
break, and the rows Stripe's confirmations write. Talking to Stripe (SetupIntents,
detaching) is :mod:`services.stripe_gateway.payment_methods`'s.

A client has at most one default method: the first method saved becomes it, and
:func:`set_default_payment_method` moves it. Auto-billed schedules and subscriptions
that name no method charge the default.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal
from models.auto_bill import InvoiceAutoBill
from models.clients import Client
from models.enums import RecurringStatus, SubscriptionStatus
from models.payment_methods import SavedPaymentMethod
from models.payments import Payment
from models.recurring import RecurringInvoice
from models.subscriptions import Subscription
from models.types import utcnow
from services.access import access_payment_method, payment_method_scope
from services.errors import Conflict, NotFound
from services.events import payment_methods as method_events
from services.pagination import Page, paginate
from services.recurring.schedules import charges_automatically_condition

LIVE_SUBSCRIPTIONS = (
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.INCOMPLETE,
)
"""Subscriptions that will be charged again."""
LIVE_SCHEDULES = (RecurringStatus.ACTIVE, RecurringStatus.PAUSED)
"""Schedules that will issue (and so charge) again; a paused one may be resumed."""


@dataclass(slots=True)
class PaymentMethodFilter:
    client_id: uuid.UUID | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class MethodDetails:
    """What Portico keeps of a provider's payment method: display details only."""

    stripe_payment_method_id: str
    kind: str
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    bank_name: str | None = None


async def list_payment_methods(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: PaymentMethodFilter,
    first: int | None,
    after: str | None,
) -> Page[SavedPaymentMethod]:
    statement = select(SavedPaymentMethod).where(*payment_method_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(SavedPaymentMethod.client_id == filters.client_id)
    if filters.kind is not None:
        statement = statement.where(SavedPaymentMethod.kind == filters.kind.strip().lower())
    return await paginate(session, statement, SavedPaymentMethod, first=first, after=after)


async def default_method(session: AsyncSession, client_id: uuid.UUID) -> SavedPaymentMethod | None:
    statement = select(SavedPaymentMethod).where(
        col(SavedPaymentMethod.client_id) == client_id,
        col(SavedPaymentMethod.is_default).is_(True),
    )
    return (await session.exec(statement)).first()


async def _lock_client(
    session: AsyncSession, account_id: uuid.UUID, client_id: uuid.UUID
) -> Client:
    """The client row, locked: saving, defaulting and forgetting a client's methods take
    turns on it (one default at a time, one row per Stripe method)."""
    statement = (
        select(Client)
        .where(col(Client.id) == client_id, col(Client.account_id) == account_id)
        .with_for_update()
    )
    client = (await session.exec(statement)).one_or_none()
    if client is None:
        raise NotFound("Client")
    return client


async def save_payment_method(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    client_id: uuid.UUID,
    details: MethodDetails,
    source: str,
    contact_id: uuid.UUID | None = None,
) -> tuple[SavedPaymentMethod, bool]:
    """Keep a method Stripe confirmed for the client, once: saving the same Stripe
    method again updates its display details (a renewed card's expiry) and records
    nothing. The first method of a client becomes its default. Returns the row and
    whether it is new."""
    await _lock_client(session, account_id, client_id)
    statement = select(SavedPaymentMethod).where(
        col(SavedPaymentMethod.account_id) == account_id,
        col(SavedPaymentMethod.stripe_payment_method_id) == details.stripe_payment_method_id,
    )
    existing = (await session.exec(statement)).one_or_none()
    if existing is not None:
        if existing.client_id != client_id:
            raise Conflict("This payment method is saved for another client.")
        _apply(existing, details)
        existing.updated_at = utcnow()
        return existing, False
    method = SavedPaymentMethod(
        account_id=account_id,
        client_id=client_id,
        is_default=await default_method(session, client_id) is None,
        created_by_contact_id=contact_id,
        stripe_payment_method_id=details.stripe_payment_method_id,
    )
    _apply(method, details)
    session.add(method)
    await session.flush()
    method_events.saved(session, method, source=source)
    return method, True


def _apply(method: SavedPaymentMethod, details: MethodDetails) -> None:
    method.kind = details.kind[:30]
    method.brand = details.brand[:30] if details.brand else None
    method.last4 = details.last4[-4:] if details.last4 else None
    method.exp_month = details.exp_month
    method.exp_year = details.exp_year
    method.bank_name = details.bank_name[:100] if details.bank_name else None


async def set_default_payment_method(
    *, session: AsyncSession, actor: Principal, payment_method_id: uuid.UUID
) -> SavedPaymentMethod:
    """Make a method its client's default (the one charged when none is named); the
    previous default stops being it. Already the default: nothing changes."""
    method = await access_payment_method(session, actor, payment_method_id)
    await _lock_client(session, method.account_id, method.client_id)
    method = await access_payment_method(session, actor, payment_method_id, lock=True)
    if method.is_default:
        return method
    now = utcnow()
    await session.exec(
        update(SavedPaymentMethod)
        .where(
            col(SavedPaymentMethod.client_id) == method.client_id,
            col(SavedPaymentMethod.id) != method.id,
            col(SavedPaymentMethod.is_default).is_(True),
        )
        .values(is_default=False, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    method.is_default = True
    method.updated_at = now
    method_events.default_set(session, method, actor)
    return method


async def removal_blocker(session: AsyncSession, method: SavedPaymentMethod) -> str | None:
    """Why the method cannot be removed, or ``None``: it backs a live subscription or an
    auto-billed schedule — named on it, or as the client's default where none is named."""

    def charged(column: Any) -> ColumnElement[bool]:
        named: ColumnElement[bool] = column == method.id
        return or_(named, column.is_(None)) if method.is_default else named

    subscription = (
        await session.exec(
            select(Subscription.id).where(
                col(Subscription.client_id) == method.client_id,
                col(Subscription.status).in_(LIVE_SUBSCRIPTIONS),
                charged(col(Subscription.payment_method_id)),
            )
        )
    ).first()
    if subscription is not None:
        return (
            "This payment method pays an active subscription: choose another method for the "
            "subscription first."
        )
    schedule = (
        await session.exec(
            select(RecurringInvoice.id).where(
                col(RecurringInvoice.client_id) == method.client_id,
                col(RecurringInvoice.status).in_(LIVE_SCHEDULES),
                charges_automatically_condition(),
                charged(col(RecurringInvoice.payment_method_id)),
            )
        )
    ).first()
    if schedule is not None:
        return (
            "This payment method is charged automatically for a recurring invoice: make "
            "another method the default, or switch automatic billing off, first."
        )
    return None


async def removable_payment_method(
    session: AsyncSession, actor: Principal, payment_method_id: uuid.UUID
) -> SavedPaymentMethod:
    """The caller's method, if nothing depends on it (else ``CONFLICT`` with the reason)."""
    method = await access_payment_method(session, actor, payment_method_id)
    reason = await removal_blocker(session, method)
    if reason is not None:
        raise Conflict(reason)
    return method


async def forget_stripe_method(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    stripe_payment_method_id: str,
    actor: Principal | None,
    reason: str,
) -> SavedPaymentMethod | None:
    """Forget the account's row for a Stripe method; ``None`` when there is none."""
    statement = select(SavedPaymentMethod).where(
        col(SavedPaymentMethod.account_id) == account_id,
        col(SavedPaymentMethod.stripe_payment_method_id) == stripe_payment_method_id,
    )
    method = (await session.exec(statement)).one_or_none()
    if method is None:
        return None
    await forget_payment_method(session, method, actor=actor, reason=reason)
    return method


async def forget_payment_method(
    session: AsyncSession, method: SavedPaymentMethod, *, actor: Principal | None, reason: str
) -> None:
    """Delete a saved method (removed through the API, or detached at Stripe); what
    named it (past payments, schedules, subscriptions, auto-bill attempts) keeps its
    history without the link. The client is left without a default when it was the
    default: nothing is charged to another card without someone choosing it."""
    await _lock_client(session, method.account_id, method.client_id)
    for model in (Payment, RecurringInvoice, Subscription, InvoiceAutoBill):
        column = col(model.payment_method_id)
        await session.exec(
            update(model)
            .where(column == method.id)
            .values(payment_method_id=None)
            .execution_options(synchronize_session="fetch")
        )
    method_events.removed(session, method, actor, reason=reason)
    await session.delete(method)
    await session.flush()
