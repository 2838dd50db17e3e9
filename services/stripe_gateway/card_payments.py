"""Pay now: a Stripe PaymentIntent for a Portico payment, never two charges for one balance.

1. One unit of work decides: the Billing rules (:func:`services.payments.portal.pay_invoices`)
   give the PENDING payment and its split; a pending payment of the same client on any of
   these invoices is canceled (``replaced``) in the same transaction. It locks the client
   first, so two attempts of one client decide one after the other; and an attempt still
   on its way to Stripe (pending, no PaymentIntent yet, younger than :data:`IN_FLIGHT`)
   cannot be replaced — nothing could stop its charge — so the new one is refused
   (CONFLICT) and writes nothing.
2. Outside any transaction, Stripe: the replaced payments' PaymentIntents are canceled — if
   one can no longer be (it is succeeding), the new payment is canceled instead and the
   caller told the invoices are being paid; the client's Stripe Customer is made once; the
   PaymentIntent is created with the amount in minor units, the Portico payment's id in
   its metadata and an idempotency key derived from that id (a retried request creates
   nothing twice).
3. A second unit of work records the PaymentIntent on the payment; a saved card confirmed
   off-session that already succeeded is applied at once (the webhook that follows
   changes nothing: :func:`services.payments.complete_payment` is idempotent).

The frontend finishes with Stripe.js and the ``clientSecret`` (also for 3-D Secure,
``requires_action``); the payment completes when Stripe's ``payment_intent.succeeded``
webhook arrives (:mod:`.handlers`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import stripe
import structlog
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal
from models.accounts import Account
from models.clients import Client
from models.enums import PaymentStatus
from models.payment_methods import SavedPaymentMethod
from models.payments import Payment, PaymentAllocation
from models.types import utcnow
from services.access import access_client, access_payment_method
from services.errors import Conflict, NotFound, PaymentDeclined, PaymentProviderError
from services.events import payments as payment_events
from services.payments.portal import PaymentPlan, pay_invoices, require_portal_payments
from services.payments.provider import complete_payment
from services.runtime import Runtime
from services.stripe_gateway.amounts import to_minor_units
from services.stripe_gateway.connection import Connected, connected
from services.stripe_gateway.customers import customer_of
from services.unit_of_work import end_read, unit_of_work

log = structlog.get_logger("portico.stripe")

PROVIDER = "stripe"
REPLACEABLE = (PaymentStatus.PENDING,)
"""Payments a new attempt replaces: started, not yet accepted by Stripe."""
IN_FLIGHT = timedelta(minutes=10)
"""How long a pending payment without a PaymentIntent counts as on its way to Stripe (its
request is creating the intent, and may be charging a saved card). Longer than the
Stripe client's calls with their retries; an older one was abandoned (its process ended)
and is replaced."""
IN_FLIGHT_MESSAGE = "A payment for these invoices is already going through."
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
"""PaymentIntent statuses the frontend still has to finish with the client secret."""


@dataclass(frozen=True, slots=True)
class CardPayment:
    payment: Payment
    plan: PaymentPlan
    client_secret: str | None
    """For Stripe.js (``confirmCardPayment``), while the PaymentIntent needs the payer."""
    publishable_key: str
    intent_status: str


async def pay_invoices_by_card(
    runtime: Runtime,
    session: AsyncSession,
    contact: ContactPrincipal,
    invoice_ids: Sequence[uuid.UUID],
    *,
    amount: Decimal | None,
    amounts: Sequence[tuple[uuid.UUID, Decimal]] | None = None,
    payment_method_id: uuid.UUID | None = None,
    save_payment_method: bool = False,
) -> CardPayment:
    account = await _account_of(session, contact)
    require_portal_payments(account)
    gateway = connected(runtime.settings, account)
    saved = (
        await access_payment_method(session, contact, payment_method_id)
        if payment_method_id is not None
        else None
    )
    if saved is not None and not saved.stripe_payment_method_id:
        raise Conflict("This payment method cannot be charged online.", field="paymentMethodId")
    async with unit_of_work(runtime, session) as work:
        client = await access_client(work.session, contact, contact.client_id)
        await _lock_client(work.session, client.id)
        replaced = await _replace_pending(work.session, contact.client_id, invoice_ids)
        started = await pay_invoices(
            session=work.session,
            contact=contact,
            invoice_ids=invoice_ids,
            amount=amount,
            amounts=amounts,
        )
        payment = started.payment
        payment.provider = PROVIDER
        payment.payment_method_id = saved.id if saved else None
    await end_read(session)
    if not await _cancel_intents(gateway, replaced):
        await _cancel_payment(runtime, payment.id, reason="replaced")
        raise Conflict(IN_FLIGHT_MESSAGE)
    try:
        customer = await customer_of(runtime, gateway, client)
    except PaymentProviderError as error:
        # not left pending without an intent: that would count as in flight
        await _fail_payment(runtime, payment.id, reason=type(error.__cause__).__name__)
        raise
    intent = await _create_intent(
        runtime, gateway, payment, customer, saved=saved, save=save_payment_method
    )
    async with unit_of_work(runtime, session) as work:
        recorded = await _lock_payment(work.session, payment.id)
        recorded.provider_payment_id = intent.id
        recorded.updated_at = utcnow()
        if intent.status == "succeeded":
            recorded = await complete_payment(
                session=work.session, payment_id=payment.id, provider_payment_id=intent.id
            )
        elif intent.status == "processing" and recorded.status is PaymentStatus.PENDING:
            recorded.status = PaymentStatus.PROCESSING
            payment_events.processing(work.session, recorded)
    return CardPayment(
        payment=recorded,
        plan=started.plan,
        client_secret=intent.client_secret if intent.status in CONFIRMABLE else None,
        publishable_key=gateway.publishable_key,
        intent_status=intent.status,
    )


async def _account_of(session: AsyncSession, contact: ContactPrincipal) -> Account:
    account = await session.get(Account, contact.account_id)
    if account is None:  # pragma: no cover - a contact's session belongs to an account
        raise NotFound("Account")
    return account


async def _lock_client(session: AsyncSession, client_id: uuid.UUID) -> None:
    """One attempt of a client at a time decides: its client row locked (PostgreSQL;
    SQLite: the write lock), ``FOR NO KEY UPDATE`` so that rows referencing the client
    (a payment completing meanwhile records its activity) are not held up by it."""
    statement = select(Client.id).where(col(Client.id) == client_id)
    await session.exec(statement.with_for_update(key_share=True))


async def _replace_pending(
    session: AsyncSession, client_id: uuid.UUID, invoice_ids: Sequence[uuid.UUID]
) -> list[str]:
    """Cancel the client's pending payments on any of these invoices; their
    PaymentIntents (to cancel at Stripe once committed). One still on its way to Stripe
    (no PaymentIntent yet, younger than :data:`IN_FLIGHT`) is not replaced: CONFLICT."""
    statement = (
        select(Payment)
        .join(PaymentAllocation, col(PaymentAllocation.payment_id) == col(Payment.id))
        .where(
            col(Payment.client_id) == client_id,
            col(Payment.status).in_(REPLACEABLE),
            col(PaymentAllocation.invoice_id).in_(list(invoice_ids)),
        )
        .with_for_update()
    )
    pending = (await session.exec(statement)).unique().all()
    since = utcnow() - IN_FLIGHT
    if any(p.provider_payment_id is None and p.created_at > since for p in pending):
        raise Conflict(IN_FLIGHT_MESSAGE)
    intents: list[str] = []
    for payment in pending:
        payment.status = PaymentStatus.CANCELED
        payment.updated_at = utcnow()
        payment_events.canceled(session, payment, reason="replaced")
        if payment.provider_payment_id:
            intents.append(payment.provider_payment_id)
    return intents


async def _cancel_intents(gateway: Connected, intents: list[str]) -> bool:
    """Cancel each at Stripe; ``False`` when one is already past canceling (succeeded or
    processing: its money is coming, so the new attempt must not charge again)."""
    for intent_id in intents:
        try:
            await gateway.client.v1.payment_intents.cancel_async(intent_id)
        except stripe.InvalidRequestError:
            current = await gateway.client.v1.payment_intents.retrieve_async(intent_id)
            if current.status in ("succeeded", "processing"):
                return False
            if current.status != "canceled":
                raise
    return True


async def _create_intent(
    runtime: Runtime,
    gateway: Connected,
    payment: Payment,
    customer: str,
    *,
    saved: SavedPaymentMethod | None,
    save: bool,
) -> Any:
    params: dict[str, Any] = {
        "amount": to_minor_units(payment.amount, payment.currency),
        "currency": payment.currency.lower(),
        "customer": customer,
        "payment_method_types": ["card"],
        "metadata": {
            "portico_payment_id": str(payment.id),
            "portico_account_id": str(payment.account_id),
        },
    }
    if saved is not None:
        params |= {
            "payment_method": saved.stripe_payment_method_id,
            "confirm": True,
            "off_session": True,
        }
    elif save:
        params["setup_future_usage"] = "off_session"
    try:
        return await gateway.client.v1.payment_intents.create_async(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": f"portico-payment-{payment.id}"},
        )
    except stripe.CardError as error:
        reason = error.user_message or "The card was declined."
        await _fail_payment(runtime, payment.id, reason=reason)
        raise PaymentDeclined(reason) from error
    except stripe.StripeError as error:
        await _fail_payment(runtime, payment.id, reason=type(error).__name__)
        raise PaymentProviderError(
            f"Stripe could not take the payment ({type(error).__name__})."
        ) from error


async def _lock_payment(session: AsyncSession, payment_id: uuid.UUID) -> Payment:
    statement = select(Payment).where(col(Payment.id) == payment_id).with_for_update()
    return (await session.exec(statement)).one()


async def _fail_payment(runtime: Runtime, payment_id: uuid.UUID, *, reason: str) -> None:
    async with unit_of_work(runtime) as work:
        payment = await _lock_payment(work.session, payment_id)
        if payment.status is PaymentStatus.PENDING:
            payment.status = PaymentStatus.FAILED
            payment.updated_at = utcnow()
            payment_events.failed(work.session, payment, reason=reason)


async def _cancel_payment(runtime: Runtime, payment_id: uuid.UUID, *, reason: str) -> None:
    async with unit_of_work(runtime) as work:
        payment = await _lock_payment(work.session, payment_id)
        if payment.status is PaymentStatus.PENDING:
            payment.status = PaymentStatus.CANCELED
            payment.updated_at = utcnow()
            payment_events.canceled(work.session, payment, reason=reason)
