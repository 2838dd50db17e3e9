"""Invoices: drafts, sending (with gap-free numbering), viewing, voiding.

The life of an invoice::

    DRAFT --send/mark sent--> SENT --viewed by a contact--> VIEWED
    SENT/VIEWED --money applied--> PARTIAL --rest applied--> PAID   (settle_status)
    DRAFT/SENT/VIEWED --void (nothing paid or credited)--> VOID

Contacts and partners never see DRAFT or VOID invoices (:func:`services.access.invoice_scope`).
The paid state (UNPAID/PARTIAL/PAID, VOID once voided), the balance, ``is_overdue`` and
``amount_due`` are derived from the stored status, amounts and dates, never stored; a VOID
invoice owes nothing (balance and amount due 0, never overdue). Each public function is one state
change and records its activity entry and outbox event in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache

from sqlalchemy import ColumnElement, Update, bindparam, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.accounts import Account
from models.enums import InvoiceStatus, PaidState
from models.invoices import Invoice, InvoiceLine
from models.quotes import Quote, QuoteLine
from models.time_logs import TimeLog
from models.types import utcnow
from services.access import access_client, access_invoice, access_project, invoice_scope
from services.constant_in import one_of
from services.errors import BadInput, Conflict
from services.events import invoices as invoice_events
from services.events.invoices import InvoiceOrigin, IssueSource
from services.lines import LineData, copy_lines, line_data_of, replace_lines
from services.money import check_amount, validate_currency
from services.pagination import Page, PageQuery, page_query, read_page
from services.portal.documents import email_document
from services.prepared import per_caller
from services.rows import INVOICE_ALWAYS, InvoiceView
from services.subscription_recovery import invoice_paid
from services.unit_of_work import UnitOfWork
from services.validation import apply_document_texts

OPEN_STATUSES = (InvoiceStatus.SENT, InvoiceStatus.VIEWED, InvoiceStatus.PARTIAL)


@dataclass(slots=True)
class InvoiceData:
    """Fields of an invoice; in an update ``None`` leaves a field unchanged and ``lines``,
    when given, replaces every line."""

    client_id: uuid.UUID | None = None
    currency: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    deposit_amount: Decimal | None = None
    deposit_due_date: date | None = None
    po_number: str | None = None
    public_notes: str | None = None
    private_notes: str | None = None
    terms: str | None = None
    project_id: uuid.UUID | None = None
    lines: list[LineData] | None = None


@dataclass(slots=True)
class InvoiceFilter:
    client_id: uuid.UUID | None = None
    statuses: list[InvoiceStatus] = field(default_factory=list)
    overdue: bool | None = None


def is_overdue(invoice: Invoice, today: date | None = None) -> bool:
    """Open, with a balance, and late: past its due date, or past its deposit due date
    while the deposit is not yet covered by the payments and credits applied.

    An invoice whose deposit is late is overdue even though its own due date is still
    ahead; once the deposit is paid only the invoice's due date counts.
    """
    today = today or utcnow().date()
    if invoice.status not in OPEN_STATUSES or invoice.balance <= 0:
        return False
    if invoice.due_date is not None and invoice.due_date < today:
        return True
    return (
        invoice.deposit_due_date is not None
        and invoice.deposit_due_date < today
        and deposit_outstanding(invoice)
    )


def applied_sql() -> ColumnElement[Decimal]:
    """:attr:`Invoice.applied` as SQL."""
    return Invoice.amount_paid + Invoice.credits_applied  # type: ignore[return-value]


def overdue_condition(today: date) -> ColumnElement[bool]:
    """:func:`is_overdue` as SQL (never NULL, so its negation is exact too)."""
    applied = applied_sql()
    late_balance = col(Invoice.due_date).is_not(None) & (col(Invoice.due_date) < today)
    late_deposit = (
        col(Invoice.deposit_amount).is_not(None)
        & col(Invoice.deposit_due_date).is_not(None)
        & (col(Invoice.deposit_due_date) < today)
        & (applied < col(Invoice.deposit_amount))
    )
    return (
        one_of(col(Invoice.status), OPEN_STATUSES)
        & (Invoice.total - applied > 0)
        & (late_balance | late_deposit)
    )


async def list_invoices(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: InvoiceFilter,
    first: int | None,
    after: str | None,
    columns: frozenset[str] | None = None,
) -> Page[InvoiceView]:
    """A page of the caller's invoices, as read-only rows (:mod:`services.rows`) of the
    named ``columns`` (``None``: all; :data:`services.rows.INVOICE_ALWAYS` always)."""
    today = utcnow().date() if filters.overdue is not None else None
    query = _list_query(
        principal,
        filters.client_id,
        tuple(filters.statuses),
        filters.overdue,
        today,
        first,
        after,
        None if columns is None else columns | frozenset(INVOICE_ALWAYS),
    )
    return await read_page(session, query, InvoiceView)


@per_caller
def _list_query(
    principal: Principal,
    client_id: uuid.UUID | None,
    statuses: tuple[InvoiceStatus, ...],
    overdue: bool | None,
    today: date | None,
    first: int | None,
    after: str | None,
    columns: frozenset[str] | None,
) -> PageQuery:
    """:func:`list_invoices`'s statements (``today``: the day ``overdue`` is judged)."""
    statement = select(Invoice).where(*invoice_scope(principal))
    if client_id is not None:
        statement = statement.where(Invoice.client_id == client_id)
    if statuses:
        statement = statement.where(Invoice.status.in_(statuses))  # type: ignore[attr-defined]
    if overdue is not None and today is not None:
        late = overdue_condition(today)
        statement = statement.where(late if overdue else ~late)
    return page_query(statement, Invoice, first=first, after=after, columns=columns)


