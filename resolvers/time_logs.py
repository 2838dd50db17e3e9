"""Time logs: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid
from decimal import Decimal

from models.invoices import Invoice
from models.time_logs import TimeLog
from resolvers.common import atomic, caller, parse_id, staff
from resolvers.context import Info
from services import time_billing, time_logs
from services.money import round_money
from services.pagination import Page


async def list_time_logs(
    info: Info, *, first: int | None, after: str | None, filters: time_logs.TimeLogFilter
) -> Page[TimeLog]:
    return await time_logs.list_time_logs(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def time_log_invoice(info: Info, log: TimeLog) -> Invoice | None:
    if log.invoice_id is None:
        return None
    return await info.context.loaders.invoice_by_id.load(log.invoice_id)


async def time_log_amount(info: Info, log: TimeLog) -> Decimal | None:
    """What the log bills (hours x rate), at its currency's precision: the rate is the
    project client's currency."""
    if log.hourly_rate is None:
        return None
    project = await info.context.loaders.project_by_id.load(log.project_id)
    client = await info.context.loaders.client_by_id.load(project.client_id) if project else None
    if client is None:  # pragma: no cover - the log was read in the caller's scope
        return None
    return round_money(time_logs.hours(log) * log.hourly_rate, client.currency)


async def log_time(info: Info, data: time_logs.TimeLogData) -> TimeLog:
    actor = staff(info)
    async with atomic(info) as work:
        return await time_logs.log_time(session=work.session, actor=actor, data=data)


async def update_time_log(info: Info, id: str, data: time_logs.TimeLogData) -> TimeLog:
    actor = staff(info)
    async with atomic(info) as work:
        return await time_logs.update_time_log(
            session=work.session, actor=actor, time_log_id=parse_id(id), data=data
        )


async def delete_time_log(info: Info, id: str) -> TimeLog:
    actor = staff(info)
    async with atomic(info) as work:
        return await time_logs.delete_time_log(
            session=work.session, actor=actor, time_log_id=parse_id(id)
        )


async def invoice_time_logs(
    info: Info,
    project_id: str,
    time_log_ids: list[uuid.UUID] | None,
    invoice_id: uuid.UUID | None,
) -> Invoice:
    actor = staff(info)
    async with atomic(info) as work:
        return await time_billing.invoice_time_logs(
            session=work.session,
            actor=actor,
            project_id=parse_id(project_id, field="projectId"),
            time_log_ids=time_log_ids,
            invoice_id=invoice_id,
        )
