"""A mail client's own unsubscribe button (List-Unsubscribe-Post, RFC 8058): one POST of
``List-Unsubscribe=One-Click`` to the mail's List-Unsubscribe URL, with no cookie and no
CSRF token, stops the mail; any other cookie-less POST is still refused."""

from __future__ import annotations

from tests.portal_web.test_one_click_unsubscribe_hardening import followed_task
from tests.schema.collab_helpers import COMMENT, TASK, settle


async def test_one_click_unsubscribe_from_the_mail_header(
    gql, tenant, client, smtp_runtime, smtp_server
):
    # given a collaborator who follows a shared task and was mailed about a comment
    task_id, collaborator, target = await followed_task(gql, tenant, smtp_runtime, smtp_server)
    assert not list(client.cookies.jar)  # what a mail client sends: no portal cookie
    # a cookie-less POST without the one-click field is refused (it needs the CSRF token)
    refused = await client.post(target, data={"token": "x"})
    assert refused.status_code == 403
    still = await gql.data(TASK, {"id": task_id}, token=collaborator)
    assert still["task"]["following"] is True
    # when the mail client posts the one-click form
    response = await client.post(target, data={"List-Unsubscribe": "One-Click"})
    # then the contact no longer follows the task, and the next comment mails nobody
    assert response.status_code == 200
    state = await gql.data(TASK, {"id": task_id}, token=collaborator)
    assert state["task"]["following"] is False
    smtp_server.messages.clear()
    await gql.data(COMMENT, {"taskId": task_id, "body": "Shipping."}, token=tenant.admin)
    await settle(smtp_runtime)
    assert smtp_server.messages == []
