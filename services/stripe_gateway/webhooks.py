"""Stripe's webhooks: verified, stored once per event id, each handled in one unit of work.

``POST /webhooks/stripe/{account id}`` (server.stripe_webhooks) hands the raw body and the
``Stripe-Signature`` header here. The signature is checked with the library
(``stripe.Webhook.construct_event``, 300 s tolerance) against the account's sealed webhook
secret: a forged or stale delivery is refused (HTTP 400) and nothing is stored. A valid
event is stored under its id in the transaction that handles it (:mod:`.handlers`): a
retried or duplicated delivery finds it processed and changes nothing; two copies
arriving at once serialise on the row (the loser sees a duplicate).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import stripe
import structlog
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from auth.secret_box import SecretBoxError
from models.accounts import Account
from models.stripe import StripeEvent
from models.types import utcnow
from services.errors import NotFound, PorticoError
from services.runtime import Runtime
from services.stripe_gateway.connection import secret_box
from services.stripe_gateway.handlers import HANDLERS
from services.stripe_gateway.refresh import refreshed_object
from services.unit_of_work import unit_of_work

log = structlog.get_logger("portico.stripe")

TOLERANCE_SECONDS = 300


class BadSignature(PorticoError):
    code = "BAD_SIGNATURE"


async def receive_webhook(
    runtime: Runtime, account_id: uuid.UUID, payload: bytes, signature: str | None
) -> str:
    """Verify one delivery and handle its event; the outcome (for the response)."""
    async with runtime.sessions() as session:
        # not a caller's read: the URL names the endpoint, the signature authenticates it
        account = await session.get(Account, account_id)
    if account is None or not account.stripe_webhook_secret:
        raise NotFound("Stripe endpoint")
    try:
        secret = secret_box(runtime.settings).open(account.stripe_webhook_secret)
    except SecretBoxError as error:
        raise BadSignature("The webhook secret cannot be read; connect Stripe again.") from error
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=TOLERANCE_SECONDS
        )
    except (stripe.SignatureVerificationError, ValueError) as error:
        log.warning("stripe_webhook_refused", account_id=str(account_id), reason=str(error))
        raise BadSignature("The signature does not match this endpoint.") from error
    return await handle_event(runtime, account_id, event.to_dict())


async def handle_event(runtime: Runtime, account_id: uuid.UUID, event: dict[str, Any]) -> str:
    """Store ``event`` (once) and apply it; ``duplicate`` when it was already processed."""
    current = await refreshed_object(runtime, account_id, event)
    try:
        return await _handle(runtime, account_id, event, current)
    except IntegrityError:
        return "duplicate"  # the same event, stored by a delivery that committed first


async def _handle(
    runtime: Runtime, account_id: uuid.UUID, event: dict[str, Any], current: dict[str, Any]
) -> str:
    event_id = str(event["id"])
    async with unit_of_work(runtime) as work:
        statement = select(StripeEvent).where(col(StripeEvent.id) == event_id).with_for_update()
        stored = (await work.session.exec(statement)).one_or_none()
        if stored is not None and stored.processed_at is not None:
            return "duplicate"
        if stored is not None and stored.account_id != account_id:
            return "refused: another account's event"
        if stored is None:
            stored = StripeEvent(
                id=event_id,
                account_id=account_id,
                type=str(event.get("type", "")),
                stripe_created=_created(event),
                livemode=bool(event.get("livemode", False)),
                payload=event,
            )
            work.session.add(stored)
            await work.session.flush()
        handler = HANDLERS.get(stored.type)
        outcome = (
            await handler(work.session, account_id, current)
            if handler is not None
            else "ignored: not handled"
        )
        stored.processed_at = utcnow()
        stored.outcome = outcome[:200]
    log.info("stripe_event", event_id=event_id, type=stored.type, outcome=outcome)
    return outcome


def _created(event: dict[str, Any]) -> datetime | None:
    created = event.get("created")
    return datetime.fromtimestamp(int(created), UTC) if created is not None else None
