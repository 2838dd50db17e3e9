"""Projects, their tasks and the comments on tasks: reading them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, or_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal
from models.enums import ProjectStatus, TaskStatus
from models.projects import Project, Task, TaskComment
from services.access import access_task, project_scope, task_scope
from services.pagination import Page, paginate


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
    shared_with_client: bool | None = None


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
    if filters.shared_with_client is not None:
        statement = statement.where(Task.shared_with_client.is_(filters.shared_with_client))  # type: ignore[attr-defined]
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
