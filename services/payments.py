"""Payments, their allocation to invoices, refunds, and completing portal payments.

Invariants kept here:

- an allocation is above zero, and a payment's allocations never exceed it: what is
  allocated (net of refunds) plus what is refunded is at most the payment's amount;
- no invoice's allocations and credits exceed its total (its balance never goes
  negative), and only *settled* payments (completed, partly or fully refunded) count in
  an invoice's ``amount_paid``: a pending portal payment's allocations are its plan;
- refunds never exceed the payment.

What is neither allocated nor refunded stays on the payment as the client's unapplied
credit, which :func:`apply_payment` applies to invoices later.

Lock order, on every path: the payment row first, then its invoices in id order, so
concurrent changes queue instead of deadlocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.enums import PaymentMethodKind, PaymentStatus
from models.invoices import Invoice
from models.payments import Payment, PaymentAllocation
from models.types import utcnow
from services import activity
from services.access import access_client, access_invoice, access_payment, payment_scope
from services.errors import BadInput, Conflict, NotFound
from services.invoices import OPEN_STATUSES, settle_status
from services.money import ZERO, check_amount, format_money, validate_currency
from services.pagination import Page, paginate
from services.validation import optional_text

MANUAL_METHODS = (
    PaymentMethodKind.CASH,
    PaymentMethodKind.BANK_TRANSFER,
    PaymentMethodKind.CHECK,
    PaymentMethodKind.OTHER,
)
SETTLED_STATUSES = (
    PaymentStatus.COMPLETED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
)
"""Payments whose money was received: their allocations count on invoices."""


@dataclass(slots=True)
class AllocationData:
    invoice_id: uuid.UUID
    amount: Decimal


@dataclass(slots=True)
class PaymentData:
    client_id: uuid.UUID
    amount: Decimal
    method: PaymentMethodKind
    received_on: date | None = None
    currency: str | None = None
    reference: str | None = None
    notes: str | None = None
    private_notes: str | None = None
    allocations: list[AllocationData] = field(default_factory=list)


@dataclass(slots=True)
class PaymentFilter:
    client_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None


async def list_payments(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: PaymentFilter,
    first: int | None,
    after: str | None,
) -> Page[Payment]:
    statement = select(Payment).where(*payment_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(Payment.client_id == filters.client_id)
    if filters.invoice_id is not None:
        allocated = select(PaymentAllocation.payment_id).where(
            PaymentAllocation.invoice_id == filters.invoice_id
        )
        statement = statement.where(Payment.id.in_(allocated))  # type: ignore[attr-defined]
    return await paginate(session, statement, Payment, first=first, after=after)


def net_allocated(allocations: Iterable[PaymentAllocation]) -> Decimal:
    """What the allocations still hold on invoices, refunds taken off."""
    return sum((a.amount - a.refunded_amount for a in allocations), ZERO)


def unapplied(payment: Payment, allocations: Iterable[PaymentAllocation]) -> Decimal:
    """What of a received payment is neither on invoices nor refunded: the client's
    credit. A pending or failed payment holds no money, so nothing is unapplied.

    ``payment.refunded_amount`` counts every refund, including those taken back from
    allocations (which also raised their ``refunded_amount``), so the allocations are
    counted net of refunds here.
    """
    if payment.status not in SETTLED_STATUSES:
        return ZERO
    return payment.amount - payment.refunded_amount - net_allocated(allocations)


async def allocations_of(session: AsyncSession, payment_id: uuid.UUID) -> list[PaymentAllocation]:
    """A payment's allocations, oldest first (read after the payment was scoped)."""
    rows = await session.exec(
        select(PaymentAllocation)
        .where(PaymentAllocation.payment_id == payment_id)
        .order_by(col(PaymentAllocation.created_at), col(PaymentAllocation.id))
    )
    return list(rows.all())


async def _lock_invoices(
    session: AsyncSession, principal: Principal, invoice_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Invoice]:
    """The invoices, each read in the principal's scope and locked, in id order."""
    return {
        invoice_id: await access_invoice(session, principal, invoice_id, lock=True)
        for invoice_id in sorted(set(invoice_ids))
    }


