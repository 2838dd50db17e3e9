"""Manual payments and their allocation to invoices.

Invariants kept here: a payment's allocations never exceed its amount, and no invoice's
allocations and credits exceed its total (its balance never goes negative). What is not
allocated stays on the payment as the client's unapplied credit.
"""

from __future__ import annotations

import uuid
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
from services.access import access_client, access_invoice, payment_scope
from services.errors import BadInput, Conflict
from services.invoices import OPEN_STATUSES, settle_status
from services.money import ZERO, check_amount, validate_currency
from services.pagination import Page, paginate
from services.validation import optional_text

MANUAL_METHODS = (
    PaymentMethodKind.CASH,
    PaymentMethodKind.BANK_TRANSFER,
    PaymentMethodKind.CHECK,
    PaymentMethodKind.OTHER,
)


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


def unapplied(payment: Payment, allocated: Decimal) -> Decimal:
    """What of ``payment`` is neither allocated to invoices nor refunded."""
    return payment.amount - payment.refunded_amount - allocated


async def record_payment(
    *, session: AsyncSession, actor: StaffPrincipal, data: PaymentData
) -> Payment:
    """Record money received outside Portico and apply it to invoices in one step."""
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
    total_allocated = ZERO
    seen: set[uuid.UUID] = set()
    for index, allocation in enumerate(data.allocations):
        prefix = f"allocations.{index}."
        if allocation.invoice_id in seen:
            raise BadInput("Each invoice may appear once.", field=prefix + "invoiceId")
        seen.add(allocation.invoice_id)
        invoice = await access_invoice(session, actor, allocation.invoice_id, lock=True)
        share = check_amount(allocation.amount, currency, field=prefix + "amount", allow_zero=False)
        _check_allocation(invoice, client.id, currency, share, prefix)
        total_allocated += share
        if total_allocated > amount:
            raise BadInput("Allocations exceed the payment amount.", field=prefix + "amount")
        session.add(
            PaymentAllocation(
                account_id=actor.account_id,
                payment_id=payment.id,
                invoice_id=invoice.id,
                amount=share,
            )
        )
        invoice.amount_paid += share
        settle_status(invoice)
        invoice.updated_at = utcnow()
        activity.record(
            session,
            account_id=actor.account_id,
            actor=actor,
            verb="invoice.paid" if invoice.balance == 0 else "invoice.partially_paid",
            subject_type="invoice",
            subject_id=invoice.id,
            client_id=client.id,
            details={"paymentId": str(payment.id), "amount": str(share)},
            event_topic="invoice",
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
            "unapplied": str(amount - total_allocated),
        },
    )
    return payment


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
            f"The amount exceeds the invoice's balance of {invoice.balance}.",
            field=prefix + "amount",
        )


async def allocated_amounts(
    session: AsyncSession, payment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Decimal]:
    """Allocated total per payment, in one statement."""
    rows = (
        await session.exec(
            select(col(PaymentAllocation.payment_id), col(PaymentAllocation.amount)).where(
                PaymentAllocation.payment_id.in_(payment_ids)  # type: ignore[attr-defined]
            )
        )
    ).all()
    totals: dict[uuid.UUID, Decimal] = dict.fromkeys(payment_ids, ZERO)
    for payment_id, amount in rows:
        totals[payment_id] += amount
    return totals
