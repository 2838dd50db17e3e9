"""Projects, tasks and task comments: GraphQL arguments -> service call -> rows."""

from __future__ import annotations

import uuid

from auth.principals import ContactPrincipal, StaffPrincipal
from models.accounts import StaffUser
from models.activity import Activity
from models.documents import Document
from models.enums import TaskStatus
from models.invoices import Invoice
from models.projects import Project, Task, TaskComment
from models.time_logs import TimeLog
from resolvers.common import acting_contact, atomic, caller, parse_id, staff
from resolvers.context import Info
from services import access, follows, projects, tasks
from services.errors import NotFound
from services.pagination import Page


async def list_projects(
    info: Info, *, first: int | None, after: str | None, filters: projects.ProjectFilter
) -> Page[Project]:
    return await projects.list_projects(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def project(info: Info, id: str) -> Project:
    return await access.access_project(info.context.session, caller(info), parse_id(id))


async def project_of(info: Info, project_id: uuid.UUID) -> Project:
    row = await info.context.loaders.project_by_id.load(project_id)
    if row is None:  # pragma: no cover - the parent row was scoped to the same client
        raise NotFound("Project")
    return row


async def optional_project(info: Info, project_id: uuid.UUID | None) -> Project | None:
    """A project, or ``None`` when there is none or the caller may not see it."""
    if project_id is None:
        return None
    return await info.context.loaders.project_by_id.load(project_id)


async def project_tasks(info: Info, project_id: uuid.UUID) -> list[Task]:
    return await info.context.loaders.tasks_by_project_id.load(project_id)


async def project_documents(info: Info, project_id: uuid.UUID) -> list[Document]:
    return await info.context.loaders.documents_by_project_id.load(project_id)


async def project_time_logs(info: Info, project_id: uuid.UUID) -> list[TimeLog]:
    return await info.context.loaders.time_logs_by_project_id.load(project_id)


async def list_tasks(
    info: Info, *, first: int | None, after: str | None, filters: projects.TaskFilter
) -> Page[Task]:
    return await projects.list_tasks(
        session=info.context.session,
        principal=caller(info),
        filters=filters,
        first=first,
        after=after,
    )


async def task(info: Info, id: str) -> Task:
    return await access.access_task(info.context.session, caller(info), parse_id(id))


async def optional_task(info: Info, task_id: uuid.UUID | None) -> Task | None:
    """A task, or ``None`` when there is none or the caller may not see it."""
    if task_id is None:
        return None
    return await info.context.loaders.task_by_id.load(task_id)


async def task_comments(info: Info, task_id: uuid.UUID) -> list[TaskComment]:
    return await info.context.loaders.comments_by_task_id.load(task_id)


async def comment_author_name(info: Info, comment: TaskComment) -> str | None:
    """Who wrote a comment: the staff user's name, or the contact's full name (or email);
    ``None`` once the author is gone."""
    loaders = info.context.loaders
    if comment.author_staff_id is not None:
        return await loaders.staff_name_by_id.load(comment.author_staff_id)
    if comment.author_contact_id is not None:
        contact = await loaders.contact_by_id.load(comment.author_contact_id)
        if contact is None:
            return None
        return contact.display_name
    return None


async def task_assignee(info: Info, task: Task) -> StaffUser | None:
    if task.assignee_id is None:
        return None
    return await info.context.loaders.staff_user_by_id.load(task.assignee_id)


async def following(info: Info, subject_id: uuid.UUID) -> bool:
    return await info.context.loaders.followed_by_subject_id.load(subject_id)


async def project_invoices(info: Info, project_id: uuid.UUID) -> list[Invoice]:
    return await info.context.loaders.invoices_by_project_id.load(project_id)


async def project_activity(info: Info, project_id: uuid.UUID) -> list[Activity]:
    return await info.context.loaders.project_activity_by_project_id.load(project_id)


# --- changes ------------------------------------------------------------------------


async def create_project(info: Info, data: projects.ProjectData) -> Project:
    actor = staff(info)
    async with atomic(info) as work:
        return await projects.create_project(session=work.session, actor=actor, data=data)


async def update_project(info: Info, id: str, data: projects.ProjectData) -> Project:
    actor = staff(info)
    async with atomic(info) as work:
        return await projects.update_project(
            session=work.session, actor=actor, project_id=parse_id(id), data=data
        )


async def archive_project(info: Info, id: str) -> Project:
    actor = staff(info)
    async with atomic(info) as work:
        return await projects.archive_project(
            session=work.session, actor=actor, project_id=parse_id(id)
        )


def _collaborator(info: Info) -> StaffPrincipal | ContactPrincipal:
    principal = caller(info)
    if isinstance(principal, StaffPrincipal):
        return principal
    return acting_contact(info)


async def create_task(info: Info, data: tasks.TaskData) -> Task:
    actor = _collaborator(info)
    async with atomic(info) as work:
        return await tasks.create_task(work, actor=actor, data=data)


async def update_task(info: Info, id: str, data: tasks.TaskData) -> Task:
    actor = staff(info)
    async with atomic(info) as work:
        return await tasks.update_task(work, actor=actor, task_id=parse_id(id), data=data)


async def set_task_status(info: Info, id: str, status: TaskStatus) -> Task:
    actor = _collaborator(info)
    async with atomic(info) as work:
        return await tasks.set_task_status(work, actor=actor, task_id=parse_id(id), status=status)


async def add_task_comment(info: Info, task_id: str, body: str) -> TaskComment:
    actor = _collaborator(info)
    async with atomic(info) as work:
        return await tasks.add_comment(
            work, actor=actor, task_id=parse_id(task_id, field="taskId"), body=body
        )


async def follow_task(info: Info, id: str, following: bool) -> Task:
    actor = _collaborator(info)
    async with atomic(info) as work:
        return await tasks.set_following(
            work, actor=actor, task_id=parse_id(id), following=following
        )


async def unsubscribe(info: Info, token: str) -> bool:
    async with atomic(info) as work:
        return await follows.unsubscribe(work, token)
