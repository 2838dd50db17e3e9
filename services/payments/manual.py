"""Payments staff record by hand (cash, bank transfer, check, other), across one or
several invoices; what is not allocated stays on the payment as the client's unapplied
credit, which :func:`apply_payment` applies to invoices later.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.enums import PaymentMethodKind, PaymentStatus
from models.payments import SETTLED_STATUSES, Payment
from models.types import utcnow
from services.access import access_client, access_payment
from services.errors import BadInput, Conflict
from services.events import payments as payment_events
from services.money import check_amount, validate_currency
from services.payments.ledger import (
    AllocationData,
    allocate,
    allocations_of,
    unapplied,
)
from services.validation import optional_text

MANUAL_METHODS = (
    PaymentMethodKind.CASH,
    PaymentMethodKind.BANK_TRANSFER,
    PaymentMethodKind.CHECK,
    PaymentMethodKind.OTHER,
)


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
    applied = await allocate(
        session,
        actor=actor,
        payment=payment,
        existing=[],
        allocations=data.allocations,
        available=amount,
        too_much="Allocations exceed the payment amount.",
    )
    payment_events.recorded(session, payment, actor, applied=applied)
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
    applied = await allocate(
        session,
        actor=actor,
        payment=payment,
        existing=existing,
        allocations=allocations,
        available=available,
        too_much=f"Allocations exceed the payment's unapplied amount of {available}.",
    )
    payment.updated_at = utcnow()
    payment_events.applied(session, payment, actor, amount=applied, unapplied=available - applied)
    return payment
