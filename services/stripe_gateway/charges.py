"""The Portico payment a Stripe charge or dispute belongs to, for the refund and dispute
handlers (:mod:`.refunds`, :mod:`.disputes`).

A Charge made by a PaymentIntent carries the intent's metadata (the Portico payment id)
and its ``payment_intent``; a Dispute only its ``payment_intent`` (and ``charge``).
Either way the payment is the account's own: an object naming another account's payment
is refused, never applied.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.payments import Payment
from services.errors import PorticoError

NOT_PORTICO = "ignored: not a Portico payment"
ANOTHER_ACCOUNT = "refused: not this account's payment"


class NotYet(PorticoError):
    """The event needs state that has not arrived yet (a dispute of a payment Portico
    has not seen paid): not stored, so Stripe retries it and ``portico stripe-sync``
    replays it later."""

    code = "RETRY_LATER"


def object_id(value: Any) -> str | None:
    """An id field Stripe may send as an id or, expanded, as the object."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


async def payment_of(
    session: AsyncSession, account_id: uuid.UUID, stripe_object: dict[str, Any]
) -> Payment | str:
    """The account's payment, locked; or why not (an outcome for the stored event)."""
    intent_id = object_id(stripe_object.get("payment_intent"))
    metadata = stripe_object.get("metadata") or {}
    payment: Payment | None = None
    try:
        payment_id = uuid.UUID(str(metadata.get("portico_payment_id")))
    except ValueError:
        payment_id = None
    if payment_id is not None:
        statement = select(Payment).where(col(Payment.id) == payment_id).with_for_update()
        payment = (await session.exec(statement)).one_or_none()
    elif intent_id is not None:
        statement = (
            select(Payment)
            .where(
                col(Payment.provider_payment_id) == intent_id,
                col(Payment.account_id) == account_id,
            )
            .with_for_update()
        )
        payment = (await session.exec(statement)).first()
        if payment is None:
            elsewhere = select(Payment.id).where(col(Payment.provider_payment_id) == intent_id)
            return ANOTHER_ACCOUNT if (await session.exec(elsewhere)).first() else NOT_PORTICO
    if payment is None:
        return NOT_PORTICO
    if payment.account_id != account_id:
        return ANOTHER_ACCOUNT
    if intent_id and payment.provider_payment_id and payment.provider_payment_id != intent_id:
        return "refused: another PaymentIntent"
    return payment


def same_currency(payment: Payment, stripe_object: dict[str, Any]) -> bool:
    return str(stripe_object.get("currency", "")).upper() == payment.currency
