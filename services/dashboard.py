"""The ``dashboard`` landing query's figures and lists (seeds 000, 002).

Everything is read in the caller's scope (:mod:`services.access`): a contact's dashboard
is its client's, a staff user's or partner's is the account's, narrowed to one client
when one is named. Each part is one or two statements whatever the number of rows —
totals are ``SUM ... GROUP BY currency``, lists are pages — and a part nobody asked for
costs nothing. (The client's secure dashboard *link* is :mod:`services.portal.dashboard`.)
"""

from __future__ import annotations

import asyncio
import heapq
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any

from sqlalchemy import ColumnElement, func, or_, type_coerce
from sqlalchemy import select as sql_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import AuthenticatedPrincipal, ContactPrincipal
from models.enums import QuoteStatus, RecurringStatus, SubscriptionStatus
from models.invoices import Invoice
from models.payment_methods import SavedPaymentMethod
from models.payments import SETTLED_STATUSES, Payment
from models.quotes import Quote
from models.recurring import RecurringInvoice
from models.subscriptions import Subscription
from models.types import ExactDecimal, utcnow
from services import access
from services.constant_in import one_of
from services.db import read_rows
from services.errors import BadInput
from services.invoices import OPEN_STATUSES, applied_sql, overdue_condition
from services.money import ZERO, round_money
from services.pagination import Page, PageQuery, page_query, paginate, read_page
from services.prepared import per_caller
from services.recurring.periods import schedule_dates
from services.recurring.schedules import MAX_UPCOMING, charges_automatically
from services.rows import INVOICE_ALWAYS, InvoiceView, RowView

OPEN_QUOTE_STATUSES = (QuoteStatus.SENT, QuoteStatus.VIEWED)
"""Quotes waiting for the client's answer (and not past their valid-until date)."""
ACTIVE_SUBSCRIPTION_STATUSES = (
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
)
"""Subscriptions the client is on (a past-due one still is, until it is canceled)."""


@dataclass(frozen=True, slots=True)
class DashboardScope:
    """Whose dashboard: the caller's rows, narrowed to ``client_id`` when set (always the
    contact's own client for a contact). ``today`` is the account's local date: "this
    month" and quote expiry count from it; overdue invoices are those
    ``Invoice.isOverdue`` says (:func:`services.invoices.is_overdue`)."""

    principal: AuthenticatedPrincipal
    client_id: uuid.UUID | None
    today: date
    read: dict[str, asyncio.Future[Any]] = field(default_factory=dict, compare=False, repr=False)
    """What this request's dashboard has read and its parts share (not part of what the
    scope is: equal scopes share statements, :func:`services.prepared.per_caller`)."""

    def narrow(self, model: type[object]) -> list[ColumnElement[bool]]:
        if self.client_id is None:
            return []
        return [col(model.client_id) == self.client_id]  # type: ignore[attr-defined]


async def dashboard_scope(
    session: AsyncSession,
    principal: AuthenticatedPrincipal,
    *,
    client_id: uuid.UUID | None,
    today: date,
) -> DashboardScope:
    """The scope of one ``dashboard`` request; a named client must be in the caller's
    scope (``NOT_FOUND`` otherwise, like any id). A contact's is always its client."""
    if client_id is not None:
        await access.access_client(session, principal, client_id)
    elif isinstance(principal, ContactPrincipal):
        client_id = principal.client_id
    return DashboardScope(principal=principal, client_id=client_id, today=today)


@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    """A sum in one currency, at the currency's precision, and how many items it counts."""

    currency: str
    amount: Decimal
    count: int


def _exact(expression: ColumnElement[Decimal]) -> ColumnElement[Decimal]:
    """``SUM(expression)`` read back as exact money: arithmetic on money columns loses
    their column type in SQL (see :func:`services.credits._decimal`), so it is given back
    (the sum of scaled integers is the scaled sum)."""
    return func.sum(type_coerce(expression, ExactDecimal()))


def _totals(rows: Sequence[Any]) -> list[CurrencyTotal]:
    """``(currency, count, sum)`` rows -> totals, by currency code."""
    return [
        CurrencyTotal(currency=currency, amount=round_money(amount or ZERO, currency), count=count)
        for currency, count, amount in sorted(rows)
        if count
    ]


