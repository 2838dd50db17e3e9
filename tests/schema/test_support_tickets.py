"""Support tickets: contacts open them for their own client and never see another
client's; staff reply, assign, set priority and status, close; both sides are mailed on
replies over real SMTP; internal notes stay with staff."""

from __future__ import annotations

import uuid

from models.documents import Document
from models.enums import StaffRole
from tests.schema.collab_helpers import (
    code_of,
    collab_client,
    settle,
    text_of,
    unknown_field,
    unsubscribe_token_in,
)

OPEN = """
mutation($input: SupportTicketInput!) {
  openSupportTicket(input: $input) { id subject status priority following client { id } }
}
"""
REPLY = """
mutation($id: ID!, $body: String!, $internal: Boolean! = false, $attachments: [ID!]) {
  replyToSupportTicket(
    ticketId: $id, body: $body, internal: $internal, attachmentIds: $attachments
  ) {
    id body fromClient
  }
}
"""
UPDATE = """
mutation($id: ID!, $input: SupportTicketUpdateInput!) {
  updateSupportTicket(id: $id, input: $input) { id status priority assignee { email } }
}
"""
CLOSE = "mutation($id: ID!) { closeSupportTicket(id: $id) { id status closedAt } }"
TICKET = """
query($id: ID!) { supportTicket(id: $id) { id status messages { body fromClient authorName } } }
"""
TICKETS = "query { supportTickets { totalCount edges { node { id } } } }"