def _checked_shares(
    allocations: Sequence[AllocationData], currency: str, available: Decimal, *, too_much: str
) -> list[Decimal]:
    """Each share is a positive amount of ``currency``, each invoice appears once, and
    the running total stays within ``available`` (refused on the share that overflows)."""
    shares: list[Decimal] = []
    seen: set[uuid.UUID] = set()
    total = ZERO
    for index, allocation in enumerate(allocations):
        prefix = f"allocations.{index}."
        if allocation.invoice_id in seen:
            raise BadInput("Each invoice may appear once.", field=prefix + "invoiceId")
        seen.add(allocation.invoice_id)
        share = check_amount(allocation.amount, currency, field=prefix + "amount", allow_zero=False)
        total += share
        if total > available:
            raise BadInput(too_much, field=prefix + "amount")
        shares.append(share)
    return shares


def _check_allocation(
    invoice: Invoice, client_id: uuid.UUID, currency: str, share: Decimal, prefix: str
) -> None:
    if invoice.client_id != client_id:
        raise BadInput("This invoice belongs to another client.", field=prefix + "invoiceId")
    if invoice.currency != currency:
        raise BadInput("This invoice is in another currency.", field=prefix + "invoiceId")
    if invoice.status not in OPEN_STATUSES:
        raise Conflict(
            f"A {invoice.status.value.lower()} invoice cannot receive payments.",
            field=prefix + "invoiceId",
        )
    if share > invoice.balance:
        raise BadInput(
            "The amount exceeds the invoice's balance of "
            f"{format_money(invoice.balance, invoice.currency)}.",
            field=prefix + "amount",
        )


def _credit_invoice(
    session: AsyncSession,
    *,
    actor: Principal | None,
    invoice: Invoice,
    share: Decimal,
    details: dict[str, str],
) -> None:
    """Put ``share`` of a settled payment on ``invoice``, move its status and record it."""
    invoice.amount_paid += share
    settle_status(invoice)
    invoice.updated_at = utcnow()
    activity.record(
        session,
        account_id=invoice.account_id,
        actor=actor,
        verb="invoice.paid" if invoice.balance == 0 else "invoice.partially_paid",
        subject_type="invoice",
        subject_id=invoice.id,
        client_id=invoice.client_id,
        details={**details, "amount": str(share), "balance": str(invoice.balance)},
        event_topic="invoice",
    )


async def _allocate(
    session: AsyncSession,
    *,
    actor: StaffPrincipal,
    payment: Payment,
    existing: list[PaymentAllocation],
    allocations: Sequence[AllocationData],
    available: Decimal,
    too_much: str,
) -> Decimal:
    """Apply ``allocations`` of a settled ``payment``; returns the total applied. A share
    to an invoice the payment already pays joins that allocation."""
    shares = _checked_shares(allocations, payment.currency, available, too_much=too_much)
    invoices = await _lock_invoices(session, actor, (a.invoice_id for a in allocations))
    by_invoice = {row.invoice_id: row for row in existing}
    for index, (allocation, share) in enumerate(zip(allocations, shares, strict=True)):
        invoice = invoices[allocation.invoice_id]
        _check_allocation(
            invoice, payment.client_id, payment.currency, share, f"allocations.{index}."
        )
        row = by_invoice.get(invoice.id)
        if row is None:
            row = PaymentAllocation(
                account_id=payment.account_id,
                payment_id=payment.id,
                invoice_id=invoice.id,
                amount=share,
            )
            session.add(row)
            existing.append(row)
            by_invoice[invoice.id] = row
        else:
            row.amount += share
        _credit_invoice(
            session,
            actor=actor,
            invoice=invoice,
            share=share,
            details={"paymentId": str(payment.id)},
        )
    return sum(shares, ZERO)


async def record_payment(
    *, session: AsyncSession, actor: StaffPrincipal, data: PaymentData
) -> Payment:
    """Record money received outside Portico and apply it to invoices in one step; the
    rest stays unapplied as the client's credit."""
    if data.method not in MANUAL_METHODS:
        raise BadInput("Card payments are taken through the payment gateway.", field="method")
    client = await access_client(session, actor, data.client_id)
    currency = validate_currency(data.currency or client.currency)
    amount = check_amount(data.amount, currency, field="amount", allow_zero=False)
    received_on = data.received_on or utcnow().date()
    if received_on > utcnow().date():
        raise BadInput("A payment cannot be received in the future.", field="receivedOn")
    payment = Payment(
        account_id=actor.account_id,
        client_id=client.id,
        amount=amount,
        currency=currency,
        method=data.method,
        status=PaymentStatus.COMPLETED,
        received_on=received_on,
        reference=optional_text(data.reference, field="reference", max_length=200),
        notes=optional_text(data.notes, field="notes", max_length=10000),
        private_notes=optional_text(data.private_notes, field="privateNotes", max_length=10000),
        created_by_id=actor.user_id,
    )
    session.add(payment)
    await session.flush()
    applied = await _allocate(
        session,
        actor=actor,
        payment=payment,
        existing=[],
        allocations=data.allocations,
        available=amount,
        too_much="Allocations exceed the payment amount.",
    )
    activity.record(
        session,
        account_id=actor.account_id,
        actor=actor,
        verb="payment.recorded",
        subject_type="payment",
        subject_id=payment.id,
        client_id=client.id,
        details={
            "amount": str(amount),
            "currency": currency,
            "method": payment.method.value,
            "unapplied": str(amount - applied),
        },
    )
    return payment


