"""Time logged against projects: types, root fields."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import Module
from models.time_logs import TimeLog as TimeLogRow
from resolvers import time_logs as resolvers
from resolvers.common import parse_optional_id
from resolvers.context import Info
from resolvers.projects import optional_task, project_of
from schema.fields import field, id_field
from schema.pagination import Connection
from services.time_logs import TimeLogFilter

if TYPE_CHECKING:
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
