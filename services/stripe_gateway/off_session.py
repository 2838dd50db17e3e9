"""The retry policy of Portico's off-session charges, shared by invoice auto-bill
(:mod:`.auto_bill`) and recurring pre-payment cycles (:mod:`.prepayments`).

One attempt is: claim (a unit of work marks it CHARGING with its PENDING payment, before
Stripe is called), :func:`charge_off_session` (outside any transaction, under the
attempt's idempotency key), then record Stripe's :class:`Answer`:

- ``succeeded`` / ``processing``: the payment completes (or clears), done;
- ``declined`` (or any refusal): the payment fails, the next attempt comes
  :func:`next_attempt_after` (:data:`RETRY_DAYS`), none after :data:`MAX_ATTEMPTS`;
  the billing contacts are mailed each time;
- ``requires_action``: the bank wants 3-D Secure, which nobody can do off-session: the
  intent is canceled and only the client can pay (ACTION_REQUIRED, mailed);
- :data:`UNREACHABLE`: Stripe was not reached (or answered 5xx / 429): no attempt is
  spent, the row stays CHARGING and is claimed again :data:`STALE_AFTER` later with the
  same idempotency key.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

import stripe
import structlog
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import AutoBillStatus, PaymentStatus
from models.payments import SETTLED_STATUSES, Payment
from services.events import payments as payment_events
from services.stripe_gateway.amounts import to_minor_units
from services.stripe_gateway.connection import Connected

log = structlog.get_logger("portico.off_session")

RETRY_DAYS = (1, 3, 5)
"""Days after a failed attempt until the next: after the first failure 1 day, then 3,
then 5; the attempt after the last of these is the last one."""
MAX_ATTEMPTS = 1 + len(RETRY_DAYS)
STALE_AFTER = timedelta(minutes=15)
"""A row CHARGING this long was left by a scheduler that stopped mid-charge (or that could
not reach Stripe): it is claimed again with the same attempt (same idempotency key, same
payment)."""

UNREACHABLE = "unreachable"
"""The answer when Stripe could not be reached (or answered 5xx / 429): the attempt is not
spent. It stays CHARGING with its PENDING payment, so :data:`STALE_AFTER` later it is
claimed again with the same idempotency key, and whatever Stripe did with the first
request is what the second answers: never a second charge, never a retry day lost to an
outage, no mail to the client."""

NO_METHOD = "No saved card to charge: add one in the client portal."
NOT_CONNECTED = "Online payments are not set up (Stripe is not connected)."
NEEDS_AUTHENTICATION = "The bank asks the card holder to confirm this payment."


@dataclass(slots=True)
class ChargeRun:
    """What one pass did, by the id of the row charged (the invoice, the pre-payment)."""

    succeeded: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    """Declined or not chargeable: retried later, or FAILED after the last attempt."""
    action_required: list[uuid.UUID] = field(default_factory=list)
    canceled: list[uuid.UUID] = field(default_factory=list)
    """No longer needed: paid otherwise, voided, stopped, or auto-billing switched off."""
    skipped: int = 0
    """Rows another scheduler had claimed, or not due any more once locked."""
    errors: list[uuid.UUID] = field(default_factory=list)
    """Rows whose pass crashed (the row says where it is; retried on a later run)."""
    unreachable: list[uuid.UUID] = field(default_factory=list)
    """Stripe could not be reached: tried again with the same attempt (:data:`UNREACHABLE`)."""

    @property
    def attempts(self) -> int:
        return len(self.succeeded) + len(self.failed) + len(self.action_required)

    def count(self, row_id: uuid.UUID, status: AutoBillStatus) -> None:
        if status is AutoBillStatus.SUCCEEDED:
            self.succeeded.append(row_id)
        elif status is AutoBillStatus.ACTION_REQUIRED:
            self.action_required.append(row_id)
        elif status is AutoBillStatus.CANCELED:
            self.canceled.append(row_id)
        elif status is AutoBillStatus.CHARGING:
            self.unreachable.append(row_id)
        else:
            self.failed.append(row_id)


async def attempt_each(
    row_ids: list[uuid.UUID],
    attempt: Callable[[uuid.UUID], Awaitable[AutoBillStatus | None]],
    kind: str,
) -> ChargeRun:
    """Run ``attempt`` (claim, charge, record: the row's new status, ``None`` when another
    scheduler holds it) for each row in turn; one that crashes is logged and left as it
    is (a later run takes it again)."""
    run = ChargeRun()
    for row_id in row_ids:
        try:
            status = await attempt(row_id)
        except Exception:
            log.exception(f"{kind}_charge_failed", row_id=str(row_id))
            run.errors.append(row_id)
            continue
        if status is None:
            run.skipped += 1
        else:
            run.count(row_id, status)
    if row_ids:
        log.info(
            f"{kind}_charge_run",
            succeeded=len(run.succeeded),
            failed=len(run.failed),
            action_required=len(run.action_required),
            canceled=len(run.canceled),
            unreachable=len(run.unreachable),
            skipped=run.skipped,
            errors=len(run.errors),
        )
    return run


@dataclass(frozen=True, slots=True)
class Answer:
    status: str
    """The PaymentIntent's status, or ``declined`` / ``error`` / :data:`UNREACHABLE` when
    Stripe refused or was not reached."""
    intent_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class OffSessionCharge:
    """What one claimed attempt sends to Stripe (:func:`off_session_charge`)."""

    gateway: Connected
    payment_id: uuid.UUID
    """The attempt's PENDING Portico payment."""
    amount: int
    """Minor units."""
    currency: str
    customer: str
    payment_method: str
    metadata: dict[str, str]
    idempotency_key: str