async def apply_payment(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    payment_id: uuid.UUID,
    allocations: Sequence[AllocationData],
) -> Payment:
    """Apply a payment's unapplied remainder (the client's credit) to open invoices of
    the same client and currency."""
    payment = await access_payment(session, actor, payment_id, lock=True)
    if payment.status not in SETTLED_STATUSES:
        raise Conflict(f"A {payment.status.value.lower()} payment cannot be applied.")
    if not allocations:
        raise BadInput("Name at least one invoice.", field="allocations")
    existing = await allocations_of(session, payment.id)
    available = unapplied(payment, existing)
    applied = await _allocate(
        session,
        actor=actor,
        payment=payment,
        existing=existing,
        allocations=allocations,
        available=available,
        too_much=f"Allocations exceed the payment's unapplied amount of {available}.",
    )
    payment.updated_at = utcnow()
    activity.record(
        session,
        account_id=actor.account_id,
        actor=actor,
        verb="payment.applied",
        subject_type="payment",
        subject_id=payment.id,
        client_id=payment.client_id,
        details={"amount": str(applied), "unapplied": str(available - applied)},
    )
    return payment


# --- refunds -------------------------------------------------------------------------


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
    invoices = await _lock_invoices(session, actor, (row.invoice_id for row, _ in takes))
    for row, share in takes:
        invoice = invoices[row.invoice_id]
        row.refunded_amount += share
        invoice.amount_paid -= share
        settle_status(invoice)
        invoice.updated_at = utcnow()
        activity.record(
            session,
            account_id=actor.account_id,
            actor=actor,
            verb="invoice.payment_refunded",
            subject_type="invoice",
            subject_id=invoice.id,
            client_id=invoice.client_id,
            details={
                "paymentId": str(payment.id),
                "amount": str(share),
                "balance": str(invoice.balance),
            },
            event_topic="invoice",
        )
    payment.refunded_amount += amount
    payment.status = (
        PaymentStatus.REFUNDED
        if payment.refunded_amount == payment.amount
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    payment.updated_at = utcnow()
    activity.record(
        session,
        account_id=actor.account_id,
        actor=actor,
        verb="payment.refunded",
        subject_type="payment",
        subject_id=payment.id,
        client_id=payment.client_id,
        details={
            "amount": str(amount),
            "currency": payment.currency,
            "fromUnapplied": str(from_unapplied),
            "refundedTotal": str(payment.refunded_amount),
        },
    )
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
    shares = _checked_shares(
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


# --- payments taken through a provider (portal payments) -----------------------------


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
    if payment.status in SETTLED_STATUSES:
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
        _credit_invoice(
            session,
            actor=None,
            invoice=invoice,
            share=share,
            details={"paymentId": str(payment.id)},
        )
    payment.status = PaymentStatus.COMPLETED
    payment.received_on = utcnow().date()
    if provider_payment_id is not None:
        payment.provider_payment_id = provider_payment_id
    payment.updated_at = utcnow()
    activity.record(
        session,
        account_id=payment.account_id,
        actor=None,
        verb="payment.completed",
        subject_type="payment",
        subject_id=payment.id,
        client_id=payment.client_id,
        details={
            "amount": str(payment.amount),
            "currency": payment.currency,
            "unapplied": str(payment.amount - applied),
        },
    )
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
    activity.record(
        session,
        account_id=payment.account_id,
        actor=None,
        verb="payment.failed",
        subject_type="payment",
        subject_id=payment.id,
        client_id=payment.client_id,
        details={"amount": str(payment.amount), "currency": payment.currency}
        | ({"reason": reason} if reason else {}),
    )
    return payment
