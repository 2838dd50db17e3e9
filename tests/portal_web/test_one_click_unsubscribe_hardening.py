"""The one-click unsubscribe URL (RFC 8058) as an attacker or a busy mail provider meets
it: fifteen mail-client POSTs of the same link at once unsubscribe once, and a forged,
truncated, NUL-carrying or oversized token changes nothing and shows no stack trace."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlmodel import col, select

from models.activity import Activity, Verb
from tests.schema.collab_helpers import (
    COMMENT,
    CREATE_TASK,
    FOLLOW_TASK,
    TASK,
    collab_client,
    settle,
)

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


async def followed_task(
    gql: Any, tenant: Any, smtp_runtime: Any, smtp_server: Any
) -> tuple[str, str, str]:
    """A task the collaborator follows, and the List-Unsubscribe URL of the mail about its
    first comment: ``(task id, collaborator token, URL path with query)``."""
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
    return task["id"], collaborator, f"{url.path}?{url.query}"


async def _unfollowed_events(runtime: Any) -> list[Activity]:
    """The ``task.unfollowed`` events recorded (each test has a database of its own)."""
    async with runtime.sessions() as session:
        rows = await session.exec(
            select(Activity).where(col(Activity.verb) == Verb.TASK_UNFOLLOWED.value)
        )
        return list(rows.all())


async def test_fifteen_one_click_posts_at_once_unsubscribe_once(
    gql, tenant, client, smtp_runtime, smtp_server
):
    # given the mail's one-click URL
    task_id, collaborator, target = await followed_task(gql, tenant, smtp_runtime, smtp_server)
    # when a mail provider posts it fifteen times at once
    responses = await asyncio.gather(*(client.post(target, data=ONE_CLICK) for _ in range(15)))
    # then every post is answered, the contact no longer follows, and one event says so
    assert [r.status_code for r in responses] == [200] * 15
    for response in responses:
        assert "Traceback" not in response.text
    state = await gql.data(TASK, {"id": task_id}, token=collaborator)
    assert state["task"]["following"] is False
    events = await _unfollowed_events(smtp_runtime)
    assert len(events) == 1
    assert events[0].details["via"] == "unsubscribe_link"


def _tampered(target: str, token: str) -> str:
    path = urlsplit(target).path
    return f"{path}?token={quote(token, safe='')}"


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(
            lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"), id="forged"
        ),
        pytest.param(lambda t: t[: len(t) // 2], id="truncated"),
        pytest.param(lambda t: t + "\x00", id="nul-byte"),
        pytest.param(lambda t: "\x00", id="only-nul"),
        pytest.param(lambda t: t + "A" * 60_000, id="oversized"),
        pytest.param(lambda t: "", id="empty"),
    ],
)
async def test_a_bad_token_changes_nothing(gql, tenant, client, smtp_runtime, smtp_server, mangle):
    # given the mail's one-click URL with its token mangled
    task_id, collaborator, target = await followed_task(gql, tenant, smtp_runtime, smtp_server)
    [token] = parse_qs(urlsplit(target).query)["token"]
    bad = _tampered(target, mangle(token))
    # when a mail client (or an attacker) posts it, or opens it
    posted = await client.post(bad, data=ONE_CLICK)
    opened = await client.get(bad)
    # then it is answered without a stack trace or a server error ...
    for response in (posted, opened):
        assert response.status_code < 500, response.text[:300]
        assert "Traceback" not in response.text
    # ... a post that reached the page says why, and never that it is done ...
    if posted.status_code == 200:
        assert 'class="error" role="alert"' in posted.text
        assert "Done: you will get no more mail" not in posted.text
    # ... and the contact still follows the task, with no unfollow event recorded
    state = await gql.data(TASK, {"id": task_id}, token=collaborator)
    assert state["task"]["following"] is True
    assert await _unfollowed_events(smtp_runtime) == []