def _apply(invoice: Invoice, data: InvoiceData) -> None:
    if data.issue_date is not None:
        invoice.issue_date = data.issue_date
    if data.due_date is not None:
        invoice.due_date = data.due_date
    apply_document_texts(invoice, data)
    if invoice.issue_date and invoice.due_date and invoice.due_date < invoice.issue_date:
        raise BadInput("The due date cannot be before the issue date.", field="dueDate")


def _apply_deposit(invoice: Invoice, data: InvoiceData) -> None:
    """Set the deposit from ``data`` (an amount of ``0`` removes it and its due date),
    then check it against the invoice's current total and dates."""
    if data.deposit_amount is not None:
        amount = check_amount(data.deposit_amount, invoice.currency, field="depositAmount")
        if amount == 0:
            if data.deposit_due_date is not None:
                raise BadInput(
                    "A deposit of 0 removes the deposit; give no deposit due date with it.",
                    field="depositDueDate",
                )
            invoice.deposit_amount = None
            invoice.deposit_due_date = None
        else:
            invoice.deposit_amount = amount
    if data.deposit_due_date is not None:
        invoice.deposit_due_date = data.deposit_due_date
    _check_deposit(invoice)


def _check_deposit(invoice: Invoice) -> None:
    """``0 < deposit <= total``; a deposit due date needs a deposit and falls between
    the issue date and the invoice's due date."""
    deposit, due = invoice.deposit_amount, invoice.deposit_due_date
    if deposit is not None and deposit > invoice.total:
        raise BadInput("The deposit cannot exceed the invoice total.", field="depositAmount")
    if due is None:
        return
    if deposit is None:
        raise BadInput("A deposit due date needs a deposit amount.", field="depositDueDate")
    if invoice.issue_date is not None and due < invoice.issue_date:
        raise BadInput("The deposit cannot be due before the issue date.", field="depositDueDate")
    if invoice.due_date is not None and due > invoice.due_date:
        raise BadInput("The deposit cannot be due after the invoice.", field="depositDueDate")


async def create_invoice(
    *, session: AsyncSession, actor: StaffPrincipal, data: InvoiceData
) -> Invoice:
    if data.client_id is None:
        raise BadInput("This field is required.", field="clientId")
    client = await access_client(session, actor, data.client_id)
    if client.archived_at is not None:
        raise Conflict("Archived clients cannot be invoiced.", field="clientId")
    currency = validate_currency(data.currency or client.currency)
    invoice = Invoice(
        account_id=actor.account_id,
        client_id=client.id,
        project_id=await _project_of(session, actor, data.project_id, client.id),
        currency=currency,
        issue_date=utcnow().date(),
        created_by_id=actor.user_id,
    )
    _apply(invoice, data)
    session.add(invoice)
    await session.flush()
    await replace_lines(session, InvoiceLine, "invoice_id", invoice, data.lines or [])
    _apply_deposit(invoice, data)
    invoice_events.created(session, invoice, actor, InvoiceOrigin.STAFF)
    return invoice


