"""The portal shows days and times where the business is (the account's time zone), not
in UTC: a message written at 03:30 UTC on the 2nd was written on the evening of the 1st
in Los Angeles, and its ticket was opened on the 1st."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlmodel import col, select

from models.projects import TaskComment
from models.support import SupportTicket, TicketMessage
from tests.portal_web.helpers import billed_client, csrf_of
from tests.portal_web.test_projects import _task, sign_in
from tests.schema.collab_helpers import COMMENT, collab_client

UPDATE_ACCOUNT = """
mutation($input: AccountSettingsInput!) { updateAccountSettings(input: $input) { id } }
"""
LATE = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
"""Tuesday 2 December 03:30 UTC: Monday 1 December, 7:30 PM in Los Angeles."""
NNBSP = "\N{NARROW NO-BREAK SPACE}"


async def in_los_angeles(gql, tenant, locale: str = "en-US") -> None:
    settings = {"timezone": "America/Los_Angeles", "locale": locale}
    await gql.data(UPDATE_ACCOUNT, {"input": settings}, token=tenant.admin)


async def test_a_ticket_and_its_messages_are_dated_where_the_business_is(
    gql, runtime, tenant, client
):
    await in_los_angeles(gql, tenant)
    billed = await billed_client(gql, tenant.admin)
    await client.get(billed.path)
    page = await client.get("/portal/acme/support")
    ticket = {"subject": "Late question", "body": "Still there?", "csrf": csrf_of(page.text)}
    location = (await client.post("/portal/acme/support", data=ticket)).headers["location"]
    ticket_id = uuid.UUID(location.split("?")[0].rsplit("/", 1)[1])
    async with runtime.sessions() as session:  # as if written late that evening
        row = await session.get(SupportTicket, ticket_id)
        assert row is not None
        row.created_at = row.updated_at = LATE
        messages = await session.exec(
            select(TicketMessage).where(col(TicketMessage.ticket_id) == ticket_id)
        )
        for message in messages:
            message.created_at = LATE
        await session.commit()
    shown = await client.get(f"/portal/acme/support/{ticket_id}")
    assert "<dt>Opened</dt><dd>Dec 1, 2026</dd>" in shown.text
    assert (
        f'<time datetime="2026-12-02T03:30:00+00:00">Dec 1, 2026, 7:30{NNBSP}PM</time>'
        in shown.text
    )
    listing = await client.get("/portal/acme/support")
    assert '<td data-label="Opened">Dec 1, 2026</td>' in listing.text


async def test_task_comments_in_the_accounts_time_zone_and_locale(gql, runtime, tenant, client):
    await in_los_angeles(gql, tenant, locale="de-DE")
    world = await collab_client(gql, tenant.admin)
    shared = await _task(gql, tenant.admin, world["project"]["id"], "Copy", "CLIENT_VISIBLE")
    await gql.data(COMMENT, {"taskId": shared["id"], "body": "Draft is up."}, token=tenant.admin)
    async with runtime.sessions() as session:
        comments = await session.exec(
            select(TaskComment).where(col(TaskComment.task_id) == uuid.UUID(shared["id"]))
        )
        for comment in comments:
            comment.created_at = LATE
        await session.commit()
    await sign_in(client, gql, tenant.admin, world["contacts"]["COLLABORATOR"])
    task = await client.get(f"/portal/acme/tasks/{shared['id']}")
    assert "Draft is up." in task.text
    assert '<time datetime="2026-12-02T03:30:00+00:00">01.12.2026, 19:30</time>' in task.text
