"""The events of projects and their tasks, one recorder each (:mod:`services.events`).

========================  ==============================  ==================================
verb                      when                            details
========================  ==============================  ==================================
``project.created``       staff create a project          ``name``
``project.updated``       staff edit it                   ``changed`` (field names)
``project.archived``      staff archive it                ``name``
``task.created``          staff, or a contact, create a   ``title``, ``visibility``
                          task
``task.updated``          staff edit it                   ``changed`` (field names)
``task.status_changed``   staff or a contact (CLIENT_     ``status``, ``previous_status``
                          EDITABLE) move it on the board
``task.commented``        someone comments on it          ``comment_id``
``task.followed``         someone starts following it     ``follower`` (``staff``/``contact``)
``task.unfollowed``       someone stops (also through a   ``follower``, ``via``
                          mail's unsubscribe link)
========================  ==============================  ==================================

Shown to the client: project events, and task events while the task is shared with
the client (not INTERNAL) when they are recorded; following is never shown (it is each
person's own setting). :func:`services.access.activity_scope` also hides every entry
about a task that is INTERNAL now.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from auth.principals import Principal, StaffPrincipal
from models.activity import Verb
from models.projects import Project, Task, TaskComment
from services import activity


def _project(
    session: AsyncSession,
    verb: Verb,
    project: Project,
    actor: StaffPrincipal,
    details: dict[str, Any],
) -> None:
    activity.record(
        session,
        account_id=project.account_id,
        actor=actor,
        verb=verb,
        subject_id=project.id,
        client_id=project.client_id,
        details=details,
    )


def project_created(session: AsyncSession, project: Project, actor: StaffPrincipal) -> None:
    _project(session, Verb.PROJECT_CREATED, project, actor, {"name": project.name})


def project_updated(
    session: AsyncSession, project: Project, actor: StaffPrincipal, *, changed: Iterable[str]
) -> None:
    _project(session, Verb.PROJECT_UPDATED, project, actor, {"changed": sorted(changed)})


def project_archived(session: AsyncSession, project: Project, actor: StaffPrincipal) -> None:
    _project(session, Verb.PROJECT_ARCHIVED, project, actor, {"name": project.name})


def _task(
    session: AsyncSession,
    verb: Verb,
    task: Task,
    actor: Principal | None,
    details: dict[str, Any],
    *,
    shown: bool | None = None,
) -> None:
    activity.record(
        session,
        account_id=task.account_id,
        actor=actor,
        verb=verb,
        subject_id=task.id,
        client_id=task.client_id,
        details=details,
        visible_to_client=task.shared_with_client if shown is None else shown,
    )


def task_created(session: AsyncSession, task: Task, actor: Principal) -> None:
    _task(
        session,
        Verb.TASK_CREATED,
        task,
        actor,
        {"title": task.title, "visibility": task.visibility.value},
    )


def task_updated(
    session: AsyncSession, task: Task, actor: StaffPrincipal, *, changed: Iterable[str]
) -> None:
    _task(session, Verb.TASK_UPDATED, task, actor, {"changed": sorted(changed)})


def task_status_changed(
    session: AsyncSession, task: Task, actor: Principal, *, previous: str
) -> None:
    _task(
        session,
        Verb.TASK_STATUS_CHANGED,
        task,
        actor,
        {"status": task.status.value, "previous_status": previous},
    )


def task_commented(
    session: AsyncSession, task: Task, comment: TaskComment, actor: Principal
) -> None:
    _task(session, Verb.TASK_COMMENTED, task, actor, {"comment_id": str(comment.id)})


def task_following_changed(
    session: AsyncSession,
    task: Task,
    actor: Principal | None,
    *,
    following: bool,
    follower: str,
    via: str = "api",
) -> None:
    """``task.followed`` or ``task.unfollowed`` (``via``: ``api`` or ``unsubscribe_link``)."""
    verb = Verb.TASK_FOLLOWED if following else Verb.TASK_UNFOLLOWED
    _task(session, verb, task, actor, {"follower": follower, "via": via}, shown=False)