@per_caller
def _invoice_totals_statement(scope: DashboardScope, overdue_on: date) -> Any:
    """What is still owed on open invoices, and of it on those overdue on ``overdue_on``,
    by currency: ``(currency, count, owed, overdue count, overdue owed)``, in one
    statement (overdue invoices are open ones that owe: ``FILTER`` of the same rows)."""
    late = overdue_condition(overdue_on)
    owed = _exact(Invoice.total - applied_sql())
    return (
        sql_select(  # five columns: more than sqlmodel's select types
            col(Invoice.currency),
            func.count(col(Invoice.id)),
            owed,
            func.count(col(Invoice.id)).filter(late),
            owed.filter(late),  # a SUM: a FunctionElement, so it takes FILTER
        )
        .where(*access.invoice_scope(scope.principal), *scope.narrow(Invoice), _outstanding())
        .group_by(col(Invoice.currency))
    )


def _outstanding() -> ColumnElement[bool]:
    return one_of(col(Invoice.status), OPEN_STATUSES) & (Invoice.total - applied_sql() > 0)


def _invoice_totals(session: AsyncSession, scope: DashboardScope) -> asyncio.Future[Any]:
    """The rows of :func:`_invoice_totals_statement`, read once for the request's
    ``outstanding`` and ``overdue`` alike."""
    found = scope.read.get("invoice_totals")
    if found is None:
        statement = _invoice_totals_statement(scope, utcnow().date())
        found = scope.read["invoice_totals"] = asyncio.ensure_future(read_rows(session, statement))
    return found


async def outstanding(session: AsyncSession, scope: DashboardScope) -> list[CurrencyTotal]:
    """What is still owed on open invoices, per currency, and how many owe it."""
    rows = await _invoice_totals(session, scope)
    return _totals([(currency, count, owed) for currency, count, owed, _, _ in rows])


async def overdue(session: AsyncSession, scope: DashboardScope) -> list[CurrencyTotal]:
    """What is owed on overdue invoices, per currency, and how many they are."""
    rows = await _invoice_totals(session, scope)
    return _totals([(currency, count, owed) for currency, _, _, count, owed in rows])


@per_caller
def _received_statement(scope: DashboardScope) -> Any:
    net = _exact(Payment.amount - Payment.refunded_amount)  # type: ignore[arg-type]
    return (
        select(col(Payment.currency), func.count(col(Payment.id)), net)
        .where(
            *access.payment_scope(scope.principal),
            *scope.narrow(Payment),
            one_of(col(Payment.status), SETTLED_STATUSES),
            col(Payment.received_on) >= scope.today.replace(day=1),
            col(Payment.received_on) <= scope.today,
        )
        .group_by(col(Payment.currency))
    )


async def received_this_month(session: AsyncSession, scope: DashboardScope) -> list[CurrencyTotal]:
    """Payments received since the first of ``scope.today``'s month, net of what was
    refunded of them, per currency, and how many they are."""
    return _totals(await read_rows(session, _received_statement(scope)))


@per_caller
def _open_invoices_query(
    scope: DashboardScope, first: int | None, after: str | None, columns: frozenset[str] | None
) -> PageQuery:
    statement = select(Invoice).where(
        *access.invoice_scope(scope.principal), *scope.narrow(Invoice), _outstanding()
    )
    return page_query(statement, Invoice, first=first, after=after, columns=columns)


async def open_invoices(
    session: AsyncSession,
    scope: DashboardScope,
    *,
    first: int | None,
    after: str | None,
    columns: frozenset[str] | None = None,
) -> Page[InvoiceView]:
    """Invoices with something still to pay, newest first, as read-only rows of the
    named ``columns`` (``None``: all; :data:`services.rows.INVOICE_ALWAYS` always)."""
    if columns is not None:
        columns |= frozenset(INVOICE_ALWAYS)
    query = _open_invoices_query(scope, first, after, columns)
    return await read_page(session, query, InvoiceView)


@per_caller
def _recent_payments_query(
    scope: DashboardScope, first: int | None, after: str | None
) -> PageQuery:
    statement = select(Payment).where(
        *access.payment_scope(scope.principal),
        *scope.narrow(Payment),
        one_of(col(Payment.status), SETTLED_STATUSES),
    )
    return page_query(statement, Payment, first=first, after=after)