async def _project_of(
    session: AsyncSession,
    actor: StaffPrincipal,
    project_id: uuid.UUID | None,
    client_id: uuid.UUID,
) -> uuid.UUID | None:
    """The project an invoice is for: one of the invoice's client (``BAD_USER_INPUT``
    for another client's, ``NOT_FOUND`` for an unknown one)."""
    if project_id is None:
        return None
    project = await access_project(session, actor, project_id)
    if project.client_id != client_id:
        raise BadInput("This project belongs to another client.", field="projectId")
    return project.id


async def update_invoice(
    *, session: AsyncSession, actor: StaffPrincipal, invoice_id: uuid.UUID, data: InvoiceData
) -> Invoice:
    """Change a draft; a sent invoice only while the account's ``lock_sent_invoices``
    setting is off, and then never its client or currency (its number, payments and
    the client's view depend on them)."""
    invoice = await access_invoice(session, actor, invoice_id, lock=True)
    if invoice.status is InvoiceStatus.VOID:
        raise Conflict("A void invoice cannot be edited.")
    draft = invoice.status is InvoiceStatus.DRAFT
    if not draft:
        account = await session.get(Account, actor.account_id)
        if account is None or account.lock_sent_invoices:
            raise Conflict(
                f"Invoice {invoice.number} was sent and this account locks sent invoices: "
                "turn off lockSentInvoices in the account settings to edit it, or void it "
                "and issue a new one."
            )
    if data.client_id is not None and data.client_id != invoice.client_id:
        if not draft:
            raise Conflict("A sent invoice cannot move to another client.", field="clientId")
        client = await access_client(session, actor, data.client_id)
        if client.archived_at is not None:
            raise Conflict("Archived clients cannot be invoiced.", field="clientId")
        invoice.client_id = client.id
        if invoice.project_id is not None and data.project_id is None:
            invoice.project_id = await _project_of(
                session, actor, invoice.project_id, invoice.client_id
            )
    if data.project_id is not None:
        invoice.project_id = await _project_of(session, actor, data.project_id, invoice.client_id)
    currency = validate_currency(data.currency) if data.currency is not None else None
    if currency is not None and currency != invoice.currency:
        if not draft:
            raise Conflict("A sent invoice cannot change its currency.", field="currency")
        invoice.currency = currency
    _apply(invoice, data)
    if data.lines is not None:
        await replace_lines(session, InvoiceLine, "invoice_id", invoice, data.lines)
        await _release_billed_time(session, invoice.id)
    elif currency is not None:
        await _reprice_lines(session, invoice)
    if not draft and invoice.total <= 0:
        raise Conflict("A sent invoice needs a total above zero.", field="lines")
    if invoice.total < invoice.applied:
        raise Conflict("The new total is below what has already been paid.", field="lines")
    _apply_deposit(invoice, data)
    settle_status(invoice)
    invoice.updated_at = utcnow()
    invoice_events.updated(session, invoice, actor)
    await invoice_paid(session, invoice)  # a total lowered to what was paid settles it
    return invoice


async def next_number(session: AsyncSession, account_id: uuid.UUID, kind: str) -> str:
    """The next document number of ``kind`` (``invoice``, ``quote``, ``credit``).

    One atomic ``UPDATE ... RETURNING`` on the account row: concurrent senders queue on
    the row lock, and a rolled-back send gives its number back, so numbers have neither
    gaps nor duplicates.
    """
    result = await session.exec(_next_number_statement(kind), params={"account_id": account_id})
    row = result.one()
    return f"{row[0]}{int(row[1]):04d}"


@cache
def _next_number_statement(kind: str) -> Update:
    """:func:`next_number`'s statement for ``kind``, built once: SQLAlchemy leaves each
    ``counter + 1`` it builds in a reference cycle (the literal's bind parameter memoizes
    a comparator that refers back to it), two cycles for the collector per number."""
    counter = getattr(Account, f"next_{kind}_number")
    prefix = getattr(Account, f"{kind}_number_prefix")
    return (
        update(Account)
        .where(col(Account.id) == bindparam("account_id"))
        .values({counter: counter + 1})
        .returning(prefix, counter - 1)
    )


async def send_invoice(
    work: UnitOfWork, *, actor: StaffPrincipal, invoice_id: uuid.UUID
) -> Invoice:
    """Send an invoice (again) and mail it to the client's contacts, numbering it on its
    first send; an open invoice may be sent again as a reminder and keeps its number."""
    invoice = await _sendable(work.session, actor, invoice_id)
    return await issue_invoice(work, invoice, actor=actor, source=IssueSource.SEND)


