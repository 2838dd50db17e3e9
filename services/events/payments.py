"""The events of a payment's life, one recorder each (:mod:`services.events`).

=============================  =============================  ======================================
verb                           when                           details
=============================  =============================  ======================================
``payment.recorded``           staff record money received    ``amount``, ``currency``, ``method``,
                               by hand                        ``unapplied``
``payment.applied``            staff apply its unapplied      ``amount`` (applied now),
                               remainder to invoices          ``unapplied`` (left after)
``payment.started``            a billing contact starts a     ``amount``, ``currency``,
                               card payment in the portal     ``invoice_ids`` (the planned split)
``payment.completed``          the provider confirms it       ``amount``, ``currency``,
                                                              ``unapplied``
``payment.failed``             the provider declines it       ``amount``, ``currency``, and
                                                              ``reason`` when the provider gave one
``payment.processing``         the provider is clearing it    ``amount``, ``currency``
``payment.canceled``           never charged: replaced or     ``amount``, ``currency``, ``reason``
                               canceled at the provider       (``replaced``, ``provider``)
``payment.refunded``           staff refund all or part (a    ``amount``, ``currency``,
                               card refund: once Stripe       ``from_unapplied``,
                               confirms it, by the staff      ``refunded_total``, and for a card
                               member who asked, or by the    refund ``refund_id``
                               system for one made at
                               Stripe)
``payment.refund_requested``   staff ask Stripe to refund a   ``amount``, ``currency``,
                               card payment                   ``refund_id``
``payment.refund_failed``      Stripe refused or failed it    ``amount``, ``currency``,
                                                              ``refund_id``, ``reason``
``payment.disputed``           the payer disputes the card    ``amount`` (disputed), ``currency``,
                               charge with their bank         ``dispute_id``, ``reason``
``payment.dispute_won``        the dispute closed in the      ``amount``, ``currency``,
                               account's favour               ``dispute_id``
``payment.dispute_lost``       the dispute was lost: the      ``amount``, ``currency``,
                               money is taken back            ``dispute_id``, ``reversed`` (what its
                                                              invoices owe again)
=============================  =============================  ======================================

``payment.auto_billed``: the scheduler started charging an invoice of an auto-billed
schedule to the client's saved method (details ``amount``, ``currency``, ``invoice_id``,
``attempt``: 1 for the first try, more for each retry); ``payment.completed`` or
``payment.failed`` follow.

Amounts are decimal strings. Shown to the client: every payment event (it is the client's
own money; the contacts' role and modules still decide who reads money entries). What a
payment does to each invoice is the invoice's own event (:mod:`.invoices`), which goes to
the outbox; payment events do not.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.activity import Verb
from models.payments import Payment
from services import activity


def _record(
    session: AsyncSession,
    verb: Verb,
    payment: Payment,
    actor: Principal | None,
    details: dict[str, Any],
) -> None:
    activity.record(
        session,
        account_id=payment.account_id,
        actor=actor,
        verb=verb,
        subject_id=payment.id,
        client_id=payment.client_id,
        details=details,
    )


def recorded(
    session: AsyncSession, payment: Payment, actor: StaffPrincipal, *, applied: Decimal
) -> None:
    """``applied``: how much of it went onto invoices at once."""
    _record(
        session,
        Verb.PAYMENT_RECORDED,
        payment,
        actor,
        {
            "amount": str(payment.amount),
            "currency": payment.currency,
            "method": payment.method.value,
            "unapplied": str(payment.amount - applied),
        },
    )


def applied(
    session: AsyncSession,
    payment: Payment,
    actor: StaffPrincipal,
    *,
    amount: Decimal,
    unapplied: Decimal,
) -> None:
    _record(
        session,
        Verb.PAYMENT_APPLIED,
        payment,
        actor,
        {"amount": str(amount), "unapplied": str(unapplied)},
    )


def started(
    session: AsyncSession,
    payment: Payment,
    actor: ContactPrincipal,
    *,
    invoice_ids: Sequence[uuid.UUID],
) -> None:
    _record(
        session,
        Verb.PAYMENT_STARTED,
        payment,
        actor,
        {
            "amount": str(payment.amount),
            "currency": payment.currency,
            "invoice_ids": [str(invoice_id) for invoice_id in invoice_ids],
        },
    )


def completed(session: AsyncSession, payment: Payment, *, applied: Decimal) -> None:
    """By the system, on the provider's word; ``applied``: how much went onto invoices."""
    _record(
        session,
        Verb.PAYMENT_COMPLETED,
        payment,
        None,
        {
            "amount": str(payment.amount),
            "currency": payment.currency,
            "unapplied": str(payment.amount - applied),
        },
    )


