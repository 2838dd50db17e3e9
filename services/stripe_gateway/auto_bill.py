"""Auto-bill: the invoices of auto-billed schedules charged off-session to the client's
saved card, once per invoice, with retries.

The scheduler issues an invoice of a schedule that charges automatically together with
its :class:`models.auto_bill.InvoiceAutoBill` row (:mod:`services.recurring.issuing`),
due at once; :func:`charge_due_invoices` then takes every row whose attempt is due:

1. A unit of work claims the row (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; on
   SQLite the transaction holds the write lock from its start) and re-checks it under the
   lock: still due, the invoice still open with a balance, the schedule still charging
   automatically. It counts the attempt, records a PENDING payment for the balance with
   its allocation, and marks the row CHARGING — committed before Stripe is called, so
   another scheduler finds nothing to claim, and a crash leaves a row that says so.
2. Outside any transaction, a PaymentIntent is created and confirmed off-session with the
   schedule's method (else the client's default), the Portico payment in its metadata and
   the idempotency key ``portico-autobill-<invoice id>-<attempt>``: a retried request, or
   a row re-claimed after a crash (CHARGING for longer than :data:`STALE_AFTER`, same
   attempt and payment), charges nothing twice.
3. A second unit of work records Stripe's answer: a success applies the payment (like
   ``payment_intent.succeeded``, idempotent); a decline fails it, schedules the next
   attempt :data:`.off_session.RETRY_DAYS` later (after the last one, the row is FAILED)
   and mails the billing contacts; a bank asking for 3-D Secure cannot be retried
   off-session, so the row needs the client (ACTION_REQUIRED) and the contacts are
   mailed a link to pay.
   Stripe unreachable (a connection error, a 5xx, a 429) spends no attempt: the row stays
   CHARGING with its payment and is re-claimed like a crashed one (:data:`UNREACHABLE`).

The retry policy (days, attempts, what counts as unreachable) is
:mod:`.off_session`'s, shared with recurring pre-payments.

The invoice shows where it is (``Invoice.autoBill``: status, attempts, next attempt,
last error).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.accounts import Account
from models.auto_bill import InvoiceAutoBill
from models.clients import Client
from models.enums import AutoBillStatus, PaymentMethodKind, PaymentStatus
from models.invoices import Invoice
from models.payment_methods import SavedPaymentMethod
from models.payments import Payment, PaymentAllocation
from models.recurring import RecurringInvoice
from models.subscriptions import Subscription
from models.types import utcnow
from services.events import payments as payment_events
from services.invoices import OPEN_STATUSES
from services.money import round_money
from services.payments.methods import default_method
from services.payments.provider import complete_payment
from services.recurring import charges_automatically
from services.runtime import Runtime
from services.stripe_gateway.auto_bill_notices import mail_billing_contacts
from services.stripe_gateway.card_payments import PROVIDER
from services.stripe_gateway.connection import connected
from services.stripe_gateway.off_session import (
    NO_METHOD,
    NOT_CONNECTED,
    STALE_AFTER,
    UNREACHABLE,
    Answer,
    ChargeRun,
    OffSessionCharge,
    attempt_each,
    claim_charge_record,
    clearing,
    fail_payment,
    next_attempt_after,
    off_session_charge,
    paid_meanwhile,
    pending_payment,
)
from services.subscriptions.dunning import attempt_ended
from services.unit_of_work import UnitOfWork, unit_of_work

log = structlog.get_logger("portico.auto_bill")


@dataclass(frozen=True, slots=True)
class _Charge:
    """A claimed attempt, to send to Stripe."""

    invoice_id: uuid.UUID
    attempt: int
    stripe: OffSessionCharge

    @property
    def payment_id(self) -> uuid.UUID:
        return self.stripe.payment_id


def _due(now: datetime) -> Any:
    return or_(
        and_(
            col(InvoiceAutoBill.status) == AutoBillStatus.SCHEDULED,
            col(InvoiceAutoBill.next_attempt_at) <= now,
        ),
        and_(
            col(InvoiceAutoBill.status) == AutoBillStatus.CHARGING,
            col(InvoiceAutoBill.last_attempt_at) <= now - STALE_AFTER,
        ),
    )


async def charge_due_invoices(runtime: Runtime, *, now: datetime | None = None) -> ChargeRun:
    """Make every auto-bill attempt due at ``now`` (default: the current time), each
    claimed, charged and recorded on its own."""
    moment = now or utcnow()
    async with runtime.sessions() as session:
        statement = (
            select(InvoiceAutoBill.invoice_id)
            .where(_due(moment))
            .order_by(col(InvoiceAutoBill.next_attempt_at), col(InvoiceAutoBill.invoice_id))
        )
        candidates = list((await session.exec(statement)).all())
    return await attempt_each(
        candidates, lambda invoice_id: _attempt(runtime, invoice_id, moment), "auto_bill"
    )


async def _attempt(runtime: Runtime, invoice_id: uuid.UUID, now: datetime) -> AutoBillStatus | None:
    return await claim_charge_record(
        lambda: _claim(runtime, invoice_id, now),
        lambda claimed, answer: _record(runtime, claimed, answer, now),
    )


async def charge_invoice_now(
    runtime: Runtime, invoice_id: uuid.UUID, *, now: datetime | None = None
) -> AutoBillStatus | None:
    """Make the invoice's due auto-bill attempt at once (a subscription's new invoice),
    exactly as a scheduler pass would; ``None`` when there is none due or another
    scheduler holds it."""
    return await _attempt(runtime, invoice_id, now or utcnow())


async def _claim(
    runtime: Runtime, invoice_id: uuid.UUID, now: datetime
) -> _Charge | AutoBillStatus | None:
    """Claim the row and start the attempt; the row's new status when the attempt ends
    here (nothing to charge, or nothing to charge with); ``None`` when it is not ours.
    A subscription's invoice moves its subscription in the same transaction
    (:func:`services.subscriptions.dunning.attempt_ended`)."""
    async with unit_of_work(runtime) as work:
        claimed = await _claim_in(work, invoice_id, now)
        if isinstance(claimed, _Ended):
            await attempt_ended(work.session, claimed.row, claimed.status, now)
            return claimed.status
        return claimed


@dataclass(frozen=True, slots=True)
class _Ended:
    """An attempt that ended in its claim: the row and its new status."""

    row: InvoiceAutoBill
    status: AutoBillStatus


async def _claim_in(
    work: UnitOfWork, invoice_id: uuid.UUID, now: datetime
) -> _Charge | _Ended | None:
    session = work.session
    row = (
        await session.exec(
            select(InvoiceAutoBill)
            .where(col(InvoiceAutoBill.invoice_id) == invoice_id, _due(now))
            .with_for_update(skip_locked=True)
        )
    ).one_or_none()
    if row is None:
        return None
    invoice = (
        await session.exec(select(Invoice).where(col(Invoice.id) == invoice_id).with_for_update())
    ).one()
    schedule = (
        await session.get(RecurringInvoice, row.recurring_invoice_id)
        if row.recurring_invoice_id
        else None
    )
    resuming = row.status is AutoBillStatus.CHARGING
    if resuming and await paid_meanwhile(session, row.payment_id):
        row.last_error = None
        return _Ended(row, _close(row, AutoBillStatus.SUCCEEDED, now))  # by its webhook
    if invoice.status not in OPEN_STATUSES or invoice.balance <= 0:
        return _Ended(row, _close(row, AutoBillStatus.CANCELED, now))
    if schedule is not None and not charges_automatically(schedule):
        return _Ended(row, _close(row, AutoBillStatus.CANCELED, now))
    if await _money_coming(session, invoice, row):
        return None  # a payment is clearing: look again on a later run
    row.attempts = row.attempts if resuming else row.attempts + 1
    row.last_attempt_at = now
    row.updated_at = now
    method = await _method_for(session, row, schedule, invoice)
    row.payment_method_id = method.id if method is not None else None
    account = await session.get(Account, invoice.account_id)
    client = await session.get(Client, invoice.client_id)
    if account is None or client is None:  # pragma: no cover - the invoice's owners
        raise LookupError("the invoice's account or client is gone")
    if method is None or not method.stripe_payment_method_id or not client.stripe_customer_id:
        return _Ended(row, await _failed(work, row, invoice, method, reason=NO_METHOD, now=now))
    if not (account.stripe_secret_key and account.stripe_publishable_key):
        failed = await _failed(
            work, row, invoice, method, reason=NOT_CONNECTED, now=now, mail=False
        )
        return _Ended(row, failed)
    payment = await _payment_for(session, row, invoice, method, now, resuming=resuming)
    row.status = AutoBillStatus.CHARGING
    row.next_attempt_at = None
    row.payment_id = payment.id
    stripe = off_session_charge(
        connected(work.runtime.settings, account),
        payment,
        customer=client.stripe_customer_id,
        payment_method=method.stripe_payment_method_id,
        idempotency_key=f"portico-autobill-{invoice.id}-{row.attempts}",
        metadata={
            "portico_invoice_id": str(invoice.id),
            "portico_auto_bill_attempt": str(row.attempts),
        },
    )
    return _Charge(invoice_id=invoice.id, attempt=row.attempts, stripe=stripe)


def _close(row: InvoiceAutoBill, status: AutoBillStatus, now: datetime) -> AutoBillStatus:
    row.status = status
    row.next_attempt_at = None
    row.updated_at = now
    return status


async def _money_coming(session: AsyncSession, invoice: Invoice, row: InvoiceAutoBill) -> bool:
    """Whether another payment of the invoice is clearing (its money is on the way)."""
    statement = (
        select(Payment.id)
        .join(PaymentAllocation, col(PaymentAllocation.payment_id) == col(Payment.id))
        .where(
            col(PaymentAllocation.invoice_id) == invoice.id,
            col(Payment.status) == PaymentStatus.PROCESSING,
        )
    )
    if row.payment_id is not None:
        statement = statement.where(col(Payment.id) != row.payment_id)
    return (await session.exec(statement)).first() is not None


async def _method_for(
    session: AsyncSession,
    row: InvoiceAutoBill,
    schedule: RecurringInvoice | None,
    invoice: Invoice,
) -> SavedPaymentMethod | None:
    """The schedule's or subscription's own method, else the client's default."""
    named_id = schedule.payment_method_id if schedule is not None else None
    if row.subscription_id is not None:
        subscription = await session.get(Subscription, row.subscription_id)
        named_id = subscription.payment_method_id if subscription is not None else None
    if named_id is not None:
        named = await session.get(SavedPaymentMethod, named_id)
        if named is not None and named.client_id == invoice.client_id:
            return named
    return await default_method(session, invoice.client_id)


