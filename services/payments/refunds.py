"""Refunds: money given back from a payment, taken from named invoices or from the
unapplied remainder first, then the most recent allocations; refunded money is owed again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.enums import PaymentStatus
from models.payments import SETTLED_STATUSES, Payment, PaymentAllocation
from models.types import utcnow
from services.access import access_payment
from services.errors import BadInput, Conflict
from services.events import invoices as invoice_events
from services.events import payments as payment_events
from services.invoices import settle_status
from services.money import ZERO, check_amount, format_money
from services.payments.ledger import (
    AllocationData,
    allocations_of,
    checked_shares,
    lock_invoices,
    unapplied,
)


async def refund_payment(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    payment_id: uuid.UUID,
    amount: Decimal,
    allocations: Sequence[AllocationData] | None = None,
) -> Payment:
    """Record a full or partial refund of a received payment.

    Where the refunded money comes from:

    - with ``allocations``: each named invoice gives back its share (at most what this
      payment still holds on it); the rest of ``amount`` comes from the unapplied
      remainder;
    - without: the unapplied remainder first, then the payment's allocations, the most
      recent first.

    Money taken back from an invoice lowers its ``amount_paid``, so its balance is owed
    again and a paid invoice moves back to partial or unpaid.
    """
    payment = await access_payment(session, actor, payment_id, lock=True)
    if payment.status not in SETTLED_STATUSES:
        raise Conflict(f"A {payment.status.value.lower()} payment cannot be refunded.")
    refundable = payment.amount - payment.refunded_amount
    if refundable <= 0:
        raise Conflict("This payment is already fully refunded.")
    amount = check_amount(amount, payment.currency, field="amount", allow_zero=False)
    if amount > refundable:
        raise BadInput(
            f"At most {format_money(refundable, payment.currency)} can still be refunded.",
            field="amount",
        )
    existing = await allocations_of(session, payment.id)
    remainder = unapplied(payment, existing)
    if allocations is None:
        from_unapplied = min(amount, remainder)
        takes = _newest_first(existing, amount - from_unapplied)
    else:
        takes = _named_takes(existing, allocations, payment.currency, amount)
        from_unapplied = amount - sum((share for _, share in takes), ZERO)
        if from_unapplied > remainder:
            raise BadInput(
                f"Only {remainder} of this payment is unapplied; name the invoices to "
                "refund the rest from.",
                field="amount",
            )
    invoices = await lock_invoices(session, actor, (row.invoice_id for row, _ in takes))
    for row, share in takes:
        invoice = invoices[row.invoice_id]
        row.refunded_amount += share
        invoice.amount_paid -= share
        settle_status(invoice)
        invoice.updated_at = utcnow()
        invoice_events.refunded(session, invoice, actor, amount=str(share), payment_id=payment.id)
    payment.refunded_amount += amount
    payment.status = (
        PaymentStatus.REFUNDED
        if payment.refunded_amount == payment.amount
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    payment.updated_at = utcnow()
    payment_events.refunded(session, payment, actor, amount=amount, from_unapplied=from_unapplied)
    return payment


def _newest_first(
    existing: list[PaymentAllocation], amount: Decimal
) -> list[tuple[PaymentAllocation, Decimal]]:
    takes: list[tuple[PaymentAllocation, Decimal]] = []
    for row in reversed(existing):
        if amount <= 0:
            break
        share = min(amount, row.amount - row.refunded_amount)
        if share > 0:
            takes.append((row, share))
            amount -= share
    return takes


def _named_takes(
    existing: list[PaymentAllocation],
    allocations: Sequence[AllocationData],
    currency: str,
    amount: Decimal,
) -> list[tuple[PaymentAllocation, Decimal]]:
    shares = checked_shares(
        allocations, currency, amount, too_much="The invoices' shares exceed the refund amount."
    )
    by_invoice = {row.invoice_id: row for row in existing}
    takes: list[tuple[PaymentAllocation, Decimal]] = []
    for index, (allocation, share) in enumerate(zip(allocations, shares, strict=True)):
        row = by_invoice.get(allocation.invoice_id)
        if row is None:
            raise BadInput(
                "This payment was not applied to that invoice.",
                field=f"allocations.{index}.invoiceId",
            )
        held = row.amount - row.refunded_amount
        if share > held:
            raise BadInput(
                f"This payment holds only {format_money(held, currency)} on that invoice.",
                field=f"allocations.{index}.amount",
            )
        takes.append((row, share))
    return takes
