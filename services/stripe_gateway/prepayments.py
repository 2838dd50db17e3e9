"""Pre-payments: a billing contact pays an amount that is not for any invoice, and once
Stripe confirms it the money is the client's credit (a completed payment allocated to no
invoice is the client's unapplied credit: :func:`services.credits.available_credit`,
statements, and staff apply it to invoices later).

The account must enable client-initiated payments (``clientPrepaymentsEnabled``, else
FORBIDDEN) and the amount be at least its ``clientPrepaymentMinimum`` (else
BAD_USER_INPUT). The first payment goes like ``payInvoices``
(:mod:`.card_payments`): a PaymentIntent for Stripe.js, or confirmed off-session with a
named saved card; ``payment_intent.succeeded`` completes it (:mod:`.handlers`, unchanged:
a payment with no planned invoice completes as credit).

A recurring one (``frequency``, ``cycles`` counting every payment, the first included;
no ``cycles``: until canceled) keeps a :class:`models.prepayments.RecurringPrepayment`
that :func:`charge_due_prepayments` (run by the recurring scheduler) charges off-session
on schedule with the named card, else the client's default, with invoice auto-bill's
policy (:mod:`.off_session`): a claim's unit of work (``FOR UPDATE SKIP LOCKED``; SQLite:
the write lock) starts the cycle, records its PENDING payment and marks it CHARGING
before Stripe is called (idempotency key ``portico-prepayment-<id>-<cycle>-<attempt>``),
a second records Stripe's answer. A decline is retried 1, 3 and 5 days later, then the
cycle is FAILED, the billing contacts mailed each time; a bank asking for 3-D Secure
leaves the cycle to the client (ACTION_REQUIRED, mailed); Stripe unreachable spends no
attempt (the cycle stays CHARGING and is claimed again with the same key). One cycle at a
time: the next waits while one is retried. Cycles missed while no scheduler ran are
skipped, never charged at once; stopping the pre-payment drops a planned retry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal
from models.accounts import Account
from models.clients import Client
from models.enums import (
    AutoBillStatus,
    Frequency,
    PaymentMethodKind,
    PaymentStatus,
    PrepaymentStatus,
)
from models.payment_methods import SavedPaymentMethod
from models.payments import Payment
from models.prepayments import RecurringPrepayment
from models.types import utcnow
from services.access import (
    access_payment_method,
    access_recurring_prepayment,
    prepayment_scope,
)
from services.errors import BadInput, Conflict, Forbidden, NotFound, PorticoError
from services.events import payments as payment_events
from services.events import prepayments as prepayment_events
from services.money import check_amount, format_money
from services.payments.methods import default_method
from services.payments.provider import complete_payment
from services.recurring.periods import period_date
from services.runtime import Runtime
from services.stripe_gateway import off_session
from services.stripe_gateway.auto_bill_notices import mail_prepayment_failed
from services.stripe_gateway.card_payments import (
    CONFIRMABLE,
    PROVIDER,
    _create_intent,
    _lock_payment,
)
from services.stripe_gateway.connection import connected
from services.stripe_gateway.customers import customer_of
from services.unit_of_work import UnitOfWork, end_read, unit_of_work

log = structlog.get_logger("portico.prepayments")

REFERENCE = "Pre-payment"
MAX_CYCLES = 1000


@dataclass(frozen=True, slots=True)
class RecurringChoice:
    frequency: Frequency
    cycles: int | None = None


@dataclass(frozen=True, slots=True)
class PrepaymentStarted:
    payment: Payment
    client_secret: str | None
    publishable_key: str
    intent_status: str
    recurring: RecurringPrepayment | None


def next_charge_after(row: RecurringPrepayment, moment: datetime) -> datetime | None:
    """The first date of the schedule strictly after ``moment`` (``None`` once every
    cycle was charged)."""
    if row.cycles is not None and row.charges >= row.cycles:
        return None
    start = row.starts_at
    n = max(row.charges, 1)
    while True:
        when = datetime.combine(period_date(start.date(), row.frequency, n), start.timetz())
        if when > moment:
            return when
        n += 1


async def _account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    account = await session.get(Account, account_id)
    if account is None:  # pragma: no cover - a contact's session belongs to an account
        raise NotFound("Account")
    return account


async def make_prepayment(
    runtime: Runtime,
    session: AsyncSession,
    contact: ContactPrincipal,
    *,
    amount: Decimal,
    recurring: RecurringChoice | None = None,
    payment_method_id: uuid.UUID | None = None,
) -> PrepaymentStarted:
    if contact.read_only:
        raise Forbidden()
    account = await _account(session, contact.account_id)
    if not account.client_prepayments_enabled:
        raise Forbidden("This business does not take pre-payments in the portal.")
    gateway = connected(runtime.settings, account)
    client = await session.get(Client, contact.client_id)
    if client is None:  # pragma: no cover - the contact's client
        raise NotFound("Client")
    currency = client.currency
    paying = check_amount(amount, currency, field="amount", allow_zero=False)
    if paying < account.client_prepayment_minimum:
        raise BadInput(
            "The smallest pre-payment is "
            f"{format_money(account.client_prepayment_minimum, currency)}.",
            field="amount",
        )
    saved = (
        await access_payment_method(session, contact, payment_method_id)
        if payment_method_id is not None
        else None
    )
    if saved is not None and not saved.stripe_payment_method_id:
        raise BadInput("This payment method cannot be charged online.", field="paymentMethodId")
    if recurring is not None:
        if recurring.cycles is not None and not 1 <= recurring.cycles <= MAX_CYCLES:
            raise BadInput(f"From 1 to {MAX_CYCLES} payments.", field="recurring.cycles")
        if saved is None and await default_method(session, client.id) is None:
            raise BadInput(
                "A recurring pre-payment is charged to a saved card: save one first.",
                field="paymentMethodId",
            )
    now = utcnow()
    async with unit_of_work(runtime, session) as work:
        payment = Payment(
            account_id=contact.account_id,
            client_id=client.id,
            amount=paying,
            currency=currency,
            method=PaymentMethodKind.CARD,
            status=PaymentStatus.PENDING,
            received_on=now.date(),
            reference=REFERENCE,
            provider=PROVIDER,
            payment_method_id=saved.id if saved else None,
        )
        work.session.add(payment)
        await work.session.flush()
        payment_events.started(work.session, payment, contact, invoice_ids=[])
        row = None
        if recurring is not None:
            row = RecurringPrepayment(
                account_id=contact.account_id,
                client_id=client.id,
                contact_id=contact.contact_id,
                amount=paying,
                currency=currency,
                frequency=recurring.frequency,
                cycles=recurring.cycles,
                charges=1,
                starts_at=now,
                payment_method_id=saved.id if saved else None,
                last_payment_id=payment.id,
            )
            row.next_charge_at = next_charge_after(row, now)
            if row.next_charge_at is None:
                row.status = PrepaymentStatus.COMPLETED
            work.session.add(row)
            await work.session.flush()
            prepayment_events.created(work.session, row, contact)
    await end_read(session)
    customer = await customer_of(runtime, gateway, client)
    try:
        intent = await _create_intent(runtime, gateway, payment, customer, saved=saved, save=False)
    except PorticoError:
        if row is not None:  # the first payment failed: no schedule starts from it
            await _drop_schedule(runtime, row.id)
        raise
    async with unit_of_work(runtime, session) as work:
        recorded = await _lock_payment(work.session, payment.id)
        recorded.provider_payment_id = intent.id
        recorded.updated_at = utcnow()
        if intent.status == "succeeded":
            recorded = await complete_payment(
                session=work.session, payment_id=payment.id, provider_payment_id=intent.id
            )
        elif intent.status == "processing" and recorded.status is PaymentStatus.PENDING:
            recorded.status = PaymentStatus.PROCESSING
            payment_events.processing(work.session, recorded)
        if row is not None:
            row = await work.session.get(RecurringPrepayment, row.id)
    return PrepaymentStarted(
        payment=recorded,
        client_secret=intent.client_secret if intent.status in CONFIRMABLE else None,
        publishable_key=gateway.publishable_key,
        intent_status=intent.status,
        recurring=row,
    )


async def _drop_schedule(runtime: Runtime, prepayment_id: uuid.UUID) -> None:
    async with unit_of_work(runtime) as work:
        row = await work.session.get(RecurringPrepayment, prepayment_id, with_for_update=True)
        if row is not None and row.status is PrepaymentStatus.ACTIVE:
            row.status = PrepaymentStatus.CANCELED
            row.next_charge_at = None
            row.last_error = "The first payment did not go through."
            row.updated_at = utcnow()
            prepayment_events.canceled(work.session, row, None)


async def cancel_recurring_prepayment(
    *, session: AsyncSession, actor: Principal, prepayment_id: uuid.UUID
) -> RecurringPrepayment:
    """Stop the cycles still to come; canceling again changes nothing."""
    if isinstance(actor, ContactPrincipal) and actor.read_only:
        raise Forbidden()
    row = await access_recurring_prepayment(session, actor, prepayment_id, lock=True)
    if row.status is PrepaymentStatus.CANCELED:
        return row
    if row.status is not PrepaymentStatus.ACTIVE:
        raise Conflict(f"A {row.status.value.lower()} pre-payment cannot be canceled.")
    row.status = PrepaymentStatus.CANCELED
    row.next_charge_at = None
    if row.charge_status is AutoBillStatus.SCHEDULED:  # a declined cycle's retry: not made
        row.charge_status = AutoBillStatus.CANCELED
        row.next_attempt_at = None
    row.updated_at = utcnow()
    prepayment_events.canceled(session, row, actor)
    return row


# --- the scheduler's part ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Cycle:
    """A claimed attempt at a cycle, to send to Stripe."""

    prepayment_id: uuid.UUID
    stripe: off_session.OffSessionCharge


_IN_PROGRESS = (AutoBillStatus.SCHEDULED, AutoBillStatus.CHARGING)


def _due(now: datetime) -> Any:
    """A new cycle (none in progress), a retry, or an attempt left CHARGING."""
    status = col(RecurringPrepayment.charge_status)
    return or_(
        and_(
            col(RecurringPrepayment.status) == PrepaymentStatus.ACTIVE,
            col(RecurringPrepayment.next_charge_at) <= now,
            or_(status.is_(None), status.not_in(_IN_PROGRESS)),
        ),
        and_(
            status == AutoBillStatus.SCHEDULED,
            col(RecurringPrepayment.next_attempt_at) <= now,
        ),
        and_(
            status == AutoBillStatus.CHARGING,
            col(RecurringPrepayment.last_attempt_at) <= now - off_session.STALE_AFTER,
        ),
    )


async def charge_due_prepayments(runtime: Runtime, *, now: datetime) -> off_session.ChargeRun:
    """Make every pre-payment attempt due at ``now``: a cycle come due, a declined one's
    retry, or one Stripe did not answer; each claimed, charged and recorded on its own."""
    async with runtime.sessions() as session:
        candidates = list(
            (
                await session.exec(
                    select(RecurringPrepayment.id)
                    .where(_due(now))
                    .order_by(col(RecurringPrepayment.next_charge_at), col(RecurringPrepayment.id))
                )
            ).all()
        )
    return await off_session.attempt_each(
        candidates, lambda prepayment_id: _attempt(runtime, prepayment_id, now), "prepayment"
    )


async def _attempt(
    runtime: Runtime, prepayment_id: uuid.UUID, now: datetime
) -> AutoBillStatus | None:
    return await off_session.claim_charge_record(
        lambda: _claim(runtime, prepayment_id, now),
        lambda claimed, answer: _record(runtime, claimed, answer, now),
    )


async def _claim(
    runtime: Runtime, prepayment_id: uuid.UUID, now: datetime
) -> _Cycle | AutoBillStatus | None:
    """Claim the row (``FOR UPDATE SKIP LOCKED``; SQLite: the write lock) and start the
    attempt, committed before Stripe is called; the cycle's new status when it ends here;
    ``None`` when it is not ours (another scheduler's, or not due any more)."""
    async with unit_of_work(runtime) as work:
        session = work.session
        row = (
            await session.exec(
                select(RecurringPrepayment)
                .where(col(RecurringPrepayment.id) == prepayment_id, _due(now))
                .with_for_update(skip_locked=True)
            )
        ).one_or_none()
        if row is None:
            return None
        resuming = row.charge_status is AutoBillStatus.CHARGING
        if resuming and await off_session.paid_meanwhile(session, row.last_payment_id):
            row.last_error = None
            return _ended(session, row, AutoBillStatus.SUCCEEDED, now)
        if row.status is not PrepaymentStatus.ACTIVE and not resuming:
            return _ended(session, row, AutoBillStatus.CANCELED, now)
        if row.charge_status is not AutoBillStatus.SCHEDULED and not resuming:
            row.charges += 1  # a new cycle
            row.attempts = 0
            row.next_charge_at = next_charge_after(row, now)
        row.attempts = row.attempts if resuming else row.attempts + 1
        row.last_attempt_at = now
        row.updated_at = now
        method = await _method_for(session, row)
        account = await _account(session, row.account_id)
        client = await session.get(Client, row.client_id)
        if (
            method is None
            or not method.stripe_payment_method_id
            or client is None
            or not client.stripe_customer_id
        ):
            prepayment_events.charged(session, row, payment_id=None, status="no_method")
            return await _failed(work, row, method, reason=off_session.NO_METHOD, now=now)
        if not (account.stripe_secret_key and account.stripe_publishable_key):
            prepayment_events.charged(session, row, payment_id=None, status="not_connected")
            return await _failed(
                work, row, method, reason=off_session.NOT_CONNECTED, now=now, mail=False
            )
        payment = await _payment_for(session, row, method, now, resuming=resuming)
        row.charge_status = AutoBillStatus.CHARGING
        row.next_attempt_at = None
        row.last_payment_id = payment.id
        if not resuming:
            prepayment_events.charged(session, row, payment_id=payment.id, status="charging")
        stripe = off_session.off_session_charge(
            connected(runtime.settings, account),
            payment,
            customer=client.stripe_customer_id,
            payment_method=method.stripe_payment_method_id,
            idempotency_key=f"portico-prepayment-{row.id}-{row.charges}-{row.attempts}",
            metadata={
                "portico_prepayment_id": str(row.id),
                "portico_prepayment_cycle": str(row.charges),
                "portico_prepayment_attempt": str(row.attempts),
            },
        )
        return _Cycle(prepayment_id=row.id, stripe=stripe)


async def _method_for(session: AsyncSession, row: RecurringPrepayment) -> SavedPaymentMethod | None:
    if row.payment_method_id is not None:
        named = await session.get(SavedPaymentMethod, row.payment_method_id)
        if named is not None and named.client_id == row.client_id:
            return named
    return await default_method(session, row.client_id)


async def _payment_for(
    session: AsyncSession,
    row: RecurringPrepayment,
    method: SavedPaymentMethod,
    now: datetime,
    *,
    resuming: bool,
) -> Payment:
    """The attempt's PENDING payment: the one already made when a stale attempt is
    resumed, else a new one."""
    earlier = await off_session.pending_payment(session, row.last_payment_id) if resuming else None
    if earlier is not None:
        return earlier
    payment = Payment(
        account_id=row.account_id,
        client_id=row.client_id,
        amount=row.amount,
        currency=row.currency,
        method=PaymentMethodKind.CARD,
        status=PaymentStatus.PENDING,
        received_on=now.date(),
        reference=REFERENCE,
        provider=PROVIDER,
        payment_method_id=method.id,
    )
    session.add(payment)
    await session.flush()
    return payment


async def _record(
    runtime: Runtime, cycle: _Cycle, answer: off_session.Answer, now: datetime
) -> AutoBillStatus:
    """Stripe's answer, in a second unit of work."""
    async with unit_of_work(runtime) as work:
        session = work.session
        row = (
            await session.exec(
                select(RecurringPrepayment)
                .where(col(RecurringPrepayment.id) == cycle.prepayment_id)
                .with_for_update()
            )
        ).one()
        payment = await _lock_payment(session, cycle.stripe.payment_id)
        if answer.intent_id and not payment.provider_payment_id:
            payment.provider_payment_id = answer.intent_id
        row.updated_at = now
        if answer.status == off_session.UNREACHABLE:
            row.last_error = answer.reason
            return AutoBillStatus.CHARGING  # claimed again after STALE_AFTER, same attempt
        if answer.status in ("succeeded", "processing"):
            if answer.status == "succeeded":
                await complete_payment(
                    session=session, payment_id=payment.id, provider_payment_id=answer.intent_id
                )
            else:
                off_session.clearing(session, payment, now)
            row.last_error = None
            return _ended(session, row, AutoBillStatus.SUCCEEDED, now)
        reason = answer.reason or f"Stripe answered {answer.status}."
        off_session.fail_payment(session, payment, reason, now)
        method = (
            await session.get(SavedPaymentMethod, payment.payment_method_id)
            if payment.payment_method_id
            else None
        )
        if answer.status == "requires_action":
            row.last_error = reason
            status = _ended(session, row, AutoBillStatus.ACTION_REQUIRED, now)
            await mail_prepayment_failed(
                work, row, method=method, reason=reason, next_attempt_at=None, action_required=True
            )
            return status
        return await _failed(
            work, row, method, reason=reason, now=now, mail=answer.status != "error"
        )


def _ended(
    session: AsyncSession, row: RecurringPrepayment, status: AutoBillStatus, now: datetime
) -> AutoBillStatus:
    """The cycle is over (no retry): after the last one, the pre-payment is COMPLETED."""
    row.charge_status = status
    row.next_attempt_at = None
    row.updated_at = now
    if row.status is PrepaymentStatus.ACTIVE and row.next_charge_at is None:
        row.status = PrepaymentStatus.COMPLETED
        prepayment_events.completed(session, row)
    return status


async def _failed(
    work: UnitOfWork,
    row: RecurringPrepayment,
    method: SavedPaymentMethod | None,
    *,
    reason: str,
    now: datetime,
    mail: bool = True,
) -> AutoBillStatus:
    """An attempt failed: the next one is scheduled (none after the last, nor once the
    pre-payment was stopped), and the billing contacts are told."""
    row.last_error = reason
    if row.status is not PrepaymentStatus.ACTIVE:
        return _ended(work.session, row, AutoBillStatus.CANCELED, now)
    retry_at = off_session.next_attempt_after(row.attempts, now)
    if retry_at is None:
        status = _ended(work.session, row, AutoBillStatus.FAILED, now)
    else:
        row.charge_status, row.next_attempt_at, row.updated_at = (
            AutoBillStatus.SCHEDULED,
            retry_at,
            now,
        )
        status = AutoBillStatus.SCHEDULED
    if mail:
        await mail_prepayment_failed(
            work,
            row,
            method=method,
            reason=reason,
            next_attempt_at=retry_at,
            action_required=False,
        )
    log.info(
        "prepayment_attempt_failed",
        prepayment_id=str(row.id),
        cycle=row.charges,
        attempt=row.attempts,
        next_attempt_at=retry_at.isoformat() if retry_at else None,
    )
    return status


async def list_recurring_prepayments(
    *, session: AsyncSession, principal: Principal
) -> list[RecurringPrepayment]:
    """The caller's recurring pre-payments (staff: the account's), newest first."""
    statement = (
        select(RecurringPrepayment)
        .where(*prepayment_scope(principal))
        .order_by(col(RecurringPrepayment.created_at).desc(), col(RecurringPrepayment.id))
    )
    return list((await session.exec(statement)).all())
