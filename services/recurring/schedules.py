"""Recurring invoices: schedules that issue an invoice every period.

Life of a schedule: created as a DRAFT (invisible to the client), started (ACTIVE, its
first invoice due on the start date), PAUSED and resumed any number of times, COMPLETED
when its last cycle was issued. The scheduler (:mod:`services.recurring.scheduler`)
calls :func:`services.recurring.issuing.issue_due_invoices` for every ACTIVE schedule
whose next send date has come.

Decisions a user can rely on:

- Send dates are anchored to the start date (:mod:`services.recurring.periods`), so a schedule
  that starts on Jan 31 sends on Feb 28/29, Mar 31, Apr 30, ...
- A start date cannot lie in the past: a schedule never back-fills invoices for periods
  before it was started.
- After downtime the scheduler catches up: every missed period gets its own invoice,
  oldest first, dated (issue date and period) as it would have been on time.
- Pausing clears the next send date; resuming continues with the first period on or
  after the day of resuming. Periods that fell while paused are not issued later.
- ``remaining_cycles`` counts invoices still to issue (``None``: no end); issuing the
  last one completes the schedule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from models.enums import AutoBill, Frequency, RecurringStatus
from models.invoices import Invoice
from models.recurring import RecurringInvoice, RecurringInvoiceLine
from models.types import utcnow
from services.access import access_client, access_recurring_invoice, recurring_invoice_scope
from services.errors import BadInput, Conflict, Forbidden
from services.events import recurring as schedule_events
from services.lines import LineData, replace_lines, stored_lines
from services.money import validate_currency
from services.pagination import Page, decode_cursor, page_of, page_size
from services.pagination import paginate as paginate_statement
from services.recurring.periods import first_period_on_or_after, schedule_dates
from services.validation import apply_document_texts

CLIENT_CHOICE_POLICIES = (AutoBill.OPT_IN, AutoBill.OPT_OUT)
"""The auto-bill policies under which the client's own choice counts."""


MAX_CYCLES = 1000


MAX_DUE_DAYS = 365


MAX_START_AHEAD = timedelta(days=5 * 366)


MAX_UPCOMING = 24


@dataclass(slots=True)
class RecurringInvoiceFilter:
    client_id: uuid.UUID | None = None
    statuses: list[RecurringStatus] = field(default_factory=list)


@dataclass(slots=True)
class RecurringData:
    """Fields of a schedule; in an update ``None`` leaves a field unchanged, ``lines``
    (when given) replaces every line, and ``remaining_cycles`` is applied only when
    ``remaining_cycles_given`` (there ``None`` means: no end)."""

    client_id: uuid.UUID | None = None
    currency: str | None = None
    frequency: Frequency | None = None
    start_date: date | None = None
    remaining_cycles: int | None = None
    remaining_cycles_given: bool = False
    auto_bill: AutoBill | None = None
    due_days: int | None = None
    po_number: str | None = None
    public_notes: str | None = None
    private_notes: str | None = None
    terms: str | None = None
    lines: list[LineData] | None = None


