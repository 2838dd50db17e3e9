"""The recurring-invoice job: issue every invoice that has come due, exactly once.

Safe to run from any number of server instances at the same time, and as often as
wanted (a run that finds nothing due does nothing):

- each schedule is handled in its own transaction, which first takes the schedule's row
  lock with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL) and re-checks that it is
  still due: an instance never waits for, nor repeats, what another one is doing;
- the invoices of one schedule and the schedule's advance commit together, so a crash
  leaves either both or neither;
- ``UNIQUE (recurring_invoice_id, recurring_period)`` is the last guard: a second invoice
  for a period fails, its transaction is rolled back and the run moves on;
- invoice numbers come from the account's counter under its row lock, so they stay
  gap-free across instances (a rolled-back transaction gives its numbers back).

SQLite ignores ``FOR UPDATE``; there each schedule's transaction takes the database's
write lock when it begins (``BEGIN IMMEDIATE``, see :mod:`services.db`), so concurrent
runs take turns and each re-checks, under the lock, that its schedule is still due.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

import structlog
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.enums import RecurringStatus
from models.recurring import RecurringInvoice
from services.recurring.issuing import IssuedInvoice, issue_due_invoices
from services.runtime import Runtime
from services.unit_of_work import unit_of_work

log = structlog.get_logger("portico.scheduler")


@dataclass(slots=True)
class SchedulerRun:
    """What one run did."""

    today: date
    issued: list[IssuedInvoice] = field(default_factory=list)
    skipped: int = 0
    """Schedules another instance was working on, or no longer due when locked."""
    conflicts: list[uuid.UUID] = field(default_factory=list)
    """Schedules whose transaction hit the one-invoice-per-period constraint."""
    failed: list[uuid.UUID] = field(default_factory=list)
    """Schedules whose transaction failed otherwise (retried on the next run)."""
    overdue: int = 0
    """Invoices recorded overdue by the run (:mod:`services.overdue`)."""
    auto_bill_attempts: int = 0
    """Automatic charges the run tried (:mod:`services.stripe_gateway.auto_bill`)."""
    subscription_invoices: int = 0
    """Subscription periods the run invoiced (:mod:`services.subscriptions.renewals`)."""
    prepayment_charges: int = 0
    """Recurring pre-payment charges the run tried, those that went through and those
    declined (:mod:`services.stripe_gateway.prepayments`), like ``auto_bill_attempts``."""
    orphaned_files: int = 0
    """Stored files no row named, deleted by the run (:mod:`services.orphaned_files`)."""

    @property
    def to_charge(self) -> list[IssuedInvoice]:
        """Issued invoices to charge automatically (each has its auto-bill row)."""
        return [item for item in self.issued if item.charge_automatically]


def _due(today: date) -> list[object]:
    return [
        RecurringInvoice.status == RecurringStatus.ACTIVE,
        col(RecurringInvoice.next_send_date).is_not(None),
        col(RecurringInvoice.next_send_date) <= today,
    ]


async def due_recurring_invoice_ids(session: AsyncSession, today: date) -> list[uuid.UUID]:
    """Every ACTIVE schedule with a send date on or before ``today``, most overdue first."""
    statement = (
        select(RecurringInvoice.id)
        .where(*_due(today))  # type: ignore[arg-type]
        .order_by(col(RecurringInvoice.next_send_date), col(RecurringInvoice.id))
    )
    return list((await session.exec(statement)).all())


async def generate_due_invoices(runtime: Runtime, *, today: date) -> SchedulerRun:
    """Issue the invoices of every period due by ``today`` (including periods missed
    while no scheduler ran), one unit of work per schedule: each issued invoice is
    mailed like a sent invoice once its schedule's transaction commits."""
    run = SchedulerRun(today=today)
    async with runtime.sessions() as session:
        candidates = await due_recurring_invoice_ids(session, today)
    for recurring_id in candidates:
        try:
            issued = await _generate_one(runtime, recurring_id, today)
        except IntegrityError:
            log.warning("recurring_period_conflict", recurring_invoice_id=str(recurring_id))
            run.conflicts.append(recurring_id)
            continue
        except Exception:
            log.exception("recurring_generation_failed", recurring_invoice_id=str(recurring_id))
            run.failed.append(recurring_id)
            continue
        if issued is None:
            run.skipped += 1
            continue
        run.issued.extend(issued)
    if run.issued or run.failed or run.conflicts:
        log.info(
            "recurring_invoices_generated",
            today=today.isoformat(),
            issued=len(run.issued),
            skipped=run.skipped,
            conflicts=len(run.conflicts),
            failed=len(run.failed),
        )
    return run


async def _generate_one(
    runtime: Runtime, recurring_id: uuid.UUID, today: date
) -> list[IssuedInvoice] | None:
    """One schedule in its own unit of work; ``None`` when it is locked by another
    instance or no longer due."""
    async with unit_of_work(runtime) as work:
        statement = (
            select(RecurringInvoice)
            .where(RecurringInvoice.id == recurring_id, *_due(today))  # type: ignore[arg-type]
            .with_for_update(skip_locked=True)
        )
        recurring = (await work.session.exec(statement)).one_or_none()
        if recurring is None:
            return None
        return await issue_due_invoices(work, recurring=recurring, today=today)