async def recent_payments(
    session: AsyncSession, scope: DashboardScope, *, first: int | None, after: str | None
) -> Page[RowView]:
    """Received payments, newest first (not those still pending, failed or canceled)."""
    return await read_page(session, _recent_payments_query(scope, first, after), RowView)


@per_caller
def _open_quotes_query(scope: DashboardScope, first: int | None, after: str | None) -> PageQuery:
    statement = select(Quote).where(
        *access.quote_scope(scope.principal),
        *scope.narrow(Quote),
        one_of(col(Quote.status), OPEN_QUOTE_STATUSES),
        or_(col(Quote.valid_until).is_(None), col(Quote.valid_until) >= scope.today),
    )
    return page_query(statement, Quote, first=first, after=after)


async def open_quotes(
    session: AsyncSession, scope: DashboardScope, *, first: int | None, after: str | None
) -> Page[RowView]:
    """Estimates and proposals waiting for an answer and still valid, newest first."""
    return await read_page(session, _open_quotes_query(scope, first, after), RowView)


async def active_subscriptions(
    session: AsyncSession, scope: DashboardScope, *, first: int | None, after: str | None
) -> Page[Subscription]:
    statement = select(Subscription).where(
        *access.subscription_scope(scope.principal),
        *scope.narrow(Subscription),
        one_of(col(Subscription.status), ACTIVE_SUBSCRIPTION_STATUSES),
    )
    return await paginate(session, statement, Subscription, first=first, after=after)


async def payment_methods(
    session: AsyncSession, scope: DashboardScope, *, first: int | None, after: str | None
) -> Page[SavedPaymentMethod]:
    statement = select(SavedPaymentMethod).where(
        *access.payment_method_scope(scope.principal), *scope.narrow(SavedPaymentMethod)
    )
    return await paginate(session, statement, SavedPaymentMethod, first=first, after=after)


@dataclass(frozen=True, slots=True)
class UpcomingPayment:
    """One future invoice of a recurring invoice: the day it is issued and what for."""

    date: date
    recurring_invoice: RecurringInvoice

    @property
    def amount(self) -> Decimal:
        return round_money(self.recurring_invoice.total, self.recurring_invoice.currency)

    @property
    def currency(self) -> str:
        return self.recurring_invoice.currency

    @property
    def charged_automatically(self) -> bool:
        return charges_automatically(self.recurring_invoice)


def _dates(recurring: RecurringInvoice) -> Iterator[tuple[date, int, uuid.UUID, RecurringInvoice]]:
    """``recurring``'s upcoming dates (all of them, lazily), as heap entries."""
    if recurring.next_send_date is None:  # pragma: no cover - selected with a next date
        return
    dates = schedule_dates(recurring.start_date, recurring.frequency, recurring.next_send_date)
    if recurring.remaining_cycles is not None:
        dates = islice(dates, recurring.remaining_cycles)
    for position, day in enumerate(dates):
        yield day, position, recurring.id, recurring


async def upcoming_payments(
    session: AsyncSession, scope: DashboardScope, *, count: int
) -> list[UpcomingPayment]:
    """The next ``count`` invoices the active recurring invoices will issue, soonest
    first. The first date of a schedule is its ``next_send_date``, so the soonest
    ``count`` dates are all among the ``count`` schedules due soonest: one statement."""
    if count < 0 or count > MAX_UPCOMING:
        raise BadInput(f"count must be between 0 and {MAX_UPCOMING}.", field="count")
    statement = (
        select(RecurringInvoice)
        .where(
            *access.recurring_invoice_scope(scope.principal),
            *scope.narrow(RecurringInvoice),
            col(RecurringInvoice.status) == RecurringStatus.ACTIVE,
            col(RecurringInvoice.next_send_date).is_not(None),
        )
        .order_by(col(RecurringInvoice.next_send_date), col(RecurringInvoice.id))
        .limit(count)
    )
    schedules = (await session.exec(statement)).all()
    merged = heapq.merge(*(_dates(recurring) for recurring in schedules))
    return [UpcomingPayment(day, recurring) for day, _, _, recurring in islice(merged, count)]
