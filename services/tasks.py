"""Tasks: creating and editing them, moving them on the board, comments and following.

Staff create and edit every task of their account's projects. A contact who may
collaborate (BILLING, COLLABORATOR) creates tasks in its client's projects — they are
CLIENT_EDITABLE, so the client keeps moving them — comments on the tasks shared with its
client, and changes the status of CLIENT_EDITABLE ones only (an INTERNAL task does not
exist for it: ``NOT_FOUND``). Whoever creates, is assigned or comments on a task follows
it; a comment is mailed to the task's other followers (:mod:`services.follows`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import select

from auth.principals import ContactPrincipal, StaffPrincipal
from models.accounts import StaffUser
from models.clients import Contact
from models.enums import ProjectStatus, TaskStatus, TaskVisibility
from models.projects import Project, Task, TaskComment
from models.types import utcnow
from services import follows
from services.access import access_project, access_task
from services.errors import BadInput, Conflict, Forbidden
from services.events import projects as project_events
from services.follows import Follower
from services.unit_of_work import UnitOfWork
from services.validation import optional_text, required_text

Actor = StaffPrincipal | ContactPrincipal


@dataclass(slots=True)
class TaskData:
    """Fields of a task; in an update ``None`` leaves a field unchanged (an empty
    description removes it). ``clear_assignee`` unassigns it."""

    project_id: uuid.UUID | None = None
    title: str | None = None
    description: str | None = None
    status: TaskStatus | None = None
    visibility: TaskVisibility | None = None
    due_date: date | None = None
    assignee_id: uuid.UUID | None = None
    clear_assignee: bool = False
    position: int | None = None


STAFF_ONLY_FIELDS = {
    "visibility": "visibility",
    "assignee_id": "assigneeId",
    "position": "position",
}
"""What a contact may not set on a task it creates."""


def _acting(actor: Actor) -> Actor:
    if isinstance(actor, ContactPrincipal) and actor.read_only:
        raise Forbidden()
    return actor


async def _assignee(work: UnitOfWork, actor: Actor, staff_id: uuid.UUID) -> uuid.UUID:
    user = (
        await work.session.exec(
            select(StaffUser).where(
                StaffUser.id == staff_id,
                StaffUser.account_id == actor.account_id,
            )
        )
    ).first()
    if user is None or not user.is_active:
        raise BadInput("No active staff user has this id.", field="assigneeId")
    return user.id


async def _open_project(work: UnitOfWork, actor: Actor, project_id: uuid.UUID) -> Project:
    project = await access_project(work.session, actor, project_id)
    if project.status is ProjectStatus.ARCHIVED:
        raise Conflict("An archived project takes no new tasks.", field="projectId")
    return project


async def create_task(work: UnitOfWork, *, actor: Actor, data: TaskData) -> Task:
    """A task at the end of the project's board (or at ``position``)."""
    session = work.session
    _acting(actor)
    if data.project_id is None:
        raise BadInput("This field is required.", field="projectId")
    if data.title is None:
        raise BadInput("This field is required.", field="title")
    contact = isinstance(actor, ContactPrincipal)
    if contact:
        for name, field_name in STAFF_ONLY_FIELDS.items():
            if getattr(data, name) is not None:
                raise Forbidden(f"Only staff set a task's {field_name}.")
    project = await _open_project(work, actor, data.project_id)
    last = (
        await session.exec(select(func.max(Task.position)).where(Task.project_id == project.id))
    ).one()
    task = Task(
        account_id=project.account_id,
        project_id=project.id,
        client_id=project.client_id,
        title=required_text(data.title, field="title", max_length=300),
        description=optional_text(data.description, field="description", max_length=20000),
        status=data.status or TaskStatus.TODO,
        visibility=TaskVisibility.CLIENT_EDITABLE
        if contact
        else (data.visibility or TaskVisibility.INTERNAL),
        due_date=data.due_date,
        position=data.position
        if data.position is not None
        else (last + 1 if last is not None else 0),
        created_by_staff_id=actor.user_id if isinstance(actor, StaffPrincipal) else None,
        created_by_contact_id=actor.contact_id if isinstance(actor, ContactPrincipal) else None,
    )
    if task.position < 0:
        raise BadInput("Positions start at 0.", field="position")
    if data.assignee_id is not None:
        task.assignee_id = await _assignee(work, actor, data.assignee_id)
    session.add(task)
    await session.flush()
    project_events.task_created(session, task, actor)
    await follows.follow(session, task, Follower.of(actor))
    if task.assignee_id is not None:
        await follows.follow(session, task, Follower(staff_user_id=task.assignee_id))
    return task