def off_session_charge(
    gateway: Connected,
    payment: Payment,
    *,
    customer: str,
    payment_method: str,
    idempotency_key: str,
    metadata: dict[str, str],
) -> OffSessionCharge:
    """The charge of ``payment`` (its amount; its ids in the intent's metadata, with
    ``metadata``)."""
    return OffSessionCharge(
        gateway=gateway,
        payment_id=payment.id,
        amount=to_minor_units(payment.amount, payment.currency),
        currency=payment.currency,
        customer=customer,
        payment_method=payment_method,
        metadata={
            "portico_payment_id": str(payment.id),
            "portico_account_id": str(payment.account_id),
            **metadata,
        },
        idempotency_key=idempotency_key,
    )


async def paid_meanwhile(session: AsyncSession, payment_id: uuid.UUID | None) -> bool:
    """Whether the payment of an attempt a stopped scheduler left CHARGING was paid
    meanwhile (Stripe's ``payment_intent.succeeded`` completed it)."""
    if payment_id is None:
        return False
    payment = await session.get(Payment, payment_id)
    return payment is not None and payment.status in SETTLED_STATUSES


async def pending_payment(session: AsyncSession, payment_id: uuid.UUID | None) -> Payment | None:
    """The PENDING payment a resumed attempt charges again (locked), if it still is."""
    if payment_id is None:
        return None
    earlier = await session.get(Payment, payment_id, with_for_update=True)
    return earlier if earlier is not None and earlier.status is PaymentStatus.PENDING else None


class Claimed(Protocol):
    """A claimed attempt: what it sends to Stripe."""

    @property
    def stripe(self) -> OffSessionCharge: ...


C = TypeVar("C", bound=Claimed)


async def claim_charge_record(
    claim: Callable[[], Awaitable[C | AutoBillStatus | None]],
    record: Callable[[C, Answer], Awaitable[AutoBillStatus]],
) -> AutoBillStatus | None:
    """One attempt: ``claim`` it (its unit of work commits before Stripe is called; the
    row's status when it ends there, ``None`` when it is not ours), charge it outside any
    transaction, ``record`` Stripe's answer in a second unit of work."""
    claimed = await claim()
    if claimed is None or isinstance(claimed, AutoBillStatus):
        return claimed
    return await record(claimed, await charge_off_session(claimed.stripe))


async def charge_off_session(charge: OffSessionCharge) -> Answer:
    """Create and confirm the PaymentIntent off-session (call it outside any transaction)."""
    stripe_api = charge.gateway.client.v1.payment_intents
    try:
        intent = await stripe_api.create_async(
            params={  # type: ignore[typeddict-unknown-key]
                "amount": charge.amount,
                "currency": charge.currency.lower(),
                "customer": charge.customer,
                "payment_method": charge.payment_method,
                "payment_method_types": ["card"],
                "confirm": True,
                "off_session": True,
                "metadata": charge.metadata,
            },
            options={"idempotency_key": charge.idempotency_key},
        )
    except stripe.CardError as error:
        intent_object = getattr(error.error, "payment_intent", None) if error.error else None
        intent_id = getattr(intent_object, "id", None)
        if error.code == "authentication_required":
            return Answer("requires_action", intent_id, NEEDS_AUTHENTICATION)
        return Answer("declined", intent_id, error.user_message or "The card was declined.")
    except stripe.StripeError as error:
        log.warning("off_session_stripe_error", error=type(error).__name__)
        reason = f"Stripe could not take the payment ({type(error).__name__})."
        return Answer(UNREACHABLE if transient(error) else "error", None, reason)
    if intent.status == "requires_action":
        # off-session nobody can authenticate: cancel it, the client pays in the portal
        try:
            await stripe_api.cancel_async(intent.id)
        except stripe.StripeError:
            log.warning("off_session_cancel_failed", intent=intent.id)
        return Answer("requires_action", intent.id, NEEDS_AUTHENTICATION)
    last_error = intent.last_payment_error
    return Answer(intent.status, intent.id, last_error.message if last_error is not None else None)


def transient(error: stripe.StripeError) -> bool:
    """Whether Stripe was unreachable or overloaded, rather than refusing the request."""
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return True
    return isinstance(error, stripe.APIError) and (error.http_status or 500) >= 500


def next_attempt_after(attempts: int, now: datetime) -> datetime | None:
    """When the attempt after ``attempts`` failed ones is made; ``None`` after the last."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + timedelta(days=RETRY_DAYS[attempts - 1])


def fail_payment(session: AsyncSession, payment: Payment, reason: str, now: datetime) -> None:
    """The attempt's payment failed (unless Stripe's webhook already settled it)."""
    if payment.status is PaymentStatus.PENDING:
        payment.status = PaymentStatus.FAILED
        payment.updated_at = now
        payment_events.failed(session, payment, reason=reason)


def clearing(session: AsyncSession, payment: Payment, now: datetime) -> None:
    """Stripe took the payment and it is clearing (``processing``)."""
    if payment.status is PaymentStatus.PENDING:
        payment.status = PaymentStatus.PROCESSING
        payment.updated_at = now
        payment_events.processing(session, payment)