async def mark_invoice_sent(
    work: UnitOfWork, *, actor: StaffPrincipal, invoice_id: uuid.UUID
) -> Invoice:
    """Number a draft and show it to the client without sending anything, for an
    invoice delivered outside Portico (printed, attached to a mail by hand)."""
    invoice = await _sendable(work.session, actor, invoice_id)
    if invoice.status is not InvoiceStatus.DRAFT:
        raise Conflict(f"Invoice {invoice.number} is already sent.")
    return await issue_invoice(work, invoice, actor=actor, source=IssueSource.MARK_SENT)


async def _sendable(session: AsyncSession, actor: StaffPrincipal, invoice_id: uuid.UUID) -> Invoice:
    invoice = await access_invoice(session, actor, invoice_id, lock=True)
    if invoice.status is InvoiceStatus.VOID:
        raise Conflict("A void invoice cannot be sent.")
    if invoice.status is InvoiceStatus.PAID:
        raise Conflict("A paid invoice cannot be sent again.")
    if invoice.total <= 0:
        raise Conflict("An invoice needs a total above zero to be sent.")
    client = await access_client(session, actor, invoice.client_id)
    if client.archived_at is not None:
        raise Conflict("Invoices of an archived client cannot be sent.")
    return invoice


async def issue_invoice(
    work: UnitOfWork,
    invoice: Invoice,
    *,
    actor: Principal | None,
    source: IssueSource,
    quote: Quote | None = None,
) -> Invoice:
    """The one way an invoice becomes SENT, whatever asks for it (``sendInvoice``,
    ``markInvoiceSent``, a quote's conversion, the recurring scheduler).

    It is numbered on its first issue (gap-free, :func:`next_number`), becomes SENT with
    its issue date, and records one sequence of events for every source: an invoice
    created by this issue (converted from ``quote``, or issued by its schedule) is
    recorded as ``invoice.created`` first, then ``invoice.sent`` with the ``source``.
    Sources that mail (:attr:`IssueSource.mails`) queue the document's mail to the
    client's contacts, delivered after the unit of work commits."""
    session = work.session
    if invoice.number is None:
        invoice.number = await next_number(session, invoice.account_id, "invoice")
    if source.origin is not None:
        invoice_events.created(session, invoice, actor, source.origin, quote=quote)
    now = utcnow()
    if invoice.status is InvoiceStatus.DRAFT:
        invoice.status = InvoiceStatus.SENT
        invoice.issue_date = invoice.issue_date or now.date()
    invoice.sent_at = now
    invoice.updated_at = now
    invoice_events.sent(session, invoice, actor, source)
    if source.mails:
        await email_document(work, invoice)
    return invoice


async def mark_invoice_viewed(
    *, session: AsyncSession, actor: Principal, invoice_id: uuid.UUID
) -> Invoice:
    """Record that the client opened the invoice: the first time a contact acting for
    itself opens it (staff, partners and read-only "view as" sessions never count),
    ``viewed_at`` is set, a SENT invoice becomes VIEWED (a PARTIAL or PAID one keeps its
    status) and a client-visible ``invoice.viewed`` entry is recorded. Later views change
    nothing. Called from emailed document links and the ``markInvoiceViewed`` mutation."""
    counts = isinstance(actor, ContactPrincipal) and not actor.read_only
    invoice = await access_invoice(session, actor, invoice_id, lock=counts)
    if not counts or invoice.viewed_at is not None:
        return invoice
    now = utcnow()
    invoice.viewed_at = now
    if invoice.status is InvoiceStatus.SENT:
        invoice.status = InvoiceStatus.VIEWED
    invoice.updated_at = now
    invoice_events.viewed(session, invoice, actor)
    return invoice


async def void_invoice(
    *, session: AsyncSession, actor: StaffPrincipal, invoice_id: uuid.UUID
) -> Invoice:
    """Void an invoice that nothing is paid or credited on (refund or unapply first);
    it keeps its number, so numbering stays without gaps. Voiding again changes
    nothing. A voided draft was never shown, so its entry is internal.

    The checks read the invoice under its lock, which applying a payment or credit
    also takes: a concurrent application is either seen here or refused there. The time
    it billed (``invoiceTimeLogs``) is billable again: a void invoice bills nothing."""
    invoice = await access_invoice(session, actor, invoice_id, lock=True)
    if invoice.status is InvoiceStatus.VOID:
        return invoice
    if invoice.amount_paid > 0 or invoice.credits_applied > 0:
        raise Conflict("Refund or unapply its payments and credits before voiding this invoice.")
    now = utcnow()
    previous = invoice.status
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = now
    invoice.updated_at = now
    invoice_events.voided(session, invoice, actor, was_shown=previous is not InvoiceStatus.DRAFT)
    await session.exec(
        update(TimeLog)
        .where(col(TimeLog.invoice_id) == invoice.id)
        .values(invoiced=False, invoice_id=None, updated_at=now)
    )
    return invoice


