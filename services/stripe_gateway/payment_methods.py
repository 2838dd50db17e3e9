"""Saved payment methods at Stripe: adding one through a SetupIntent, removing one.

Adding: :func:`create_setup_intent` makes a SetupIntent for the client's Stripe Customer
(``usage=off_session``: the card may later be charged while the client is away, by
auto-bill) and answers the ``clientSecret`` for Stripe.js ``confirmCardSetup``. Nothing
is stored then: Stripe's ``setup_intent.succeeded`` webhook stores the method
(:mod:`.method_handlers`), with the brand, last four digits and expiry re-read from
Stripe.

Removing: :func:`remove_payment_method` refuses (``CONFLICT``, with the reason) while the
method backs a live subscription or an auto-billed schedule
(:func:`services.payments.methods.removal_blocker`); otherwise it detaches the method at
Stripe, outside any transaction, then deletes the row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import stripe
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal
from models.accounts import Account
from services.access import access_client, access_payment_method, require_staff
from services.errors import BadInput, Conflict, Forbidden, NotFound, PaymentProviderError
from services.payments.methods import (
    MethodDetails,
    forget_payment_method,
    removable_payment_method,
)
from services.runtime import Runtime
from services.stripe_gateway.connection import connected
from services.stripe_gateway.customers import customer_of
from services.unit_of_work import end_read, unit_of_work


@dataclass(frozen=True, slots=True)
class SetupIntentStarted:
    setup_intent_id: str
    client_secret: str
    publishable_key: str


def method_details(payment_method: dict[str, Any]) -> MethodDetails | None:
    """The display details of a Stripe PaymentMethod object; ``None`` when it is not one."""
    pm_id = payment_method.get("id")
    if not isinstance(pm_id, str) or not pm_id:
        return None
    kind = str(payment_method.get("type") or "card")
    card = payment_method.get("card") or {}
    if kind == "card":
        return MethodDetails(
            stripe_payment_method_id=pm_id,
            kind=kind,
            brand=card.get("brand"),
            last4=card.get("last4"),
            exp_month=card.get("exp_month"),
            exp_year=card.get("exp_year"),
        )
    account = payment_method.get(kind) or {}
    return MethodDetails(
        stripe_payment_method_id=pm_id,
        kind=kind,
        last4=account.get("last4"),
        bank_name=account.get("bank_name"),
    )


def _client_of_request(actor: Principal, client_id: uuid.UUID | None) -> uuid.UUID:
    if isinstance(actor, ContactPrincipal):
        if actor.read_only:
            raise Forbidden()
        if client_id is not None and client_id != actor.client_id:
            raise NotFound("Client")
        return actor.client_id
    require_staff(actor)
    if client_id is None:
        raise BadInput("Name the client the payment method is for.", field="clientId")
    return client_id


async def create_setup_intent(
    runtime: Runtime, session: AsyncSession, actor: Principal, client_id: uuid.UUID | None
) -> SetupIntentStarted:
    """A SetupIntent for a billing contact's own client, or for a client staff name (a
    card the client gave them, entered in Stripe's own form: Portico never sees it)."""
    client = await access_client(session, actor, _client_of_request(actor, client_id))
    if client.archived_at is not None:
        raise Conflict("Archived clients cannot save payment methods.", field="clientId")
    account = await session.get(Account, client.account_id)
    if account is None:  # pragma: no cover - the client's account
        raise NotFound("Account")
    gateway = connected(runtime.settings, account)
    await end_read(session)
    customer = await customer_of(runtime, gateway, client)
    metadata = {
        "portico_account_id": str(client.account_id),
        "portico_client_id": str(client.id),
    }
    if isinstance(actor, ContactPrincipal):
        metadata["portico_contact_id"] = str(actor.contact_id)
    try:
        intent = await gateway.client.v1.setup_intents.create_async(
            params={  # type: ignore[arg-type]
                "customer": customer,
                "payment_method_types": ["card"],
                "usage": "off_session",
                "metadata": metadata,
            }
        )
    except stripe.StripeError as error:
        raise PaymentProviderError(
            f"Stripe could not start saving a card ({type(error).__name__})."
        ) from error
    if not intent.client_secret:  # pragma: no cover - Stripe always answers one
        raise PaymentProviderError("Stripe answered no client secret.")
    return SetupIntentStarted(
        setup_intent_id=intent.id,
        client_secret=intent.client_secret,
        publishable_key=gateway.publishable_key,
    )


async def remove_payment_method(
    runtime: Runtime, session: AsyncSession, actor: Principal, payment_method_id: uuid.UUID
) -> uuid.UUID:
    """Detach the method at Stripe and forget it; its id. Refused while something is
    charged to it."""
    if isinstance(actor, ContactPrincipal) and actor.read_only:
        raise Forbidden()
    method = await removable_payment_method(session, actor, payment_method_id)
    account = await session.get(Account, method.account_id)
    if account is None:  # pragma: no cover - the method's account
        raise NotFound("Account")
    stripe_id = method.stripe_payment_method_id
    if stripe_id:
        gateway = connected(runtime.settings, account)
        await end_read(session)
        try:
            await gateway.client.v1.payment_methods.detach_async(stripe_id)
        except stripe.InvalidRequestError:
            pass  # no longer attached (detached at Stripe already): forget it here too
        except stripe.StripeError as error:
            raise PaymentProviderError(
                f"Stripe could not remove the payment method ({type(error).__name__})."
            ) from error
    async with unit_of_work(runtime, session) as work:
        row = await access_payment_method(work.session, actor, method.id)  # locked below
        await forget_payment_method(work.session, row, actor=actor, reason="removed")
    return method.id