async def _payment_for(
    session: AsyncSession,
    row: InvoiceAutoBill,
    invoice: Invoice,
    method: SavedPaymentMethod,
    now: datetime,
    *,
    resuming: bool,
) -> Payment:
    """The attempt's PENDING payment of the balance: the one already made when a stale
    attempt is resumed, else a new one."""
    earlier = await pending_payment(session, row.payment_id) if resuming else None
    if earlier is not None:
        return earlier
    amount = round_money(invoice.balance, invoice.currency)
    payment = Payment(
        account_id=invoice.account_id,
        client_id=invoice.client_id,
        amount=amount,
        currency=invoice.currency,
        method=PaymentMethodKind.CARD,
        status=PaymentStatus.PENDING,
        received_on=now.date(),
        provider=PROVIDER,
        payment_method_id=method.id,
    )
    session.add(payment)
    await session.flush()
    session.add(
        PaymentAllocation(
            account_id=invoice.account_id,
            payment_id=payment.id,
            invoice_id=invoice.id,
            amount=amount,
        )
    )
    payment_events.auto_billed(session, payment, invoice_id=invoice.id, attempt=row.attempts)
    return payment


async def _record(
    runtime: Runtime, charge: _Charge, answer: Answer, now: datetime
) -> AutoBillStatus:
    async with unit_of_work(runtime) as work:
        row, status = await _record_in(work, charge, answer, now)
        await attempt_ended(work.session, row, status, now)
        return status


