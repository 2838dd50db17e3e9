"""The events of subscription plans and clients' subscriptions, one recorder each
(:mod:`services.events`).

==========================================  ==========================  ======================
verb                                        when                        details
==========================================  ==========================  ======================
``subscription_plan.created``               staff create a plan         ``name``, ``amount``,
                                                                        ``currency``
``subscription_plan.updated``               staff edit it               ``name``
``subscription_plan.archived``              staff archive it            ``name``
``subscription.created``                    staff subscribe a client    ``plan_id``,
                                                                        ``status``
``subscription.renewed``                    a billing period's invoice  ``invoice_id``,
                                            was issued                  ``period_start``,
                                                                        ``period_end``
``subscription.plan_changed``               staff or the billing        ``from_plan_id``,
                                            contact change the plan     ``to_plan_id``,
                                                                        ``credit``,
                                                                        ``charge``,
                                                                        ``invoice_id`` or
                                                                        ``credit_id``
``subscription.cancellation_scheduled``     it will end at the period   ``period_end``,
                                            end                         ``reason``
``subscription.cancellation_requested``     the billing contact asks    ``reason``
                                            staff to cancel it
``subscription.canceled``                   it ended                    ``reason``,
                                                                        ``at_period_end``
``subscription.payment_method_changed``     the method charged changed  ``payment_method_id``
``subscription.status_changed``             a charge failed or was      ``from_status``,
                                            paid (PAST_DUE, UNPAID,     ``to_status``
                                            ACTIVE again)
==========================================  ==========================  ======================

Dates are ISO strings, amounts decimal strings. Shown to the client: every subscription
event (it is the client's own subscription); plan events are the account's price list
and stay internal. These events do not go to the outbox.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.activity import Verb
from models.enums import SubscriptionStatus
from models.subscriptions import Subscription, SubscriptionPlan
from services import activity


def _plan(session: AsyncSession, verb: Verb, plan: SubscriptionPlan, actor: StaffPrincipal) -> None:
    details: dict[str, Any] = {"name": plan.name}
    if verb is Verb.SUBSCRIPTION_PLAN_CREATED:
        details |= {"amount": str(plan.amount), "currency": plan.currency}
    activity.record(
        session,
        account_id=plan.account_id,
        actor=actor,
        verb=verb,
        subject_id=plan.id,
        details=details,
        visible_to_client=False,
    )


def _record(
    session: AsyncSession,
    verb: Verb,
    subscription: Subscription,
    actor: Principal | None,
    details: dict[str, Any],
) -> None:
    activity.record(
        session,
        account_id=subscription.account_id,
        actor=actor,
        verb=verb,
        subject_id=subscription.id,
        client_id=subscription.client_id,
        details=details,
    )


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def plan_created(session: AsyncSession, plan: SubscriptionPlan, actor: StaffPrincipal) -> None:
    _plan(session, Verb.SUBSCRIPTION_PLAN_CREATED, plan, actor)


def plan_updated(session: AsyncSession, plan: SubscriptionPlan, actor: StaffPrincipal) -> None:
    _plan(session, Verb.SUBSCRIPTION_PLAN_UPDATED, plan, actor)


def plan_archived(session: AsyncSession, plan: SubscriptionPlan, actor: StaffPrincipal) -> None:
    _plan(session, Verb.SUBSCRIPTION_PLAN_ARCHIVED, plan, actor)


def created(session: AsyncSession, subscription: Subscription, actor: StaffPrincipal) -> None:
    _record(
        session,
        Verb.SUBSCRIPTION_CREATED,
        subscription,
        actor,
        {"plan_id": str(subscription.plan_id), "status": subscription.status.value},
    )


def renewed(
    session: AsyncSession,
    subscription: Subscription,
    *,
    invoice_id: uuid.UUID,
    period_start: datetime,
    period_end: datetime,
) -> None:
    """By the system (or the action that subscribed the client, for the first period)."""
    _record(
        session,
        Verb.SUBSCRIPTION_RENEWED,
        subscription,
        None,
        {
            "invoice_id": str(invoice_id),
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
        },
    )


def plan_changed(
    session: AsyncSession,
    subscription: Subscription,
    actor: Principal,
    *,
    from_plan_id: uuid.UUID,
    credit: Decimal,
    charge: Decimal,
    invoice_id: uuid.UUID | None,
    credit_id: uuid.UUID | None,
) -> None:
    details: dict[str, Any] = {
        "from_plan_id": str(from_plan_id),
        "to_plan_id": str(subscription.plan_id),
        "credit": str(credit),
        "charge": str(charge),
    }
    if invoice_id is not None:
        details["invoice_id"] = str(invoice_id)
    if credit_id is not None:
        details["credit_id"] = str(credit_id)
    _record(session, Verb.SUBSCRIPTION_PLAN_CHANGED, subscription, actor, details)


def cancellation_scheduled(
    session: AsyncSession, subscription: Subscription, actor: Principal, *, reason: str | None
) -> None:
    _record(
        session,
        Verb.SUBSCRIPTION_CANCELLATION_SCHEDULED,
        subscription,
        actor,
        {"period_end": _when(subscription.current_period_end), "reason": reason},
    )


def cancellation_requested(
    session: AsyncSession, subscription: Subscription, actor: Principal, *, reason: str | None
) -> None:
    _record(
        session, Verb.SUBSCRIPTION_CANCELLATION_REQUESTED, subscription, actor, {"reason": reason}
    )


def canceled(
    session: AsyncSession,
    subscription: Subscription,
    actor: Principal | None,
    *,
    reason: str | None,
    at_period_end: bool,
) -> None:
    """``actor`` is ``None`` when the system ended it (at the period end, or unpaid)."""
    _record(
        session,
        Verb.SUBSCRIPTION_CANCELED,
        subscription,
        actor,
        {"reason": reason, "at_period_end": at_period_end},
    )


def payment_method_changed(
    session: AsyncSession, subscription: Subscription, actor: Principal
) -> None:
    method = subscription.payment_method_id
    _record(
        session,
        Verb.SUBSCRIPTION_PAYMENT_METHOD_CHANGED,
        subscription,
        actor,
        {"payment_method_id": str(method) if method else None},
    )


def status_changed(
    session: AsyncSession, subscription: Subscription, *, from_status: SubscriptionStatus
) -> None:
    """By the system: a period's charge failed, was given up on, or was paid."""
    _record(
        session,
        Verb.SUBSCRIPTION_STATUS_CHANGED,
        subscription,
        None,
        {"from_status": from_status.value, "to_status": subscription.status.value},
    )
