"""Client statements: what a client owed when a period began, what happened in it, what
it owes at its end, and how old the open amounts are.

A statement follows the client's invoice balances, in one currency:

- ``INVOICE`` on its issue date: + its total;
- ``PAYMENT`` on the day it was received: - the part of it applied to the client's
  invoices (money not applied to an invoice is the client's unapplied credit: it owes
  nothing on it, so it is not on the statement; the payments list shows it);
- ``CREDIT`` a credit note applied to an invoice, on the day it was applied: - the amount;
- ``REFUND`` money of a payment given back, which reopens the invoice it had paid:
  + the amount, dated the day the payment last changed (no refund date is stored).

Only completed (or refunded) payments count; pending and failed ones have not paid
anything yet. Draft and void invoices never appear, for staff either: they were never
owed. Days are the account's days (its time zone) where the record is a point in time.

So the closing balance is exactly the sum of the client's open invoice balances as of
``to``, which the aging buckets split by days past due (an invoice without a due date is
due on its issue date).

``status`` (as Invoice Ninja's statement filter) chooses which invoices are listed:
``ALL`` every invoice issued in the period, ``PAID`` those fully paid as of ``to``,
``UNPAID`` those with something still owed as of ``to``. It only hides invoice rows:
payments, credits, refunds, balances and aging stay the whole account's, and each row's
running balance is the true balance after it.

One statement is in one currency: the client's own unless ``currency`` asks for another
(``currencies`` lists every currency the client was invoiced in).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import AuthenticatedPrincipal, ContactPrincipal
from models.accounts import Account
from models.clients import Client
from models.credits import Credit, CreditApplication
from models.enums import PaymentStatus
from models.invoices import Invoice
from models.payments import Payment, PaymentAllocation
from models.types import utcnow
from services.access import (
    HIDDEN_INVOICE_STATUSES,
    access_client,
    credit_scope,
    invoice_scope,
    payment_scope,
)
from services.errors import BadInput, NotFound
from services.money import ZERO, validate_currency
from services.validation import check_date

MAX_PERIOD_DAYS = 5 * 366
"""Longest period one statement covers (five years)."""

COUNTED_PAYMENT_STATUSES = (
    PaymentStatus.COMPLETED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
    PaymentStatus.DISPUTED,
)


class StatementStatus(StrEnum):
    ALL = "ALL"
    PAID = "PAID"
    UNPAID = "UNPAID"


class EntryKind(StrEnum):
    INVOICE = "INVOICE"
    PAYMENT = "PAYMENT"
    CREDIT = "CREDIT"
    REFUND = "REFUND"


_KIND_ORDER = {EntryKind.INVOICE: 0, EntryKind.PAYMENT: 1, EntryKind.CREDIT: 2, EntryKind.REFUND: 3}


@dataclass(frozen=True, slots=True)
class StatementRequest:
    """What a statement is of; also what a statement's download link carries."""

    client_id: uuid.UUID
    date_from: date
    date_to: date
    status: StatementStatus = StatementStatus.ALL
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One row: ``amount`` is its signed effect on what the client owes, ``balance`` what
    the client owes after it."""

    on: date
    kind: EntryKind
    number: str | None
    description: str
    amount: Decimal
    balance: Decimal
    currency: str
    document_id: uuid.UUID
    due_date: date | None = None


@dataclass(frozen=True, slots=True)
class Aging:
    """Open invoice balances as of the statement's end, by days past their due date."""

    currency: str
    current: Decimal = ZERO
    days_1_30: Decimal = ZERO
    days_31_60: Decimal = ZERO
    days_61_90: Decimal = ZERO
    over_90: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.over_90


@dataclass(frozen=True, slots=True)
class Statement:
    request: StatementRequest
    client: Client
    currency: str
    opening_balance: Decimal
    invoiced: Decimal
    """Invoices issued in the period (all of them, whatever ``status`` lists)."""
    received: Decimal
    """Payments and credits applied in the period, less refunds."""
    closing_balance: Decimal
    entries: list[StatementEntry]
    aging: Aging
    currencies: list[str]
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def date_from(self) -> date:
        return self.request.date_from

    @property
    def date_to(self) -> date:
        return self.request.date_to

    @property
    def status(self) -> StatementStatus:
        return self.request.status


@dataclass(slots=True)
class _Event:
    """A change to what the client owes; ``parts`` split it over the invoices it touched
    (they sum to ``amount``)."""

    on: date
    kind: EntryKind
    number: str | None
    description: str
    document_id: uuid.UUID
    parts: list[tuple[uuid.UUID, Decimal]]
    due_date: date | None = None

    @property
    def amount(self) -> Decimal:
        return sum((part for _, part in self.parts), ZERO)

    @property
    def sort_key(self) -> tuple[date, int, str, str]:
        return (self.on, _KIND_ORDER[self.kind], self.number or "", self.document_id.hex)


