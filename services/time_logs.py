"""Time logged against projects: reading it, logging, editing and deleting it.

Durations are whole minutes; :func:`hours` is the exact decimal the invoice bills
(``minutes / 60`` at the scale amounts are stored with, four places, rounded half up:
exact whenever the minutes are a multiple of 3). Rates are the client's currency, like
the project's; a log without a rate takes the project's ``hourly_rate`` when it is
logged. Rates and costs are internal: setting them needs ``RATES_AND_COSTS_READ`` (a
MEMBER logs time at the project's rate), and no contact ever reads them. A billed log
(``invoiced``) no longer changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.policy import Permission
from auth.principals import Principal, StaffPrincipal
from auth.profiles import profile_for
from models.enums import ProjectStatus
from models.projects import Project
from models.time_logs import TimeLog
from models.types import SCALE, utcnow
from services.access import (
    access_client,
    access_project,
    access_task,
    access_time_log,
    time_log_scope,
)
from services.errors import BadInput, Conflict, Forbidden
from services.events import time_logs as time_log_events
from services.money import check_amount
from services.pagination import Page, paginate
from services.validation import optional_text

MAX_MINUTES = 24 * 60
"""One log covers at most a day."""

_QUANTUM = Decimal(1).scaleb(-SCALE)


def hours(log: TimeLog) -> Decimal:
    """The log's duration in hours, as an invoice line's quantity."""
    return (Decimal(log.minutes) / Decimal(60)).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class TimeLogFilter:
    project_id: uuid.UUID | None = None
    task_id: uuid.UUID | None = None
    billable: bool | None = None
    invoiced: bool | None = None


@dataclass(slots=True)
class TimeLogData:
    """Fields of a time log; in an update ``None`` leaves a field unchanged."""

    project_id: uuid.UUID | None = None
    task_id: uuid.UUID | None = None
    minutes: int | None = None
    work_date: date | None = None
    started_at: datetime | None = None
    billable: bool | None = None
    description: str | None = None
    hourly_rate: Decimal | None = None
    cost_rate: Decimal | None = None


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


def _check_minutes(minutes: int) -> int:
    if minutes <= 0 or minutes > MAX_MINUTES:
        raise BadInput(f"Give between 1 and {MAX_MINUTES} minutes.", field="minutes")
    return minutes


def _check_rates(actor: StaffPrincipal, data: TimeLogData, currency: str) -> None:
    if data.hourly_rate is None and data.cost_rate is None:
        return
    if not profile_for(actor).holds(Permission.RATES_AND_COSTS_READ):
        raise Forbidden("Your role logs time at the project's rate.")
    if data.hourly_rate is not None:
        data.hourly_rate = check_amount(data.hourly_rate, currency, field="hourlyRate")
    if data.cost_rate is not None:
        data.cost_rate = check_amount(data.cost_rate, currency, field="costRate")


async def _task_of(
    session: AsyncSession, actor: StaffPrincipal, project: Project, task_id: uuid.UUID
) -> uuid.UUID:
    task = await access_task(session, actor, task_id)
    if task.project_id != project.id:
        raise BadInput("This task belongs to another project.", field="taskId")
    return task.id


async def log_time(*, session: AsyncSession, actor: StaffPrincipal, data: TimeLogData) -> TimeLog:
    """Log time on a project (optionally on one of its tasks) by the acting staff user.
    ``work_date`` defaults to the day ``started_at`` falls on (UTC), ``started_at`` to
    the start of ``work_date`` (UTC), both to today."""
    if data.project_id is None:
        raise BadInput("This field is required.", field="projectId")
    if data.minutes is None:
        raise BadInput("This field is required.", field="minutes")
    project = await access_project(session, actor, data.project_id)
    if project.status is ProjectStatus.ARCHIVED:
        raise Conflict("An archived project takes no new time.", field="projectId")
    client = await access_client(session, actor, project.client_id)
    _check_rates(actor, data, client.currency)
    started_at = data.started_at
    work_date = data.work_date or (started_at.astimezone(UTC).date() if started_at else None)
    work_date = work_date or utcnow().date()
    log = TimeLog(
        account_id=project.account_id,
        project_id=project.id,
        task_id=await _task_of(session, actor, project, data.task_id) if data.task_id else None,
        staff_user_id=actor.user_id,
        description=optional_text(data.description, field="description", max_length=5000),
        started_at=started_at or datetime.combine(work_date, time(0), tzinfo=UTC),
        work_date=work_date,
        minutes=_check_minutes(data.minutes),
        billable=True if data.billable is None else data.billable,
        hourly_rate=data.hourly_rate if data.hourly_rate is not None else project.hourly_rate,
        cost_rate=data.cost_rate,
    )
    session.add(log)
    await session.flush()
    time_log_events.created(session, log, project, actor)
    return log


async def _changeable(
    session: AsyncSession, actor: StaffPrincipal, time_log_id: uuid.UUID
) -> tuple[TimeLog, Project]:
    log = await access_time_log(session, actor, time_log_id, lock=True)
    if log.invoiced:
        raise Conflict("This time is invoiced already and can no longer change.")
    project = await access_project(session, actor, log.project_id)
    return log, project


async def update_time_log(
    *, session: AsyncSession, actor: StaffPrincipal, time_log_id: uuid.UUID, data: TimeLogData
) -> TimeLog:
    log, project = await _changeable(session, actor, time_log_id)
    if data.project_id is not None and data.project_id != log.project_id:
        raise BadInput("A time log cannot move to another project.", field="projectId")
    client = await access_client(session, actor, project.client_id)
    _check_rates(actor, data, client.currency)
    changed: list[str] = []

    def put(name: str, value: object) -> None:
        if getattr(log, name) != value:
            setattr(log, name, value)
            changed.append(name)

    if data.task_id is not None:
        put("task_id", await _task_of(session, actor, project, data.task_id))
    if data.minutes is not None:
        put("minutes", _check_minutes(data.minutes))
    if data.work_date is not None:
        put("work_date", data.work_date)
    if data.started_at is not None:
        put("started_at", data.started_at)
    if data.billable is not None:
        put("billable", data.billable)
    if data.description is not None:
        put("description", optional_text(data.description, field="description", max_length=5000))
    if data.hourly_rate is not None:
        put("hourly_rate", data.hourly_rate)
    if data.cost_rate is not None:
        put("cost_rate", data.cost_rate)
    if changed:
        log.updated_at = utcnow()
        time_log_events.updated(session, log, project, actor, changed=changed)
    return log


async def delete_time_log(
    *, session: AsyncSession, actor: StaffPrincipal, time_log_id: uuid.UUID
) -> TimeLog:
    """Delete time not invoiced yet; the row it was is returned."""
    log, project = await _changeable(session, actor, time_log_id)
    time_log_events.deleted(session, log, project, actor)
    await session.delete(log)
    await session.flush()
    return log
