"""Projects, their tasks and the comments on tasks: types, root fields."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import Module, ProjectStatus, TaskStatus
from models.projects import Project as ProjectRow
from models.projects import Task as TaskRow
from models.projects import TaskComment as TaskCommentRow
from resolvers import projects as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_optional_id
from resolvers.context import Info
from schema.fields import field, id_field
from schema.pagination import Connection
from services.projects import ProjectFilter, TaskFilter

if TYPE_CHECKING:
    from schema.clients import Client
    from schema.documents import Document
    from schema.time_logs import TimeLog

strawberry.enum(ProjectStatus, description="Where a project is in its life.")
strawberry.enum(TaskStatus, description="Where a task is on the board.")

_PROJECTS = Module.PROJECTS
_TASKS = Module.TASKS


@strawberry.type(description="A comment on a task, by a staff user or a client's contact.")
class TaskComment:
    id: strawberry.ID = id_field()
    body: str = field("The comment's text.")
    created_at: datetime = field("When it was written.")

    @field("Who wrote it (null once the author is gone).")
    async def author_name(self, info: Info, root: strawberry.Parent[TaskCommentRow]) -> str | None:
        return await resolvers.comment_author_name(info, root)

    @field("Whether a contact of the client wrote it (else a staff user).")
    def from_client(self, root: strawberry.Parent[TaskCommentRow]) -> bool:
        return root.author_contact_id is not None


@strawberry.type(description="A piece of work in a project.")
class Task:
    id: strawberry.ID = id_field()
    title: str = field("Short title.")
    description: str | None = field("What the task is about.")
    status: TaskStatus = field("Where the task is on the board.")
    shared_with_client: bool = field(
        "Whether the client's contacts can see it.",
        permission=Permission.INTERNAL_READ,
        module=_TASKS,
    )
    due_date: date | None = field("Date it is due.")
    position: int = field("Order on the project's board, from 0.")
    created_at: datetime = field("When the task was created.")
    updated_at: datetime = field("Last change.")

    @field(
        "The project the task belongs to.", permission=Permission.PROJECTS_READ, module=_PROJECTS
    )
    async def project(self, info: Info, root: strawberry.Parent[TaskRow]) -> Project:
        return await resolvers.project_of(info, root.project_id)  # type: ignore[return-value]

    @field("Comments on the task, oldest first.", permission=Permission.TASKS_READ, module=_TASKS)
    async def comments(self, info: Info, root: strawberry.Parent[TaskRow]) -> list[TaskComment]:
        return await resolvers.task_comments(info, root.id)  # type: ignore[return-value]


@strawberry.type(description="Work the business does for a client.")
class Project:
    id: strawberry.ID = id_field()
    name: str = field("The project's name.")
    description: str | None = field("What the project is about.")
    status: ProjectStatus = field("Where the project is in its life.")
    start_date: date | None = field("Date work starts.")
    due_date: date | None = field("Date the project is due.")
    budget: Decimal | None = field(
        "Budget agreed, in the client's currency (internal).",
        permission=Permission.RATES_AND_COSTS_READ,
        module=_PROJECTS,
    )
    hourly_rate: Decimal | None = field(
        "Rate time on the project is billed at (internal).",
        permission=Permission.RATES_AND_COSTS_READ,
        module=_PROJECTS,
    )
    created_at: datetime = field("When the project was created.")
    updated_at: datetime = field("Last change.")

    @field("The client the project is for.")
    async def client(
        self, info: Info, root: strawberry.Parent[ProjectRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return await client_of(info, root.client_id)  # type: ignore[return-value]

    @field(
        "The project's tasks in board order (for contacts: those shared with the client).",
        permission=Permission.TASKS_READ,
        module=_TASKS,
    )
    async def tasks(self, info: Info, root: strawberry.Parent[ProjectRow]) -> list[Task]:
        return await resolvers.project_tasks(info, root.id)  # type: ignore[return-value]

    @field(
        "The project's documents, oldest first (for contacts: those shared with the client).",
        permission=Permission.DOCUMENTS_READ,
        module=Module.DOCUMENTS,
    )
    async def documents(
        self, info: Info, root: strawberry.Parent[ProjectRow]
    ) -> list[Annotated[Document, strawberry.lazy("schema.documents")]]:
        return await resolvers.project_documents(info, root.id)  # type: ignore[return-value]

    @field(
        "Time logged on the project, oldest first.",
        permission=Permission.TIME_LOGS_READ,
        module=Module.TIME_LOGS,
    )
    async def time_logs(
        self, info: Info, root: strawberry.Parent[ProjectRow]
    ) -> list[Annotated[TimeLog, strawberry.lazy("schema.time_logs")]]:
        return await resolvers.project_time_logs(info, root.id)  # type: ignore[return-value]


@strawberry.type
class ProjectQuery:
    @field("Projects, newest first.", permission=Permission.PROJECTS_READ, module=_PROJECTS)
    async def projects(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        client_id: strawberry.ID | None = None,
        status: list[ProjectStatus] | None = None,
        search: str | None = None,
    ) -> Connection[Project]:
        filters = ProjectFilter(
            client_id=parse_optional_id(client_id, field="clientId"),
            statuses=status or [],
            search=search,
        )
        return await resolvers.list_projects(  # type: ignore[return-value]
            info, first=first, after=after, filters=filters
        )

    @field("One project by id.", permission=Permission.PROJECTS_READ, module=_PROJECTS)
    async def project(self, info: Info, id: strawberry.ID) -> Project:
        return await resolvers.project(info, id)  # type: ignore[return-value]

    @field("Tasks, newest first.", permission=Permission.TASKS_READ, module=_TASKS)
    async def tasks(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        project_id: strawberry.ID | None = None,
        client_id: strawberry.ID | None = None,
        status: list[TaskStatus] | None = None,
    ) -> Connection[Task]:
        filters = TaskFilter(
            project_id=parse_optional_id(project_id, field="projectId"),
            client_id=parse_optional_id(client_id, field="clientId"),
            statuses=status or [],
        )
        return await resolvers.list_tasks(  # type: ignore[return-value]
            info, first=first, after=after, filters=filters
        )

    @field("One task by id.", permission=Permission.TASKS_READ, module=_TASKS)
    async def task(self, info: Info, id: strawberry.ID) -> Task:
        return await resolvers.task(info, id)  # type: ignore[return-value]
