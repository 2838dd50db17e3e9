"""A mail client's own unsubscribe button (List-Unsubscribe-Post, RFC 8058): one POST of
``List-Unsubscribe=One-Click`` to the mail's List-Unsubscribe URL, with no cookie and no
CSRF token, stops the mail; any other cookie-less POST is still refused."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.schema.collab_helpers import (
    COMMENT,
    CREATE_TASK,
    FOLLOW_TASK,
    TASK,
    collab_client,
    settle,
)


async def test_one_click_unsubscribe_from_the_mail_header(
    gql, tenant, client, smtp_runtime, smtp_server
):
    # given a collaborator who follows a shared task and was mailed about a comment
    world = await collab_client(gql, tenant.admin)
    task = (
        await gql.data(
            CREATE_TASK,
            {
                "input": {
                    "projectId": world["project"]["id"],
                    "title": "Copy",
                    "visibility": "CLIENT_VISIBLE",
                }
            },
            token=tenant.admin,
        )
    )["createTask"]
    collaborator = world["tokens"]["COLLABORATOR"]
    await gql.data(FOLLOW_TASK, {"id": task["id"], "following": True}, token=collaborator)
    await settle(smtp_runtime)
    smtp_server.messages.clear()
    await gql.data(COMMENT, {"taskId": task["id"], "body": "Draft is ready."}, token=tenant.admin)
    await settle(smtp_runtime)
    [mail] = await smtp_server.wait_for(1)
    url = urlsplit(mail["List-Unsubscribe"].strip("<>"))
    target = f"{url.path}?{url.query}"
    assert not list(client.cookies.jar)  # what a mail client sends: no portal cookie
    # a cookie-less POST without the one-click field is refused (it needs the CSRF token)
    refused = await client.post(target, data={"token": "x"})
    assert refused.status_code == 403
    still = await gql.data(TASK, {"id": task["id"]}, token=collaborator)
    assert still["task"]["following"] is True
    # when the mail client posts the one-click form
    response = await client.post(target, data={"List-Unsubscribe": "One-Click"})
    # then the contact no longer follows the task, and the next comment mails nobody
    assert response.status_code == 200
    state = await gql.data(TASK, {"id": task["id"]}, token=collaborator)
    assert state["task"]["following"] is False
    smtp_server.messages.clear()
    await gql.data(COMMENT, {"taskId": task["id"], "body": "Shipping."}, token=tenant.admin)
    await settle(smtp_runtime)
    assert smtp_server.messages == []
