"""Issuing a schedule's due invoices: one invoice per period, oldest first, each issued
by :func:`services.invoices.issue_invoice` (numbered, recorded and mailed like a sent
invoice), and the schedule advanced past them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.auto_bill import InvoiceAutoBill
from models.clients import Client
from models.enums import RecurringStatus
from models.invoices import Invoice, InvoiceLine
from models.recurring import RecurringInvoice, RecurringInvoiceLine
from models.types import utcnow
from services.errors import Conflict
from services.events import recurring as schedule_events
from services.events.invoices import IssueSource
from services.invoices import issue_invoice
from services.lines import LineData, build_lines, stored_lines
from services.recurring.periods import next_period_after
from services.recurring.schedules import charges_automatically, pause
from services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class IssuedInvoice:
    """One invoice the scheduler issued. ``charge_automatically``: the schedule's
    auto-bill setting asks for the invoice to be charged to the client's saved payment
    method (its :class:`models.auto_bill.InvoiceAutoBill` row is issued with it; the
    charge is :mod:`services.stripe_gateway.auto_bill`'s)."""

    account_id: uuid.UUID
    recurring_invoice_id: uuid.UUID
    invoice_id: uuid.UUID
    number: str
    period: date
    charge_automatically: bool


async def issue_due_invoices(
    work: UnitOfWork, *, recurring: RecurringInvoice, today: date
) -> list[IssuedInvoice]:
    """Issue one SENT, numbered invoice for every period of ``recurring`` due by
    ``today``, oldest first, and advance the schedule past them.

    The caller holds the schedule's row lock in the transaction that commits the result
    (see :func:`services.recurring.scheduler.generate_due_invoices`). A period that already has its
    invoice is skipped; the ``UNIQUE (recurring_invoice_id, recurring_period)`` constraint
    refuses a second one should two writers ever get this far. A schedule whose client
    was archived is paused instead.
    """
    session = work.session
    issued: list[IssuedInvoice] = []
    if recurring.status is not RecurringStatus.ACTIVE:
        return issued
    client = await session.get(Client, recurring.client_id)
    if client is None or client.archived_at is not None:
        pause(session, recurring, None, reason="client_archived")
        return issued
    lines = await stored_lines(session, RecurringInvoiceLine, "recurring_invoice_id", recurring.id)
    now = utcnow()
    while (
        recurring.status is RecurringStatus.ACTIVE
        and recurring.next_send_date is not None
        and recurring.next_send_date <= today
    ):
        period = recurring.next_send_date
        if not await _period_issued(session, recurring.id, period):
            issued.append(await _issue(work, recurring, period, lines, now))
            if recurring.remaining_cycles is not None:
                recurring.remaining_cycles -= 1
        if recurring.remaining_cycles is not None and recurring.remaining_cycles <= 0:
            recurring.remaining_cycles = 0
            recurring.status = RecurringStatus.COMPLETED
            recurring.next_send_date = None
            schedule_events.completed(session, recurring)
        else:
            recurring.next_send_date = next_period_after(
                recurring.start_date, recurring.frequency, period
            )
    if issued:
        recurring.last_sent_at = now
        recurring.updated_at = now
    return issued


async def _period_issued(session: AsyncSession, recurring_id: uuid.UUID, period: date) -> bool:
    found = (
        await session.exec(
            select(Invoice.id).where(
                Invoice.recurring_invoice_id == recurring_id,
                Invoice.recurring_period == period,
            )
        )
    ).first()
    return found is not None


async def _issue(
    work: UnitOfWork,
    recurring: RecurringInvoice,
    period: date,
    lines: list[LineData],
    now: datetime,
) -> IssuedInvoice:
    """The invoice of one period, issued (:func:`services.invoices.issue_invoice`: numbered,
    recorded and mailed like a sent invoice)."""
    session = work.session
    invoice = Invoice(
        account_id=recurring.account_id,
        client_id=recurring.client_id,
        recurring_invoice_id=recurring.id,
        recurring_period=period,
        currency=recurring.currency,
        issue_date=period,
        due_date=period + timedelta(days=recurring.due_days),
        po_number=recurring.po_number,
        public_notes=recurring.public_notes,
        private_notes=recurring.private_notes,
        terms=recurring.terms,
    )
    rows = build_lines(InvoiceLine, "invoice_id", invoice, lines)
    if invoice.total <= 0:
        raise Conflict("A recurring invoice needs a total above zero.", field="lines")
    session.add(invoice)
    await session.flush()  # a second invoice for this period fails here (UNIQUE)
    session.add_all(rows)
    await issue_invoice(work, invoice, actor=None, source=IssueSource.SCHEDULE)
    assert invoice.number is not None  # noqa: S101 - issue_invoice numbers it
    automatic = charges_automatically(recurring)
    schedule_events.generated(session, recurring, invoice, charge_automatically=automatic)
    if automatic:
        # charged after this commits (services.stripe_gateway.auto_bill), with the
        # schedule's payment method, else the client's default; the row is made here so
        # the invoice is charged even if the process stops right after the commit
        session.add(
            InvoiceAutoBill(
                invoice_id=invoice.id,
                account_id=invoice.account_id,
                client_id=invoice.client_id,
                recurring_invoice_id=recurring.id,
                next_attempt_at=datetime.combine(period, time.min, UTC),  # its issue day
            )
        )
    return IssuedInvoice(
        account_id=recurring.account_id,
        recurring_invoice_id=recurring.id,
        invoice_id=invoice.id,
        number=invoice.number,
        period=period,
        charge_automatically=automatic,
    )