def check_period(date_from: date, date_to: date) -> None:
    """A period a statement can cover. Its days stay inside the dates accepted anywhere
    (:data:`services.validation.MAX_DATE`), so the moment after ``to`` and the aging
    arithmetic never leave what :class:`datetime.date` holds."""
    check_date(date_from, field="from")
    check_date(date_to, field="to")
    if date_from > date_to:
        raise BadInput("The period must start on or before its end.", field="from")
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise BadInput("A statement covers at most five years.", field="to")


def account_zone(account: Account | None) -> tzinfo:
    """The account's time zone (UTC when it has none or an unknown one)."""
    try:
        return ZoneInfo(account.timezone) if account else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


async def statement_client(
    session: AsyncSession, principal: AuthenticatedPrincipal, client_id: uuid.UUID | None
) -> Client:
    """The client a statement is of: a contact's own (another id answers NOT_FOUND, as
    any row outside its scope does); staff and partners must name one."""
    if isinstance(principal, ContactPrincipal):
        if client_id is not None and client_id != principal.client_id:
            raise NotFound("Client")
        client_id = principal.client_id
    if client_id is None:
        raise BadInput("Name the client whose statement to build.", field="clientId")
    return await access_client(session, principal, client_id)


async def build_statement(
    *,
    session: AsyncSession,
    principal: AuthenticatedPrincipal,
    date_from: date,
    date_to: date,
    status: StatementStatus = StatementStatus.ALL,
    client_id: uuid.UUID | None = None,
    currency: str | None = None,
) -> Statement:
    check_period(date_from, date_to)
    client = await statement_client(session, principal, client_id)
    currency = validate_currency(currency) if currency else client.currency
    request = StatementRequest(client.id, date_from, date_to, status, currency)
    zone = account_zone(await session.get(Account, principal.account_id))
    conditions = _invoice_conditions(principal, client.id, currency, date_to)
    invoices = {
        invoice.id: invoice
        for invoice in (await session.exec(select(Invoice).where(*conditions))).all()
    }
    events = [_invoice_event(invoice) for invoice in invoices.values()]
    context = _Context(principal, client.id, conditions, invoices, zone, date_to)
    events += await _payment_events(session, context)
    events += await _credit_events(session, context)
    events = sorted((e for e in events if e.on <= date_to), key=lambda e: e.sort_key)

    owed: dict[uuid.UUID, Decimal] = defaultdict(lambda: ZERO)
    for event in events:
        for invoice_id, part in event.parts:
            owed[invoice_id] += part

    opening = invoiced = received = balance = ZERO
    entries: list[StatementEntry] = []
    for event in events:
        balance += event.amount
        if event.on < date_from:
            opening = balance
            continue
        if event.kind is EntryKind.INVOICE:
            invoiced += event.amount
            if not _listed(owed[event.document_id], status):
                continue
        else:
            received -= event.amount
        entries.append(
            StatementEntry(
                on=event.on,
                kind=event.kind,
                number=event.number,
                description=event.description,
                amount=event.amount,
                balance=balance,
                currency=currency,
                document_id=event.document_id,
                due_date=event.due_date,
            )
        )
    return Statement(
        request=request,
        client=client,
        currency=currency,
        opening_balance=opening,
        invoiced=invoiced,
        received=received,
        closing_balance=balance,
        entries=entries,
        aging=_aging(invoices, owed, currency, date_to),
        currencies=await _currencies(session, principal, client),
    )


def _listed(owed: Decimal, status: StatementStatus) -> bool:
    if status is StatementStatus.PAID:
        return owed <= 0
    if status is StatementStatus.UNPAID:
        return owed > 0
    return True


def _invoice_conditions(
    principal: AuthenticatedPrincipal, client_id: uuid.UUID, currency: str, date_to: date
) -> list[ColumnElement[bool]]:
    """The invoices a statement ending ``date_to`` counts: the client's, in the currency,
    issued by then, never drafts or voided ones (for staff neither)."""
    return [
        *invoice_scope(principal),
        col(Invoice.client_id) == client_id,
        col(Invoice.currency) == currency,
        col(Invoice.status).not_in(HIDDEN_INVOICE_STATUSES),
        col(Invoice.issue_date) <= date_to,
    ]


def _invoice_event(invoice: Invoice) -> _Event:
    number = invoice.number or "(unnumbered)"
    due = f", due {invoice.due_date.isoformat()}" if invoice.due_date else ""
    return _Event(
        on=invoice.issue_date or invoice.created_at.date(),  # selected with an issue date
        kind=EntryKind.INVOICE,
        number=invoice.number,
        description=f"Invoice {number}{due}",
        document_id=invoice.id,
        parts=[(invoice.id, invoice.total)],
        due_date=invoice.due_date,
    )


