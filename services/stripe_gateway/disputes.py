"""Card disputes (chargebacks), from Stripe's ``charge.dispute.*`` events.

- ``charge.dispute.created`` (and ``.updated`` while open): the payment is DISPUTED. It
  still counts on its invoices — the bank has not decided — but cannot be refunded.
- ``charge.dispute.closed``, ``lost``: the bank took the money back. The payment is
  CHARGED_BACK and no longer counts: what it held on each invoice is owed again
  (``invoice.payment_reversed``), its unapplied credit is gone.
- ``charge.dispute.closed``, ``won`` (or ``warning_closed``: an inquiry that never became
  a chargeback): the payment is restored to what its refunds make it.

The dispute is recorded (:class:`models.payments.PaymentDispute`) with Stripe's status;
a closed dispute is final, so a late or repeated ``created`` changes nothing, and a
``closed`` arriving first is applied at once. A dispute of a payment Portico has not seen
paid yet is not stored (:class:`.charges.NotYet`): Stripe retries it after the success.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import PaymentStatus
from models.payments import SETTLED_STATUSES, Payment, PaymentDispute
from models.types import utcnow
from services.events import invoices as invoice_events
from services.events import payments as payment_events
from services.invoices import settle_status
from services.money import ZERO, round_money
from services.payments.ledger import allocations_of, lock_account_invoices
from services.payments.refunds import refunded_status
from services.stripe_gateway.amounts import from_minor_units
from services.stripe_gateway.charges import NotYet, payment_of, same_currency

LOST = "lost"
WON = ("won", "warning_closed")
CLOSED = (LOST, *WON)


async def dispute_changed(
    session: AsyncSession, account_id: uuid.UUID, dispute: dict[str, Any]
) -> str:
    """Any ``charge.dispute.*`` event: the dispute's state as the event's object says."""
    payment = await payment_of(session, account_id, dispute)
    if isinstance(payment, str):
        return payment
    if not same_currency(payment, dispute):
        return "refused: currency differs from the payment"
    status = str(dispute.get("status"))
    amount = from_minor_units(int(dispute.get("amount") or 0), payment.currency)
    dispute_id = str(dispute["id"])
    statement = select(PaymentDispute).where(col(PaymentDispute.id) == dispute_id)
    row = (await session.exec(statement.with_for_update())).one_or_none()
    if row is not None and row.status in CLOSED:
        return f"ignored: the dispute is {row.status}"
    if payment.status is PaymentStatus.CHARGED_BACK:
        return "ignored: the payment was charged back"
    if payment.status not in SETTLED_STATUSES:
        raise NotYet(f"The disputed payment is {payment.status.value.lower()} in Portico.")
    if row is None:
        row = PaymentDispute(
            id=dispute_id,
            account_id=payment.account_id,
            payment_id=payment.id,
            amount=amount,
            currency=payment.currency,
            status=status,
            reason=dispute.get("reason"),
        )
        session.add(row)
    row.status, row.amount, row.updated_at = status, amount, utcnow()
    if status == LOST:
        row.closed_at = utcnow()
        await _lost(session, payment, row)
        return "applied"
    if status in WON:
        row.closed_at = utcnow()
        if payment.status is PaymentStatus.DISPUTED:
            payment.status = refunded_status(payment)
            payment.updated_at = utcnow()
        payment_events.dispute_won(session, payment, amount=amount, dispute_id=row.id)
        return "applied"
    if payment.status is PaymentStatus.DISPUTED:
        return "ignored: already disputed"
    payment.status = PaymentStatus.DISPUTED
    payment.updated_at = utcnow()
    payment_events.disputed(session, payment, amount=amount, dispute_id=row.id, reason=row.reason)
    return "applied"


async def _lost(session: AsyncSession, payment: Payment, dispute: PaymentDispute) -> None:
    """The money is gone: each invoice owes again what the payment held on it."""
    allocations = await allocations_of(session, payment.id)
    held = {
        row.invoice_id: round_money(row.amount - row.refunded_amount, payment.currency)
        for row in allocations
    }
    invoices = await lock_account_invoices(
        session, payment.account_id, (i for i, amount in held.items() if amount > 0)
    )
    reversed_amount = ZERO
    for invoice_id, invoice in invoices.items():
        share: Decimal = held[invoice_id]
        invoice.amount_paid = round_money(invoice.amount_paid - share, invoice.currency)
        settle_status(invoice)
        invoice.updated_at = utcnow()
        reversed_amount += share
        invoice_events.payment_reversed(
            session, invoice, amount=str(share), payment_id=payment.id, reason="dispute_lost"
        )
    payment.status = PaymentStatus.CHARGED_BACK
    payment.updated_at = utcnow()
    payment_events.dispute_lost(
        session,
        payment,
        amount=dispute.amount,
        dispute_id=dispute.id,
        reversed_amount=reversed_amount,
    )


DISPUTE_HANDLERS: dict[str, Callable[[AsyncSession, uuid.UUID, dict[str, Any]], Awaitable[str]]] = {
    "charge.dispute.created": dispute_changed,
    "charge.dispute.updated": dispute_changed,
    "charge.dispute.closed": dispute_changed,
}
"""Event type -> handler, merged into :data:`.handlers.HANDLERS`."""