async def _release_billed_time(session: AsyncSession, invoice_id: uuid.UUID) -> None:
    """The time an invoice billed (``invoiceTimeLogs``) is billable again once the lines
    that billed it are gone: replaced lines carry no time log, and a log must never stay
    invoiced on an invoice that no longer bills it."""
    await session.exec(
        update(TimeLog)
        .where(col(TimeLog.invoice_id) == invoice_id)
        .values(invoiced=False, invoice_id=None, updated_at=utcnow())
    )


async def _reprice_lines(session: AsyncSession, invoice: Invoice) -> None:
    """Rebuild the stored lines in the invoice's (new) currency, keeping each line's link
    to the time log it bills."""
    stored = (
        await session.exec(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice.id)
            .order_by(col(InvoiceLine.position))
        )
    ).all()
    links = [row.time_log_id for row in stored]
    lines = [line_data_of(row) for row in stored]
    rows = await replace_lines(session, InvoiceLine, "invoice_id", invoice, lines)
    for row, link in zip(rows, links, strict=True):
        row.time_log_id = link


def settle_status(invoice: Invoice) -> None:
    """Move an open invoice to PARTIAL or PAID (or back) after money was applied."""
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        return
    if invoice.applied >= invoice.total:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = invoice.paid_at or utcnow()
    elif invoice.applied > 0:
        invoice.status = InvoiceStatus.PARTIAL
        invoice.paid_at = None
    else:
        invoice.status = InvoiceStatus.VIEWED if invoice.viewed_at else InvoiceStatus.SENT
        invoice.paid_at = None


def paid_state(invoice: Invoice) -> PaidState:
    """VOID for a voided invoice (it owes nothing), else UNPAID, PARTIAL or PAID from the
    payments and credits applied."""
    if invoice.status is InvoiceStatus.VOID:
        return PaidState.VOID
    if invoice.total > 0 and invoice.applied >= invoice.total:
        return PaidState.PAID
    return PaidState.PARTIAL if invoice.applied > 0 else PaidState.UNPAID


def deposit_outstanding(invoice: Invoice) -> bool:
    """Whether the invoice asks for a deposit that its payments and credits do not yet
    cover (then the deposit is what is due, by its own due date)."""
    return bool(invoice.deposit_amount) and invoice.applied < (invoice.deposit_amount or 0)


def amount_due(invoice: Invoice) -> Decimal:
    """What the client should pay now: an unpaid deposit first, else the balance."""
    if invoice.status not in OPEN_STATUSES:
        return Decimal(0)
    if invoice.deposit_amount is not None and deposit_outstanding(invoice):
        return invoice.deposit_amount - invoice.applied
    return invoice.balance


async def create_invoice_from_quote(
    work: UnitOfWork, *, actor: Principal, quote: Quote, issue_date: date
) -> Invoice:
    """A sent, numbered invoice for an approved ``quote``, ready to pay: the quote's
    client, project, currency, PO number, public notes and lines, with the amounts the
    client approved copied as they are (not recomputed), linked back by ``quote_id``;
    issued by :func:`issue_invoice` (not mailed: the client is in the portal).

    The caller holds the quote's row lock and marks the quote converted in the same
    transaction, so a quote converts at most once."""
    session = work.session
    lines = (
        await session.exec(
            select(QuoteLine).where(QuoteLine.quote_id == quote.id).order_by(QuoteLine.position)  # type: ignore[arg-type]
        )
    ).all()
    invoice = Invoice(
        account_id=quote.account_id,
        client_id=quote.client_id,
        project_id=quote.project_id,
        quote_id=quote.id,
        currency=quote.currency,
        issue_date=issue_date,
        po_number=quote.po_number,
        public_notes=quote.public_notes,
        subtotal=quote.subtotal,
        discount_total=quote.discount_total,
        tax_total=quote.tax_total,
        total=quote.total,
    )
    session.add(invoice)
    await session.flush()
    session.add_all(copy_lines(lines, InvoiceLine, invoice_id=invoice.id))
    return await issue_invoice(
        work,
        invoice,
        actor=actor,
        source=IssueSource.QUOTE,
        quote=quote,
    )
