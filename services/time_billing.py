"""Billing time: ``invoiceTimeLogs`` turns a project's billable, unbilled time into
invoice lines, once.

Each log becomes one line: quantity = its hours (:func:`services.time_logs.hours`),
unit price = its rate, amount = quantity x rate rounded half up to the currency's minor
unit (the rule of :mod:`services.money`), all in :class:`~decimal.Decimal`; the line
keeps the log's id. The lines go on a new draft invoice of the project's client (or
after the lines of a draft of that client that is named), and the logs are marked
invoiced with that invoice in the same transaction, by a conditional update that counts
what it marked: a second call (or a concurrent one) finds nothing left to bill and is
refused, never billing a log twice.
"""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import StaffPrincipal
from models.enums import InvoiceStatus
from models.invoices import Invoice, InvoiceLine
from models.time_logs import TimeLog
from models.types import utcnow
from services.access import access_client, access_invoice, access_project
from services.errors import BadInput, Conflict
from services.events import invoices as invoice_events
from services.events import time_logs as time_log_events
from services.events.invoices import InvoiceOrigin
from services.lines import LineData, append_lines
from services.time_logs import hours


def _line(log: TimeLog, rate: object) -> LineData:
    what = log.description or "Time"
    day = log.work_date or log.started_at.date()
    return LineData(description=f"{what} ({day.isoformat()})", quantity=hours(log), unit_price=rate)  # type: ignore[arg-type]


async def invoice_time_logs(
    *,
    session: AsyncSession,
    actor: StaffPrincipal,
    project_id: uuid.UUID,
    time_log_ids: list[uuid.UUID] | None = None,
    invoice_id: uuid.UUID | None = None,
) -> Invoice:
    """Bill the project's billable, unbilled time (only ``time_log_ids`` when given) on
    a new draft invoice, or on the draft ``invoice_id`` of the same client."""
    project = await access_project(session, actor, project_id, lock=True)
    client = await access_client(session, actor, project.client_id)
    statement = (
        select(TimeLog)
        .where(
            TimeLog.account_id == actor.account_id,
            TimeLog.project_id == project.id,
            col(TimeLog.billable).is_(True),
            col(TimeLog.invoiced).is_(False),
        )
        .order_by(col(TimeLog.started_at), col(TimeLog.created_at), col(TimeLog.id))
        .with_for_update()
    )
    if time_log_ids is not None:
        wanted = set(time_log_ids)
        if not wanted:
            raise BadInput("Name at least one time log.", field="timeLogIds")
        statement = statement.where(col(TimeLog.id).in_(wanted))
    logs = list((await session.exec(statement)).all())
    if time_log_ids is not None and len(logs) != len(set(time_log_ids)):
        raise Conflict(
            "Some of these time logs are not billable, invoiced already, or of another project.",
            field="timeLogIds",
        )
    if not logs:
        raise Conflict("This project has no billable time left to invoice.", field="projectId")
    rates = []
    for log in logs:
        rate = log.hourly_rate if log.hourly_rate is not None else project.hourly_rate
        if rate is None:
            raise BadInput(
                "Time without a rate cannot be invoiced: set the log's or the project's "
                "hourly rate.",
                field="timeLogIds",
            )
        rates.append(rate)

    if invoice_id is not None:
        invoice = await access_invoice(session, actor, invoice_id, lock=True)
        if invoice.status is not InvoiceStatus.DRAFT:
            raise Conflict("Time is added to draft invoices only.", field="invoiceId")
        if invoice.client_id != project.client_id:
            raise BadInput("This invoice belongs to another client.", field="invoiceId")
        if invoice.project_id not in (None, project.id):
            raise BadInput("This invoice is for another project.", field="invoiceId")
        if invoice.currency != client.currency:
            raise BadInput("This invoice is not in the client's currency.", field="invoiceId")
        invoice.project_id = project.id
        created = False
    else:
        if client.archived_at is not None:
            raise Conflict("Archived clients cannot be invoiced.", field="projectId")
        invoice = Invoice(
            account_id=actor.account_id,
            client_id=client.id,
            project_id=project.id,
            currency=client.currency,
            issue_date=utcnow().date(),
            created_by_id=actor.user_id,
        )
        session.add(invoice)
        await session.flush()
        created = True
    rows = await append_lines(
        session,
        InvoiceLine,
        "invoice_id",
        invoice,
        [_line(log, rate) for log, rate in zip(logs, rates, strict=True)],
    )
    for row, log in zip(rows, logs, strict=True):
        row.time_log_id = log.id
    marked = await session.exec(
        update(TimeLog)
        .where(col(TimeLog.id).in_([log.id for log in logs]), col(TimeLog.invoiced).is_(False))
        .values(invoiced=True, invoice_id=invoice.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != len(logs):  # pragma: no cover - the row locks make this unreachable
        raise Conflict("Some of this time was invoiced meanwhile; try again.")
    for log in logs:
        log.invoiced = True
        log.invoice_id = invoice.id
        time_log_events.invoiced(session, log, project, actor, invoice=invoice)
    invoice.updated_at = utcnow()
    if created:
        invoice_events.created(session, invoice, actor, InvoiceOrigin.STAFF)
    else:
        invoice_events.updated(session, invoice, actor)
    return invoice
