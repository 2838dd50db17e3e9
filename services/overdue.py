"""Invoices passing their due date: the scheduler records ``invoice.overdue`` once per
invoice, the first run after it becomes overdue (:func:`services.invoices.is_overdue`:
past its due date, or its deposit's, with a balance). Partners and subscribers receive
it like any invoice event; ``overdue_recorded_at`` keeps it from being recorded twice,
also when several instances run the scheduler at once (rows are claimed with
``FOR UPDATE SKIP LOCKED``; SQLite serialises the writers)."""

from __future__ import annotations

from datetime import date

from sqlmodel import col, select

from models.invoices import Invoice
from models.types import utcnow
from services.events import invoices as invoice_events
from services.invoices import overdue_condition
from services.runtime import Runtime
from services.unit_of_work import unit_of_work

BATCH = 200


async def record_overdue_invoices(runtime: Runtime, *, today: date) -> int:
    """Record every newly overdue invoice (in batches, one unit of work each); returns
    how many were recorded."""
    recorded = 0
    while True:
        async with unit_of_work(runtime) as work:
            statement = (
                select(Invoice)
                .where(overdue_condition(today), col(Invoice.overdue_recorded_at).is_(None))
                .order_by(col(Invoice.due_date), col(Invoice.id))
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            invoices = (await work.session.exec(statement)).all()
            now = utcnow()
            for invoice in invoices:
                invoice.overdue_recorded_at = now
                invoice_events.overdue(work.session, invoice)
        recorded += len(invoices)
        if len(invoices) < BATCH:
            return recorded
