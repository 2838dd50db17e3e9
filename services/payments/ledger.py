"""What a payment holds and puts on invoices: the settled statuses, allocations,
the unapplied remainder, and applying a share to an invoice.

Invariants kept by every payment action:

- an allocation is above zero, and a payment's allocations never exceed it: what is
  allocated (net of refunds) plus what is refunded is at most the payment's amount;
- no invoice's allocations and credits exceed its total (its balance never goes
  negative), and only *settled* payments (completed, partly or fully refunded) count in
  an invoice's ``amount_paid``: a pending portal payment's allocations are its plan;
- refunds never exceed the payment.

Lock order, on every path: the payment row first, then its invoices in id order, so
concurrent changes queue instead of deadlocking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.invoices import Invoice
from models.payments import SETTLED_STATUSES, Payment, PaymentAllocation
from models.types import utcnow
from services.access import access_invoice, payment_scope
from services.errors import BadInput, Conflict
from services.events import invoices as invoice_events
from services.invoices import OPEN_STATUSES, settle_status
from services.money import ZERO, check_amount, format_money
from services.pagination import Page, paginate
from services.subscription_recovery import invoice_paid


@dataclass(slots=True)
class AllocationData:
    invoice_id: uuid.UUID
    amount: Decimal


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


async def lock_invoices(
    session: AsyncSession, principal: Principal, invoice_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Invoice]:
    """The invoices, each read in the principal's scope and locked, in id order."""
    return {
        invoice_id: await access_invoice(session, principal, invoice_id, lock=True)
        for invoice_id in sorted(set(invoice_ids))
    }


async def lock_account_invoices(
    session: AsyncSession, account_id: uuid.UUID, invoice_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Invoice]:
    """The account's invoices, locked in id order: for changes the payment provider's
    word makes (the ids come from a payment already read in the account), and for
    staff, whose scope is the account."""
    found: dict[uuid.UUID, Invoice] = {}
    for invoice_id in sorted(set(invoice_ids)):
        statement = (
            select(Invoice)
            .where(col(Invoice.id) == invoice_id, col(Invoice.account_id) == account_id)
            .with_for_update()
        )
        found[invoice_id] = (await session.exec(statement)).one()
    return found


def checked_shares(
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


def check_allocation(
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


def credit_invoice(
    session: AsyncSession,
    *,
    actor: Principal | None,
    invoice: Invoice,
    share: Decimal,
    payment_id: uuid.UUID,
) -> None:
    """Put ``share`` of a settled payment on ``invoice``, move its status and record it."""
    invoice.amount_paid += share
    settle_status(invoice)
    invoice.updated_at = utcnow()
    invoice_events.money_applied(session, invoice, actor, amount=str(share), payment_id=payment_id)


async def allocate(
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
    shares = checked_shares(allocations, payment.currency, available, too_much=too_much)
    invoices = await lock_invoices(session, actor, (a.invoice_id for a in allocations))
    by_invoice = {row.invoice_id: row for row in existing}
    for index, (allocation, share) in enumerate(zip(allocations, shares, strict=True)):
        invoice = invoices[allocation.invoice_id]
        check_allocation(
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
        credit_invoice(
            session,
            actor=actor,
            invoice=invoice,
            share=share,
            payment_id=payment.id,
        )
        await invoice_paid(session, invoice)
    return sum(shares, ZERO)
