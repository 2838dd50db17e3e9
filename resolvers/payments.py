"""Payments and their allocations: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from models.invoices import Invoice
from models.payments import Payment, PaymentAllocation, PaymentDispute, PaymentRefund
from resolvers.common import acting_contact, atomic, caller, parse_id, parse_optional_id, staff
from resolvers.context import Info
from services import access, payments
from services.errors import Forbidden, NotFound
from services.pagination import Page
from services.stripe_gateway import card_payments
from services.stripe_gateway import refunds as card_refunds


async def list_payments(
    info: Info, *, first: int | None, after: str | None, filters: payments.PaymentFilter
) -> Page[Payment]:
    return await payments.list_payments(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def payment(info: Info, id: str) -> Payment:
    return await access.access_payment(info.context.session, caller(info), parse_id(id))


async def payment_allocations(info: Info, payment_id: uuid.UUID) -> list[PaymentAllocation]:
    return await info.context.loaders.allocations_by_payment_id.load(payment_id)


async def payment_refunds(info: Info, payment_id: uuid.UUID) -> list[PaymentRefund]:
    return await info.context.loaders.refunds_by_payment_id.load(payment_id)


async def payment_dispute(info: Info, payment_id: uuid.UUID) -> PaymentDispute | None:
    return await info.context.loaders.dispute_by_payment_id.load(payment_id)


async def payment_unapplied(info: Info, payment: Payment) -> Decimal:
    allocations = await info.context.loaders.allocations_by_payment_id.load(payment.id)
    return payments.unapplied(payment, allocations)


async def allocation_invoice(info: Info, invoice_id: uuid.UUID) -> Invoice | None:
    """The invoice of an allocation, or ``None`` when the caller may not see it."""
    return await info.context.loaders.invoice_by_id.load(invoice_id)


async def allocation_payment(info: Info, payment_id: uuid.UUID) -> Payment:
    row = await info.context.loaders.payment_by_id.load(payment_id)
    if row is None:  # pragma: no cover - allocations are read through a scoped parent
        raise NotFound("Payment")
    return row


async def record_payment(info: Info, data: payments.PaymentData) -> Payment:
    actor = staff(info)
    async with atomic(info) as work:
        return await payments.record_payment(session=work.session, actor=actor, data=data)


async def apply_payment(
    info: Info, payment_id: str, allocations: Sequence[payments.AllocationData]
) -> Payment:
    actor = staff(info)
    async with atomic(info) as work:
        return await payments.apply_payment(
            session=work.session,
            actor=actor,
            payment_id=parse_id(payment_id, field="paymentId"),
            allocations=allocations,
        )


async def refund_payment(
    info: Info,
    id: str,
    amount: Decimal,
    allocations: Sequence[payments.AllocationData] | None,
) -> Payment:
    """A manual payment's refund in one unit of work; a card payment's through Stripe
    (which needs no transaction open while Stripe answers)."""
    return await card_refunds.refund_payment(
        info.context.runtime,
        info.context.session,
        staff(info),
        parse_id(id),
        amount=amount,
        allocations=allocations,
    )


async def pay_invoices(
    info: Info,
    invoice_ids: Sequence[str],
    amount: Decimal | None,
    payment_method_id: str | None,
    save_payment_method: bool,
    amounts: Sequence[payments.AllocationData] | None = None,
) -> card_payments.CardPayment:
    contact = acting_contact(info)
    if contact.read_only:
        raise Forbidden()
    ids = [parse_id(value, field=f"invoiceIds.{i}") for i, value in enumerate(invoice_ids)]
    return await card_payments.pay_invoices_by_card(
        info.context.runtime,
        info.context.session,
        contact,
        ids,
        amount=amount,
        amounts=None if amounts is None else [(a.invoice_id, a.amount) for a in amounts],
        payment_method_id=parse_optional_id(payment_method_id, field="paymentMethodId"),
        save_payment_method=save_payment_method,
    )
