"""Invoices: drafts, sending (with gap-free numbering), voiding.

Each public function is one state change and records its activity entry and outbox
event in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.accounts import Account
from models.enums import InvoiceStatus
from models.invoices import Invoice, InvoiceLine
from models.types import utcnow
from services import activity
from services.access import access_client, access_invoice, invoice_scope
from services.errors import BadInput, Conflict
from services.lines import LineData, replace_lines
from services.money import check_amount, validate_currency
from services.pagination import Page, paginate
from services.validation import optional_text

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
    """Open, with a balance, and past its due date."""
    today = today or utcnow().date()
    return (
        invoice.status in OPEN_STATUSES
        and invoice.balance > 0
        and invoice.due_date is not None
        and invoice.due_date < today
    )


async def list_invoices(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: InvoiceFilter,
    first: int | None,
    after: str | None,
) -> Page[Invoice]:
    statement = select(Invoice).where(*invoice_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(Invoice.client_id == filters.client_id)
    if filters.statuses:
        statement = statement.where(Invoice.status.in_(filters.statuses))  # type: ignore[attr-defined]
    if filters.overdue is not None:
        today = utcnow().date()
        overdue = (
            Invoice.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
            & col(Invoice.due_date).is_not(None)
            & (Invoice.due_date < today)  # type: ignore[operator]
            & (Invoice.total - Invoice.amount_paid - Invoice.credits_applied > 0)
        )
        statement = statement.where(overdue if filters.overdue else ~overdue)
    return await paginate(session, statement, Invoice, first=first, after=after)


def _apply(invoice: Invoice, data: InvoiceData) -> None:
    if data.issue_date is not None:
        invoice.issue_date = data.issue_date
    if data.due_date is not None:
        invoice.due_date = data.due_date
    if data.deposit_due_date is not None:
        invoice.deposit_due_date = data.deposit_due_date
    if data.po_number is not None:
        invoice.po_number = optional_text(data.po_number, field="poNumber", max_length=100)
    if data.public_notes is not None:
        invoice.public_notes = optional_text(
            data.public_notes, field="publicNotes", max_length=10000
        )
    if data.private_notes is not None:
        invoice.private_notes = optional_text(
            data.private_notes, field="privateNotes", max_length=10000
        )
    if data.terms is not None:
        invoice.terms = optional_text(data.terms, field="terms", max_length=10000)
    if invoice.issue_date and invoice.due_date and invoice.due_date < invoice.issue_date:
        raise BadInput("The due date cannot be before the issue date.", field="dueDate")


def _check_deposit(invoice: Invoice, deposit: Decimal | None) -> None:
    if deposit is None:
        return
    amount = check_amount(deposit, invoice.currency, field="depositAmount")
    if amount > invoice.total:
        raise BadInput("The deposit cannot exceed the invoice total.", field="depositAmount")
    invoice.deposit_amount = amount or None


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
        currency=currency,
        issue_date=utcnow().date(),
        created_by_id=actor.user_id,
    )
    _apply(invoice, data)
    session.add(invoice)
    await session.flush()
    await replace_lines(session, InvoiceLine, "invoice_id", invoice, data.lines or [])
    _check_deposit(invoice, data.deposit_amount)
    activity.record(
        session,
        account_id=actor.account_id,
        actor=actor,
        verb="invoice.created",
        subject_type="invoice",
        subject_id=invoice.id,
        client_id=client.id,
        visible_to_client=False,
    )
    return invoice


async def update_invoice(
    *, session: AsyncSession, actor: StaffPrincipal, invoice_id: uuid.UUID, data: InvoiceData
) -> Invoice:
    invoice = await access_invoice(session, actor, invoice_id, lock=True)
    if invoice.status is InvoiceStatus.VOID:
        raise Conflict("A void invoice cannot be edited.")
    account = await session.get(Account, actor.account_id)
    locked = invoice.status is not InvoiceStatus.DRAFT and (
        account is None or account.lock_sent_invoices
    )
    if locked:
        raise Conflict("This invoice was sent; editing is locked by the account's settings.")
    if data.client_id is not None and data.client_id != invoice.client_id:
        client = await access_client(session, actor, data.client_id)
        invoice.client_id = client.id
    if data.currency is not None:
        invoice.currency = validate_currency(data.currency)
    _apply(invoice, data)
    if data.lines is not None or data.currency is not None:
        lines = data.lines if data.lines is not None else await _current_lines(session, invoice)
        await replace_lines(session, InvoiceLine, "invoice_id", invoice, lines)
    if invoice.total < invoice.amount_paid + invoice.credits_applied:
        raise Conflict("The new total is below what has already been paid.", field="lines")
    _check_deposit(
        invoice, data.deposit_amount if data.deposit_amount is not None else invoice.deposit_amount
    )
    invoice.updated_at = utcnow()
    activity.record(
        session,
        account_id=actor.account_id,
        actor=actor,
        verb="invoice.updated",
        subject_type="invoice",
        subject_id=invoice.id,
        client_id=invoice.client_id,
        visible_to_client=False,
        event_topic="invoice" if invoice.status is not InvoiceStatus.DRAFT else None,
    )
    return invoice


async def _current_lines(session: AsyncSession, invoice: Invoice) -> list[LineData]:
    rows = (
        await session.exec(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice.id)
            .order_by(InvoiceLine.position)  # type: ignore[arg-type]
        )
    ).all()
    return [
        LineData(
            description=row.description,
            quantity=row.quantity,
            unit_price=row.unit_price,
            discount_percent=row.discount_percent,
            tax_rate=row.tax_rate,
            tax_name=row.tax_name,
            unit_cost=row.unit_cost,
        )
        for row in rows
    ]


async def next_number(session: AsyncSession, account_id: uuid.UUID, kind: str) -> str:
    """The next document number of ``kind`` (``invoice``, ``quote``, ``credit``).

    One atomic ``UPDATE ... RETURNING`` on the account row: concurrent senders queue on
    the row lock, and a rolled-back send gives its number back, so numbers have neither
    gaps nor duplicates.
    """
    counter = getattr(Account, f"next_{kind}_number")
    prefix = getattr(Account, f"{kind}_number_prefix")
    result = await session.exec(
        update(Account)
        .where(Account.id == account_id)  # type: ignore[arg-type]
        .values({counter: counter + 1})
        .returning(prefix, counter - 1)
    )
    row = result.one()
    return f"{row[0]}{int(row[1]):04d}"


async def send_invoice(
    *, session: AsyncSession, actor: StaffPrincipal, invoice_id: uuid.UUID
) -> Invoice:
    """Mark an invoice sent, numbering it on its first send. (Mailing it to the client's
    contacts comes with the portal-access mail.)"""
    invoice = await access_invoice(session, actor, invoice_id, lock=True)
    if invoice.status is InvoiceStatus.VOID:
        raise Conflict("A void invoice cannot be sent.")
    if invoice.total <= 0:
        raise Conflict("An invoice needs a total above zero to be sent.")
    if invoice.number is None:
        invoice.number = await next_number(session, actor.account_id, "invoice")
    now = utcnow()
    if invoice.status is InvoiceStatus.DRAFT:
        invoice.status = InvoiceStatus.SENT
        invoice.issue_date = invoice.issue_date or now.date()
    invoice.sent_at = now
    invoice.updated_at = now
    activity.record(
        session,
        account_id=actor.account_id,
        actor=actor,
        verb="invoice.sent",
        subject_type="invoice",
        subject_id=invoice.id,
        client_id=invoice.client_id,
        details={"number": invoice.number},
        event_topic="invoice",
    )
    return invoice


async def void_invoice(
    *, session: AsyncSession, actor: StaffPrincipal, invoice_id: uuid.UUID
) -> Invoice:
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
    activity.record(
        session,
        account_id=actor.account_id,
        actor=actor,
        verb="invoice.voided",
        subject_type="invoice",
        subject_id=invoice.id,
        client_id=invoice.client_id,
        details={"number": invoice.number},
        visible_to_client=previous is not InvoiceStatus.DRAFT,
        event_topic="invoice" if previous is not InvoiceStatus.DRAFT else None,
    )
    return invoice


def settle_status(invoice: Invoice) -> None:
    """Move an open invoice to PARTIAL or PAID (or back) after money was applied."""
    if invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        return
    applied = invoice.amount_paid + invoice.credits_applied
    if applied >= invoice.total:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = invoice.paid_at or utcnow()
    elif applied > 0:
        invoice.status = InvoiceStatus.PARTIAL
        invoice.paid_at = None
    else:
        invoice.status = InvoiceStatus.VIEWED if invoice.viewed_at else InvoiceStatus.SENT
        invoice.paid_at = None


def amount_due(invoice: Invoice) -> Decimal:
    """What the client should pay now: an unpaid deposit first, else the balance."""
    if invoice.status not in OPEN_STATUSES:
        return Decimal(0)
    applied = invoice.amount_paid + invoice.credits_applied
    if invoice.deposit_amount and applied < invoice.deposit_amount:
        return invoice.deposit_amount - applied
    return invoice.balance
