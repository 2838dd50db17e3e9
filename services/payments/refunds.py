"""Refunds: money given back from a payment, taken from named invoices or from the
unapplied remainder first, then the most recent allocations; refunded money is owed again.

Staff record a refund of a manual payment here at once (:func:`refund_payment`: the money
went back outside Portico). A card payment is refunded through Stripe
(:mod:`services.stripe_gateway.refunds`), which checks the request with
:func:`check_refund` and moves the money with :func:`take_back` only once Stripe
confirms it.
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
from services.money import ZERO, check_amount, format_money, round_money
from services.payments.ledger import (
    AllocationData,
    allocations_of,
    checked_shares,
    lock_account_invoices,
    unapplied,
)

DISPUTE_STATUSES = (PaymentStatus.DISPUTED, PaymentStatus.CHARGED_BACK)

Takes = list[tuple[PaymentAllocation, Decimal]]
"""Where a refund takes money back: each allocation and the share it gives back."""


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
    if payment.provider is not None:
        raise Conflict("A card payment is refunded through Stripe, which this path cannot do.")
    amount = check_refund(payment, amount)
    existing = await allocations_of(session, payment.id)
    takes, from_unapplied = plan_takes(payment, existing, amount, allocations)
    await take_back(session, actor, payment, takes, amount=amount, from_unapplied=from_unapplied)
    return payment


def check_refund(payment: Payment, amount: Decimal, *, reserved: Decimal = ZERO) -> Decimal:
    """``amount`` as an exact amount of the payment's currency, if the payment can give
    it back: received, not disputed, and at most what remains (less ``reserved``: refunds
    asked of Stripe and not confirmed yet)."""
    if payment.status in DISPUTE_STATUSES:
        raise Conflict(
            "A disputed payment cannot be refunded: the payer's bank decides where the money goes."
        )
    if payment.status not in SETTLED_STATUSES:
        raise Conflict(f"A {payment.status.value.lower()} payment cannot be refunded.")
    remaining = payment.amount - payment.refunded_amount
    if remaining <= 0:
        raise Conflict("This payment is already fully refunded.")
    amount = check_amount(amount, payment.currency, field="amount", allow_zero=False)
    refundable = remaining - reserved
    if amount > refundable:
        pending = (
            f" ({format_money(reserved, payment.currency)} is being refunded already)"
            if reserved
            else ""
        )
        raise BadInput(
            f"At most {format_money(refundable, payment.currency)} can still be refunded{pending}.",
            field="amount",
        )
    return amount


def plan_takes(
    payment: Payment,
    existing: list[PaymentAllocation],
    amount: Decimal,
    allocations: Sequence[AllocationData] | None,
) -> tuple[Takes, Decimal]:
    """Where ``amount`` comes from (refused when named invoices cannot give it), and how
    much of it from the unapplied remainder."""
    remainder = unapplied(payment, existing)
    if allocations is None:
        from_unapplied = min(amount, remainder)
        return _newest_first(existing, amount - from_unapplied), from_unapplied
    takes = _named_takes(existing, allocations, payment.currency, amount)
    from_unapplied = amount - sum((share for _, share in takes), ZERO)
    if from_unapplied > remainder:
        raise BadInput(
            f"Only {remainder} of this payment is unapplied; name the invoices to "
            "refund the rest from.",
            field="amount",
        )
    return takes, from_unapplied


def confirmed_takes(
    payment: Payment,
    existing: list[PaymentAllocation],
    amount: Decimal,
    named: Sequence[AllocationData] | None,
) -> tuple[Takes, Decimal]:
    """Where a refund the provider already made comes from: it happened, so it is never
    refused. The named invoices give back what they still hold of their share, the rest
    comes from the unapplied remainder, then the newest allocations. ``amount`` is at
    most what remains of the payment, so it always fits."""
    takes: Takes = []
    left = round_money(amount, payment.currency)
    by_invoice = {row.invoice_id: row for row in existing}
    for allocation in named or ():
        row = by_invoice.get(allocation.invoice_id)
        if row is None:
            continue
        share = round_money(
            min(allocation.amount, row.amount - row.refunded_amount, left), payment.currency
        )
        if share > 0:
            takes.append((row, share))
            left -= share
    taken = {id(row): share for row, share in takes}
    from_unapplied = round_money(min(left, unapplied(payment, existing)), payment.currency)
    left -= from_unapplied
    for row in reversed(existing):
        if left <= 0:
            break
        held = row.amount - row.refunded_amount - taken.get(id(row), ZERO)
        share = round_money(min(left, held), payment.currency)
        if share > 0:
            takes.append((row, share))
            left -= share
    return takes, from_unapplied


async def take_back(
    session: AsyncSession,
    actor: StaffPrincipal | None,
    payment: Payment,
    takes: Takes,
    *,
    amount: Decimal,
    from_unapplied: Decimal,
    refund_id: uuid.UUID | None = None,
) -> None:
    """Move the refund: each invoice gives back its share (owed again), the payment's
    ``refunded_amount`` grows by ``amount``, and its status follows (a disputed payment
    stays disputed). ``actor``: none when the refund was made at the provider."""
    invoices = await lock_account_invoices(
        session, payment.account_id, (row.invoice_id for row, _ in takes)
    )
    for row, share in takes:
        invoice = invoices[row.invoice_id]
        row.refunded_amount += share
        invoice.amount_paid -= share
        settle_status(invoice)
        invoice.updated_at = utcnow()
        invoice_events.refunded(session, invoice, actor, amount=str(share), payment_id=payment.id)
    payment.refunded_amount += amount
    if payment.status not in DISPUTE_STATUSES:
        payment.status = refunded_status(payment)
    payment.updated_at = utcnow()
    payment_events.refunded(
        session,
        payment,
        actor,
        amount=amount,
        from_unapplied=from_unapplied,
        refund_id=refund_id,
    )


def refunded_status(payment: Payment) -> PaymentStatus:
    """A received payment's status from what was refunded of it."""
    if payment.refunded_amount == 0:
        return PaymentStatus.COMPLETED
    if payment.refunded_amount == payment.amount:
        return PaymentStatus.REFUNDED
    return PaymentStatus.PARTIALLY_REFUNDED


def _newest_first(existing: list[PaymentAllocation], amount: Decimal) -> Takes:
    takes: Takes = []
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
) -> Takes:
    shares = checked_shares(
        allocations, currency, amount, too_much="The invoices' shares exceed the refund amount."
    )
    by_invoice = {row.invoice_id: row for row in existing}
    takes: Takes = []
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