async def test_contacts_open_tickets_and_see_only_their_clients(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    other = await collab_client(gql, tenant.admin, name="Other", prefix="other")
    billing = world["tokens"]["BILLING"]
    ticket = (
        await gql.data(
            OPEN, {"input": {"subject": "Login fails", "body": "Since Monday."}}, token=billing
        )
    )["openSupportTicket"]
    assert ticket["status"] == "OPEN"
    assert ticket["priority"] == "NORMAL"
    assert ticket["following"] is True
    assert ticket["client"]["id"] == world["client"]["id"]
    # the client's other contacts see it; the other client's contacts do not
    collaborator = world["tokens"]["COLLABORATOR"]
    assert (await gql.data(TICKETS, token=collaborator))["supportTickets"]["totalCount"] == 1
    for token in other["tokens"].values():
        assert (await gql.data(TICKETS, token=token))["supportTickets"]["totalCount"] == 0
        assert code_of(await gql(TICKET, {"id": ticket["id"]}, token=token)) == "NOT_FOUND"
        body = await gql(REPLY, {"id": ticket["id"], "body": "me too"}, token=token)
        assert code_of(body) in {"NOT_FOUND", "GRAPHQL_VALIDATION_FAILED"}
    # a contact may not open a ticket for another client, and a viewer opens none
    body = await gql(
        OPEN,
        {"input": {"subject": "x", "body": "y", "clientId": other["client"]["id"]}},
        token=billing,
    )
    assert code_of(body) == "FORBIDDEN"
    body = await gql(
        OPEN, {"input": {"subject": "x", "body": "y"}}, token=world["tokens"]["VIEWER"]
    )
    assert unknown_field(body, "openSupportTicket", "Mutation")
    # and contacts cannot run tickets
    body = await gql(CLOSE, {"id": ticket["id"]}, token=billing)
    assert unknown_field(body, "closeSupportTicket", "Mutation")


async def test_replies_are_mailed_to_the_other_side_internal_notes_to_staff_only(
    gql, tenant, smtp_runtime, smtp_server
):
    world = await collab_client(gql, tenant.admin)
    billing = world["tokens"]["BILLING"]
    ticket = (
        await gql.data(OPEN, {"input": {"subject": "Login fails", "body": "Help"}}, token=billing)
    )["openSupportTicket"]
    manager = tenant.principals[StaffRole.MANAGER]
    # when staff assign it to the manager (who then follows it) and reply
    assigned = await gql.data(
        UPDATE,
        {"id": ticket["id"], "input": {"assigneeId": str(manager.user_id), "priority": "HIGH"}},
        token=tenant.admin,
    )
    assert assigned["updateSupportTicket"]["assignee"] == {"email": "manager@acme.test"}
    assert assigned["updateSupportTicket"]["priority"] == "HIGH"
    await settle(smtp_runtime)
    smtp_server.messages.clear()
    await gql.data(REPLY, {"id": ticket["id"], "body": "Fixed, please retry."}, token=tenant.admin)
    await settle(smtp_runtime)
    # then the opener and the assignee are mailed, not the author
    mails = await smtp_server.wait_for(2)
    assert sorted(m["To"] for m in mails) == ["bill@smith.test", "manager@acme.test"]
    to_contact = next(m for m in mails if m["To"] == "bill@smith.test")
    assert "Fixed, please retry." in text_of(to_contact)
    assert "/portal/acme/tickets/" in text_of(to_contact)
    assert "/unsubscribe?token=" in text_of(to_contact)
    # and the mail client's own unsubscribe button (RFC 2369, one-click RFC 8058) uses the
    # same link
    token = unsubscribe_token_in(to_contact)
    assert to_contact["List-Unsubscribe"] == (
        f"<http://portal.test/portal/acme/unsubscribe?token={token}>"
    )
    assert to_contact["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    staff_mail = next(m for m in mails if m["To"] == "manager@acme.test")
    assert staff_mail["List-Unsubscribe"].startswith("<http://portal.test/portal/acme/unsubscribe?")
    # when the contact replies, staff followers are mailed
    smtp_server.messages.clear()
    await gql.data(REPLY, {"id": ticket["id"], "body": "Works now, thanks"}, token=billing)
    await settle(smtp_runtime)
    mails = await smtp_server.wait_for(2)
    assert sorted(m["To"] for m in mails) == ["admin@acme.test", "manager@acme.test"]
    # when staff write an internal note, only staff are mailed and the contact never sees it
    smtp_server.messages.clear()
    await gql.data(
        REPLY,
        {"id": ticket["id"], "body": "Root cause: cache", "internal": True},
        token=tenant.admin,
    )
    await settle(smtp_runtime)
    [note] = await smtp_server.wait_for(1)
    assert note["To"] == "manager@acme.test"
    seen = (await gql.data(TICKET, {"id": ticket["id"]}, token=billing))["supportTicket"]
    assert [m["body"] for m in seen["messages"]] == [
        "Help",
        "Fixed, please retry.",
        "Works now, thanks",
    ]
    staff = (await gql.data(TICKET, {"id": ticket["id"]}, token=tenant.admin))["supportTicket"]
    assert len(staff["messages"]) == 4
    body = await gql(REPLY, {"id": ticket["id"], "body": "x", "internal": True}, token=billing)
    assert code_of(body) == "FORBIDDEN"


async def test_staff_close_a_ticket_and_a_reply_opens_it_again(gql, tenant):
    world = await collab_client(gql, tenant.admin)
    billing = world["tokens"]["BILLING"]
    ticket = (
        await gql.data(OPEN, {"input": {"subject": "Invoice PDF", "body": "Blank"}}, token=billing)
    )["openSupportTicket"]
    closed = (await gql.data(CLOSE, {"id": ticket["id"]}, token=tenant.admin))["closeSupportTicket"]
    assert closed["status"] == "CLOSED"
    assert closed["closedAt"]
    await gql.data(REPLY, {"id": ticket["id"], "body": "Still blank"}, token=billing)
    seen = (await gql.data(TICKET, {"id": ticket["id"]}, token=billing))["supportTicket"]
    assert seen["status"] == "OPEN"
    # and staff set a status, but close only through closeSupportTicket
    body = await gql(
        UPDATE, {"id": ticket["id"], "input": {"status": "CLOSED"}}, token=tenant.admin
    )
    assert code_of(body) == "BAD_USER_INPUT"
    moved = await gql.data(
        UPDATE, {"id": ticket["id"], "input": {"status": "PENDING"}}, token=tenant.admin
    )
    assert moved["updateSupportTicket"]["status"] == "PENDING"


async def test_attachments_are_documents_of_the_tickets_client_the_author_reads(
    gql, tenant, runtime
):
    world = await collab_client(gql, tenant.admin)
    other = await collab_client(gql, tenant.admin, name="Other", prefix="other")
    # given a shared document of the client, a private one, and another client's
    async with runtime.sessions() as session:
        rows = {}
        for name, client, shared in (
            ("shared", world, True),
            ("private", world, False),
            ("foreign", other, True),
        ):
            row = Document(
                account_id=tenant.account_id,
                client_id=uuid.UUID(client["client"]["id"]),
                filename=f"{name}.pdf",
                content_type="application/pdf",
                size_bytes=3,
                sha256=uuid.uuid4().hex * 2,  # distinct files: one per owner and content
                storage_key=f"test/{uuid.uuid4()}",
                visible_in_portal=shared,
            )
            session.add(row)
            rows[name] = str(row.id)
        await session.commit()
    billing = world["tokens"]["BILLING"]
    # when the contact opens a ticket with the shared document attached
    ticket = (
        await gql.data(
            OPEN,
            {
                "input": {
                    "subject": "See file",
                    "body": "Attached",
                    "attachmentIds": [rows["shared"]],
                }
            },
            token=billing,
        )
    )["openSupportTicket"]
    # then both sides read the attachment
    query = """
    query($id: ID!) { supportTicket(id: $id) { messages { attachments { id filename } } } }
    """
    for token in (billing, tenant.admin):
        seen = (await gql.data(query, {"id": ticket["id"]}, token=token))["supportTicket"]
        assert seen["messages"][0]["attachments"] == [
            {"id": rows["shared"], "filename": "shared.pdf"}
        ]
    # and a document the contact cannot read, or of another client, is refused
    for name in ("private", "foreign"):
        body = await gql(
            REPLY, {"id": ticket["id"], "body": "x", "attachments": [rows[name]]}, token=billing
        )
        assert code_of(body) == "NOT_FOUND", name
    body = await gql(
        REPLY,
        {"id": ticket["id"], "body": "x", "attachments": [rows["foreign"]]},
        token=tenant.admin,
    )
    assert code_of(body) == "BAD_USER_INPUT"
