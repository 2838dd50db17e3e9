"""Projects and tasks (seed 003), where shared: the projects, one project with its
shared tasks, documents and activity timeline (each part where the visitor's schema has
it), the shared tasks, one task with its comments and the comment form."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import GET, POST, Page, Portal, Tab, Visit, path_id
from server.portal_web.documents import Answer

TASK_PARTS = ("task_project",)


def _after(request: Request) -> dict[str, Any]:
    after = request.query_params.get("after")
    return {"after": after} if after else {}


async def projects(portal: Portal, request: Request) -> Response:
    return await portal.page(request, "projects", current="projects", variables=_after(request))


async def project(portal: Portal, request: Request) -> Response:
    project_id = path_id(request)
    if project_id is None:
        return portal.not_found()
    return await portal.page(
        request,
        "project",
        current="projects",
        variables={"id": project_id},
        parts=("project_tasks", "project_documents", "project_activity"),
    )


async def tasks(portal: Portal, request: Request) -> Response:
    return await portal.page(request, "tasks", current="tasks", variables=_after(request))


async def task(portal: Portal, request: Request) -> Response:
    task_id = path_id(request)
    if task_id is None:
        return portal.not_found()
    return await portal.page(
        request, "task", current="tasks", variables={"id": task_id}, parts=TASK_PARTS, error=None
    )


async def comment(portal: Portal, request: Request) -> Response:
    task_id = path_id(request)
    if task_id is None:
        return portal.not_found()

    async def done(visit: Visit, _data: dict[str, Any]) -> Response:
        return portal.redirect(portal.url(visit.slug, f"tasks/{task_id}", notice="commented"))

    async def failed(visit: Visit, answer: Answer) -> Response:
        return await portal.shown_with_error(
            visit,
            answer,
            document="task",
            variables={"id": task_id},
            template="task.html",
            current="tasks",
        )

    return await portal.action(
        request,
        "comment_on_task",
        lambda form: {"taskId": task_id, "body": form.get("body", "").strip()},
        done=done,
        failed=failed,
    )


ROUTES: list[Page] = [
    Page("/projects", projects, GET),
    Page("/projects/{id}", project, GET),
    Page("/tasks", tasks, GET),
    Page("/tasks/{id}", task, GET),
    Page("/tasks/{id}/comments", comment, POST),
]
TABS: list[Tab] = [
    Tab("Projects", "projects", "projects", order=110),
    Tab("Tasks", "tasks", "tasks", order=120),
]