async def update_task(
    work: UnitOfWork, *, actor: StaffPrincipal, task_id: uuid.UUID, data: TaskData
) -> Task:
    """Edit any field of a task (staff); a new assignee starts following it."""
    session = work.session
    task = await access_task(session, actor, task_id, lock=True)
    if data.project_id is not None and data.project_id != task.project_id:
        raise BadInput("A task cannot move to another project.", field="projectId")
    changed: list[str] = []
    previous_status = task.status

    def put(name: str, value: object) -> None:
        if getattr(task, name) != value:
            setattr(task, name, value)
            changed.append(name)

    if data.title is not None:
        put("title", required_text(data.title, field="title", max_length=300))
    if data.description is not None:
        put("description", optional_text(data.description, field="description", max_length=20000))
    if data.status is not None:
        put("status", data.status)
    if data.visibility is not None:
        put("visibility", data.visibility)
    if data.due_date is not None:
        put("due_date", data.due_date)
    if data.position is not None:
        if data.position < 0:
            raise BadInput("Positions start at 0.", field="position")
        put("position", data.position)
    if data.clear_assignee:
        put("assignee_id", None)
    elif data.assignee_id is not None:
        put("assignee_id", await _assignee(work, actor, data.assignee_id))
    if not changed:
        return task
    task.updated_at = utcnow()
    if "status" in changed:
        project_events.task_status_changed(session, task, actor, previous=previous_status.value)
        changed.remove("status")
    if changed:
        project_events.task_updated(session, task, actor, changed=changed)
    if "assignee_id" in changed and task.assignee_id is not None:
        await follows.follow(session, task, Follower(staff_user_id=task.assignee_id))
    return task


async def set_task_status(
    work: UnitOfWork, *, actor: Actor, task_id: uuid.UUID, status: TaskStatus
) -> Task:
    """Move a task on the board: staff any task, a contact a CLIENT_EDITABLE one."""
    session = work.session
    _acting(actor)
    task = await access_task(session, actor, task_id, lock=True)
    if (
        isinstance(actor, ContactPrincipal)
        and task.visibility is not TaskVisibility.CLIENT_EDITABLE
    ):
        raise Forbidden("Only staff change the status of this task.")
    if task.status is status:
        return task
    previous = task.status
    task.status = status
    task.updated_at = utcnow()
    project_events.task_status_changed(session, task, actor, previous=previous.value)
    return task


COMMENT_MAX_LENGTH = 20000


async def add_comment(
    work: UnitOfWork, *, actor: Actor, task_id: uuid.UUID, body: str
) -> TaskComment:
    """Comment on a task the caller sees; the author follows it from now on, and the
    other followers are mailed."""
    session = work.session
    _acting(actor)
    task = await access_task(session, actor, task_id, lock=True)
    project = await session.get(Project, task.project_id)
    comment = TaskComment(
        account_id=task.account_id,
        task_id=task.id,
        body=required_text(body, field="body", max_length=COMMENT_MAX_LENGTH),
        author_staff_id=actor.user_id if isinstance(actor, StaffPrincipal) else None,
        author_contact_id=actor.contact_id if isinstance(actor, ContactPrincipal) else None,
    )
    session.add(comment)
    await session.flush()
    task.updated_at = utcnow()
    project_events.task_commented(session, task, comment, actor)
    author = Follower.of(actor)
    await follows.follow(session, task, author)
    await follows.notify_followers(
        work,
        task,
        author=author,
        mail=follows.Mail(
            template="task_comment",
            context={
                "author": await _name(work, actor),
                "title": task.title,
                "project": project.name if project is not None else "",
                "body": comment.body,
            },
            portal_path=f"tasks/{task.id}",
        ),
    )
    return comment


async def _name(work: UnitOfWork, actor: Actor) -> str:
    if isinstance(actor, StaffPrincipal):
        user = await work.session.get(StaffUser, actor.user_id)
        return user.name if user is not None else "Staff"
    contact = await work.session.get(Contact, actor.contact_id)
    return contact.display_name if contact is not None else "Client"


async def set_following(
    work: UnitOfWork, *, actor: Actor, task_id: uuid.UUID, following: bool
) -> Task:
    """Follow a task the caller sees, or stop following it."""
    session = work.session
    task = await access_task(session, actor, task_id)
    follower = Follower.of(actor)
    changed = (
        await follows.follow(session, task, follower)
        if following
        else await follows.unfollow(session, task, follower)
    )
    if changed:
        project_events.task_following_changed(
            session, task, actor, following=following, follower=follower.kind
        )
    return task
