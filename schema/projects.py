"""Projects, their tasks and the comments on tasks: types, root fields."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import Module, ProjectStatus, TaskStatus, TaskVisibility
from models.projects import Project as ProjectRow
from models.projects import Task as TaskRow
from models.projects import TaskComment as TaskCommentRow
from resolvers import projects as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_optional_id
from resolvers.context import Info
from schema.fields import field, id_field, mutation, public_mutation
from schema.pagination import Connection
from services.projects import ProjectData, ProjectFilter, TaskFilter
from services.tasks import TaskData

if TYPE_CHECKING:
    from schema.accounts import StaffUser
    from schema.activity import Activity
    from schema.clients import Client
    from schema.documents import Document
    from schema.invoices import Invoice
    from schema.time_logs import TimeLog

strawberry.enum(ProjectStatus, description="Where a project is in its life.")
strawberry.enum(TaskStatus, description="Where a task is on the board.")
strawberry.enum(
    TaskVisibility,
    description="Who sees a task: staff only (INTERNAL), the client's contacts too "
    "(CLIENT_VISIBLE), or the contacts may also change its status (CLIENT_EDITABLE).",
)

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
        "Whether the client's contacts can see it (its visibility is not INTERNAL).",
        permission=Permission.INTERNAL_READ,
        module=_TASKS,
    )
    visibility: TaskVisibility = field(
        "Who sees the task, and whether the client's contacts may change its status."
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

    @field("Whether a contact of the client created the task.")
    def created_by_client(self, root: strawberry.Parent[TaskRow]) -> bool:
        return root.created_by_contact_id is not None

    @field("The staff user the task is assigned to.", permission=Permission.STAFF_READ)
    async def assignee(
        self, info: Info, root: strawberry.Parent[TaskRow]
    ) -> Annotated[StaffUser, strawberry.lazy("schema.accounts")] | None:
        return await resolvers.task_assignee(info, root)  # type: ignore[return-value]

    @field("Whether the caller follows the task (mailed about new comments).")
    async def following(self, info: Info, root: strawberry.Parent[TaskRow]) -> bool:
        return await resolvers.following(info, root.id)


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
    def client(
        self, info: Info, root: strawberry.Parent[ProjectRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return client_of(info, root.client_id)  # type: ignore[return-value]

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

    @field(
        "The project's invoices, oldest first (for contacts: no drafts or voided ones).",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def invoices(
        self, info: Info, root: strawberry.Parent[ProjectRow]
    ) -> list[Annotated[Invoice, strawberry.lazy("schema.invoices")]]:
        return await resolvers.project_invoices(info, root.id)  # type: ignore[return-value]

    @field(
        "The project's timeline, oldest first: what happened to the project and to its "
        "tasks, time, invoices and documents, as far as the caller sees them.",
        permission=Permission.ACTIVITY_READ,
    )
    async def activity(
        self, info: Info, root: strawberry.Parent[ProjectRow]
    ) -> list[Annotated[Activity, strawberry.lazy("schema.activity")]]:
        return await resolvers.project_activity(info, root.id)  # type: ignore[return-value]


@strawberry.input(description="A project's fields; in an update omitted fields stay as they are.")
class ProjectInput:
    client_id: strawberry.ID | None = strawberry.field(
        default=None, description="The client the project is for (required on create)."
    )
    name: str | None = strawberry.field(default=None, description="Name (required on create).")
    description: str | None = strawberry.field(
        default=None, description="What the project is about (empty removes it)."
    )
    status: ProjectStatus | None = strawberry.field(
        default=None, description="ACTIVE, ON_HOLD or COMPLETED (archive with archiveProject)."
    )
    start_date: date | None = strawberry.field(default=None, description="Date work starts.")
    due_date: date | None = strawberry.field(default=None, description="Date it is due.")
    budget: Decimal | None = strawberry.field(
        default=None, description="Budget, in the client's currency (internal)."
    )
    hourly_rate: Decimal | None = strawberry.field(
        default=None, description="Rate time is billed at, in the client's currency (internal)."
    )

    def to_data(self) -> ProjectData:
        return ProjectData(
            client_id=parse_optional_id(self.client_id, field="clientId"),
            name=self.name,
            description=self.description,
            status=self.status,
            start_date=self.start_date,
            due_date=self.due_date,
            budget=self.budget,
            hourly_rate=self.hourly_rate,
        )


@strawberry.input(
    description="A task's fields; in an update omitted fields stay as they are. Contacts "
    "give the project, title, description and due date only: their tasks are "
    "CLIENT_EDITABLE."
)
class TaskInput:
    project_id: strawberry.ID | None = strawberry.field(
        default=None, description="The project (required on create)."
    )
    title: str | None = strawberry.field(default=None, description="Title (required on create).")
    description: str | None = strawberry.field(
        default=None, description="What the task is about (empty removes it)."
    )
    status: TaskStatus | None = strawberry.field(default=None, description="Default TODO.")
    visibility: TaskVisibility | None = strawberry.field(
        default=None, description="Staff only; default INTERNAL."
    )
    due_date: date | None = strawberry.field(default=None, description="Date it is due.")
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="Staff only: the staff user it is assigned to."
    )
    unassign: bool = strawberry.field(
        default=False, description="In an update: remove the assignee."
    )
    position: int | None = strawberry.field(
        default=None, description="Staff only: order on the board (default: last)."
    )

    def to_data(self) -> TaskData:
        return TaskData(
            project_id=parse_optional_id(self.project_id, field="projectId"),
            title=self.title,
            description=self.description,
            status=self.status,
            visibility=self.visibility,
            due_date=self.due_date,
            assignee_id=parse_optional_id(self.assignee_id, field="assigneeId"),
            clear_assignee=self.unassign,
            position=self.position,
        )


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
        visibility: list[TaskVisibility] | None = None,
    ) -> Connection[Task]:
        filters = TaskFilter(
            project_id=parse_optional_id(project_id, field="projectId"),
            client_id=parse_optional_id(client_id, field="clientId"),
            statuses=status or [],
            visibilities=visibility or [],
        )
        return await resolvers.list_tasks(  # type: ignore[return-value]
            info, first=first, after=after, filters=filters
        )

    @field("One task by id.", permission=Permission.TASKS_READ, module=_TASKS)
    async def task(self, info: Info, id: strawberry.ID) -> Task:
        return await resolvers.task(info, id)  # type: ignore[return-value]


_MANAGE = Permission.PROJECTS_MANAGE
_COLLABORATE = Permission.COLLABORATE


@strawberry.type
class ProjectMutation:
    @mutation("Create a project for a client.", permission=_MANAGE, module=_PROJECTS)
    async def create_project(self, info: Info, input: ProjectInput) -> Project:
        return await resolvers.create_project(info, input.to_data())  # type: ignore[return-value]

    @mutation("Change a project (not an archived one).", permission=_MANAGE, module=_PROJECTS)
    async def update_project(self, info: Info, id: strawberry.ID, input: ProjectInput) -> Project:
        return await resolvers.update_project(info, id, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Archive a project: it stays readable and takes no new tasks or time.",
        permission=_MANAGE,
        module=_PROJECTS,
    )
    async def archive_project(self, info: Info, id: strawberry.ID) -> Project:
        return await resolvers.archive_project(info, id)  # type: ignore[return-value]

    @mutation(
        "Create a task. Staff set every field; a contact creates a CLIENT_EDITABLE task in "
        "its client's project. The creator follows it.",
        permission=_COLLABORATE,
        module=_TASKS,
    )
    async def create_task(self, info: Info, input: TaskInput) -> Task:
        return await resolvers.create_task(info, input.to_data())  # type: ignore[return-value]

    @mutation("Change a task (staff).", permission=_MANAGE, module=_TASKS)
    async def update_task(self, info: Info, id: strawberry.ID, input: TaskInput) -> Task:
        return await resolvers.update_task(info, id, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Move a task on the board: staff any task, contacts CLIENT_EDITABLE ones.",
        permission=_COLLABORATE,
        module=_TASKS,
    )
    async def set_task_status(self, info: Info, id: strawberry.ID, status: TaskStatus) -> Task:
        return await resolvers.set_task_status(info, id, status)  # type: ignore[return-value]

    @mutation(
        "Comment on a task; the task's other followers are mailed, and the author follows it.",
        permission=_COLLABORATE,
        module=_TASKS,
    )
    async def add_task_comment(self, info: Info, task_id: strawberry.ID, body: str) -> TaskComment:
        return await resolvers.add_task_comment(info, task_id, body)  # type: ignore[return-value]

    @mutation(
        "Follow a task (mailed about new comments) or stop following it.",
        permission=_COLLABORATE,
        module=_TASKS,
    )
    async def follow_task(self, info: Info, id: strawberry.ID, following: bool = True) -> Task:
        return await resolvers.follow_task(info, id, following)  # type: ignore[return-value]


@strawberry.type
class UnsubscribeMutation:
    @public_mutation(
        "Stop following the task or ticket a notification mail was about: the token of "
        "its unsubscribe link (no sign-in needed). True once done."
    )
    async def unsubscribe(self, info: Info, token: str) -> bool:
        return await resolvers.unsubscribe(info, token)
