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
on schedule with the named card, else the client's default, one cycle per claim: the
claim's unit of work records the PENDING payment and advances the schedule before
Stripe is called (idempotency key ``portico-prepayment-<id>-<charge number>``), a second
records Stripe's answer. A declined cycle is not retried (the next cycle comes on its
date); cycles missed while no scheduler ran are skipped, never charged at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import stripe
import structlog
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal
from models.accounts import Account
from models.clients import Client
from models.enums import Frequency, PaymentMethodKind, PaymentStatus, PrepaymentStatus
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
from services.stripe_gateway.amounts import to_minor_units
from services.stripe_gateway.card_payments import (
    CONFIRMABLE,
    PROVIDER,
    _create_intent,
    _lock_payment,
)
from services.stripe_gateway.connection import Connected, connected
from services.stripe_gateway.customers import customer_of
from services.unit_of_work import end_read, unit_of_work

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
    row.updated_at = utcnow()
    prepayment_events.canceled(session, row, actor)
    return row


# --- the scheduler's part ---------------------------------------------------------------


@dataclass(slots=True)
class PrepaymentRun:
    succeeded: list[uuid.UUID] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)
    errors: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Cycle:
    prepayment_id: uuid.UUID
    number: int
    payment_id: uuid.UUID
    account_id: uuid.UUID
    amount: int
    currency: str
    customer: str
    payment_method: str
    gateway: Connected


def _due(now: datetime) -> list[object]:
    return [
        col(RecurringPrepayment.status) == PrepaymentStatus.ACTIVE,
        col(RecurringPrepayment.next_charge_at).is_not(None),
        col(RecurringPrepayment.next_charge_at) <= now,
    ]


async def charge_due_prepayments(runtime: Runtime, *, now: datetime) -> PrepaymentRun:
    run = PrepaymentRun()
    async with runtime.sessions() as session:
        candidates = list(
            (
                await session.exec(
                    select(RecurringPrepayment.id)
                    .where(*_due(now))  # type: ignore[arg-type]
                    .order_by(col(RecurringPrepayment.next_charge_at))
                )
            ).all()
        )
    for prepayment_id in candidates:
        try:
            cycle = await _claim(runtime, prepayment_id, now)
            if cycle is None:
                continue
            if await _charge(runtime, cycle):
                run.succeeded.append(prepayment_id)
            else:
                run.failed.append(prepayment_id)
        except Exception:
            log.exception("prepayment_charge_failed", prepayment_id=str(prepayment_id))
            run.errors.append(prepayment_id)
    return run


async def _claim(runtime: Runtime, prepayment_id: uuid.UUID, now: datetime) -> _Cycle | None:
    async with unit_of_work(runtime) as work:
        session = work.session
        row = (
            await session.exec(
                select(RecurringPrepayment)
                .where(col(RecurringPrepayment.id) == prepayment_id, *_due(now))  # type: ignore[arg-type]
                .with_for_update(skip_locked=True)
            )
        ).one_or_none()
        if row is None:
            return None
        row.charges += 1
        row.next_charge_at = next_charge_after(row, now)
        row.updated_at = now
        method = await _method_for(session, row)
        account = await _account(session, row.account_id)
        client = await session.get(Client, row.client_id)
        problem = None
        if method is None or not method.stripe_payment_method_id:
            problem = "no_method"
        elif not (account.stripe_secret_key and account.stripe_publishable_key):
            problem = "not_connected"
        elif client is None or not client.stripe_customer_id:
            problem = "no_method"
        payment = None
        if problem is None:
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
                payment_method_id=method.id if method else None,
            )
            session.add(payment)
            await session.flush()
            row.last_payment_id = payment.id
            row.last_error = None
        else:
            row.last_error = (
                "No saved card to charge." if problem == "no_method" else "Stripe is not connected."
            )
        prepayment_events.charged(
            session,
            row,
            payment_id=payment.id if payment else None,
            status=problem or "charging",
        )
        if row.next_charge_at is None:
            row.status = PrepaymentStatus.COMPLETED
            prepayment_events.completed(session, row)
        if payment is None or method is None or client is None:
            return None
        assert method.stripe_payment_method_id is not None  # noqa: S101 - checked above
        assert client.stripe_customer_id is not None  # noqa: S101
        return _Cycle(
            prepayment_id=row.id,
            number=row.charges,
            payment_id=payment.id,
            account_id=row.account_id,
            amount=to_minor_units(payment.amount, payment.currency),
            currency=payment.currency,
            customer=client.stripe_customer_id,
            payment_method=method.stripe_payment_method_id,
            gateway=connected(runtime.settings, account),
        )


async def _method_for(session: AsyncSession, row: RecurringPrepayment) -> SavedPaymentMethod | None:
    if row.payment_method_id is not None:
        named = await session.get(SavedPaymentMethod, row.payment_method_id)
        if named is not None and named.client_id == row.client_id:
            return named
    return await default_method(session, row.client_id)


async def _charge(runtime: Runtime, cycle: _Cycle) -> bool:
    """Charge the cycle off-session and record the answer; whether it succeeded."""
    status, intent_id, reason = "error", None, None
    try:
        intent = await cycle.gateway.client.v1.payment_intents.create_async(
            params={  # type: ignore[typeddict-unknown-key]
                "amount": cycle.amount,
                "currency": cycle.currency.lower(),
                "customer": cycle.customer,
                "payment_method": cycle.payment_method,
                "payment_method_types": ["card"],
                "confirm": True,
                "off_session": True,
                "metadata": {
                    "portico_payment_id": str(cycle.payment_id),
                    "portico_account_id": str(cycle.account_id),
                    "portico_prepayment_id": str(cycle.prepayment_id),
                },
            },
            options={"idempotency_key": f"portico-prepayment-{cycle.prepayment_id}-{cycle.number}"},
        )
        status, intent_id = intent.status, intent.id
        if status == "requires_action":
            # off-session nobody can authenticate: cancel it (the next cycle comes on its date)
            reason = "The bank asks the card holder to confirm this payment."
            try:
                await cycle.gateway.client.v1.payment_intents.cancel_async(intent.id)
            except stripe.StripeError:
                log.warning("prepayment_cancel_failed", intent=intent.id)
    except stripe.CardError as error:
        status, reason = "declined", error.user_message or "The card was declined."
    except stripe.StripeError as error:
        reason = f"Stripe could not take the payment ({type(error).__name__})."
    async with unit_of_work(runtime) as work:
        payment = await _lock_payment(work.session, cycle.payment_id)
        if intent_id and not payment.provider_payment_id:
            payment.provider_payment_id = intent_id
        if status == "succeeded":
            await complete_payment(
                session=work.session, payment_id=payment.id, provider_payment_id=intent_id
            )
            return True
        if status == "processing":
            if payment.status is PaymentStatus.PENDING:
                payment.status = PaymentStatus.PROCESSING
                payment_events.processing(work.session, payment)
            return True
        if payment.status is PaymentStatus.PENDING:
            payment.status = PaymentStatus.FAILED
            payment.updated_at = utcnow()
            payment_events.failed(work.session, payment, reason=reason)
        row = await work.session.get(RecurringPrepayment, cycle.prepayment_id)
        if row is not None:
            row.last_error = reason
        return False


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
