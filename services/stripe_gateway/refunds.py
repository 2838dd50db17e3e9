"""Refunding card payments through Stripe; the balances follow when Stripe confirms.

``refundPayment`` on a card payment:

1. One unit of work checks the request against the payment as it is (received, not
   disputed, at most what remains less the refunds already asked and not confirmed) and
   records a PENDING :class:`models.payments.PaymentRefund` with the invoices staff named.
2. Outside any transaction, Stripe refunds the PaymentIntent with an idempotency key
   derived from that refund's id (a retried request refunds nothing twice) and the
   Portico ids in the refund's metadata.
3. A second unit of work records Stripe's answer (:func:`apply_refund`): a ``succeeded``
   refund moves the money now (its invoices owe it again); a ``pending`` one when its
   event arrives; a failed one changes nothing.

Stripe's word also arrives as ``charge.refunded``: the charge says how much of it is
refunded in all (``amount_refunded``, which only grows) and, in the API versions that
include them, each refund. Portico brings the payment up to that total — the refunds it
asked for matched by their id or the Portico id in their metadata, the rest (made in
Stripe's dashboard) recorded as the system's — so any number of deliveries, in any
order, leave the same balances; a charge refunded before Portico saw it succeed
completes the payment first (the money came, then part of it went back).
``refund.updated`` / ``charge.refund.updated`` / ``refund.failed`` settle a refund
Portico asked for (succeeded or failed); one made at Stripe counts from its charge.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

import stripe
import structlog
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.accounts import Account
from models.enums import PaymentStatus, RefundStatus
from models.payments import RECEIVED_STATUSES, Payment, PaymentRefund
from models.types import utcnow
from services.access import access_payment
from services.errors import Conflict, NotFound, PaymentProviderError
from services.events import payments as payment_events
from services.money import ZERO
from services.payments import refunds as ledger_refunds
from services.payments.ledger import AllocationData, allocations_of
from services.payments.provider import complete_payment
from services.runtime import Runtime
from services.stripe_gateway.amounts import from_minor_units, to_minor_units
from services.stripe_gateway.card_payments import PROVIDER
from services.stripe_gateway.charges import object_id, payment_of, same_currency
from services.stripe_gateway.connection import connected
from services.unit_of_work import end_read, unit_of_work

log = structlog.get_logger("portico.stripe")

STRIPE_SUCCEEDED = "succeeded"
STRIPE_FAILED = ("failed", "canceled")


async def refund_payment(
    runtime: Runtime,
    session: AsyncSession,
    actor: StaffPrincipal,
    payment_id: uuid.UUID,
    *,
    amount: Decimal,
    allocations: Sequence[AllocationData] | None = None,
) -> Payment:
    """``refundPayment``: a manual payment's refund is recorded at once; a card
    payment's is asked of Stripe (see the module's steps)."""
    payment = await access_payment(session, actor, payment_id)
    # the changes below read it again, locked: this unlocked copy must not stand in for it
    session.expunge(payment)
    if payment.provider != PROVIDER:
        async with unit_of_work(runtime, session) as work:
            return await ledger_refunds.refund_payment(
                session=work.session,
                actor=actor,
                payment_id=payment_id,
                amount=amount,
                allocations=allocations,
            )
    account = await session.get(Account, actor.account_id)
    if account is None:  # pragma: no cover - a staff session belongs to an account
        raise NotFound("Account")
    gateway = connected(runtime.settings, account)
    async with unit_of_work(runtime, session) as work:
        refund = await _request(work.session, actor, payment_id, amount, allocations)
        intent_id = str(payment.provider_payment_id)
    await end_read(session)
    try:
        answer = await gateway.client.v1.refunds.create_async(
            params={
                "payment_intent": intent_id,
                "amount": to_minor_units(refund.amount, refund.currency),
                "metadata": {
                    "portico_refund_id": str(refund.id),
                    "portico_payment_id": str(refund.payment_id),
                },
            },
            options={"idempotency_key": f"portico-refund-{refund.id}"},
        )
    except stripe.StripeError as error:
        reason = error.user_message or type(error).__name__
        async with unit_of_work(runtime) as work:  # a fresh session: nothing read before
            locked = await _lock_payment(work.session, refund.payment_id)
            row = await _lock_refund(work.session, refund.id)
            if row is not None and row.status is RefundStatus.PENDING:
                _fail(work.session, locked, row, reason=reason)
        raise PaymentProviderError(f"Stripe did not refund the payment: {reason}") from error
    # a fresh session: a webhook may have moved the payment meanwhile, and what the
    # request's session read before would stand in for the rows locked now
    async with unit_of_work(runtime) as work:
        outcome = await apply_refund(work.session, actor.account_id, answer.to_dict())
        log.info("stripe_refund", refund_id=str(refund.id), outcome=outcome)
        return await _lock_payment(work.session, refund.payment_id)


async def _request(
    session: AsyncSession,
    actor: StaffPrincipal,
    payment_id: uuid.UUID,
    amount: Decimal,
    allocations: Sequence[AllocationData] | None,
) -> PaymentRefund:
    payment = await access_payment(session, actor, payment_id, lock=True)
    pending = await _refunds_of(session, payment.id, RefundStatus.PENDING)
    amount = ledger_refunds.check_refund(
        payment, amount, reserved=sum((r.amount for r in pending), ZERO)
    )
    if not payment.provider_payment_id:  # pragma: no cover - a received card payment has one
        raise Conflict("This card payment has no Stripe charge to refund.")
    existing = await allocations_of(session, payment.id)
    ledger_refunds.plan_takes(payment, existing, amount, allocations)  # refuses what cannot be
    refund = PaymentRefund(
        account_id=payment.account_id,
        payment_id=payment.id,
        amount=amount,
        currency=payment.currency,
        allocations=(
            None
            if allocations is None
            else [{"invoice_id": str(a.invoice_id), "amount": str(a.amount)} for a in allocations]
        ),
        created_by_id=actor.user_id,
    )
    session.add(refund)
    await session.flush()
    payment_events.refund_requested(session, payment, actor, amount=amount, refund_id=refund.id)
    return refund


# --- Stripe's word ---------------------------------------------------------------------


async def apply_refund(
    session: AsyncSession, account_id: uuid.UUID, stripe_refund: dict[str, Any]
) -> str:
    """A Stripe Refund as it is now (the create answer, ``refund.updated``,
    ``charge.refund.updated``): recorded once, money moved once it succeeded."""
    payment = await payment_of(session, account_id, stripe_refund)
    if isinstance(payment, str):
        return payment
    if not same_currency(payment, stripe_refund):
        return "refused: currency differs from the payment"
    if payment.status not in RECEIVED_STATUSES:
        return f"ignored: the payment is {payment.status.value.lower()}"
    return await _record(session, payment, stripe_refund)


async def charge_refunded(
    session: AsyncSession, account_id: uuid.UUID, charge: dict[str, Any]
) -> str:
    """``charge.refunded``: bring the payment up to what the charge says is refunded in
    all (``amount_refunded`` only grows, so an older event changes nothing)."""
    payment = await payment_of(session, account_id, charge)
    if isinstance(payment, str):
        return payment
    if charge.get("amount") != to_minor_units(payment.amount, payment.currency) or (
        not same_currency(payment, charge)
    ):
        return "refused: amount or currency differs from the payment"
    if payment.status not in RECEIVED_STATUSES:
        if charge.get("status") != STRIPE_SUCCEEDED and not charge.get("paid"):
            return f"ignored: the charge is {charge.get('status')}"
        # refunded before Portico saw it succeed: the money came first
        intent_id = object_id(charge.get("payment_intent"))
        payment = await complete_payment(
            session=session, payment_id=payment.id, provider_payment_id=intent_id
        )
    target = from_minor_units(int(charge.get("amount_refunded") or 0), payment.currency)
    missing = target - payment.refunded_amount
    if missing <= 0:
        return "ignored: already recorded"
    for stripe_refund in (charge.get("refunds") or {}).get("data") or ():
        if stripe_refund.get("status") != STRIPE_SUCCEEDED:
            continue
        amount = from_minor_units(int(stripe_refund.get("amount") or 0), payment.currency)
        refund = await _match(session, payment, stripe_refund)
        if (refund is not None and refund.status is RefundStatus.SUCCEEDED) or amount > missing:
            continue
        if refund is None:
            refund = await _made_at_stripe(session, payment, amount, stripe_refund.get("id"))
        refund.provider_refund_id = refund.provider_refund_id or str(stripe_refund.get("id"))
        await _confirm(session, payment, refund, amount)
        missing -= amount
    if missing > 0:
        await _catch_up(session, payment, missing)
    return "applied"


async def _record(session: AsyncSession, payment: Payment, stripe_refund: dict[str, Any]) -> str:
    """One Stripe refund Portico asked for (``payment`` locked): confirmed, failed, or
    left pending as Stripe says. A refund made at Stripe is recorded from its
    ``charge.refunded`` instead, which says how much is refunded in all."""
    refund = await _match(session, payment, stripe_refund)
    status = str(stripe_refund.get("status"))
    if refund is None:
        return "ignored: not a refund Portico asked for (recorded from charge.refunded)"
    if refund.provider_refund_id is None:
        refund.provider_refund_id = str(stripe_refund.get("id"))
        refund.updated_at = utcnow()
    if refund.status is RefundStatus.SUCCEEDED:
        return "ignored: already recorded"
    if status == STRIPE_SUCCEEDED:
        amount = from_minor_units(int(stripe_refund.get("amount") or 0), payment.currency)
        return await _confirm(session, payment, refund, amount)
    if status in STRIPE_FAILED:
        if refund.status is RefundStatus.FAILED:
            return "ignored: already recorded"
        failure = stripe_refund.get("failure_reason") or status
        _fail(session, payment, refund, reason=str(failure))
        return "applied"
    return f"ignored: the refund is {status}"


async def _match(
    session: AsyncSession, payment: Payment, stripe_refund: dict[str, Any]
) -> PaymentRefund | None:
    statement = select(PaymentRefund).where(
        col(PaymentRefund.payment_id) == payment.id,
        col(PaymentRefund.provider_refund_id) == str(stripe_refund.get("id")),
    )
    found = (await session.exec(statement.with_for_update())).first()
    if found is not None:
        return found
    metadata = stripe_refund.get("metadata") or {}
    try:
        refund_id = uuid.UUID(str(metadata.get("portico_refund_id")))
    except ValueError:
        return None
    row = await _lock_refund(session, refund_id)
    return row if row is not None and row.payment_id == payment.id else None


async def _catch_up(session: AsyncSession, payment: Payment, missing: Decimal) -> None:
    """``missing`` more was refunded than the listed refunds account for (the current
    API leaves the list out): the refunds Portico asked for and has no answer for —
    pending, or failed to reach Stripe — oldest first, as far as they fit; what is left
    was refunded at Stripe."""
    candidates = [
        *await _refunds_of(session, payment.id, RefundStatus.PENDING),
        *[
            refund
            for refund in await _refunds_of(session, payment.id, RefundStatus.FAILED)
            if refund.provider_refund_id is None
        ],
    ]
    for refund in candidates:
        if refund.amount <= missing:
            await _confirm(session, payment, refund, refund.amount)
            missing -= refund.amount
    if missing > 0:
        refund = await _made_at_stripe(session, payment, missing, None)
        await _confirm(session, payment, refund, missing)


async def _made_at_stripe(
    session: AsyncSession, payment: Payment, amount: Decimal, stripe_refund_id: Any
) -> PaymentRefund:
    """A refund made at Stripe (its dashboard), recorded as the system's."""
    refund = PaymentRefund(
        account_id=payment.account_id,
        payment_id=payment.id,
        amount=amount,
        currency=payment.currency,
        provider_refund_id=str(stripe_refund_id) if stripe_refund_id else None,
    )
    session.add(refund)
    await session.flush()
    return refund