async def _record_in(
    work: UnitOfWork, charge: _Charge, answer: Answer, now: datetime
) -> tuple[InvoiceAutoBill, AutoBillStatus]:
    session = work.session
    row = (
        await session.exec(
            select(InvoiceAutoBill)
            .where(col(InvoiceAutoBill.invoice_id) == charge.invoice_id)
            .with_for_update()
        )
    ).one()
    payment = (
        await session.exec(
            select(Payment).where(col(Payment.id) == charge.payment_id).with_for_update()
        )
    ).one()
    if answer.intent_id and not payment.provider_payment_id:
        payment.provider_payment_id = answer.intent_id
    row.updated_at = now
    if answer.status == UNREACHABLE:
        row.last_error = answer.reason
        return row, AutoBillStatus.CHARGING  # claimed again after STALE_AFTER, same attempt
    if answer.status == "succeeded":
        await complete_payment(
            session=session, payment_id=payment.id, provider_payment_id=answer.intent_id
        )
        row.last_error = None
        return row, _close(row, AutoBillStatus.SUCCEEDED, now)
    if answer.status == "processing":
        clearing(session, payment, now)
        row.last_error = None
        return row, _close(row, AutoBillStatus.SUCCEEDED, now)
    reason = answer.reason or f"Stripe answered {answer.status}."
    fail_payment(session, payment, reason, now)
    invoice = (await session.exec(select(Invoice).where(col(Invoice.id) == row.invoice_id))).one()
    method = (
        await session.get(SavedPaymentMethod, row.payment_method_id)
        if row.payment_method_id
        else None
    )
    if answer.status == "requires_action":
        row.last_error = reason
        await mail_billing_contacts(
            work,
            invoice,
            method=method,
            reason=reason,
            next_attempt_at=None,
            action_required=True,
        )
        return row, _close(row, AutoBillStatus.ACTION_REQUIRED, now)
    failed = await _failed(
        work, row, invoice, method, reason=reason, now=now, mail=answer.status != "error"
    )
    return row, failed


async def _failed(
    work: UnitOfWork,
    row: InvoiceAutoBill,
    invoice: Invoice,
    method: SavedPaymentMethod | None,
    *,
    reason: str,
    now: datetime,
    mail: bool = True,
) -> AutoBillStatus:
    """An attempt failed: the next one is scheduled (or none after the last), and the
    billing contacts are told."""
    row.last_error = reason
    row.updated_at = now
    row.next_attempt_at = next_attempt_after(row.attempts, now)
    row.status = AutoBillStatus.SCHEDULED if row.next_attempt_at else AutoBillStatus.FAILED
    if mail:
        await mail_billing_contacts(
            work,
            invoice,
            method=method,
            reason=reason,
            next_attempt_at=row.next_attempt_at,
            action_required=False,
        )
    log.info(
        "auto_bill_attempt_failed",
        invoice_id=str(invoice.id),
        attempt=row.attempts,
        next_attempt_at=row.next_attempt_at.isoformat() if row.next_attempt_at else None,
    )
    return row.status
