"""Time logged against projects: types, root fields."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import Module
from models.time_logs import TimeLog as TimeLogRow
from resolvers import time_logs as resolvers
from resolvers.common import parse_id, parse_optional_id
from resolvers.context import Info
from resolvers.projects import optional_task, project_of
from schema.fields import field, id_field, mutation
from schema.pagination import Connection
from services import time_logs as time_log_service
from services.time_logs import TimeLogData, TimeLogFilter

if TYPE_CHECKING:
    from schema.invoices import Invoice
    from schema.projects import Project, Task

_TIME_LOGS = Module.TIME_LOGS
_READ = Permission.TIME_LOGS_READ


@strawberry.type(description="Time spent on a project, optionally on one of its tasks.")
class TimeLog:
    id: strawberry.ID = id_field()
    description: str | None = field("What was done.")
    started_at: datetime = field("When the work started.")
    minutes: int = field("How long it took, in minutes.")
    billable: bool = field("Whether the time is billed to the client.")
    invoiced: bool = field("Whether an invoice line bills it already.")
    hourly_rate: Decimal | None = field(
        "What an hour of it is billed at (internal).",
        permission=Permission.RATES_AND_COSTS_READ,
        module=_TIME_LOGS,
    )
    cost_rate: Decimal | None = field(
        "What an hour of it costs the business (internal).",
        permission=Permission.RATES_AND_COSTS_READ,
        module=_TIME_LOGS,
    )
    created_at: datetime = field("When it was logged.")

    @field("The day the work was done.", name="date")
    def work_date(self, root: strawberry.Parent[TimeLogRow]) -> date:
        return root.work_date or root.started_at.date()

    @field(
        "How long it took, in hours (minutes / 60, four decimal places: what an invoice "
        "line bills)."
    )
    def hours(self, root: strawberry.Parent[TimeLogRow]) -> Decimal:
        return time_log_service.hours(root)

    @field(
        "What it bills: hours x hourly rate, at the currency's precision (internal).",
        permission=Permission.RATES_AND_COSTS_READ,
        module=_TIME_LOGS,
    )
    async def amount(self, info: Info, root: strawberry.Parent[TimeLogRow]) -> Decimal | None:
        return await resolvers.time_log_amount(info, root)

    @field(
        "The invoice billing it, once invoiced.",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def invoice(
        self, info: Info, root: strawberry.Parent[TimeLogRow]
    ) -> Annotated[Invoice, strawberry.lazy("schema.invoices")] | None:
        return await resolvers.time_log_invoice(info, root)  # type: ignore[return-value]

    @field("The project worked on.", permission=Permission.PROJECTS_READ, module=Module.PROJECTS)
    async def project(
        self, info: Info, root: strawberry.Parent[TimeLogRow]
    ) -> Annotated[Project, strawberry.lazy("schema.projects")]:
        return await project_of(info, root.project_id)  # type: ignore[return-value]

    @field(
        "The task worked on (null: none, or not shared with the caller).",
        permission=Permission.TASKS_READ,
        module=Module.TASKS,
    )
    async def task(
        self, info: Info, root: strawberry.Parent[TimeLogRow]
    ) -> Annotated[Task, strawberry.lazy("schema.projects")] | None:
        return await optional_task(info, root.task_id)  # type: ignore[return-value]


@strawberry.type
class TimeLogQuery:
    @field("Time logs, newest first.", permission=_READ, module=_TIME_LOGS)
    async def time_logs(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        project_id: strawberry.ID | None = None,
        task_id: strawberry.ID | None = None,
        billable: bool | None = None,
        invoiced: bool | None = None,
    ) -> Connection[TimeLog]:
        filters = TimeLogFilter(
            project_id=parse_optional_id(project_id, field="projectId"),
            task_id=parse_optional_id(task_id, field="taskId"),
            billable=billable,
            invoiced=invoiced,
        )
        return await resolvers.list_time_logs(  # type: ignore[return-value]
            info, first=first, after=after, filters=filters
        )


@strawberry.input(
    description="Time worked; in an update omitted fields stay as they are. Rates are "
    "internal: only roles that read rates set them (otherwise the project's rate applies)."
)
class TimeLogInput:
    project_id: strawberry.ID | None = strawberry.field(
        default=None, description="The project (required when logging)."
    )
    task_id: strawberry.ID | None = strawberry.field(
        default=None, description="One of the project's tasks."
    )
    minutes: int | None = strawberry.field(
        default=None, description="Duration in whole minutes, 1 to 1440 (required when logging)."
    )
    work_date: date | None = strawberry.field(
        default=None,
        name="date",
        description="The day of the work (default: today, or startedAt's day).",
    )
    started_at: datetime | None = strawberry.field(
        default=None, description="When the work started (default: the start of the day)."
    )
    billable: bool | None = strawberry.field(default=None, description="Default true.")
    description: str | None = strawberry.field(
        default=None, description="What was done (the client reads it)."
    )
    hourly_rate: Decimal | None = strawberry.field(
        default=None, description="Billed per hour (default: the project's hourly rate)."
    )
    cost_rate: Decimal | None = strawberry.field(
        default=None, description="What an hour costs the business."
    )

    def to_data(self) -> TimeLogData:
        return TimeLogData(
            project_id=parse_optional_id(self.project_id, field="projectId"),
            task_id=parse_optional_id(self.task_id, field="taskId"),
            minutes=self.minutes,
            work_date=self.work_date,
            started_at=self.started_at,
            billable=self.billable,
            description=self.description,
            hourly_rate=self.hourly_rate,
            cost_rate=self.cost_rate,
        )


_MANAGE = Permission.PROJECTS_MANAGE


@strawberry.type
class TimeLogMutation:
    @mutation("Log time on a project or one of its tasks.", permission=_MANAGE, module=_TIME_LOGS)
    async def log_time(self, info: Info, input: TimeLogInput) -> TimeLog:
        return await resolvers.log_time(info, input.to_data())  # type: ignore[return-value]

    @mutation("Change time not invoiced yet.", permission=_MANAGE, module=_TIME_LOGS)
    async def update_time_log(self, info: Info, id: strawberry.ID, input: TimeLogInput) -> TimeLog:
        return await resolvers.update_time_log(info, id, input.to_data())  # type: ignore[return-value]

    @mutation("Delete time not invoiced yet.", permission=_MANAGE, module=_TIME_LOGS)
    async def delete_time_log(self, info: Info, id: strawberry.ID) -> TimeLog:
        return await resolvers.delete_time_log(info, id)  # type: ignore[return-value]

    @mutation(
        "Bill a project's billable, uninvoiced time: one line per log (hours x rate, exact), "
        "on a new draft invoice of the project's client or after the lines of the draft "
        "`invoiceId`. Only `timeLogIds` when given. The logs are marked invoiced; time is "
        "never billed twice (with nothing left to bill: CONFLICT).",
        permission=Permission.BILLING_MANAGE,
        module=_TIME_LOGS,
    )
    async def invoice_time_logs(
        self,
        info: Info,
        project_id: strawberry.ID,
        time_log_ids: list[strawberry.ID] | None = None,
        invoice_id: strawberry.ID | None = None,
    ) -> Annotated[Invoice, strawberry.lazy("schema.invoices")]:
        ids: list[uuid.UUID] | None = (
            None
            if time_log_ids is None
            else [parse_id(value, field="timeLogIds") for value in time_log_ids]
        )
        return await resolvers.invoice_time_logs(  # type: ignore[return-value]
            info, project_id, ids, parse_optional_id(invoice_id, field="invoiceId")
        )