async def _confirm(
    session: AsyncSession, payment: Payment, refund: PaymentRefund, amount: Decimal
) -> str:
    """Stripe refunded ``amount`` (its figure wins over what was asked): move it. A
    charged-back payment holds nothing on invoices any more, so only the payment records
    it (a refund made before the dispute was lost, heard of after)."""
    remaining = payment.amount - payment.refunded_amount
    if amount > remaining:
        log.error(
            "stripe_refund_exceeds_payment",
            payment_id=str(payment.id),
            refund_id=str(refund.id),
            amount=str(amount),
            remaining=str(remaining),
        )
        return "refused: more than the payment holds"
    existing = await allocations_of(session, payment.id)
    named = [
        AllocationData(uuid.UUID(a["invoice_id"]), Decimal(a["amount"]))
        for a in refund.allocations or ()
    ]
    takes, from_unapplied = ledger_refunds.confirmed_takes(payment, existing, amount, named)
    if payment.status is PaymentStatus.CHARGED_BACK:
        takes, from_unapplied = [], ZERO
    await ledger_refunds.take_back(
        session,
        None,
        payment,
        takes,
        amount=amount,
        from_unapplied=from_unapplied,
        refund_id=refund.id,
    )
    refund.amount = amount
    refund.status = RefundStatus.SUCCEEDED
    refund.confirmed_at = refund.updated_at = utcnow()
    return "applied"


