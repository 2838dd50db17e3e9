"""Payments taken through a provider (the portal's card payments): a PENDING payment
is applied to its planned invoices once the provider confirms it
(:func:`complete_payment`), or marked failed (:func:`fail_payment`). The Stripe
integration lands here.
"""

from __future__ import annotations

import uuid

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import PaymentStatus
from models.invoices import Invoice
from models.payments import RECEIVED_STATUSES, Payment, PaymentAllocation
from models.types import utcnow
from services.errors import Conflict, NotFound
from services.events import payments as payment_events
from services.invoices import OPEN_STATUSES
from services.money import ZERO
from services.payments.ledger import allocations_of, credit_invoice
from services.subscription_recovery import invoice_paid


async def _lock_payment_by_id(session: AsyncSession, payment_id: uuid.UUID) -> Payment:
    """A payment named by the payment provider's signed notification, locked. The id
    is ours (stored in the provider's metadata when the payment was started), so this
    is not a read on user input."""
    statement = select(Payment).where(Payment.id == payment_id).with_for_update()
    payment = (await session.exec(statement)).one_or_none()
    if payment is None:
        raise NotFound("Payment")
    return payment


async def complete_payment(
    *,
    session: AsyncSession,
    payment_id: uuid.UUID,
    provider_payment_id: str | None = None,
) -> Payment:
    """The provider confirmed a pending (or earlier failed) payment: apply its planned
    allocations and mark it completed. Repeated confirmations change nothing.

    Each planned share is checked again against the invoice as it is now: an invoice
    that was paid, voided or partly paid meanwhile takes at most its balance, and what it
    cannot take stays on the payment as the client's unapplied credit.
    """
    payment = await _lock_payment_by_id(session, payment_id)
    if payment.status in RECEIVED_STATUSES:
        return payment
    planned = await allocations_of(session, payment.id)
    invoices = await _lock_payments_invoices(session, payment, planned)
    applied = ZERO
    for row in planned:
        invoice = invoices.get(row.invoice_id)
        share = ZERO
        if (
            invoice is not None
            and invoice.status in OPEN_STATUSES
            and invoice.currency == payment.currency
            and invoice.client_id == payment.client_id
        ):
            share = min(row.amount, invoice.balance)
        if share <= 0 or invoice is None:
            await session.delete(row)
            continue
        row.amount = share
        applied += share
        credit_invoice(
            session,
            actor=None,
            invoice=invoice,
            share=share,
            payment_id=payment.id,
        )
        await invoice_paid(session, invoice)
    payment.status = PaymentStatus.COMPLETED
    payment.received_on = utcnow().date()
    if provider_payment_id is not None:
        payment.provider_payment_id = provider_payment_id
    payment.updated_at = utcnow()
    payment_events.completed(session, payment, applied=applied)
    return payment


async def _lock_payments_invoices(
    session: AsyncSession, payment: Payment, planned: list[PaymentAllocation]
) -> dict[uuid.UUID, Invoice]:
    """The planned invoices of the payment's own account, locked in id order."""
    found: dict[uuid.UUID, Invoice] = {}
    for invoice_id in sorted({row.invoice_id for row in planned}):
        statement = (
            select(Invoice)
            .where(Invoice.id == invoice_id, Invoice.account_id == payment.account_id)
            .with_for_update()
        )
        invoice = (await session.exec(statement)).one_or_none()
        if invoice is not None:
            found[invoice_id] = invoice
    return found


async def fail_payment(
    *, session: AsyncSession, payment_id: uuid.UUID, reason: str | None = None
) -> Payment:
    """The provider declined a pending payment: it is marked failed and no invoice
    changes. Its planned allocations stay as the record of what was attempted."""
    payment = await _lock_payment_by_id(session, payment_id)
    if payment.status is PaymentStatus.FAILED:
        return payment
    if payment.status is not PaymentStatus.PENDING:
        raise Conflict(f"A {payment.status.value.lower()} payment cannot fail.")
    payment.status = PaymentStatus.FAILED
    payment.updated_at = utcnow()
    payment_events.failed(session, payment, reason=reason)
    return payment
