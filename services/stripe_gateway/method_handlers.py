"""Stripe events about saved payment methods, safe in any order and any number of times.

Each handler receives the event's object as Stripe has it now
(:mod:`.refresh` re-reads the SetupIntent and the PaymentMethod before the transaction
opens): a method is stored only while Stripe has it attached to the client's Customer,
so a late ``setup_intent.succeeded`` after the card was detached stores nothing, and a
``payment_method.detached`` for a card attached again removes nothing. Storing is
idempotent (one row per Stripe PaymentMethod,
:func:`services.payments.methods.save_payment_method`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models.clients import Client
from models.payments import Payment
from services.errors import Conflict
from services.payments.methods import forget_stripe_method, save_payment_method
from services.stripe_gateway.payment_methods import method_details


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def _save(
    session: AsyncSession,
    account_id: uuid.UUID,
    client: Client,
    payment_method: Any,
    *,
    source: str,
    contact_id: uuid.UUID | None = None,
) -> tuple[str, uuid.UUID | None]:
    if not isinstance(payment_method, dict):
        return "ignored: the payment method could not be read from Stripe", None
    if payment_method.get("customer") != client.stripe_customer_id:
        return "ignored: the payment method is not attached to the client", None
    details = method_details(payment_method)
    if details is None:
        return "ignored: not a payment method", None
    try:
        method, created = await save_payment_method(
            session,
            account_id=account_id,
            client_id=client.id,
            details=details,
            source=source,
            contact_id=contact_id,
        )
    except Conflict:
        return "refused: the payment method is saved for another client", None
    return ("applied" if created else "ignored: already saved"), method.id


async def setup_intent_succeeded(
    session: AsyncSession, account_id: uuid.UUID, intent: dict[str, Any]
) -> str:
    """Store the card a client saved (``createSetupIntent`` then Stripe.js)."""
    metadata = intent.get("metadata") or {}
    client_id = _uuid(metadata.get("portico_client_id"))
    if client_id is None:
        return "ignored: not a Portico SetupIntent"
    client = await session.get(Client, client_id)
    if (
        client is None
        or client.account_id != account_id
        or str(metadata.get("portico_account_id")) != str(account_id)
    ):
        return "refused: not this account's client"
    if not client.stripe_customer_id or intent.get("customer") != client.stripe_customer_id:
        return "refused: another customer's SetupIntent"
    if intent.get("status") != "succeeded":
        return f"ignored: the SetupIntent is {intent.get('status')}"
    outcome, _method_id = await _save(
        session,
        account_id,
        client,
        intent.get("payment_method"),
        source="setup_intent",
        contact_id=_uuid(metadata.get("portico_contact_id")),
    )
    return outcome


async def payment_method_detached(
    session: AsyncSession, account_id: uuid.UUID, payment_method: dict[str, Any]
) -> str:
    """Forget a card detached at Stripe (from its dashboard, or by ``removePaymentMethod``)."""
    if payment_method.get("customer"):
        return "ignored: the payment method is attached again"
    forgotten = await forget_stripe_method(
        session,
        account_id=account_id,
        stripe_payment_method_id=str(payment_method.get("id")),
        actor=None,
        reason="detached",
    )
    return "applied" if forgotten is not None else "ignored: not saved"


async def save_paying_method(
    session: AsyncSession, payment: Payment, intent: dict[str, Any]
) -> None:
    """A card payment that asked to keep its card (``savePaymentMethod``: the intent's
    ``setup_future_usage``) succeeded: store the card for the client."""
    if not intent.get("setup_future_usage"):
        return
    client = await session.get(Client, payment.client_id)
    if client is None:  # pragma: no cover - the payment's client
        return
    _outcome, method_id = await _save(
        session, payment.account_id, client, intent.get("payment_method"), source="payment"
    )
    if method_id is not None and payment.payment_method_id is None:
        payment.payment_method_id = method_id