async def list_recurring_invoices(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: RecurringInvoiceFilter,
    first: int | None,
    after: str | None,
) -> Page[RecurringInvoice]:
    statement = select(RecurringInvoice).where(*recurring_invoice_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(RecurringInvoice.client_id == filters.client_id)
    if filters.statuses:
        statement = statement.where(
            RecurringInvoice.status.in_(filters.statuses)  # type: ignore[attr-defined]
        )
    return await paginate_statement(session, statement, RecurringInvoice, first=first, after=after)


def client_may_choose_auto_bill(recurring: RecurringInvoice) -> bool:
    """Whether the client's contact may switch automatic billing on or off."""
    return (
        recurring.auto_bill in CLIENT_CHOICE_POLICIES
        and recurring.status is not RecurringStatus.COMPLETED
    )


def charges_automatically(recurring: RecurringInvoice) -> bool:
    """Whether each invoice issued will be charged automatically: always under ALWAYS,
    never under OFF, and as the client chose under OPT_IN/OPT_OUT."""
    if recurring.auto_bill is AutoBill.ALWAYS:
        return True
    return recurring.auto_bill in CLIENT_CHOICE_POLICIES and recurring.auto_bill_enabled


def charges_automatically_condition() -> ColumnElement[bool]:
    """:func:`charges_automatically` as a SQL condition on ``recurring_invoice``."""
    return or_(
        col(RecurringInvoice.auto_bill) == AutoBill.ALWAYS,
        and_(
            col(RecurringInvoice.auto_bill).in_(CLIENT_CHOICE_POLICIES),
            col(RecurringInvoice.auto_bill_enabled).is_(True),
        ),
    )


def upcoming_send_dates(recurring: RecurringInvoice, count: int) -> list[date]:
    """The next ``count`` send dates of an ACTIVE schedule (fewer when its remaining
    cycles end sooner; none when it is not active). The first is always its
    ``next_send_date``, the rest follow as :func:`issue_due_invoices` advances it
    (:func:`services.recurring.periods.schedule_dates`)."""
    if count < 0 or count > MAX_UPCOMING:
        raise BadInput(f"count must be between 0 and {MAX_UPCOMING}.", field="count")
    if recurring.status is not RecurringStatus.ACTIVE or recurring.next_send_date is None:
        return []
    if recurring.remaining_cycles is not None:
        count = min(count, recurring.remaining_cycles)
    dates = schedule_dates(recurring.start_date, recurring.frequency, recurring.next_send_date)
    return list(islice(dates, count))


def invoices_page(
    invoices: list[Invoice], *, first: int | None, after: str | None
) -> Page[Invoice]:
    """One page, newest first, of a schedule's invoices already loaded (and scoped) by a
    batch loader; same cursors and order as every other list."""
    size = page_size(first)
    rows = sorted(invoices, key=lambda row: (row.created_at, row.id), reverse=True)
    total = len(rows)
    if after:
        created_at, row_id = decode_cursor(after)
        rows = [row for row in rows if (row.created_at, row.id) < (created_at, row_id)]
    return page_of(rows, size=size, after=after, total=total)


def _check_start_date(start: date, today: date) -> date:
    if start < today:
        raise BadInput("The start date cannot be in the past.", field="startDate")
    if start > today + MAX_START_AHEAD:
        raise BadInput("The start date is too far ahead.", field="startDate")
    return start


def _apply(recurring: RecurringInvoice, data: RecurringData) -> None:
    """The fields any schedule that is not completed may change."""
    if data.remaining_cycles_given:
        cycles = data.remaining_cycles
        if cycles is not None and not 1 <= cycles <= MAX_CYCLES:
            raise BadInput(
                f"Remaining cycles must be between 1 and {MAX_CYCLES} (or none: no end).",
                field="remainingCycles",
            )
        recurring.remaining_cycles = cycles
    if data.due_days is not None:
        if not 0 <= data.due_days <= MAX_DUE_DAYS:
            raise BadInput(f"Due days must be between 0 and {MAX_DUE_DAYS}.", field="dueDays")
        recurring.due_days = data.due_days
    if data.auto_bill is not None and data.auto_bill is not recurring.auto_bill:
        recurring.auto_bill = data.auto_bill
        # the client's choice starts at the new policy's default
        recurring.auto_bill_enabled = data.auto_bill is AutoBill.OPT_OUT
    apply_document_texts(recurring, data)


async def create_recurring_invoice(
    *, session: AsyncSession, actor: StaffPrincipal, data: RecurringData
) -> RecurringInvoice:
    """A DRAFT schedule; nothing is issued until it is started."""
    if data.client_id is None:
        raise BadInput("This field is required.", field="clientId")
    client = await access_client(session, actor, data.client_id)
    if client.archived_at is not None:
        raise Conflict("Archived clients cannot be invoiced.", field="clientId")
    today = utcnow().date()
    auto_bill = data.auto_bill or AutoBill.OFF
    recurring = RecurringInvoice(
        account_id=actor.account_id,
        client_id=client.id,
        currency=validate_currency(data.currency or client.currency),
        frequency=data.frequency or Frequency.MONTHLY,
        start_date=_check_start_date(data.start_date or today, today),
        auto_bill=auto_bill,
        auto_bill_enabled=auto_bill is AutoBill.OPT_OUT,
        created_by_id=actor.user_id,
    )
    _apply(recurring, data)
    session.add(recurring)
    await session.flush()
    await replace_lines(
        session, RecurringInvoiceLine, "recurring_invoice_id", recurring, data.lines or []
    )
    schedule_events.created(session, recurring, actor)
    return recurring


async def update_recurring_invoice(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    recurring_invoice_id: uuid.UUID,
    data: RecurringData,
) -> RecurringInvoice:
    """Change a schedule. Client, currency and start date are fixed once it has started;
    a new frequency takes effect from the next period (on the start date's anchor);
    new lines apply to the invoices issued from now on."""
    recurring = await access_recurring_invoice(session, actor, recurring_invoice_id, lock=True)
    if recurring.status is RecurringStatus.COMPLETED:
        raise Conflict("This recurring invoice has completed its schedule.")
    draft = recurring.status is RecurringStatus.DRAFT
    today = utcnow().date()
    if data.client_id is not None and data.client_id != recurring.client_id:
        if not draft:
            raise Conflict("The client of a started schedule cannot change.", field="clientId")
        client = await access_client(session, actor, data.client_id)
        if client.archived_at is not None:
            raise Conflict("Archived clients cannot be invoiced.", field="clientId")
        recurring.client_id = client.id
    if data.currency is not None:
        currency = validate_currency(data.currency)
        if currency != recurring.currency and not draft:
            raise Conflict("The currency of a started schedule cannot change.", field="currency")
        recurring.currency = currency
    if data.start_date is not None and data.start_date != recurring.start_date:
        if not draft:
            raise Conflict("The start date of a started schedule cannot change.", field="startDate")
        recurring.start_date = _check_start_date(data.start_date, today)
    reschedule = data.frequency is not None and data.frequency is not recurring.frequency
    if data.frequency is not None:
        recurring.frequency = data.frequency
    _apply(recurring, data)
    if data.lines is not None or data.currency is not None:
        lines = (
            data.lines
            if data.lines is not None
            else await stored_lines(
                session, RecurringInvoiceLine, "recurring_invoice_id", recurring.id
            )
        )
        await replace_lines(session, RecurringInvoiceLine, "recurring_invoice_id", recurring, lines)
    if not draft and recurring.total <= 0:
        raise Conflict("A started schedule needs a total above zero.", field="lines")
    if reschedule and recurring.status is RecurringStatus.ACTIVE:
        recurring.next_send_date = await _first_open_period(session, recurring, today)
    recurring.updated_at = utcnow()
    schedule_events.updated(session, recurring, actor)
    return recurring


async def start_recurring_invoice(
    *, session: AsyncSession, actor: StaffPrincipal, recurring_invoice_id: uuid.UUID
) -> RecurringInvoice:
    """DRAFT -> ACTIVE: the first invoice is issued on the start date."""
    recurring = await access_recurring_invoice(session, actor, recurring_invoice_id, lock=True)
    if recurring.status is not RecurringStatus.DRAFT:
        raise Conflict("Only a draft schedule can be started; resume a paused one.")
    if recurring.total <= 0:
        raise Conflict("A recurring invoice needs a total above zero to start.", field="lines")
    client = await access_client(session, actor, recurring.client_id)
    if client.archived_at is not None:
        raise Conflict("Archived clients cannot be invoiced.", field="clientId")
    today = utcnow().date()
    if recurring.start_date < today:
        raise Conflict(
            "The start date has passed; choose today or a later date first.", field="startDate"
        )
    recurring.status = RecurringStatus.ACTIVE
    recurring.next_send_date = recurring.start_date
    recurring.updated_at = utcnow()
    schedule_events.started(session, recurring, actor)
    return recurring


async def pause_recurring_invoice(
    *, session: AsyncSession, actor: StaffPrincipal, recurring_invoice_id: uuid.UUID
) -> RecurringInvoice:
    """ACTIVE -> PAUSED: nothing is issued until it is resumed."""
    recurring = await access_recurring_invoice(session, actor, recurring_invoice_id, lock=True)
    if recurring.status is RecurringStatus.PAUSED:
        return recurring
    if recurring.status is not RecurringStatus.ACTIVE:
        raise Conflict("Only an active schedule can be paused.")
    pause(session, recurring, actor)
    return recurring


def pause(
    session: AsyncSession,
    recurring: RecurringInvoice,
    actor: Principal | None,
    reason: str | None = None,
) -> None:
    now = utcnow()
    recurring.status = RecurringStatus.PAUSED
    recurring.next_send_date = None
    recurring.paused_at = now
    recurring.updated_at = now
    schedule_events.paused(session, recurring, actor, reason=reason)


async def resume_recurring_invoice(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    recurring_invoice_id: uuid.UUID,
    today: date | None = None,
) -> RecurringInvoice:
    """PAUSED -> ACTIVE with the first period on or after ``today`` (default: the UTC
    date) that has not been issued; periods that fell while paused are skipped, not
    issued late."""
    recurring = await access_recurring_invoice(session, actor, recurring_invoice_id, lock=True)
    if recurring.status is RecurringStatus.ACTIVE:
        return recurring
    if recurring.status is not RecurringStatus.PAUSED:
        raise Conflict("Only a paused schedule can be resumed.")
    client = await access_client(session, actor, recurring.client_id)
    if client.archived_at is not None:
        raise Conflict("Archived clients cannot be invoiced.", field="clientId")
    if recurring.total <= 0:
        raise Conflict("A recurring invoice needs a total above zero.", field="lines")
    recurring.status = RecurringStatus.ACTIVE
    recurring.paused_at = None
    recurring.next_send_date = await _first_open_period(
        session, recurring, today or utcnow().date()
    )
    recurring.updated_at = utcnow()
    schedule_events.resumed(session, recurring, actor)
    return recurring


async def delete_recurring_invoice(
    *, session: AsyncSession, actor: StaffPrincipal, recurring_invoice_id: uuid.UUID
) -> uuid.UUID:
    """Delete a DRAFT schedule (a started one has issued invoices: pause it instead)."""
    recurring = await access_recurring_invoice(session, actor, recurring_invoice_id, lock=True)
    if recurring.status is not RecurringStatus.DRAFT:
        raise Conflict("Only a draft schedule can be deleted; pause a started one.")
    schedule_events.deleted(session, recurring, actor)
    await session.delete(recurring)  # its lines go with it (ON DELETE CASCADE)
    await session.flush()
    return recurring.id


async def _last_issued_period(session: AsyncSession, recurring_id: uuid.UUID) -> date | None:
    latest: date | None = (
        await session.exec(
            select(func.max(Invoice.recurring_period)).where(
                Invoice.recurring_invoice_id == recurring_id
            )
        )
    ).one()
    return latest


async def _first_open_period(
    session: AsyncSession, recurring: RecurringInvoice, today: date
) -> date:
    """The first period on or after ``today`` that has not been issued yet."""
    earliest = max(today, recurring.start_date)
    last = await _last_issued_period(session, recurring.id)
    if last is not None:
        earliest = max(earliest, last + timedelta(days=1))
    return first_period_on_or_after(recurring.start_date, recurring.frequency, earliest)


async def set_auto_bill(
    *,
    session: AsyncSession,
    actor: ContactPrincipal,
    recurring_invoice_id: uuid.UUID,
    enabled: bool,
) -> RecurringInvoice:
    """The contact's choice to have each issued invoice charged automatically. Only
    schedules whose policy is ``OPT_IN`` or ``OPT_OUT`` leave the choice to the client;
    choosing what is already chosen changes (and records) nothing."""
    if actor.read_only:
        raise Forbidden()
    recurring = await access_recurring_invoice(session, actor, recurring_invoice_id, lock=True)
    if recurring.auto_bill not in CLIENT_CHOICE_POLICIES:
        raise Conflict("Automatic billing of this recurring invoice is set by the business.")
    if recurring.status is RecurringStatus.COMPLETED:
        raise Conflict("This recurring invoice has completed its schedule.")
    if recurring.auto_bill_enabled == enabled:
        return recurring
    recurring.auto_bill_enabled = enabled
    recurring.updated_at = utcnow()
    schedule_events.auto_bill_changed(session, recurring, actor)
    return recurring
