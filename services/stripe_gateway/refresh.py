"""Re-reading from Stripe what an event is about, before its transaction opens.

An event's object is a snapshot from when the event was made; for saved payment methods
what counts is how things are now (a card detached since is not to be stored), and a
SetupIntent's or a PaymentIntent's event names its PaymentMethod only by id, without
the brand, last four digits and expiry Portico shows. So for these events the object is
read again from Stripe — outside any transaction (no database lock is held across the
round trip) — and the PaymentMethod is put in it in full.

A Stripe error while re-reading a SetupIntent or PaymentMethod fails the delivery
(Stripe retries it); for a PaymentIntent's success it only means the card is not saved,
and the payment is applied from the event's object as before.
"""

from __future__ import annotations

import uuid
from typing import Any

import stripe
import structlog

from models.accounts import Account
from services.runtime import Runtime
from services.stripe_gateway.connection import Connected, connected

log = structlog.get_logger("portico.stripe")

REFRESHED = ("setup_intent.succeeded", "payment_method.detached", "payment_intent.succeeded")


async def refreshed_object(
    runtime: Runtime, account_id: uuid.UUID, event: dict[str, Any]
) -> dict[str, Any]:
    """The event's object, as Stripe has it now where that matters."""
    kind = str(event.get("type", ""))
    current: dict[str, Any] = dict((event.get("data") or {}).get("object") or {})
    if kind not in REFRESHED:
        return current
    if kind == "payment_intent.succeeded" and not (
        current.get("setup_future_usage") and isinstance(current.get("payment_method"), str)
    ):
        return current
    async with runtime.sessions() as session:
        account = await session.get(Account, account_id)
    if account is None or not account.stripe_secret_key:
        return current
    gateway = connected(runtime.settings, account)
    if kind == "setup_intent.succeeded":
        return await _setup_intent(gateway, current)
    if kind == "payment_method.detached":
        return await _payment_method(gateway, current.get("id")) or {**current, "customer": None}
    try:
        current["payment_method"] = await _payment_method(gateway, current["payment_method"])
    except stripe.StripeError as error:
        log.warning("stripe_refresh_failed", intent=current.get("id"), error=type(error).__name__)
    return current


async def _setup_intent(gateway: Connected, snapshot: dict[str, Any]) -> dict[str, Any]:
    try:
        found = await gateway.client.v1.setup_intents.retrieve_async(str(snapshot["id"]))
    except stripe.InvalidRequestError as error:
        if _missing(error):
            return {**snapshot, "status": "missing", "payment_method": None}
        raise
    intent = found.to_dict()
    method = intent.get("payment_method")
    if isinstance(method, dict):
        method = method.get("id")
    intent["payment_method"] = await _payment_method(gateway, method) if method else None
    return intent


async def _payment_method(gateway: Connected, method_id: object) -> dict[str, Any] | None:
    """The PaymentMethod now, or ``None`` when Stripe no longer has it."""
    if not isinstance(method_id, str) or not method_id:
        return None
    try:
        method = await gateway.client.v1.payment_methods.retrieve_async(method_id)
    except stripe.InvalidRequestError as error:
        if _missing(error):
            return None
        raise
    found: dict[str, Any] = method.to_dict()
    return found


def _missing(error: stripe.InvalidRequestError) -> bool:
    return error.code == "resource_missing" or error.http_status == 404