def _numbers(invoices: dict[uuid.UUID, Invoice], ids: list[uuid.UUID]) -> str:
    return ", ".join(sorted({invoices[i].number or "(unnumbered)" for i in ids}))


def _local_date(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


@dataclass(frozen=True, slots=True)
class _Context:
    principal: AuthenticatedPrincipal
    client_id: uuid.UUID
    conditions: list[ColumnElement[bool]]
    invoices: dict[uuid.UUID, Invoice]
    zone: tzinfo
    date_to: date

    @property
    def end(self) -> datetime:
        """The moment the period ends: midnight after ``date_to``, account time."""
        return datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=self.zone)


async def _payment_events(session: AsyncSession, context: _Context) -> list[_Event]:
    invoices, zone = context.invoices, context.zone
    statement = (
        select(PaymentAllocation, Payment)
        .join(Payment, col(Payment.id) == col(PaymentAllocation.payment_id))
        .where(
            *payment_scope(context.principal),
            col(Payment.client_id) == context.client_id,
            col(Payment.status).in_(COUNTED_PAYMENT_STATUSES),
            col(Payment.received_on) <= context.date_to,
            col(PaymentAllocation.invoice_id).in_(select(Invoice.id).where(*context.conditions)),
        )
    )
    paid: dict[uuid.UUID, list[PaymentAllocation]] = defaultdict(list)
    payments: dict[uuid.UUID, Payment] = {}
    for allocation, payment in (await session.exec(statement)).all():
        paid[payment.id].append(allocation)
        payments[payment.id] = payment
    events: list[_Event] = []
    for payment_id, allocations in paid.items():
        payment = payments[payment_id]
        label = payment.number or payment.reference or ""
        applied_to = _numbers(invoices, [a.invoice_id for a in allocations])
        events.append(
            _Event(
                on=payment.received_on,
                kind=EntryKind.PAYMENT,
                number=payment.number,
                description=f"Payment {label} applied to {applied_to}".replace("  ", " "),
                document_id=payment.id,
                parts=[(a.invoice_id, -a.amount) for a in allocations],
            )
        )
        refunded = [a for a in allocations if a.refunded_amount > 0]
        if refunded:
            events.append(
                _Event(
                    on=max(payment.received_on, _local_date(payment.updated_at, zone)),
                    kind=EntryKind.REFUND,
                    number=payment.number,
                    description=f"Refund of payment {label}".rstrip(),
                    document_id=payment.id,
                    parts=[(a.invoice_id, a.refunded_amount) for a in refunded],
                )
            )
    return events


async def _credit_events(session: AsyncSession, context: _Context) -> list[_Event]:
    invoices, zone = context.invoices, context.zone
    statement = (
        select(CreditApplication, Credit)
        .join(Credit, col(Credit.id) == col(CreditApplication.credit_id))
        .where(
            *credit_scope(context.principal),
            col(Credit.client_id) == context.client_id,
            col(CreditApplication.created_at) < context.end,
            col(CreditApplication.invoice_id).in_(select(Invoice.id).where(*context.conditions)),
        )
    )
    applied: dict[tuple[uuid.UUID, date], list[CreditApplication]] = defaultdict(list)
    credits: dict[uuid.UUID, Credit] = {}
    for application, credit in (await session.exec(statement)).all():
        applied[credit.id, _local_date(application.created_at, zone)].append(application)
        credits[credit.id] = credit
    return [
        _Event(
            on=day,
            kind=EntryKind.CREDIT,
            number=credits[credit_id].number,
            description=(
                f"Credit {credits[credit_id].number or ''} applied to "
                f"{_numbers(invoices, [a.invoice_id for a in applications])}"
            ).replace("  ", " "),
            document_id=credit_id,
            parts=[(a.invoice_id, -a.amount) for a in applications],
        )
        for (credit_id, day), applications in applied.items()
    ]


def _aging(
    invoices: dict[uuid.UUID, Invoice],
    owed: dict[uuid.UUID, Decimal],
    currency: str,
    date_to: date,
) -> Aging:
    buckets = [ZERO] * 5
    for invoice in invoices.values():
        balance = owed[invoice.id]
        if balance <= 0:
            continue
        due = invoice.due_date or invoice.issue_date or date_to
        late = (date_to - due).days
        index = 0 if late <= 0 else 1 if late <= 30 else 2 if late <= 60 else 3 if late <= 90 else 4
        buckets[index] += balance
    return Aging(currency, *buckets)


async def _currencies(
    session: AsyncSession, principal: AuthenticatedPrincipal, client: Client
) -> list[str]:
    statement = (
        select(Invoice.currency)
        .where(
            *invoice_scope(principal),
            col(Invoice.client_id) == client.id,
            col(Invoice.status).not_in(HIDDEN_INVOICE_STATUSES),
        )
        .distinct()
    )
    found = set((await session.exec(statement)).all())
    return sorted(found | {client.currency})
