"""Projects and tasks in the portal: a collaborator sees the client's project, its
shared tasks (never an internal one), the timeline, comments and adds one; and never
sees money — no invoice, quote or payment page exists for them."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.portal.helpers import dashboard_url
from tests.portal_web.helpers import csrf_of
from tests.schema.collab_helpers import COMMENT, CREATE_TASK, collab_client

STAFF_TASK = "query($id: ID!) { task(id: $id) { comments { body fromClient } } }"


async def _task(gql, token, project_id, title, visibility):
    variables = {"input": {"projectId": project_id, "title": title, "visibility": visibility}}
    return (await gql.data(CREATE_TASK, variables, token=token))["createTask"]


async def sign_in(client, gql, admin, contact_id) -> None:
    link = urlsplit(await dashboard_url(gql, admin, contact_id))
    response = await client.get(f"{link.path}?{link.query}")
    assert response.status_code == 303, response.text


async def test_a_collaborator_follows_the_project_and_comments_but_sees_no_money(
    gql, tenant, client
):
    world = await collab_client(gql, tenant.admin)
    project_id = world["project"]["id"]
    internal = await _task(gql, tenant.admin, project_id, "Margins", "INTERNAL")
    shared = await _task(gql, tenant.admin, project_id, "Homepage design", "CLIENT_VISIBLE")
    await gql.data(
        COMMENT, {"taskId": shared["id"], "body": "First draft is up."}, token=tenant.admin
    )
    await sign_in(client, gql, tenant.admin, world["contacts"]["COLLABORATOR"])
    # no money anywhere: no tab, no page
    dashboard = await client.get("/portal/acme/dashboard")
    assert dashboard.status_code == 200
    assert 'href="/portal/acme/projects"' in dashboard.text
    assert 'href="/portal/acme/tasks"' in dashboard.text
    for money in ("invoices", "quotes", "payments"):
        assert f'href="/portal/acme/{money}"' not in dashboard.text
        assert (await client.get(f"/portal/acme/{money}")).status_code == 404
    assert "Outstanding" not in dashboard.text
    # the project, its shared task and its timeline
    listing = await client.get("/portal/acme/projects")
    assert f'href="/portal/acme/projects/{project_id}">Website<' in listing.text
    page = await client.get(f"/portal/acme/projects/{project_id}")
    assert page.status_code == 200
    assert "Homepage design" in page.text
    assert "Margins" not in page.text
    assert 'id="activity-h"' in page.text
    assert (await client.get(f"/portal/acme/tasks/{internal['id']}")).status_code == 404
    # the task's comments, and one added through the form
    task = await client.get(f"/portal/acme/tasks/{shared['id']}")
    assert "First draft is up." in task.text
    assert f'href="/portal/acme/projects/{project_id}">Website<' in task.text
    comments = f"/portal/acme/tasks/{shared['id']}/comments"
    refused = await client.post(comments, data={"body": "Looks good"})
    assert refused.status_code == 403
    response = await client.post(comments, data={"body": "Looks good", "csrf": csrf_of(task.text)})
    assert response.status_code == 303
    shown = await client.get(response.headers["location"])
    assert "Your comment is added." in shown.text
    assert "Looks good" in shown.text
    seen = (await gql.data(STAFF_TASK, {"id": shared["id"]}, token=tenant.admin))["task"]
    assert {"body": "Looks good", "fromClient": True} in seen["comments"]
    # an empty comment is refused with the API's message
    empty = await client.post(comments, data={"body": " ", "csrf": csrf_of(shown.text)})
    assert empty.status_code == 400
    assert 'role="alert"' in empty.text


async def test_a_viewer_reads_the_task_but_has_no_comment_form(gql, tenant, client):
    world = await collab_client(gql, tenant.admin)
    shared = await _task(gql, tenant.admin, world["project"]["id"], "Copy", "CLIENT_VISIBLE")
    await sign_in(client, gql, tenant.admin, world["contacts"]["VIEWER"])
    task = await client.get(f"/portal/acme/tasks/{shared['id']}")
    assert task.status_code == 200
    assert "Copy" in task.text
    assert "Post comment" not in task.text