def _fail(session: AsyncSession, payment: Payment, refund: PaymentRefund, *, reason: str) -> None:
    refund.status = RefundStatus.FAILED
    refund.failure_reason = reason[:500]
    refund.updated_at = utcnow()
    payment_events.refund_failed(
        session, payment, amount=refund.amount, refund_id=refund.id, reason=reason
    )


async def _refunds_of(
    session: AsyncSession, payment_id: uuid.UUID, status: RefundStatus
) -> list[PaymentRefund]:
    statement = (
        select(PaymentRefund)
        .where(col(PaymentRefund.payment_id) == payment_id, col(PaymentRefund.status) == status)
        .order_by(col(PaymentRefund.created_at), col(PaymentRefund.id))
        .with_for_update()
    )
    return list((await session.exec(statement)).all())


async def _lock_refund(session: AsyncSession, refund_id: uuid.UUID) -> PaymentRefund | None:
    statement = select(PaymentRefund).where(col(PaymentRefund.id) == refund_id).with_for_update()
    return (await session.exec(statement)).one_or_none()


async def _lock_payment(session: AsyncSession, payment_id: uuid.UUID) -> Payment:
    statement = select(Payment).where(col(Payment.id) == payment_id).with_for_update()
    return (await session.exec(statement)).one()


REFUND_HANDLERS: dict[str, Callable[[AsyncSession, uuid.UUID, dict[str, Any]], Awaitable[str]]] = {
    "charge.refunded": charge_refunded,
    "charge.refund.updated": apply_refund,
    "refund.updated": apply_refund,
    "refund.failed": apply_refund,
}
"""Event type -> handler, merged into :data:`.handlers.HANDLERS`."""
