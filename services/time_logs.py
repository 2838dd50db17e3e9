"""Time logged against projects: reading it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal
from models.time_logs import TimeLog
from services.access import time_log_scope
from services.pagination import Page, paginate


@dataclass(slots=True)
class TimeLogFilter:
    project_id: uuid.UUID | None = None
    task_id: uuid.UUID | None = None
    billable: bool | None = None
    invoiced: bool | None = None


async def list_time_logs(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: TimeLogFilter,
    first: int | None,
    after: str | None,
) -> Page[TimeLog]:
    statement = select(TimeLog).where(*time_log_scope(principal))
    if filters.project_id is not None:
        statement = statement.where(TimeLog.project_id == filters.project_id)
    if filters.task_id is not None:
        statement = statement.where(TimeLog.task_id == filters.task_id)
    if filters.billable is not None:
        statement = statement.where(TimeLog.billable.is_(filters.billable))  # type: ignore[attr-defined]
    if filters.invoiced is not None:
        statement = statement.where(TimeLog.invoiced.is_(filters.invoiced))  # type: ignore[attr-defined]
    return await paginate(session, statement, TimeLog, first=first, after=after)