def processing(session: AsyncSession, payment: Payment) -> None:
    """By the system: the provider accepted it and is clearing it."""
    _record(
        session,
        Verb.PAYMENT_PROCESSING,
        payment,
        None,
        {"amount": str(payment.amount), "currency": payment.currency},
    )


def canceled(session: AsyncSession, payment: Payment, *, reason: str) -> None:
    """Never charged: replaced by a newer attempt (``replaced``) or canceled at the
    provider (``provider``)."""
    _record(
        session,
        Verb.PAYMENT_CANCELED,
        payment,
        None,
        {"amount": str(payment.amount), "currency": payment.currency, "reason": reason},
    )


def failed(session: AsyncSession, payment: Payment, *, reason: str | None) -> None:
    """By the system, on the provider's word."""
    _record(
        session,
        Verb.PAYMENT_FAILED,
        payment,
        None,
        {"amount": str(payment.amount), "currency": payment.currency}
        | ({"reason": reason} if reason else {}),
    )


def refunded(
    session: AsyncSession,
    payment: Payment,
    actor: StaffPrincipal | None,
    *,
    amount: Decimal,
    from_unapplied: Decimal,
    refund_id: uuid.UUID | None = None,
) -> None:
    """``amount`` given back now, ``from_unapplied`` of it from the unapplied remainder;
    the payment's ``refunded_amount`` already includes it. ``refund_id``: the card
    refund Stripe confirmed (no ``actor`` when it was made in Stripe's dashboard)."""
    _record(
        session,
        Verb.PAYMENT_REFUNDED,
        payment,
        actor,
        {
            "amount": str(amount),
            "currency": payment.currency,
            "from_unapplied": str(from_unapplied),
            "refunded_total": str(payment.refunded_amount),
        }
        | ({"refund_id": str(refund_id)} if refund_id else {}),
    )


def refund_requested(
    session: AsyncSession,
    payment: Payment,
    actor: StaffPrincipal,
    *,
    amount: Decimal,
    refund_id: uuid.UUID,
) -> None:
    """Staff asked Stripe to refund a card payment; nothing moves until it confirms."""
    _record(
        session,
        Verb.PAYMENT_REFUND_REQUESTED,
        payment,
        actor,
        {"amount": str(amount), "currency": payment.currency, "refund_id": str(refund_id)},
    )


def refund_failed(
    session: AsyncSession,
    payment: Payment,
    *,
    amount: Decimal,
    refund_id: uuid.UUID,
    reason: str,
) -> None:
    """By the system: Stripe refused or failed the refund; nothing moved."""
    _record(
        session,
        Verb.PAYMENT_REFUND_FAILED,
        payment,
        None,
        {
            "amount": str(amount),
            "currency": payment.currency,
            "refund_id": str(refund_id),
            "reason": reason,
        },
    )


def disputed(
    session: AsyncSession,
    payment: Payment,
    *,
    amount: Decimal,
    dispute_id: str,
    reason: str | None,
) -> None:
    """By the system: the payer disputed the charge; it still counts on its invoices."""
    _record(
        session,
        Verb.PAYMENT_DISPUTED,
        payment,
        None,
        {"amount": str(amount), "currency": payment.currency, "dispute_id": dispute_id}
        | ({"reason": reason} if reason else {}),
    )


def dispute_won(
    session: AsyncSession, payment: Payment, *, amount: Decimal, dispute_id: str
) -> None:
    """By the system: the dispute closed in the account's favour; the payment stands."""
    _record(
        session,
        Verb.PAYMENT_DISPUTE_WON,
        payment,
        None,
        {"amount": str(amount), "currency": payment.currency, "dispute_id": dispute_id},
    )


def dispute_lost(
    session: AsyncSession,
    payment: Payment,
    *,
    amount: Decimal,
    dispute_id: str,
    reversed_amount: Decimal,
) -> None:
    """By the system: the dispute was lost; ``reversed_amount`` is what the payment's
    invoices owe again (the rest was unapplied credit, now gone)."""
    _record(
        session,
        Verb.PAYMENT_DISPUTE_LOST,
        payment,
        None,
        {
            "amount": str(amount),
            "currency": payment.currency,
            "dispute_id": dispute_id,
            "reversed": str(reversed_amount),
        },
    )


def auto_billed(
    session: AsyncSession, payment: Payment, *, invoice_id: uuid.UUID, attempt: int
) -> None:
    """By the system: the scheduler charges the invoice off-session."""
    _record(
        session,
        Verb.PAYMENT_AUTO_BILLED,
        payment,
        None,
        {
            "amount": str(payment.amount),
            "currency": payment.currency,
            "invoice_id": str(invoice_id),
            "attempt": attempt,
        },
    )
