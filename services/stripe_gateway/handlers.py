"""What each Stripe event does, safe in any order and any number of times.

Stripe retries, duplicates and reorders deliveries. Each handler reads the state from the
event's object (the PaymentIntent as it was when the event was made), not from which
event came last, and moves the Portico payment only forward: a completed payment is never
failed or canceled by a late event; a ``payment_intent.succeeded`` completes a payment
whatever it was before (pending, processing, failed, even canceled — the money came), and
applies it exactly once (:func:`services.payments.complete_payment` is idempotent).

A handler returns an outcome for the stored event (``applied``, ``ignored: …``,
``refused: …``); "refused" is for objects that are not this account's or do not match its
payment (another amount or currency): logged, never applied.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import PaymentStatus
from models.payments import RECEIVED_STATUSES, Payment
from models.types import utcnow
from services.events import payments as payment_events
from services.payments.provider import complete_payment
from services.stripe_gateway.amounts import to_minor_units
from services.stripe_gateway.disputes import DISPUTE_HANDLERS
from services.stripe_gateway.method_handlers import (
    payment_method_detached,
    save_paying_method,
    setup_intent_succeeded,
)
from services.stripe_gateway.refunds import REFUND_HANDLERS

log = structlog.get_logger("portico.stripe")

Handler = Callable[[AsyncSession, uuid.UUID, dict[str, Any]], Awaitable[str]]

OPEN = (PaymentStatus.PENDING, PaymentStatus.PROCESSING)


async def _payment_of(
    session: AsyncSession, account_id: uuid.UUID, intent: dict[str, Any]
) -> Payment | str:
    """The account's payment the PaymentIntent was made for, locked; or why not."""
    metadata = intent.get("metadata") or {}
    try:
        payment_id = uuid.UUID(str(metadata.get("portico_payment_id")))
    except ValueError:
        return "ignored: not a Portico payment"
    statement = select(Payment).where(col(Payment.id) == payment_id).with_for_update()
    payment = (await session.exec(statement)).one_or_none()
    if payment is None or payment.account_id != account_id:
        return "refused: not this account's payment"
    if payment.provider_payment_id and payment.provider_payment_id != intent.get("id"):
        return "refused: another PaymentIntent"
    return payment


async def intent_succeeded(
    session: AsyncSession, account_id: uuid.UUID, intent: dict[str, Any]
) -> str:
    payment = await _payment_of(session, account_id, intent)
    if isinstance(payment, str):
        return payment
    expected = to_minor_units(payment.amount, payment.currency)
    if intent.get("amount") != expected or str(intent.get("currency", "")).upper() != (
        payment.currency
    ):
        log.error(
            "stripe_amount_mismatch",
            payment_id=str(payment.id),
            expected=expected,
            received=intent.get("amount"),
            currency=intent.get("currency"),
        )
        return "refused: amount or currency differs from the payment"
    if payment.status in RECEIVED_STATUSES:
        return "ignored: already applied"
    await complete_payment(
        session=session, payment_id=payment.id, provider_payment_id=str(intent["id"])
    )
    await save_paying_method(session, payment, intent)
    return "applied"


async def intent_failed(
    session: AsyncSession, account_id: uuid.UUID, intent: dict[str, Any]
) -> str:
    payment = await _payment_of(session, account_id, intent)
    if isinstance(payment, str):
        return payment
    if payment.status not in OPEN:
        return f"ignored: the payment is {payment.status.value.lower()}"
    error = intent.get("last_payment_error") or {}
    payment.status = PaymentStatus.FAILED
    payment.updated_at = utcnow()
    payment_events.failed(session, payment, reason=error.get("message") or error.get("code"))
    return "applied"


async def intent_processing(
    session: AsyncSession, account_id: uuid.UUID, intent: dict[str, Any]
) -> str:
    payment = await _payment_of(session, account_id, intent)
    if isinstance(payment, str):
        return payment
    if payment.status is not PaymentStatus.PENDING:
        return f"ignored: the payment is {payment.status.value.lower()}"
    payment.status = PaymentStatus.PROCESSING
    payment.updated_at = utcnow()
    payment_events.processing(session, payment)
    return "applied"


async def intent_canceled(
    session: AsyncSession, account_id: uuid.UUID, intent: dict[str, Any]
) -> str:
    payment = await _payment_of(session, account_id, intent)
    if isinstance(payment, str):
        return payment
    if payment.status not in (*OPEN, PaymentStatus.FAILED):
        return f"ignored: the payment is {payment.status.value.lower()}"
    payment.status = PaymentStatus.CANCELED
    payment.updated_at = utcnow()
    payment_events.canceled(session, payment, reason="provider")
    return "applied"


HANDLERS: dict[str, Handler] = {
    "payment_intent.succeeded": intent_succeeded,
    "payment_intent.payment_failed": intent_failed,
    "payment_intent.processing": intent_processing,
    "payment_intent.canceled": intent_canceled,
    "setup_intent.succeeded": setup_intent_succeeded,
    "payment_method.detached": payment_method_detached,
    **REFUND_HANDLERS,
    **DISPUTE_HANDLERS,
}
"""Event type -> handler; other types are stored and marked ignored."""
