"""Projects, their tasks and the comments on tasks: reading them; creating, editing and
archiving projects (tasks change in :mod:`services.tasks`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.enums import ProjectStatus, TaskStatus, TaskVisibility
from models.projects import Project, Task, TaskComment
from models.types import utcnow
from services.access import access_client, access_project, access_task, project_scope, task_scope
from services.errors import BadInput, Conflict
from services.events import projects as project_events
from services.money import check_amount
from services.pagination import Page, paginate
from services.validation import optional_text, required_text


@dataclass(slots=True)
class ProjectFilter:
    client_id: uuid.UUID | None = None
    statuses: list[ProjectStatus] = field(default_factory=list)
    search: str | None = None


@dataclass(slots=True)
class TaskFilter:
    project_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    statuses: list[TaskStatus] = field(default_factory=list)
    visibilities: list[TaskVisibility] = field(default_factory=list)


async def list_projects(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: ProjectFilter,
    first: int | None,
    after: str | None,
) -> Page[Project]:
    statement = select(Project).where(*project_scope(principal))
    if filters.client_id is not None:
        statement = statement.where(Project.client_id == filters.client_id)
    if filters.statuses:
        statement = statement.where(Project.status.in_(filters.statuses))  # type: ignore[attr-defined]
    if filters.search:
        pattern = f"%{filters.search.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(Project.name).like(pattern),
                func.lower(func.coalesce(Project.description, "")).like(pattern),
            )
        )
    return await paginate(session, statement, Project, first=first, after=after)


async def list_tasks(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: TaskFilter,
    first: int | None,
    after: str | None,
) -> Page[Task]:
    statement = select(Task).where(*task_scope(principal))
    if filters.project_id is not None:
        statement = statement.where(Task.project_id == filters.project_id)
    if filters.client_id is not None:
        statement = statement.where(Task.client_id == filters.client_id)
    if filters.statuses:
        statement = statement.where(Task.status.in_(filters.statuses))  # type: ignore[attr-defined]
    if filters.visibilities:
        statement = statement.where(Task.visibility.in_(filters.visibilities))  # type: ignore[attr-defined]
    return await paginate(session, statement, Task, first=first, after=after)


async def list_task_comments(
    *,
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    first: int | None,
    after: str | None,
) -> Page[TaskComment]:
    """The comments on one task the caller may see (:class:`NotFound` otherwise)."""
    task = await access_task(session, principal, task_id)
    statement = select(TaskComment).where(
        TaskComment.account_id == task.account_id, TaskComment.task_id == task.id
    )
    return await paginate(session, statement, TaskComment, first=first, after=after)


# --- changing projects --------------------------------------------------------------


@dataclass(slots=True)
class ProjectData:
    """Fields of a project; in an update ``None`` leaves a field unchanged (an empty
    description removes it)."""

    client_id: uuid.UUID | None = None
    name: str | None = None
    description: str | None = None
    status: ProjectStatus | None = None
    start_date: date | None = None
    due_date: date | None = None
    budget: Decimal | None = None
    hourly_rate: Decimal | None = None


def _apply_project(project: Project, data: ProjectData, currency: str) -> list[str]:
    """Set what ``data`` gives; the names of the fields that changed."""
    changed: list[str] = []

    def put(name: str, value: object) -> None:
        if getattr(project, name) != value:
            setattr(project, name, value)
            changed.append(name)

    if data.name is not None:
        put("name", required_text(data.name, field="name", max_length=200))
    if data.description is not None:
        put(
            "description",
            optional_text(data.description, field="description", max_length=20000),
        )
    if data.status is not None:
        if data.status is ProjectStatus.ARCHIVED:
            raise BadInput("Archive a project with archiveProject.", field="status")
        put("status", data.status)
    if data.start_date is not None:
        put("start_date", data.start_date)
    if data.due_date is not None:
        put("due_date", data.due_date)
    for name in ("budget", "hourly_rate"):
        value = getattr(data, name)
        if value is not None:
            field_name = "hourlyRate" if name == "hourly_rate" else name
            put(name, check_amount(value, currency, field=field_name))
    if project.start_date and project.due_date and project.due_date < project.start_date:
        raise BadInput("The due date cannot be before the start date.", field="dueDate")
    return changed


async def create_project(
    *, session: AsyncSession, actor: StaffPrincipal, data: ProjectData
) -> Project:
    """A new ACTIVE project (or the status given) for an active client."""
    if data.client_id is None:
        raise BadInput("This field is required.", field="clientId")
    if data.name is None:
        raise BadInput("This field is required.", field="name")
    client = await access_client(session, actor, data.client_id)
    if client.archived_at is not None:
        raise Conflict("Archived clients cannot get new projects.", field="clientId")
    project = Project(account_id=actor.account_id, client_id=client.id, name="")
    _apply_project(project, data, client.currency)
    session.add(project)
    await session.flush()
    project_events.project_created(session, project, actor)
    return project


async def update_project(
    *, session: AsyncSession, actor: StaffPrincipal, project_id: uuid.UUID, data: ProjectData
) -> Project:
    """Edit a project (not an archived one; a project never moves to another client)."""
    project = await access_project(session, actor, project_id, lock=True)
    if project.status is ProjectStatus.ARCHIVED:
        raise Conflict("An archived project cannot be edited.")
    if data.client_id is not None and data.client_id != project.client_id:
        raise BadInput("A project cannot move to another client.", field="clientId")
    client = await access_client(session, actor, project.client_id)
    changed = _apply_project(project, data, client.currency)
    if changed:
        project.updated_at = utcnow()
        project_events.project_updated(session, project, actor, changed=changed)
    return project


async def archive_project(
    *, session: AsyncSession, actor: StaffPrincipal, project_id: uuid.UUID
) -> Project:
    """Archive a project: it stays readable, takes no new tasks or time, and cannot be
    edited. Archiving again changes nothing."""
    project = await access_project(session, actor, project_id, lock=True)
    if project.status is ProjectStatus.ARCHIVED:
        return project
    project.status = ProjectStatus.ARCHIVED
    project.updated_at = utcnow()
    project_events.project_archived(session, project, actor)
    return project
